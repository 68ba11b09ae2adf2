//! One MCP server: started on first need (stdio through the command runner,
//! so in the sandbox; or streamable HTTP), its tools listed and re-listed when
//! it announces a change, calls bounded by `tool_timeout_secs`, restarted once
//! after it exits, its stderr logged line by line.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    ProtocolVersion, Tool,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceError, ServiceExt};

use super::names::qualified_name;
use super::{EnvLookup, McpError, McpServerState};
use crate::config::McpServerConfig;
use crate::process::{CommandRunner, SandboxPolicy, ServerSpec};

/// The stderr lines kept to explain a server that would not start.
const STDERR_TAIL_LINES: usize = 8;
/// How long an exited server's last stderr lines are waited for.
const STDERR_DRAIN: Duration = Duration::from_millis(500);
/// A stderr line longer than this is logged cut.
const STDERR_LINE_BYTES: usize = 4096;

/// How a server's process is started.
#[derive(Clone)]
pub(crate) struct Launch {
    pub(crate) runner: Arc<dyn CommandRunner>,
    pub(crate) root: PathBuf,
    /// The sandbox a stdio server runs in.
    pub(crate) policy: SandboxPolicy,
    pub(crate) env: EnvLookup,
}

/// What a status request shows of a server, updated at each change.
#[derive(Clone, Debug, Default)]
pub(crate) struct View {
    pub(crate) state: McpServerState,
    pub(crate) error: Option<String>,
    pub(crate) restarts: u32,
    /// Offered tools: the qualified name, the server's name, whether it says
    /// it only reads.
    pub(crate) tools: Vec<(String, String, bool)>,
    /// Why tools the server listed are not offered (a schema no model
    /// accepts), one message each.
    pub(crate) left_out: Vec<String>,
}

enum Conn {
    Idle,
    /// `generation` counts the starts, to tell whether a call's session is
    /// still the current one when it fails.
    Ready {
        service: Box<RunningService<RoleClient, Handler>>,
        generation: u64,
    },
    /// `permanent`: it exited again after its restart; only a new hub (a
    /// configuration change, a restart of agentls) tries it again.
    Failed {
        message: String,
        permanent: bool,
    },
}

pub(crate) struct Server {
    pub(crate) name: String,
    pub(crate) config: McpServerConfig,
    /// Defined by the workspace's `.mcp.json`.
    pub(crate) from_project_file: bool,
    launch: Launch,
    conn: tokio::sync::Mutex<Conn>,
    view: Mutex<View>,
    /// The tools offered, as the server listed them (filtered, sorted).
    listed: Mutex<Vec<Tool>>,
    /// How often the server was started.
    starts: AtomicU64,
    /// The server announced that its tool list changed.
    stale: Arc<AtomicBool>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// The task logging the current process's stderr.
    stderr_reader: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The client side of the session: notes tool-list changes.
#[derive(Clone)]
struct Handler {
    server: String,
    stale: Arc<AtomicBool>,
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("agentls", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        tracing::info!(server = %self.server, "MCP server: tool list changed");
        self.stale.store(true, Ordering::SeqCst);
    }
}

impl Server {
    pub(crate) fn new(
        name: String,
        config: McpServerConfig,
        from_project_file: bool,
        launch: Launch,
    ) -> Server {
        let state = if config.enabled {
            McpServerState::NotStarted
        } else {
            McpServerState::Disabled
        };
        Server {
            name,
            config,
            from_project_file,
            launch,
            conn: tokio::sync::Mutex::new(Conn::Idle),
            view: Mutex::new(View {
                state,
                ..View::default()
            }),
            listed: Mutex::default(),
            starts: AtomicU64::new(0),
            stale: Arc::new(AtomicBool::new(false)),
            stderr_tail: Arc::default(),
            stderr_reader: Mutex::default(),
        }
    }

    pub(crate) fn view(&self) -> View {
        lock(&self.view).clone()
    }

    pub(crate) fn is_stdio(&self) -> bool {
        self.config.command.is_some()
    }

    pub(crate) fn policy(&self) -> SandboxPolicy {
        self.launch.policy
    }

    /// The server's offered tools, starting it when it has not started (or,
    /// with `retry_failed`, when its last start failed) and listing them again
    /// when it announced a change.
    pub(crate) async fn tools(&self, retry_failed: bool) -> Result<Vec<Tool>, String> {
        if !self.config.enabled {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.lock().await;
        if let Conn::Failed {
            permanent: false, ..
        } = &*conn
        {
            if retry_failed {
                *conn = Conn::Idle;
            }
        }
        match &*conn {
            Conn::Idle => self.connect(&mut conn).await?,
            Conn::Ready { service, .. } if service.is_closed() => {
                self.restart_after_exit(&mut conn).await?;
            }
            Conn::Ready { .. } => {}
            Conn::Failed { message, .. } => return Err(message.clone()),
        }
        let Conn::Ready { service, .. } = &*conn else {
            return Err("the server is not running".to_string());
        };
        if self.stale.swap(false, Ordering::SeqCst) {
            let timeout = self.startup_timeout();
            match tokio::time::timeout(timeout, service.list_all_tools()).await {
                Ok(Ok(tools)) => self.offer(tools),
                Ok(Err(error)) => {
                    tracing::warn!(server = %self.name, %error, "listing the changed tools failed; keeping the old list");
                }
                Err(_) => {
                    tracing::warn!(server = %self.name, "listing the changed tools timed out; keeping the old list");
                }
            }
        }
        Ok(self.offered_tools(&conn))
    }

    fn offered_tools(&self, _conn: &Conn) -> Vec<Tool> {
        lock(&self.listed).clone()
    }

    /// Call `tool`; a hang past `tool_timeout_secs`, an exit, or an error
    /// answer is an `McpError` for the model.
    pub(crate) async fn call(
        &self,
        tool: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<CallToolResult, McpError> {
        let peer = {
            let mut conn = self.conn.lock().await;
            match &*conn {
                Conn::Idle => self
                    .connect(&mut conn)
                    .await
                    .map_err(|message| self.not_running(message))?,
                Conn::Ready { service, .. } if service.is_closed() => self
                    .restart_after_exit(&mut conn)
                    .await
                    .map_err(|message| self.not_running(message))?,
                Conn::Ready { .. } => {}
                Conn::Failed { message, .. } => return Err(self.not_running(message.clone())),
            }
            match &*conn {
                Conn::Ready {
                    service,
                    generation,
                } => (service.peer().clone(), *generation),
                _ => return Err(self.not_running("the server is not running".to_string())),
            }
        };
        let (peer, generation) = peer;
        let mut params = CallToolRequestParams::new(tool.to_string());
        if let Some(arguments) = arguments {
            params = params.with_arguments(arguments);
        }
        let timeout = Duration::from_secs(self.config.tool_timeout_secs);
        match tokio::time::timeout(timeout, peer.call_tool(params)).await {
            Err(_) => Err(McpError::Timeout {
                server: self.name.clone(),
                tool: tool.to_string(),
                secs: timeout.as_secs(),
            }),
            Ok(Ok(result)) => Ok(result),
            Ok(Err(ServiceError::McpError(error))) => Err(McpError::Refused {
                server: self.name.clone(),
                tool: tool.to_string(),
                message: error.message.to_string(),
            }),
            Ok(Err(ServiceError::TransportClosed | ServiceError::TransportSend(_))) => {
                let mut conn = self.conn.lock().await;
                // What it said last, before a restart replaces it.
                self.stderr_drained().await;
                let stderr = self.stderr_hint();
                let restarted = match &*conn {
                    // Another call restarted it meanwhile.
                    Conn::Ready {
                        generation: current,
                        ..
                    } if *current != generation => true,
                    Conn::Ready { .. } => self.restart_after_exit(&mut conn).await.is_ok(),
                    _ => false,
                };
                Err(McpError::Exited {
                    server: self.name.clone(),
                    tool: tool.to_string(),
                    restarted,
                    stderr,
                })
            }
            Ok(Err(error)) => Err(McpError::Refused {
                server: self.name.clone(),
                tool: tool.to_string(),
                message: error.to_string(),
            }),
        }
    }

    fn not_running(&self, message: String) -> McpError {
        McpError::NotRunning {
            server: self.name.clone(),
            message,
        }
    }

    fn startup_timeout(&self) -> Duration {
        Duration::from_secs(self.config.startup_timeout_secs.max(1))
    }

    /// The server exited: start it again, once in the hub's life.
    async fn restart_after_exit(&self, conn: &mut Conn) -> Result<(), String> {
        self.stderr_drained().await;
        let restarts = lock(&self.view).restarts;
        let stderr = self.stderr_hint();
        if restarts >= 1 {
            let message = format!(
                "the server exited again after its restart and is not restarted again{stderr}"
            );
            tracing::warn!(server = %self.name, "MCP server exited again; not restarting it");
            *conn = Conn::Failed {
                message: message.clone(),
                permanent: true,
            };
            self.set_view(McpServerState::Failed, Some(message.clone()));
            return Err(message);
        }
        tracing::warn!(server = %self.name, "MCP server exited; restarting it once");
        lock(&self.view).restarts += 1;
        self.connect(conn).await
    }

    /// Start the server and list its tools, within `startup_timeout_secs`.
    async fn connect(&self, conn: &mut Conn) -> Result<(), String> {
        self.set_view(McpServerState::Starting, None);
        let timeout = self.startup_timeout();
        let started = tokio::time::timeout(timeout, self.start()).await;
        let mut sandbox_related = true;
        let result = match started {
            Ok(Ok((service, tools))) => {
                self.offer(tools);
                let generation = self.starts.fetch_add(1, Ordering::SeqCst) + 1;
                *conn = Conn::Ready {
                    service: Box::new(service),
                    generation,
                };
                self.set_view(McpServerState::Ready, None);
                tracing::info!(server = %self.name, n_tools = lock(&self.view).tools.len(), "MCP server ready");
                return Ok(());
            }
            Ok(Err(failure)) => {
                // The handshake fails as soon as the server's stdout closes,
                // often before its last words on stderr (the sandbox helper's
                // "cannot run ...") are read: wait for them.
                self.stderr_drained().await;
                sandbox_related = failure.sandbox_related;
                failure.message
            }
            Err(_) => format!(
                "it did not finish starting within {} s (startup_timeout_secs)",
                timeout.as_secs()
            ),
        };
        let sandbox = if sandbox_related && self.is_stdio() && self.launch.policy.is_enforcing() {
            format!(
                " (it runs in the sandbox `{}`: no network, writes only in the workspace; \
                 `sandbox = \"full-access\"` in its [mcp_servers] table runs it outside)",
                self.launch.policy
            )
        } else {
            String::new()
        };
        let message = format!("{result}{}{sandbox}", self.stderr_hint());
        tracing::warn!(server = %self.name, error = %message, "MCP server did not start");
        *conn = Conn::Failed {
            message: message.clone(),
            permanent: false,
        };
        self.set_view(McpServerState::Failed, Some(message.clone()));
        Err(message)
    }

    async fn start(
        &self,
    ) -> Result<(RunningService<RoleClient, Handler>, Vec<Tool>), StartFailure> {
        let handler = Handler {
            server: self.name.clone(),
            stale: self.stale.clone(),
        };
        let service = match (&self.config.command, &self.config.url) {
            (Some(program), None) => {
                let mut argv = vec![program.clone()];
                argv.extend(self.config.args.iter().cloned());
                let cwd = match &self.config.cwd {
                    Some(cwd) => self.launch.root.join(cwd),
                    None => self.launch.root.clone(),
                };
                let spec = ServerSpec {
                    argv,
                    cwd,
                    env: self
                        .config
                        .env
                        .iter()
                        .map(|(name, value)| (name.clone(), value.clone()))
                        .collect(),
                    pass_env: self.config.env_vars.clone(),
                    writable_roots: vec![self.launch.root.clone()],
                    policy: self.launch.policy,
                };
                let command = self
                    .launch
                    .runner
                    .server_command(&spec)
                    .map_err(|error| error.to_string())?;
                let (transport, stderr) = TokioChildProcess::builder(command)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|error| format!("could not start `{program}`: {error}"))?;
                if let Some(stderr) = stderr {
                    lock(&self.stderr_tail).clear();
                    let reader = tokio::spawn(log_stderr(
                        self.name.clone(),
                        stderr,
                        self.stderr_tail.clone(),
                    ));
                    *lock(&self.stderr_reader) = Some(reader);
                }
                handler
                    .serve(transport)
                    .await
                    .map_err(|error| format!("the MCP handshake failed: {error}"))?
            }
            (None, Some(url)) => {
                install_tls_provider();
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                if let Some(variable) = &self.config.bearer_token_env {
                    match (self.launch.env)(variable).filter(|token| !token.is_empty()) {
                        Some(token) => config = config.auth_header(token),
                        None => {
                            return Err(format!(
                                "its bearer token variable {variable} is not set (bearer_token_env)"
                            )
                            .into())
                        }
                    }
                }
                let mut headers = std::collections::HashMap::new();
                for (name, value) in &self.config.headers {
                    let name = http::HeaderName::try_from(name.as_str())
                        .map_err(|error| format!("header `{name}`: {error}"))?;
                    let value = http::HeaderValue::try_from(value.as_str())
                        .map_err(|error| format!("header `{name}`: {error}"))?;
                    headers.insert(name, value);
                }
                let config = config.custom_headers(headers);
                let transport = StreamableHttpClientTransport::from_config(config);
                handler
                    .serve(transport)
                    .await
                    .map_err(|error| format!("the MCP handshake with {url} failed: {error}"))?
            }
            (Some(_), Some(_)) => {
                return Err("it has both `command` and `url`: give one"
                    .to_string()
                    .into())
            }
            (None, None) => {
                return Err(
                    "it has neither `command` (stdio) nor `url` (streamable HTTP)"
                        .to_string()
                        .into(),
                )
            }
        };
        check_protocol_version(&service).map_err(|message| StartFailure {
            message,
            sandbox_related: false,
        })?;
        self.stale.store(false, Ordering::SeqCst);
        let tools = service
            .list_all_tools()
            .await
            .map_err(|error| format!("listing its tools failed: {error}"))?;
        Ok((service, tools))
    }

    /// Keep the tools the configuration lets through and a model can be sent
    /// (a valid input schema), sorted by name.
    fn offer(&self, tools: Vec<Tool>) {
        let mut left_out = Vec::new();
        let mut offered: Vec<Tool> = tools
            .into_iter()
            .filter(|tool| match schema_problem(tool) {
                None => true,
                Some(problem) => {
                    let message = format!(
                        "the MCP server `{}` (mcp_servers.{}) lists the tool `{}` with an input schema no model accepts ({problem}); that tool is left out",
                        self.name, self.name, tool.name
                    );
                    tracing::warn!(server = %self.name, tool = %tool.name, %problem, "MCP tool left out");
                    left_out.push(message);
                    false
                }
            })
            .filter(|tool| {
                let name = tool.name.as_ref();
                self.config
                    .enabled_tools
                    .as_ref()
                    .is_none_or(|enabled| enabled.iter().any(|wanted| wanted == name))
                    && !self.config.disabled_tools.iter().any(|off| off == name)
            })
            .collect();
        offered.sort_by(|a, b| a.name.cmp(&b.name));
        let mut view = lock(&self.view);
        view.tools = offered
            .iter()
            .map(|tool| {
                let read_only = tool
                    .annotations
                    .as_ref()
                    .and_then(|annotations| annotations.read_only_hint)
                    .unwrap_or(false);
                (
                    qualified_name(&self.name, &tool.name),
                    tool.name.to_string(),
                    read_only,
                )
            })
            .collect();
        view.left_out = left_out;
        drop(view);
        *lock(&self.listed) = offered;
    }

    fn set_view(&self, state: McpServerState, error: Option<String>) {
        let mut view = lock(&self.view);
        view.state = state;
        view.error = error;
    }

    /// Wait (briefly) until the exited server's stderr is read to its end.
    async fn stderr_drained(&self) {
        let reader = lock(&self.stderr_reader).take();
        if let Some(reader) = reader {
            let _ = tokio::time::timeout(STDERR_DRAIN, reader).await;
        }
    }

    /// The last lines the server wrote to stderr, for an error message.
    fn stderr_hint(&self) -> String {
        let tail = lock(&self.stderr_tail);
        if tail.is_empty() {
            return String::new();
        }
        let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
        format!("; its stderr ended with: {}", lines.join(" | "))
    }
}

/// Why a server did not start.
struct StartFailure {
    message: String,
    /// The sandbox may be the cause (so the message says how to run it
    /// outside): not for a server that answered in a protocol we do not speak.
    sandbox_related: bool,
}

impl From<String> for StartFailure {
    fn from(message: String) -> StartFailure {
        StartFailure {
            message,
            sandbox_related: true,
        }
    }
}

/// The MCP versions this client speaks: the SDK's.
fn supported_versions() -> impl Iterator<Item = &'static ProtocolVersion> {
    ProtocolVersion::KNOWN_VERSIONS.iter()
}

/// The protocol version the server answered must be one this client speaks
/// (the spec: a client that does not support it should disconnect); rmcp
/// itself takes any.
fn check_protocol_version(service: &RunningService<RoleClient, Handler>) -> Result<(), String> {
    let Some(info) = service.peer_info() else {
        return Err("it did not finish the MCP handshake".to_string());
    };
    let version = &info.protocol_version;
    if supported_versions().any(|supported| supported == version) {
        return Ok(());
    }
    let supported: Vec<&str> = supported_versions().map(ProtocolVersion::as_str).collect();
    Err(format!(
        "it speaks MCP protocol version `{version}`, which agentls does not (it speaks {})",
        supported.join(", ")
    ))
}

/// What makes a tool's input schema one that providers refuse (they require a
/// JSON Schema of `"type": "object"`, with `properties` an object), or `None`.
fn schema_problem(tool: &Tool) -> Option<String> {
    let schema = &tool.input_schema;
    match schema.get("type") {
        // No type is taken as an object (`names::tool_spec` says so).
        Some(serde_json::Value::String(kind)) if kind == "object" => {}
        None => {}
        Some(other) => return Some(format!("`inputSchema.type` is {other}, not \"object\"")),
    }
    match schema.get("properties") {
        None | Some(serde_json::Value::Object(_)) => None,
        Some(other) => Some(format!(
            "`inputSchema.properties` is {other}, not an object"
        )),
    }
}

/// The server's stderr, line by line, to the log; the last lines kept. Read
/// to its end whatever comes (a server blocks once the pipe is full), in
/// bounded memory: a line is kept to `STDERR_LINE_BYTES` and the rest of it
/// dropped. (`LinesCodec` would end its stream after a line too long, and the
/// reading with it.)
async fn log_stderr(
    server: String,
    mut stderr: tokio::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0u8; 8192];
    let mut line: Vec<u8> = Vec::new();
    let mut dropped = 0usize;
    let emit = |line: &mut Vec<u8>, dropped: &mut usize| {
        let mut text = String::from_utf8_lossy(line).into_owned();
        if *dropped > 0 {
            text.push_str(&format!(" [{} more bytes of this line not kept]", *dropped));
        }
        line.clear();
        *dropped = 0;
        tracing::info!(%server, "MCP server stderr: {text}");
        let mut tail = lock(&tail);
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text);
    };
    loop {
        let read = match stderr.read(&mut buffer).await {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) => {
                tracing::debug!(%server, %error, "reading the MCP server's stderr failed");
                break;
            }
        };
        for piece in buffer[..read].split_inclusive(|byte| *byte == b'\n') {
            let (content, ends) = match piece.strip_suffix(b"\n") {
                Some(content) => (content, true),
                None => (piece, false),
            };
            let room = STDERR_LINE_BYTES
                .saturating_sub(line.len())
                .min(content.len());
            line.extend_from_slice(&content[..room]);
            dropped += content.len() - room;
            if ends {
                let content = line.strip_suffix(b"\r").map(<[u8]>::len);
                if let Some(len) = content {
                    line.truncate(len);
                }
                emit(&mut line, &mut dropped);
            }
        }
    }
    if !line.is_empty() || dropped > 0 {
        emit(&mut line, &mut dropped);
    }
}

/// reqwest 0.13 (rmcp's HTTP client) is built without a TLS provider of its
/// own; it uses the process default, which is rustls's ring provider (the one
/// reqwest 0.12 builds for the model providers). Installing twice is harmless.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Poison-tolerant: the data behind these locks stays valid whatever panicked.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
