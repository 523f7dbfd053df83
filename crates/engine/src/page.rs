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
