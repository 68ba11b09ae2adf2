//! A scripted editor on top of `TestClient`: it keeps its own buffers, answers
//! the server's requests the way a real editor does (applies `workspace/applyEdit`
//! to its buffers and reports each change with a versioned `didChange`, accepts
//! progress tokens, answers `showMessageRequest` as the test says), and records
//! every notification it is shown. Tests then assert what a user would see.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::client::{file_uri, TestClient};

/// How the editor answers a `window/showMessageRequest`.
#[derive(Clone, Debug)]
pub enum Answer {
    /// Picks the action with this title.
    Pick(&'static str),
    /// Dismisses the prompt (`null`).
    Dismiss,
    /// Never answers (the user walked away).
    Ignore,
}

/// How the editor treats a `workspace/applyEdit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyMode {
    /// Applies it if the versions match, else refuses (VS Code, Helix).
    Strict,
    /// Drops a stale edit but answers `applied: true` (Neovim 0.7).
    DropStaleButSayApplied,
    /// Never answers (a hung editor); the request is kept in `ignored`.
    Hold,
    /// Applies nothing and answers `applied: false` with no reason (VS Code
    /// when the user cancels its Refactor Preview).
    Decline,
    /// Applies nothing and answers with the wrong shape (`applied` a string).
    Malformed,
}

/// An open buffer.
#[derive(Clone, Debug)]
pub struct Buffer {
    pub text: String,
    pub version: i32,
}

/// Something the editor was shown or asked.
#[derive(Clone, Debug)]
pub struct Shown {
    pub method: String,
    pub params: Value,
}

/// A hook run when an applyEdit arrives, before it is applied: the test plays
/// the user typing at that moment.
pub type BeforeApply = Box<dyn FnMut(&Value) -> Vec<(String, Value)> + Send>;

pub struct Editor {
    pub client: TestClient,
    pub buffers: BTreeMap<String, Buffer>,
    /// Notifications and requests from the server, in order.
    pub shown: Vec<Shown>,
    pub answers: VecDeque<Answer>,
    pub apply_mode: ApplyMode,
    /// Edits the editor received (their params), in order.
    pub apply_requests: Vec<Value>,
    before_apply: Option<BeforeApply>,
    /// Server requests left unanswered on purpose (`Answer::Ignore`).
    pub ignored: Vec<Value>,
    /// Plays a preview where the user unticks some edits: the text edits for
    /// which it returns true are left out, and the answer is `applied: true`
    /// all the same (as VS Code answers).
    pub untick: Option<fn(&Value) -> bool>,
}

impl Editor {
    pub fn new(client: TestClient) -> Editor {
        Editor {
            client,
            buffers: BTreeMap::new(),
            shown: Vec::new(),
            answers: VecDeque::new(),
            apply_mode: ApplyMode::Strict,
            apply_requests: Vec::new(),
            before_apply: None,
            ignored: Vec::new(),
            untick: None,
        }
    }

    /// Runs `hook` on the next applyEdit before applying it; the returned
    /// `(uri, contentChange)` pairs are typed by the user first.
    pub fn before_next_apply(&mut self, hook: BeforeApply) {
        self.before_apply = Some(hook);
    }

    pub async fn open(&mut self, path: &Path, language_id: &str, text: &str) -> String {
        let uri = file_uri(path);
        self.client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": language_id, "version": 1, "text": text}}),
            )
            .await;
        self.buffers.insert(
            uri.clone(),
            Buffer {
                text: text.to_string(),
                version: 1,
            },
        );
        uri
    }

    /// The user closes the buffer of `uri` (unsaved text and all).
    pub async fn close(&mut self, uri: &str) {
        self.client
            .notify(
                "textDocument/didClose",
                json!({"textDocument": {"uri": uri}}),
            )
            .await;
        self.buffers.remove(uri);
    }

    /// The user types: one incremental change (`{range, text}`).
    pub async fn type_change(&mut self, uri: &str, change: Value) {
        let buffer = self
            .buffers
            .get_mut(uri)
            .expect("typing into an open buffer");
        buffer.text = apply_change(&buffer.text, &change);
        buffer.version += 1;
        let version = buffer.version;
        self.client
            .notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}),
            )
            .await;
    }

    pub fn text(&self, uri: &str) -> &str {
        &self.buffers.get(uri).expect("an open buffer").text
    }

    /// Sends a request and serves the server (applyEdit, prompts…) until its
    /// response arrives.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.client.send_request(method, params).await;
        self.serve_until(|message| message.get("method").is_none() && message["id"] == json!(id))
            .await
    }

    /// Serves the server until a message matches; returns it.
    pub async fn serve_until(&mut self, mut done: impl FnMut(&Value) -> bool) -> Value {
        loop {
            let message = self.client.recv().await;
            if done(&message) {
                self.record(&message);
                return message;
            }
            self.handle(message).await;
        }
    }

    /// Serves the server until it shows a message containing `needle`.
    pub async fn until_message(&mut self, needle: &str) -> String {
        let found = self
            .serve_until(|message| {
                message["method"] == "window/showMessage"
                    && message["params"]["message"]
                        .as_str()
                        .is_some_and(|text| text.contains(needle))
            })
            .await;
        found["params"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Messages shown with `window/showMessage`, in order.
    pub fn messages(&self) -> Vec<String> {
        self.shown
            .iter()
            .filter(|shown| shown.method == "window/showMessage")
            .map(|shown| {
                shown.params["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    /// Everything shown with this method.
    pub fn shown(&self, method: &str) -> Vec<Value> {
        self.shown
            .iter()
            .filter(|shown| shown.method == method)
            .map(|shown| shown.params.clone())
            .collect()
    }

    fn record(&mut self, message: &Value) {
        if let Some(method) = message["method"].as_str() {
            self.shown.push(Shown {
                method: method.to_string(),
                params: message["params"].clone(),
            });
        }
    }

    async fn handle(&mut self, message: Value) {
        self.record(&message);
        let Some(method) = message["method"].as_str() else {
            return;
        };
        let Some(id) = message.get("id").cloned() else {
            return;
        };
        match method {
            "window/workDoneProgress/create" => self.client.respond(&id, Value::Null).await,
            "window/showMessageRequest" => match self.answers.pop_front() {
                Some(Answer::Pick(title)) => {
                    self.client.respond(&id, json!({ "title": title })).await
                }
                Some(Answer::Dismiss) => self.client.respond(&id, Value::Null).await,
                Some(Answer::Ignore) | None => self.ignored.push(message.clone()),
            },
            "window/showDocument" => self.client.respond(&id, json!({"success": true})).await,
            "workspace/applyEdit" if self.apply_mode == ApplyMode::Hold => {
                self.apply_requests.push(message["params"].clone());
                self.ignored.push(message.clone());
            }
            "workspace/applyEdit" if self.apply_mode == ApplyMode::Decline => {
                self.apply_requests.push(message["params"].clone());
                self.client.respond(&id, json!({"applied": false})).await;
            }
            "workspace/applyEdit" if self.apply_mode == ApplyMode::Malformed => {
                self.apply_requests.push(message["params"].clone());
                self.client.respond(&id, json!({"applied": "yes"})).await;
            }
            "workspace/applyEdit" => {
                self.apply_requests.push(message["params"].clone());
                if let Some(mut hook) = self.before_apply.take() {
                    for (uri, change) in hook(&message["params"]) {
                        self.type_change(&uri, change).await;
                    }
                }
                let outcome = self.apply_edit(&message["params"]["edit"]).await;
                let result = match outcome {
                    Ok(()) => json!({"applied": true}),
                    Err(reason) => json!({"applied": false, "failureReason": reason}),
                };
                self.client.respond(&id, result).await;
            }
            other => panic!("the test editor does not handle {other}: {message}"),
        }
    }

    /// Applies a WorkspaceEdit's documentChanges as an editor would: text edits to
    /// open buffers (each reported by a didChange), resource operations on disk.
    async fn apply_edit(&mut self, edit: &Value) -> Result<(), String> {
        let changes = edit["documentChanges"]
            .as_array()
            .ok_or("the edit has no documentChanges")?;
        for change in changes {
            match change["kind"].as_str() {
                Some("create") => {
                    let path = path_of(&change["uri"]);
                    if path.exists() {
                        return Err(format!("{} exists", path.display()));
                    }
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(&path, "").unwrap();
                }
                Some("rename") => {
                    let from = path_of(&change["oldUri"]);
                    let to = path_of(&change["newUri"]);
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    std::fs::rename(&from, &to).map_err(|error| error.to_string())?;
                    let old_uri = change["oldUri"].as_str().unwrap().to_string();
                    if let Some(buffer) = self.buffers.get(&old_uri).cloned() {
                        self.close(&old_uri).await;
                        std::fs::write(&to, &buffer.text).unwrap();
                        self.open(&to, "rust", &buffer.text).await;
                    }
                }
                Some("delete") => {
                    let path = path_of(&change["uri"]);
                    std::fs::remove_file(&path).map_err(|error| error.to_string())?;
                }
                _ => self.apply_text_edit(change).await?,
            }
        }
        Ok(())
    }

    async fn apply_text_edit(&mut self, change: &Value) -> Result<(), String> {
        let uri = change["textDocument"]["uri"].as_str().unwrap().to_string();
        let version = change["textDocument"]["version"].as_i64();
        let mut edits = change["edits"].as_array().cloned().unwrap_or_default();
        if let Some(untick) = self.untick {
            edits.retain(|edit| !untick(edit));
            if edits.is_empty() {
                return Ok(());
            }
        }
        let Some(buffer) = self.buffers.get(&uri).cloned() else {
            // Not open: the editor edits the file on disk.
            let path = path_of(&json!(uri));
            let text = std::fs::read_to_string(&path).map_err(|error| error.to_string())?;
            std::fs::write(&path, apply_edits(&text, &edits)).unwrap();
            return Ok(());
        };
        if let Some(version) = version {
            if version != i64::from(buffer.version) {
                return match self.apply_mode {
                    // `Hold`, `Decline` and `Malformed` never get here: their
                    // edits are not applied.
                    ApplyMode::Strict
                    | ApplyMode::Hold
                    | ApplyMode::Decline
                    | ApplyMode::Malformed => Err(format!(
                        "version {version} of {uri} is stale: the buffer is at {}",
                        buffer.version
                    )),
                    ApplyMode::DropStaleButSayApplied => Ok(()),
                };
            }
        }
        let text = apply_edits(&buffer.text, &edits);
        let entry = self.buffers.get_mut(&uri).unwrap();
        entry.text = text.clone();
        entry.version += 1;
        let version = entry.version;
        // Editors report an applied edit as a didChange; full text keeps the
        // scripted editor simple and is as valid as incremental changes.
        self.client
            .notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
            )
            .await;
        Ok(())
    }
}

fn path_of(uri: &Value) -> PathBuf {
    let uri = uri.as_str().expect("a uri");
    PathBuf::from(uri.strip_prefix("file://").expect("a file uri"))
}

/// Byte offset of an LSP position in ASCII text (the tests use ASCII).
fn offset(text: &str, position: &Value) -> usize {
    let line = position["line"].as_u64().unwrap() as usize;
    let character = position["character"].as_u64().unwrap() as usize;
    let mut start = 0;
    for _ in 0..line {
        match text[start..].find('\n') {
            Some(newline) => start += newline + 1,
            None => return text.len(),
        }
    }
    let line_end = text[start..]
        .find('\n')
        .map_or(text.len(), |end| start + end);
    (start + character).min(line_end)
}

fn apply_change(text: &str, change: &Value) -> String {
    match change.get("range") {
        Some(range) => {
            let start = offset(text, &range["start"]);
            let end = offset(text, &range["end"]);
            format!(
                "{}{}{}",
                &text[..start],
                change["text"].as_str().unwrap(),
                &text[end..]
            )
        }
        None => change["text"].as_str().unwrap().to_string(),
    }
}

/// Applies non-overlapping edits, all relative to `text`, last first.
fn apply_edits(text: &str, edits: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|edit| {
            (
                offset(text, &edit["range"]["start"]),
                offset(text, &edit["range"]["end"]),
                edit["newText"].as_str().unwrap(),
            )
        })
        .collect();
    spans.sort_by_key(|span| std::cmp::Reverse(span.0));
    let mut out = text.to_string();
    for (start, end, new_text) in spans {
        out.replace_range(start..end, new_text);
    }
    out
}
