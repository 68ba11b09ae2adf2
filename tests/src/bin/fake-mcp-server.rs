//! A small MCP server over stdio (newline-delimited JSON-RPC, written by hand
//! so it can misbehave) for the fault cases of tests/tests/mcp.rs. Its tools:
//!
//! - `echo {message}`: answers `fake echo: <message>`;
//! - `crash`: exits in the middle of the call, without answering;
//! - `garbage`: answers with a line that is not JSON-RPC, then a response
//!   that is neither a result nor an error;
//! - `big`: answers 10 MB of text;
//! - `hang`: never answers;
//! - `grow`: adds the tool `late` and announces that the tool list changed;
//! - `flood`: writes one 2 MB line and 8 MB of shorter lines to stderr
//!   before it answers (a client that does not read stderr blocks it).
//!
//! `--exit-at-start` exits before the handshake, saying why on stderr;
//! `--garbage-at-start` answers the handshake with garbage and then hangs;
//! `--protocol-version V` answers `initialize` with version `V`;
//! `--bad-schemas` also lists `bad_type` (`"inputSchema": {"type": 5}`) and
//! `bad_properties` (`"properties": "none"`); `--start-delay-ms N` waits N ms
//! before it reads its first message (a server slow to start, for the benches).

#![allow(clippy::print_stderr)] // A test server: stderr is its log, as for a real one.

use std::io::{BufRead, Write};

use serde_json::{json, Value};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|arg| arg == name);
    let value = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|index| args.get(index + 1))
    };
    eprintln!("fake-mcp-server: started");
    if let Some(delay) = value("--start-delay-ms").and_then(|ms| ms.parse().ok()) {
        // Stands for a server that takes this long to start (node loading its
        // modules); the client's messages wait in the pipe meanwhile.
        std::thread::sleep(std::time::Duration::from_millis(delay));
    }
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
                        "protocolVersion": value("--protocol-version")
                            .map_or(message["params"]["protocolVersion"].clone(), |version| json!(version)),
                        "capabilities": {"tools": {"listChanged": true}},
                        "serverInfo": {"name": "fake-mcp-server", "version": "1.0.0"}
                    }),
                )
            }
            "tools/list" => answer(
                &mut stdout,
                json!({ "tools": tools(grown, flag("--bad-schemas")) }),
            ),
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
                    "flood" => {
                        let mut stderr = std::io::stderr().lock();
                        let line = format!("fake-mcp-server: flood {}\n", "x".repeat(1000));
                        let _ = stderr.write_all("y".repeat(2_000_000).as_bytes());
                        let _ = stderr.write_all(b"\n");
                        for _ in 0..8_000 {
                            let _ = stderr.write_all(line.as_bytes());
                        }
                        let _ = stderr.write_all(b"fake-mcp-server: flood over\n");
                        drop(stderr);
                        answer(&mut stdout, text("flooded"))
                    }
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

fn tools(grown: bool, bad_schemas: bool) -> Vec<Value> {
    let object = |properties: Value| json!({"type": "object", "properties": properties});
    let mut tools = vec![
        json!({"name": "echo", "description": "Echo the message back.", "inputSchema": object(json!({"message": {"type": "string"}}))}),
        json!({"name": "crash", "description": "Exit during the call.", "inputSchema": object(json!({}))}),
        json!({"name": "garbage", "description": "Answer with garbage.", "inputSchema": object(json!({}))}),
        json!({"name": "big", "description": "Answer 10 MB.", "inputSchema": object(json!({}))}),
        json!({"name": "hang", "description": "Never answer.", "inputSchema": object(json!({}))}),
        json!({"name": "grow", "description": "Add a tool.", "inputSchema": object(json!({}))}),
        json!({"name": "flood", "description": "Flood stderr.", "inputSchema": object(json!({}))}),
    ];
    if bad_schemas {
        tools.push(json!({"name": "bad_type", "description": "A schema of type 5.", "inputSchema": {"type": 5}}));
        tools.push(json!({"name": "bad_properties", "description": "Properties that are not an object.", "inputSchema": {"type": "object", "properties": "none"}}));
    }
    if grown {
        tools.push(
            json!({"name": "late", "description": "Added late.", "inputSchema": object(json!({}))}),
        );
    }
    tools
}
