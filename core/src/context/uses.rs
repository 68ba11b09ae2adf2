//! The references of one file as the index keeps them: each distinct name once,
//! and each use as the name's number and its line, 8 bytes where a
//! [`Reference`] takes 56. The index answers with names and lines (the name
//! postings, `find_references`); a use's kind, bytes and qualifier are read
//! afresh from the text by what needs them (selection extracts the cursor's
//! file). In the memory bench's 1,000 files, 171,291 references went from
//! 9.2 MiB to 1.3 MiB of uses.

use std::collections::HashMap;
use std::sync::Arc;

use super::symbol::Reference;

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Uses {
    /// Distinct, sorted; shared with the extraction's references and the
    /// index's name map.
    names: Box<[Arc<str>]>,
    /// In file order: (index into `names`, 1-based line).
    uses: Box<[(u32, u32)]>,
}

impl Uses {
    pub(crate) fn new(references: &[Reference]) -> Uses {
        let mut numbers: HashMap<&str, u32> = HashMap::new();
        let mut names: Vec<&Arc<str>> = Vec::new();
        let mut uses: Vec<(u32, u32)> = Vec::with_capacity(references.len());
        for reference in references {
            let number = *numbers.entry(&reference.name).or_insert_with(|| {
                names.push(&reference.name);
                (names.len() - 1) as u32
            });
            uses.push((number, reference.line));
        }
        // Numbered again in name order, for lookups by binary search.
        let mut order: Vec<u32> = (0..names.len() as u32).collect();
        order.sort_unstable_by(|a, b| names[*a as usize].cmp(names[*b as usize]));
        let mut renumbered = vec![0; names.len()];
        for (new, old) in order.iter().enumerate() {
            renumbered[*old as usize] = new as u32;
        }
        for (number, _) in &mut uses {
            *number = renumbered[*number as usize];
        }
        Uses {
            names: order
                .iter()
                .map(|old| Arc::clone(names[*old as usize]))
                .collect(),
            uses: uses.into_boxed_slice(),
        }
    }

    /// The distinct names used, sorted.
    pub(crate) fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    /// How many uses.
    pub(crate) fn len(&self) -> usize {
        self.uses.len()
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
        let number = self
            .names
            .binary_search_by(|probe| (**probe).cmp(name))
            .ok()
            .map(|number| number as u32);
        self.uses
            .iter()
            .filter(move |(used, _)| Some(*used) == number)
            .map(|(_, line)| *line)
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
