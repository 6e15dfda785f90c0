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

    pub fn index(&self, field: Field, value: &str) -> String {
        self.index.index(field.domain(), value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
