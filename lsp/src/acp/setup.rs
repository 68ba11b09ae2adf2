//! The agent of one ACP session: the configuration read for the session's
//! working directory (as `agentls exec` reads it: the user's file, the
//! workspace's `.agentls.toml`, the `AGENTLS_*` variables), the provider it
//! picks, the sandboxed runner, and the session's `ClientWorkspace`.

use std::path::Path;
use std::sync::Arc;

use agentls_core::agent::Agent;
use agentls_core::provider;
use agentls_core::sandbox::SandboxedRunner;

use super::client_fs::{ClientFiles, ClientWorkspace};
use super::state::AcpState;
use crate::exec::{exec_config, ExecArgs};

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
    let (config, mut warnings) = exec_config(&ExecArgs::default(), &root, env)
        .map_err(|error| SetupError::Configuration(error.to_string()))?;
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
    let agent = Agent::new(
        config,
        provider,
        workspace.clone(),
        Arc::new(runner),
        data_dir,
    )
    .with_unconfined_commands(unconfined);
    Ok(SessionAgent {
        agent,
        workspace,
        warnings,
    })
}
