//! Storage conformance: every public `Store` operation, on every backend the machine offers
//! (SQLite always, PostgreSQL when `STEWARD_TEST_POSTGRES_URL` is set), with the same results.

#[path = "conformance/model.rs"]
mod model;
#[path = "conformance/support.rs"]
mod support;

#[path = "conformance/admin.rs"]
mod admin;
#[path = "conformance/conversations.rs"]
mod conversations;
#[path = "conformance/custom_objects.rs"]
mod custom_objects;
#[path = "conformance/durability.rs"]
mod durability;
#[path = "conformance/engine_sync.rs"]
mod engine_sync;
#[path = "conformance/events.rs"]
mod events;
#[path = "conformance/isolation.rs"]
mod isolation;
#[path = "conformance/paging.rs"]
mod paging;
#[path = "conformance/paging_prop.rs"]
mod paging_prop;
#[path = "conformance/reads.rs"]
mod reads;
#[path = "conformance/resident.rs"]
mod resident;
#[path = "conformance/roles.rs"]
mod roles;
#[path = "conformance/workspaces.rs"]
mod workspaces;
#[path = "conformance/writes.rs"]
mod writes;
