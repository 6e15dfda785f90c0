//! Personal-data crypto (DESIGN §3): AES-256-GCM field encryption with a key id for rotation, and an
//! HMAC-SHA256 blind index for look-ups. Keys are [`SecretKey`]s, which never print.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    #[error("a key is 32 bytes, given as 64 hex characters or base64")]
    KeyFormat,
    #[error("a key id is 1-32 characters of [a-z0-9_-]")]
    KeyId,
    #[error("no key with the id of this ciphertext")]
    UnknownKeyId,
    #[error("the ciphertext is malformed")]
    Malformed,
    #[error("the ciphertext does not authenticate (wrong key, wrong context or altered)")]
    Decrypt,
}

/// 32 secret bytes. `Debug` prints `SecretKey(<redacted>)`; there is no `Display` and no `Serialize`.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// 64 hex characters or standard base64 of 32 bytes (the forms config files and env variables use).
    pub fn parse(text: &str) -> Result<Self, PiiError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).map_err(|_| PiiError::KeyFormat)?
        } else {
            B64.decode(t).map_err(|_| PiiError::KeyFormat)?
        };
        let arr: [u8; 32] = bytes.try_into().map_err(|_| PiiError::KeyFormat)?;
        Ok(Self(arr))
    }

    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        Self(b)
    }

    /// Hex form, for writing a freshly generated key into a config file once.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        // Best effort: overwrite before the memory is released.
        self.0.iter_mut().for_each(|b| *b = 0);
    }
}

fn valid_key_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Encrypts personal-data fields. Ciphertext text form: `<key_id>:<base64(nonce(12) || ciphertext || tag(16))>`.
/// New values use the current key; any key in the ring decrypts, so keys rotate by adding a new current key and
/// re-encrypting rows in the background. `context` is bound as associated data (use e.g. `"persons.id_number"`),
/// so a ciphertext copied into another column does not decrypt.
#[derive(Clone)]
pub struct FieldCipher {
    current: String,
    keys: BTreeMap<String, SecretKey>,
}

impl fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldCipher")
            .field("current", &self.current)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl FieldCipher {
    pub fn new(current_key_id: &str, current_key: SecretKey) -> Result<Self, PiiError> {
        if !valid_key_id(current_key_id) {
            return Err(PiiError::KeyId);
        }
        let mut keys = BTreeMap::new();
        keys.insert(current_key_id.to_owned(), current_key);
        Ok(Self { current: current_key_id.to_owned(), keys })
    }

    /// Adds an older key that may still decrypt stored values.
    pub fn with_old_key(mut self, key_id: &str, key: SecretKey) -> Result<Self, PiiError> {
        if !valid_key_id(key_id) {
            return Err(PiiError::KeyId);
        }
        self.keys.entry(key_id.to_owned()).or_insert(key);
        Ok(self)
    }

    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Result<String, PiiError> {
        let key = self.keys.get(&self.current).ok_or(PiiError::UnknownKeyId)?;
        let cipher = Aes256Gcm::new_from_slice(key.expose()).map_err(|_| PiiError::KeyFormat)?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .map_err(|_| PiiError::Decrypt)?;
        let mut blob = Vec::with_capacity(12 + ct.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ct);
        Ok(format!("{}:{}", self.current, B64.encode(blob)))
    }

    pub fn encrypt_str(&self, plaintext: &str, context: &str) -> Result<String, PiiError> {
        self.encrypt(plaintext.as_bytes(), context)
    }

    /// The key id a stored ciphertext was made with (to find rows that still need re-encryption).
    pub fn key_id_of(ciphertext: &str) -> Option<&str> {
        ciphertext.split_once(':').map(|(id, _)| id).filter(|id| valid_key_id(id))
    }

    pub fn decrypt(&self, ciphertext: &str, context: &str) -> Result<Vec<u8>, PiiError> {
        self.decrypt_bounded(ciphertext, context, 1 << 20)
    }

    /// As [`FieldCipher::decrypt`], for values larger than a field (a document scan): ciphertexts longer than
    /// `max_ciphertext_len` characters are refused before any work.
    pub fn decrypt_bounded(&self, ciphertext: &str, context: &str, max_ciphertext_len: usize) -> Result<Vec<u8>, PiiError> {
        if ciphertext.len() > max_ciphertext_len {
            return Err(PiiError::Malformed);
        }
        let (key_id, body) = ciphertext.split_once(':').ok_or(PiiError::Malformed)?;
        let key = self.keys.get(key_id).ok_or(PiiError::UnknownKeyId)?;
        let blob = B64.decode(body).map_err(|_| PiiError::Malformed)?;
        if blob.len() < 12 + 16 {
            return Err(PiiError::Malformed);
        }
        let (nonce, ct) = blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| PiiError::Malformed)?;
        let cipher = Aes256Gcm::new_from_slice(key.expose()).map_err(|_| PiiError::KeyFormat)?;
        cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad: context.as_bytes() })
            .map_err(|_| PiiError::Decrypt)
    }

    pub fn decrypt_string(&self, ciphertext: &str, context: &str) -> Result<String, PiiError> {
        String::from_utf8(self.decrypt(ciphertext, context)?).map_err(|_| PiiError::Malformed)
    }
}

/// HMAC-SHA256 blind index: equal inputs give equal hex strings, so `WHERE id_number_index = $1` finds a row
/// without decrypting. `field` separates domains so the index of a phone number never equals that of an ID.
#[derive(Clone, Debug)]
pub struct BlindIndex {
    key: SecretKey,
}

impl BlindIndex {
    pub fn new(key: SecretKey) -> Self {
        Self { key }
    }

    /// Lower-case hex of HMAC-SHA256(key, field || 0x00 || value).
    pub fn index(&self, field: &str, value: &str) -> String {
        hex::encode(crate::hmac_sha256(self.key.expose(), &[field.as_bytes(), &[0], value.as_bytes()]))
    }

    /// HMAC-SHA256(key, domain || 0x00 || parts…), for keyed fingerprints of other data under the same key: the
    /// domain keeps them apart from the field indexes (no field is named like a domain).
    pub fn mac(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut all: Vec<&[u8]> = Vec::with_capacity(parts.len() + 2);
        all.push(domain.as_bytes());
        all.push(&[0]);
        all.extend_from_slice(parts);
        crate::hmac_sha256(self.key.expose(), &all)
    }
}

/// Lower-case hex HMAC-SHA256 (used for `urn:linli:wx:<hex hmac(openid)>` and the like).
pub fn hmac_sha256_hex(key: &SecretKey, message: &[u8]) -> String {
    hex::encode(crate::hmac_sha256(key.expose(), &[message]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SecretKey {
        SecretKey::from_bytes([b; 32])
    }

    #[test]
    fn round_trip_and_key_id_prefix() {
        let c = FieldCipher::new("k2025", key(1)).unwrap();
        let ct = c.encrypt_str("11010519491231002X", "persons.id_number").unwrap();
        assert!(ct.starts_with("k2025:"));
        assert!(!ct.contains("11010519491231002X"));
        assert_eq!(c.decrypt_string(&ct, "persons.id_number").unwrap(), "11010519491231002X");
        // Same plaintext twice gives different ciphertexts (random nonce).
        assert_ne!(ct, c.encrypt_str("11010519491231002X", "persons.id_number").unwrap());
    }

    #[test]
    fn rotation_old_key_still_decrypts() {
        let old = FieldCipher::new("k1", key(1)).unwrap();
        let ct = old.encrypt_str("x", "t.c").unwrap();
        let rotated = FieldCipher::new("k2", key(2)).unwrap().with_old_key("k1", key(1)).unwrap();
        assert_eq!(rotated.decrypt_string(&ct, "t.c").unwrap(), "x");
        assert!(rotated.encrypt_str("x", "t.c").unwrap().starts_with("k2:"));
        assert_eq!(FieldCipher::key_id_of(&ct), Some("k1"));
        let only_new = FieldCipher::new("k2", key(2)).unwrap();
        assert_eq!(only_new.decrypt_string(&ct, "t.c"), Err(PiiError::UnknownKeyId));
    }

    #[test]
    fn wrong_context_wrong_key_and_tampering_fail() {
        let c = FieldCipher::new("k1", key(1)).unwrap();
        let ct = c.encrypt_str("secret", "a.b").unwrap();
        assert_eq!(c.decrypt(&ct, "a.c"), Err(PiiError::Decrypt));
        let other = FieldCipher::new("k1", key(9)).unwrap();
        assert_eq!(other.decrypt(&ct, "a.b"), Err(PiiError::Decrypt));
        let (id, body) = ct.split_once(':').unwrap();
        let mut blob = B64.decode(body).unwrap();
        let last = blob.len() - 1;
        blob[last] ^= 1;
        assert_eq!(c.decrypt(&format!("{id}:{}", B64.encode(blob)), "a.b"), Err(PiiError::Decrypt));
        assert_eq!(c.decrypt("k1:AAAA", "a.b"), Err(PiiError::Malformed));
        assert_eq!(c.decrypt("nokeyid", "a.b"), Err(PiiError::Malformed));
    }

    #[test]
    fn aes_gcm_matches_nist_vector() {
        // NIST GCM test case 14 (McGrew & Viega): 256-bit zero key, zero IV, one zero block.
        let cipher = Aes256Gcm::new_from_slice(&[0u8; 32]).unwrap();
        let out = cipher.encrypt(&Nonce::from([0u8; 12]), [0u8; 16].as_slice()).unwrap();
        assert_eq!(hex::encode(out), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
    }

    #[test]
    fn blind_index_is_deterministic_and_domain_separated() {
        let bi = BlindIndex::new(key(3));
        assert_eq!(bi.index("id_number", "a"), bi.index("id_number", "a"));
        assert_ne!(bi.index("id_number", "a"), bi.index("phone", "a"));
        assert_ne!(bi.index("id_number", "a"), BlindIndex::new(key(4)).index("id_number", "a"));
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        // RFC 4231 test case 2, message given in two parts to exercise the incremental path.
        assert_eq!(
            hex::encode(crate::hmac_sha256(b"Jefe", &[b"what do ya ", b"want for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_never_print() {
        let k = SecretKey::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{k:?}"), "SecretKey(<redacted>)");
        let c = FieldCipher::new("k1", k).unwrap();
        assert!(!format!("{c:?}").contains("ab"));
        assert!(SecretKey::parse("short").is_err());
        assert!(SecretKey::parse(&B64.encode([7u8; 32])).is_ok());
    }
}
