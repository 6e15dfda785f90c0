//! Personal data at rest (PIPL, DESIGN §3), on top of `linli_identity`'s AES-256-GCM field cipher and HMAC blind
//! index. Each column has its own associated-data context, so a ciphertext copied into another column does not
//! decrypt; each indexed field has its own index domain.

use std::sync::Arc;

use linli_identity::pii::{BlindIndex, FieldCipher, PiiError, SecretKey};
use secrecy::ExposeSecret;

use crate::config::PiiConfig;

/// An encrypted column: the text is its associated-data context.
#[derive(Debug, Clone, Copy)]
pub enum Column {
    PersonName,
    PersonIdNumber,
    PersonPhone,
    AccountOpenid,
    EnrollmentName,
    EnrollmentIdNumber,
    ResidentName,
    ResidentPhone,
    DoorGatewayPassword,
    VisitorName,
}

impl Column {
    fn context(self) -> &'static str {
        match self {
            Self::PersonName => "persons.name",
            Self::PersonIdNumber => "persons.id_number",
            Self::PersonPhone => "persons.phone",
            Self::AccountOpenid => "accounts.wx_openid",
            Self::EnrollmentName => "enrollments.real_name",
            Self::EnrollmentIdNumber => "enrollments.id_number",
            Self::ResidentName => "residents.name",
            Self::ResidentPhone => "residents.phone",
            Self::DoorGatewayPassword => "doors.gateway_password",
            Self::VisitorName => "passes.visitor_name",
        }
    }
}

/// An encrypted document column (bytes larger than a field, bound to their row).
#[derive(Debug, Clone, Copy)]
pub enum DocumentColumn {
    RegistryReviewScan,
    ProxyAuthorisationScan,
}

impl DocumentColumn {
    fn context(self, row: uuid::Uuid) -> String {
        match self {
            Self::RegistryReviewScan => format!("registry_reviews.scan:{row}"),
            Self::ProxyAuthorisationScan => format!("meeting_proxies.scan:{row}"),
        }
    }

    /// Base64 of the largest accepted scan (10 MiB) plus nonce, tag and key id, rounded up.
    fn max_ciphertext_len(self) -> usize {
        match self {
            Self::RegistryReviewScan | Self::ProxyAuthorisationScan => 14 * 1024 * 1024,
        }
    }
}

/// A blind-indexed field.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    IdNumber,
    Phone,
}

impl Field {
    fn domain(self) -> &'static str {
        match self {
            Self::IdNumber => "id_number",
            Self::Phone => "phone",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pii {
    cipher: Arc<FieldCipher>,
    index: Arc<BlindIndex>,
}

impl Pii {
    pub fn from_config(cfg: &PiiConfig) -> Result<Self, PiiError> {
        let mut cipher = FieldCipher::new(&cfg.active_key_id, SecretKey::parse(cfg.encryption_key.expose_secret())?)?;
        for (id, key) in &cfg.previous_keys {
            cipher = cipher.with_old_key(id, SecretKey::parse(key.expose_secret())?)?;
        }
        let index = BlindIndex::new(SecretKey::parse(cfg.blind_index_key.expose_secret())?);
        Ok(Self { cipher: Arc::new(cipher), index: Arc::new(index) })
    }

    pub fn encrypt(&self, column: Column, value: &str) -> Result<String, PiiError> {
        self.cipher.encrypt_str(value, column.context())
    }

    pub fn decrypt(&self, column: Column, stored: &str) -> Result<String, PiiError> {
        self.cipher.decrypt_string(stored, column.context())
    }

    /// The field cipher itself, as the key-encryption key of organisation-app secrets (their own context).
    pub fn cipher(&self) -> &FieldCipher {
        &self.cipher
    }

    /// Encrypts a document (a property-certificate scan) bound to the row it belongs to: the associated data is
    /// `<table>.<column>:<row id>`, so a ciphertext moved to another row or column does not decrypt.
    pub fn encrypt_document(&self, column: DocumentColumn, row: uuid::Uuid, bytes: &[u8]) -> Result<String, PiiError> {
        self.cipher.encrypt(bytes, &column.context(row))
    }

    pub fn decrypt_document(&self, column: DocumentColumn, row: uuid::Uuid, stored: &str) -> Result<Vec<u8>, PiiError> {
        self.cipher.decrypt_bounded(stored, &column.context(row), column.max_ciphertext_len())
    }

    pub fn index(&self, field: Field, value: &str) -> String {
        self.index.index(field.domain(), value)
    }

    /// The fingerprint an `Idempotency-Key` keeps of its request: keyed (HMAC under the blind-index key), because a
    /// body may hold a secret from a small space — a ballot sheet's six-digit PIN — that an unkeyed hash in a
    /// database copy would give away to anyone trying the 10⁶ candidates.
    pub fn request_fingerprint(&self, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
        self.index.mac("request_fingerprint", &[method.as_bytes(), &[0], path.as_bytes(), &[0], body]).to_vec()
    }

    /// An owner's bytes32 pseudonym on chain for their own sheets in a meeting: HMAC-SHA256 under the blind-index
    /// key (domain `linli-voter-v2`, meeting uuid, account uuid). Keyed, so that no chain reader (the property
    /// company's node, the bank's) and no committee member, who sees account ids, can link a pseudonym to an owner
    /// (issue 24 item 11); unlinkable across meetings.
    pub fn voter_pseudonym(&self, meeting: uuid::Uuid, account: uuid::Uuid) -> [u8; 32] {
        self.index.mac("linli-voter-v2", &[meeting.as_bytes(), account.as_bytes()])
    }

    /// The pseudonym of a sheet cast through a written proxy (domain `linli-proxy-voter-v2`, meeting, proxy): a
    /// holder's own sheet and each sheet they cast for a principal are different voters on chain.
    pub fn proxy_pseudonym(&self, meeting: uuid::Uuid, proxy: uuid::Uuid) -> [u8; 32] {
        self.index.mac("linli-proxy-voter-v2", &[meeting.as_bytes(), proxy.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_pseudonyms_are_keyed_and_own_and_proxy_sheets_differ() {
        let pii = Pii::from_config(&crate::testing::test_pii_config()).unwrap();
        let (m, a) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        assert_ne!(pii.voter_pseudonym(m, a), pii.proxy_pseudonym(m, a));
        assert_ne!(pii.voter_pseudonym(m, a), pii.voter_pseudonym(uuid::Uuid::from_u128(3), a), "per meeting");
        // Not the unkeyed hash anyone holding the ids could compute (the v1 pseudonym).
        use sha2::Digest;
        let unkeyed: [u8; 32] = sha2::Sha256::new().chain_update(b"linli-voter-v1").chain_update(m.as_bytes()).chain_update(a.as_bytes()).finalize().into();
        assert_ne!(pii.voter_pseudonym(m, a), unkeyed);
        let mut other = crate::testing::test_pii_config();
        other.blind_index_key = secrecy::SecretString::from("2f".repeat(32));
        assert_ne!(pii.voter_pseudonym(m, a), Pii::from_config(&other).unwrap().voter_pseudonym(m, a), "another key, another pseudonym");
    }

    fn pii(active: &str, key: &str, previous: &[(&str, &str)]) -> Pii {
        Pii::from_config(&PiiConfig {
            active_key_id: active.into(),
            encryption_key: key.into(),
            previous_keys: previous.iter().map(|(k, v)| ((*k).to_owned(), (*v).into())).collect(),
            blind_index_key: "11".repeat(32).into(),
        })
        .unwrap()
    }

    #[test]
    fn columns_do_not_decrypt_each_other_and_keys_rotate() {
        let old = pii("k1", &"aa".repeat(32), &[]);
        let stored = old.encrypt(Column::PersonIdNumber, "11010519491231002X").unwrap();
        assert!(!stored.contains("11010519491231002X"));
        assert!(old.decrypt(Column::PersonName, &stored).is_err());
        let rotated = pii("k2", &"bb".repeat(32), &[("k1", &"aa".repeat(32))]);
        assert_eq!(rotated.decrypt(Column::PersonIdNumber, &stored).unwrap(), "11010519491231002X");
        assert!(rotated.encrypt(Column::PersonName, "x").unwrap().starts_with("k2:"));
    }

    #[test]
    fn documents_are_bound_to_their_row() {
        let p = pii("k1", &"aa".repeat(32), &[]);
        let (row, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let scan = vec![0x25u8; 1024 * 1024]; // its ciphertext is beyond the 1 MiB cap of fields
        let stored = p.encrypt_document(DocumentColumn::RegistryReviewScan, row, &scan).unwrap();
        assert_eq!(p.decrypt_document(DocumentColumn::RegistryReviewScan, row, &stored).unwrap(), scan);
        assert!(p.decrypt_document(DocumentColumn::RegistryReviewScan, other, &stored).is_err());
    }

    #[test]
    fn index_domains_are_separate() {
        let p = pii("k1", &"aa".repeat(32), &[]);
        assert_eq!(p.index(Field::IdNumber, "x"), p.index(Field::IdNumber, "x"));
        assert_ne!(p.index(Field::IdNumber, "x"), p.index(Field::Phone, "x"));
    }

    #[test]
    fn bad_keys_are_refused() {
        let r = Pii::from_config(&PiiConfig {
            active_key_id: "k1".into(),
            encryption_key: "abcd".into(),
            previous_keys: Default::default(),
            blind_index_key: "11".repeat(32).into(),
        });
        assert!(r.is_err());
    }
}
