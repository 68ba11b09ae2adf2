//! The references of one file as the index keeps them: each distinct name
//! once, and the lines it is used on, ascending, as varint deltas (a byte or
//! two a use, where a [`Reference`] takes 56). The index answers with names
//! and lines (the name postings, `find_references`); a use's kind, bytes and
//! qualifier are read afresh from the text by what needs them (selection
//! extracts the cursor's file). In the memory bench's 1,000 files, 171,690
//! references take about 0.6 MiB as uses, name numbers included (2.0 MiB
//! as 8-byte pairs of name number and line with a shared name per file and
//! name, 9.2 MiB as references).

use std::collections::HashMap;

use super::names::NameId;
use super::symbol::Reference;

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Uses {
    /// The distinct names used, by number (the index's [`Names`]), ascending.
    ///
    /// [`Names`]: super::names::Names
    names: Box<[NameId]>,
    /// Where each name's lines start in `lines`, and where the last ends.
    starts: Box<[u32]>,
    /// Each name's 1-based lines, ascending, a line once per use: the
    /// difference from the one before (the first from 0) in LEB128.
    lines: Box<[u8]>,
    count: u32,
}

impl Uses {
    /// The uses of `references`, whose names `number` numbers.
    pub(crate) fn new(references: &[Reference], mut number: impl FnMut(&str) -> NameId) -> Uses {
        let mut by_name: HashMap<&str, Vec<u32>> = HashMap::new();
        for reference in references {
            by_name
                .entry(&reference.name)
                .or_default()
                .push(reference.line);
        }
        let mut names: Vec<(NameId, Vec<u32>)> = by_name
            .into_iter()
            .map(|(name, lines)| (number(name), lines))
            .collect();
        names.sort_unstable_by_key(|(id, _)| *id);
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
            names: names.iter().map(|(id, _)| *id).collect(),
            starts: starts.into_boxed_slice(),
            lines: lines.into_boxed_slice(),
            count: references.len() as u32,
        }
    }

    /// The distinct names used, by number, ascending.
    pub(crate) fn names(&self) -> &[NameId] {
        &self.names
    }

    /// How many uses.
    pub(crate) fn len(&self) -> usize {
        self.count as usize
    }

    /// The lines name `id` is used on, ascending, a line once per use.
    pub(crate) fn lines_of(&self, id: NameId) -> impl Iterator<Item = u32> + '_ {
        let bytes = match self.names.binary_search(&id) {
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

    /// Numbers names in the order first asked, as the index's names do.
    fn numbering() -> impl FnMut(&str) -> NameId {
        let mut known: Vec<String> = Vec::new();
        move |name| match known.iter().position(|held| held == name) {
            Some(id) => id as NameId,
            None => {
                known.push(name.to_string());
                (known.len() - 1) as NameId
            }
        }
    }

    #[test]
    fn uses_give_each_name_its_lines_in_file_order() {
        let mut number = numbering();
        let (arc, config, run) = (number("Arc"), number("Config"), number("run"));
        let references = [
            reference("run", 3),
            reference("Config", 4),
            reference("run", 4),
            reference("run", 4),
            reference("Arc", 9),
        ];
        let uses = Uses::new(&references, &mut number);
        assert_eq!(uses.names(), [arc, config, run]);
        assert_eq!(uses.lines_of(run).collect::<Vec<_>>(), [3, 4, 4]);
        assert_eq!(uses.lines_of(config).collect::<Vec<_>>(), [4]);
        assert_eq!(uses.lines_of(arc).collect::<Vec<_>>(), [9]);
        assert_eq!(uses.lines_of(number("missing")).count(), 0);
        assert_eq!(uses.len(), 5);
        assert_eq!(Uses::new(&[], &mut number).lines_of(run).count(), 0);
    }

    #[test]
    fn far_apart_and_repeated_lines_come_back_as_they_were_used() {
        let lines = [1, 1, 127, 128, 300, 16_384, 16_384, 2_000_000, u32::MAX];
        let references: Vec<Reference> = lines.iter().map(|line| reference("x", *line)).collect();
        let uses = Uses::new(&references, numbering());
        assert_eq!(uses.lines_of(0).collect::<Vec<_>>(), lines);
        assert_eq!(uses.len(), lines.len());
    }
}
