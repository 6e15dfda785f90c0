//! The two FISCO BCOS crypto suites: secp256k1 + Keccak-256 ("ecdsa") and SM2 + SM3 ("sm", 国密).
//!
//! Signatures: secp256k1 is `r ‖ s ‖ v` (65 bytes, RFC 6979 deterministic, low-s, v = recovery id 0/1);
//! SM2 is `r ‖ s ‖ pub` (128 bytes) over SM3(Z_A ‖ hash) with the default ID `1234567812345678`, so the SM
//! "recovery" is a verification with the appended public key. An address is the last 20 bytes of H(X ‖ Y).

use std::fmt;
use std::str::FromStr;

use k256::ecdsa::{RecoveryId, Signature as K256Signature, SigningKey as K256SigningKey, VerifyingKey as K256VerifyingKey};
use sha3::{Digest as _, Keccak256};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::dsa::{Signature as Sm2Signature, SigningKey as Sm2SigningKey, VerifyingKey as Sm2VerifyingKey};
use sm3::Sm3;
use thiserror::Error;

/// The SM2 distinguishing identifier every FISCO BCOS SDK uses.
pub const SM2_ID: &str = "1234567812345678";

/// Length of a secp256k1 signature `r ‖ s ‖ v`.
pub const ECDSA_SIGNATURE_LEN: usize = 65;
/// Length of an SM2 signature `r ‖ s ‖ X ‖ Y`.
pub const SM2_SIGNATURE_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    #[error("private key must be 32 bytes, got {0}")]
    KeyLength(usize),
    #[error("private key is not a valid scalar for the curve")]
    InvalidKey,
    #[error("public key is not a valid curve point")]
    InvalidPublicKey,
    #[error("signature must be {expected} bytes, got {got}")]
    SignatureLength { expected: usize, got: usize },
    #[error("malformed signature")]
    MalformedSignature,
    #[error("signature does not verify")]
    BadSignature,
    #[error("hash must be 32 bytes, got {0}")]
    HashLength(usize),
    #[error("signing failed")]
    SigningFailed,
}

/// Which suite a chain uses. `Ecdsa` = secp256k1/Keccak-256, `Sm` = SM2/SM3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CryptoSuite {
    #[default]
    Ecdsa,
    Sm,
}

impl CryptoSuite {
    /// `Sm` when `sm` is true: the shape of an `sm_crypto` flag.
    pub fn from_sm_flag(sm: bool) -> Self {
        if sm { CryptoSuite::Sm } else { CryptoSuite::Ecdsa }
    }

    /// The suite's 256-bit hash of `data`.
    pub fn hash(self, data: &[u8]) -> [u8; 32] {
        let mut h = Hasher::new(self);
        h.update(data);
        h.finalize()
    }

    /// Signature length on this suite.
    pub fn signature_len(self) -> usize {
        match self {
            CryptoSuite::Ecdsa => ECDSA_SIGNATURE_LEN,
            CryptoSuite::Sm => SM2_SIGNATURE_LEN,
        }
    }
}

impl fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CryptoSuite::Ecdsa => "ecdsa",
            CryptoSuite::Sm => "sm",
        })
    }
}

/// Incremental hasher of either suite.
#[derive(Clone)]
pub enum Hasher {
    Keccak(Keccak256),
    Sm3(Sm3),
}

impl Hasher {
    pub fn new(suite: CryptoSuite) -> Self {
        match suite {
            CryptoSuite::Ecdsa => Hasher::Keccak(Keccak256::new()),
            CryptoSuite::Sm => Hasher::Sm3(Sm3::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Keccak(h) => h.update(data),
            Hasher::Sm3(h) => h.update(data),
        }
    }

    pub fn finalize(self) -> [u8; 32] {
        match self {
            Hasher::Keccak(h) => h.finalize().into(),
            Hasher::Sm3(h) => h.finalize().into(),
        }
    }
}

/// Keccak-256 (the pre-standard SHA-3 padding Ethereum uses).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    CryptoSuite::Ecdsa.hash(data)
}

/// SM3 (GM/T 0004-2012).
pub fn sm3(data: &[u8]) -> [u8; 32] {
    CryptoSuite::Sm.hash(data)
}

/// A 20-byte account or contract address. Displays as `0x` + lowercase hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(pub [u8; 20]);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid address {0:?}: expected 40 hex digits, optionally prefixed by 0x")]
pub struct AddressParseError(pub String);

impl Address {
    /// Address of a public key given as 64 bytes `X ‖ Y`.
    pub fn from_public_key(suite: CryptoSuite, public_key: &[u8; 64]) -> Self {
        let h = suite.hash(public_key);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[12..]);
        Address(a)
    }

    /// Lowercase hex without `0x`: the form a transaction's `to` field carries.
    pub fn to_plain_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl FromStr for Address {
    type Err = AddressParseError;
    /// Accepts 40 hex digits in any case, with or without `0x` (real nodes send log addresses without it).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
        let mut a = [0u8; 20];
        if t.len() != 40 || hex::decode_to_slice(t, &mut a).is_err() {
            return Err(AddressParseError(s.to_owned()));
        }
        Ok(Address(a))
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A private key of either suite, able to sign 32-byte hashes the way FISCO BCOS nodes verify them.
/// The public key and address are computed once, so signing costs only the signature.
#[derive(Clone)]
pub struct Signer {
    key: SignerKey,
    public_key: [u8; 64],
    address: Address,
}

#[derive(Clone)]
enum SignerKey {
    Ecdsa(K256SigningKey),
    Sm(Sm2SigningKey),
}

impl fmt::Debug for Signer {
    // Never print the secret: the address identifies the key well enough.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({}, {})", self.suite(), self.address)
    }
}

impl Signer {
    /// From a 32-byte big-endian secret scalar.
    pub fn from_secret_bytes(suite: CryptoSuite, secret: &[u8]) -> Result<Self, CryptoError> {
        if secret.len() != 32 {
            return Err(CryptoError::KeyLength(secret.len()));
        }
        let key = match suite {
            CryptoSuite::Ecdsa => {
                SignerKey::Ecdsa(K256SigningKey::from_slice(secret).map_err(|_| CryptoError::InvalidKey)?)
            }
            CryptoSuite::Sm => {
                SignerKey::Sm(Sm2SigningKey::from_slice(SM2_ID, secret).map_err(|_| CryptoError::InvalidKey)?)
            }
        };
        let sec1: Box<[u8]> = match &key {
            SignerKey::Ecdsa(k) => k.verifying_key().to_sec1_point(false).as_bytes().into(),
            SignerKey::Sm(k) => k.verifying_key().to_sec1_bytes(),
        };
        // Both encodings are 0x04 ‖ X ‖ Y for an uncompressed point.
        let xy = sec1.get(1..65).ok_or(CryptoError::InvalidKey)?;
        let mut public_key = [0u8; 64];
        public_key.copy_from_slice(xy);
        let address = Address::from_public_key(suite, &public_key);
        Ok(Signer { key, public_key, address })
    }

    /// A fresh random key (OS randomness).
    pub fn random(suite: CryptoSuite) -> Self {
        loop {
            let secret: [u8; 32] = rand::random();
            // A random 256-bit value is a valid scalar except with negligible probability; retry then.
            if let Ok(s) = Signer::from_secret_bytes(suite, &secret) {
                return s;
            }
        }
    }

    pub fn suite(&self) -> CryptoSuite {
        match self.key {
            SignerKey::Ecdsa(_) => CryptoSuite::Ecdsa,
            SignerKey::Sm(_) => CryptoSuite::Sm,
        }
    }

    /// The 32-byte secret scalar (for export; handle with care).
    pub fn secret_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        match &self.key {
            SignerKey::Ecdsa(k) => out.copy_from_slice(&k.to_bytes()),
            SignerKey::Sm(k) => out.copy_from_slice(&k.to_bytes()),
        }
        out
    }

    /// Uncompressed public key without the 0x04 prefix: `X ‖ Y`.
    pub fn public_key(&self) -> [u8; 64] {
        self.public_key
    }

    pub fn address(&self) -> Address {
        self.address
    }

    /// Sign a 32-byte transaction hash: 65 bytes (secp256k1) or 128 bytes (SM2).
    pub fn sign_hash(&self, hash: &[u8; 32]) -> Result<Vec<u8>, CryptoError> {
        match &self.key {
            SignerKey::Ecdsa(k) => {
                let (sig, recid): (K256Signature, RecoveryId) = k.sign_prehash_recoverable(hash);
                let mut out = Vec::with_capacity(ECDSA_SIGNATURE_LEN);
                out.extend_from_slice(&sig.to_bytes());
                out.push(recid.to_byte());
                Ok(out)
            }
            SignerKey::Sm(k) => {
                let sig: Sm2Signature = k.try_sign(hash).map_err(|_| CryptoError::SigningFailed)?;
                let mut out = Vec::with_capacity(SM2_SIGNATURE_LEN);
                out.extend_from_slice(&sig.to_bytes());
                out.extend_from_slice(&self.public_key);
                Ok(out)
            }
        }
    }
}

/// Who signed `hash`: the 64-byte public key and its address. On secp256k1 the key is recovered from
/// `r ‖ s ‖ v`; on SM2 the appended key is checked by verifying the signature with it.
pub fn recover_sender(
    suite: CryptoSuite,
    hash: &[u8],
    signature: &[u8],
) -> Result<([u8; 64], Address), CryptoError> {
    if hash.len() != 32 {
        return Err(CryptoError::HashLength(hash.len()));
    }
    let expected = suite.signature_len();
    if signature.len() != expected {
        return Err(CryptoError::SignatureLength { expected, got: signature.len() });
    }
    let mut public_key = [0u8; 64];
    match suite {
        CryptoSuite::Ecdsa => {
            let sig = K256Signature::from_slice(&signature[..64]).map_err(|_| CryptoError::MalformedSignature)?;
            let recid = RecoveryId::from_byte(signature[64]).ok_or(CryptoError::MalformedSignature)?;
            let vk = K256VerifyingKey::recover_from_prehash(hash, &sig, recid)
                .map_err(|_| CryptoError::BadSignature)?;
            let point = vk.to_sec1_point(false);
            let xy = point.as_bytes().get(1..65).ok_or(CryptoError::InvalidPublicKey)?;
            public_key.copy_from_slice(xy);
        }
        CryptoSuite::Sm => {
            public_key.copy_from_slice(&signature[64..128]);
            let mut sec1 = [0u8; 65];
            sec1[0] = 0x04;
            sec1[1..].copy_from_slice(&public_key);
            let vk =
                Sm2VerifyingKey::from_sec1_bytes(SM2_ID, &sec1).map_err(|_| CryptoError::InvalidPublicKey)?;
            let sig = Sm2Signature::from_slice(&signature[..64]).map_err(|_| CryptoError::MalformedSignature)?;
            vk.verify(hash, &sig).map_err(|_| CryptoError::BadSignature)?;
        }
    }
    Ok((public_key, Address::from_public_key(suite, &public_key)))
}

/// True when `signature` over `hash` was made by the key of `expected` (an address).
pub fn verify(suite: CryptoSuite, hash: &[u8], signature: &[u8], expected: &Address) -> bool {
    matches!(recover_sender(suite, hash, signature), Ok((_, a)) if a == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_string_digests() {
        // Published digests of the empty string: Keccak-256 (Ethereum) and SM3 (GM/T 0004-2012 test lists).
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(hex::encode(sm3(b"abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    }

    #[test]
    fn address_parsing_is_tolerant_but_strict_on_length() {
        let a: Address = "F3293C3452B3B0479E64A4C612E8C1B0DA5FE1AF".parse().unwrap();
        assert_eq!(a.to_string(), "0xf3293c3452b3b0479e64a4c612e8c1b0da5fe1af");
        assert!("0x1234".parse::<Address>().is_err());
        assert!("0xzz293c3452b3b0479e64a4c612e8c1b0da5fe1af".parse::<Address>().is_err());
    }

    #[test]
    fn wrong_lengths_are_errors() {
        assert_eq!(Signer::from_secret_bytes(CryptoSuite::Ecdsa, &[1; 31]).unwrap_err(), CryptoError::KeyLength(31));
        assert!(Signer::from_secret_bytes(CryptoSuite::Sm, &[0; 32]).is_err());
        assert!(recover_sender(CryptoSuite::Ecdsa, &[0; 32], &[0; 64]).is_err());
        assert!(recover_sender(CryptoSuite::Sm, &[0; 31], &[0; 128]).is_err());
    }
}
