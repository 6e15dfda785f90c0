//! The four-factor enrollment (DESIGN §4, §11): the rules are `linli_identity::enrollment` (plain data and
//! functions); this module persists their state and transitions and calls the outside parties.

pub mod devices;
pub mod routes;
pub mod service_consent;
pub mod store;
