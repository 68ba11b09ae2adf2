//! Anthropic Messages (`POST {base}/messages`, streamed). Events are dispatched on
//! their `event:` line; content blocks (text, `tool_use`, `thinking`) are
//! reassembled by index and become history items at `content_block_stop`. Prompt
//! cache breakpoints mark the stable prefix: the system prompt, the last tool and
//! the last message of the history.

use std::collections::{HashMap, VecDeque};

use eventsource_stream::Event;
use serde::Deserialize;
use serde_json::{json, Value};

use super::fault::{self, ErrorDetails};
use super::http::{Auth, HttpProvider, WireCodec};
use super::sse::{event_type, parse, Decode, Flow};
use super::WireFormat;
use crate::model::{ModelRequest, ProviderError, ResponseEvent, ResponseItem, Role, TokenUsage};

/// The Anthropic Messages API.
pub type AnthropicProvider = HttpProvider<Anthropic>;

/// The Messages format: `x-api-key` auth, its request body and [`Decoder`].
pub struct Anthropic;

fn ephemeral() -> Value {
    json!({ "type": "ephemeral" })
}

/// Output limits differ per generation; Claude 3.x models stop at 8192.
fn default_max_tokens(model: &str) -> u32 {
    if model.starts_with("claude-3") {
        8192
    } else {
        32_000
    }
}

fn thinking_budget(effort: &str) -> u32 {
    match effort {
        "minimal" | "low" => 4_096,
        "high" => 32_000,
        _ => 10_000,
    }
}

impl WireCodec for Anthropic {
    const NAME: &'static str = "anthropic";
    const DEBUG_NAME: &'static str = "AnthropicProvider";
    const FORMAT: WireFormat = WireFormat::Anthropic;
    const AUTH: Auth = Auth::Anthropic;
    type Decoder = Decoder;

    fn request_body(request: &ModelRequest, model: &str, default_effort: Option<&str>) -> Value {
        let mut max_tokens = request
            .max_output_tokens
            .unwrap_or_else(|| default_max_tokens(model));
        let mut body = json!({
            "model": model,
            "messages": messages(request),
            "stream": true,
        });
        if !request.instructions.is_empty() {
            body["system"] = json!([{
                "type": "text",
                "text": request.instructions,
                "cache_control": ephemeral(),
            }]);
        }
        if !request.tools.is_empty() {
            let mut tools: Vec<Value> = request
                .tools
                .iter()
                .map(|tool| {
                    json!({
                        "name": tool.name,
                        "description": tool.description,
                        "input_schema": tool.parameters,
                    })
                })
                .collect();
            if let Some(last) = tools.last_mut() {
                last["cache_control"] = ephemeral();
            }
            body["tools"] = Value::Array(tools);
            body["tool_choice"] = json!({
                "type": "auto",
                "disable_parallel_tool_use": !request.parallel_tool_calls,
            });
        }
        let effort = request
            .reasoning
            .as_ref()
            .map(|reasoning| reasoning.effort.as_str())
            .or(default_effort);
        if let Some(effort) = effort {
            let budget = thinking_budget(effort);
            max_tokens = max_tokens.max(budget + 4_096);
            body["thinking"] = json!({ "type": "enabled", "budget_tokens": budget });
        }
        body["max_tokens"] = json!(max_tokens);
        body
    }
}

/// The history as alternating user/assistant messages of content blocks, with a
/// cache breakpoint on the last block that may carry one.
fn messages(request: &ModelRequest) -> Vec<Value> {
    let mut messages: Vec<(Role, Vec<Value>)> = Vec::new();
    let mut push = |role: Role, block: Value| match messages.last_mut() {
        Some((last_role, blocks)) if *last_role == role => blocks.push(block),
        _ => messages.push((role, vec![block])),
    };
    for item in &request.input {
        match item {
            ResponseItem::Message { text, .. } if text.is_empty() => {}
            ResponseItem::Message { role, text } => {
                push(*role, json!({ "type": "text", "text": text }));
            }
            ResponseItem::Reasoning {
                summary,
                encrypted_content: Some(signature),
                ..
            } => {
                let block = if summary.is_empty() {
                    json!({ "type": "redacted_thinking", "data": signature })
                } else {
                    json!({ "type": "thinking", "thinking": summary.concat(), "signature": signature })
                };
                push(Role::Assistant, block);
            }
            ResponseItem::Reasoning { .. } => {}
            ResponseItem::FunctionCall {
                call_id,
                name,
                arguments,
            } => {
                let input = match serde_json::from_str::<Value>(arguments) {
                    Ok(input @ Value::Object(_)) => input,
                    // `input` must be an object; keep what the model wrote so it
                    // sees its mistake next to the tool's error.
                    _ => json!({ "invalid_json": arguments }),
                };
                push(
                    Role::Assistant,
                    json!({ "type": "tool_use", "id": call_id, "name": name, "input": input }),
                );
            }
            ResponseItem::FunctionCallOutput {
                call_id,
                output,
                is_error,
            } => {
                let mut block = json!({
                    "type": "tool_result",
                    "tool_use_id": call_id,
                    "content": output,
                });
                if *is_error {
                    block["is_error"] = json!(true);
                }
                push(Role::User, block);
            }
        }
    }
    if let Some((_, blocks)) = messages.last_mut() {
        let cacheable = blocks.iter_mut().rev().find(|block| {
            !matches!(
                block["type"].as_str(),
                Some("thinking" | "redacted_thinking")
            )
        });
        if let Some(block) = cacheable {
            block["cache_control"] = ephemeral();
        }
    }
    messages
        .into_iter()
        .map(|(role, content)| {
            let role = match role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({ "role": role, "content": content })
        })
        .collect()
}

#[derive(Deserialize)]
struct MessageStart {
    message: StartedMessage,
}

#[derive(Deserialize)]
struct StartedMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct BlockStart {
    index: usize,
    content_block: WireBlock,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct BlockDelta {
    index: usize,
    delta: WireDelta,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct BlockStop {
    index: usize,
}

#[derive(Deserialize)]
struct MessageDelta {
    #[serde(default)]
    delta: Option<StopDelta>,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
struct StopDelta {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEvent {
    error: Value,
}

/// A content block being streamed.
enum Block {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        arguments: String,
    },
    Thinking {
        text: String,
        signature: String,
    },
    RedactedThinking(String),
    Other,
}

/// Decodes Messages events.
#[derive(Default)]
pub struct Decoder {
    message_id: Option<String>,
    blocks: HashMap<usize, Block>,
    usage: WireUsage,
}

impl Decoder {
    fn add_usage(&mut self, usage: WireUsage) {
        let fields = [
            (&mut self.usage.input_tokens, usage.input_tokens),
            (
                &mut self.usage.cache_creation_input_tokens,
                usage.cache_creation_input_tokens,
            ),
            (
                &mut self.usage.cache_read_input_tokens,
                usage.cache_read_input_tokens,
            ),
            (&mut self.usage.output_tokens, usage.output_tokens),
        ];
        for (field, value) in fields {
            if value.is_some() {
                *field = value;
            }
        }
    }

    fn token_usage(&self) -> TokenUsage {
        let cached = self.usage.cache_read_input_tokens.unwrap_or(0);
        let input = self.usage.input_tokens.unwrap_or(0)
            + cached
            + self.usage.cache_creation_input_tokens.unwrap_or(0);
        let output = self.usage.output_tokens.unwrap_or(0);
        TokenUsage {
            input_tokens: input,
            cached_input_tokens: cached,
            output_tokens: output,
            reasoning_output_tokens: 0,
            total_tokens: input + output,
        }
    }

    fn block(&mut self, index: usize) -> Result<&mut Block, ProviderError> {
        self.blocks.get_mut(&index).ok_or_else(|| {
            ProviderError::Malformed(format!("content block {index} was never started"))
        })
    }
}

impl Decode for Decoder {
    fn decode(
        &mut self,
        event: &Event,
        out: &mut VecDeque<ResponseEvent>,
    ) -> Result<Flow, ProviderError> {
        match event_type(event)?.as_ref() {
            "message_start" => {
                let MessageStart { message } = parse(event)?;
                self.message_id = message.id;
                self.add_usage(message.usage);
                out.push_back(ResponseEvent::Created);
            }
            "content_block_start" => {
                let BlockStart {
                    index,
                    content_block,
                } = parse(event)?;
                let block = match content_block {
                    WireBlock::Text { text } => {
                        if !text.is_empty() {
                            out.push_back(ResponseEvent::OutputTextDelta {
                                delta: text.clone(),
                            });
                        }
                        Block::Text(text)
                    }
                    WireBlock::ToolUse { id, name, input } => {
                        out.push_back(ResponseEvent::ToolCallStarted {
                            call_id: id.clone(),
                            name: name.clone(),
                        });
                        // Input normally streams as deltas after an empty `{}`.
                        let arguments = match input {
                            Value::Object(fields) if !fields.is_empty() => {
                                let arguments = Value::Object(fields).to_string();
                                out.push_back(ResponseEvent::ToolCallArgumentsDelta {
                                    call_id: id.clone(),
                                    delta: arguments.clone(),
                                });
                                arguments
                            }
                            _ => String::new(),
                        };
                        Block::ToolUse {
                            id,
                            name,
                            arguments,
                        }
                    }
                    WireBlock::Thinking {
                        thinking,
                        signature,
                    } => Block::Thinking {
                        text: thinking,
                        signature,
                    },
                    WireBlock::RedactedThinking { data } => Block::RedactedThinking(data),
                    WireBlock::Other => Block::Other,
                };
                self.blocks.insert(index, block);
            }
            "content_block_delta" => {
                let BlockDelta { index, delta } = parse(event)?;
                match (self.block(index)?, delta) {
                    (Block::Text(text), WireDelta::TextDelta { text: delta }) => {
                        text.push_str(&delta);
                        out.push_back(ResponseEvent::OutputTextDelta { delta });
                    }
                    (
                        Block::ToolUse { id, arguments, .. },
                        WireDelta::InputJsonDelta { partial_json },
                    ) => {
                        if !partial_json.is_empty() {
                            arguments.push_str(&partial_json);
                            out.push_back(ResponseEvent::ToolCallArgumentsDelta {
                                call_id: id.clone(),
                                delta: partial_json,
                            });
                        }
                    }
                    (Block::Thinking { text, .. }, WireDelta::ThinkingDelta { thinking }) => {
                        text.push_str(&thinking);
                        out.push_back(ResponseEvent::ReasoningSummaryDelta { delta: thinking });
                    }
                    (
                        Block::Thinking { signature, .. },
                        WireDelta::SignatureDelta { signature: delta },
                    ) => {
                        signature.push_str(&delta);
                    }
                    (_, WireDelta::Other) | (Block::Other, _) => {}
                    _ => {
                        return Err(ProviderError::Malformed(format!(
                            "content block {index} got a delta of another type"
                        )))
                    }
                }
            }
            "content_block_stop" => {
                let BlockStop { index } = parse(event)?;
                let block = self.blocks.remove(&index).ok_or_else(|| {
                    ProviderError::Malformed(format!("content block {index} was never started"))
                })?;
                let item = match block {
                    Block::Text(text) => ResponseItem::Message {
                        role: Role::Assistant,
                        text,
                    },
                    Block::ToolUse {
                        id,
                        name,
                        arguments,
                    } => ResponseItem::FunctionCall {
                        call_id: id,
                        name,
                        arguments: if arguments.is_empty() {
                            "{}".to_string()
                        } else {
                            arguments
                        },
                    },
                    Block::Thinking { text, signature } => ResponseItem::Reasoning {
                        id: None,
                        summary: vec![text],
                        encrypted_content: (!signature.is_empty()).then_some(signature),
                    },
                    Block::RedactedThinking(data) => ResponseItem::Reasoning {
                        id: None,
                        summary: Vec::new(),
                        encrypted_content: Some(data),
                    },
                    Block::Other => return Ok(Flow::Continue),
                };
                out.push_back(ResponseEvent::OutputItemDone { item });
            }
            "message_delta" => {
                let MessageDelta { delta, usage } = parse(event)?;
                if let Some(reason) = delta.and_then(|delta| delta.stop_reason) {
                    tracing::debug!(stop_reason = %reason, "anthropic message stopped");
                }
                self.add_usage(usage);
            }
            "message_stop" => {
                out.push_back(ResponseEvent::Completed {
                    response_id: self.message_id.take(),
                    usage: Some(self.token_usage()),
                });
                return Ok(Flow::Done);
            }
            "error" => {
                let ErrorEvent { error } = parse(event)?;
                return Err(fault::classify(
                    None,
                    ErrorDetails::from_value(&error),
                    None,
                    None,
                ));
            }
            // `ping` and event types added later.
            _ => {}
        }
        Ok(Flow::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReasoningConfig, ToolSpec};
    use crate::provider::chunked::{decode_in_chunks, decode_in_chunks_of_every_size, show};

    const SAMPLE: &str =
        include_str!("../../../tests/fixtures/wire/anthropic-messages-text-and-two-tool-uses.sse");
    const FORMAT: WireFormat = WireFormat::Anthropic;

    #[test]
    fn decodes_the_sample_of_text_and_two_tool_uses() {
        let events = decode_in_chunks_of_every_size(FORMAT, SAMPLE, &[1, 5, 260]);
        expect_test::expect![[r#"
            Ok(Created)
            Ok(OutputTextDelta { delta: "I'll rea" })
            Ok(OutputTextDelta { delta: "d both f" })
            Ok(OutputTextDelta { delta: "iles." })
            Ok(OutputItemDone { item: Message { role: Assistant, text: "I'll read both files." } })
            Ok(ToolCallStarted { call_id: "toolu_01WGtm9KJBAr9pYkQorsRutn", name: "read_file" })
            Ok(ToolCallArgumentsDelta { call_id: "toolu_01WGtm9KJBAr9pYkQorsRutn", delta: "{\"path\":" })
            Ok(ToolCallArgumentsDelta { call_id: "toolu_01WGtm9KJBAr9pYkQorsRutn", delta: "\"src/lib" })
            Ok(ToolCallArgumentsDelta { call_id: "toolu_01WGtm9KJBAr9pYkQorsRutn", delta: ".rs\"}" })
            Ok(OutputItemDone { item: FunctionCall { call_id: "toolu_01WGtm9KJBAr9pYkQorsRutn", name: "read_file", arguments: "{\"path\":\"src/lib.rs\"}" } })
            Ok(ToolCallStarted { call_id: "toolu_01vJFL9J6VAvwsWuIpkzdk9i", name: "grep" })
            Ok(ToolCallArgumentsDelta { call_id: "toolu_01vJFL9J6VAvwsWuIpkzdk9i", delta: "{\"patter" })
            Ok(ToolCallArgumentsDelta { call_id: "toolu_01vJFL9J6VAvwsWuIpkzdk9i", delta: "n\":\"fn p" })
            Ok(ToolCallArgumentsDelta { call_id: "toolu_01vJFL9J6VAvwsWuIpkzdk9i", delta: "arse\"}" })
            Ok(OutputItemDone { item: FunctionCall { call_id: "toolu_01vJFL9J6VAvwsWuIpkzdk9i", name: "grep", arguments: "{\"pattern\":\"fn parse\"}" } })
            Ok(Completed { response_id: Some("msg_01Gyp4pOaIvQqK3JbpmK1aK7"), usage: Some(TokenUsage { input_tokens: 56, cached_input_tokens: 0, output_tokens: 20, reasoning_output_tokens: 0, total_tokens: 76 }) })
        "#]]
        .assert_eq(&show(&events));
    }

    #[test]
    fn a_stream_without_message_stop_is_stream_ended() {
        let cut = SAMPLE.split("event: message_stop").next().unwrap();
        assert_eq!(
            decode_in_chunks(FORMAT, cut, 100).last(),
            Some(&Err(ProviderError::StreamEnded))
        );
    }

    #[test]
    fn thinking_blocks_and_error_events() {
        let stream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":90,\"cache_creation_input_tokens\":0,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Check the tests.\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCkYI\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        );
        expect_test::expect![[r#"
            Ok(Created)
            Ok(ReasoningSummaryDelta { delta: "Check the tests." })
            Ok(OutputItemDone { item: Reasoning { id: None, summary: ["Check the tests."], encrypted_content: Some("EqQBCkYI") } })
            Err(Server { status: 529, message: "Overloaded", retry_after: None })
        "#]]
        .assert_eq(&show(&decode_in_chunks(FORMAT, stream, 77)));
    }

    #[test]
    fn request_body_has_cache_breakpoints_on_the_stable_prefix() {
        let request = ModelRequest {
            model: String::new(),
            instructions: "You are a coding agent.".into(),
            tools: vec![
                ToolSpec {
                    name: "read_file".into(),
                    description: "Read".into(),
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
                    id: None,
                    summary: vec!["Look first.".into()],
                    encrypted_content: Some("sig".into()),
                },
                ResponseItem::Message {
                    role: Role::Assistant,
                    text: "Looking.".into(),
                },
                ResponseItem::FunctionCall {
                    call_id: "toolu_1".into(),
                    name: "read_file".into(),
                    arguments: "{\"path\":\"a\"}".into(),
                },
                ResponseItem::FunctionCall {
                    call_id: "toolu_2".into(),
                    name: "grep".into(),
                    arguments: "{\"pattern\":".into(),
                },
                ResponseItem::FunctionCallOutput {
                    call_id: "toolu_1".into(),
                    output: "A".into(),
                    is_error: false,
                },
                ResponseItem::FunctionCallOutput {
                    call_id: "toolu_2".into(),
                    output: "invalid arguments".into(),
                    is_error: true,
                },
            ],
            prompt_cache_key: None,
            parallel_tool_calls: true,
            reasoning: Some(ReasoningConfig {
                effort: "low".into(),
                summary: None,
            }),
            max_output_tokens: None,
        };
        let body = Anthropic::request_body(&request, "claude-sonnet-4-5", None);
        expect_test::expect![[r#"
            {
              "model": "claude-sonnet-4-5",
              "messages": [
                {
                  "role": "user",
                  "content": [
                    {
                      "type": "text",
                      "text": "fix it"
                    }
                  ]
                },
                {
                  "role": "assistant",
                  "content": [
                    {
                      "type": "thinking",
                      "thinking": "Look first.",
                      "signature": "sig"
                    },
                    {
                      "type": "text",
                      "text": "Looking."
                    },
                    {
                      "type": "tool_use",
                      "id": "toolu_1",
                      "name": "read_file",
                      "input": {
                        "path": "a"
                      }
                    },
                    {
                      "type": "tool_use",
                      "id": "toolu_2",
                      "name": "grep",
                      "input": {
                        "invalid_json": "{\"pattern\":"
                      }
                    }
                  ]
                },
                {
                  "role": "user",
                  "content": [
                    {
                      "type": "tool_result",
                      "tool_use_id": "toolu_1",
                      "content": "A"
                    },
                    {
                      "type": "tool_result",
                      "tool_use_id": "toolu_2",
                      "content": "invalid arguments",
                      "is_error": true,
                      "cache_control": {
                        "type": "ephemeral"
                      }
                    }
                  ]
                }
              ],
              "stream": true,
              "system": [
                {
                  "type": "text",
                  "text": "You are a coding agent.",
                  "cache_control": {
                    "type": "ephemeral"
                  }
                }
              ],
              "tools": [
                {
                  "name": "read_file",
                  "description": "Read",
                  "input_schema": {
                    "type": "object"
                  }
                },
                {
                  "name": "grep",
                  "description": "Search",
                  "input_schema": {
                    "type": "object"
                  },
                  "cache_control": {
                    "type": "ephemeral"
                  }
                }
              ],
              "tool_choice": {
                "type": "auto",
                "disable_parallel_tool_use": false
              },
              "thinking": {
                "type": "enabled",
                "budget_tokens": 4096
              },
              "max_tokens": 32000
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&body).unwrap());
    }
}
