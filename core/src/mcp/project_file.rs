//! `.mcp.json` in the workspace root, Claude Code's project file:
//! `{"mcpServers": {NAME: {command, args, env} | {type: "http", url, headers}}}`.
//! Its servers join `[mcp_servers]`; a table of the same name in the
//! configuration wins (and may only add settings, such as `approval`, to a
//! server the file starts).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::McpServerConfig;

/// The file's name in the workspace root.
pub const PROJECT_FILE: &str = ".mcp.json";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectFile {
    #[serde(default)]
    mcp_servers: BTreeMap<String, ProjectServer>,
}

#[derive(Deserialize)]
struct ProjectServer {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// The servers of `<root>/.mcp.json`: none when there is no file, a message
/// naming the file when it cannot be read or is not in the format. A server
/// of a type agentls does not speak (`sse`) is a message too, the others kept.
pub fn read_project_file(
    root: &Path,
) -> (
    BTreeMap<String, McpServerConfig>,
    Vec<String>,
    Option<PathBuf>,
) {
    let path = root.join(PROJECT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return (BTreeMap::new(), Vec::new(), None)
        }
        Err(error) => {
            return (
                BTreeMap::new(),
                vec![format!("{}: cannot read the file: {error}", path.display())],
                Some(path),
            )
        }
    };
    let (servers, problems) = parse_project_file(&text, &path);
    (servers, problems, Some(path))
}

fn parse_project_file(text: &str, path: &Path) -> (BTreeMap<String, McpServerConfig>, Vec<String>) {
    let file: ProjectFile = match serde_json::from_str(text) {
        Ok(file) => file,
        Err(error) => {
            return (
                BTreeMap::new(),
                vec![format!(
                    "{}: not an MCP server list ({{\"mcpServers\": {{…}}}}): {error}",
                    path.display()
                )],
            )
        }
    };
    let mut servers = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, server) in file.mcp_servers {
        let kind = server.kind.as_deref().unwrap_or(if server.url.is_some() {
            "http"
        } else {
            "stdio"
        });
        let config = match kind {
            "stdio" => McpServerConfig {
                command: server.command,
                args: server.args,
                env: server.env,
                ..McpServerConfig::default()
            },
            "http" | "streamable-http" | "streamableHttp" => McpServerConfig {
                url: server.url,
                headers: server.headers,
                ..McpServerConfig::default()
            },
            other => {
                problems.push(format!(
                    "{}: `mcpServers.{name}`: type `{other}` is not supported (only stdio and http)",
                    path.display()
                ));
                continue;
            }
        };
        servers.insert(name, config);
    }
    (servers, problems)
}

/// The servers to run: the file's, then the configuration's over them by
/// name. A configuration table that names neither `command` nor `url` adds its
/// settings to the file's server of that name.
pub(crate) fn merge_servers(
    from_file: BTreeMap<String, McpServerConfig>,
    from_config: &BTreeMap<String, McpServerConfig>,
) -> BTreeMap<String, (McpServerConfig, bool)> {
    let mut merged: BTreeMap<String, (McpServerConfig, bool)> = from_file
        .into_iter()
        .map(|(name, config)| (name, (config, true)))
        .collect();
    for (name, config) in from_config {
        let entry = match merged.remove(name) {
            Some((file, _)) if config.command.is_none() && config.url.is_none() => (
                McpServerConfig {
                    command: file.command,
                    args: file.args,
                    env: file.env,
                    url: file.url,
                    headers: file.headers,
                    ..config.clone()
                },
                true,
            ),
            _ => (config.clone(), false),
        };
        merged.insert(name.clone(), entry);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::McpApproval;

    #[test]
    fn mcp_json_in_claude_codes_format_is_read() {
        let text = r#"{
          "mcpServers": {
            "fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "."], "env": {"DEBUG": "1"}},
            "remote": {"type": "http", "url": "http://127.0.0.1:9/mcp", "headers": {"X-Key": "k"}},
            "old": {"type": "sse", "url": "http://127.0.0.1:9/sse"}
          }
        }"#;
        let (servers, problems) = parse_project_file(text, Path::new("/w/.mcp.json"));
        assert_eq!(
            problems,
            ["/w/.mcp.json: `mcpServers.old`: type `sse` is not supported (only stdio and http)"]
        );
        assert_eq!(servers["fs"].command.as_deref(), Some("npx"));
        assert_eq!(servers["fs"].args.len(), 3);
        assert_eq!(servers["fs"].env["DEBUG"], "1");
        assert_eq!(
            servers["remote"].url.as_deref(),
            Some("http://127.0.0.1:9/mcp")
        );
        assert_eq!(servers["remote"].headers["X-Key"], "k");

        let (servers, problems) = parse_project_file("[1]", Path::new("/w/.mcp.json"));
        assert!(servers.is_empty());
        assert!(
            problems[0].starts_with("/w/.mcp.json: not an MCP server list"),
            "{problems:?}"
        );
    }

    #[test]
    fn the_configuration_wins_or_adds_settings_by_name() {
        let (from_file, _) = parse_project_file(
            r#"{"mcpServers": {"fs": {"command": "npx"}, "other": {"command": "a"}}}"#,
            Path::new("/w/.mcp.json"),
        );
        let mut from_config = BTreeMap::new();
        from_config.insert(
            "fs".to_string(),
            McpServerConfig {
                approval: McpApproval::Always,
                ..McpServerConfig::default()
            },
        );
        from_config.insert(
            "other".to_string(),
            McpServerConfig {
                command: Some("b".into()),
                ..McpServerConfig::default()
            },
        );
        let merged = merge_servers(from_file, &from_config);
        assert_eq!(merged["fs"].0.command.as_deref(), Some("npx"));
        assert_eq!(merged["fs"].0.approval, McpApproval::Always);
        assert!(merged["fs"].1);
        assert_eq!(merged["other"].0.command.as_deref(), Some("b"));
        assert!(!merged["other"].1);
    }
}
