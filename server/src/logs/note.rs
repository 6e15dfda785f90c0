//! C2SP `tlog-checkpoint` bodies signed as C2SP `signed-note`s with the platform's Ed25519 key.
//!
//! Checkpoint: `<origin>\n<tree size>\n<base64 root>\n`. Signed note: the text, an empty line, and one line
//! `— <key name> <base64(key id ‖ signature)>\n`, the signature being Ed25519 over the text. Key id: the first four
//! bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key) (0x01 = Ed25519). Verifier key:
//! `<key name>+<key id, 8 hex>+<base64(0x01 ‖ public key)>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sha2::{Digest, Sha256};

use super::tree::Hash;

/// The signature type byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;

/// The platform's checkpoint signer.
pub struct NoteSigner {
    name: String,
    key: Ed25519KeyPair,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner").field("name", &self.name).finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// `name` must be a valid key name: non-empty, no whitespace and no `+`.
    pub fn new(name: &str, seed: &[u8]) -> anyhow::Result<Self> {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
            anyhow::bail!("a note key name is non-empty, without spaces or '+'");
        }
        let key = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| anyhow::anyhow!("not a 32-byte Ed25519 seed"))?;
        Ok(Self { name: name.to_owned(), key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.key.public_key().as_ref());
        out
    }

    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, &self.public_key())
    }

    /// The C2SP verifier key.
    pub fn verifier_key(&self) -> String {
        let mut data = vec![ALG_ED25519];
        data.extend_from_slice(&self.public_key());
        format!("{}+{}+{}", self.name, hex::encode(self.key_id()), B64.encode(data))
    }

    /// The signed note of `text` (which must end with a newline).
    pub fn sign(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut blob = self.key_id().to_vec();
        blob.extend_from_slice(sig.as_ref());
        format!("{text}\n\u{2014} {} {}\n", self.name, B64.encode(blob))
    }
}

pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, ALG_ED25519]);
    h.update(public_key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// `linli/<community id>/<log>`.
pub fn origin(community: uuid::Uuid, log: &str) -> String {
    format!("linli/{community}/{log}")
}

/// The checkpoint body.
pub fn checkpoint_text(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ring::signature::{ED25519, UnparsedPublicKey};

    #[test]
    fn a_signed_checkpoint_has_the_c2sp_shape_and_verifies_with_the_published_key() {
        let signer = NoteSigner::new("linli.test", &[7u8; 32]).unwrap();
        let text = checkpoint_text("linli/x/disclosure", 3, &[0xab; 32]);
        assert_eq!(text, format!("linli/x/disclosure\n3\n{}\n", B64.encode([0xab; 32])));
        let note = signer.sign(&text);
        let (body, sigs) = note.split_once("\n\n").unwrap();
        assert_eq!(format!("{body}\n"), text);
        let line = sigs.strip_prefix("\u{2014} linli.test ").unwrap().trim_end();
        let blob = B64.decode(line).unwrap();
        assert_eq!(blob.len(), 68);

        // The verifier key, parsed as a third party would, gives the same key id and a key that checks it.
        let vkey = signer.verifier_key();
        let parts: Vec<&str> = vkey.split('+').collect();
        assert_eq!(parts[0], "linli.test");
        let data = B64.decode(parts[2]).unwrap();
        assert_eq!(data[0], 1);
        let pk: [u8; 32] = data[1..].try_into().unwrap();
        assert_eq!(parts[1], hex::encode(key_id("linli.test", &pk)));
        assert_eq!(&blob[..4], &key_id("linli.test", &pk));
        UnparsedPublicKey::new(&ED25519, pk).verify(text.as_bytes(), &blob[4..]).unwrap();
        assert!(UnparsedPublicKey::new(&ED25519, pk).verify(b"linli/x/disclosure\n4\n", &blob[4..]).is_err());
    }

    /// The reference vector of golang.org/x/mod/sumdb/note (the signed-note format's origin): Ed25519 is
    /// deterministic, so the same key must give the same note byte for byte.
    #[test]
    fn the_go_sumdb_note_vector_is_reproduced() {
        let skey = B64.decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz").unwrap();
        assert_eq!(skey[0], 1);
        let signer = NoteSigner::new("PeterNeumann", &skey[1..]).unwrap();
        assert_eq!(signer.verifier_key(), "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
        let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        assert_eq!(
            signer.sign(text),
            format!("{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
        );
    }

    #[test]
    fn key_names_with_spaces_or_plus_are_refused() {
        assert!(NoteSigner::new("a b", &[1; 32]).is_err());
        assert!(NoteSigner::new("a+b", &[1; 32]).is_err());
        assert!(NoteSigner::new("", &[1; 32]).is_err());
    }
}
