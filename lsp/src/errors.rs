//! Every JSON-RPC error a handler returns is built here, so a code means one
//! thing everywhere: `-32602` (invalid params) when the client named something
//! that does not exist or sent a value out of range, `-32803` (request failed,
//! `ext::REQUEST_FAILED`) when the request was valid but could not be done.
//! The transport's own framing errors (`-32700`, `-32600`) live in `transport`.

use std::fmt::Display;

use lsp_types::Uri;
use tower_lsp_server::jsonrpc::{Error, ErrorCode};

use crate::ext;
use crate::tasks::TaskError;

/// The client sent a value the request cannot take.
pub(crate) fn invalid_params(message: impl Display) -> Error {
    Error::invalid_params(message.to_string())
}

/// Something that cannot happen did: the server's own fault.
pub(crate) fn internal(message: impl Display) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: message.to_string().into(),
        data: None,
    }
}

/// A request about a document the client never opened (or closed).
pub(crate) fn unknown_document(uri: &Uri) -> Error {
    invalid_params(format_args!("unknown document {}", uri.as_str()))
}

/// A request about a URI that is not a file on disk (`untitled:`, `http:`).
pub(crate) fn not_a_file(uri: &Uri) -> Error {
    invalid_params(format_args!("{} is not a file", uri.as_str()))
}

/// A task error: the client named a thread or approval that does not exist
/// (invalid params), or the server could not do what was asked (request failed).
pub(crate) fn from_task(error: TaskError) -> Error {
    let code = match error {
        TaskError::UnknownThread(_)
        | TaskError::UnknownApproval(_)
        | TaskError::UnknownChange(_) => ErrorCode::InvalidParams,
        _ => ErrorCode::ServerError(ext::REQUEST_FAILED),
    };
    Error {
        code,
        message: error.to_string().into(),
        data: None,
    }
}
