//! Event names interned per workspace, so records store a 4-byte id instead of a string.
//!
//! Ids are dense (`0, 1, 2, ...`) and never reused or freed: the set of event names of a
//! workspace is small and stable in practice. (A client that puts ids into event names makes
//! it grow without bound; the ingestion layer should cap distinct names per workspace.)

use std::sync::Arc;

use foldhash::HashMap;

/// An interned event name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventNameId(pub u32);

#[derive(Debug, Default)]
#[cfg_attr(test, derive(PartialEq))]
pub(crate) struct EventNames {
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, EventNameId>,
}

impl EventNames {
    /// The id of `name`, interning it on first sight.
    pub(crate) fn intern(&mut self, name: &str) -> EventNameId {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = EventNameId(u32::try_from(self.names.len()).expect("fewer than 2^32 event names"));
        let name: Arc<str> = Arc::from(name);
        self.names.push(Arc::clone(&name));
        self.ids.insert(name, id);
        id
    }

    /// The id of `name` if it was ever interned.
    pub(crate) fn get(&self, name: &str) -> Option<EventNameId> {
        self.ids.get(name).copied()
    }

    /// The name of an id handed out by [`Self::intern`].
    pub(crate) fn name(&self, id: EventNameId) -> &str {
        &self.names[id.0 as usize]
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// Estimated heap bytes: the list, the index and one shared string allocation a name
    /// (`Arc` counters plus the text).
    pub(crate) fn heap_bytes(&self) -> usize {
        let fat = std::mem::size_of::<Arc<str>>();
        let strings: usize = self
            .names
            .iter()
            .map(|n| 2 * std::mem::size_of::<usize>() + n.len())
            .sum();
        self.names.capacity() * fat
            + super::bytes::table_bytes(
                self.ids.capacity(),
                fat + std::mem::size_of::<EventNameId>(),
            )
            + strings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_reuses_ids() {
        let mut names = EventNames::default();
        let a = names.intern("report exported");
        let b = names.intern("login");
        assert_eq!(a, EventNameId(0));
        assert_eq!(b, EventNameId(1));
        assert_eq!(names.intern("report exported"), a);
        assert_eq!(names.intern("login"), b);
        assert_eq!(names.len(), 2);
        assert_eq!(names.name(a), "report exported");
        assert_eq!(names.get("login"), Some(b));
        assert_eq!(names.get("never"), None);
        assert!(names.heap_bytes() > 0);
    }

    #[test]
    fn names_are_case_and_space_sensitive() {
        let mut names = EventNames::default();
        let a = names.intern("Login");
        assert_ne!(names.intern("login"), a);
        assert_ne!(names.intern("Login "), a);
    }
}
