//! The names the index knows, each once, numbered: every file's definitions,
//! uses and parents name them by number ([`NameId`], 4 bytes where a shared
//! `Arc<str>` took 16 and a 48-byte allocation), and each has its postings,
//! the files that define, use or are the parent of it. The texts of all names
//! live in one string; a name no file mentions any more is forgotten and its
//! number reused, and the string is rewritten once most of it is forgotten.
//! In the memory bench's 1,000 files the name map went from about 3.3 MiB
//! (an `Arc<str>` key and two growing lists per name) to about 1.4 MiB.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

/// A name's number.
pub(super) type NameId = u32;

/// A file's number in the index.
pub(super) type FileId = u32;

/// The file defines the name.
pub(super) const DEFINES: u32 = 1;
/// The file uses the name.
pub(super) const USES: u32 = 2;
/// A definition of the file has the name as its parent (`impl Name`): the
/// name must stay known while that definition is held.
pub(super) const PARENT: u32 = 4;
const ROLES: u32 = DEFINES | USES | PARENT;
const ROLE_BITS: u32 = 3;

/// Forgotten names' bytes are reclaimed once they are this many and more
/// than the live names'.
const REWRITE_AFTER: usize = 64 * 1024;

/// The files that mention one name: each file once, as its id shifted left
/// by [`ROLE_BITS`] with its roles in the low bits. The first in place, the
/// rest in a list of exact length behind one pointer: most names are in one
/// file, so a name's postings take 16 bytes.
#[derive(Default, Debug)]
pub(super) struct Postings {
    /// 0: none (a posting always has a role).
    first: u32,
    /// Never empty: `None` instead. Boxed on purpose: one word in every
    /// name's postings, where a `Vec` would take three, and the names in one
    /// file only need no more.
    #[allow(clippy::box_collection)]
    rest: Option<Box<Vec<u32>>>,
}

impl Postings {
    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.first)
            .filter(|posting| *posting != 0)
            .chain(self.rest.iter().flat_map(|rest| rest.iter().copied()))
    }

    /// The files with `role`, in no particular order.
    pub(super) fn files(&self, role: u32) -> impl Iterator<Item = FileId> + '_ {
        self.iter()
            .filter(move |posting| posting & role != 0)
            .map(|posting| posting >> ROLE_BITS)
    }

    /// Gives file `id` `role`. `fresh`: the file has no posting here but
    /// perhaps the last one added (linking a new file), so no scan.
    fn add(&mut self, id: FileId, role: u32, fresh: bool) {
        if self.first == 0 {
            self.first = id << ROLE_BITS | role;
            return;
        }
        if self.first >> ROLE_BITS == id {
            self.first |= role;
            return;
        }
        let rest = self.rest.get_or_insert_with(Box::default);
        let held = if fresh {
            rest.last_mut().filter(|last| **last >> ROLE_BITS == id)
        } else {
            rest.iter_mut().find(|posting| **posting >> ROLE_BITS == id)
        };
        match held {
            Some(posting) => *posting |= role,
            None => {
                rest.reserve_exact(1);
                rest.push(id << ROLE_BITS | role);
            }
        }
    }

    /// Takes `roles` from file `id`; a file left with none goes.
    fn remove(&mut self, id: FileId, roles: u32) {
        if let Some(rest) = &mut self.rest {
            rest.retain_mut(|posting| {
                if *posting >> ROLE_BITS == id {
                    *posting &= !roles;
                }
                *posting & ROLES != 0
            });
        }
        if self.first >> ROLE_BITS == id {
            self.first &= !roles;
            if self.first & ROLES == 0 {
                self.first = self.rest.as_mut().and_then(|rest| rest.pop()).unwrap_or(0);
            }
        }
        if self.rest.as_ref().is_some_and(|rest| rest.is_empty()) {
            self.rest = None;
        }
    }

    fn is_empty(&self) -> bool {
        self.first == 0
    }
}

/// Every name the index holds.
#[derive(Default)]
pub(super) struct Names {
    /// The names' bytes, one after another.
    text: String,
    /// By number: where the name's bytes are in `text` (start, length).
    spans: Vec<(u32, u32)>,
    /// By number.
    postings: Vec<Postings>,
    /// The numbers of the live names, hashed by their text.
    table: HashTable<NameId>,
    hasher: RandomState,
    /// Numbers free for reuse.
    free: Vec<NameId>,
    /// Bytes of `text` no live name uses.
    forgotten: usize,
}

impl Names {
    /// How many names are known.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// The number of `name`, if it is known.
    pub(super) fn find(&self, name: &str) -> Option<NameId> {
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |id| self.text_of(&self.spans, *id) == name)
            .copied()
    }

    /// The number of `name`, made if new. A new name must be given a role
    /// ([`add`](Self::add)) before the next [`release`](Self::release).
    pub(super) fn intern(&mut self, name: &str) -> NameId {
        if let Some(id) = self.find(name) {
            return id;
        }
        let span = (self.text.len() as u32, name.len() as u32);
        let room = gentle_room(self.text.len(), self.text.capacity(), name.len());
        self.text.reserve_exact(room);
        self.text.push_str(name);
        let id = match self.free.pop() {
            Some(id) => {
                self.spans[id as usize] = span;
                id
            }
            None => {
                let room = gentle_room(self.spans.len(), self.spans.capacity(), 1);
                self.spans.reserve_exact(room);
                self.postings.reserve_exact(room);
                self.spans.push(span);
                self.postings.push(Postings::default());
                (self.spans.len() - 1) as NameId
            }
        };
        let hash = self.hasher.hash_one(name);
        let (text, spans, hasher) = (&self.text, &self.spans, &self.hasher);
        self.table.insert_unique(hash, id, |id| {
            hasher.hash_one(&text[span_range(spans[*id as usize])])
        });
        id
    }

    /// The text of name `id`.
    pub(super) fn get(&self, id: NameId) -> &str {
        self.text_of(&self.spans, id)
    }

    fn text_of(&self, spans: &[(u32, u32)], id: NameId) -> &str {
        &self.text[span_range(spans[id as usize])]
    }

    pub(super) fn postings(&self, id: NameId) -> &Postings {
        &self.postings[id as usize]
    }

    /// Gives file `file` `role` for name `id`; `fresh` as in [`Postings::add`].
    pub(super) fn add(&mut self, id: NameId, file: FileId, role: u32, fresh: bool) {
        self.postings[id as usize].add(file, role, fresh);
    }

    /// Takes `roles` of file `file` from name `id`, and forgets the name when
    /// no file mentions it any more.
    pub(super) fn remove(&mut self, id: NameId, file: FileId, roles: u32) {
        self.postings[id as usize].remove(file, roles);
        self.release(id);
    }

    /// Forgets name `id` if no file mentions it.
    fn release(&mut self, id: NameId) {
        if !self.postings[id as usize].is_empty() {
            return;
        }
        let span = self.spans[id as usize];
        let hash = self.hasher.hash_one(&self.text[span_range(span)]);
        if let Ok(entry) = self.table.find_entry(hash, |held| *held == id) {
            entry.remove();
            self.free.push(id);
            self.forgotten += span.1 as usize;
            if self.forgotten > REWRITE_AFTER && self.forgotten > self.text.len() / 2 {
                self.rewrite();
            }
        }
    }

    /// Keeps only the live names' bytes.
    fn rewrite(&mut self) {
        let mut text = String::with_capacity(self.text.len() - self.forgotten);
        for &id in self.table.iter() {
            let span = &mut self.spans[id as usize];
            let start = text.len() as u32;
            text.push_str(&self.text[span_range(*span)]);
            span.0 = start;
        }
        self.text = text;
        self.forgotten = 0;
    }
}

/// The room to reserve for `more` in a list `len` long with `capacity`:
/// none while it fits, else a quarter more, where `Vec` would double: these
/// lists live as long as the index, and doubling leaves up to half of them
/// unused (16,805 names held room for 32,768 in the memory bench).
fn gentle_room(len: usize, capacity: usize, more: usize) -> usize {
    if len + more > capacity {
        (capacity / 4).max(more).max(64)
    } else {
        0
    }
}

fn span_range((start, len): (u32, u32)) -> std::ops::Range<usize> {
    start as usize..(start + len) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_numbered_once_and_forgotten_when_no_file_mentions_them() {
        let mut names = Names::default();
        let run = names.intern("run");
        let config = names.intern("Config");
        assert_eq!(names.intern("run"), run);
        assert_eq!(names.get(config), "Config");
        names.add(run, 7, DEFINES, true);
        names.add(run, 7, USES, true);
        names.add(run, 3, USES, true);
        names.add(config, 7, PARENT, true);
        let files = |names: &Names, id, role| {
            let mut files: Vec<FileId> = names.postings(id).files(role).collect();
            files.sort();
            files
        };
        assert_eq!(files(&names, run, DEFINES), [7]);
        assert_eq!(files(&names, run, USES), [3, 7]);
        names.remove(run, 7, DEFINES | USES);
        assert_eq!(files(&names, run, USES), [3]);
        assert_eq!(names.find("run"), Some(run));
        names.remove(run, 3, USES);
        assert_eq!(names.find("run"), None);
        assert_eq!(names.len(), 1);
        // The number is reused, and the other name still reads right.
        assert_eq!(names.intern("new"), run);
        assert_eq!(names.get(run), "new");
        assert_eq!(names.get(config), "Config");
    }

    #[test]
    fn many_names_forgotten_leave_the_rest_readable() {
        let mut names = Names::default();
        let kept: Vec<(NameId, String)> = (0..100)
            .map(|n| {
                let name = format!("kept_{n}");
                let id = names.intern(&name);
                names.add(id, 1, USES, false);
                (id, name)
            })
            .collect();
        for n in 0..20_000 {
            let id = names.intern(&format!("a_long_forgotten_name_{n}"));
            names.add(id, 2, DEFINES, false);
            names.remove(id, 2, DEFINES);
        }
        assert!(names.text.len() < REWRITE_AFTER * 2, "{}", names.text.len());
        for (id, name) in &kept {
            assert_eq!(names.get(*id), name);
            assert_eq!(names.find(name), Some(*id));
        }
        assert_eq!(names.len(), 100);
    }
}
