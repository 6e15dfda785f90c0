//! Support staff actions (DESIGN §4 "Support reset"): every action audited; a device-binding reset needs a second
//! staff member's approval. Staff never set or see a PIN.

pub mod proxy_reviews;
pub mod registry_reviews;
pub mod routes;
