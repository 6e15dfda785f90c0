//! linli-identity: the identity rules of DESIGN §4 and §9 as plain types and functions.
//!
//! No database and no HTTP server live here. The server parses input into these types at the edge, calls the
//! pure rules (PIN policy, lockout, enrollment transitions, signature checks), persists what they return, and
//! talks to the outside world through the client traits in [`faceid`], [`registry`] and [`wechat`].

pub mod ca;
pub mod csr;
pub mod device_key;
pub mod enrollment;
pub mod factors;
pub mod faceid;
pub mod http_util;
pub mod id_number;
pub mod lockout;
pub mod org_app;
pub mod phone;
pub mod pii;
pub mod pin;
pub mod registry;
pub mod signed_request;
pub mod upload;
pub mod wechat;

pub use id_number::{IdNumber, IdNumberError};
pub use phone::{PhoneNumber, PhoneNumberError};
pub use pii::{BlindIndex, FieldCipher, PiiError, SecretKey};
pub use pin::{Pin, PinError, PinHasher};

/// HMAC-SHA256 over the concatenation of `parts` (ring's HMAC: any key length, no failure path).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}
