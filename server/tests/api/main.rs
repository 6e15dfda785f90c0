//! Integration tests of linli-server against a real PostgreSQL (a fresh database per test) and a real Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod billing;
mod binding_resets;
mod co_owner_voter;
mod common;
mod disclosure;
mod enrollment_expiry;
mod errors;
mod governance;
mod governance_attachments;
mod governance_chain;
mod governance_service;
mod import;
mod logs;
mod migrations;
mod openapi;
mod query_plans;
mod register;
mod register_merge;
mod tally_agreement;
mod vehicles;
