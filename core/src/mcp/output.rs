//! A tool call's result as the model reads it: the text of its content blocks,
//! other blocks described in a line, within a budget (head and tail kept, the
//! cut said), so a 10 MB result costs the context no more than a long command
//! output.

use serde_json::Value;

/// The most of one MCP result the model reads.
pub(crate) const MCP_OUTPUT_BUDGET: usize = 32 * 1024;

/// The text of `result` for the model, and whether the tool reported an error.
pub(crate) fn result_text(result: &rmcp::model::CallToolResult) -> (String, bool) {
    let mut parts = Vec::new();
    for block in &result.content {
        let value = serde_json::to_value(block).unwrap_or(Value::Null);
        parts.push(block_text(&value));
    }
    if parts.is_empty() {
        if let Some(structured) = &result.structured_content {
            parts.push(structured.to_string());
        }
    }
    let text = parts.join("\n");
    (
        truncate(&text, MCP_OUTPUT_BUDGET),
        result.is_error == Some(true),
    )
}

/// One content block: its text, or a line saying what it is.
fn block_text(block: &Value) -> String {
    let field = |name: &str| block.get(name).and_then(Value::as_str).unwrap_or_default();
    match field("type") {
        "text" => field("text").to_string(),
        "image" | "audio" => format!(
            "[{} content, {}, {} bytes of base64]",
            field("type"),
            field("mimeType"),
            field("data").len()
        ),
        "resource" => {
            let resource = block.get("resource").unwrap_or(&Value::Null);
            let uri = resource.get("uri").and_then(Value::as_str).unwrap_or("");
            match resource.get("text").and_then(Value::as_str) {
                Some(text) => format!("[resource {uri}]\n{text}"),
                None => format!("[binary resource {uri}]"),
            }
        }
        "resource_link" => format!("[resource link {}]", field("uri")),
        other => format!("[{other} content]"),
    }
}

/// `text` within `budget` bytes: its head and tail, the middle replaced by a
/// line saying how much was left out.
pub(crate) fn truncate(text: &str, budget: usize) -> String {
    if text.len() <= budget {
        return text.to_string();
    }
    let half = budget / 2;
    let mut head_end = half;
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = text.len() - half;
    while !text.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    format!(
        "{}\n[… {} bytes of the result left out …]\n{}",
        &text[..head_end],
        tail_start - head_end,
        &text[tail_start..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_results_are_read_as_text_within_the_budget() {
        let result: rmcp::model::CallToolResult = serde_json::from_value(serde_json::json!({
            "content": [
                {"type": "text", "text": "Echo: hi"},
                {"type": "image", "data": "aGVsbG8=", "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "inside"}}
            ],
            "isError": false
        }))
        .unwrap();
        let (text, is_error) = result_text(&result);
        assert!(!is_error);
        expect_test::expect![[r#"
            Echo: hi
            [image content, image/png, 8 bytes of base64]
            [resource file:///a.txt]
            inside"#]]
        .assert_eq(&text);

        let long = "é".repeat(100_000);
        let cut = truncate(&long, 1000);
        assert!(cut.len() < 1100, "{}", cut.len());
        assert!(cut.contains("bytes of the result left out"));
    }
}
