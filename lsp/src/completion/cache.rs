//! The last completions answered, keyed by a hash of the prompt (prefix,
//! suffix, definitions) and the provider settings: asking again at the same
//! spot (VS Code does on every cursor return) costs no model call.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// Completions kept.
pub(crate) const CACHE_ENTRIES: usize = 64;

/// Least recently used first out.
#[derive(Default)]
pub(crate) struct Cache {
    entries: VecDeque<(u64, String)>,
}

impl Cache {
    pub(crate) fn key(parts: &impl Hash) -> u64 {
        let mut hasher = std::hash::DefaultHasher::new();
        parts.hash(&mut hasher);
        hasher.finish()
    }

    pub(crate) fn get(&mut self, key: u64) -> Option<String> {
        let index = self.entries.iter().position(|(entry, _)| *entry == key)?;
        let entry = self.entries.remove(index)?;
        let text = entry.1.clone();
        self.entries.push_back(entry);
        Some(text)
    }

    pub(crate) fn insert(&mut self, key: u64, text: String) {
        self.entries.retain(|(entry, _)| *entry != key);
        if self.entries.len() >= CACHE_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back((key, text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut cache = Cache::default();
        for key in 0..CACHE_ENTRIES as u64 {
            cache.insert(key, key.to_string());
        }
        assert_eq!(cache.get(0).as_deref(), Some("0"));
        cache.insert(1000, "new".to_string());
        assert_eq!(cache.get(1), None);
        assert_eq!(cache.get(0).as_deref(), Some("0"));
        assert_eq!(cache.get(1000).as_deref(), Some("new"));
    }
}
