//! HTTP-level tests of the REST API. One test binary (faster linking); each module is a
//! feature. Every scenario runs on each storage backend that `backends()` offers.

mod api {
    pub mod accounts;
    pub mod admins_fields;
    pub mod auth;
    pub mod config;
    pub mod conversations;
    pub mod custom_objects;
    pub mod derived;
    pub mod errors;
    pub mod helpers;
    pub mod ingest;
    pub mod organizations;
    pub mod pagination;
    pub mod roles;
    pub mod system;
    pub mod users;
}
