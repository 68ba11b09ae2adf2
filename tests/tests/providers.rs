//! The real providers against the fake provider on 127.0.0.1: answers, faults
//! mapped to `ProviderError`, and the request bodies and headers they send.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use agentls_core::model::{
    ModelRequest, Provider, ProviderError, ReasoningConfig, ResponseEvent, ResponseItem, Role,
    ToolSpec,
};
use agentls_core::provider;
use agentls_tests::fake_provider::{
    fake_env, FakeProvider, Fault, Format, Script, ToolCall, Usage, FAKE_API_KEY,
    FAKE_ENCRYPTED_REASONING,
};
use futures::StreamExt;
use serde_json::{json, Value};

const FORMATS: [Format; 3] = [
    Format::OpenAiResponses,
    Format::OpenAiChat,
    Format::Anthropic,
];

/// What one call produced: the events, then the error that ended it, if any.
#[derive(Debug)]
struct Outcome {
    events: Vec<ResponseEvent>,
    error: Option<ProviderError>,
}

impl Outcome {
    fn text(&self) -> String {
        self.events
            .iter()
            .filter_map(|event| match event {
                ResponseEvent::OutputTextDelta { delta } => Some(delta.as_str()),
                _ => None,
            })
            .collect()
    }

    fn items(&self) -> Vec<ResponseItem> {
        self.events
            .iter()
            .filter_map(|event| match event {
                ResponseEvent::OutputItemDone { item } => Some(item.clone()),
                _ => None,
            })
            .collect()
    }

    fn error(self) -> ProviderError {
        self.error
            .unwrap_or_else(|| panic!("the call succeeded: {:?}", self.events))
    }
}

async fn call(provider: &dyn Provider, request: ModelRequest) -> Outcome {
    let run = async {
        let mut stream = match provider.stream(request).await {
            Ok(stream) => stream,
            Err(error) => {
                return Outcome {
                    events: Vec::new(),
                    error: Some(error),
                }
            }
        };
        let mut events = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => events.push(event),
                Err(error) => {
                    assert!(stream.next().await.is_none(), "events after an error");
                    return Outcome {
                        events,
                        error: Some(error),
                    };
                }
            }
        }
        Outcome {
            events,
            error: None,
        }
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("a provider call finishes within 30 s")
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "read_file".into(),
            description: "Read a file of the workspace".into(),
            parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
        },
        ToolSpec {
            name: "grep".into(),
            description: "Search the workspace".into(),
            parameters: json!({"type": "object", "properties": {"pattern": {"type": "string"}}, "required": ["pattern"]}),
        },
        ToolSpec {
            name: "apply_patch".into(),
            description: "Edit files".into(),
            parameters: json!({"type": "object", "properties": {"patch": {"type": "string"}}}),
        },
    ]
}

fn request(input: Vec<ResponseItem>) -> ModelRequest {
    ModelRequest {
        model: String::new(),
        instructions: "You are agentls, a coding agent.".into(),
        tools: tools(),
        input,
        prompt_cache_key: Some("thread-0190".into()),
        parallel_tool_calls: true,
        reasoning: None,
        max_output_tokens: None,
    }
}

fn user(text: &str) -> ResponseItem {
    ResponseItem::Message {
        role: Role::User,
        text: text.into(),
    }
}

fn first_call_id(format: Format) -> &'static str {
    match format {
        Format::Anthropic => "toolu_1",
        _ => "call_1",
    }
}

#[tokio::test]
async fn a_text_answer_streams_and_completes() {
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::text(
            "Hello from the fake provider, ünïcode included.",
        ));
        let outcome = call(fake.provider().as_ref(), request(vec![user("hi")])).await;
        assert_eq!(outcome.error, None, "{format:?}");
        assert_eq!(outcome.events.first(), Some(&ResponseEvent::Created));
        assert_eq!(
            outcome.text(),
            "Hello from the fake provider, ünïcode included."
        );
        assert_eq!(
            outcome.items(),
            vec![ResponseItem::Message {
                role: Role::Assistant,
                text: "Hello from the fake provider, ünïcode included.".into()
            }],
            "{format:?}"
        );
        assert!(
            matches!(
                outcome.events.last(),
                Some(ResponseEvent::Completed { usage: Some(_), .. })
            ),
            "{format:?}: {:?}",
            outcome.events.last()
        );
    }
}

#[tokio::test]
async fn two_parallel_tool_calls_arrive_whole_and_in_order() {
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::text_and_tool_calls(
            "I'll read both files.",
            [
                ToolCall::new("read_file", json!({"path": "src/lib.rs"})),
                ToolCall::new("grep", json!({"pattern": "fn parse"})),
            ],
        ));
        let outcome = call(fake.provider().as_ref(), request(vec![user("go")])).await;
        assert_eq!(outcome.error, None, "{format:?}");
        let prefix = &first_call_id(format)[..first_call_id(format).len() - 1];
        let calls: Vec<ResponseItem> = outcome
            .items()
            .into_iter()
            .filter(|item| matches!(item, ResponseItem::FunctionCall { .. }))
            .collect();
        assert_eq!(
            calls,
            vec![
                ResponseItem::FunctionCall {
                    call_id: format!("{prefix}1"),
                    name: "read_file".into(),
                    arguments: "{\"path\":\"src/lib.rs\"}".into()
                },
                ResponseItem::FunctionCall {
                    call_id: format!("{prefix}2"),
                    name: "grep".into(),
                    arguments: "{\"pattern\":\"fn parse\"}".into()
                },
            ],
            "{format:?}"
        );
        let started: Vec<&ResponseEvent> = outcome
            .events
            .iter()
            .filter(|event| matches!(event, ResponseEvent::ToolCallStarted { .. }))
            .collect();
        assert_eq!(started.len(), 2, "{format:?}");
        let streamed_arguments: String = outcome
            .events
            .iter()
            .filter_map(|event| match event {
                ResponseEvent::ToolCallArgumentsDelta { call_id, delta }
                    if *call_id == format!("{prefix}2") =>
                {
                    Some(delta.as_str())
                }
                _ => None,
            })
            .collect();
        assert_eq!(streamed_arguments, "{\"pattern\":\"fn parse\"}");
    }
}

#[tokio::test]
async fn malformed_tool_arguments_reach_the_caller_verbatim() {
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::malformed_tool_call("read_file"));
        let outcome = call(fake.provider().as_ref(), request(vec![user("go")])).await;
        assert_eq!(outcome.error, None, "{format:?}");
        assert_eq!(
            outcome.items(),
            vec![ResponseItem::FunctionCall {
                call_id: first_call_id(format).into(),
                name: "read_file".into(),
                arguments: "{\"path\": \"src/li".into()
            }],
            "{format:?}"
        );
    }
}

#[tokio::test]
async fn reasoning_summaries_stream_and_encrypted_reasoning_goes_back() {
    for format in [Format::OpenAiResponses, Format::Anthropic] {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::reasoning("**Reading the tests** first.", "Done."));
        fake.push(Script::text("Again."));
        let provider = fake.provider();
        let mut first = request(vec![user("think")]);
        first.reasoning = Some(ReasoningConfig {
            effort: "high".into(),
            summary: Some("detailed".into()),
        });
        let outcome = call(provider.as_ref(), first.clone()).await;
        assert_eq!(outcome.error, None, "{format:?}");
        let summary: String = outcome
            .events
            .iter()
            .filter_map(|event| match event {
                ResponseEvent::ReasoningSummaryDelta { delta } => Some(delta.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(summary, "**Reading the tests** first.");
        let reasoning = outcome.items()[0].clone();
        let ResponseItem::Reasoning {
            summary,
            encrypted_content,
            ..
        } = &reasoning
        else {
            panic!("{format:?}: {reasoning:?}");
        };
        assert_eq!(summary, &["**Reading the tests** first.".to_string()]);
        assert_eq!(encrypted_content.as_deref(), Some(FAKE_ENCRYPTED_REASONING));

        let mut second = first;
        second.input.extend([
            reasoning,
            ResponseItem::Message {
                role: Role::Assistant,
                text: "Done.".into(),
            },
            user("again"),
        ]);
        let outcome = call(provider.as_ref(), second).await;
        assert_eq!(outcome.error, None, "{format:?}");
        let sent = &fake.requests()[1].body;
        match format {
            Format::OpenAiResponses => {
                assert_eq!(sent["include"], json!(["reasoning.encrypted_content"]));
                assert_eq!(
                    sent["reasoning"],
                    json!({"effort": "high", "summary": "detailed"})
                );
                assert_eq!(
                    sent["input"][1],
                    json!({
                        "type": "reasoning",
                        "summary": [{"type": "summary_text", "text": "**Reading the tests** first."}],
                        "encrypted_content": FAKE_ENCRYPTED_REASONING,
                    })
                );
            }
            _ => {
                assert_eq!(
                    sent["thinking"],
                    json!({"type": "enabled", "budget_tokens": 32000})
                );
                assert_eq!(
                    sent["messages"][1]["content"][0],
                    json!({
                        "type": "thinking",
                        "thinking": "**Reading the tests** first.",
                        "signature": FAKE_ENCRYPTED_REASONING,
                    })
                );
            }
        }
    }
}

#[tokio::test]
async fn usage_reported_by_the_provider_is_decoded() {
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::text("ok").with_usage(Usage {
            input_tokens: 1200,
            cached_input_tokens: 1000,
            output_tokens: 7,
        }));
        let outcome = call(fake.provider().as_ref(), request(vec![user("hi")])).await;
        let Some(ResponseEvent::Completed {
            usage: Some(usage), ..
        }) = outcome.events.last()
        else {
            panic!("{format:?}: {:?}", outcome.events);
        };
        assert_eq!(
            (
                usage.input_tokens,
                usage.cached_input_tokens,
                usage.output_tokens
            ),
            (1200, 1000, 7),
            "{format:?}"
        );
    }
}

#[tokio::test]
async fn rate_limits_carry_the_delay_the_provider_asked_for() {
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::rate_limited("2"))
            .push(Script::Http(Fault::RateLimited {
                retry_after: Some("7".into()),
                retry_after_ms: Some("250".into()),
                message: None,
            }))
            .push(Script::rate_limited_with_message(
                "Rate limit reached for gpt-5 on tokens per min. Please try again in 20ms.",
            ))
            .push(Script::rate_limited_with_message(
                "Please try again in 1.5s.",
            ));
        let provider = fake.provider();
        let mut delays = Vec::new();
        for _ in 0..4 {
            let error = call(provider.as_ref(), request(vec![user("hi")]))
                .await
                .error();
            assert!(
                matches!(error, ProviderError::RateLimited { .. }),
                "{format:?}: {error:?}"
            );
            assert!(error.is_retryable());
            delays.push(error.retry_after());
        }
        assert_eq!(
            delays,
            [2000, 250, 20, 1500].map(|ms| Some(Duration::from_millis(ms))),
            "{format:?}"
        );
    }
}

#[tokio::test]
async fn http_faults_map_to_provider_errors() {
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::server_error())
            .push(Script::overloaded())
            .push(Script::context_length_exceeded())
            .push(Script::unauthorized())
            .push(Script::Http(Fault::Custom {
                status: 404,
                headers: vec![],
                body: "{\"error\": {\"message\": \"The model `gpt-9` does not exist\", \"type\": \"invalid_request_error\", \"code\": \"model_not_found\"}}".into(),
            }));
        let provider = fake.provider();
        let mut errors = Vec::new();
        for _ in 0..5 {
            errors.push(
                call(provider.as_ref(), request(vec![user("hi")]))
                    .await
                    .error(),
            );
        }
        let overloaded_status = if format == Format::Anthropic {
            529
        } else {
            503
        };
        assert!(
            matches!(errors[0], ProviderError::Server { status: 500, .. }),
            "{format:?}: {:?}",
            errors[0]
        );
        assert!(
            matches!(errors[1], ProviderError::Server { status, .. } if status == overloaded_status),
            "{format:?}: {:?}",
            errors[1]
        );
        assert!(
            matches!(errors[2], ProviderError::ContextLengthExceeded(_)),
            "{format:?}: {:?}",
            errors[2]
        );
        assert!(
            matches!(errors[3], ProviderError::Rejected { status: 401, .. }),
            "{format:?}: {:?}",
            errors[3]
        );
        assert_eq!(
            errors[4],
            ProviderError::Rejected {
                status: 404,
                message: "The model `gpt-9` does not exist".into()
            }
        );
        let retryable: Vec<bool> = errors.iter().map(ProviderError::is_retryable).collect();
        assert_eq!(retryable, [true, true, false, false, false], "{format:?}");
        for error in &errors {
            let shown = error.to_string();
            assert!(!shown.contains("sk-fak"), "{format:?}: {shown}");
        }
    }
}

#[tokio::test]
async fn error_events_inside_a_stream_map_to_provider_errors() {
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::InStream(Fault::Overloaded))
            .push(Script::InStream(Fault::ContextLengthExceeded));
        let provider = fake.provider();
        let overloaded = call(provider.as_ref(), request(vec![user("hi")])).await;
        assert_eq!(overloaded.events.first(), Some(&ResponseEvent::Created));
        let error = overloaded.error();
        assert!(
            matches!(error, ProviderError::Server { .. }) && error.is_retryable(),
            "{format:?}: {error:?}"
        );
        let too_long = call(provider.as_ref(), request(vec![user("hi")]))
            .await
            .error();
        assert!(
            matches!(too_long, ProviderError::ContextLengthExceeded(_)),
            "{format:?}: {too_long:?}"
        );
    }
}

#[tokio::test]
async fn a_stream_cut_before_its_closing_event_is_stream_ended() {
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::text("This answer never finishes.").cut_after(4));
        let outcome = call(fake.provider().as_ref(), request(vec![user("hi")])).await;
        assert!(!outcome.events.is_empty(), "{format:?}");
        assert!(
            !outcome
                .events
                .iter()
                .any(|event| matches!(event, ResponseEvent::Completed { .. })),
            "{format:?}"
        );
        assert_eq!(outcome.error(), ProviderError::StreamEnded, "{format:?}");
    }
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_is_a_connection_error() {
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::text("This answer never finishes.").disconnect_after(3));
        let outcome = call(fake.provider().as_ref(), request(vec![user("hi")])).await;
        let error = outcome.error();
        let ProviderError::Connection { url, message } = &error else {
            panic!("{format:?}: {error:?}");
        };
        assert_eq!(*url, format!("{}{}", fake.base_url(), format.endpoint()));
        assert!(!message.is_empty());
        assert!(error.is_retryable());
    }
}

#[tokio::test]
async fn a_silent_stream_fails_with_idle_timeout() {
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::stall());
        let idle = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let outcome = call(
            fake.provider_with_idle_timeout(idle).as_ref(),
            request(vec![user("hi")]),
        )
        .await;
        assert_eq!(
            outcome.error(),
            ProviderError::IdleTimeout(idle),
            "{format:?}"
        );
        assert!(started.elapsed() >= idle);
    }
}

#[tokio::test]
async fn a_local_provider_that_refuses_the_connection_is_not_retried_and_says_so() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        let mut config = fake.config();
        config.base_url = Some(format!("http://127.0.0.1:{port}/v1"));
        let provider = provider::from_config(&config, &fake_env).unwrap();
        let error = call(provider.as_ref(), request(vec![user("hi")]))
            .await
            .error();
        let ProviderError::Refused { url, .. } = &error else {
            panic!("{format:?}: {error:?}");
        };
        assert_eq!(
            *url,
            format!("http://127.0.0.1:{port}/v1{}", format.endpoint())
        );
        // Retrying cannot start the server: the user hears at once what to do.
        assert!(!error.is_retryable());
        assert!(
            error.to_string().starts_with(&format!(
                "nothing is listening at http://127.0.0.1:{port}/v1"
            )),
            "{error}"
        );
        assert!(error.to_string().contains("start the server"), "{error}");
    }
}

#[tokio::test]
async fn a_request_the_test_did_not_script_fails_fast() {
    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    let error = call(fake.provider().as_ref(), request(vec![user("hi")]))
        .await
        .error();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 400, message } if message.contains("no scripted response left for request 1")),
        "{error:?}"
    );
}

#[tokio::test]
async fn openai_responses_request_is_stateless_cached_and_ordered() {
    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    fake.push(Script::text("ok"));
    let mut config = fake.config();
    config.model = Some("gpt-5-codex".into());
    config
        .headers
        .insert("OpenAI-Organization".into(), "org-agentls".into());
    let provider = provider::from_config(&config, &fake_env).unwrap();
    let history = vec![
        user("fix the bug"),
        ResponseItem::FunctionCall {
            call_id: "call_9".into(),
            name: "read_file".into(),
            arguments: "{\"path\":\"src/lib.rs\"}".into(),
        },
        ResponseItem::FunctionCallOutput {
            call_id: "call_9".into(),
            output: "fn main() {}".into(),
            is_error: false,
        },
    ];
    let outcome = call(provider.as_ref(), request(history)).await;
    assert_eq!(outcome.error, None);

    let sent = &fake.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {FAKE_API_KEY}").as_str())
    );
    assert_eq!(sent.header("openai-organization"), Some("org-agentls"));
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    let body = &sent.body;
    assert_eq!(body["model"], "gpt-5-codex");
    assert_eq!(body["stream"], true);
    assert_eq!(body["store"], false);
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(body["prompt_cache_key"], "thread-0190");
    assert_eq!(body["parallel_tool_calls"], true);
    assert_eq!(body["instructions"], "You are agentls, a coding agent.");
    let names: Vec<&str> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["read_file", "grep", "apply_patch"]);
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(
        body["input"],
        json!([
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]},
            {"type": "function_call", "call_id": "call_9", "name": "read_file", "arguments": "{\"path\":\"src/lib.rs\"}"},
            {"type": "function_call_output", "call_id": "call_9", "output": "fn main() {}"},
        ])
    );
}

#[tokio::test]
async fn chat_completions_request_asks_for_usage_and_pairs_tool_results() {
    let fake = FakeProvider::start(Format::OpenAiChat).await;
    fake.push(Script::text("ok"));
    let history = vec![
        user("read it"),
        ResponseItem::FunctionCall {
            call_id: "call_1".into(),
            name: "read_file".into(),
            arguments: "{\"path\":\"a\"}".into(),
        },
        ResponseItem::FunctionCall {
            call_id: "call_2".into(),
            name: "grep".into(),
            arguments: "{\"pattern\":\"b\"}".into(),
        },
        ResponseItem::FunctionCallOutput {
            call_id: "call_1".into(),
            output: "A".into(),
            is_error: false,
        },
        ResponseItem::FunctionCallOutput {
            call_id: "call_2".into(),
            output: "B".into(),
            is_error: false,
        },
    ];
    let outcome = call(fake.provider().as_ref(), request(history)).await;
    assert_eq!(outcome.error, None);
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {FAKE_API_KEY}").as_str())
    );
    let body = &sent.body;
    assert_eq!(body["model"], "qwen2.5-coder");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    let names: Vec<&str> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["read_file", "grep", "apply_patch"]);
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|message| message["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool", "tool"]);
    assert_eq!(body["messages"][2]["tool_calls"][1]["id"], "call_2");
    assert_eq!(body["messages"][4]["tool_call_id"], "call_2");
}

#[tokio::test]
async fn local_chat_servers_get_no_authorization_header() {
    let fake = FakeProvider::start(Format::OpenAiChat).await;
    fake.push(Script::text("ok"));
    let mut config = fake.config();
    config.api_key_env = None;
    let provider = provider::from_config(&config, &|_| None).unwrap();
    assert_eq!(
        call(provider.as_ref(), request(vec![user("hi")]))
            .await
            .error,
        None
    );
    assert_eq!(fake.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn anthropic_request_marks_the_stable_prefix_for_caching() {
    let fake = FakeProvider::start(Format::Anthropic).await;
    fake.push(Script::text("ok"));
    let history = vec![
        user("read it"),
        ResponseItem::Message {
            role: Role::Assistant,
            text: "Reading.".into(),
        },
        ResponseItem::FunctionCall {
            call_id: "toolu_1".into(),
            name: "read_file".into(),
            arguments: "{\"path\":\"a\"}".into(),
        },
        ResponseItem::FunctionCallOutput {
            call_id: "toolu_1".into(),
            output: "A".into(),
            is_error: false,
        },
        user("now fix it"),
    ];
    let mut sent_request = request(history);
    sent_request.parallel_tool_calls = false;
    let outcome = call(fake.provider().as_ref(), sent_request).await;
    assert_eq!(outcome.error, None);
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(FAKE_API_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), None);
    let body = &sent.body;
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert_eq!(body["stream"], true);
    assert!(body["max_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        body["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );

    // Exactly three breakpoints: system, last tool, last block of the history.
    fn breakpoints(value: &Value, path: String, found: &mut Vec<String>) {
        match value {
            Value::Object(fields) => {
                if fields.get("cache_control") == Some(&json!({"type": "ephemeral"})) {
                    found.push(path.clone());
                }
                for (key, value) in fields {
                    breakpoints(value, format!("{path}.{key}"), found);
                }
            }
            Value::Array(items) => {
                for (index, value) in items.iter().enumerate() {
                    breakpoints(value, format!("{path}[{index}]"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    breakpoints(body, String::new(), &mut found);
    found.sort();
    assert_eq!(
        found,
        [".messages[2].content[1]", ".system[0]", ".tools[2]"]
    );
    assert_eq!(
        body["messages"][2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "A"},
            {"type": "text", "text": "now fix it", "cache_control": {"type": "ephemeral"}},
        ])
    );
    let names: Vec<&str> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["read_file", "grep", "apply_patch"]);
}

#[tokio::test]
async fn recording_a_real_provider_replays_the_same_answers() {
    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    fake.push(Script::text_and_tool_calls(
        "Reading.",
        [ToolCall::new("read_file", json!({"path": "a"}))],
    ))
    .push(Script::server_error());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.jsonl");
    let recording = provider::RecordingProvider::new(fake.provider(), &path).unwrap();
    let first = call(&recording, request(vec![user("one")])).await;
    let second = call(&recording, request(vec![user("two")])).await;

    let mut config = agentls_core::config::ProviderConfig {
        kind: Some(agentls_core::config::ProviderKind::Replay),
        replay_file: Some(path),
        ..Default::default()
    };
    config.context_window = Some(4096);
    let replay = provider::from_config(&config, &|_| None).unwrap();
    assert_eq!(replay.name(), "replay");
    assert_eq!(replay.context_window(), Some(4096));
    let replayed_first = call(replay.as_ref(), request(vec![user("one")])).await;
    let replayed_second = call(replay.as_ref(), request(vec![user("two")])).await;
    assert_eq!(replayed_first.events, first.events);
    assert_eq!(replayed_first.error, None);
    assert_eq!(replayed_second.error, second.error);
    assert_eq!(
        fake.requests().len(),
        2,
        "the replay never reached the network"
    );
}

/// A subscriber that keeps every span and event field, at every level.
#[derive(Clone, Default)]
struct Capture {
    text: Arc<Mutex<String>>,
    ids: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut text = self.text.lock().unwrap();
        let _ = write!(text, "span {} ", span.metadata().name());
        span.record(&mut Fields(&mut text));
        tracing::span::Id::from_u64(self.ids.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.text.lock().unwrap()));
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = self.text.lock().unwrap();
        let _ = write!(text, "[{}] ", event.metadata().level());
        event.record(&mut Fields(&mut text));
        text.push('\n');
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// The process-wide subscriber, installed by the first caller. A thread's scoped
/// default is not enough: callsite interest is cached process-wide, so tests
/// running beside it on other threads can switch its callsites off.
fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        tracing::subscriber::set_global_default(capture.clone())
            .expect("no other test in this binary installs a subscriber");
        capture
    })
}

/// Everything logged in this test binary so far, trace level included, holds
/// neither the key nor its masked echo; the requests carried it all the same.
#[tokio::test]
async fn the_api_key_is_sent_but_never_logged() {
    let capture = capture();
    for format in FORMATS {
        let fake = FakeProvider::start(format).await;
        fake.push(Script::text_and_tool_calls(
            "hi",
            [ToolCall::new("read_file", json!({"path": "a"}))],
        ))
        .push(Script::unauthorized())
        .push(Script::rate_limited("1"))
        .push(Script::InStream(Fault::ServerError));
        let provider = fake.provider();
        let shown = format!("{:?}", provider_debug(&fake));
        assert!(!shown.contains(FAKE_API_KEY), "{shown}");
        let mut errors = Vec::new();
        for _ in 0..4 {
            if let Some(error) = call(provider.as_ref(), request(vec![user("hi")]))
                .await
                .error
            {
                errors.push(error.to_string());
            }
        }
        assert_eq!(errors.len(), 3, "{format:?}: {errors:?}");
        for sent in fake.requests() {
            let key_header = match format {
                Format::Anthropic => sent.header("x-api-key").map(str::to_string),
                _ => sent
                    .header("authorization")
                    .map(|value| value.trim_start_matches("Bearer ").to_string()),
            };
            assert_eq!(key_header.as_deref(), Some(FAKE_API_KEY), "{format:?}");
        }
        for error in errors {
            assert!(!error.contains("sk-fak"), "{format:?}: {error}");
        }
    }
    let logged = capture.text.lock().unwrap().clone();
    assert!(
        logged.contains("provider_call"),
        "spans were captured:\n{logged}"
    );
    assert!(
        logged.contains("model request body"),
        "trace bodies were captured"
    );
    assert!(
        !logged.contains(FAKE_API_KEY),
        "the key was logged:\n{logged}"
    );
    assert!(
        !logged.contains("sk-fak"),
        "the masked key was logged:\n{logged}"
    );
}

fn provider_debug(fake: &FakeProvider) -> provider::ProviderSettings {
    provider::ProviderSettings::resolve(&fake.config(), &fake_env).unwrap()
}
