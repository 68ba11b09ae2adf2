//! One file per ACP method. Each is a plain function over the connection's
//! `AcpState`; handlers never import each other. Requests that need the client
//! or the model (`session/new`, `session/load`, `session/prompt`) answer from a
//! task of their own: the SDK's dispatch loop waits for a handler to return,
//! and the client's answers (file reads, permission) arrive through it.

pub(crate) mod cancel;
pub(crate) mod initialize;
pub(crate) mod load_session;
pub(crate) mod new_session;
pub(crate) mod prompt;
