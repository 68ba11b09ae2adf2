//! Which commands may run without asking: the known-safe classification behind
//! the `untrusted` approval policy. A script (`bash -lc "…"`) is parsed with
//! tree-sitter-bash and is known-safe only when it is a plain chain of known-safe
//! commands: anything the classifier does not understand needs approval.

use tree_sitter::{Node, Parser};

use crate::config::{ApprovalPolicy, McpApproval};

/// Whether the user must approve `argv` before it runs under `policy`.
/// `untrusted` asks for everything not known-safe; `on-request` asks for nothing
/// up front (commands run sandboxed; leaving the sandbox is asked separately);
/// `never` never asks.
pub fn needs_approval(policy: ApprovalPolicy, argv: &[String]) -> bool {
    match policy {
        ApprovalPolicy::Untrusted => !is_known_safe(argv),
        ApprovalPolicy::OnRequest | ApprovalPolicy::Never => false,
    }
}

/// Whether the user must approve a call of an MCP tool first. The server's
/// `approval` decides: `always` asks, `never` does not, and `on-request`
/// follows the policy: `never` does not ask, `untrusted` asks unless the tool
/// says it only reads, and `on-request` asks unless it only reads or its
/// server is confined (a stdio server in an enforcing sandbox, which can do no
/// more than a sandboxed command).
pub fn mcp_call_needs_approval(
    policy: ApprovalPolicy,
    approval: McpApproval,
    read_only: bool,
    confined: bool,
) -> bool {
    match approval {
        McpApproval::Always => true,
        McpApproval::Never => false,
        McpApproval::OnRequest => match policy {
            ApprovalPolicy::Never => false,
            ApprovalPolicy::Untrusted => !read_only,
            ApprovalPolicy::OnRequest => !(read_only || confined),
        },
    }
}

/// Whether `argv` only reads: a known-safe command with no option that writes
/// or runs another program, or `bash -lc` / `sh -c` with a script made only of
/// such commands joined by `&&`, `||`, `;` and `|`.
pub fn is_known_safe(argv: &[String]) -> bool {
    match shell_script(argv) {
        Some(script) => script_is_known_safe(script),
        None => is_safe_command(argv),
    }
}

/// The script of `bash -lc SCRIPT` (also `sh`, `-c`, `-l -c`).
fn shell_script(argv: &[String]) -> Option<&str> {
    let (shell, rest) = argv.split_first()?;
    if !matches!(
        shell.as_str(),
        "bash" | "sh" | "/bin/bash" | "/bin/sh" | "/usr/bin/bash"
    ) {
        return None;
    }
    let (script, flags) = rest.split_last()?;
    let flags_ok = !flags.is_empty()
        && flags
            .iter()
            .all(|flag| matches!(flag.as_str(), "-c" | "-l" | "-lc" | "-cl"))
        && flags.iter().any(|flag| flag.contains('c'));
    flags_ok.then_some(script.as_str())
}

fn script_is_known_safe(script: &str) -> bool {
    let mut parser = Parser::new();
    if parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .is_err()
    {
        return false;
    }
    let Some(tree) = parser.parse(script, None) else {
        return false;
    };
    let root = tree.root_node();
    if root.has_error() {
        return false;
    }
    let mut commands = Vec::new();
    collect_commands(root, script, &mut commands)
        && !commands.is_empty()
        && commands.iter().all(|argv| is_safe_command(argv))
}

/// Gather the argv of every command, or `false` when the script uses anything
/// beyond commands of plain words joined by `&&`, `||`, `;` and `|`.
fn collect_commands(node: Node<'_>, source: &str, out: &mut Vec<Vec<String>>) -> bool {
    match node.kind() {
        "program" | "list" | "pipeline" => {
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                let ok = if child.is_named() {
                    child.kind() == "comment" || collect_commands(child, source, out)
                } else {
                    matches!(child.kind(), "&&" | "||" | ";" | "|" | "\n")
                };
                if !ok {
                    return false;
                }
            }
            true
        }
        "redirected_statement" => {
            let Some(body) = node.child_by_field_name("body") else {
                return false;
            };
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                let ok = if child.id() == body.id() {
                    collect_commands(child, source, out)
                } else {
                    is_harmless_redirect(child, source)
                };
                if !ok {
                    return false;
                }
            }
            true
        }
        "command" => {
            let mut argv = Vec::new();
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                match child.kind() {
                    "command_name" => {
                        let Some(name) = child.named_child(0) else {
                            return false;
                        };
                        let Some(word) = literal(name, source) else {
                            return false;
                        };
                        argv.push(word);
                    }
                    "file_redirect" => {
                        if !is_harmless_redirect(child, source) {
                            return false;
                        }
                    }
                    _ => match argument(child, source) {
                        Some(word) => argv.push(word),
                        None => return false,
                    },
                }
            }
            out.push(argv);
            true
        }
        _ => false,
    }
}

/// A redirection that writes no file: to or from `/dev/null`, or duplicating or
/// closing a descriptor (`2>&1`, `>&2`, `2>&-`).
fn is_harmless_redirect(node: Node<'_>, source: &str) -> bool {
    if node.kind() != "file_redirect" {
        return false;
    }
    let mut operator = None;
    let mut destination = Vec::new();
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if !child.is_named() {
            operator = Some(child.kind());
        } else if child.kind() != "file_descriptor" {
            destination.push(child);
        }
    }
    let Some(operator) = operator else {
        return false;
    };
    match destination.as_slice() {
        [] => operator.ends_with('-'),
        [destination] => {
            let Some(target) = literal(*destination, source) else {
                return false;
            };
            if target == "/dev/null" {
                return true;
            }
            matches!(operator, ">&" | "<&")
                && (target == "-"
                    || (!target.is_empty() && target.bytes().all(|b| b.is_ascii_digit())))
        }
        _ => false,
    }
}

/// A shell word after quote removal. `glob_at` is where its first unquoted glob
/// character (`*`, `?`, `[`) is: the shell would expand it into file names.
struct Word {
    value: String,
    glob_at: Option<usize>,
}

/// The value of a word that needs no expansion at all (command names, redirect
/// targets).
fn literal(node: Node<'_>, source: &str) -> Option<String> {
    let word = word(node, source)?;
    word.glob_at.is_none().then_some(word.value)
}

/// The value of an argument. A glob is accepted only behind a fixed prefix that
/// cannot turn into another option: `src/*.rs` and `--include=*.rs` stay what
/// they are, but `*` or `-*` could expand to a file named `-delete` or `--pre=x`.
fn argument(node: Node<'_>, source: &str) -> Option<String> {
    let word = word(node, source)?;
    match word.glob_at {
        None => Some(word.value),
        Some(at) => {
            let prefix = &word.value[..at];
            let fixed = !prefix.is_empty()
                && (!prefix.starts_with('-') || (prefix.starts_with("--") && prefix.contains('=')));
            fixed.then_some(word.value)
        }
    }
}

/// Quote removal for words made only of literal text: variables, command and
/// arithmetic substitution, ANSI-C strings and brace expansion give `None`.
fn word(node: Node<'_>, source: &str) -> Option<Word> {
    let text = node.utf8_text(source.as_bytes()).ok()?;
    match node.kind() {
        "word" | "number" => unescape_word(text),
        "raw_string" => Some(Word {
            value: text.strip_prefix('\'')?.strip_suffix('\'')?.to_string(),
            glob_at: None,
        }),
        "string" => {
            let mut value = String::new();
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                match (child.is_named(), child.kind()) {
                    (false, "\"") => {}
                    (true, "string_content") => {
                        let content = child.utf8_text(source.as_bytes()).ok()?;
                        value.push_str(&unescape_double_quoted(content)?);
                    }
                    _ => return None,
                }
            }
            Some(Word {
                value,
                glob_at: None,
            })
        }
        "concatenation" => {
            let mut value = String::new();
            let mut glob_at = None;
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                if !child.is_named() {
                    return None;
                }
                let part = word(child, source)?;
                if glob_at.is_none() {
                    glob_at = part.glob_at.map(|at| value.len() + at);
                }
                value.push_str(&part.value);
            }
            Some(Word { value, glob_at })
        }
        _ => None,
    }
}

/// An unquoted word: backslashes escape the next character; `$`, backticks and
/// braces would expand, so they make it no literal.
fn unescape_word(text: &str) -> Option<Word> {
    let mut value = String::new();
    let mut glob_at = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(escaped) => value.push(escaped),
            },
            '{' | '}' | '$' | '`' => return None,
            '*' | '?' | '[' => {
                glob_at.get_or_insert(value.len());
                value.push(c);
            }
            other => value.push(other),
        }
    }
    Some(Word { value, glob_at })
}

/// Inside double quotes a backslash escapes only `$`, `` ` ``, `"`, `\` and a
/// newline; an unescaped `$` or backtick would expand.
fn unescape_double_quoted(text: &str) -> Option<String> {
    let mut value = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('$' | '`' | '"' | '\\') => {
                    value.extend(chars.next());
                }
                Some('\n') => {
                    chars.next();
                }
                _ => value.push('\\'),
            },
            '$' | '`' => return None,
            other => value.push(other),
        }
    }
    Some(value)
}

/// Whether one command, as the exec'd argv, only reads.
fn is_safe_command(argv: &[String]) -> bool {
    let Some((program, args)) = argv.split_first() else {
        return false;
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match program.as_str() {
        "cat" | "ls" | "pwd" | "echo" | "head" | "tail" | "wc" | "grep" | "nl" | "cut" | "tr"
        | "diff" | "stat" | "which" | "true" | "false" => true,
        // `file -C` compiles a magic file and writes it.
        "file" => !args
            .iter()
            .any(|arg| *arg == "--compile" || short_flags_contain(arg, 'C')),
        // `sort -o` writes a file; `--compress-program` runs one.
        "sort" => !args.iter().any(|arg| {
            arg.starts_with("--output")
                || arg.starts_with("--compress-program")
                || short_flags_contain(arg, 'o')
        }),
        "uniq" => uniq_is_safe(&args),
        "rg" => rg_is_safe(&args),
        "find" => find_is_safe(&args),
        "sed" => sed_is_safe(&args),
        "git" => git_is_safe(&args),
        _ => false,
    }
}

/// `-abc` style bundles of short options containing `flag`.
fn short_flags_contain(arg: &str, flag: char) -> bool {
    arg.len() > 1 && arg.starts_with('-') && !arg.starts_with("--") && arg.contains(flag)
}

/// `uniq INPUT OUTPUT` writes OUTPUT: at most one operand, and no glob that could
/// expand to two.
fn uniq_is_safe(args: &[&str]) -> bool {
    if args.iter().any(|arg| arg.contains(['*', '?', '['])) {
        return false;
    }
    let mut operands = 0;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--" => operands += rest.by_ref().count(),
            "-f" | "-s" | "-w" | "--skip-fields" | "--skip-chars" | "--check-chars" => {
                rest.next();
            }
            arg if arg.starts_with('-') && arg.len() > 1 => {}
            _ => operands += 1,
        }
    }
    operands <= 1
}

/// `--pre` and `--hostname-bin` run programs, `-z`/`--search-zip` runs
/// decompressors.
fn rg_is_safe(args: &[&str]) -> bool {
    !args.iter().any(|arg| {
        arg.starts_with("--pre")
            || arg.starts_with("--search-zip")
            || arg.starts_with("--hostname-bin")
            || short_flags_contain(arg, 'z')
    })
}

/// Actions that run programs, delete, or write files.
fn find_is_safe(args: &[&str]) -> bool {
    !args.iter().any(|arg| {
        matches!(
            *arg,
            "-exec" | "-execdir" | "-ok" | "-okdir" | "-delete" | "-fls"
        ) || arg.starts_with("-fprint")
    })
}

/// Only `sed -n <lines>p [files]`: sed scripts can write (`w`) and, in GNU sed,
/// execute (`e`), so nothing but numeric line printing passes.
fn sed_is_safe(args: &[&str]) -> bool {
    match args {
        ["-n", script, files @ ..] => {
            is_line_print_script(script) && files.iter().all(|file| !file.starts_with('-'))
        }
        _ => false,
    }
}

/// `5p`, `1,20p`, `10,$p`, `$p`, several joined by `;`.
fn is_line_print_script(script: &str) -> bool {
    let is_address = |address: &str| {
        address == "$" || (!address.is_empty() && address.bytes().all(|b| b.is_ascii_digit()))
    };
    script.split(';').all(|command| {
        let Some(range) = command.trim().strip_suffix('p') else {
            return false;
        };
        match range.trim().split_once(',') {
            Some((from, to)) => is_address(from.trim()) && is_address(to.trim()),
            None => is_address(range.trim()),
        }
    })
}

/// Read-only subcommands, with no option before the subcommand (`-c` sets config
/// such as `core.pager` that runs programs) and no option that writes or runs one.
fn git_is_safe(args: &[&str]) -> bool {
    let Some((subcommand, rest)) = args.split_first() else {
        return false;
    };
    let writes_or_runs = rest.iter().any(|arg| {
        arg.starts_with("--output")
            || arg.starts_with("--ext-diff")
            || arg.starts_with("--open-files-in-pager")
            || (*subcommand == "grep" && arg.starts_with("-O"))
    });
    if writes_or_runs {
        return false;
    }
    match *subcommand {
        "status" | "diff" | "log" | "show" | "rev-parse" | "ls-files" | "blame" | "grep" => true,
        "branch" => git_branch_only_lists(rest),
        _ => false,
    }
}

/// `git branch` creates, renames, copies and deletes branches too: only listing
/// passes (listing options, and names only as `--list` patterns).
fn git_branch_only_lists(args: &[&str]) -> bool {
    const LISTING: &[&str] = &[
        "-a",
        "--all",
        "-r",
        "--remotes",
        "-v",
        "-vv",
        "--verbose",
        "--show-current",
        "-l",
        "--list",
        "-i",
        "--ignore-case",
        "--no-color",
        "--no-column",
        "--no-abbrev",
        "--omit-empty",
    ];
    const FILTERS: &[&str] = &[
        "--contains",
        "--no-contains",
        "--merged",
        "--no-merged",
        "--points-at",
    ];
    const VALUED: &[&str] = &["--sort", "--format", "--color", "--column", "--abbrev"];
    let mut list_mode = false;
    let mut operands = 0;
    for arg in args {
        let name = arg.split('=').next().unwrap_or(arg);
        if matches!(*arg, "-l" | "--list") || FILTERS.contains(&name) {
            list_mode = true;
        } else if LISTING.contains(arg) || (VALUED.contains(&name) && arg.contains('=')) {
        } else if arg.starts_with('-') {
            return false;
        } else {
            operands += 1;
        }
    }
    operands == 0 || list_mode
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    fn script(text: &str) -> Vec<String> {
        argv(&["bash", "-lc", text])
    }

    #[test]
    fn mcp_calls_ask_per_server_setting_then_policy() {
        use ApprovalPolicy::{Never, OnRequest, Untrusted};
        // (policy, approval, read_only, confined) → asks
        let table = [
            (Never, McpApproval::Always, true, true, true),
            (Untrusted, McpApproval::Never, false, false, false),
            (Never, McpApproval::OnRequest, false, false, false),
            (Untrusted, McpApproval::OnRequest, false, true, true),
            (Untrusted, McpApproval::OnRequest, true, false, false),
            (OnRequest, McpApproval::OnRequest, false, true, false),
            (OnRequest, McpApproval::OnRequest, true, false, false),
            (OnRequest, McpApproval::OnRequest, false, false, true),
        ];
        for (policy, approval, read_only, confined, asks) in table {
            assert_eq!(
                mcp_call_needs_approval(policy, approval, read_only, confined),
                asks,
                "{policy:?} {approval:?} read_only={read_only} confined={confined}"
            );
        }
    }

    #[test]
    fn approval_known_safe_argv() {
        let cases: &[(&[&str], bool)] = &[
            (&["ls", "-la"], true),
            (&["cat", "src/main.rs"], true),
            (&["pwd"], true),
            (&["echo", "$(rm -rf /)"], true), // exec'd: no shell expands it
            (&["head", "-n", "20", "a"], true),
            (&["tail", "-f", "log"], true),
            (&["wc", "-l", "a"], true),
            (&["grep", "-rn", "fn main", "src"], true),
            (&["rg", "-n", "TODO", "src"], true),
            (&["rg", "--pre", "cat", "x"], false),
            (&["rg", "--pre=cat", "x"], false),
            (&["rg", "-z", "x"], false),
            (&["rg", "-inz", "x"], false),
            (&["rg", "--search-zip", "x"], false),
            (&["rg", "--hostname-bin", "/tmp/evil", "x"], false),
            (&["find", ".", "-name", "*.rs"], true),
            (&["find", ".", "-delete"], false),
            (&["find", ".", "-exec", "rm", "{}", ";"], false),
            (&["find", ".", "-execdir", "sh", "{}", ";"], false),
            (&["find", ".", "-ok", "rm", "{}", ";"], false),
            (&["find", ".", "-okdir", "rm", "{}", ";"], false),
            (&["find", ".", "-fprint", "out"], false),
            (&["find", ".", "-fprintf", "out", "%p"], false),
            (&["find", ".", "-fls", "out"], false),
            (&["sed", "-n", "1,20p", "a.rs"], true),
            (&["sed", "-n", "5p;10,$p", "a.rs"], true),
            (&["sed", "-n", "$p", "a.rs"], true),
            (&["sed", "1,20p", "a.rs"], false),
            (&["sed", "-i", "s/a/b/", "a.rs"], false),
            (&["sed", "-n", "-i", "1p", "a.rs"], false),
            (&["sed", "-n", "1p", "-i", "a.rs"], false),
            (&["sed", "-n", "s/a/b/p", "a.rs"], false),
            (&["sed", "-n", "1w out", "a.rs"], false),
            (&["sed", "-n", "1e rm -rf /", "a.rs"], false),
            (&["nl", "a"], true),
            (&["sort", "-u", "a"], true),
            (&["sort", "-o", "out", "a"], false),
            (&["sort", "-uo", "out", "a"], false),
            (&["sort", "--output=out", "a"], false),
            (&["sort", "--compress-program=sh", "a"], false),
            (&["uniq", "-c", "a"], true),
            (&["uniq", "-f", "1", "a"], true),
            (&["uniq", "a", "b"], false),
            (&["cut", "-d:", "-f1", "a"], true),
            (&["tr", "a-z", "A-Z"], true),
            (&["diff", "-u", "a", "b"], true),
            (&["stat", "a"], true),
            (&["file", "a"], true),
            (&["file", "-C", "-m", "magic"], false),
            (&["which", "cargo"], true),
            (&["true"], true),
            (&["false"], true),
            (&["git", "status"], true),
            (&["git", "diff", "--stat"], true),
            (&["git", "log", "--oneline", "-n", "5"], true),
            (&["git", "show", "HEAD~1"], true),
            (&["git", "rev-parse", "HEAD"], true),
            (&["git", "ls-files"], true),
            (&["git", "blame", "src/main.rs"], true),
            (&["git", "grep", "TODO"], true),
            (&["git", "branch"], true),
            (&["git", "branch", "-a", "-v"], true),
            (&["git", "branch", "--list", "feat/*"], true),
            (&["git", "branch", "--contains", "HEAD"], true),
            (&["git", "branch", "--sort=-committerdate"], true),
            (&["git", "branch", "-D", "main"], false),
            (&["git", "branch", "-d", "main"], false),
            (&["git", "branch", "--delete", "main"], false),
            (&["git", "branch", "-m", "new"], false),
            (&["git", "branch", "new-branch"], false),
            (&["git", "-c", "core.pager=sh -c evil", "log"], false),
            (&["git", "-C", "/tmp", "status"], false),
            (&["git", "diff", "--output=/tmp/x"], false),
            (&["git", "diff", "--ext-diff"], false),
            (&["git", "grep", "-Ovim", "x"], false),
            (&["git", "grep", "--open-files-in-pager=sh", "x"], false),
            (&["git", "commit", "-m", "x"], false),
            (&["git", "push"], false),
            (&["git", "checkout", "."], false),
            (&["git"], false),
            (&["cargo", "check"], false),
            (&["cargo", "test"], false),
            (&["rm", "-rf", "target"], false),
            (&["./cat", "a"], false),
            (&["/usr/bin/env", "ls"], false),
            (&[], false),
        ];
        for (command, expected) in cases {
            assert_eq!(is_known_safe(&argv(command)), *expected, "{command:?}");
        }
    }

    #[test]
    fn approval_known_safe_scripts() {
        let cases: &[(&str, bool)] = &[
            ("ls", true),
            ("ls -la && pwd", true),
            ("cat a || echo missing", true),
            ("echo hi; echo there", true),
            ("echo hi\necho there", true),
            ("rg -n foo src | head -n 20", true),
            ("git status && git diff | wc -l", true),
            ("grep 'fn main' src/main.rs", true),
            ("grep \"fn main\" src/main.rs", true),
            ("grep \"cost: \\$5\" a", true),
            ("grep fn\\ main src/main.rs", true),
            ("cat a 2>/dev/null", true),
            ("cat a >/dev/null 2>&1", true),
            ("rg foo 2>&1 | head", true),
            ("ls # just looking", true),
            ("find . -name '*.rs' | sort | uniq -c", true),
            ("sed -n '1,40p' src/lib.rs", true),
            // Writes, deletes, executes.
            ("echo hi; rm x", false),
            ("cat a > b", false),
            ("cat a >> b", false),
            ("echo hi &> out", false),
            ("cat a 2>&1 >out", false),
            ("ls $(rm -rf /)", false),
            ("ls `rm -rf /`", false),
            ("echo \"$(rm -rf /)\"", false),
            ("ls <(rm x)", false),
            ("(ls)", false),
            ("{ ls; }", false),
            ("$CMD", false),
            ("${CMD} x", false),
            ("ls $HOME", false),
            ("echo \"$HOME\"", false),
            ("FOO=bar ls", false),
            ("ls &", false),
            ("ls & rm x", false),
            ("find . -delete", false),
            ("find . -na\"me\" x", true),
            ("ec'ho' hi", true),
            ("r\\m -rf x", false),
            ("find . -de\\lete", false),
            ("find . -del\"ete\"", false),
            ("find . '-delete'", false),
            ("find . -{delete,print}", false),
            ("find . *", false),
            ("ls src/*.rs", true),
            ("grep -rn --include=*.rs foo src", true),
            ("cat 'src/'*.rs", true),
            ("cat \\*", true),
            ("rg foo *", false),
            ("echo ?", false),
            ("ls -*", false),
            ("rg --p* x", false),
            ("uniq a*", false),
            ("rg --pre cat x", false),
            ("rg --p're'=cat x", false),
            ("git -c core.pager=evil log", false),
            ("sed -i s/a/b/ f", false),
            ("cat <<EOF\nhi\nEOF", false),
            ("cat <<< hi", false),
            ("if true; then ls; fi", false),
            ("for f in a b; do cat $f; done", false),
            ("f() { ls; }; f", false),
            ("! ls", false),
            ("ls |& cat", false),
            ("ls; ", true),
            ("", false),
            ("ls (", false),
            ("echo $'\\x41'", false),
            ("cargo test", false),
        ];
        for (text, expected) in cases {
            assert_eq!(is_known_safe(&script(text)), *expected, "{text:?}");
        }
    }

    #[test]
    fn approval_shell_wrappers() {
        let cases: &[(&[&str], bool)] = &[
            (&["bash", "-c", "ls"], true),
            (&["sh", "-c", "ls"], true),
            (&["bash", "-l", "-c", "ls"], true),
            (&["/bin/bash", "-lc", "git status"], true),
            (&["bash", "-lc", "rm -rf /"], false),
            (&["bash", "script.sh"], false),
            (&["bash", "-lc"], false),
            (&["bash", "-x", "-c", "ls"], false),
            (&["zsh", "-c", "ls"], false),
        ];
        for (command, expected) in cases {
            assert_eq!(is_known_safe(&argv(command)), *expected, "{command:?}");
        }
    }

    #[test]
    fn approval_needs_approval_by_policy() {
        let safe = argv(&["ls"]);
        let unsafe_command = argv(&["rm", "-rf", "x"]);
        let cases = [
            (ApprovalPolicy::Untrusted, &safe, false),
            (ApprovalPolicy::Untrusted, &unsafe_command, true),
            (ApprovalPolicy::OnRequest, &safe, false),
            (ApprovalPolicy::OnRequest, &unsafe_command, false),
            (ApprovalPolicy::Never, &safe, false),
            (ApprovalPolicy::Never, &unsafe_command, false),
        ];
        for (policy, command, expected) in cases {
            assert_eq!(
                needs_approval(policy, command),
                expected,
                "{policy:?} {command:?}"
            );
        }
    }
}
