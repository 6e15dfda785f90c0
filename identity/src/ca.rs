//! The device CA (DESIGN §4): a P-256 key and a self-signed CA certificate in PEM files, created once per
//! deployment (`linli ca init`) and loaded at start-up; it issues one-year device certificates.

use crate::csr::{P256PublicKey, VerifiedCsr};
use crate::pii::SecretKey;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PublicKeyData, SanType, SerialNumber, SignatureAlgorithm,
};
use std::fmt;
use std::io::Write;
use std::path::Path;
use uuid::Uuid;

/// Validity of a device certificate.
pub const DEVICE_CERT_DAYS: i64 = 365;
/// Validity of a new CA certificate.
pub const CA_CERT_YEARS: i64 = 10;
/// Largest device fingerprint accepted (SOTER ids and installation ids are far shorter).
pub const MAX_FINGERPRINT_BYTES: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("reading or writing {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("refusing to overwrite the existing file {0}")]
    Exists(String),
    #[error("the CA key is not a P-256 PKCS#8 key")]
    Key,
    #[error("the CA certificate is not a valid PEM certificate")]
    Certificate,
    #[error("the CA certificate is not a CA or does not match the CA key")]
    Mismatch,
    #[error("the device fingerprint must be 1-{MAX_FINGERPRINT_BYTES} bytes")]
    Fingerprint,
    #[error("certificate generation failed: {0}")]
    Generate(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CaError + '_ {
    move |source| CaError::Io { path: path.display().to_string(), source }
}

fn gen_err(e: rcgen::Error) -> CaError {
    CaError::Generate(e.to_string())
}

/// A random positive 128-bit serial: 16 random bytes with the top bit cleared (positive in DER) and the next bit
/// set (so the encoding is always exactly 16 bytes and the hex form always 32 characters).
fn random_serial() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[0] = (b[0] & 0x7F) | 0x40;
    b
}

fn to_time(t: DateTime<Utc>) -> Result<time::OffsetDateTime, CaError> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).map_err(|e| CaError::Generate(e.to_string()))
}

/// Canonical form of a certificate serial for look-ups: lower-case hex without leading zeros, colons or
/// a `0x` prefix (so `openssl x509 -serial`'s `4A1B…` and our `4a1b…` match). None if not hex or too long.
pub fn normalize_serial(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
    let compact: String = t.chars().filter(|c| *c != ':').collect();
    if compact.is_empty() || compact.len() > 40 || !compact.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let trimmed = compact.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_ascii_lowercase() })
}

/// `urn:linli:device:<hex sha256(fingerprint)>`.
pub fn device_uri(device_fingerprint: &str) -> String {
    format!("urn:linli:device:{}", hex::encode(crate::sha256(device_fingerprint.as_bytes())))
}

/// `urn:linli:wx:<hex hmac-sha256(key, openid)>`; the key is a server secret so the openid cannot be recovered
/// from a certificate.
pub fn wx_uri(openid_key: &SecretKey, openid: &str) -> String {
    format!("urn:linli:wx:{}", crate::pii::hmac_sha256_hex(openid_key, openid.as_bytes()))
}

/// What the server supplies to issue a device certificate.
#[derive(Debug, Clone)]
pub struct DeviceCertificateRequest<'a> {
    pub account_id: Uuid,
    pub device_fingerprint: &'a str,
    pub openid: &'a str,
}

/// An issued device certificate and the facts the server stores with the binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDeviceCertificate {
    /// Canonical serial (see [`normalize_serial`]): 32 lower-case hex characters.
    pub serial_hex: String,
    pub certificate_pem: String,
    pub certificate_der: Vec<u8>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub device_uri: String,
    pub wx_uri: String,
    /// The device key as a SEC1 point; store it to verify signed requests without re-parsing the certificate.
    pub public_key: P256PublicKey,
}

/// The CA: its signing key (never printed) and certificate.
pub struct DeviceCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    cert_der: Vec<u8>,
}

impl fmt::Debug for DeviceCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCa").field("cert_len", &self.cert_der.len()).finish_non_exhaustive()
    }
}

struct DeviceKey<'a>(&'a P256PublicKey);

impl PublicKeyData for DeviceKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.sec1_bytes()
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

impl DeviceCa {
    /// A new CA key and self-signed certificate (CN = `common_name`, O = Linli), valid for [`CA_CERT_YEARS`].
    pub fn generate(common_name: &str, now: DateTime<Utc>) -> Result<Self, CaError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(gen_err)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        dn.push(DnType::OrganizationName, "Linli");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = to_time(now - Duration::minutes(5))?;
        params.not_after = to_time(now + Duration::days(365 * CA_CERT_YEARS))?;
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        let cert = params.self_signed(&key).map_err(gen_err)?;
        let cert_der = cert.der().to_vec();
        let cert_pem = cert.pem();
        Ok(Self { issuer: Issuer::new(params, key), cert_pem, cert_der })
    }

    /// Loads a CA from PEM text: a PKCS#8 P-256 key and its CA certificate. Checks that the certificate is a CA
    /// certificate for exactly this key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CaError> {
        let key = KeyPair::from_pem(key_pem).map_err(|_| CaError::Key)?;
        if key.algorithm() != &PKCS_ECDSA_P256_SHA256 {
            return Err(CaError::Key);
        }
        let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|_| CaError::Certificate)?;
        if pem.label != "CERTIFICATE" {
            return Err(CaError::Certificate);
        }
        let cert_der = pem.contents;
        {
            let (_, cert) = x509_parser::parse_x509_certificate(&cert_der).map_err(|_| CaError::Certificate)?;
            if !cert.is_ca() || cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
                return Err(CaError::Mismatch);
            }
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der.as_slice().into(), key).map_err(|_| CaError::Certificate)?;
        Ok(Self { issuer, cert_pem: cert_pem.to_owned(), cert_der })
    }

    /// Loads the CA from the configured files.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, CaError> {
        let cert = std::fs::read_to_string(cert_path).map_err(io_err(cert_path))?;
        let key = std::fs::read_to_string(key_path).map_err(io_err(key_path))?;
        Self::from_pem(&cert, &key)
    }

    /// Writes the certificate (0644) and the key (0600). Refuses to overwrite either file.
    pub fn write_pem_files(&self, cert_path: &Path, key_path: &Path) -> Result<(), CaError> {
        for p in [cert_path, key_path] {
            if p.exists() {
                return Err(CaError::Exists(p.display().to_string()));
            }
        }
        write_new(key_path, self.issuer.key().serialize_pem().as_bytes(), 0o600)?;
        write_new(cert_path, self.cert_pem.as_bytes(), 0o644)
    }

    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Issues a device certificate exactly as DESIGN §4 says: subject CN = account id; SAN URIs
    /// `urn:linli:device:<hex sha256(fingerprint)>` and `urn:linli:wx:<hex hmac(openid)>`; key usage
    /// digitalSignature (critical); valid one year from `now` (not-before 5 minutes earlier for clock skew);
    /// random positive 128-bit serial; authority key identifier set so chain building finds the CA.
    pub fn issue_device_certificate(
        &self,
        csr: &VerifiedCsr,
        request: &DeviceCertificateRequest<'_>,
        openid_key: &SecretKey,
        now: DateTime<Utc>,
    ) -> Result<IssuedDeviceCertificate, CaError> {
        if request.device_fingerprint.is_empty() || request.device_fingerprint.len() > MAX_FINGERPRINT_BYTES {
            return Err(CaError::Fingerprint);
        }
        let device = device_uri(request.device_fingerprint);
        let wx = wx_uri(openid_key, request.openid);
        let serial = random_serial();
        let not_before = now - Duration::minutes(5);
        let not_after = now + Duration::days(DEVICE_CERT_DAYS);

        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, request.account_id.hyphenated().to_string());
        params.distinguished_name = dn;
        params.subject_alt_names = vec![
            SanType::URI(device.clone().try_into().map_err(gen_err)?),
            SanType::URI(wx.clone().try_into().map_err(gen_err)?),
        ];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.not_before = to_time(not_before)?;
        params.not_after = to_time(not_after)?;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&DeviceKey(&csr.public_key), &self.issuer).map_err(gen_err)?;
        Ok(IssuedDeviceCertificate {
            serial_hex: hex::encode(serial),
            certificate_pem: cert.pem(),
            certificate_der: cert.der().to_vec(),
            not_before: DateTime::from_timestamp(not_before.timestamp(), 0).unwrap_or(not_before),
            not_after: DateTime::from_timestamp(not_after.timestamp(), 0).unwrap_or(not_after),
            device_uri: device,
            wx_uri: wx,
            public_key: csr.public_key.clone(),
        })
    }
}

fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), CaError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(io_err(path))?;
    f.write_all(data).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// What a device certificate says, parsed back (for the reference client, support tools and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCertificateInfo {
    pub serial_hex: String,
    pub subject_common_name: String,
    pub uris: Vec<String>,
    pub public_key: P256PublicKey,
    pub not_before: i64,
    pub not_after: i64,
}

pub fn parse_device_certificate_pem(pem: &str) -> Result<DeviceCertificateInfo, CaError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|_| CaError::Certificate)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&pem.contents).map_err(|_| CaError::Certificate)?;
    let public_key =
        P256PublicKey::from_sec1(&cert.public_key().subject_public_key.data).ok_or(CaError::Certificate)?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut uris = vec![];
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::URI(u) = n {
                uris.push((*u).to_owned());
            }
        }
    }
    Ok(DeviceCertificateInfo {
        serial_hex: normalize_serial(&hex::encode(cert.raw_serial())).unwrap_or_default(),
        subject_common_name: cn,
        uris,
        public_key,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}
