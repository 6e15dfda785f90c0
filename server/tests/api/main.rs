//! Integration tests of linli-server against a real PostgreSQL (a fresh database per test) and a real Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod billing;
mod common;
mod errors;
mod governance;
mod governance_chain;
mod import;
mod migrations;
mod openapi;
mod register;
