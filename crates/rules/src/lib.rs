//! Steward rule language (work in progress).
