//! Owners' meetings (DESIGN §5): meetings and proposals, content screening, reviews, the frozen roll, ballot
//! sheets, the tally and the result document.

pub mod attachments;
pub mod tally;
pub mod chart;
pub mod co_owner_voter;
pub mod co_owners;
pub mod domain;
pub mod inspection;
pub mod lifecycle;
pub mod notices;
pub mod proxies;
pub mod result;
pub mod routes;
pub mod rules;
pub mod screening;
pub mod service;
pub mod service_records;
pub mod sheets;
pub mod steps;
pub mod store;
