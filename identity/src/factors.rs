//! One call per enrollment factor, for the server's handlers: each validates its input, talks to the provider
//! if there is one, and returns the [`EnrollmentEvent`] to apply plus what must be stored. The server then
//! calls [`crate::enrollment::Enrollment::apply`] and persists both in one transaction.

use crate::ca::{DeviceCa, DeviceCertificateRequest, IssuedDeviceCertificate};
use crate::enrollment::{EnrollmentError, EnrollmentEvent, check_face_attempts};
use crate::faceid::{FaceError, FaceMatchOutcome, FaceMatchRequest, FaceVerifier};
use crate::id_number::IdNumber;
use crate::pii::SecretKey;
use crate::pin::{Pin, PinError, PinHashError, PinHasher, check_policy};
use crate::registry::{OwnershipAnswer, OwnershipQuery, RegistryClient, RegistryError};
use crate::upload::{ImagePolicy, UploadError, normalize_image};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error(transparent)]
    Enrollment(#[from] EnrollmentError),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    Face(#[from] FaceError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Csr(#[from] crate::csr::CsrError),
    #[error(transparent)]
    Ca(#[from] crate::ca::CaError),
    #[error(transparent)]
    Pin(#[from] PinError),
    #[error(transparent)]
    PinHash(#[from] PinHashError),
}

impl FactorError {
    /// Stable problem code; 4xx for everything except provider outages and internal failures.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Enrollment(e) => e.code(),
            Self::Upload(e) => e.code(),
            Self::Face(e) => e.code(),
            Self::Registry(e) => e.code(),
            Self::Csr(e) => e.code(),
            Self::Ca(crate::ca::CaError::Fingerprint) => "device_fingerprint_invalid",
            Self::Ca(_) => "device_ca_failure",
            Self::Pin(e) => e.code(),
            Self::PinHash(_) => "pin_hash_failure",
        }
    }
}

/// What the server stores after a face attempt: never the image, only these.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceAttempt {
    pub outcome: FaceMatchOutcome,
    pub image_sha256: String,
}

/// Face factor: attempt limit → upload validation → provider call. `attempts_today` counts this person's
/// provider calls on [`crate::enrollment::attempt_day`]; the server records one attempt whenever this returns
/// `Ok` (the provider was called), whatever the outcome. Invalid uploads do not use up an attempt.
pub async fn face(
    verifier: &dyn FaceVerifier,
    id_number: &IdNumber,
    name: &str,
    upload: &[u8],
    attempts_today: u32,
) -> Result<(EnrollmentEvent, FaceAttempt), FactorError> {
    check_face_attempts(attempts_today)?;
    let image = normalize_image(upload, &ImagePolicy::SELFIE)?;
    let outcome = verifier.verify(FaceMatchRequest { id_number, name, image: &image }).await?;
    let image_sha256 = image.sha256_hex();
    let event = EnrollmentEvent::FaceChecked {
        passed: outcome.passed,
        score: outcome.score,
        request_id: outcome.request_id.clone(),
        image_sha256: image_sha256.clone(),
    };
    Ok((event, FaceAttempt { outcome, image_sha256 }))
}

/// Registry factor: passes only when the registry names this person (ID number and name) as an owner of the
/// unit. On `RegistryConfirmed { registered_area_centi_m2: Some(a) }` the server writes `a` to the unit if it
/// differs, with an audit entry.
pub async fn registry(client: &dyn RegistryClient, query: OwnershipQuery<'_>) -> Result<(EnrollmentEvent, OwnershipAnswer), FactorError> {
    let answer = client.check_ownership(query).await?;
    let event = if answer.confirms_owner() {
        EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: answer.exclusive_area_centi_m2 }
    } else {
        EnrollmentEvent::RegistryRejected
    };
    Ok((event, answer))
}

/// Device factor: CSR check and certificate issue. The server stores serial, certificate, public key, device and
/// wx URIs, validity, and revokes any previous active binding of the account in the same transaction.
#[allow(clippy::too_many_arguments)] // each is one input of the certificate DESIGN §4 describes
pub fn device(
    ca: &DeviceCa,
    csr_pem: &str,
    device_fingerprint: &str,
    account_id: Uuid,
    openid: &str,
    openid_key: &SecretKey,
    now: DateTime<Utc>,
) -> Result<(EnrollmentEvent, IssuedDeviceCertificate), FactorError> {
    let csr = crate::csr::parse_csr_pem(csr_pem)?;
    let issued = ca.issue_device_certificate(&csr, &DeviceCertificateRequest { account_id, device_fingerprint, openid }, openid_key, now)?;
    Ok((EnrollmentEvent::DeviceBound { cert_serial: issued.serial_hex.clone() }, issued))
}

/// PIN factor (over a device-signed request): format and policy, then Argon2id. Returns the PHC string to store.
/// Costs ~18 ms: call it from a blocking thread.
pub fn pin(hasher: &PinHasher, pin_text: &str, owner: &IdNumber) -> Result<(EnrollmentEvent, String), FactorError> {
    let pin = Pin::parse(pin_text)?;
    check_policy(&pin, Some(owner))?;
    let phc = hasher.hash(&pin)?;
    Ok((EnrollmentEvent::PinSet, phc))
}
