//! Keeps a command's output for the model within a fixed size: the first and the
//! last bytes survive (the command line echo and the final error are what matter),
//! the middle is replaced by a marker saying how much was dropped.

use std::collections::VecDeque;

pub(crate) struct HeadTailCapture {
    head_cap: usize,
    tail_cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    omitted: u64,
}

impl HeadTailCapture {
    /// Keeps at most `cap` bytes of output (plus the marker), half from the start,
    /// half from the end.
    pub(crate) fn new(cap: usize) -> Self {
        let head_cap = cap / 2;
        HeadTailCapture {
            head_cap,
            tail_cap: cap - head_cap,
            head: Vec::new(),
            tail: VecDeque::new(),
            omitted: 0,
        }
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < self.head_cap {
            let room = (self.head_cap - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..room]);
            bytes = &bytes[room..];
        }
        if bytes.is_empty() {
            return;
        }
        self.tail.extend(bytes);
        if self.tail.len() > self.tail_cap {
            let excess = self.tail.len() - self.tail_cap;
            self.tail.drain(..excess);
            self.omitted += excess as u64;
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        let mut out = self.head;
        if self.omitted > 0 {
            out.extend_from_slice(
                format!("\n[agentls: {} bytes of output omitted]\n", self.omitted).as_bytes(),
            );
        }
        out.extend(self.tail);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_capture_keeps_everything_under_the_cap() {
        let mut capture = HeadTailCapture::new(10);
        capture.push(b"abc");
        capture.push(b"defghij");
        assert_eq!(capture.finish(), b"abcdefghij");
    }

    #[test]
    fn sandbox_capture_keeps_head_and_tail_over_the_cap() {
        let mut capture = HeadTailCapture::new(8);
        for chunk in [&b"0123"[..], b"456789", b"ABCDEF"] {
            capture.push(chunk);
        }
        assert_eq!(
            String::from_utf8(capture.finish()).unwrap(),
            "0123\n[agentls: 8 bytes of output omitted]\nCDEF"
        );
    }
}
