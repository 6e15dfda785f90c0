//! Who is calling: mini-program sessions (bearer tokens kept in Redis) and per-community roles.

pub mod org_app;
pub mod pin;
pub mod roles;
pub mod routes;
pub mod session;
pub mod signed;

pub use roles::{Role, require_role};
pub use crate::sessions::SessionStore;
pub use session::CurrentAccount;
