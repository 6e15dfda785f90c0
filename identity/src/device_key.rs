//! The device side of §4, as the mini-program does it: a P-256 key, a CSR, signed request headers. Used by the
//! reference client in `tests/` and by our own tests; the server never holds a device key.

use crate::signed_request::{HEADER_CERT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, string_to_sign};
use base64::Engine;
use rand::RngCore;
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, SigningKey};
use std::fmt;

#[derive(Debug, thiserror::Error)]
#[error("device key operation failed: {0}")]
pub struct DeviceKeyError(String);

/// A device key pair (P-256). Debug does not print the private key.
pub struct DeviceKey {
    key: KeyPair,
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey({})", hex::encode(self.key.public_key_raw()))
    }
}

impl DeviceKey {
    pub fn generate() -> Result<Self, DeviceKeyError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| DeviceKeyError(e.to_string()))?;
        Ok(Self { key })
    }

    /// From a PKCS#8 PEM (`openssl genpkey`/`req -newkey` output).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, DeviceKeyError> {
        let key = KeyPair::from_pem(pem).map_err(|e| DeviceKeyError(e.to_string()))?;
        Ok(Self { key })
    }

    pub fn private_key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// The SEC1 public point.
    pub fn public_key_sec1(&self) -> &[u8] {
        self.key.public_key_raw()
    }

    /// A PKCS#10 CSR in PEM with subject CN = `common_name` (the server ignores the subject).
    pub fn csr_pem(&self, common_name: &str) -> Result<String, DeviceKeyError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        let csr = params.serialize_request(&self.key).map_err(|e| DeviceKeyError(e.to_string()))?;
        csr.pem().map_err(|e| DeviceKeyError(e.to_string()))
    }

    /// DER ECDSA P-256/SHA-256 signature.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DeviceKeyError> {
        self.key.sign(message).map_err(|e| DeviceKeyError(e.to_string()))
    }

    /// The four `X-Linli-*` headers for a request. `nonce` None = 32 random hex characters.
    pub fn signed_headers(
        &self,
        cert_serial_hex: &str,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        timestamp_ms: i64,
        nonce: Option<&str>,
    ) -> Result<Vec<(&'static str, String)>, DeviceKeyError> {
        let nonce = nonce.map(str::to_owned).unwrap_or_else(random_nonce);
        let msg = string_to_sign(method, path_and_query, timestamp_ms, &nonce, body);
        let sig = self.sign(msg.as_bytes())?;
        Ok(vec![
            (HEADER_CERT, cert_serial_hex.to_owned()),
            (HEADER_TIMESTAMP, timestamp_ms.to_string()),
            (HEADER_NONCE, nonce),
            (HEADER_SIGNATURE, base64::engine::general_purpose::STANDARD.encode(sig)),
        ])
    }
}

/// 32 random hex characters.
pub fn random_nonce() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}
