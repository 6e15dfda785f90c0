//! Who is calling: mini-program sessions (bearer tokens kept in Redis) and per-community roles.

pub mod roles;
pub mod session;

pub use roles::{Role, require_role};
pub use session::{CurrentAccount, SessionStore};
