//! The diagnostics clients sent in earlier `codeAction` contexts, per document
//! version. Helix sends only the diagnostics that overlap the cursor's columns,
//! so with the cursor at the start of a line whose error is further right it
//! sends none; remembering what it (or any client) sent for this version lets
//! "Agent: Fix this" be offered for the whole line. An edit makes a new version
//! and the memory of the old one goes: positions would no longer match.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lsp_types::{Diagnostic, Uri};

use crate::state::lock;

/// At most this many diagnostics are kept per document.
const MAX_PER_DOCUMENT: usize = 256;

/// A document's version and the diagnostics seen for it.
type Seen = (i32, Vec<Diagnostic>);

#[derive(Clone, Default)]
pub(crate) struct SeenDiagnostics {
    documents: Arc<Mutex<HashMap<Uri, Seen>>>,
}

impl SeenDiagnostics {
    /// Takes in the diagnostics of a `codeAction` context for `version`.
    pub(crate) fn remember(&self, uri: &Uri, version: i32, diagnostics: &[Diagnostic]) {
        let mut documents = lock(&self.documents);
        // Asked on every cursor move, mostly with nothing new: no copy of the
        // URI unless this is the document's first entry.
        if diagnostics.is_empty()
            && documents
                .get(uri)
                .is_some_and(|(seen_version, _)| *seen_version == version)
        {
            return;
        }
        let entry = documents
            .entry(uri.clone())
            .or_insert_with(|| (version, Vec::new()));
        if entry.0 != version {
            *entry = (version, Vec::new());
        }
        for diagnostic in diagnostics {
            if entry.1.len() >= MAX_PER_DOCUMENT {
                break;
            }
            if !entry.1.contains(diagnostic) {
                entry.1.push(diagnostic.clone());
            }
        }
    }

    /// The diagnostics seen for `version` that touch lines `first..=last`.
    pub(crate) fn on_lines(
        &self,
        uri: &Uri,
        version: i32,
        first: u32,
        last: u32,
    ) -> Vec<Diagnostic> {
        let documents = lock(&self.documents);
        match documents.get(uri) {
            Some((seen_version, diagnostics)) if *seen_version == version => diagnostics
                .iter()
                .filter(|diagnostic| {
                    diagnostic.range.start.line <= last && diagnostic.range.end.line >= first
                })
                .cloned()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The document was closed.
    pub(crate) fn forget(&self, uri: &Uri) {
        lock(&self.documents).remove(uri);
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use lsp_types::{Position, Range};

    use super::*;

    fn at(line: u32, start: u32, end: u32, message: &str) -> Diagnostic {
        Diagnostic {
            range: Range::new(Position::new(line, start), Position::new(line, end)),
            message: message.to_string(),
            ..Diagnostic::default()
        }
    }

    #[test]
    fn a_diagnostic_seen_once_is_offered_for_its_line_until_the_next_version() {
        let uri = Uri::from_str("file:///w/calc.py").unwrap();
        let seen = SeenDiagnostics::default();
        let error = at(4, 11, 14, "unsupported operand");
        seen.remember(&uri, 3, std::slice::from_ref(&error));
        seen.remember(&uri, 3, std::slice::from_ref(&error));
        assert_eq!(seen.on_lines(&uri, 3, 4, 4), vec![error.clone()]);
        assert_eq!(seen.on_lines(&uri, 3, 0, 3), Vec::new());
        // An edit: version 4 knows nothing of version 3's positions.
        assert_eq!(seen.on_lines(&uri, 4, 4, 4), Vec::new());
        seen.remember(&uri, 4, &[]);
        assert_eq!(seen.on_lines(&uri, 3, 4, 4), Vec::new());
        seen.remember(&uri, 4, std::slice::from_ref(&error));
        seen.forget(&uri);
        assert_eq!(seen.on_lines(&uri, 4, 4, 4), Vec::new());
    }
}
