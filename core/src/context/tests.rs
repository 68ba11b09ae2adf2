//! Tests through the module's public seam: what the index holds of a file, what
//! the outline shows, what a selection at a `$0` cursor sends the model.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use expect_test::{expect, Expect};

use super::*;
use crate::language::Language;

/// Render what the index keeps of `text`: definitions with their kind, lines,
/// parent, signature, doc lines; then references.
fn render_symbols(path: &str, language: Language, text: &str) -> String {
    let symbols = FileSymbols::extract(Path::new(path), language, text).unwrap();
    let mut out = String::new();
    for definition in &symbols.definitions {
        let parent = definition
            .parent
            .as_deref()
            .map(|parent| format!("{parent}::"))
            .unwrap_or_default();
        let doc = definition
            .doc
            .map(|doc| format!(" doc {doc}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{} {parent}{} {}{doc}: {}",
            definition.kind.name(),
            definition.name,
            definition.lines,
            definition.signature
        )
        .unwrap();
    }
    let references: Vec<String> = symbols
        .references
        .iter()
        .map(|reference| {
            let qualifier = reference
                .qualifier
                .as_deref()
                .map(|qualifier| format!("{qualifier}."))
                .unwrap_or_default();
            let kind = match reference.kind {
                ReferenceKind::Call => "",
                ReferenceKind::Type => ":",
                ReferenceKind::Construction => "new ",
            };
            format!("{kind}{qualifier}{}@{}", reference.name, reference.line)
        })
        .collect();
    writeln!(out, "refs: {}", references.join(" ")).unwrap();
    for import in &symbols.imports {
        writeln!(out, "import {}: {}", import.lines, import.words.join(" ")).unwrap();
    }
    out
}

fn check_symbols(path: &str, language: Language, text: &str, expected: Expect) {
    expected.assert_eq(&render_symbols(path, language, text));
}

#[test]
fn context_rust_symbols() {
    check_symbols(
        "src/lib.rs",
        Language::Rust,
        r#"use std::collections::HashMap;
use crate::token::{Token, lex};

/// The largest input.
pub const MAX: usize = 10;

/// A parser.
///
/// Holds the tokens.
#[derive(Debug)]
pub struct Parser<'a> {
    tokens: Vec<Token<'a>>,
}

impl<'a> Parser<'a> {
    /// Make one.
    pub fn new(input: &'a str) -> Self {
        Parser { tokens: lex(input) }
    }

    fn parse(&mut self) -> Result<Ast, Error> {
        let map: HashMap<u8, u8> = HashMap::new();
        self.next();
        Token::eof().check();
        helper::<u8>(1);
        println!("{}", map.len());
        Ok(Ast)
    }
}

pub trait Visit {
    fn visit(&self, ast: &Ast);
}

mod inner {
    fn hidden() {}
}
"#,
        expect![[r#"
            constant MAX 5 doc 4: pub const MAX: usize = 10;
            class Parser 11-13 doc 7-10: pub struct Parser<'a>
            impl Parser 15-29: impl<'a> Parser<'a>
            method Parser::new 17-19 doc 16: pub fn new(input: &'a str) -> Self
            method Parser::parse 21-28: fn parse(&mut self) -> Result<Ast, Error>
            interface Visit 31-33: pub trait Visit
            method Visit::visit 32: fn visit(&self, ast: &Ast);
            module inner 35-37: mod inner
            function hidden 36: fn hidden()
            refs: :Vec@12 :Token@12 :Self@17 :Parser@18 lex@18 :Result@21 :Ast@21 :Error@21 :HashMap@22 HashMap.new@22 self.next@23 Token.eof@24 check@24 helper@25 println@26 Ok@27 :Ast@32
            import 1: use std collections HashMap
            import 2: use crate token Token lex
        "#]],
    );
}

#[test]
fn context_python_symbols() {
    check_symbols(
        "pkg/shapes.py",
        Language::Python,
        r#"import math
from pkg.util import clamp

LIMIT = 3

class Circle(Shape):
    """A circle."""

    def __init__(self, radius):
        self.radius = clamp(radius)

    @property
    def area(self):
        return math.pi * self.radius ** 2

def make(r):
    return Circle(r)
"#,
        expect![[r#"
            constant LIMIT 4: LIMIT = 3
            class Circle 6-14 doc 7: class Circle(Shape):
            method Circle::__init__ 9-10: def __init__(self, radius):
            method Circle::area 12-14: @property def area(self):
            function make 16-17: def make(r):
            refs: clamp@10 Circle@17
            import 1: import math
            import 2: from pkg util import clamp
        "#]],
    );
}

#[test]
fn context_typescript_symbols() {
    check_symbols(
        "src/app.ts",
        Language::TypeScript,
        r#"import { render } from "./view/render";

export const VERSION = "1.0";

type Id = string;

/** A user. */
export interface User {
  id: Id;
  greet(): string;
}

export class Store {
  private users: User[] = [];

  add(user: User): void {
    this.users.push(user);
    render(user);
  }
}

export function main(): void {
  const store = new Store();
  store.add({ id: "a" } as User);
}

const helper = (x: number) => x + 1;
"#,
        expect![[r#"
            constant VERSION 3: export const VERSION = "1.0";
            type Id 5: type Id = string;
            interface User 8-11 doc 7: export interface User
            method User::greet 10: greet(): string
            class Store 13-20: export class Store
            method Store::add 16-19: add(user: User): void
            function main 22-25: export function main(): void
            function helper 27: const helper = (x: number) =>
            refs: :Id@9 :User@16 push@17 render@18 new Store@23 store.add@24
            import 1: import render from view render
        "#]],
    );
}

#[test]
fn context_javascript_and_go_symbols() {
    check_symbols(
        "lib/math.js",
        Language::JavaScript,
        r#"import { sum } from './sum.js';

// Add one.
function inc(x) {
  return sum(x, 1);
}

class Counter {
  tick() { this.n = inc(this.n); }
}
"#,
        expect![[r#"
            function inc 4-6 doc 3: function inc(x)
            class Counter 8-10: class Counter
            method Counter::tick 9: tick()
            refs: sum@5 inc@9
            import 1: import sum from sum js
        "#]],
    );
    check_symbols(
        "server/server.go",
        Language::Go,
        r#"package server

import (
	"net/http"
)

const Port = 8080

// Server serves.
type Server struct {
	mux *http.ServeMux
}

// Start starts it.
func (s *Server) Start() error {
	return http.ListenAndServe(addr(Port), s.mux)
}

func addr(port int) string { return "" }
"#,
        expect![[r#"
            constant Port 7: const Port = 8080
            type Server 10-12 doc 9: type Server
            method Server::Start 15-17 doc 14: func (s *Server) Start() error
            function addr 19: func addr(port int) string
            refs: :ServeMux@11 :Server@15 :error@15 http.ListenAndServe@16 addr@16 :int@19 :string@19
            import 3-5: import net http
        "#]],
    );
}

#[test]
fn context_every_tags_query_compiles() {
    for language in Language::ALL {
        assert_eq!(
            queries::query_compiles(language),
            language != Language::Bash,
            "{language}"
        );
    }
}

#[test]
fn context_outline_nests_by_container() {
    let text = "struct A;\nimpl A {\n    fn one(&self) {}\n    fn two(&self) {\n        fn local() {}\n    }\n}\nfn free() {}\n";
    let symbols = FileSymbols::extract(Path::new("a.rs"), Language::Rust, text).unwrap();
    expect![[r#"
        1 struct A;
        2-7 impl A
          3 fn one(&self)
          4-6 fn two(&self)
        8 fn free()
    "#]]
    .assert_eq(&render_outline(&outline(&symbols)));
}

/// A workspace of fixture files: `//- path` lines start a file; `$0` in one of
/// them marks the cursor (removed from the text).
struct Fixture {
    files: Vec<(PathBuf, String)>,
    cursor: Option<(PathBuf, usize)>,
}

fn fixture(text: &str) -> Fixture {
    let mut files = Vec::new();
    let mut cursor = None;
    for chunk in text.split("//- ").filter(|chunk| !chunk.trim().is_empty()) {
        let (path, body) = chunk.split_once('\n').unwrap();
        let path = PathBuf::from("/ws").join(path.trim());
        let body = match body.find("$0") {
            Some(at) => {
                cursor = Some((path.clone(), at));
                body.replacen("$0", "", 1)
            }
            None => body.to_string(),
        };
        files.push((path, body));
    }
    Fixture { files, cursor }
}

impl Fixture {
    fn text_of(&self, path: &Path) -> Option<String> {
        self.files
            .iter()
            .find(|(candidate, _)| candidate == path)
            .map(|(_, text)| text.clone())
    }

    fn index(&self) -> SymbolIndex {
        let mut index = SymbolIndex::new();
        for (path, text) in &self.files {
            index.update_file(path, Language::from_path(path).unwrap(), text);
        }
        index
    }
}

fn render_selection(selection: &Selection) -> String {
    let mut out = format!("{} of {} tokens\n", selection.n_tokens, selection.budget);
    for piece in &selection.pieces {
        writeln!(
            out,
            "== {} ({}) {}:{} [{} tokens]",
            piece.label,
            piece.kind.name(),
            piece
                .path
                .strip_prefix("/ws")
                .unwrap_or(&piece.path)
                .display(),
            piece.lines,
            piece.n_tokens
        )
        .unwrap();
        out.push_str(&piece.text);
    }
    out
}

/// What a test sets in the request besides the fixture.
#[derive(Default)]
struct Extras<'a> {
    diagnostics: &'a [Diagnostic],
    edits: &'a [LineRange],
    budget: Option<u32>,
}

fn check_select(text: &str, extras: Extras<'_>, expected: Expect) {
    let fixture = fixture(text);
    let index = fixture.index();
    let (path, cursor) = fixture.cursor.clone().expect("a $0 cursor");
    let text = &fixture
        .files
        .iter()
        .find(|(candidate, _)| *candidate == path)
        .unwrap()
        .1;
    let mut request =
        SelectionRequest::new(&path, Language::from_path(&path), text, cursor..cursor);
    request.diagnostics = extras.diagnostics;
    request.recent_edits = extras.edits;
    request.budget_tokens = extras.budget.unwrap_or(request.budget_tokens);
    // The fixture's files are the editor's buffers: the index keeps no
    // summaries of them, selection reads their text from here.
    let open_text =
        |path: &Path, lines: LineRange| fixture.text_of(path).map(|text| cut_lines(&text, lines));
    request.open_text = Some(&open_text);
    let selection = select(&request, &index);
    assert!(selection.n_tokens <= selection.budget);
    expected.assert_eq(&render_selection(&selection));
}

const RUST_WORKSPACE: &str = r#"
//- src/lib.rs
mod lexer;
mod parser;
//- src/lexer.rs
/// A token of the input.
pub struct Token {
    pub kind: u8,
}

/// Split `input` into tokens.
///
/// Whitespace is skipped.
pub fn lex(input: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for byte in input.bytes() {
        tokens.push(Token { kind: byte });
    }
    tokens
}
//- src/parser.rs
use crate::lexer::{lex, Token};

pub struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    pub fn new(input: &str) -> Parser {
        Parser { tokens: lex(input), at: 0 }
    }

    pub fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    pub fn parse(&mut self) -> usize {
        let mut count = 0;
        while let Some(token) = self.peek() {
            count += usize::from(token.kind)$0;
            self.at += 1;
        }
        count
    }
}
//- src/other.rs
pub fn lex(text: &str) -> usize {
    text.len()
}
"#;

#[test]
fn context_select_rust_method() {
    check_select(
        RUST_WORKSPACE,
        Extras::default(),
        expect![[r#"
            192 of 6000 tokens
            == method `Parser::parse` (enclosing item) src/parser.rs:17-24 [73 tokens]
                pub fn parse(&mut self) -> usize {
                    let mut count = 0;
                    while let Some(token) = self.peek() {
                        count += usize::from(token.kind);
                        self.at += 1;
                    }
                    count
                }
            == definition of method `Parser::peek` (definition) src/parser.rs:13-15 [43 tokens]
                pub fn peek(&self) -> Option<&Token> {
                    self.tokens.get(self.at)
                }
            == imports (imports) src/parser.rs:1 [23 tokens]
            use crate::lexer::{lex, Token};
            == outline of impl `Parser` (outline) src/parser.rs:8-25 [53 tokens]
            impl Parser
            9-11 pub fn new(input: &str) -> Parser
            13-15 pub fn peek(&self) -> Option<&Token>
            17-24 pub fn parse(&mut self) -> usize
        "#]],
    );
}

#[test]
fn context_select_prefers_the_imported_definition() {
    // `lex` is defined twice; parser.rs imports the lexer's.
    let workspace = RUST_WORKSPACE.replace(
        "Parser { tokens: lex(input), at: 0 }",
        "Parser { tokens: lex(input$0), at: 0 }",
    );
    let workspace = workspace.replace(
        "count += usize::from(token.kind)$0;",
        "count += usize::from(token.kind);",
    );
    check_select(
        &workspace,
        Extras {
            budget: Some(120),
            ..Extras::default()
        },
        expect![[r#"
            118 of 120 tokens
            == method `Parser::new` (enclosing item) src/parser.rs:9-11 [41 tokens]
                pub fn new(input: &str) -> Parser {
                    Parser { tokens: lex(input), at: 0 }
                }
            == definition of function `lex` (definition) src/lexer.rs:6-15 [77 tokens]
            /// Split `input` into tokens.
            ///
            /// Whitespace is skipped.
            pub fn lex(input: &str) -> Vec<Token> {
                let mut tokens = Vec::new();
                for byte in input.bytes() {
                    tokens.push(Token { kind: byte });
                }
                tokens
            }
        "#]],
    );
}

#[test]
fn context_select_diagnostics_and_recent_edits() {
    let diagnostics = [
        Diagnostic {
            message: "mismatched types: expected `usize`, found `u8`".to_string(),
            lines: LineRange::new(20, 20),
            severity: Severity::Error,
        },
        Diagnostic {
            message: "unused import".to_string(),
            lines: LineRange::new(1, 1),
            severity: Severity::Warning,
        },
    ];
    let edits = [LineRange::new(9, 10)];
    check_select(
        RUST_WORKSPACE,
        Extras {
            diagnostics: &diagnostics,
            edits: &edits,
            budget: Some(150),
        },
        expect![[r#"
            145 of 150 tokens
            == method `Parser::parse` (enclosing item) src/parser.rs:17-24 [73 tokens]
                pub fn parse(&mut self) -> usize {
                    let mut count = 0;
                    while let Some(token) = self.peek() {
                        count += usize::from(token.kind);
                        self.at += 1;
                    }
                    count
                }
            == error (diagnostic) src/parser.rs:20 [29 tokens]
            error: mismatched types: expected `usize`, found `u8`
            == definition of method `Parser::peek` (definition) src/parser.rs:13-15 [43 tokens]
                pub fn peek(&self) -> Option<&Token> {
                    self.tokens.get(self.at)
                }
        "#]],
    );
}

#[test]
fn context_select_python_uses_the_index_across_files() {
    check_select(
        r#"
//- pkg/util.py
def clamp(value, low=0, high=10):
    """Keep value within [low, high]."""
    return max(low, min(high, value))
//- pkg/shapes.py
from pkg.util import clamp

class Circle:
    def __init__(self, radius):
        self.radius = clamp(radius)$0
"#,
        Extras::default(),
        expect![[r#"
            140 of 6000 tokens
            == method `Circle::__init__` (enclosing item) pkg/shapes.py:4-5 [37 tokens]
                def __init__(self, radius):
                    self.radius = clamp(radius)
            == definition of function `clamp` (definition) pkg/util.py:1-3 [49 tokens]
            def clamp(value, low=0, high=10):
                """Keep value within [low, high]."""
                return max(low, min(high, value))
            == imports (imports) pkg/shapes.py:1 [22 tokens]
            from pkg.util import clamp
            == outline of class `Circle` (outline) pkg/shapes.py:3-5 [32 tokens]
            class Circle:
            4-5 def __init__(self, radius):
        "#]],
    );
}

#[test]
fn context_select_typescript_and_go() {
    check_select(
        r#"
//- web/view.ts
export function render(user: User): string {
  return user.id;
}
export interface User { id: string }
//- web/app.ts
import { render, User } from "./view";

export function show(user: User) {
  console.log(render(user)$0);
}
"#,
        Extras::default(),
        expect![[r#"
            124 of 6000 tokens
            == function `show` (enclosing item) web/app.ts:3-5 [33 tokens]
            export function show(user: User) {
              console.log(render(user));
            }
            == definition of function `render` (definition) web/view.ts:1-3 [37 tokens]
            export function render(user: User): string {
              return user.id;
            }
            == definition of interface `User` (definition) web/view.ts:4 [30 tokens]
            export interface User { id: string }
            == imports (imports) web/app.ts:1 [24 tokens]
            import { render, User } from "./view";
        "#]],
    );
    check_select(
        r#"
//- srv/addr.go
package srv

// Addr formats a port.
func Addr(port int) string { return "" }
//- srv/main.go
package srv

func Run() {
	println(Addr(80)$0)
}
"#,
        Extras::default(),
        expect![[r#"
            62 of 6000 tokens
            == function `Run` (enclosing item) srv/main.go:3-5 [25 tokens]
            func Run() {
            	println(Addr(80))
            }
            == definition of function `Addr` (definition) srv/addr.go:3-4 [37 tokens]
            // Addr formats a port.
            func Addr(port int) string { return "" }
        "#]],
    );
}

#[test]
fn context_select_cuts_a_long_item_around_the_cursor() {
    let mut body = String::from("fn long() {\n");
    for line in 0..400 {
        if line == 200 {
            body.push_str("    let here = 1;$0\n");
        } else {
            body.push_str(&format!("    let x{line} = {line};\n"));
        }
    }
    body.push_str("}\n");
    let fixture_text = format!("//- a.rs\n{body}");
    let fixture = fixture(&fixture_text);
    let (path, cursor) = fixture.cursor.clone().unwrap();
    let text = &fixture.files[0].1;
    let mut request = SelectionRequest::new(&path, Some(Language::Rust), text, cursor..cursor);
    request.budget_tokens = 400;
    let selection = select(&request, &fixture.index());
    let item = &selection.pieces[0];
    assert_eq!(item.kind, PieceKind::EnclosingItem);
    assert!(item.lines.contains(202), "{:?}", item.lines);
    // Half the budget for the text, plus the label's.
    assert!(item.n_tokens <= 200 + 20, "{}", item.n_tokens);
    assert!(selection.n_tokens <= 400);
}

#[test]
fn context_select_plain_text_and_empty_files() {
    let text = "line one\nline two\nline three\n";
    let request = SelectionRequest::new(Path::new("/ws/notes.txt"), None, text, 10..10);
    let selection = select(&request, &SymbolIndex::new());
    expect![[r#"
        26 of 6000 tokens
        == code around the cursor (enclosing item) notes.txt:1-3 [26 tokens]
        line one
        line two
        line three
    "#]]
    .assert_eq(&render_selection(&selection));

    let request = SelectionRequest::new(Path::new("/ws/empty.rs"), Some(Language::Rust), "", 0..0);
    let selection = select(&request, &SymbolIndex::new());
    assert_eq!(selection.pieces.len(), 1);
}

#[test]
fn context_selection_becomes_context_items() {
    let fixture = fixture(RUST_WORKSPACE);
    let (path, cursor) = fixture.cursor.clone().unwrap();
    let text = &fixture.files.iter().find(|(p, _)| *p == path).unwrap().1;
    let request = SelectionRequest::new(&path, Some(Language::Rust), text, cursor..cursor);
    let items = select(&request, &fixture.index()).to_context_items();
    assert_eq!(items[0].label, "method `Parser::parse`, lines 17-24");
    assert_eq!(
        items[0].path.as_deref(),
        Some(Path::new("/ws/src/parser.rs"))
    );
}

#[test]
fn context_index_updates_and_removes_files() {
    let mut index = SymbolIndex::new();
    let a = Path::new("/ws/a.rs");
    index.update_file(a, Language::Rust, "fn one() { two(); }\n");
    index.update_file(Path::new("/ws/b.rs"), Language::Rust, "fn two() {}\n");
    assert_eq!(index.definitions("one").len(), 1);
    assert_eq!(index.references("two").len(), 1);
    index.update_file(a, Language::Rust, "fn uno() {}\n");
    assert!(index.definitions("one").is_empty());
    assert!(index.references("two").is_empty());
    assert_eq!(index.definitions("uno")[0].path, a);
    index.remove_file(a);
    assert!(index.definitions("uno").is_empty());
    assert_eq!(index.n_files(), 1);
    // The slot is reused.
    index.update_file(Path::new("/ws/c.rs"), Language::Rust, "fn three() {}\n");
    assert_eq!(
        index.paths(),
        [Path::new("/ws/b.rs"), Path::new("/ws/c.rs")]
    );
}

#[test]
fn context_build_walks_respecting_gitignore_and_keeps_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("target")).unwrap();
    std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
    std::fs::write(root.join("src/a.rs"), "fn on_disk() {}\n").unwrap();
    std::fs::write(root.join("src/b.py"), "def b():\n    pass\n").unwrap();
    std::fs::write(root.join("target/gen.rs"), "fn generated() {}\n").unwrap();
    std::fs::write(root.join("notes.md"), "# notes\n").unwrap();

    let index = SharedIndex::new();
    // An open buffer wins over the disk.
    index.update_file(
        &root.join("src/a.rs"),
        Language::Rust,
        "fn in_buffer() {}\n",
    );
    let progress = std::sync::Mutex::new(Vec::new());
    let stats = index
        .build(&[root.to_path_buf()], &BuildOptions::default(), &|report| {
            progress.lock().unwrap().push(report)
        })
        .unwrap();
    assert_eq!(stats.files, 2);
    let reports = progress.into_inner().unwrap();
    assert_eq!(reports.first().unwrap().files_done, 0);
    assert_eq!(
        reports.last().unwrap(),
        &BuildProgress {
            files_done: 2,
            files_total: 2
        }
    );
    let guard = index.read();
    assert_eq!(guard.definitions("in_buffer").len(), 1);
    assert!(guard.definitions("on_disk").is_empty());
    assert_eq!(guard.definitions("b").len(), 1);
    assert!(guard.definitions("generated").is_empty());
    drop(guard);

    // Released, the next build reads the disk; a deleted file goes.
    index.release_buffer(&root.join("src/a.rs"));
    std::fs::remove_file(root.join("src/b.py")).unwrap();
    index
        .build(&[root.to_path_buf()], &BuildOptions::default(), &|_| {})
        .unwrap();
    let guard = index.read();
    assert_eq!(guard.definitions("on_disk").len(), 1);
    assert!(guard.definitions("b").is_empty());
    assert_eq!(guard.n_files(), 1);
}

#[test]
fn context_build_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rs"), "fn a() {}\n").unwrap();
    let options = BuildOptions::default();
    options
        .cancel
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let error = SharedIndex::new()
        .build(&[dir.path().to_path_buf()], &options, &|_| {})
        .unwrap_err();
    assert!(
        matches!(error, BuildError::Cancelled { files_done: 0 }),
        "{error}"
    );
    let error = SharedIndex::for_root(&dir.path().join("missing"))
        .err()
        .unwrap();
    assert!(
        error.to_string().ends_with("missing is not a directory"),
        "{error}"
    );
}

#[test]
fn context_byte_offset_and_tokens() {
    let text = "ab\ncdé\nf";
    assert_eq!(byte_offset(text, 1, 0), 0);
    assert_eq!(byte_offset(text, 2, 1), 4);
    assert_eq!(byte_offset(text, 2, 99), 7);
    // Inside `é`: back to its start.
    assert_eq!(byte_offset(text, 2, 3), 5);
    assert_eq!(byte_offset(text, 9, 0), text.len());
    assert_eq!(estimate_tokens(""), 0);
    assert_eq!(estimate_tokens("abcde"), 2);
    assert_eq!(LineRange::new(3, 1), LineRange::new(3, 3));
    assert_eq!(LineRange::new(2, 5).to_string(), "2-5");
}

#[test]
fn context_update_from_tree_matches_update_file() {
    let text = "fn a() { b(); }\nfn b() {}\n";
    let path = Path::new("/ws/a.rs");
    let tree = Extractor::new(Language::Rust).unwrap().parse(text).unwrap();
    let from_tree = SharedIndex::new();
    from_tree.update_from_tree(path, Language::Rust, text, &tree);
    let parsed = SharedIndex::new();
    parsed.update_file(path, Language::Rust, text);
    assert_eq!(from_tree.read().file(path), parsed.read().file(path));
    assert_eq!(from_tree.read().references("b").len(), 1);
}

/// The index keeps no summary (and no signature) of an editor buffer's
/// definitions, whose text the editor holds; a file read from disk keeps its
/// summaries. Selection makes a buffer's from the editor's text (unsaved edits
/// shown), from the disk once the editor has none, and leaves the definition
/// out when neither can be read.
#[test]
fn context_select_summarises_buffers_from_their_text_and_closed_files_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let lexer = dir.path().join("lexer.rs");
    let parser = dir.path().join("parser.rs");
    let on_disk = "/// Split `input` into tokens.\npub fn lex(input: &str) -> Vec<u8> {\n    input.bytes().collect()\n}\n";
    let in_editor = on_disk.replace(
        "Split `input` into tokens.",
        "Split `input` into bytes (unsaved).",
    );
    std::fs::write(&lexer, on_disk).unwrap();
    let user =
        "use crate::lexer::lex;\n\nfn parse(input: &str) -> usize {\n    lex(input).len()\n}\n";

    let mut index = SymbolIndex::new();
    index.update_file(&lexer, Language::Rust, &in_editor);
    let held = &index.file(&lexer).unwrap().definitions[0];
    assert_eq!((held.summary.as_deref(), &*held.signature), (None, ""));
    let mut from_disk = SymbolIndex::new();
    from_disk.insert(
        FileSymbols::extract(&lexer, Language::Rust, on_disk).unwrap(),
        Origin::Disk,
    );
    let held = &from_disk.file(&lexer).unwrap().definitions[0];
    assert!(held.summary.as_deref().unwrap().contains("into tokens"));
    assert_eq!(&*held.signature, "");

    let cursor = user.find("lex(input)").unwrap();
    let definition_text = |open_text: Option<OpenText<'_>>| {
        let mut request =
            SelectionRequest::new(&parser, Some(Language::Rust), user, cursor..cursor);
        request.open_text = open_text;
        select(&request, &index)
            .pieces
            .into_iter()
            .find(|piece| piece.kind == PieceKind::Definition)
            .map(|piece| (piece.lines, piece.text))
    };
    let editor =
        |path: &Path, lines: LineRange| (path == lexer).then(|| cut_lines(&in_editor, lines));
    let (lines, text) = definition_text(Some(&editor)).expect("summarised from the buffer");
    assert_eq!(lines, LineRange::new(1, 4));
    assert!(
        text.starts_with("/// Split `input` into bytes (unsaved).\npub fn lex"),
        "{text}"
    );
    let (_, text) = definition_text(None).expect("summarised from the disk");
    assert!(
        text.starts_with("/// Split `input` into tokens.\npub fn lex"),
        "{text}"
    );
    std::fs::remove_file(&lexer).unwrap();
    assert_eq!(definition_text(None), None, "nothing to read: left out");
}

/// Lines `lines` of `text`, as an editor cuts them from its buffer.
fn cut_lines(text: &str, lines: LineRange) -> String {
    let mut out = String::new();
    let starts = super::lines::line_starts(text);
    let last = lines.end.min(starts.len() as u32);
    if lines.start <= last {
        super::lines::push_lines(&mut out, text, &starts, LineRange::new(lines.start, last));
    }
    out
}

/// A buffer's definition is summarised from its summary's lines alone, as
/// from the whole text: on real sources with long doc comments (cut, with the
/// file's line numbers in the marker), Python docstrings and large items.
#[test]
fn context_summary_from_a_buffers_lines_is_the_summary_from_the_whole_text() {
    let sources = [
        ("select.rs", include_str!("select.rs")),
        ("index.rs", include_str!("index.rs")),
        ("symbol.rs", include_str!("symbol.rs")),
        ("summary.rs", include_str!("summary.rs")),
        (
            "shapes.py",
            "class Shape:\n    \"\"\"A shape.\n\n    It has an area.\n    And a perimeter.\n    And a name.\n    And a colour.\n    And more.\n    \"\"\"\n\n    def area(self):\n        return 0\n\n    def a(self):\n        pass\n\n    def b(self):\n        pass\n\n    def c(self):\n        pass\n",
        ),
    ];
    let mut checked = 0;
    let mut cut_docs = 0;
    for (name, text) in sources {
        let path = Path::new(name);
        let language = Language::from_path(path).unwrap();
        let symbols = FileSymbols::extract(path, language, text).unwrap();
        for definition in &symbols.definitions {
            let (whole, lines) =
                summary::summarize(definition, language, text, &lines::line_starts(text));
            assert_eq!(
                lines, definition.summary_lines,
                "{name}: {}",
                definition.name
            );
            let from_lines = summary::summary_from_lines(
                definition,
                language,
                &cut_lines(text, definition.summary_lines),
            );
            assert_eq!(from_lines, whole, "{name}: {}", definition.name);
            checked += 1;
            cut_docs += usize::from(whole.contains("more lines of documentation"));
        }
    }
    assert!(
        checked > 100 && cut_docs >= 2,
        "{checked} definitions, {cut_docs} cut docs"
    );
}
