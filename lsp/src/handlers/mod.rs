//! One module per LSP method, each a plain function over the `World`. Handlers
//! never import each other: what several share lives in a named module above
//! them (`validate`, `launch`, `context_page`, `notice`).

pub(crate) mod approve;
pub(crate) mod code_action;
pub(crate) mod completion;
pub(crate) mod context;
pub(crate) mod did_change;
pub(crate) mod did_change_configuration;
pub(crate) mod did_change_watched_files;
pub(crate) mod did_close;
pub(crate) mod did_open;
pub(crate) mod did_save;
pub(crate) mod document_state;
pub(crate) mod execute_command;
pub(crate) mod initialize;
pub(crate) mod initialized;
pub(crate) mod inline_completion;
pub(crate) mod mcp_servers;
pub(crate) mod progress_cancel;
pub(crate) mod thread_list;
pub(crate) mod thread_resume;
pub(crate) mod thread_start;
pub(crate) mod turn_interrupt;
pub(crate) mod turn_start;
pub(crate) mod turn_steer;
pub(crate) mod undo;
