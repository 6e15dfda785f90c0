//! Forwarding to the chain (DESIGN §7): the outbox table and its worker, the `[chain]` configuration, the
//! per-community contract registry.

pub mod outbox;
