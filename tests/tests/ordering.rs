//! Document notifications apply strictly in arrival order while requests run
//! concurrently: 10,000 incremental edits sent back to back, interleaved with
//! requests, must leave exactly the text an independent reference applier
//! computes.

use agentls_tests::client::TestClient;
use serde_json::json;

/// The reference: a naive applier over UTF-16 positions, written without ropey or
/// any code of the server.
fn utf16_offset_to_byte(text: &str, line: u32, character: u32) -> usize {
    let mut current_line = 0;
    let mut line_start = 0;
    if line > 0 {
        for (index, byte) in text.bytes().enumerate() {
            if byte == b'\n' {
                current_line += 1;
                if current_line == line {
                    line_start = index + 1;
                    break;
                }
            }
        }
    }
    let mut units = 0;
    for (offset, ch) in text[line_start..].char_indices() {
        if units >= character || ch == '\n' {
            return line_start + offset;
        }
        units += ch.len_utf16() as u32;
    }
    text.len()
}

fn position_of_byte(text: &str, byte: usize) -> (u32, u32) {
    let before = &text[..byte];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let character = text[line_start..byte]
        .chars()
        .map(|c| c.len_utf16() as u32)
        .sum();
    (line, character)
}

/// Char boundaries, except those between the \r and \n of a CRLF: LSP has no
/// position there.
fn char_boundaries(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(index, _)| index)
        .chain([text.len()])
        .filter(|&index| index == 0 || text.as_bytes()[index - 1] != b'\r')
        .collect()
}

#[tokio::test]
async fn ten_thousand_edits_interleaved_with_requests_arrive_in_order() {
    let mut rng = fastrand::Rng::with_seed(2024);
    let mut client = TestClient::in_process();
    client.initialize(json!({}), None).await;
    let uri = "file:///stress.rs";
    let mut text = String::from("fn main() {\n    let crab = \"🦀\";\n}\n");
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
        )
        .await;
    let pieces = [
        "a",
        "é",
        "🦀",
        "\n",
        "x̃",
        "let y = 1;",
        "\r\n",
        "}",
        "{",
        " ",
    ];
    let mut request_ids = Vec::new();
    for version in 2..10_002 {
        let boundaries = char_boundaries(&text);
        let start = boundaries[rng.usize(..boundaries.len())];
        let end_candidates: Vec<usize> = boundaries
            .iter()
            .copied()
            .filter(|&b| b >= start && b <= start + 12)
            .collect();
        let end = if text.len() > 4000 || rng.bool() {
            end_candidates[rng.usize(..end_candidates.len())]
        } else {
            start
        };
        let insert = if rng.u8(..4) == 0 {
            ""
        } else {
            pieces[rng.usize(..pieces.len())]
        };
        // The reference works in \n lines only: a "\r\n" insert counts as the
        // break it is, and a lone \r never appears in the pieces.
        let (start_line, start_char) = position_of_byte(&text, start);
        let (end_line, end_char) = position_of_byte(&text, end);
        debug_assert_eq!(utf16_offset_to_byte(&text, start_line, start_char), start);
        text.replace_range(start..end, insert);
        client
            .notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{
                    "range": {"start": {"line": start_line, "character": start_char}, "end": {"line": end_line, "character": end_char}},
                    "text": insert
                }]}),
            )
            .await;
        if version % 50 == 0 {
            // A request in the middle of the stream, about the text as it is now.
            let (last_line, _) = position_of_byte(&text, text.len());
            let id = client
                .send_request(
                    "textDocument/codeAction",
                    json!({"textDocument": {"uri": uri}, "range": {"start": {"line": last_line, "character": 0}, "end": {"line": last_line, "character": 0}}, "context": {"diagnostics": []}}),
                )
                .await;
            request_ids.push(id);
        }
    }
    for id in request_ids {
        let response = client.response(id).await;
        assert!(
            response["result"].is_array(),
            "request {id} failed: {response}"
        );
    }
    let state = client
        .request("agent/documentState", json!({"uri": uri}))
        .await;
    assert_eq!(state["result"]["version"], 10_001);
    assert_eq!(state["result"]["text"].as_str().unwrap(), text);
    // No warnings were shown: every version arrived in order.
    let warnings: Vec<_> = client
        .drain_pending()
        .into_iter()
        .filter(|message| message["method"] == "window/showMessage")
        .collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
}
