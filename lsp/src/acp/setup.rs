//! The agent of one ACP session: the configuration read for the session's
//! working directory (as `agentls exec` reads it: the user's file, the
//! workspace's `.agentls.toml`, the `AGENTLS_*` variables), the provider it
//! picks, the sandboxed runner, and the session's `ClientWorkspace`.

use std::path::Path;
use std::sync::Arc;

use agent_client_protocol::v1::schema::McpServer;
use agentls_core::agent::Agent;
use agentls_core::config::{Config, McpServerConfig};
use agentls_core::process::CommandRunner;
use agentls_core::provider;
use agentls_core::sandbox::SandboxedRunner;

use super::client_fs::{ClientFiles, ClientWorkspace};
use super::state::AcpState;
use crate::exec::{exec_config, mcp_hub, ExecArgs};

/// An agent ready to start or resume the session's thread.
pub(crate) struct SessionAgent {
    pub(crate) agent: Agent,
    pub(crate) workspace: Arc<ClientWorkspace>,
    /// What the user should know (configuration keys dropped, an unconfined
    /// sandbox), said in the session once it exists.
    pub(crate) warnings: Vec<String>,
}

/// Why a session could not be set up; said to the client as the request's error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    #[error("cwd must be an absolute path, got `{0}`")]
    RelativeCwd(String),
    #[error("cannot work in {path}: {message}")]
    Workspace { path: String, message: String },
    #[error("{0}")]
    Configuration(String),
    #[error("{0}")]
    Provider(String),
}

pub(crate) async fn session_agent(
    state: &AcpState,
    cwd: &Path,
    client: ClientFiles,
    offered: &[McpServer],
) -> Result<SessionAgent, SetupError> {
    if !cwd.is_absolute() {
        return Err(SetupError::RelativeCwd(cwd.display().to_string()));
    }
    let workspace = ClientWorkspace::new(cwd, client).map_err(|error| SetupError::Workspace {
        path: cwd.display().to_string(),
        message: error.to_string(),
    })?;
    let root = agentls_core::workspace::Workspace::root(&workspace).to_path_buf();
    let env = &*state.env;
    let (mut config, mut warnings) = exec_config(&ExecArgs::default(), &root, env)
        .map_err(|error| SetupError::Configuration(error.to_string()))?;
    warnings.extend(add_offered_servers(&mut config, offered));
    let discovered = provider::discover(&config.provider, env)
        .await
        .map_err(|error| SetupError::Provider(error.to_string()))?;
    tracing::info!(provider = %discovered.describe(), root = %root.display(), "acp session agent");
    let provider = discovered
        .settings
        .into_provider()
        .map_err(|error| SetupError::Provider(error.to_string()))?;
    let data_dir = agentls_core::agent::default_data_dir(env)
        .map_err(|error| SetupError::Configuration(error.to_string()))?;
    let mut runner = SandboxedRunner::from_config(state.sandbox_helper.clone(), &config.sandbox);
    if let Some(key_env) = &config.provider.api_key_env {
        runner = runner.with_secret_env([key_env.clone()]);
    }
    let unconfined = config.sandbox.policy.is_enforcing() && runner.every_command_needs_approval();
    if unconfined {
        warnings.push(match runner.support().warning() {
            Some(warning) => format!("{}; every command asks for permission", warning.message),
            None => "the sandbox cannot confine commands on this machine; every command asks for permission".to_string(),
        });
    }
    let workspace = Arc::new(workspace);
    let runner: Arc<dyn CommandRunner> = Arc::new(runner);
    let mcp = mcp_hub(
        &config,
        &root,
        runner.clone(),
        env,
        unconfined,
        &mut warnings,
    );
    let agent = Agent::new(config, provider, workspace.clone(), runner, data_dir)
        .with_unconfined_commands(unconfined)
        .with_mcp(mcp);
    Ok(SessionAgent {
        agent,
        workspace,
        warnings,
    })
}

/// Adds the MCP servers the client offered in `session/new` or `session/load`
/// (Zed passes its context servers so) to the session's `[mcp_servers]`: a
/// stdio server as its command, arguments and variables, an HTTP server as its
/// URL and headers; each then runs like a configured one (a stdio server in the
/// sandbox, its calls approved as `[approvals]` says). A server of the same
/// name in agentls's configuration is kept, and SSE servers are not spoken:
/// both are returned as warnings.
pub(crate) fn add_offered_servers(config: &mut Config, offered: &[McpServer]) -> Vec<String> {
    let mut warnings = Vec::new();
    for server in offered {
        let (name, entry) = match server {
            McpServer::Stdio(stdio) => (
                &stdio.name,
                McpServerConfig {
                    command: Some(stdio.command.to_string_lossy().into_owned()),
                    args: stdio.args.clone(),
                    env: stdio
                        .env
                        .iter()
                        .map(|var| (var.name.clone(), var.value.clone()))
                        .collect(),
                    ..McpServerConfig::default()
                },
            ),
            McpServer::Http(http) => (
                &http.name,
                McpServerConfig {
                    url: Some(http.url.clone()),
                    headers: http
                        .headers
                        .iter()
                        .map(|header| (header.name.clone(), header.value.clone()))
                        .collect(),
                    ..McpServerConfig::default()
                },
            ),
            McpServer::Sse(sse) => {
                warnings.push(format!(
                    "the client's MCP server `{}` speaks SSE, which agentls does not: left out (an HTTP or stdio server works)",
                    sse.name
                ));
                continue;
            }
            _ => {
                warnings.push(
                    "the client offered an MCP server of a kind agentls does not know: left out"
                        .to_string(),
                );
                continue;
            }
        };
        if config.mcp_servers.contains_key(name) {
            warnings.push(format!(
                "the client's MCP server `{name}` has the name of one in agentls's configuration: the configured one is used"
            ));
            continue;
        }
        config.mcp_servers.insert(name.clone(), entry);
    }
    warnings
}

#[cfg(test)]
mod tests {
    use agent_client_protocol::v1::schema::{
        EnvVariable, HttpHeader, McpServerHttp, McpServerSse, McpServerStdio,
    };

    use super::*;

    #[test]
    fn offered_servers_join_the_configured_ones_which_win_a_clash() {
        let mut config = Config::default();
        config.mcp_servers.insert(
            "mine".into(),
            McpServerConfig {
                command: Some("configured".into()),
                ..McpServerConfig::default()
            },
        );
        let offered = [
            McpServer::Stdio(
                McpServerStdio::new("files", "/usr/bin/mcp-files")
                    .args(vec!["--root".into(), ".".into()])
                    .env(vec![EnvVariable::new("LEVEL", "2")]),
            ),
            McpServer::Http(
                McpServerHttp::new("web", "http://127.0.0.1:9/mcp")
                    .headers(vec![HttpHeader::new("X-Team", "editor")]),
            ),
            McpServer::Sse(McpServerSse::new("old", "http://127.0.0.1:9/sse")),
            McpServer::Stdio(McpServerStdio::new("mine", "/usr/bin/other")),
        ];
        let warnings = add_offered_servers(&mut config, &offered);

        let files = &config.mcp_servers["files"];
        assert_eq!(files.command.as_deref(), Some("/usr/bin/mcp-files"));
        assert_eq!(files.args, ["--root", "."]);
        assert_eq!(files.env["LEVEL"], "2");
        assert!(files.enabled);
        let web = &config.mcp_servers["web"];
        assert_eq!(web.url.as_deref(), Some("http://127.0.0.1:9/mcp"));
        assert_eq!(web.headers["X-Team"], "editor");
        assert_eq!(
            config.mcp_servers["mine"].command.as_deref(),
            Some("configured")
        );
        assert!(!config.mcp_servers.contains_key("old"));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("`old` speaks SSE"), "{warnings:?}");
        assert!(warnings[1].contains("`mine`"), "{warnings:?}");
    }
}
