//! The chat-model fallback: the configured `[provider]` is shown the code with
//! a cursor mark and asked to answer with the insertion alone.

use futures::StreamExt;

use super::{CompletionError, CompletionPrompt, MAX_RESPONSE_BYTES};
use crate::model::{ModelRequest, Provider, ResponseEvent, ResponseItem, Role};

/// Where the insertion goes, in the text the chat model reads.
pub const CURSOR: &str = "<CURSOR>";

const INSTRUCTIONS: &str = "You complete code in an editor. The user's message is a source file with the mark <CURSOR> where the cursor is. Answer with exactly the text to insert at <CURSOR>: no explanation, no Markdown fence, nothing repeated from before or after the mark. Answer with nothing when nothing fits.";

pub(super) fn request(prompt: &CompletionPrompt, max_tokens: u32) -> ModelRequest {
    let text = format!("{}{CURSOR}{}", prompt.prefix_with_context(), prompt.suffix);
    ModelRequest {
        model: String::new(),
        instructions: INSTRUCTIONS.to_string(),
        tools: Vec::new(),
        input: vec![ResponseItem::Message {
            role: Role::User,
            text,
        }],
        prompt_cache_key: None,
        parallel_tool_calls: false,
        reasoning: None,
        max_output_tokens: Some(max_tokens),
    }
}

pub(super) async fn complete(
    provider: &dyn Provider,
    prompt: &CompletionPrompt,
    max_tokens: u32,
) -> Result<String, CompletionError> {
    let mut stream = provider.stream(request(prompt, max_tokens)).await?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event? {
            ResponseEvent::OutputTextDelta { delta } => {
                if text.len() + delta.len() > MAX_RESPONSE_BYTES {
                    return Err(CompletionError::TooLarge {
                        limit: MAX_RESPONSE_BYTES,
                    });
                }
                text.push_str(&delta);
            }
            ResponseEvent::Completed { .. } => break,
            _ => {}
        }
    }
    Ok(unfence(&text).to_string())
}

/// The insertion without the Markdown fence chat models add despite being told
/// not to.
pub(super) fn unfence(text: &str) -> &str {
    let trimmed = text.trim();
    let Some(body) = trimmed
        .strip_prefix("```")
        .and_then(|rest| rest.strip_suffix("```"))
    else {
        return text;
    };
    // The info string (`rust`) ends at the first newline.
    let code = body.split_once('\n').map_or("", |(_, code)| code);
    code.strip_suffix('\n').unwrap_or(code)
}
