//! Personal data at rest (PIPL, DESIGN §3): AES-256-GCM with the key id stored beside each ciphertext so keys can
//! rotate, and an HMAC-SHA256 blind index for exact look-up without decrypting.
//!
//! Stored form: `key_id` (ASCII) ‖ `:` ‖ 12-byte random nonce ‖ ciphertext+tag.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::config::PiiConfig;

#[derive(Debug, thiserror::Error)]
pub enum PiiError {
    #[error("key {0} is not 32 bytes of hex")]
    BadKey(String),
    #[error("ciphertext names unknown key id")]
    UnknownKey,
    #[error("ciphertext is malformed or was tampered with")]
    Corrupt,
}

/// Which field a blind index is for: the same value in two fields gets two unrelated indexes.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    IdNumber,
    Phone,
}

impl Field {
    fn label(self) -> &'static [u8] {
        match self {
            Self::IdNumber => b"id_number",
            Self::Phone => b"phone",
        }
    }
}

pub struct PiiCipher {
    active_id: String,
    keys: BTreeMap<String, Aes256Gcm>,
    index_key: [u8; 32],
}

impl std::fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiiCipher").field("active_id", &self.active_id).finish_non_exhaustive()
    }
}

fn key_bytes(id: &str, hex_key: &SecretString) -> Result<[u8; 32], PiiError> {
    let bytes = hex::decode(hex_key.expose_secret().trim()).map_err(|_| PiiError::BadKey(id.to_owned()))?;
    bytes.try_into().map_err(|_| PiiError::BadKey(id.to_owned()))
}

impl PiiCipher {
    pub fn from_config(cfg: &PiiConfig) -> Result<Self, PiiError> {
        let mut keys = BTreeMap::new();
        for (id, key) in &cfg.previous_keys {
            keys.insert(id.clone(), Aes256Gcm::new(&key_bytes(id, key)?.into()));
        }
        let active = key_bytes(&cfg.active_key_id, &cfg.encryption_key)?;
        keys.insert(cfg.active_key_id.clone(), Aes256Gcm::new(&active.into()));
        if cfg.active_key_id.is_empty() || cfg.active_key_id.contains(':') {
            return Err(PiiError::BadKey(cfg.active_key_id.clone()));
        }
        Ok(Self {
            active_id: cfg.active_key_id.clone(),
            keys,
            index_key: key_bytes("blind_index_key", &cfg.blind_index_key)?,
        })
    }

    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut out = Vec::with_capacity(self.active_id.len() + 1 + 12 + plaintext.len() + 16);
        out.extend_from_slice(self.active_id.as_bytes());
        out.push(b':');
        out.extend_from_slice(&nonce);
        // Encryption with a valid key cannot fail for inputs far below the AES-GCM length limit.
        if let Some(cipher) = self.keys.get(&self.active_id)
            && let Ok(ct) = cipher.encrypt(&nonce, plaintext.as_bytes())
        {
            out.extend_from_slice(&ct);
        }
        out
    }

    pub fn decrypt(&self, stored: &[u8]) -> Result<String, PiiError> {
        let colon = stored.iter().position(|b| *b == b':').ok_or(PiiError::Corrupt)?;
        let key_id = std::str::from_utf8(&stored[..colon]).map_err(|_| PiiError::Corrupt)?;
        let cipher = self.keys.get(key_id).ok_or(PiiError::UnknownKey)?;
        let rest = &stored[colon + 1..];
        if rest.len() < 12 + 16 {
            return Err(PiiError::Corrupt);
        }
        let (nonce, ct) = rest.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| PiiError::Corrupt)?;
        let plain = cipher.decrypt(&Nonce::from(nonce), ct).map_err(|_| PiiError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| PiiError::Corrupt)
    }

    pub fn blind_index(&self, field: Field, value: &str) -> Vec<u8> {
        // HMAC pads keys shorter than the block with zeros, so this equals HMAC with the 32-byte key (infallible).
        let mut block_key = [0u8; 64];
        block_key[..32].copy_from_slice(&self.index_key);
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block_key.into());
        mac.update(field.label());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// Masks an identifier for display: the first `keep_start` and last `keep_end` characters stay.
pub fn mask(value: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= keep_start + keep_end {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < keep_start || i >= chars.len() - keep_end { *c } else { '*' })
        .collect()
}

/// `1101**********1234`, as DESIGN §3 shows.
pub fn mask_id_number(value: &str) -> String {
    mask(value, 4, 4)
}

/// `138****5678`.
pub fn mask_phone(value: &str) -> String {
    mask(value, 3, 4)
}

/// A personal name shown to others: the surname and a mask, `张*` / `欧阳**`... kept simple: first character.
pub fn mask_name(value: &str) -> String {
    mask(value, 1, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(active: &str, key: &str, previous: &[(&str, &str)]) -> PiiCipher {
        PiiCipher::from_config(&PiiConfig {
            active_key_id: active.into(),
            encryption_key: key.into(),
            previous_keys: previous.iter().map(|(k, v)| ((*k).to_owned(), SecretString::from(*v))).collect(),
            blind_index_key: "11".repeat(32).into(),
        })
        .unwrap()
    }

    #[test]
    fn round_trip_and_rotation() {
        let old = cipher("k1", &"aa".repeat(32), &[]);
        let stored = old.encrypt("110101199003074258");
        assert!(stored.starts_with(b"k1:"));
        assert!(!stored.windows(18).any(|w| w == b"110101199003074258"));
        let rotated = cipher("k2", &"bb".repeat(32), &[("k1", &"aa".repeat(32))]);
        assert_eq!(rotated.decrypt(&stored).unwrap(), "110101199003074258");
        assert!(rotated.encrypt("x").starts_with(b"k2:"));
        let without_old = cipher("k2", &"bb".repeat(32), &[]);
        assert!(matches!(without_old.decrypt(&stored), Err(PiiError::UnknownKey)));
    }

    #[test]
    fn tampering_is_detected() {
        let c = cipher("k1", &"aa".repeat(32), &[]);
        let mut stored = c.encrypt("13800138000");
        let last = stored.len() - 1;
        stored[last] ^= 1;
        assert!(matches!(c.decrypt(&stored), Err(PiiError::Corrupt)));
        assert!(matches!(c.decrypt(b"k1:short"), Err(PiiError::Corrupt)));
    }

    #[test]
    fn blind_index_is_deterministic_and_field_separated() {
        let c = cipher("k1", &"aa".repeat(32), &[]);
        assert_eq!(c.blind_index(Field::IdNumber, "x"), c.blind_index(Field::IdNumber, "x"));
        assert_ne!(c.blind_index(Field::IdNumber, "x"), c.blind_index(Field::Phone, "x"));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_id_number("110101199003074258"), "1101**********4258");
        assert_eq!(mask_phone("13800138000"), "138****8000");
        assert_eq!(mask_name("张三"), "张*");
    }

    #[test]
    fn bad_keys_are_refused() {
        let r = PiiCipher::from_config(&PiiConfig {
            active_key_id: "k1".into(),
            encryption_key: "abcd".into(),
            previous_keys: BTreeMap::new(),
            blind_index_key: "11".repeat(32).into(),
        });
        assert!(matches!(r, Err(PiiError::BadKey(_))));
    }
}
