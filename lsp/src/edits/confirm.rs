//! Confirming that an edit really landed. `applied: true` proves nothing (Neovim
//! answers it even when it dropped a stale edit), so the server compares the
//! buffer after each didChange with the text the edit should have produced.

use lsp_types::Uri;
use ropey::Rope;

use crate::document::DocumentSnapshot;

/// A fingerprint of a text: its length and a 64-bit FNV-1a hash of its bytes.
/// Not collision-proof against an adversary, which the user's own typing is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentHash {
    len: usize,
    hash: u64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl ContentHash {
    pub fn of_str(text: &str) -> ContentHash {
        ContentHash {
            len: text.len(),
            hash: fnv(FNV_OFFSET, text.as_bytes()),
        }
    }

    /// The same value as `of_str` on the rope's text, without copying it.
    pub fn of_rope(rope: &Rope) -> ContentHash {
        let hash = rope
            .chunks()
            .fold(FNV_OFFSET, |hash, chunk| fnv(hash, chunk.as_bytes()));
        ContentHash {
            len: rope.len_bytes(),
            hash,
        }
    }

    /// Whether `rope` holds the text this fingerprint was taken of; cheap when
    /// the lengths differ.
    pub fn matches(&self, rope: &Rope) -> bool {
        rope.len_bytes() == self.len && ContentHash::of_rope(rope) == *self
    }
}

fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// What a buffer should look like once an edit sent to it has landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedState {
    /// The document, as the editor names it.
    pub uri: Uri,
    /// The version the edit was computed against; `None` when the edit goes to a
    /// document the editor opens for it (a created or renamed file).
    pub version_before: Option<i32>,
    /// The exact version the edit should produce, when known. Editors bump the
    /// version by different amounts (Neovim by its `changedtick`), so the plan
    /// leaves it `None`: any later version with the right text counts.
    pub version_after: Option<i32>,
    /// The text the edit should produce.
    pub content_hash: ContentHash,
}

/// Where a buffer stands with respect to an edit sent to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// The buffer holds exactly the text the edit produces.
    Landed,
    /// The buffer is still at the version the edit was computed against.
    NotYet,
    /// The buffer moved on to other text: the editor dropped or altered the edit,
    /// the user typed too, or the edit arrives in several didChanges and this is
    /// one in between. Final only once the server stops waiting.
    Diverged { version: i32 },
}

impl ExpectedState {
    /// Checks `snapshot` (the document named by `uri`, after a didChange or a
    /// didOpen) against the expectation.
    pub fn confirm(&self, snapshot: &DocumentSnapshot) -> Confirmation {
        let version = snapshot.version();
        let version_fits = self
            .version_after
            .is_none_or(|version_after| version == version_after);
        if version_fits && self.content_hash.matches(snapshot.text()) {
            return Confirmation::Landed;
        }
        match self.version_before {
            Some(before) if version <= before => Confirmation::NotYet,
            _ => Confirmation::Diverged { version },
        }
    }
}
