//! Throughput of SSE parsing plus decoding, per wire format: the recorded samples'
//! events repeated into a ~1 MiB answer, fed in 8 KiB chunks as a socket would.
//! Run: `cargo bench -p agentls-core --bench sse`.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use futures::StreamExt;

use agentls_core::model::{ProviderError, ResponseEvent};
use agentls_core::provider::{decode_sse, WireFormat};

const TARGET_BYTES: usize = 1 << 20;
const CHUNK: usize = 8 * 1024;

/// The sample split into events, with the opening `head` and closing `tail`
/// events kept once and the rest repeated up to `TARGET_BYTES`.
fn long_stream(sample: &str, head: usize, tail: usize) -> Bytes {
    let events: Vec<String> = sample.split_inclusive("\n\n").map(str::to_string).collect();
    let body = &events[head..events.len() - tail];
    let mut stream = events[..head].concat();
    while stream.len() < TARGET_BYTES {
        stream.extend(body.iter().map(String::as_str));
    }
    stream.extend(events[events.len() - tail..].iter().map(String::as_str));
    Bytes::from(stream)
}

fn chunks(stream: &Bytes) -> Vec<Result<Bytes, ProviderError>> {
    (0..stream.len())
        .step_by(CHUNK)
        .map(|start| Ok(stream.slice(start..(start + CHUNK).min(stream.len()))))
        .collect()
}

fn decode_all(format: WireFormat, chunks: Vec<Result<Bytes, ProviderError>>) -> usize {
    futures::executor::block_on(decode_sse(format, futures::stream::iter(chunks)).fold(
        0,
        |count, event| {
            assert!(
                event.is_ok(),
                "the benchmark stream decodes cleanly: {event:?}"
            );
            let completed = matches!(event, Ok(ResponseEvent::Completed { .. }));
            async move { count + 1 + usize::from(completed) }
        },
    ))
}

fn bench(criterion: &mut Criterion) {
    let cases = [
        (
            "openai-responses",
            WireFormat::OpenAiResponses,
            long_stream(
                include_str!(
                    "../../tests/fixtures/wire/openai-responses-text-and-two-tool-calls.sse"
                ),
                2,
                1,
            ),
        ),
        (
            "openai-chat",
            WireFormat::OpenAiChat,
            long_stream(
                include_str!(
                    "../../tests/fixtures/wire/chat-completions-text-and-two-tool-calls.sse"
                ),
                1,
                3,
            ),
        ),
        (
            "anthropic",
            WireFormat::Anthropic,
            long_stream(
                include_str!(
                    "../../tests/fixtures/wire/anthropic-messages-text-and-two-tool-uses.sse"
                ),
                1,
                2,
            ),
        ),
    ];
    let mut group = criterion.benchmark_group("sse_decode");
    for (name, format, stream) in cases {
        let chunks = chunks(&stream);
        group.throughput(Throughput::Bytes(stream.len() as u64));
        group.bench_function(name, |bencher| {
            bencher.iter(|| black_box(decode_all(format, chunks.clone())));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
