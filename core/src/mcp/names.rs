//! How an MCP tool is named and described to the model: `SERVER__tool`, with
//! the server's schema. Provider APIs take function names of `[A-Za-z0-9_-]`,
//! at most 64 characters, so other characters become `_` and a longer name is
//! cut and suffixed with a hash of the whole (stable across runs, so the prompt
//! prefix stays byte-identical).

use serde_json::Value;

use crate::model::ToolSpec;

/// Between the server's name and the tool's.
pub(crate) const SEPARATOR: &str = "__";

/// The longest function name the providers take.
const MAX_NAME_CHARS: usize = 64;

/// The name the model calls the tool `tool` of the server `server` by.
pub(crate) fn qualified_name(server: &str, tool: &str) -> String {
    let raw = format!("{server}{SEPARATOR}{tool}");
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.len() > MAX_NAME_CHARS {
        let suffix = format!("_{:08x}", fnv1a(raw.as_bytes()) as u32);
        name.truncate(MAX_NAME_CHARS - suffix.len());
        name.push_str(&suffix);
    }
    name
}

/// Whether `name` could be an MCP tool's: built-in tools have no `__`.
pub fn is_mcp_tool_name(name: &str) -> bool {
    name.contains(SEPARATOR)
}

/// A stable hash (std's `DefaultHasher` may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The spec the model sees for one of a server's tools.
pub(crate) fn tool_spec(server: &str, tool: &rmcp::model::Tool) -> ToolSpec {
    let description = tool
        .description
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .map(str::to_string)
        .or_else(|| tool.title.clone())
        .unwrap_or_else(|| format!("The tool `{}` of the MCP server `{server}`.", tool.name));
    let mut parameters = Value::Object((*tool.input_schema).clone());
    // Providers want an object schema; a server that sends `{}` means "no arguments".
    if let Value::Object(schema) = &mut parameters {
        schema
            .entry("type")
            .or_insert_with(|| Value::String("object".to_string()));
    }
    ToolSpec {
        name: qualified_name(server, &tool.name),
        description,
        parameters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_names_keep_what_providers_accept() {
        assert_eq!(qualified_name("everything", "echo"), "everything__echo");
        assert_eq!(
            qualified_name("my server", "get-annotated.message"),
            "my_server__get-annotated_message"
        );
        let long = qualified_name("server", &"x".repeat(100));
        assert_eq!(long.len(), 64);
        assert_eq!(long, qualified_name("server", &"x".repeat(100)));
        assert_ne!(long, qualified_name("server", &"x".repeat(101)));
        assert!(is_mcp_tool_name("everything__echo"));
        assert!(!is_mcp_tool_name("read_file"));
    }
}
