//! Keyset pagination shared by storage and the engine: lists are ordered newest first by
//! `(sort value, id)`, and a page starts strictly after the last key of the previous page, so
//! paging while others write neither repeats a record nor skips one that did not move.

use uuid::Uuid;

use crate::time::Millis;

/// Which timestamp orders a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    UpdatedAt,
    CreatedAt,
}

impl SortBy {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "updatedAt" => Some(Self::UpdatedAt),
            "createdAt" => Some(Self::CreatedAt),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpdatedAt => "updatedAt",
            Self::CreatedAt => "createdAt",
        }
    }
}

/// The position of a record in a list: lists run from the greatest key to the smallest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageKey {
    pub at: Millis,
    pub id: Uuid,
}

/// One page to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub sort: SortBy,
    pub limit: usize,
    /// Start strictly after this key (exclusive); `None` for the first page.
    pub after: Option<PageKey>,
}

impl PageRequest {
    pub const MAX_LIMIT: usize = 100;

    pub fn first(sort: SortBy, limit: usize) -> Self {
        Self {
            sort,
            limit,
            after: None,
        }
    }
}

/// Where the graph holds a record: lets a read skip the id index (a hash probe, one or two
/// cache misses a record). Only a hint: a slot is reused after its record is deleted, so the
/// graph checks the record's id before trusting it, and falls back to the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordSlot(pub(crate) u32);

impl RecordSlot {
    /// No hint: reads go through the id index.
    pub const UNKNOWN: Self = Self(u32::MAX);

    /// A hint for slot `index` (for tables kept beside the graph, and their tests).
    pub const fn at(index: u32) -> Self {
        Self(index)
    }

    /// The slot as an index into tables kept beside the graph (`None` for [`Self::UNKNOWN`]).
    pub fn index(self) -> Option<usize> {
        (self != Self::UNKNOWN).then_some(self.0 as usize)
    }
}

/// A key of a list the engine keeps, with the slot of its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotKey {
    pub key: PageKey,
    pub slot: RecordSlot,
}

impl SlotKey {
    /// A key from a list that does not know its records' slots.
    pub fn unplaced(key: PageKey) -> Self {
        Self {
            key,
            slot: RecordSlot::UNKNOWN,
        }
    }
}
