//! Steward's HTTP server: the Vitally-compatible REST API over the engine and the store.
//!
//! Handlers are thin: they parse input into domain types ([`extract`]), send writes through
//! the single [`writer`], read from the store and the engine, and render JSON ([`render`]).
//! Errors follow one contract ([`error`]).

pub mod app;
pub mod assign;
pub mod auth;
pub mod body;
pub mod body_cache;
pub mod config;
pub mod demo;
mod demo_conversations;
mod demo_roles;
pub mod derived;
pub mod error;
pub mod event_replay;
pub mod extract;
pub mod ingest;
pub mod keys;
mod object_traits;
pub mod pagination;
pub mod rate_limit;
pub mod render;
mod routes;
pub mod template;
pub mod trait_types;
pub mod usage;
pub mod writer;

pub use app::{AppState, ServerConfig, build_state, launch_with_tcp_listener, load_engine, router};
