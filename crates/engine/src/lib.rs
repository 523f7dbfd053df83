//! Steward's domain types and the in-memory customer-graph engine.
//!
//! This crate is pure: it performs no IO and never reads the system clock. Time enters through
//! the [`Clock`] trait, so every rule that depends on "now" can be tested with a fixed clock.
//!
//! - [`domain`] holds the parsed value types that cross the HTTP boundary (`ExternalId`,
//!   `RecordName`, `Email`, trait maps): once a request body becomes one of these it is valid.
//! - [`ids`] holds typed identifiers, so an `AccountId` can never be passed where a `UserId` is
//!   expected.
//! - [`graph`] holds the customer hierarchy of one workspace in memory and answers hierarchy
//!   questions (children, users of an organization, counts). It is kept in step with storage by
//!   applying [`graph::GraphChange`]s after each committed write.

pub mod assignments;
pub mod conversations;
pub mod custom_objects;
pub mod derive;
pub mod domain;
pub mod engine;
pub mod event_batch;
pub mod graph;
pub mod ids;
pub mod key_roles;
mod list_order;
pub mod metrics;
pub mod owners;
pub mod page;
mod replay;
pub mod time;

pub use assignments::{AssignmentChange, Assignments, Customer, RoleKey};
pub use conversations::{Direction, LastMessages, MessageChange, Messages};
pub use derive::{DerivedChange, DerivedView, RecordInput, RecordRef, Status};
pub use engine::Engine;
pub use event_batch::{EventBatch, EventBatcher};
pub use graph::{Graph, GraphBytes, GraphChange};
pub use metrics::{EventInput, EventKind, Metrics, MetricsBytes};
pub use time::{Clock, FixedClock, Millis, SystemClock};
