//! The references of one file as the index keeps them: each distinct name
//! once, and the lines it is used on, ascending, as varint deltas (a byte or
//! two a use, where a [`Reference`] takes 56). The index answers with names
//! and lines (the name postings, `find_references`); a use's kind, bytes and
//! qualifier are read afresh from the text by what needs them (selection
//! extracts the cursor's file). In the memory bench's 1,000 files, 171,690
//! references take about 1.1 MiB as uses, names included (2.0 MiB as
//! 8-byte pairs of name number and line, 9.2 MiB as references).

use std::collections::HashMap;
use std::sync::Arc;

use super::symbol::Reference;

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Uses {
    /// Distinct, sorted; shared with the extraction's references and the
    /// index's name map.
    names: Box<[Arc<str>]>,
    /// Where each name's lines start in `lines`, and where the last ends.
    starts: Box<[u32]>,
    /// Each name's 1-based lines, ascending, a line once per use: the
    /// difference from the one before (the first from 0) in LEB128.
    lines: Box<[u8]>,
    count: u32,
}

impl Uses {
    pub(crate) fn new(references: &[Reference]) -> Uses {
        let mut by_name: HashMap<&Arc<str>, Vec<u32>> = HashMap::new();
        for reference in references {
            by_name
                .entry(&reference.name)
                .or_default()
                .push(reference.line);
        }
        let mut names: Vec<(&Arc<str>, Vec<u32>)> = by_name.into_iter().collect();
        names.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut starts = Vec::with_capacity(names.len() + 1);
        let mut lines = Vec::new();
        for (_, used) in &mut names {
            starts.push(lines.len() as u32);
            used.sort_unstable();
            let mut previous = 0;
            for &line in used.iter() {
                push_varint(&mut lines, line - previous);
                previous = line;
            }
        }
        starts.push(lines.len() as u32);
        Uses {
            names: names.iter().map(|(name, _)| Arc::clone(name)).collect(),
            starts: starts.into_boxed_slice(),
            lines: lines.into_boxed_slice(),
            count: references.len() as u32,
        }
    }

    /// The distinct names used, sorted.
    pub(crate) fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    /// How many uses.
    pub(crate) fn len(&self) -> usize {
        self.count as usize
    }

    /// Replaces each name `known` already holds (the index's name map) by
    /// that allocation, so a name used in many files is kept once: each file's
    /// extraction allocates its own.
    pub(crate) fn share_names(&mut self, known: impl Fn(&str) -> Option<Arc<str>>) {
        for name in self.names.iter_mut() {
            if let Some(shared) = known(name) {
                *name = shared;
            }
        }
    }

    /// The lines `name` is used on, ascending, a line once per use.
    pub(crate) fn lines_of(&self, name: &str) -> impl Iterator<Item = u32> + '_ {
        let bytes = match self.names.binary_search_by(|probe| (**probe).cmp(name)) {
            Ok(number) => {
                &self.lines[self.starts[number] as usize..self.starts[number + 1] as usize]
            }
            Err(_) => &[],
        };
        let mut rest = bytes;
        let mut line = 0;
        std::iter::from_fn(move || {
            let delta = take_varint(&mut rest)?;
            line += delta;
            Some(line)
        })
    }
}

/// Appends `value` in LEB128: seven bits a byte, low first, the high bit set
/// on all but the last.
fn push_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The next LEB128 value of `bytes`, which it moves past.
fn take_varint(bytes: &mut &[u8]) -> Option<u32> {
    let mut value = 0u32;
    let mut shift = 0;
    loop {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::symbol::ReferenceKind;

    fn reference(name: &str, line: u32) -> Reference {
        Reference {
            name: name.into(),
            kind: ReferenceKind::Call,
            line,
            bytes: 0..name.len(),
            qualifier: None,
        }
    }

    #[test]
    fn uses_give_each_name_its_lines_in_file_order() {
        let references = [
            reference("run", 3),
            reference("Config", 4),
            reference("run", 4),
            reference("run", 4),
            reference("Arc", 9),
        ];
        let uses = Uses::new(&references);
        let names: Vec<&str> = uses.names().iter().map(|name| &**name).collect();
        assert_eq!(names, ["Arc", "Config", "run"]);
        assert_eq!(uses.lines_of("run").collect::<Vec<_>>(), [3, 4, 4]);
        assert_eq!(uses.lines_of("Config").collect::<Vec<_>>(), [4]);
        assert_eq!(uses.lines_of("Arc").collect::<Vec<_>>(), [9]);
        assert_eq!(uses.lines_of("missing").count(), 0);
        assert_eq!(uses.len(), 5);
        assert_eq!(Uses::new(&[]).lines_of("run").count(), 0);
    }

    #[test]
    fn far_apart_and_repeated_lines_come_back_as_they_were_used() {
        let lines = [1, 1, 127, 128, 300, 16_384, 16_384, 2_000_000, u32::MAX];
        let references: Vec<Reference> = lines.iter().map(|line| reference("x", *line)).collect();
        let uses = Uses::new(&references);
        assert_eq!(uses.lines_of("x").collect::<Vec<_>>(), lines);
        assert_eq!(uses.len(), lines.len());
    }

    #[test]
    fn shared_names_keep_the_uses_and_take_the_known_allocation() {
        let known: Arc<str> = Arc::from("run");
        let mut uses = Uses::new(&[reference("run", 2), reference("other", 3)]);
        uses.share_names(|name| (name == "run").then(|| Arc::clone(&known)));
        let run = uses.names().iter().find(|name| &***name == "run").unwrap();
        assert!(Arc::ptr_eq(run, &known));
        assert_eq!(uses.lines_of("run").collect::<Vec<_>>(), [2]);
        assert_eq!(uses.lines_of("other").collect::<Vec<_>>(), [3]);
    }
}
