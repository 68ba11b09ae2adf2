#!/usr/bin/env python3
"""A language server that only publishes diagnostics: the "failing test" of the
Fix-this scenario, as rust-analyzer or a test runner would show it. The real-Helix
test configures it as the rust language's first server, so that Helix holds a
diagnostic from another server than agentls, as users have.

The diagnostic comes from the environment: AGENTLS_TEST_DIAGNOSTIC is the JSON of
one LSP Diagnostic, published for every document opened or changed."""
import json
import os
import sys

DIAGNOSTIC = json.loads(os.environ["AGENTLS_TEST_DIAGNOSTIC"])


def read():
    length = None
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return json.loads(sys.stdin.buffer.read(length))


def send(message):
    body = json.dumps(message).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()


def publish(uri, version):
    send({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
          "params": {"uri": uri, "version": version, "diagnostics": [DIAGNOSTIC]}})


while True:
    message = read()
    if message is None:
        break
    method = message.get("method")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": message["id"], "result": {
            "capabilities": {"textDocumentSync": 1},
            "serverInfo": {"name": "test-diagnostics"}}})
    elif method == "shutdown":
        send({"jsonrpc": "2.0", "id": message["id"], "result": None})
    elif method == "exit":
        break
    elif method == "textDocument/didOpen":
        document = message["params"]["textDocument"]
        publish(document["uri"], document["version"])
    elif method == "textDocument/didChange":
        document = message["params"]["textDocument"]
        publish(document["uri"], document["version"])
    elif "id" in message:
        send({"jsonrpc": "2.0", "id": message["id"],
              "error": {"code": -32601, "message": "method not found"}})
