//! Test support for the format modules: an SSE body decoded through
//! [`decode_sse`] in chunks of a chosen size (a decoder must give the same events
//! however the bytes arrive), and the events shown one a line for snapshots.

use bytes::Bytes;
use futures::StreamExt;

use super::{decode_sse, WireFormat};
use crate::model::{ProviderError, ResponseEvent};

pub(crate) fn decode_in_chunks(
    format: WireFormat,
    text: &str,
    chunk_size: usize,
) -> Vec<Result<ResponseEvent, ProviderError>> {
    let chunks: Vec<Result<Bytes, ProviderError>> = text
        .as_bytes()
        .chunks(chunk_size)
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();
    futures::executor::block_on(decode_sse(format, futures::stream::iter(chunks)).collect())
}

/// Decodes `text` in chunks of 4 KiB, asserts that chunks of each of `sizes` give
/// the same events, and returns them.
pub(crate) fn decode_in_chunks_of_every_size(
    format: WireFormat,
    text: &str,
    sizes: &[usize],
) -> Vec<Result<ResponseEvent, ProviderError>> {
    let events = decode_in_chunks(format, text, 4096);
    for &chunk_size in sizes {
        assert_eq!(
            decode_in_chunks(format, text, chunk_size),
            events,
            "chunks of {chunk_size}"
        );
    }
    events
}

pub(crate) fn show(events: &[Result<ResponseEvent, ProviderError>]) -> String {
    events.iter().map(|event| format!("{event:?}\n")).collect()
}
