//! The community register: communities, buildings, units, owners, and the headcount rules (DESIGN §3, §5).

pub mod domain;
pub mod headcount;
pub mod reconcile;
pub mod register_file;
pub mod routes;
pub mod store;
