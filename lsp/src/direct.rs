//! Requests the transport answers without tower-lsp-server's router: the ones
//! editors send on every cursor move (VS Code asks for code actions each time
//! the cursor stops), whose handlers answer at once from a document snapshot.
//!
//! The router reads a message into a `serde_json::Value`, then into its
//! `Request`, then the params into their type, and turns the handler's answer
//! into a `Value` before it is written out: five passes over JSON trees of
//! ordered maps, each key hashed, for an answer of a few hundred bytes. Here the
//! params are read from the frame's bytes into their type in one pass, and the
//! answer is written to bytes in one pass (docs/benchmarks.md, "2026-12-06,
//! stop 24").
//!
//! Nothing changes for anything unusual: a frame that is not exactly a
//! JSON-RPC 2.0 request of a method listed here, with params its type accepts,
//! is handed to the router, which answers it (and its errors) as before. The
//! transport uses this lane only between `initialize` and `shutdown`, the
//! router's own rule for requests. Unlike the router, the lane does not
//! register the request for `$/cancelRequest`: it is answered before the next
//! frame is read, so there is nothing left to cancel.

use std::borrow::Cow;

use lsp_types::CodeActionParams;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_lsp_server::jsonrpc::{Error, Id, Result};

/// What a server answers on the direct lane: the same handlers its
/// `LanguageServer` methods call, their answers written as they are (the
/// router's method turns them into `lsp_types`' answer first).
pub(crate) trait Direct {
    /// Written as `Option<CodeActionResponse>` is.
    type CodeActions: Serialize;

    fn code_action(&self, params: CodeActionParams) -> Result<Self::CodeActions>;
}

/// The methods the lane takes, as they appear in a frame.
const CODE_ACTION: &str = "textDocument/codeAction";

/// Larger frames go to the router: a code action request is a few hundred
/// bytes, and the look for its method should not scan a whole file's didOpen.
const MAX_DIRECT_FRAME: usize = 64 * 1024;

/// The answer's bytes, or `None` when the router should have the frame.
pub(crate) fn answer(server: &impl Direct, body: &[u8]) -> Option<Vec<u8>> {
    // A cheap look first: most frames (didChange, didOpen with a whole file)
    // are not for this lane and must not be parsed twice.
    if body.len() <= MAX_DIRECT_FRAME
        && memchr::memmem::find(body, CODE_ACTION.as_bytes()).is_some()
    {
        return call(body, CODE_ACTION, |params| server.code_action(params));
    }
    None
}

#[derive(Deserialize)]
struct Call<'a, P> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    id: Id,
    params: P,
}

/// Tower-lsp-server's field order: `jsonrpc`, the outcome, `id`.
#[derive(Serialize)]
struct Answered<'a, R> {
    jsonrpc: &'static str,
    result: &'a R,
    id: &'a Id,
}

#[derive(Serialize)]
struct Failed<'a> {
    jsonrpc: &'static str,
    error: &'a Error,
    id: &'a Id,
}

fn call<P: DeserializeOwned, R: Serialize>(
    body: &[u8],
    method: &str,
    handle: impl FnOnce(P) -> Result<R>,
) -> Option<Vec<u8>> {
    let call: Call<'_, P> = serde_json::from_slice(body).ok()?;
    if call.jsonrpc != "2.0" || call.method != method {
        return None;
    }
    tracing::trace!(%method, "incoming, direct");
    let written = match handle(call.params) {
        Ok(result) => serde_json::to_vec(&Answered {
            jsonrpc: "2.0",
            result: &result,
            id: &call.id,
        }),
        Err(error) => serde_json::to_vec(&Failed {
            jsonrpc: "2.0",
            error: &error,
            id: &call.id,
        }),
    };
    match written {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            // Serialising our own types does not fail; should it, the router
            // answers the request instead.
            tracing::error!(%error, %method, "could not serialise a direct answer");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use lsp_types::{CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionResponse, Command};
    use serde_json::json;
    use tower_lsp_server::jsonrpc::{ErrorCode, Response};

    use super::*;

    /// Answers as the real handler does: actions with commands and object
    /// arguments, or an error for a document it does not know.
    struct Fixed;

    impl Direct for Fixed {
        type CodeActions = Option<CodeActionResponse>;

        fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
            if params.text_document.uri.as_str().ends_with("unknown.rs") {
                return Err(Error {
                    code: ErrorCode::InvalidParams,
                    message: "unknown document".into(),
                    data: None,
                });
            }
            let argument = json!({
                "uri": params.text_document.uri.as_str(),
                "range": params.range,
                "diagnostics": [],
            });
            Ok(Some(vec![CodeActionOrCommand::CodeAction(CodeAction {
                title: "Agent: Explain".to_string(),
                kind: Some(CodeActionKind::REFACTOR_REWRITE),
                command: Some(Command {
                    title: "Agent: Explain".to_string(),
                    command: "agentls.explain".to_string(),
                    arguments: Some(vec![argument]),
                }),
                ..Default::default()
            })]))
        }
    }

    fn request(id: serde_json::Value, uri: &str) -> Vec<u8> {
        json!({
            "jsonrpc": "2.0", "id": id, "method": CODE_ACTION,
            "params": {
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 1, "character": 2}, "end": {"line": 3, "character": 4}},
                "context": {"diagnostics": []}
            }
        })
        .to_string()
        .into_bytes()
    }

    /// What tower-lsp-server's router writes for the same request.
    fn routed(id: Id, body: &[u8]) -> Vec<u8> {
        let params: CodeActionParams = serde_json::from_value(
            serde_json::from_slice::<serde_json::Value>(body).unwrap()["params"].clone(),
        )
        .unwrap();
        let response = match Fixed.code_action(params) {
            Ok(result) => Response::from_ok(id, serde_json::to_value(result).unwrap()),
            Err(error) => Response::from_error(id, error),
        };
        serde_json::to_vec(&response).unwrap()
    }

    #[test]
    fn the_direct_answer_is_byte_for_byte_the_routers() {
        for (id, typed) in [
            (json!(7), Id::Number(7)),
            (json!("seven"), Id::String("seven".to_string())),
        ] {
            for uri in ["file:///known.rs", "file:///unknown.rs"] {
                let body = request(id.clone(), uri);
                let direct = answer(&Fixed, &body).expect("taken by the lane");
                assert_eq!(
                    String::from_utf8(direct).unwrap(),
                    String::from_utf8(routed(typed.clone(), &body)).unwrap(),
                );
            }
        }
    }

    #[test]
    fn frames_the_lane_does_not_take_go_to_the_router() {
        let good = serde_json::from_slice::<serde_json::Value>(&request(json!(1), "file:///a.rs"))
            .unwrap();
        let with = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut message = good.clone();
            edit(&mut message);
            message.to_string().into_bytes()
        };
        let refused = [
            // Params its type does not accept: the router answers -32602.
            with(&|message| message["params"]["textDocument"] = json!(5)),
            with(&|message| message["params"] = json!({})),
            // Not JSON-RPC 2.0: the router answers -32600.
            with(&|message| message["jsonrpc"] = json!("1.0")),
            // A notification of that method has no answer to write.
            with(&|message| {
                message.as_object_mut().unwrap().remove("id");
            }),
            // Another method whose text mentions this one.
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": "file:///a.rs", "version": 2},
                "contentChanges": [{"text": "// textDocument/codeAction"}]
            }})
            .to_string()
            .into_bytes(),
            b"{not json textDocument/codeAction".to_vec(),
            // Past the size the lane looks into: the router answers it.
            with(&|message| {
                message["params"]["context"]["diagnostics"] = json!([{
                    "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 1}},
                    "message": "x".repeat(MAX_DIRECT_FRAME),
                }])
            }),
        ];
        for body in refused {
            assert!(
                answer(&Fixed, &body).is_none(),
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
        assert!(answer(&Fixed, &with(&|_| {})).is_some());
    }
}
