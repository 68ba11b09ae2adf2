//! The languages agentls parses with tree-sitter, named once so that the server's
//! document store and context selection agree on what a file is.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A language with a tree-sitter grammar linked into agentls. Anything else is
/// handled as plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Language {
    Rust,
    Python,
    /// `.ts` files; `.tsx` needs its own grammar ([`Language::Tsx`]).
    TypeScript,
    Tsx,
    /// Includes JSX: the JavaScript grammar parses both.
    JavaScript,
    Go,
    Bash,
}

impl Language {
    /// Every language, in declaration order.
    pub const ALL: [Language; 7] = [
        Language::Rust,
        Language::Python,
        Language::TypeScript,
        Language::Tsx,
        Language::JavaScript,
        Language::Go,
        Language::Bash,
    ];

    /// The language of an LSP `languageId` (the identifiers the LSP specification
    /// lists under `TextDocumentItem`), or `None` for one without a grammar here.
    pub fn from_language_id(language_id: &str) -> Option<Language> {
        match language_id {
            "rust" => Some(Language::Rust),
            "python" => Some(Language::Python),
            "typescript" => Some(Language::TypeScript),
            "typescriptreact" => Some(Language::Tsx),
            "javascript" | "javascriptreact" => Some(Language::JavaScript),
            "go" => Some(Language::Go),
            // VS Code says "shellscript"; Helix and Neovim say "bash" or "sh".
            "shellscript" | "sh" | "bash" => Some(Language::Bash),
            _ => None,
        }
    }

    /// The language of a file, from its extension (case-insensitive), or `None`.
    pub fn from_path(path: &Path) -> Option<Language> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "rs" => Some(Language::Rust),
            "py" | "pyi" => Some(Language::Python),
            "ts" | "mts" | "cts" => Some(Language::TypeScript),
            "tsx" => Some(Language::Tsx),
            "js" | "mjs" | "cjs" | "jsx" => Some(Language::JavaScript),
            "go" => Some(Language::Go),
            "sh" | "bash" => Some(Language::Bash),
            _ => None,
        }
    }

    /// The tree-sitter grammar of this language.
    pub fn tree_sitter_language(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Bash => tree_sitter_bash::LANGUAGE.into(),
        }
    }

    /// A lowercase name that is also the Markdown code-fence tag of the language,
    /// so prompts can fence code with it.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::JavaScript => "javascript",
            Language::Go => "go",
            Language::Bash => "bash",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_ids_map_to_languages() {
        let cases = [
            ("rust", Some(Language::Rust)),
            ("python", Some(Language::Python)),
            ("typescript", Some(Language::TypeScript)),
            ("typescriptreact", Some(Language::Tsx)),
            ("javascript", Some(Language::JavaScript)),
            ("javascriptreact", Some(Language::JavaScript)),
            ("go", Some(Language::Go)),
            ("shellscript", Some(Language::Bash)),
            ("sh", Some(Language::Bash)),
            ("bash", Some(Language::Bash)),
            ("plaintext", None),
            ("Rust", None),
            ("", None),
        ];
        for (language_id, expected) in cases {
            assert_eq!(
                Language::from_language_id(language_id),
                expected,
                "{language_id:?}"
            );
        }
    }

    #[test]
    fn extensions_map_to_languages() {
        let cases = [
            ("src/main.rs", Some(Language::Rust)),
            ("a.py", Some(Language::Python)),
            ("stubs/a.pyi", Some(Language::Python)),
            ("a.ts", Some(Language::TypeScript)),
            ("a.mts", Some(Language::TypeScript)),
            ("a.cts", Some(Language::TypeScript)),
            ("a.d.ts", Some(Language::TypeScript)),
            ("App.tsx", Some(Language::Tsx)),
            ("a.js", Some(Language::JavaScript)),
            ("a.mjs", Some(Language::JavaScript)),
            ("a.cjs", Some(Language::JavaScript)),
            ("App.jsx", Some(Language::JavaScript)),
            ("main.go", Some(Language::Go)),
            ("build.sh", Some(Language::Bash)),
            ("env.bash", Some(Language::Bash)),
            ("MAIN.RS", Some(Language::Rust)),
            ("README.md", None),
            ("Makefile", None),
            (".rs", None),
            ("", None),
        ];
        for (path, expected) in cases {
            assert_eq!(Language::from_path(Path::new(path)), expected, "{path:?}");
        }
    }

    #[test]
    fn every_grammar_loads_and_parses() {
        let snippets = [
            (Language::Rust, "fn main() { let x = 1; }"),
            (Language::Python, "def f(x):\n    return x\n"),
            (Language::TypeScript, "const x: number = 1;"),
            (Language::Tsx, "const a = <div>{x}</div>;"),
            (Language::JavaScript, "const a = <div>{x}</div>;"),
            (Language::Go, "package main\nfunc main() {}\n"),
            (Language::Bash, "echo \"$HOME\" | wc -c\n"),
        ];
        assert_eq!(snippets.len(), Language::ALL.len());
        for (language, source) in snippets {
            let mut parser = tree_sitter::Parser::new();
            parser
                .set_language(&language.tree_sitter_language())
                .unwrap_or_else(|error| panic!("{language}: {error}"));
            let tree = parser.parse(source, None).expect("no cancellation was set");
            assert!(
                !tree.root_node().has_error(),
                "{language}: {}",
                tree.root_node().to_sexp()
            );
        }
    }

    #[test]
    fn names_are_lowercase_and_distinct() {
        let mut names: Vec<&str> = Language::ALL
            .iter()
            .map(|language| language.name())
            .collect();
        assert!(names.iter().all(|name| *name == name.to_ascii_lowercase()));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Language::ALL.len());
    }
}
