//! The text of a document that is open but not in use, kept compressed.
//!
//! A rope costs about 1.24 times its text (1 KiB leaves, partly filled, and
//! the nodes above them); zstd keeps source code in about a fifth of it. An
//! editor session opens far more files than it works in, so the store keeps
//! the text of a document only opened in this form, from didOpen on, and
//! makes a rope of it when a request reads the document or an edit changes it
//! (`DocumentStore::snapshot`, `DocumentStore::change`); background readers
//! get a rope for their snapshot only. Packing 20 KiB of source takes some
//! 60 µs and unpacking it 20 µs (LZ4, tried first, is three times as fast and
//! keeps half as much again: 0.35 of the text against 0.21 in the memory
//! bench); what is packed is checked against the text before it is kept, so
//! nothing the editor sent is ever lost to it.

use ropey::Rope;

/// Texts longer than this are kept as ropes: packing runs on the notification
/// path (didOpen), where 4 MiB takes about 12 ms.
const MAX_PACKED_BYTES: usize = 4 * 1024 * 1024;

/// zstd's level: 3, its default, where source code packs to about a fifth
/// at some 370 MB/s on this project's 2-core machine.
const LEVEL: i32 = 3;

/// A text compressed as one zstd frame.
pub(crate) struct Packed {
    bytes: Box<[u8]>,
    len: usize,
}

impl Packed {
    /// `plain` compressed, or `None` when it is over `MAX_PACKED_BYTES`, does
    /// not shrink by at least an eighth (short or already dense text is
    /// better kept as it is) or the round trip does not give it back.
    pub(crate) fn pack(plain: &str) -> Option<Packed> {
        if plain.len() > MAX_PACKED_BYTES {
            return None;
        }
        let scratch = zstd::bulk::compress(plain.as_bytes(), LEVEL).ok()?;
        if scratch.len() > plain.len() - plain.len() / 8 {
            return None;
        }
        // Exactly the compressed bytes: the scratch's worst-case capacity is
        // dropped here, not kept as slack. They are kept until the document
        // is used again: in the long-lived pool.
        let packed = Packed {
            bytes: agentls_core::long_lived::scope(|| Box::from(scratch.as_slice())),
            len: plain.len(),
        };
        drop(scratch);
        (packed.unpack_bytes().as_deref() == Some(plain.as_bytes())).then_some(packed)
    }

    /// A rope's text compressed, as [`pack`](Self::pack) does; a rope over
    /// `MAX_PACKED_BYTES` is not copied out to find that out.
    pub(crate) fn pack_rope(text: &Rope) -> Option<Packed> {
        if text.len_bytes() > MAX_PACKED_BYTES {
            return None;
        }
        Packed::pack(&text.to_string())
    }

    /// The text again. The rope's nodes are made in the long-lived pool,
    /// away from malloc's arenas: a burst of edits across a thousand files
    /// unpacks every text for the second before the sweep packs them again,
    /// and among those ropes' freed pages the arenas kept up to 4 MiB
    /// resident afterwards, pinned by the few blocks allocated between them
    /// (docs/benchmarks.md, stop 32). The pool hands whole free pages back.
    pub(crate) fn unpack(&self) -> Rope {
        let plain = self.unpack_string();
        agentls_core::long_lived::scope(|| Rope::from_str(&plain))
    }

    /// The text again, as one string.
    pub(crate) fn unpack_string(&self) -> String {
        let bytes = self
            .unpack_bytes()
            .expect("a packed text unpacks: it was checked when packed");
        String::from_utf8(bytes).expect("a packed text was UTF-8 when packed")
    }

    /// The text's length in bytes.
    pub(crate) fn len_bytes(&self) -> usize {
        self.len
    }

    /// The heap bytes held.
    pub(crate) fn packed_bytes(&self) -> usize {
        self.bytes.len()
    }

    fn unpack_bytes(&self) -> Option<Vec<u8>> {
        let plain = zstd::bulk::decompress(&self.bytes, self.len).ok()?;
        (plain.len() == self.len).then_some(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_text_packs_and_unpacks_to_the_same_text() {
        let source = "fn main() {\n    println!(\"héllo 😀\");\r\n}\n".repeat(500);
        let rope = Rope::from_str(&source);
        let packed = Packed::pack(&source).expect("repetitive source shrinks");
        assert!(packed.packed_bytes() < source.len() / 4);
        assert_eq!(packed.len_bytes(), source.len());
        assert_eq!(packed.unpack(), rope);
        assert_eq!(packed.unpack_string(), source);
        let from_rope = Packed::pack_rope(&rope).expect("the same text");
        assert_eq!(from_rope.unpack_string(), source);
    }

    #[test]
    fn text_that_does_not_shrink_is_not_packed() {
        assert!(Packed::pack("ab").is_none());
        assert!(Packed::pack("").is_none());
        // Every ASCII byte equally likely: 7 bits of 8, so at best an eighth
        // smaller, and the frame's headers take the rest.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let noise: String = (0..20_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from((state % 128) as u8)
            })
            .collect();
        assert!(Packed::pack(&noise).is_none());
    }
}
