//! OpenAI-compatible Chat Completions (`POST {base}/chat/completions`, streamed):
//! the format Ollama, llama.cpp server, vLLM, LM Studio and OpenRouter serve.
//! Tool calls arrive as deltas keyed by `index` and are reassembled here; the
//! history items are emitted at `[DONE]`, the only end of a complete answer.

use std::collections::VecDeque;

use eventsource_stream::Event;
use serde::Deserialize;
use serde_json::{json, Value};

use super::fault::{self, ErrorDetails};
use super::http::{Auth, HttpProvider, WireCodec};
use super::sse::{parse, Decode, Flow};
use super::WireFormat;
use crate::model::{ModelRequest, ProviderError, ResponseEvent, ResponseItem, Role, TokenUsage};

/// An OpenAI-compatible Chat Completions server.
pub type OpenAiChatProvider = HttpProvider<OpenAiChat>;

/// The Chat Completions format: bearer auth, its request body and [`Decoder`].
pub struct OpenAiChat;

impl WireCodec for OpenAiChat {
    const NAME: &'static str = "openai-chat";
    const DEBUG_NAME: &'static str = "OpenAiChatProvider";
    const FORMAT: WireFormat = WireFormat::OpenAiChat;
    const AUTH: Auth = Auth::Bearer;
    type Decoder = Decoder;

    fn request_body(request: &ModelRequest, model: &str, default_effort: Option<&str>) -> Value {
        let mut body = json!({
            "model": model,
            "messages": messages(request),
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if !request.tools.is_empty() {
            body["tools"] = request
                .tools
                .iter()
                .map(|tool| {
                    json!({
                        "type": "function",
                        "function": {
                            "name": tool.name,
                            "description": tool.description,
                            "parameters": tool.parameters,
                        },
                    })
                })
                .collect();
            body["tool_choice"] = json!("auto");
            body["parallel_tool_calls"] = json!(request.parallel_tool_calls);
        }
        let effort = request
            .reasoning
            .as_ref()
            .map(|reasoning| reasoning.effort.as_str())
            .or(default_effort);
        if let Some(effort) = effort {
            body["reasoning_effort"] = json!(effort);
        }
        if let Some(max) = request.max_output_tokens {
            body["max_tokens"] = json!(max);
        }
        body
    }
}

/// The history as chat messages: the instructions as the system message; an
/// assistant's text and the tool calls after it merged into one message, each
/// tool's answer a `tool` message. Reasoning has no place in this format.
fn messages(request: &ModelRequest) -> Vec<Value> {
    let mut messages = vec![json!({ "role": "system", "content": request.instructions })];
    // Whether the last message is an assistant message that tool calls may join.
    let mut open_assistant = false;
    for item in &request.input {
        match item {
            ResponseItem::Message {
                role: Role::User,
                text,
            } => {
                messages.push(json!({ "role": "user", "content": text }));
                open_assistant = false;
            }
            ResponseItem::Message {
                role: Role::Assistant,
                text,
            } => {
                messages.push(json!({ "role": "assistant", "content": text }));
                open_assistant = true;
            }
            ResponseItem::Reasoning { .. } => {}
            ResponseItem::FunctionCall {
                call_id,
                name,
                arguments,
            } => {
                let call = json!({
                    "id": call_id,
                    "type": "function",
                    "function": { "name": name, "arguments": arguments },
                });
                match messages.last_mut() {
                    Some(last) if open_assistant => match last.get_mut("tool_calls") {
                        Some(Value::Array(calls)) => calls.push(call),
                        _ => last["tool_calls"] = json!([call]),
                    },
                    _ => {
                        messages.push(json!({
                            "role": "assistant",
                            "content": null,
                            "tool_calls": [call],
                        }));
                        open_assistant = true;
                    }
                }
            }
            ResponseItem::FunctionCallOutput {
                call_id, output, ..
            } => {
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": output,
                }));
                open_assistant = false;
            }
        }
    }
    messages
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    /// vLLM, DeepSeek, llama.cpp.
    #[serde(default)]
    reasoning_content: Option<String>,
    /// Ollama, OpenRouter.
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PromptDetails {
    cached_tokens: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompletionDetails {
    reasoning_tokens: u64,
}

#[derive(Default)]
struct PendingCall {
    id: Option<String>,
    name: Option<String>,
    arguments: String,
    started: bool,
}

/// Decodes Chat Completions chunks.
#[derive(Default)]
pub struct Decoder {
    created: bool,
    response_id: Option<String>,
    text: String,
    reasoning: String,
    calls: Vec<PendingCall>,
    usage: Option<TokenUsage>,
}

impl Decoder {
    fn tool_call(&mut self, delta: ToolCallDelta, out: &mut VecDeque<ResponseEvent>) {
        // Servers that omit `index` send one call per id, in order.
        let index = match delta.index {
            Some(index) => index,
            None => match (&delta.id, self.calls.last()) {
                (Some(id), Some(last)) if last.id.as_ref() != Some(id) => self.calls.len(),
                (_, Some(_)) => self.calls.len() - 1,
                (_, None) => 0,
            },
        };
        if self.calls.len() <= index {
            self.calls.resize_with(index + 1, PendingCall::default);
        }
        let call = &mut self.calls[index];
        if call.id.is_none() {
            call.id = delta.id.filter(|id| !id.is_empty());
        }
        let (name, arguments) = match delta.function {
            Some(function) => (function.name, function.arguments.unwrap_or_default()),
            None => (None, String::new()),
        };
        if call.name.is_none() {
            call.name = name.filter(|name| !name.is_empty());
        }
        if !call.started {
            call.arguments.push_str(&arguments);
            let Some(name) = call.name.clone() else {
                return;
            };
            call.started = true;
            let call_id = call
                .id
                .get_or_insert_with(|| format!("call_{index}"))
                .clone();
            out.push_back(ResponseEvent::ToolCallStarted {
                call_id: call_id.clone(),
                name,
            });
            if !call.arguments.is_empty() {
                out.push_back(ResponseEvent::ToolCallArgumentsDelta {
                    call_id,
                    delta: call.arguments.clone(),
                });
            }
        } else if !arguments.is_empty() {
            call.arguments.push_str(&arguments);
            out.push_back(ResponseEvent::ToolCallArgumentsDelta {
                call_id: call.id.clone().unwrap_or_default(),
                delta: arguments,
            });
        }
    }

    fn finish(&mut self, out: &mut VecDeque<ResponseEvent>) -> Result<(), ProviderError> {
        if !self.reasoning.is_empty() {
            out.push_back(ResponseEvent::OutputItemDone {
                item: ResponseItem::Reasoning {
                    id: None,
                    summary: vec![std::mem::take(&mut self.reasoning)],
                    encrypted_content: None,
                },
            });
        }
        if !self.text.is_empty() {
            out.push_back(ResponseEvent::OutputItemDone {
                item: ResponseItem::Message {
                    role: Role::Assistant,
                    text: std::mem::take(&mut self.text),
                },
            });
        }
        for (index, call) in std::mem::take(&mut self.calls).into_iter().enumerate() {
            let Some(name) = call.name else {
                return Err(ProviderError::Malformed(format!(
                    "tool call {index} never got a function name"
                )));
            };
            out.push_back(ResponseEvent::OutputItemDone {
                item: ResponseItem::FunctionCall {
                    call_id: call.id.unwrap_or_else(|| format!("call_{index}")),
                    name,
                    arguments: call.arguments,
                },
            });
        }
        out.push_back(ResponseEvent::Completed {
            response_id: self.response_id.take(),
            usage: self.usage.take(),
        });
        Ok(())
    }
}

impl Decode for Decoder {
    fn decode(
        &mut self,
        event: &Event,
        out: &mut VecDeque<ResponseEvent>,
    ) -> Result<Flow, ProviderError> {
        if event.data.trim() == "[DONE]" {
            self.finish(out)?;
            return Ok(Flow::Done);
        }
        let chunk: Chunk = parse(event)?;
        if let Some(error) = chunk.error {
            return Err(fault::classify(
                None,
                ErrorDetails::from_value(&error),
                None,
                None,
            ));
        }
        if !self.created {
            self.created = true;
            self.response_id = chunk.id;
            out.push_back(ResponseEvent::Created);
        }
        if let Some(usage) = chunk.usage {
            let reasoning = usage
                .completion_tokens_details
                .unwrap_or_default()
                .reasoning_tokens;
            self.usage = Some(TokenUsage {
                input_tokens: usage.prompt_tokens,
                cached_input_tokens: usage
                    .prompt_tokens_details
                    .unwrap_or_default()
                    .cached_tokens,
                output_tokens: usage.completion_tokens,
                reasoning_output_tokens: reasoning,
                total_tokens: usage.total_tokens,
            });
        }
        for choice in chunk.choices {
            if let Some(reason) = &choice.finish_reason {
                tracing::debug!(finish_reason = %reason, "chat completion finished");
            }
            let Some(delta) = choice.delta else { continue };
            if let Some(reasoning) = delta
                .reasoning_content
                .or(delta.reasoning)
                .filter(|text| !text.is_empty())
            {
                self.reasoning.push_str(&reasoning);
                out.push_back(ResponseEvent::ReasoningSummaryDelta { delta: reasoning });
            }
            if let Some(content) = delta.content.filter(|text| !text.is_empty()) {
                self.text.push_str(&content);
                out.push_back(ResponseEvent::OutputTextDelta { delta: content });
            }
            for call in delta.tool_calls.unwrap_or_default() {
                self.tool_call(call, out);
            }
        }
        Ok(Flow::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ToolSpec;
    use crate::provider::chunked::{decode_in_chunks, decode_in_chunks_of_every_size, show};

    const SAMPLE: &str =
        include_str!("../../../tests/fixtures/wire/chat-completions-text-and-two-tool-calls.sse");
    const FORMAT: WireFormat = WireFormat::OpenAiChat;

    #[test]
    fn decodes_the_sample_of_text_and_two_tool_calls() {
        let events = decode_in_chunks_of_every_size(FORMAT, SAMPLE, &[1, 13, 333]);
        expect_test::expect![[r#"
            Ok(Created)
            Ok(OutputTextDelta { delta: "I'll rea" })
            Ok(OutputTextDelta { delta: "d both f" })
            Ok(OutputTextDelta { delta: "iles." })
            Ok(ToolCallStarted { call_id: "call_JCYKuXlWX1UPj00tX9A3tSZE", name: "read_file" })
            Ok(ToolCallArgumentsDelta { call_id: "call_JCYKuXlWX1UPj00tX9A3tSZE", delta: "{\"path\":" })
            Ok(ToolCallArgumentsDelta { call_id: "call_JCYKuXlWX1UPj00tX9A3tSZE", delta: "\"src/lib" })
            Ok(ToolCallArgumentsDelta { call_id: "call_JCYKuXlWX1UPj00tX9A3tSZE", delta: ".rs\"}" })
            Ok(ToolCallStarted { call_id: "call_UFMKpGaz5S203coXa8XL8Mak", name: "grep" })
            Ok(ToolCallArgumentsDelta { call_id: "call_UFMKpGaz5S203coXa8XL8Mak", delta: "{\"patter" })
            Ok(ToolCallArgumentsDelta { call_id: "call_UFMKpGaz5S203coXa8XL8Mak", delta: "n\":\"fn p" })
            Ok(ToolCallArgumentsDelta { call_id: "call_UFMKpGaz5S203coXa8XL8Mak", delta: "arse\"}" })
            Ok(OutputItemDone { item: Message { role: Assistant, text: "I'll read both files." } })
            Ok(OutputItemDone { item: FunctionCall { call_id: "call_JCYKuXlWX1UPj00tX9A3tSZE", name: "read_file", arguments: "{\"path\":\"src/lib.rs\"}" } })
            Ok(OutputItemDone { item: FunctionCall { call_id: "call_UFMKpGaz5S203coXa8XL8Mak", name: "grep", arguments: "{\"pattern\":\"fn parse\"}" } })
            Ok(Completed { response_id: Some("chatcmpl-NegLRosuSBLHxDrghVjPBWLdeYDyE"), usage: Some(TokenUsage { input_tokens: 75, cached_input_tokens: 0, output_tokens: 20, reasoning_output_tokens: 0, total_tokens: 95 }) })
        "#]]
        .assert_eq(&show(&events));
    }

    #[test]
    fn a_stream_without_done_is_stream_ended() {
        let cut = SAMPLE.split("data: [DONE]").next().unwrap();
        let events = decode_in_chunks(FORMAT, cut, 512);
        assert_eq!(events.last(), Some(&Err(ProviderError::StreamEnded)));
        assert!(!events
            .iter()
            .any(|event| matches!(event, Ok(ResponseEvent::OutputItemDone { .. }))));
    }

    #[test]
    fn whole_tool_calls_in_one_chunk_and_reasoning_fields() {
        // Ollama sends each call whole, with no index on older versions.
        let stream = concat!(
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning\":\"Let me look.\"}}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"call_a\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"a\\\"}\"}},{\"id\":\"call_b\",\"function\":{\"name\":\"grep\",\"arguments\":\"{}\"}}]}}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        expect_test::expect![[r#"
            Ok(Created)
            Ok(ReasoningSummaryDelta { delta: "Let me look." })
            Ok(ToolCallStarted { call_id: "call_a", name: "read_file" })
            Ok(ToolCallArgumentsDelta { call_id: "call_a", delta: "{\"path\":\"a\"}" })
            Ok(ToolCallStarted { call_id: "call_b", name: "grep" })
            Ok(ToolCallArgumentsDelta { call_id: "call_b", delta: "{}" })
            Ok(OutputItemDone { item: Reasoning { id: None, summary: ["Let me look."], encrypted_content: None } })
            Ok(OutputItemDone { item: FunctionCall { call_id: "call_a", name: "read_file", arguments: "{\"path\":\"a\"}" } })
            Ok(OutputItemDone { item: FunctionCall { call_id: "call_b", name: "grep", arguments: "{}" } })
            Ok(Completed { response_id: Some("c1"), usage: None })
        "#]]
        .assert_eq(&show(&decode_in_chunks(FORMAT, stream, 50)));
    }

    #[test]
    fn characters_split_across_chunks_arrive_whole() {
        let stream = concat!(
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"héllo wörld ✓\"}}]}\n\n",
            "data: [DONE]\n\n",
        );
        let events = decode_in_chunks(FORMAT, stream, 1);
        assert_eq!(
            events[1],
            Ok(ResponseEvent::OutputTextDelta {
                delta: "héllo wörld ✓".into()
            })
        );
    }

    #[test]
    fn an_error_chunk_mid_stream_fails_the_answer() {
        let stream = concat!(
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
            "data: {\"error\":{\"message\":\"Provider returned error\",\"code\":502}}\n\n",
        );
        let events = decode_in_chunks(FORMAT, stream, 64);
        assert_eq!(
            events.last(),
            Some(&Err(ProviderError::Server {
                status: 500,
                message: "Provider returned error".into(),
                retry_after: None
            }))
        );
    }

    #[test]
    fn request_body_merges_tool_calls_into_the_assistant_message() {
        let request = ModelRequest {
            model: "llama3.1".into(),
            instructions: "Be brief.".into(),
            tools: vec![ToolSpec {
                name: "read_file".into(),
                description: "Read a file".into(),
                parameters: json!({"type": "object"}),
            }],
            input: vec![
                ResponseItem::Message {
                    role: Role::User,
                    text: "read a and b".into(),
                },
                ResponseItem::Reasoning {
                    id: None,
                    summary: vec!["hm".into()],
                    encrypted_content: None,
                },
                ResponseItem::Message {
                    role: Role::Assistant,
                    text: "Reading.".into(),
                },
                ResponseItem::FunctionCall {
                    call_id: "call_a".into(),
                    name: "read_file".into(),
                    arguments: "{\"path\":\"a\"}".into(),
                },
                ResponseItem::FunctionCall {
                    call_id: "call_b".into(),
                    name: "read_file".into(),
                    arguments: "{\"path\":\"b\"}".into(),
                },
                ResponseItem::FunctionCallOutput {
                    call_id: "call_a".into(),
                    output: "A".into(),
                    is_error: false,
                },
                ResponseItem::FunctionCallOutput {
                    call_id: "call_b".into(),
                    output: "B".into(),
                    is_error: true,
                },
                ResponseItem::FunctionCall {
                    call_id: "call_c".into(),
                    name: "read_file".into(),
                    arguments: "{}".into(),
                },
            ],
            prompt_cache_key: Some("thread".into()),
            parallel_tool_calls: false,
            reasoning: None,
            max_output_tokens: Some(1000),
        };
        let body = OpenAiChat::request_body(&request, &request.model, None);
        expect_test::expect![[r#"{"model":"llama3.1","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"read a and b"},{"role":"assistant","content":"Reading.","tool_calls":[{"id":"call_a","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"a\"}"}},{"id":"call_b","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"b\"}"}}]},{"role":"tool","tool_call_id":"call_a","content":"A"},{"role":"tool","tool_call_id":"call_b","content":"B"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_c","type":"function","function":{"name":"read_file","arguments":"{}"}}]}],"stream":true,"stream_options":{"include_usage":true},"tools":[{"type":"function","function":{"name":"read_file","description":"Read a file","parameters":{"type":"object"}}}],"tool_choice":"auto","parallel_tool_calls":false,"max_tokens":1000}"#]]
        .assert_eq(&body.to_string());
    }
}
