//! A reference client that does what the mini-program does: WeChat login, a P-256 device key and its PKCS#10 CSR,
//! and device-signed requests. It builds the string to sign from DESIGN §4 itself — it shares no code with the
//! server's verifier, so a bug on one side cannot hide behind the same bug on the other.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("key generation failed")]
    Key,
    #[error("CSR: {0}")]
    Csr(String),
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
}

/// A device key pair, as the phone keeps it.
pub struct DeviceKey {
    pkcs8: Vec<u8>,
    pair: EcdsaKeyPair,
}

impl DeviceKey {
    pub fn generate() -> Result<Self, ClientError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).map_err(|_| ClientError::Key)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| ClientError::Key)?;
        Ok(Self { pkcs8: pkcs8.as_ref().to_vec(), pair })
    }

    /// A PKCS#10 CSR signed with this key.
    pub fn csr_pem(&self) -> Result<String, ClientError> {
        let der = rustls::pki_types::PrivatePkcs8KeyDer::from(self.pkcs8.clone());
        let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| ClientError::Csr(e.to_string()))?;
        let params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| ClientError::Csr(e.to_string()))?;
        let csr = params.serialize_request(&key).map_err(|e| ClientError::Csr(e.to_string()))?;
        csr.pem().map_err(|e| ClientError::Csr(e.to_string()))
    }

    pub fn public_key_sec1(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// ECDSA P-256/SHA-256, DER-encoded.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(&SystemRandom::new(), message).map(|s| s.as_ref().to_vec()).unwrap_or_default()
    }

    /// ECDSA P-256/SHA-256 as 64 bytes r‖s (COSE, the pass proof).
    pub fn sign_fixed(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        ring::signature::EcdsaKeyPair::from_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &self.pkcs8, &rng)
            .ok()
            .and_then(|pair| pair.sign(&rng, message).ok())
            .map(|s| s.as_ref().to_vec())
            .unwrap_or_default()
    }
}

/// "LINLI-SIG-V1\n" + METHOD + "\n" + path-with-query + "\n" + timestamp + "\n" + nonce + "\n" + hex(sha256(body)) + "\n"
pub fn string_to_sign(method: &str, path_and_query: &str, timestamp_ms: i64, nonce: &str, body: &[u8]) -> String {
    format!(
        "LINLI-SIG-V1\n{method}\n{path_and_query}\n{timestamp_ms}\n{nonce}\n{}\n",
        hex::encode(Sha256::digest(body))
    )
}

pub fn random_nonce() -> String {
    hex::encode(uuid::Uuid::new_v4().as_bytes())
}

/// The four signature headers for a request, given a signature over the string to sign (DER or raw).
pub fn signature_headers(serial: &str, timestamp_ms: i64, nonce: &str, signature: &[u8]) -> Vec<(String, String)> {
    vec![
        ("X-Linli-Cert".to_owned(), serial.to_owned()),
        ("X-Linli-Timestamp".to_owned(), timestamp_ms.to_string()),
        ("X-Linli-Nonce".to_owned(), nonce.to_owned()),
        ("X-Linli-Signature".to_owned(), STANDARD.encode(signature)),
    ]
}

/// Headers of a request signed now by `key` for certificate `serial`.
pub fn sign_request(key: &DeviceKey, serial: &str, method: &str, path: &str, body: &[u8]) -> Vec<(String, String)> {
    let ts = chrono::Utc::now().timestamp_millis();
    let nonce = random_nonce();
    let sig = key.sign(string_to_sign(method, path, ts, &nonce, body).as_bytes());
    signature_headers(serial, ts, &nonce, &sig)
}
