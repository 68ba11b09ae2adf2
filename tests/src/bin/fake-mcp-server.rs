//! A small MCP server over stdio (newline-delimited JSON-RPC, written by hand
//! so it can misbehave) for the fault cases of tests/tests/mcp.rs. Its tools:
//!
//! - `echo {message}`: answers `fake echo: <message>`;
//! - `crash`: exits in the middle of the call, without answering;
//! - `garbage`: answers with a line that is not JSON-RPC, then a response
//!   that is neither a result nor an error;
//! - `big`: answers 10 MB of text;
//! - `hang`: never answers;
//! - `grow`: adds the tool `late` and announces that the tool list changed.
//!
//! `--exit-at-start` exits before the handshake, saying why on stderr;
//! `--garbage-at-start` answers the handshake with garbage and then hangs.

#![allow(clippy::print_stderr)] // A test server: stderr is its log, as for a real one.

use std::io::{BufRead, Write};

use serde_json::{json, Value};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|arg| arg == name);
    eprintln!("fake-mcp-server: started");
    if flag("--exit-at-start") {
        eprintln!("fake-mcp-server: told to exit at start");
        std::process::exit(7);
    }
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    let mut grown = false;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            eprintln!("fake-mcp-server: not JSON: {line}");
            continue;
        };
        let method = message["method"].as_str().unwrap_or_default();
        let id = message.get("id").cloned();
        let answer = |stdout: &mut std::io::StdoutLock<'_>, result: Value| {
            let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
            writeln!(stdout, "{reply}").and_then(|()| stdout.flush())
        };
        let written = match method {
            "initialize" => {
                if flag("--garbage-at-start") {
                    let _ = writeln!(stdout, "Hello! This is not JSON-RPC.");
                    let _ = stdout.flush();
                    loop {
                        std::thread::park();
                    }
                }
                answer(
                    &mut stdout,
                    json!({
                        "protocolVersion": message["params"]["protocolVersion"],
                        "capabilities": {"tools": {"listChanged": true}},
                        "serverInfo": {"name": "fake-mcp-server", "version": "1.0.0"}
                    }),
                )
            }
            "tools/list" => answer(&mut stdout, json!({ "tools": tools(grown) })),
            "tools/call" => {
                let name = message["params"]["name"].as_str().unwrap_or_default();
                let arguments = &message["params"]["arguments"];
                match name {
                    "echo" => answer(
                        &mut stdout,
                        text(&format!(
                            "fake echo: {}",
                            arguments["message"].as_str().unwrap_or_default()
                        )),
                    ),
                    "late" => answer(&mut stdout, text("late tool called")),
                    "crash" => {
                        eprintln!("fake-mcp-server: crashing mid-call");
                        std::process::exit(3);
                    }
                    "garbage" => {
                        let _ = writeln!(stdout, "}}{{ not json-rpc at all");
                        let reply = json!({"jsonrpc": "2.0", "id": id});
                        writeln!(stdout, "{reply}").and_then(|()| stdout.flush())
                    }
                    "big" => answer(&mut stdout, text(&"0123456789abcdef".repeat(655_360))),
                    "hang" => Ok(()),
                    "grow" => {
                        grown = true;
                        let changed =
                            json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"});
                        let _ = writeln!(stdout, "{changed}");
                        answer(&mut stdout, text("the tool `late` was added"))
                    }
                    other => {
                        let reply = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": format!("no tool {other}")}});
                        writeln!(stdout, "{reply}").and_then(|()| stdout.flush())
                    }
                }
            }
            "ping" => answer(&mut stdout, json!({})),
            _ if id.is_some() => {
                let reply = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("no method {method}")}});
                writeln!(stdout, "{reply}").and_then(|()| stdout.flush())
            }
            _ => Ok(()),
        };
        if written.is_err() {
            return;
        }
    }
}

fn text(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

fn tools(grown: bool) -> Vec<Value> {
    let object = |properties: Value| json!({"type": "object", "properties": properties});
    let mut tools = vec![
        json!({"name": "echo", "description": "Echo the message back.", "inputSchema": object(json!({"message": {"type": "string"}}))}),
        json!({"name": "crash", "description": "Exit during the call.", "inputSchema": object(json!({}))}),
        json!({"name": "garbage", "description": "Answer with garbage.", "inputSchema": object(json!({}))}),
        json!({"name": "big", "description": "Answer 10 MB.", "inputSchema": object(json!({}))}),
        json!({"name": "hang", "description": "Never answer.", "inputSchema": object(json!({}))}),
        json!({"name": "grow", "description": "Add a tool.", "inputSchema": object(json!({}))}),
    ];
    if grown {
        tools.push(
            json!({"name": "late", "description": "Added late.", "inputSchema": object(json!({}))}),
        );
    }
    tools
}
