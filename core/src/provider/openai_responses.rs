//! OpenAI Responses (`POST {base}/responses`, streamed): stateless (`store: false`)
//! with encrypted reasoning sent back, function tools, reasoning summaries.

use std::collections::{HashMap, VecDeque};

use eventsource_stream::Event;
use serde::Deserialize;
use serde_json::{json, Value};

use super::fault::{self, ErrorDetails};
use super::http::{Auth, HttpProvider, WireCodec};
use super::sse::{event_type, parse, Decode, Flow};
use super::WireFormat;
use crate::model::{ModelRequest, ProviderError, ResponseEvent, ResponseItem, Role, TokenUsage};

/// The OpenAI Responses API.
pub type OpenAiResponsesProvider = HttpProvider<OpenAiResponses>;

/// The Responses format: bearer auth, its request body and [`Decoder`].
pub struct OpenAiResponses;

/// Models that reason, whose reasoning must travel back encrypted under
/// `store: false`. Other models reject `include: ["reasoning.encrypted_content"]`.
fn is_reasoning_model(model: &str) -> bool {
    let bytes = model.as_bytes();
    model.starts_with("gpt-5")
        || model.contains("codex")
        || (bytes.len() > 1 && bytes[0] == b'o' && bytes[1].is_ascii_digit())
}

impl WireCodec for OpenAiResponses {
    const NAME: &'static str = "openai-responses";
    const DEBUG_NAME: &'static str = "OpenAiResponsesProvider";
    const FORMAT: WireFormat = WireFormat::OpenAiResponses;
    const AUTH: Auth = Auth::Bearer;
    type Decoder = Decoder;

    fn request_body(request: &ModelRequest, model: &str, default_effort: Option<&str>) -> Value {
        let mut body = json!({
            "model": model,
            "instructions": request.instructions,
            "input": request.input.iter().filter_map(input_item).collect::<Vec<_>>(),
            "store": false,
            "stream": true,
        });
        if !request.tools.is_empty() {
            body["tools"] = request
                .tools
                .iter()
                .map(|tool| {
                    json!({
                        "type": "function",
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                        "strict": false,
                    })
                })
                .collect();
            body["tool_choice"] = json!("auto");
            body["parallel_tool_calls"] = json!(request.parallel_tool_calls);
        }
        let reasoning = match (&request.reasoning, default_effort) {
            (Some(reasoning), _) => Some(json!({
                "effort": reasoning.effort,
                "summary": reasoning.summary.as_deref().unwrap_or("auto"),
            })),
            (None, Some(effort)) => Some(json!({ "effort": effort, "summary": "auto" })),
            (None, None) if is_reasoning_model(model) => Some(json!({ "summary": "auto" })),
            (None, None) => None,
        };
        if let Some(reasoning) = reasoning {
            body["reasoning"] = reasoning;
            body["include"] = json!(["reasoning.encrypted_content"]);
        }
        if let Some(key) = &request.prompt_cache_key {
            body["prompt_cache_key"] = json!(key);
        }
        if let Some(max) = request.max_output_tokens {
            body["max_output_tokens"] = json!(max);
        }
        body
    }
}

fn input_item(item: &ResponseItem) -> Option<Value> {
    Some(match item {
        ResponseItem::Message {
            role: Role::User,
            text,
        } => json!({
            "type": "message",
            "role": "user",
            "content": [{ "type": "input_text", "text": text }],
        }),
        ResponseItem::Message {
            role: Role::Assistant,
            text,
        } => json!({
            "type": "message",
            "role": "assistant",
            "content": [{ "type": "output_text", "text": text }],
        }),
        // Under `store: false` the server keeps no items: the id would be looked up
        // and fail, and without `encrypted_content` there is nothing to send back.
        ResponseItem::Reasoning {
            summary,
            encrypted_content: Some(encrypted),
            ..
        } => json!({
            "type": "reasoning",
            "summary": summary
                .iter()
                .map(|text| json!({ "type": "summary_text", "text": text }))
                .collect::<Vec<_>>(),
            "encrypted_content": encrypted,
        }),
        ResponseItem::Reasoning { .. } => return None,
        ResponseItem::FunctionCall {
            call_id,
            name,
            arguments,
        } => json!({
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
        }),
        ResponseItem::FunctionCallOutput {
            call_id, output, ..
        } => json!({
            "type": "function_call_output",
            "call_id": call_id,
            "output": output,
        }),
    })
}

#[derive(Deserialize)]
struct TextDelta {
    delta: String,
}

#[derive(Deserialize)]
struct ArgumentsDelta {
    item_id: String,
    delta: String,
}

#[derive(Deserialize)]
struct ItemEvent {
    item: WireItem,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireItem {
    Message {
        #[serde(default)]
        content: Vec<ContentPart>,
    },
    Reasoning {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        summary: Vec<SummaryPart>,
        #[serde(default)]
        encrypted_content: Option<String>,
    },
    FunctionCall {
        #[serde(default)]
        id: Option<String>,
        call_id: String,
        name: String,
        #[serde(default)]
        arguments: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentPart {
    OutputText {
        text: String,
    },
    Refusal {
        refusal: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct SummaryPart {
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct ResponseEnvelope {
    response: WireResponse,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    incomplete_details: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireUsage {
    input_tokens: u64,
    input_tokens_details: Option<CachedTokens>,
    output_tokens: u64,
    output_tokens_details: Option<ReasoningTokens>,
    total_tokens: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CachedTokens {
    cached_tokens: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReasoningTokens {
    reasoning_tokens: u64,
}

impl From<WireUsage> for TokenUsage {
    fn from(usage: WireUsage) -> Self {
        TokenUsage {
            input_tokens: usage.input_tokens,
            cached_input_tokens: usage.input_tokens_details.unwrap_or_default().cached_tokens,
            output_tokens: usage.output_tokens,
            reasoning_output_tokens: usage
                .output_tokens_details
                .unwrap_or_default()
                .reasoning_tokens,
            total_tokens: usage.total_tokens,
        }
    }
}

/// Decodes the Responses event stream. Function-call argument deltas name their
/// item id; the call id comes from the item's `output_item.added`.
#[derive(Default)]
pub struct Decoder {
    call_ids: HashMap<String, String>,
}

impl Decode for Decoder {
    fn decode(
        &mut self,
        event: &Event,
        out: &mut VecDeque<ResponseEvent>,
    ) -> Result<Flow, ProviderError> {
        match event_type(event)?.as_ref() {
            "response.created" => out.push_back(ResponseEvent::Created),
            "response.output_text.delta" => {
                let TextDelta { delta } = parse(event)?;
                out.push_back(ResponseEvent::OutputTextDelta { delta });
            }
            "response.reasoning_summary_text.delta" => {
                let TextDelta { delta } = parse(event)?;
                out.push_back(ResponseEvent::ReasoningSummaryDelta { delta });
            }
            "response.output_item.added" => {
                if let ItemEvent {
                    item:
                        WireItem::FunctionCall {
                            id, call_id, name, ..
                        },
                } = parse(event)?
                {
                    if let Some(id) = id {
                        self.call_ids.insert(id, call_id.clone());
                    }
                    out.push_back(ResponseEvent::ToolCallStarted { call_id, name });
                }
            }
            "response.function_call_arguments.delta" => {
                let ArgumentsDelta { item_id, delta } = parse(event)?;
                let call_id = self.call_ids.get(&item_id).cloned().unwrap_or(item_id);
                out.push_back(ResponseEvent::ToolCallArgumentsDelta { call_id, delta });
            }
            "response.output_item.done" => {
                let ItemEvent { item } = parse(event)?;
                if let Some(item) = history_item(item) {
                    out.push_back(ResponseEvent::OutputItemDone { item });
                }
            }
            kind @ ("response.completed" | "response.incomplete") => {
                let ResponseEnvelope { response } = parse(event)?;
                if kind == "response.incomplete" {
                    tracing::warn!(
                        details = %response.incomplete_details.unwrap_or_default(),
                        "the response is incomplete"
                    );
                }
                out.push_back(ResponseEvent::Completed {
                    response_id: response.id,
                    usage: response.usage.map(TokenUsage::from),
                });
                return Ok(Flow::Done);
            }
            "response.failed" => {
                let ResponseEnvelope { response } = parse(event)?;
                let details = response
                    .error
                    .as_ref()
                    .map(ErrorDetails::from_value)
                    .unwrap_or_else(|| ErrorDetails {
                        message: "the response failed without an error".to_string(),
                        ..ErrorDetails::default()
                    });
                return Err(fault::classify(None, details, None, None));
            }
            "error" => {
                let value: Value = parse(event)?;
                let details = ErrorDetails::from_value(value.get("error").unwrap_or(&value));
                return Err(fault::classify(None, details, None, None));
            }
            _ => {}
        }
        Ok(Flow::Continue)
    }
}

fn history_item(item: WireItem) -> Option<ResponseItem> {
    Some(match item {
        WireItem::Message { content } => ResponseItem::Message {
            role: Role::Assistant,
            text: content
                .into_iter()
                .filter_map(|part| match part {
                    ContentPart::OutputText { text } => Some(text),
                    ContentPart::Refusal { refusal } => Some(refusal),
                    ContentPart::Other => None,
                })
                .collect(),
        },
        WireItem::Reasoning {
            id,
            summary,
            encrypted_content,
        } => ResponseItem::Reasoning {
            id,
            summary: summary.into_iter().map(|part| part.text).collect(),
            encrypted_content,
        },
        WireItem::FunctionCall {
            call_id,
            name,
            arguments,
            ..
        } => ResponseItem::FunctionCall {
            call_id,
            name,
            arguments,
        },
        WireItem::Other => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReasoningConfig, ToolSpec};
    use crate::provider::chunked::{decode_in_chunks, decode_in_chunks_of_every_size, show};

    const SAMPLE: &str =
        include_str!("../../../tests/fixtures/wire/openai-responses-text-and-two-tool-calls.sse");
    const FORMAT: WireFormat = WireFormat::OpenAiResponses;

    #[test]
    fn decodes_the_sample_of_text_and_two_tool_calls() {
        let events = decode_in_chunks_of_every_size(FORMAT, SAMPLE, &[1, 7, 100]);
        expect_test::expect![[r#"
            Ok(Created)
            Ok(OutputTextDelta { delta: "I'll rea" })
            Ok(OutputTextDelta { delta: "d both f" })
            Ok(OutputTextDelta { delta: "iles." })
            Ok(OutputItemDone { item: Message { role: Assistant, text: "I'll read both files." } })
            Ok(ToolCallStarted { call_id: "call_y7wgLm7lIkDSSBH4Wn1qWecJ", name: "read_file" })
            Ok(ToolCallArgumentsDelta { call_id: "call_y7wgLm7lIkDSSBH4Wn1qWecJ", delta: "{\"path\":" })
            Ok(ToolCallArgumentsDelta { call_id: "call_y7wgLm7lIkDSSBH4Wn1qWecJ", delta: "\"src/lib" })
            Ok(ToolCallArgumentsDelta { call_id: "call_y7wgLm7lIkDSSBH4Wn1qWecJ", delta: ".rs\"}" })
            Ok(OutputItemDone { item: FunctionCall { call_id: "call_y7wgLm7lIkDSSBH4Wn1qWecJ", name: "read_file", arguments: "{\"path\":\"src/lib.rs\"}" } })
            Ok(ToolCallStarted { call_id: "call_VlTLvdNtcbIvYUdtWPaeEv8o", name: "grep" })
            Ok(ToolCallArgumentsDelta { call_id: "call_VlTLvdNtcbIvYUdtWPaeEv8o", delta: "{\"patter" })
            Ok(ToolCallArgumentsDelta { call_id: "call_VlTLvdNtcbIvYUdtWPaeEv8o", delta: "n\":\"fn p" })
            Ok(ToolCallArgumentsDelta { call_id: "call_VlTLvdNtcbIvYUdtWPaeEv8o", delta: "arse\"}" })
            Ok(OutputItemDone { item: FunctionCall { call_id: "call_VlTLvdNtcbIvYUdtWPaeEv8o", name: "grep", arguments: "{\"pattern\":\"fn parse\"}" } })
            Ok(Completed { response_id: Some("resp_a11d8f39d4294ef6b74426ebb1b0e139f1d2dec038575be0"), usage: Some(TokenUsage { input_tokens: 78, cached_input_tokens: 0, output_tokens: 20, reasoning_output_tokens: 0, total_tokens: 98 }) })
        "#]]
        .assert_eq(&show(&events));
    }

    #[test]
    fn a_stream_cut_before_response_completed_is_stream_ended() {
        let cut = SAMPLE.split("event: response.completed").next().unwrap();
        let events = decode_in_chunks(FORMAT, cut, 512);
        assert_eq!(events.last(), Some(&Err(ProviderError::StreamEnded)));
        assert_eq!(events.len(), 16);
    }

    #[test]
    fn reasoning_summaries_and_encrypted_content() {
        let stream = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n",
            "event: response.reasoning_summary_text.delta\ndata: {\"type\":\"response.reasoning_summary_text.delta\",\"delta\":\"**Plan**\",\"item_id\":\"rs_1\",\"output_index\":0,\"summary_index\":0}\n\n",
            "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"item\":{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"**Plan**\"}],\"encrypted_content\":\"gAAAAB\"},\"output_index\":0}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"usage\":null}}\n\n",
        );
        expect_test::expect![[r#"
            Ok(Created)
            Ok(ReasoningSummaryDelta { delta: "**Plan**" })
            Ok(OutputItemDone { item: Reasoning { id: Some("rs_1"), summary: ["**Plan**"], encrypted_content: Some("gAAAAB") } })
            Ok(Completed { response_id: Some("resp_1"), usage: None })
        "#]]
        .assert_eq(&show(&decode_in_chunks(FORMAT, stream, 64)));
    }

    #[test]
    fn failed_responses_and_error_events_map_to_provider_errors() {
        let failed = "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"id\":\"r\",\"error\":{\"code\":\"server_error\",\"message\":\"The model failed\"}}}\n\n";
        assert_eq!(
            decode_in_chunks(FORMAT, failed, 64),
            vec![Err(ProviderError::Server {
                status: 500,
                message: "The model failed".into(),
                retry_after: None
            })]
        );
        let error = "data: {\"type\":\"error\",\"code\":\"context_length_exceeded\",\"message\":\"Your input exceeds the context window\",\"param\":null}\n\n";
        assert_eq!(
            decode_in_chunks(FORMAT, error, 64),
            vec![Err(ProviderError::ContextLengthExceeded(
                "Your input exceeds the context window".into()
            ))]
        );
        let garbage = "event: response.output_text.delta\ndata: {not json\n\n";
        assert!(matches!(
            &decode_in_chunks(FORMAT, garbage, 64)[..],
            [Err(ProviderError::Malformed(message))] if message.contains("response.output_text.delta")
        ));
    }

    #[test]
    fn request_body_is_stateless_with_tools_in_order_and_reasoning_sent_back() {
        let request = ModelRequest {
            model: String::new(),
            instructions: "You are a coding agent.".into(),
            tools: vec![
                ToolSpec {
                    name: "read_file".into(),
                    description: "Read a file".into(),
                    parameters: json!({"type": "object"}),
                },
                ToolSpec {
                    name: "grep".into(),
                    description: "Search".into(),
                    parameters: json!({"type": "object"}),
                },
            ],
            input: vec![
                ResponseItem::Message {
                    role: Role::User,
                    text: "fix it".into(),
                },
                ResponseItem::Reasoning {
                    id: Some("rs_1".into()),
                    summary: vec!["thinking".into()],
                    encrypted_content: Some("gAAAA".into()),
                },
                ResponseItem::Reasoning {
                    id: Some("rs_2".into()),
                    summary: vec!["no blob".into()],
                    encrypted_content: None,
                },
                ResponseItem::FunctionCall {
                    call_id: "call_1".into(),
                    name: "read_file".into(),
                    arguments: "{\"path\":\"a\"}".into(),
                },
                ResponseItem::FunctionCallOutput {
                    call_id: "call_1".into(),
                    output: "contents".into(),
                    is_error: false,
                },
                ResponseItem::Message {
                    role: Role::Assistant,
                    text: "done".into(),
                },
            ],
            prompt_cache_key: Some("thread-1".into()),
            parallel_tool_calls: true,
            reasoning: Some(ReasoningConfig {
                effort: "high".into(),
                summary: None,
            }),
            max_output_tokens: None,
        };
        let body = OpenAiResponses::request_body(&request, "gpt-5-codex", None);
        expect_test::expect![[r#"
            {
              "model": "gpt-5-codex",
              "instructions": "You are a coding agent.",
              "input": [
                {
                  "type": "message",
                  "role": "user",
                  "content": [
                    {
                      "type": "input_text",
                      "text": "fix it"
                    }
                  ]
                },
                {
                  "type": "reasoning",
                  "summary": [
                    {
                      "type": "summary_text",
                      "text": "thinking"
                    }
                  ],
                  "encrypted_content": "gAAAA"
                },
                {
                  "type": "function_call",
                  "call_id": "call_1",
                  "name": "read_file",
                  "arguments": "{\"path\":\"a\"}"
                },
                {
                  "type": "function_call_output",
                  "call_id": "call_1",
                  "output": "contents"
                },
                {
                  "type": "message",
                  "role": "assistant",
                  "content": [
                    {
                      "type": "output_text",
                      "text": "done"
                    }
                  ]
                }
              ],
              "store": false,
              "stream": true,
              "tools": [
                {
                  "type": "function",
                  "name": "read_file",
                  "description": "Read a file",
                  "parameters": {
                    "type": "object"
                  },
                  "strict": false
                },
                {
                  "type": "function",
                  "name": "grep",
                  "description": "Search",
                  "parameters": {
                    "type": "object"
                  },
                  "strict": false
                }
              ],
              "tool_choice": "auto",
              "parallel_tool_calls": true,
              "reasoning": {
                "effort": "high",
                "summary": "auto"
              },
              "include": [
                "reasoning.encrypted_content"
              ],
              "prompt_cache_key": "thread-1"
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&body).unwrap());

        let plain = ModelRequest {
            model: "gpt-4.1".into(),
            reasoning: None,
            tools: vec![],
            ..request
        };
        let body = OpenAiResponses::request_body(&plain, &plain.model, None);
        assert!(body.get("include").is_none() && body.get("reasoning").is_none());
        assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
    }
}
