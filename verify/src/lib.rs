//! Verification of Linli's verifiable logs written from the specifications, independent of the server's code:
//! RFC 9162 §2.1 (leaf and node hashes, §2.1.3.2 inclusion and §2.1.4.2 consistency verification), C2SP
//! signed-note (Ed25519 key id and signature lines) and C2SP tlog-checkpoint (origin, size, root).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

fn hash_children(l: &Hash, r: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// RFC 9162 §2.1.3.2.
pub fn verify_inclusion(leaf_index: u64, tree_size: u64, leaf: &Hash, path: &[Hash], root: &Hash) -> bool {
    if leaf_index >= tree_size {
        return false;
    }
    let mut fnode = leaf_index;
    let mut snode = tree_size - 1;
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return false;
        }
        if fnode % 2 == 1 || fnode == snode {
            r = hash_children(p, &r);
            while fnode.is_multiple_of(2) && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = hash_children(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &r == root
}

/// RFC 9162 §2.1.4.2 (with first ≥ 1).
pub fn verify_consistency(first: u64, second: u64, first_hash: &Hash, second_hash: &Hash, proof: &[Hash]) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_hash == second_hash;
    }
    let mut path = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_hash);
    }
    let Some((head, rest)) = path.split_first() else { return false };
    let mut fnode = first - 1;
    let mut snode = second - 1;
    while fnode % 2 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode % 2 == 1 || fnode == snode {
            fr = hash_children(c, &fr);
            sr = hash_children(c, &sr);
            while fnode.is_multiple_of(2) && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = hash_children(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &fr == first_hash && &sr == second_hash
}

/// A C2SP verifier key `<name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>`.
#[derive(Debug, Clone)]
pub struct VerifierKey {
    pub name: String,
    pub key_id: [u8; 4],
    pub public_key: [u8; 32],
}

impl VerifierKey {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("a verifier key is name+keyid+keydata".into());
        };
        let id: [u8; 4] = hex::decode(id).ok().and_then(|v| v.try_into().ok()).ok_or("the key id is not 8 hex digits")?;
        let data = B64.decode(data).map_err(|_| "the key data is not base64")?;
        if data.len() != 33 || data[0] != 0x01 {
            return Err("not an Ed25519 (type 0x01) key".into());
        }
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(&data[1..]);
        // The key id is derived from the name and the key; a key whose id does not match is malformed.
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update([0x0A, 0x01]);
        h.update(public_key);
        let d = h.finalize();
        if d[..4] != id {
            return Err("the key id does not match the name and key".into());
        }
        Ok(Self { name: name.to_owned(), key_id: id, public_key })
    }
}

/// Checks that one signature line of `note` is by `key` over the note's text; returns the text.
pub fn open_note(note: &str, key: &VerifierKey) -> Result<String, String> {
    let split = note.rfind("\n\n").ok_or("a signed note has its text, an empty line, then signatures")?;
    let text = &note[..split + 1];
    let sigs = &note[split + 2..];
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else { return Err("a signature line starts with an em dash".into()) };
        let Some((name, sig)) = rest.split_once(' ') else { continue };
        if name != key.name {
            continue;
        }
        let Ok(blob) = B64.decode(sig) else { continue };
        if blob.len() != 68 || blob[..4] != key.key_id {
            continue;
        }
        let pk = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key.public_key);
        if pk.verify(text.as_bytes(), &blob[4..]).is_ok() {
            return Ok(text.to_owned());
        }
        return Err("the signature does not verify".into());
    }
    Err(format!("no signature by {}", key.name))
}

/// A C2SP checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

pub fn parse_checkpoint(text: &str) -> Result<Checkpoint, String> {
    let mut lines = text.split('\n');
    let origin = lines.next().filter(|o| !o.is_empty()).ok_or("no origin line")?;
    let size = lines.next().and_then(|s| s.parse::<u64>().ok()).ok_or("no tree size line")?;
    let root: Hash = lines
        .next()
        .and_then(|r| B64.decode(r).ok())
        .and_then(|r| r.try_into().ok())
        .ok_or("no base64 SHA-256 root line")?;
    Ok(Checkpoint { origin: origin.to_owned(), size, root })
}

/// The hashes of a proof answer (`{"hashes": [base64, …]}`).
pub fn proof_hashes(v: &serde_json::Value) -> Result<Vec<Hash>, String> {
    v["hashes"]
        .as_array()
        .ok_or("no hashes")?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|s| B64.decode(s).ok())
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| "a hash is not base64 of 32 bytes".to_owned())
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // RFC 6962/9162 reference vectors (transparency-dev/merkle testonly): leaves "", 00, 10, 2021, 3031, …
    #[test]
    fn reference_inclusion_and_consistency_proofs_verify() {
        let leaf1 = leaf_hash(&hex::decode("00").unwrap());
        let root2 = h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
        assert!(verify_inclusion(1, 2, &leaf1, &[h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")], &root2));
        assert!(!verify_inclusion(0, 2, &leaf1, &[h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")], &root2));
        let leaf5 = leaf_hash(&hex::decode("40414243").unwrap());
        let root8 = h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
        let path = [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ];
        assert!(verify_inclusion(5, 8, &leaf5, &path, &root8));
        let root7 = h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c");
        assert!(!verify_inclusion(5, 8, &leaf5, &path, &root7));
        assert!(!verify_inclusion(4, 8, &leaf5, &path, &root8));
        let root6 = h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef");
        let proof = [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ];
        assert!(verify_consistency(6, 8, &root6, &root8, &proof));
        assert!(!verify_consistency(6, 8, &root8, &root6, &proof));
        let root1 = h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
        let proof = [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ];
        assert!(verify_consistency(1, 8, &root1, &root8, &proof));
    }

    // golang.org/x/mod/sumdb/note's example note.
    #[test]
    fn the_go_sumdb_note_opens_and_a_changed_one_does_not() {
        let key = VerifierKey::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
        let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        let note = format!("{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n");
        assert_eq!(open_note(&note, &key).unwrap(), text);
        assert!(open_note(&note.replace("cryptography", "cryptographY"), &key).is_err());
        assert!(VerifierKey::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err());
    }

    #[test]
    fn checkpoints_parse() {
        let root = [7u8; 32];
        let c = parse_checkpoint(&format!("linli/x/funds\n12\n{}\n", B64.encode(root))).unwrap();
        assert_eq!(c, Checkpoint { origin: "linli/x/funds".into(), size: 12, root });
        assert!(parse_checkpoint("linli/x/funds\ntwelve\n").is_err());
    }
}
