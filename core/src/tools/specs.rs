//! The tool specs offered to the model. They are part of the prompt prefix that
//! provider caches key on: the order and every byte stay fixed (a snapshot test
//! guards them), so change them only on purpose.

use serde_json::json;

use crate::model::ToolSpec;

const READ_FILE: &str = "Read a text file of the workspace. Answers its lines numbered \
from 1, like `cat -n`. Files open in the editor are read with their unsaved changes. \
At most 2000 lines come back at once; read further with `offset`.";

const LIST_DIR: &str = "List a directory of the workspace, sorted, directories marked \
with a trailing `/`, paths relative to the workspace root. Files ignored by .gitignore \
and hidden files are left out unless `hidden` is true.";

const GREP: &str = "Search the contents of the files under a path with a regular \
expression (Rust regex syntax). Answers one `path:line: text` per matching line, paths \
relative to the workspace root. Skips files ignored by .gitignore, hidden files and \
binary files.";

const APPLY_PATCH: &str = r#"Edit files with a patch. Use this, not the shell, to create, change, move or delete files. The patch is plain text in this format:

*** Begin Patch
*** Add File: path/to/new.py
+every line of a new file starts with +
*** Delete File: path/to/old.py
*** Update File: path/to/file.py
*** Move to: path/to/renamed.py
@@ def example():
 a context line, unchanged (starts with a space)
-a line to remove
+a line to add
*** End Patch

Rules:
- Paths are relative to the workspace root (or absolute inside it).
- `*** Move to:` is optional and comes right after `*** Update File:`.
- An update holds one or more hunks. Start each with `@@`, optionally followed by a line that locates it, such as the enclosing function or class (`@@ fn main`); several `@@` lines narrow step by step.
- Show 3 lines of unchanged context above and below each change, enough for the lines to be found only once in the file. Hunks apply in file order.
- Finish a hunk whose lines end the file with `*** End of File`.
- Never repeat a file in one patch; put all its changes under one `*** Update File:`."#;

const SHELL: &str = "Run a command in the workspace and answer its exit code and \
output. `command` is an argv array such as [\"cargo\", \"test\"], or a string that runs \
as a bash script. Commands run in a sandbox that may forbid writes outside the workspace \
and network access; when a command needs more, say why in `justification` and the user \
is asked. Read files with read_file, list_dir and grep, and edit them with apply_patch, \
not with the shell.";

const UPDATE_PLAN: &str = "Keep a short plan of the task up to date: a list of steps, \
each pending, in_progress or completed, with at most one in_progress. Send the whole \
list each time; the user sees it.";

const FIND_DEFINITION: &str = "Find where a function, method, type, trait, interface, \
constant or module is defined in the workspace, by name, from an index of the syntax \
trees (cheaper than grep). Answers `path:lines: kind name` for each definition, then \
its doc comment and signature, or the whole definition when it is short. Give a bare \
name (`parse`) or qualify it with its type (`Parser::new`, `Parser.new`) to rank that \
one first.";

const FIND_REFERENCES: &str = "Find the uses of a name in the workspace: calls, type \
uses and `new X(…)`, from an index of the syntax trees. Answers one `path:line: text` \
per use, paths relative to the workspace root. Matches by name only, so a common name \
may also find uses of other symbols that share it.";

const OUTLINE: &str = "Outline a source file (Rust, Python, TypeScript, JavaScript, \
Go): the line range and signature of every definition, methods nested under their \
class, impl or trait, without bodies. Read a part in full with read_file and the line \
range.";

/// The tools in their fixed order: read_file, list_dir, grep, apply_patch, shell,
/// update_plan, find_definition, find_references, outline (added last so the
/// prefix of the earlier ones stays the same).
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "read_file".into(),
            description: READ_FILE.into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "The file, relative to the workspace root or absolute."
                    },
                    "offset": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "The first line to read, counting from 1. Default 1."
                    },
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "How many lines to read. Default and maximum 2000."
                    }
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "list_dir".into(),
            description: LIST_DIR.into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "The directory. Default: the workspace root."
                    },
                    "depth": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 5,
                        "description": "How many levels to descend. Default 1."
                    },
                    "hidden": {
                        "type": "boolean",
                        "description": "Include hidden files and directories. Default false."
                    }
                },
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "grep".into(),
            description: GREP.into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "pattern": {
                        "type": "string",
                        "description": "The regular expression to search for."
                    },
                    "path": {
                        "type": "string",
                        "description": "A directory or file to search. Default: the workspace root."
                    },
                    "include": {
                        "type": "string",
                        "description": "Only search files whose name or path matches this glob, such as `*.rs` or `src/**/*.{ts,tsx}`."
                    },
                    "case_insensitive": {
                        "type": "boolean",
                        "description": "Ignore case. Default false."
                    },
                    "max_results": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 1000,
                        "description": "Stop after this many matching lines. Default 100."
                    },
                    "hidden": {
                        "type": "boolean",
                        "description": "Search hidden files too. Default false."
                    }
                },
                "required": ["pattern"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "apply_patch".into(),
            description: APPLY_PATCH.into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "input": {
                        "type": "string",
                        "description": "The whole patch, from `*** Begin Patch` to `*** End Patch`."
                    }
                },
                "required": ["input"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "shell".into(),
            description: SHELL.into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {
                        "anyOf": [
                            {"type": "array", "items": {"type": "string"}},
                            {"type": "string"}
                        ],
                        "description": "The program and its arguments, or a bash script."
                    },
                    "workdir": {
                        "type": "string",
                        "description": "The directory to run in. Default: the workspace root."
                    },
                    "timeout_ms": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Kill the command after this many milliseconds."
                    },
                    "justification": {
                        "type": "string",
                        "description": "Why the command is needed, shown to the user when it needs approval."
                    }
                },
                "required": ["command"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "update_plan".into(),
            description: UPDATE_PLAN.into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "explanation": {
                        "type": "string",
                        "description": "Optional note on what changed in the plan."
                    },
                    "plan": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "step": {"type": "string"},
                                "status": {
                                    "type": "string",
                                    "enum": ["pending", "in_progress", "completed"]
                                }
                            },
                            "required": ["step", "status"],
                            "additionalProperties": false
                        }
                    }
                },
                "required": ["plan"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "find_definition".into(),
            description: FIND_DEFINITION.into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "name": {
                        "type": "string",
                        "description": "The name, such as `parse` or `Parser::new`."
                    }
                },
                "required": ["name"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "find_references".into(),
            description: FIND_REFERENCES.into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "name": {
                        "type": "string",
                        "description": "The name whose uses to find."
                    },
                    "max_results": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 500,
                        "description": "Stop after this many uses. Default 100."
                    }
                },
                "required": ["name"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "outline".into(),
            description: OUTLINE.into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "The file, relative to the workspace root or absolute."
                    }
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specs are part of every request's cached prefix: this snapshot makes a
    /// change to any byte of them visible in review.
    #[test]
    fn tools_specs_snapshot() {
        let json = serde_json::to_string_pretty(&specs()).unwrap();
        expect_test::expect_file!["specs.snapshot.json"].assert_eq(&(json + "\n"));
    }
}
