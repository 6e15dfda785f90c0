//! Linli server: the HTTP API (actix-web), background jobs and the operator CLI (`linli`).
//!
//! Error policy: see [`error`]. Layout: one module per business area (DESIGN §2); business rules are plain
//! functions over plain data (e.g. [`community::headcount`]), handlers parse, call the rule, persist.

pub mod access;
pub mod app;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod cache;
pub mod chain;
pub mod clients;
pub mod cli;
pub mod community;
pub mod config;
pub mod db;
pub mod disclosure;
pub mod enrollment;
pub mod error;
pub mod fault;
pub mod funds;
pub mod governance;
pub mod http;
pub mod idempotency;
pub mod logs;
pub mod metrics;
pub mod multipart;
pub mod notify;
pub mod parking;
pub mod pii;
pub mod schema;
pub mod sessions;
pub mod support;
pub mod telemetry;
pub mod testing;
pub mod upload_gate;
