//! MCP servers' tools behind the same interface as the built-in tools, on the
//! official Rust SDK (`rmcp`). An [`McpHub`] holds the servers of one workspace
//! (`[mcp_servers]` and `.mcp.json`); threads list their tools into the prompt
//! (`SERVER__tool`, sorted, after the built-in tools) and call them through it.
//!
//! - `server`: one server: start (stdio through the `CommandRunner`, so in the
//!   sandbox; or streamable HTTP), tool listing, calls with a timeout, one
//!   restart after an exit, stderr to the log;
//! - `names`: the model's names and specs of the tools;
//! - `output`: a result as the text the model reads, within a budget;
//! - `project_file`: `.mcp.json`.
//!
//! The hub is shared by every thread of a workspace; a server's process lives
//! as long as the hub (dropping the last handle kills it).

mod names;
mod output;
mod project_file;
mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{Config, McpApproval, McpServerConfig, McpStartup};
use crate::model::ToolSpec;
use crate::process::CommandRunner;

pub use names::is_mcp_tool_name;
pub use project_file::{read_project_file, PROJECT_FILE};

use server::{Launch, Server};

/// How the hub reads environment variables (a bearer token's).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Why an MCP tool call did not give a result. Every variant goes back to the
/// model as the call's output (marked as an error) and the turn goes on; none
/// is retried (a call may have had effects before it failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// The server could not be started (or is down after its one restart).
    #[error("the MCP server `{server}` is not available: {message}")]
    NotRunning { server: String, message: String },
    /// No answer within `tool_timeout_secs`.
    #[error("the MCP server `{server}` did not answer the call of `{tool}` within {secs} s (tool_timeout_secs); the call was abandoned")]
    Timeout {
        server: String,
        tool: String,
        secs: u64,
    },
    /// The server exited during the call.
    #[error("the MCP server `{server}` exited during the call of `{tool}`{}; the call was not retried{stderr}", if *.restarted { " and was restarted" } else { " and could not be restarted" })]
    Exited {
        server: String,
        tool: String,
        restarted: bool,
        stderr: String,
    },
    /// The server answered with a JSON-RPC error, or something the SDK refused.
    #[error("the MCP server `{server}` refused the call of `{tool}`: {message}")]
    Refused {
        server: String,
        tool: String,
        message: String,
    },
}

/// Where a server stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum McpServerState {
    /// Not started yet (`startup = "lazy"` and no turn has needed it).
    #[default]
    NotStarted,
    Starting,
    Ready,
    /// It did not start, or exited again after its restart; `error` says why.
    Failed,
    /// `enabled = false`.
    Disabled,
}

/// One server as a front end shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpServerStatus {
    pub name: String,
    /// `stdio` or `http`.
    pub transport: String,
    /// The program and arguments, or the URL.
    pub target: String,
    /// `config` or the path of the `.mcp.json` that defines it.
    pub source: String,
    pub state: McpServerState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How often it was restarted after exiting (at most once).
    pub restarts: u32,
    /// The sandbox a stdio server runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// The tools offered, as the model calls them.
    pub tools: Vec<String>,
}

/// What a thread needs to know about a tool before calling it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpToolInfo {
    pub server: String,
    /// The tool's own name on its server.
    pub tool: String,
    pub approval: McpApproval,
    /// The tool says it only reads (`readOnlyHint`).
    pub read_only: bool,
    /// Its server is a stdio process in an enforcing sandbox.
    pub confined: bool,
}

/// The tools of every server that is up, and why the others are not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct McpTools {
    /// Sorted by name.
    pub specs: Vec<ToolSpec>,
    /// Per server that could not give its tools: its name and why.
    pub failures: Vec<(String, String)>,
    /// Tools that servers listed but that are not offered, and why (a schema
    /// no model accepts), for the user.
    pub left_out: Vec<String>,
}

/// The MCP servers of one workspace. Cheap to clone.
#[derive(Clone, Default)]
pub struct McpHub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    servers: Vec<Arc<Server>>,
    /// Problems reading `.mcp.json`.
    problems: Vec<String>,
    /// The runner cannot confine anything on this machine.
    unconfined: bool,
    /// What the hub was built from, to tell whether a new configuration needs
    /// a new hub.
    key: String,
}

impl McpHub {
    /// The servers of `config.mcp_servers` and `<root>/.mcp.json`. Nothing
    /// starts yet (see [`McpHub::start_eager`]). Stdio servers run through
    /// `runner` in `[sandbox] policy` (or their own `sandbox`); `unconfined`
    /// says the runner cannot confine anything here.
    pub fn new(
        config: &Config,
        root: &Path,
        runner: Arc<dyn CommandRunner>,
        env: EnvLookup,
        unconfined: bool,
    ) -> McpHub {
        let (from_file, problems, _) = read_project_file(root);
        let key = hub_key(config, root, &from_file);
        let merged = project_file::merge_servers(from_file, &config.mcp_servers);
        let servers = merged
            .into_iter()
            .map(|(name, (server, from_project_file))| {
                let policy = server.sandbox.unwrap_or(config.sandbox.policy);
                let launch = Launch {
                    runner: runner.clone(),
                    root: root.to_path_buf(),
                    policy,
                    env: env.clone(),
                };
                Arc::new(Server::new(name, server, from_project_file, launch))
            })
            .collect();
        for problem in &problems {
            tracing::warn!(%problem, "MCP servers");
        }
        McpHub {
            inner: Arc::new(HubInner {
                servers,
                problems,
                unconfined,
                key: format!("{key}|unconfined={unconfined}"),
            }),
        }
    }

    /// Whether a hub built from `config` for `root` now would be this one
    /// (the same servers, sandbox and `.mcp.json`).
    pub fn is_current(&self, config: &Config, root: &Path, unconfined: bool) -> bool {
        let (from_file, _, _) = read_project_file(root);
        self.inner.key
            == format!(
                "{}|unconfined={unconfined}",
                hub_key(config, root, &from_file)
            )
    }

    pub fn is_empty(&self) -> bool {
        self.inner.servers.is_empty()
    }

    /// What was wrong with `.mcp.json`, for the user.
    pub fn problems(&self) -> &[String] {
        &self.inner.problems
    }

    /// Start the servers configured with `startup = "eager"`, in the background.
    pub fn start_eager(&self) {
        for server in &self.inner.servers {
            if server.config.enabled && server.config.startup == McpStartup::Eager {
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = server.tools(false).await;
                });
            }
        }
    }

    /// Every server, sorted by name, as it stands now. Cheap: no await.
    pub fn status(&self) -> Vec<McpServerStatus> {
        self.inner
            .servers
            .iter()
            .map(|server| {
                let view = server.view();
                let config = &server.config;
                let (transport, target) = match (&config.command, &config.url) {
                    (Some(command), _) => {
                        let mut argv = vec![command.clone()];
                        argv.extend(config.args.iter().cloned());
                        ("stdio", argv.join(" "))
                    }
                    (None, Some(url)) => ("http", url.clone()),
                    (None, None) => ("none", String::new()),
                };
                McpServerStatus {
                    name: server.name.clone(),
                    transport: transport.to_string(),
                    target,
                    source: if server.from_project_file {
                        PROJECT_FILE.to_string()
                    } else {
                        "config".to_string()
                    },
                    state: view.state,
                    error: view.error,
                    restarts: view.restarts,
                    sandbox: server
                        .is_stdio()
                        .then(|| server.policy().as_str().to_string()),
                    tools: view.tools.into_iter().map(|(name, _, _)| name).collect(),
                }
            })
            .collect()
    }

    /// The tools of every enabled server, starting those not started (all at
    /// once, each within its `startup_timeout_secs`). `retry_failed` tries
    /// again the servers whose start failed (a new thread does).
    pub async fn tools(&self, retry_failed: bool) -> McpTools {
        let results = futures::future::join_all(
            self.inner
                .servers
                .iter()
                .map(|server| async move { (server, server.tools(retry_failed).await) }),
        )
        .await;
        let mut tools = McpTools::default();
        for (server, result) in results {
            if result.is_ok() {
                tools.left_out.extend(server.view().left_out);
            }
            match result {
                Ok(listed) => tools.specs.extend(
                    listed
                        .iter()
                        .map(|tool| names::tool_spec(&server.name, tool)),
                ),
                Err(message) => tools.failures.push((server.name.clone(), message)),
            }
        }
        tools.specs.sort_by(|a, b| a.name.cmp(&b.name));
        tools.specs.dedup_by(|a, b| a.name == b.name);
        tools
    }

    /// The tool the model calls `qualified`, among those listed last.
    pub fn tool_info(&self, qualified: &str) -> Option<McpToolInfo> {
        self.inner.servers.iter().find_map(|server| {
            let view = server.view();
            let (_, tool, read_only) = view
                .tools
                .into_iter()
                .find(|(name, _, _)| name == qualified)?;
            Some(McpToolInfo {
                server: server.name.clone(),
                tool,
                approval: server.config.approval,
                read_only,
                confined: server.is_stdio()
                    && server.policy().is_enforcing()
                    && !self.inner.unconfined,
            })
        })
    }

    /// Call the tool the model calls `qualified` with `arguments` (a JSON
    /// object, or empty for none). Answers the text for the model and whether
    /// the tool reported an error.
    pub async fn call(&self, qualified: &str, arguments: &str) -> Result<(String, bool), McpError> {
        let info = self.tool_info(qualified);
        let server = info.as_ref().and_then(|info| {
            self.inner
                .servers
                .iter()
                .find(|server| server.name == info.server)
        });
        let (Some(info), Some(server)) = (info, server) else {
            return Err(McpError::NotRunning {
                server: qualified
                    .split(names::SEPARATOR)
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                message: format!("it offers no tool `{qualified}` now"),
            });
        };
        let arguments = if arguments.trim().is_empty() {
            None
        } else {
            match serde_json::from_str::<serde_json::Value>(arguments) {
                Ok(serde_json::Value::Object(map)) => Some(map),
                Ok(other) => {
                    return Err(McpError::Refused {
                        server: info.server,
                        tool: info.tool,
                        message: format!("the arguments must be a JSON object, not {other}"),
                    })
                }
                Err(error) => {
                    return Err(McpError::Refused {
                        server: info.server,
                        tool: info.tool,
                        message: format!("the arguments are not JSON: {error}"),
                    })
                }
            }
        };
        let result = server.call(&info.tool, arguments).await?;
        Ok(output::result_text(&result))
    }
}

/// What a hub is built from, as text to compare.
fn hub_key(config: &Config, root: &Path, from_file: &BTreeMap<String, McpServerConfig>) -> String {
    let root: PathBuf = root.to_path_buf();
    format!(
        "{}|{}|{}|{:?}|{}",
        root.display(),
        serde_json::to_string(&config.mcp_servers).unwrap_or_default(),
        serde_json::to_string(from_file).unwrap_or_default(),
        config.sandbox.pass_env,
        config.sandbox.policy,
    )
}
