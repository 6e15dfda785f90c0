//! Device-signed requests (DESIGN §4).
//!
//! ```text
//! X-Linli-Cert:      <certificate serial, hex>
//! X-Linli-Timestamp: <unix milliseconds>
//! X-Linli-Nonce:     <16–64 hex chars>
//! X-Linli-Signature: <base64 ECDSA P-256/SHA-256 signature, DER or raw 64-byte r||s>
//! string to sign = "LINLI-SIG-V1\n" METHOD "\n" path-with-query "\n" timestamp "\n" nonce "\n" hex(sha256(body)) "\n"
//! ```
//!
//! This module does the pure parts: header parsing, the string to sign, the ±300 s window and the signature.
//! The server does the rest in this order: parse → [`check_timestamp`] → look up the certificate by serial
//! (active, this session's account and WeChat identity) → [`verify_signature`] → nonce `SET NX EX 600` in Redis.

use crate::csr::P256PublicKey;
use base64::Engine;

pub const HEADER_CERT: &str = "X-Linli-Cert";
pub const HEADER_TIMESTAMP: &str = "X-Linli-Timestamp";
pub const HEADER_NONCE: &str = "X-Linli-Nonce";
pub const HEADER_SIGNATURE: &str = "X-Linli-Signature";

/// Accepted clock difference between device and server.
pub const TIMESTAMP_WINDOW_MS: i64 = 300_000;
/// How long the server must remember a nonce (twice the window, so a nonce cannot come back inside it).
pub const NONCE_TTL_SECONDS: u64 = 600;

/// Every reason a signed request is refused, with a stable snake_case code for the 401 problem+json. The last
/// group is decided by the server (database and Redis); the codes live here so they stay in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("a signature header is missing")]
    MissingHeaders,
    #[error("the certificate serial is not hex")]
    MalformedCertificateSerial,
    #[error("the timestamp is not unix milliseconds")]
    MalformedTimestamp,
    #[error("the timestamp is more than 300 s away from the server clock")]
    TimestampOutOfWindow,
    #[error("the nonce is not 16-64 hex characters")]
    MalformedNonce,
    #[error("the signature is not base64 of a DER or 64-byte ECDSA signature")]
    MalformedSignature,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("no certificate has this serial")]
    UnknownCertificate,
    #[error("the certificate is revoked")]
    CertificateRevoked,
    #[error("the certificate has expired")]
    CertificateExpired,
    #[error("the certificate belongs to another account or WeChat identity")]
    CertificateNotOwned,
    #[error("the nonce was already used")]
    NonceReplayed,
}

impl SignatureError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeaders => "signature_headers_missing",
            Self::MalformedCertificateSerial => "signature_cert_serial_malformed",
            Self::MalformedTimestamp => "signature_timestamp_malformed",
            Self::TimestampOutOfWindow => "signature_timestamp_out_of_window",
            Self::MalformedNonce => "signature_nonce_malformed",
            Self::MalformedSignature => "signature_malformed",
            Self::BadSignature => "signature_invalid",
            Self::UnknownCertificate => "signature_cert_unknown",
            Self::CertificateRevoked => "signature_cert_revoked",
            Self::CertificateExpired => "signature_cert_expired",
            Self::CertificateNotOwned => "signature_cert_not_owned",
            Self::NonceReplayed => "signature_nonce_replayed",
        }
    }
}

/// The four headers, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequestHeaders {
    /// Canonical serial (see [`crate::ca::normalize_serial`]).
    pub cert_serial: String,
    pub timestamp_ms: i64,
    /// As sent (it is part of the string to sign); use [`SignedRequestHeaders::replay_key`] for Redis.
    pub nonce: String,
    pub signature: Vec<u8>,
}

/// Timestamp header: canonical decimal (no sign, no leading zeros), at most 15 digits.
pub fn parse_timestamp(text: &str) -> Result<i64, SignatureError> {
    let b = text.as_bytes();
    let canonical = !b.is_empty() && b.len() <= 15 && b.iter().all(u8::is_ascii_digit) && (b[0] != b'0' || b.len() == 1);
    if !canonical {
        return Err(SignatureError::MalformedTimestamp);
    }
    text.parse().map_err(|_| SignatureError::MalformedTimestamp)
}

/// Nonce header: 16–64 hex characters, returned as sent.
pub fn parse_nonce(text: &str) -> Result<String, SignatureError> {
    if (16..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_owned())
    } else {
        Err(SignatureError::MalformedNonce)
    }
}

/// Signature header: standard base64 (padding optional) of a DER signature (≤ 72 bytes) or raw r||s (64 bytes).
pub fn parse_signature(text: &str) -> Result<Vec<u8>, SignatureError> {
    if text.len() > 128 {
        return Err(SignatureError::MalformedSignature);
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let sig = engine.decode(text.trim()).map_err(|_| SignatureError::MalformedSignature)?;
    let plausible_der = sig.len() >= 8 && sig.len() <= 72 && sig[0] == 0x30;
    if sig.len() == 64 || plausible_der {
        Ok(sig)
    } else {
        Err(SignatureError::MalformedSignature)
    }
}

impl SignedRequestHeaders {
    /// The Redis key for the replay check: serial and lower-cased nonce (`SET NX EX` [`NONCE_TTL_SECONDS`]).
    pub fn replay_key(&self) -> String {
        format!("linli:nonce:dev:{}:{}", self.cert_serial, self.nonce.to_ascii_lowercase())
    }

    /// Parses the four header values (None = header absent).
    pub fn parse(
        cert: Option<&str>,
        timestamp: Option<&str>,
        nonce: Option<&str>,
        signature: Option<&str>,
    ) -> Result<Self, SignatureError> {
        let (Some(cert), Some(timestamp), Some(nonce), Some(signature)) = (cert, timestamp, nonce, signature) else {
            return Err(SignatureError::MissingHeaders);
        };
        Ok(Self {
            cert_serial: crate::ca::normalize_serial(cert).ok_or(SignatureError::MalformedCertificateSerial)?,
            timestamp_ms: parse_timestamp(timestamp)?,
            nonce: parse_nonce(nonce)?,
            signature: parse_signature(signature)?,
        })
    }
}

/// The exact bytes the device signs. `method` is upper-cased; `path_and_query` is the request target as sent
/// (path plus `?query` if any, no scheme or host, not re-encoded).
pub fn string_to_sign(method: &str, path_and_query: &str, timestamp_ms: i64, nonce: &str, body: &[u8]) -> String {
    format!(
        "LINLI-SIG-V1\n{}\n{}\n{}\n{}\n{}\n",
        method.to_ascii_uppercase(),
        path_and_query,
        timestamp_ms,
        nonce,
        hex::encode(crate::sha256(body))
    )
}

/// |now − timestamp| ≤ 300 s.
pub fn check_timestamp(timestamp_ms: i64, now_ms: i64) -> Result<(), SignatureError> {
    if now_ms.abs_diff(timestamp_ms) <= TIMESTAMP_WINDOW_MS.unsigned_abs() {
        Ok(())
    } else {
        Err(SignatureError::TimestampOutOfWindow)
    }
}

/// Verifies the signature over the string to sign with the certificate's key.
pub fn verify_signature(key: &P256PublicKey, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
    if key.verify(message, signature) { Ok(()) } else { Err(SignatureError::BadSignature) }
}

/// Timestamp window and signature in one call, for a request whose certificate the server already found.
pub fn verify_request(
    headers: &SignedRequestHeaders,
    key: &P256PublicKey,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<(), SignatureError> {
    check_timestamp(headers.timestamp_ms, now_ms)?;
    let msg = string_to_sign(method, path_and_query, headers.timestamp_ms, &headers.nonce, body);
    verify_signature(key, msg.as_bytes(), &headers.signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_is_exactly_the_design() {
        // sha256("") = e3b0c442…b855 (FIPS 180 empty-message digest).
        let s = string_to_sign("post", "/v1/ballots?x=1", 1_700_000_000_123, "00112233445566778899aabbccddeeff", b"");
        assert_eq!(
            s,
            "LINLI-SIG-V1\nPOST\n/v1/ballots?x=1\n1700000000123\n00112233445566778899aabbccddeeff\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        );
        // sha256("abc") = ba7816bf…15ad (FIPS 180-2 example).
        assert!(string_to_sign("GET", "/", 1, "0000000000000000", b"abc")
            .ends_with("\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"));
    }

    #[test]
    fn timestamp_window_is_300_seconds_each_way() {
        let now = 1_700_000_000_000;
        assert!(check_timestamp(now - 300_000, now).is_ok());
        assert!(check_timestamp(now + 300_000, now).is_ok());
        assert_eq!(check_timestamp(now - 300_001, now), Err(SignatureError::TimestampOutOfWindow));
        assert_eq!(check_timestamp(now - 301_000, now), Err(SignatureError::TimestampOutOfWindow));
        assert_eq!(check_timestamp(now + 300_001, now), Err(SignatureError::TimestampOutOfWindow));
        assert_eq!(check_timestamp(i64::MIN, now), Err(SignatureError::TimestampOutOfWindow));
    }

    #[test]
    fn header_formats() {
        assert_eq!(parse_timestamp("1700000000000"), Ok(1_700_000_000_000));
        for bad in ["", "-1", "+1", "01", "1.5", "1e3", "1234567890123456"] {
            assert_eq!(parse_timestamp(bad), Err(SignatureError::MalformedTimestamp), "{bad:?}");
        }
        assert!(parse_nonce("0123456789abcdef").is_ok());
        assert!(parse_nonce(&"A".repeat(64)).is_ok());
        for bad in ["0123456789abcde", "0123456789abcdeg", &"a".repeat(65)] {
            assert_eq!(parse_nonce(bad), Err(SignatureError::MalformedNonce), "{bad:?}");
        }
        assert!(parse_signature(&base64::engine::general_purpose::STANDARD.encode([1u8; 64])).is_ok());
        assert_eq!(parse_signature("!!!"), Err(SignatureError::MalformedSignature));
        assert_eq!(
            parse_signature(&base64::engine::general_purpose::STANDARD.encode([1u8; 10])),
            Err(SignatureError::MalformedSignature)
        );
        assert_eq!(SignedRequestHeaders::parse(Some("ab"), None, Some("x"), Some("y")), Err(SignatureError::MissingHeaders));
        assert_eq!(
            SignedRequestHeaders::parse(Some("zz"), Some("1"), Some("0123456789abcdef"), Some("AAAA")),
            Err(SignatureError::MalformedCertificateSerial)
        );
    }

    #[test]
    fn codes_are_stable_snake_case() {
        let all = [
            SignatureError::MissingHeaders,
            SignatureError::MalformedCertificateSerial,
            SignatureError::MalformedTimestamp,
            SignatureError::TimestampOutOfWindow,
            SignatureError::MalformedNonce,
            SignatureError::MalformedSignature,
            SignatureError::BadSignature,
            SignatureError::UnknownCertificate,
            SignatureError::CertificateRevoked,
            SignatureError::CertificateExpired,
            SignatureError::CertificateNotOwned,
            SignatureError::NonceReplayed,
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(SignatureError::code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(codes.iter().all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        assert_eq!(SignatureError::TimestampOutOfWindow.code(), "signature_timestamp_out_of_window");
    }
}
