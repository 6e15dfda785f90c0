//! linli-identity: the identity rules of DESIGN §4 and §9 as plain types and functions.
//!
//! No database and no HTTP server live here. The server parses input into these types at the edge, calls the
//! pure rules (PIN policy, lockout, enrollment transitions, signature checks), persists what they return, and
//! talks to the outside world through the client traits in [`faceid`], [`registry`] and [`wechat`].
//!
//! Map for the server:
//! - edge types: [`IdNumber`], [`PhoneNumber`], [`Pin`] (masked Display/Debug, serde `Deserialize` validates);
//! - enrollment: [`enrollment::Enrollment::start`] / [`enrollment::Enrollment::apply`] → `(Enrollment, Transition)`;
//!   the server's handlers orchestrate each factor (upload validation, attempt limit, provider call, CSR and
//!   certificate, PIN policy and hash) around their transactions and map the outcome to an event with the
//!   helpers here ([`enrollment::registry_answer_event`], [`enrollment::area_correction`]);
//! - PIN use: [`lockout::PinLockState::check`] → [`PinHasher::verify`] (blocking thread) →
//!   `after_failure` / `after_success`, state persisted in PostgreSQL;
//! - device CA: [`ca::DeviceCa::generate`] + `write_pem_files` (`linli ca init`), [`ca::DeviceCa::load`];
//! - signed requests: [`signed_request::SignedRequestHeaders::parse`], [`signed_request::check_timestamp`],
//!   certificate look-up by `cert_serial`, [`signed_request::verify_signature`], then the nonce (`replay_key`);
//! - organisation apps: [`org_app::parse_authorization`], [`org_app::unseal_secret`], [`org_app::verify`];
//! - personal data: [`pii::FieldCipher`], [`pii::BlindIndex`];
//! - uploads: [`upload::normalize_image`] with [`upload::ImagePolicy::SELFIE`] (or a policy for repair photos);
//!   certificate scans for the manual registry review: [`upload::validate_certificate_scan`].

pub mod access_pass;
pub mod ca;
pub mod csr;
pub mod device_key;
pub mod enrollment;
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
