//! Organisation apps (DESIGN §9): credentials, the `Authorization: LINLI-HMAC-SHA256 …` header and its HMAC.
//!
//! ```text
//! Authorization: LINLI-HMAC-SHA256 app_id="…",timestamp="…",nonce="…",signature="…"
//! signature = base64(HMAC-SHA256(secret, METHOD "\n" path-with-query "\n" timestamp "\n" nonce "\n" hex(sha256(body)) "\n"))
//! ```
//! `timestamp` is unix milliseconds and the nonce 16–64 hex characters, as for device-signed requests (§4: same
//! window, same replay rule).
//!
//! Storage decision: HMAC verification needs the secret itself, so a one-way hash alone cannot be what the server
//! keeps. The server stores (a) the secret encrypted with the key-encryption key ([`crate::pii::FieldCipher`],
//! AES-256-GCM with key id, bound to the app id as associated data) and (b) `secret_sha256`, a SHA-256 of the
//! secret, shown (shortened) in listings and checked after decryption. The secret is 256 random bits, so its plain
//! hash reveals nothing; a database dump without the KEK yields no usable secret. The secret is printed once, at
//! creation, and never again.

use crate::pii::{FieldCipher, PiiError};
use crate::signed_request::{check_timestamp, parse_nonce, parse_timestamp};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use rand::RngCore;
use std::fmt;

pub const SCHEME: &str = "LINLI-HMAC-SHA256";
pub const MAX_AUTHORIZATION_LEN: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrgAuthError {
    #[error("the Authorization header is missing")]
    Missing,
    #[error("the Authorization header is not LINLI-HMAC-SHA256 app_id=…,timestamp=…,nonce=…,signature=…")]
    Malformed,
    #[error("the timestamp is not unix milliseconds")]
    MalformedTimestamp,
    #[error("the timestamp is more than 300 s away from the server clock")]
    TimestampOutOfWindow,
    #[error("the nonce is not 16-64 hex characters")]
    MalformedNonce,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("no active app has this id")]
    UnknownApp,
    #[error("the nonce was already used")]
    NonceReplayed,
}

impl OrgAuthError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "app_auth_missing",
            Self::Malformed => "app_auth_malformed",
            Self::MalformedTimestamp => "app_auth_timestamp_malformed",
            Self::TimestampOutOfWindow => "app_auth_timestamp_out_of_window",
            Self::MalformedNonce => "app_auth_nonce_malformed",
            Self::BadSignature => "app_auth_signature_invalid",
            Self::UnknownApp => "app_auth_unknown_app",
            Self::NonceReplayed => "app_auth_nonce_replayed",
        }
    }
}

/// An app secret. Debug is redacted; the text is shown once at creation.
#[derive(Clone, PartialEq, Eq)]
pub struct AppSecret(String);

impl AppSecret {
    /// `lsk_` + base64url(32 random bytes).
    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        Self(format!("lsk_{}", B64URL.encode(b)))
    }

    pub fn from_text(text: &str) -> Self {
        Self(text.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Lower-case hex SHA-256 of the secret text.
    pub fn sha256_hex(&self) -> String {
        hex::encode(crate::sha256(self.0.as_bytes()))
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecret(<redacted>)")
    }
}

/// A new app id: `app_` + 20 lower-case hex characters.
pub fn generate_app_id() -> String {
    let mut b = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("app_{}", hex::encode(b))
}

fn valid_app_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What the server stores for an app secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedAppSecret {
    /// `FieldCipher` text (`<key_id>:<base64>`), associated data `org_apps.secret:<app_id>`.
    pub ciphertext: String,
    pub secret_sha256: String,
}

fn context(app_id: &str) -> String {
    format!("org_apps.secret:{app_id}")
}

pub fn seal_secret(kek: &FieldCipher, app_id: &str, secret: &AppSecret) -> Result<SealedAppSecret, PiiError> {
    Ok(SealedAppSecret { ciphertext: kek.encrypt_str(secret.expose(), &context(app_id))?, secret_sha256: secret.sha256_hex() })
}

/// Decrypts and checks the stored hash. Cache the result in memory; decryption is cheap but not free.
pub fn unseal_secret(kek: &FieldCipher, app_id: &str, sealed: &SealedAppSecret) -> Result<AppSecret, PiiError> {
    let secret = AppSecret(kek.decrypt_string(&sealed.ciphertext, &context(app_id))?);
    use subtle::ConstantTimeEq;
    let same: bool = secret.sha256_hex().as_bytes().ct_eq(sealed.secret_sha256.as_bytes()).into();
    if !same {
        return Err(PiiError::Decrypt);
    }
    Ok(secret)
}

/// The parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAuthorization {
    pub app_id: String,
    pub timestamp_ms: i64,
    pub nonce: String,
    pub signature: Vec<u8>,
}

impl OrgAuthorization {
    /// Redis key for the replay check.
    pub fn replay_key(&self) -> String {
        format!("linli:nonce:app:{}:{}", self.app_id, self.nonce.to_ascii_lowercase())
    }
}

/// Parses `LINLI-HMAC-SHA256 app_id="…",timestamp="…",nonce="…",signature="…"` (parameters in any order,
/// optional spaces after commas, each exactly once).
pub fn parse_authorization(header: Option<&str>) -> Result<OrgAuthorization, OrgAuthError> {
    let header = header.ok_or(OrgAuthError::Missing)?;
    if header.len() > MAX_AUTHORIZATION_LEN {
        return Err(OrgAuthError::Malformed);
    }
    let rest = header.strip_prefix(SCHEME).and_then(|r| r.strip_prefix(' ')).ok_or(OrgAuthError::Malformed)?;
    let (mut app_id, mut ts, mut nonce, mut sig) = (None, None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(OrgAuthError::Malformed)?;
        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).ok_or(OrgAuthError::Malformed)?;
        if v.contains('"') {
            return Err(OrgAuthError::Malformed);
        }
        let slot = match k {
            "app_id" => &mut app_id,
            "timestamp" => &mut ts,
            "nonce" => &mut nonce,
            "signature" => &mut sig,
            _ => return Err(OrgAuthError::Malformed),
        };
        if slot.replace(v).is_some() {
            return Err(OrgAuthError::Malformed);
        }
    }
    let (Some(app_id), Some(ts), Some(nonce), Some(sig)) = (app_id, ts, nonce, sig) else {
        return Err(OrgAuthError::Malformed);
    };
    if !valid_app_id(app_id) {
        return Err(OrgAuthError::Malformed);
    }
    let signature = B64.decode(sig).map_err(|_| OrgAuthError::Malformed)?;
    if signature.len() != 32 {
        return Err(OrgAuthError::Malformed);
    }
    Ok(OrgAuthorization {
        app_id: app_id.to_owned(),
        timestamp_ms: parse_timestamp(ts).map_err(|_| OrgAuthError::MalformedTimestamp)?,
        nonce: parse_nonce(nonce).map_err(|_| OrgAuthError::MalformedNonce)?,
        signature,
    })
}

/// `METHOD\npath-with-query\ntimestamp\nnonce\nhex(sha256(body))\n`.
pub fn string_to_sign(method: &str, path_and_query: &str, timestamp_ms: i64, nonce: &str, body: &[u8]) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n",
        method.to_ascii_uppercase(),
        path_and_query,
        timestamp_ms,
        nonce,
        hex::encode(crate::sha256(body))
    )
}

/// base64(HMAC-SHA256(secret, string to sign)) — what an integrator computes.
pub fn compute_signature(secret: &AppSecret, method: &str, path_and_query: &str, timestamp_ms: i64, nonce: &str, body: &[u8]) -> String {
    let msg = string_to_sign(method, path_and_query, timestamp_ms, nonce, body);
    B64.encode(crate::hmac_sha256(secret.expose().as_bytes(), &[msg.as_bytes()]))
}

/// The full header value for a request (for integrators' examples and our tests).
pub fn authorization_header(app_id: &str, secret: &AppSecret, method: &str, path_and_query: &str, timestamp_ms: i64, nonce: &str, body: &[u8]) -> String {
    let sig = compute_signature(secret, method, path_and_query, timestamp_ms, nonce, body);
    format!(r#"{SCHEME} app_id="{app_id}",timestamp="{timestamp_ms}",nonce="{nonce}",signature="{sig}""#)
}

/// Timestamp window, then the HMAC in constant time. The server looks up the app (and its secret) by
/// `auth.app_id` before, and records the nonce after.
pub fn verify(auth: &OrgAuthorization, secret: &AppSecret, method: &str, path_and_query: &str, body: &[u8], now_ms: i64) -> Result<(), OrgAuthError> {
    check_timestamp(auth.timestamp_ms, now_ms).map_err(|_| OrgAuthError::TimestampOutOfWindow)?;
    let msg = string_to_sign(method, path_and_query, auth.timestamp_ms, &auth.nonce, body);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose().as_bytes());
    ring::hmac::verify(&key, msg.as_bytes(), &auth.signature).map_err(|_| OrgAuthError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::SecretKey;

    #[test]
    fn header_round_trip_and_verification() {
        let secret = AppSecret::from_text("lsk_test");
        let h = authorization_header("app_0123", &secret, "post", "/openapi/v1/bills?c=1", 1_700_000_000_000, "0123456789abcdef", b"{}");
        let auth = parse_authorization(Some(&h)).unwrap();
        assert_eq!(auth.app_id, "app_0123");
        assert_eq!(auth.timestamp_ms, 1_700_000_000_000);
        verify(&auth, &secret, "POST", "/openapi/v1/bills?c=1", b"{}", 1_700_000_100_000).unwrap();
        assert_eq!(verify(&auth, &secret, "POST", "/openapi/v1/bills?c=2", b"{}", 1_700_000_100_000), Err(OrgAuthError::BadSignature));
        assert_eq!(verify(&auth, &AppSecret::from_text("lsk_other"), "POST", "/openapi/v1/bills?c=1", b"{}", 1_700_000_100_000), Err(OrgAuthError::BadSignature));
        assert_eq!(verify(&auth, &secret, "POST", "/openapi/v1/bills?c=1", b"{}", 1_700_000_301_000), Err(OrgAuthError::TimestampOutOfWindow));
    }

    #[test]
    fn signature_matches_an_independent_hmac() {
        // Computed with: printf 'GET\n/openapi/v1/units\n1700000000000\n0123456789abcdef\ne3b0c442…b855\n' |
        //   openssl dgst -sha256 -hmac 'lsk_test' -binary | base64
        let sig = compute_signature(&AppSecret::from_text("lsk_test"), "GET", "/openapi/v1/units", 1_700_000_000_000, "0123456789abcdef", b"");
        assert_eq!(sig, expected_openssl_signature());
    }

    fn expected_openssl_signature() -> String {
        let msg = "GET\n/openapi/v1/units\n1700000000000\n0123456789abcdef\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n";
        let out = std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-hmac", "lsk_test", "-binary"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(msg.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        B64.encode(out.stdout)
    }

    #[test]
    fn malformed_headers() {
        let ok = r#"LINLI-HMAC-SHA256 app_id="a",timestamp="1",nonce="0123456789abcdef",signature="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=""#;
        assert!(parse_authorization(Some(ok)).is_ok());
        let spaced = ok.replace(",", ", ");
        assert!(parse_authorization(Some(&spaced)).is_ok());
        assert_eq!(parse_authorization(None), Err(OrgAuthError::Missing));
        for bad in [
            "Bearer x",
            "LINLI-HMAC-SHA256",
            &ok.replace("app_id=", "app="),
            &ok.replace(r#"app_id="a""#, r#"app_id="a",app_id="b""#),
            &ok.replace(r#"app_id="a""#, r#"app_id=a"#),
            &ok.replace(r#"app_id="a""#, r#"app_id="a b""#),
            &ok.replace("AAAA=", "AA="),
            &ok.replace(r#",signature="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=""#, ""),
        ] {
            assert_eq!(parse_authorization(Some(bad)), Err(OrgAuthError::Malformed), "{bad}");
        }
        assert_eq!(parse_authorization(Some(&ok.replace(r#"timestamp="1""#, r#"timestamp="x""#))), Err(OrgAuthError::MalformedTimestamp));
        assert_eq!(parse_authorization(Some(&ok.replace("0123456789abcdef", "0123"))), Err(OrgAuthError::MalformedNonce));
        assert_eq!(parse_authorization(Some(&"a".repeat(2000))), Err(OrgAuthError::Malformed));
    }

    #[test]
    fn secrets_are_sealed_and_unsealed() {
        let kek = FieldCipher::new("kek1", SecretKey::from_bytes([5; 32])).unwrap();
        let id = generate_app_id();
        assert!(id.starts_with("app_") && id.len() == 24);
        let secret = AppSecret::generate();
        assert!(secret.expose().starts_with("lsk_") && secret.expose().len() == 4 + 43);
        let sealed = seal_secret(&kek, &id, &secret).unwrap();
        assert!(!sealed.ciphertext.contains(secret.expose()));
        assert_eq!(unseal_secret(&kek, &id, &sealed).unwrap(), secret);
        // Bound to the app id, and to its hash.
        assert!(unseal_secret(&kek, "app_other", &sealed).is_err());
        let tampered = SealedAppSecret { secret_sha256: "00".repeat(32), ..sealed };
        assert!(unseal_secret(&kek, &id, &tampered).is_err());
        assert_eq!(format!("{secret:?}"), "AppSecret(<redacted>)");
    }
}
