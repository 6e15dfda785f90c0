//! PKCS#10 certificate signing requests from devices (DESIGN §4): P-256 keys signed with ecdsa-with-SHA256 only,
//! self-signature checked. Also the P-256 public key type the signed-request check uses.

use std::fmt;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::oid_registry::{OID_KEY_TYPE_EC_PUBLIC_KEY, OID_SIG_ECDSA_WITH_SHA256};
use x509_parser::prelude::FromDer;

/// Largest CSR accepted (PEM or DER). A P-256 CSR is about 400 bytes in PEM.
pub const MAX_CSR_BYTES: usize = 8 * 1024;

/// DER content of the OID 1.2.840.10045.3.1.7 (prime256v1 / secp256r1).
const P256_CURVE_OID_DER: [u8; 8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const ASN1_TAG_OID: u32 = 6;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    #[error("the CSR is larger than {MAX_CSR_BYTES} bytes")]
    TooLarge,
    #[error("the CSR is not a PEM `CERTIFICATE REQUEST`")]
    Pem,
    #[error("the CSR is not valid PKCS#10 DER")]
    Der,
    #[error("the CSR key is not an EC key")]
    NotEcKey,
    #[error("the CSR key is not on curve P-256")]
    WrongCurve,
    #[error("the CSR key is not an uncompressed P-256 point")]
    BadPublicKey,
    #[error("the CSR is not signed with ecdsa-with-SHA256")]
    WrongSignatureAlgorithm,
    #[error("the CSR self-signature does not verify")]
    BadSignature,
}

impl CsrError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "csr_too_large",
            Self::Pem => "csr_not_pem",
            Self::Der => "csr_malformed",
            Self::NotEcKey => "csr_not_ec_key",
            Self::WrongCurve => "csr_wrong_curve",
            Self::BadPublicKey => "csr_bad_public_key",
            Self::WrongSignatureAlgorithm => "csr_wrong_signature_algorithm",
            Self::BadSignature => "csr_bad_signature",
        }
    }
}

/// A P-256 public key as its 65-byte uncompressed SEC1 point (`04 || X || Y`), checked to be on the curve.
#[derive(Clone, PartialEq, Eq)]
pub struct P256PublicKey([u8; 65]);

impl P256PublicKey {
    /// From the SEC1 uncompressed point (as stored next to an issued certificate).
    pub fn from_sec1(point: &[u8]) -> Option<Self> {
        let arr: [u8; 65] = point.try_into().ok()?;
        if arr[0] != 0x04 {
            return None;
        }
        // ring checks the point is on the curve when it is used as an ECDH peer key.
        if !on_p256(&arr) {
            return None;
        }
        Some(Self(arr))
    }

    pub fn sec1_bytes(&self) -> &[u8; 65] {
        &self.0
    }

    /// Verifies an ECDSA P-256/SHA-256 signature over `message`, given as DER or as raw 64-byte r||s.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use ring::signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
        let fixed = signature.len() == 64
            && UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.0).verify(message, signature).is_ok();
        fixed || UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.0).verify(message, signature).is_ok()
    }
}

impl fmt::Debug for P256PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P256PublicKey({})", hex::encode(self.0))
    }
}

/// Whether the point is a valid P-256 public key (on the curve, not the identity). ring exposes its point
/// validation through ECDH, which rejects an invalid peer key before any agreement.
fn on_p256(point: &[u8; 65]) -> bool {
    use ring::agreement::{ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey, agree_ephemeral};
    let rng = ring::rand::SystemRandom::new();
    let Ok(ours) = EphemeralPrivateKey::generate(&ECDH_P256, &rng) else {
        return false;
    };
    agree_ephemeral(ours, &UnparsedPublicKey::new(&ECDH_P256, point), |_| ()).is_ok()
}

/// A CSR whose structure, algorithms and self-signature were checked. Only the public key is used: the
/// certificate's subject comes from the account, never from the CSR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCsr {
    pub public_key: P256PublicKey,
}

/// Parses a PEM CSR (`-----BEGIN CERTIFICATE REQUEST-----`, as `openssl req -new` writes it).
pub fn parse_csr_pem(pem: &str) -> Result<VerifiedCsr, CsrError> {
    if pem.len() > MAX_CSR_BYTES {
        return Err(CsrError::TooLarge);
    }
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|_| CsrError::Pem)?;
    if parsed.label != "CERTIFICATE REQUEST" && parsed.label != "NEW CERTIFICATE REQUEST" {
        return Err(CsrError::Pem);
    }
    parse_csr_der(&parsed.contents)
}

/// Parses and checks a DER CSR.
pub fn parse_csr_der(der: &[u8]) -> Result<VerifiedCsr, CsrError> {
    if der.len() > MAX_CSR_BYTES {
        return Err(CsrError::TooLarge);
    }
    let (rest, csr) = X509CertificationRequest::from_der(der).map_err(|_| CsrError::Der)?;
    if !rest.is_empty() {
        return Err(CsrError::Der);
    }
    let info = &csr.certification_request_info;
    let spki = &info.subject_pki;
    if spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY {
        return Err(CsrError::NotEcKey);
    }
    let curve_ok = spki
        .algorithm
        .parameters
        .as_ref()
        .is_some_and(|p| p.header.tag().0 == ASN1_TAG_OID && p.data == P256_CURVE_OID_DER);
    if !curve_ok {
        return Err(CsrError::WrongCurve);
    }
    let public_key = P256PublicKey::from_sec1(&spki.subject_public_key.data).ok_or(CsrError::BadPublicKey)?;
    if csr.signature_algorithm.algorithm != OID_SIG_ECDSA_WITH_SHA256 {
        return Err(CsrError::WrongSignatureAlgorithm);
    }
    let sig = &csr.signature_value.data;
    let ok = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, public_key.sec1_bytes())
        .verify(info.raw, sig)
        .is_ok();
    if !ok {
        return Err(CsrError::BadSignature);
    }
    Ok(VerifiedCsr { public_key })
}
