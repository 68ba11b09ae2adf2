//! Tracing setup: stderr or a log file, never stdout (stdout is the protocol).
//! The level comes from `AGENTLS_LOG` when set, else from the `log.level` config
//! key, which can change while the server runs.

use std::path::Path;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

const DEFAULT_LEVEL: &str = "info";

static RELOAD: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();
static ENV_LEVEL_SET: OnceLock<bool> = OnceLock::new();

/// Installs the global subscriber. `log_file` appends to that file instead of
/// stderr. Safe to call more than once (later calls do nothing).
pub fn init(log_file: Option<&Path>, config_level: Option<&str>) -> std::io::Result<()> {
    let env_level = std::env::var("AGENTLS_LOG")
        .ok()
        .filter(|level| !level.is_empty());
    let _ = ENV_LEVEL_SET.set(env_level.is_some());
    let level = env_level
        .as_deref()
        .or(config_level)
        .unwrap_or(DEFAULT_LEVEL);
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new(DEFAULT_LEVEL));
    let (filter, handle) = reload::Layer::new(filter);
    let writer = match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::sync::Mutex::new(file))
        }
        None => tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_target(true),
        )
        .try_init()
        .is_ok();
    if installed {
        let _ = RELOAD.set(handle);
    }
    Ok(())
}

/// Applies `log.level` from the configuration, unless `AGENTLS_LOG` was set (the
/// environment wins) or logging was never initialised (tests in-process).
pub(crate) fn set_level_from_config(level: Option<&str>) {
    if ENV_LEVEL_SET.get().copied().unwrap_or(false) {
        return;
    }
    let Some(handle) = RELOAD.get() else { return };
    let level = level.unwrap_or(DEFAULT_LEVEL);
    match EnvFilter::try_new(level) {
        Ok(filter) => {
            if let Err(error) = handle.reload(filter) {
                tracing::warn!(%error, "could not change the log level");
            }
        }
        Err(error) => tracing::warn!(%error, level, "invalid log level in the configuration"),
    }
}
