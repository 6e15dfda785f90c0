//! Offline door passes (DESIGN §8): `"LL1:"` + Base45 (RFC 9285) of a CBOR array whose first element is a
//! COSE_Sign1 (RFC 9052, tag 18, ES256 with the community's access key) over CWT claims (RFC 8392). A resident
//! pass carries two more elements, the device's fresh proof: the unix time in ms and the device key's ES256
//! signature of `"LINLI-PASS-V1\n" ‖ cti ‖ be64(time)`. A visitor pass is the one-element array.
//!
//! The server issues with [`sign_pass`]; readers decide with [`verify_pass`] and nothing but the key set, the
//! revocation list and their clock. No database, no network.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::value::{Integer, Value};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "LL1:";
/// The device proof's domain.
pub const PROOF_DOMAIN: &[u8] = b"LINLI-PASS-V1\n";
/// A reader accepts a device proof within this many ms of its clock.
pub const PROOF_WINDOW_MS: i64 = 60_000;
/// Longest pass text a reader decodes (a QR code holds far less).
pub const MAX_TEXT_LEN: usize = 4096;

const COSE_SIGN1_TAG: u64 = 18;
const ALG_ES256: i64 = -7;
const CLAIM_ISS: i64 = 1;
const CLAIM_EXP: i64 = 4;
const CLAIM_NBF: i64 = 5;
const CLAIM_IAT: i64 = 6;
const CLAIM_CTI: i64 = 7;
const CLAIM_DOORS: i64 = -65537;
const CLAIM_USES: i64 = -65538;
const CLAIM_KIND: i64 = -65539;
const CLAIM_HOLDER: i64 = -65540;

/// The DER SubjectPublicKeyInfo prefix of an uncompressed P-256 point (id-ecPublicKey, prime256v1).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassKind {
    Resident,
    Visitor,
}

impl PassKind {
    pub fn code(self) -> u64 {
        match self {
            Self::Resident => 0,
            Self::Visitor => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::Visitor => "visitor",
        }
    }
}

/// What a pass claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassClaims {
    /// `"linli:" + community id`.
    pub issuer: String,
    pub expires: i64,
    pub not_before: i64,
    pub issued_at: i64,
    pub pass_id: [u8; 16],
    pub doors: Vec<u32>,
    /// 0 = unlimited within the window.
    pub uses: u32,
    pub kind: PassKind,
    /// The holder's device key (65-byte uncompressed P-256 point); resident passes only.
    pub holder_key: Option<Vec<u8>>,
}

pub fn issuer_for(community: &uuid::Uuid) -> String {
    format!("linli:{community}")
}

/// The kid of a P-256 public key: the first 8 bytes of SHA-256 of its SubjectPublicKeyInfo DER.
pub fn key_id(point: &[u8]) -> [u8; 8] {
    let digest = Sha256::new().chain_update(P256_SPKI_PREFIX).chain_update(point).finalize();
    let mut kid = [0u8; 8];
    kid.copy_from_slice(&digest[..8]);
    kid
}

/// A community access key (signing side).
pub struct AccessKey {
    pair: EcdsaKeyPair,
    kid: [u8; 8],
}

#[derive(Debug, thiserror::Error)]
#[error("access key: {0}")]
pub struct KeyError(String);

impl AccessKey {
    /// A new key; returns it and its PKCS#8 document (to be stored encrypted).
    pub fn generate() -> Result<(Self, Vec<u8>), KeyError> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|e| KeyError(e.to_string()))?;
        let key = Self::from_pkcs8(doc.as_ref())?;
        Ok((key, doc.as_ref().to_vec()))
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &SystemRandom::new())
            .map_err(|e| KeyError(e.to_string()))?;
        let kid = key_id(pair.public_key().as_ref());
        Ok(Self { pair, kid })
    }

    pub fn kid(&self) -> [u8; 8] {
        self.kid
    }

    /// The 65-byte uncompressed public point.
    pub fn public_point(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// ES256, 64 bytes r‖s.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.pair.sign(&SystemRandom::new(), message).map(|s| s.as_ref().to_vec()).map_err(|e| KeyError(e.to_string()))
    }
}

/// A public key as published in the JWK Set (RFC 7517 / RFC 7518 §6.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
    /// base64url of the 8-byte kid.
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

pub fn jwk(point: &[u8]) -> Option<Jwk> {
    if point.len() != 65 || point[0] != 4 {
        return None;
    }
    Some(Jwk {
        kty: "EC".into(),
        crv: "P-256".into(),
        x: URL_SAFE_NO_PAD.encode(&point[1..33]),
        y: URL_SAFE_NO_PAD.encode(&point[33..]),
        kid: URL_SAFE_NO_PAD.encode(key_id(point)),
        alg: "ES256".into(),
        use_: "sig".into(),
    })
}

/// A verifying key from a JWK: its point and kid (the kid is recomputed from the point and must match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    pub kid: [u8; 8],
    pub point: Vec<u8>,
}

impl VerifyingKey {
    pub fn from_jwk(j: &Jwk) -> Option<Self> {
        if j.kty != "EC" || j.crv != "P-256" || j.alg != "ES256" {
            return None;
        }
        let x = URL_SAFE_NO_PAD.decode(&j.x).ok()?;
        let y = URL_SAFE_NO_PAD.decode(&j.y).ok()?;
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut point = vec![4u8];
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        let kid = key_id(&point);
        (URL_SAFE_NO_PAD.decode(&j.kid).ok()? == kid).then_some(Self { kid, point })
    }
}

// ---- Base45 (RFC 9285) ----

const B45: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

pub fn base45_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3 / 2 + 2);
    for chunk in bytes.chunks(2) {
        if let [a, b] = chunk {
            let n = u32::from(*a) * 256 + u32::from(*b);
            for d in [n % 45, (n / 45) % 45, n / 2025] {
                out.push(char::from(B45[d as usize]));
            }
        } else {
            let n = u32::from(chunk[0]);
            for d in [n % 45, n / 45] {
                out.push(char::from(B45[d as usize]));
            }
        }
    }
    out
}

/// The value of each byte as a Base45 digit (255 = not a digit): a reader decodes every scan.
const B45_VALUE: [u8; 256] = {
    let mut t = [255u8; 256];
    let mut i = 0;
    while i < 45 {
        t[B45[i] as usize] = i as u8;
        i += 1;
    }
    t
};

pub fn base45_decode(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u32> = text
        .bytes()
        .map(|c| match B45_VALUE[usize::from(c)] {
            255 => None,
            v => Some(u32::from(v)),
        })
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(digits.len() * 2 / 3 + 1);
    for chunk in digits.chunks(3) {
        match chunk {
            [c, d, e] => {
                let n = c + d * 45 + e * 2025;
                if n > 0xffff {
                    return None;
                }
                out.push((n >> 8) as u8);
                out.push((n & 0xff) as u8);
            }
            [c, d] => {
                let n = c + d * 45;
                if n > 0xff {
                    return None;
                }
                out.push(n as u8);
            }
            _ => return None,
        }
    }
    Some(out)
}

// ---- CBOR helpers ----

fn int(v: i64) -> Value {
    Value::Integer(Integer::from(v))
}

fn to_cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail; an encoding error would be a bug of ours, caught by the round-trip tests.
    let _ = ciborium::ser::into_writer(v, &mut out);
    out
}

/// Decodes exactly one CBOR item (no trailing bytes), nesting at most 8 deep.
fn from_cbor(bytes: &[u8]) -> Option<Value> {
    let mut rest = bytes;
    let v: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, 8).ok()?;
    rest.is_empty().then_some(v)
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => i64::try_from(i128::from(*i)).ok(),
        _ => None,
    }
}

fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    to_cbor(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.to_vec()),
    ]))
}

fn claims_value(c: &PassClaims) -> Value {
    let mut map = vec![
        (int(CLAIM_ISS), Value::Text(c.issuer.clone())),
        (int(CLAIM_EXP), int(c.expires)),
        (int(CLAIM_NBF), int(c.not_before)),
        (int(CLAIM_IAT), int(c.issued_at)),
        (int(CLAIM_CTI), Value::Bytes(c.pass_id.to_vec())),
        (int(CLAIM_DOORS), Value::Array(c.doors.iter().map(|d| int(i64::from(*d))).collect())),
        (int(CLAIM_USES), int(i64::from(c.uses))),
        (int(CLAIM_KIND), int(c.kind.code() as i64)),
    ];
    if let Some(holder) = &c.holder_key {
        map.push((int(CLAIM_HOLDER), Value::Bytes(holder.clone())));
    }
    Value::Map(map)
}

/// Signs a pass: the COSE_Sign1 (tagged) as CBOR bytes.
pub fn sign_pass(key: &AccessKey, claims: &PassClaims) -> Result<Vec<u8>, KeyError> {
    let protected = to_cbor(&Value::Map(vec![(int(1), int(ALG_ES256)), (int(4), Value::Bytes(key.kid().to_vec()))]));
    let payload = to_cbor(&claims_value(claims));
    let signature = key.sign(&sig_structure(&protected, &payload))?;
    Ok(to_cbor(&Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(vec![]),
            Value::Bytes(payload),
            Value::Bytes(signature),
        ])),
    )))
}

/// The message a device signs for its proof.
pub fn proof_message(pass_id: &[u8; 16], time_ms: u64) -> Vec<u8> {
    let mut m = PROOF_DOMAIN.to_vec();
    m.extend_from_slice(pass_id);
    m.extend_from_slice(&time_ms.to_be_bytes());
    m
}

/// The text of a visitor pass.
pub fn visitor_text(cose_sign1: &[u8]) -> Option<String> {
    let cose = from_cbor(cose_sign1)?;
    Some(format!("{PREFIX}{}", base45_encode(&to_cbor(&Value::Array(vec![cose])))))
}

/// The text of a resident pass with the device's proof (what the device shows).
pub fn resident_text(cose_sign1: &[u8], time_ms: u64, proof_signature: &[u8]) -> Option<String> {
    let cose = from_cbor(cose_sign1)?;
    let array = Value::Array(vec![cose, Value::Integer(Integer::from(time_ms)), Value::Bytes(proof_signature.to_vec())]);
    Some(format!("{PREFIX}{}", base45_encode(&to_cbor(&array))))
}

/// Why a reader refuses a pass. The codes are stable (they go into access events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a pass text (prefix, Base45 or CBOR)")]
    Malformed,
    #[error("signed by an unknown or retired key")]
    UnknownKey,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("another community's pass")]
    WrongIssuer,
    #[error("not valid for this door")]
    WrongDoor,
    #[error("not valid yet")]
    NotYetValid,
    #[error("expired")]
    Expired,
    #[error("a resident pass without the device proof")]
    ProofMissing,
    #[error("the device proof is outside ±60 s")]
    ProofStale,
    #[error("the device proof does not verify")]
    ProofInvalid,
    #[error("revoked")]
    Revoked,
    #[error("all its uses are spent")]
    UsedUp,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongDoor => "wrong_door",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::ProofMissing => "proof_missing",
            Self::ProofStale => "proof_stale",
            Self::ProofInvalid => "proof_invalid",
            Self::Revoked => "revoked",
            Self::UsedUp => "used_up",
        }
    }
}

/// What the reader knows when it decides.
pub struct ReaderView<'a> {
    pub issuer: &'a str,
    pub door_code: u32,
    pub now_ms: i64,
    pub keys: &'a [VerifyingKey],
    pub revoked: &'a HashSet<[u8; 16]>,
}

/// The id of a pass whose signature verifies with one of `keys`, however else it is refused (expired, revoked,
/// another door, a stale proof): a refusal event can then name the pass it was about.
pub fn signed_pass_id(text: &str, keys: &[VerifyingKey]) -> Option<[u8; 16]> {
    signed_claims(text, keys).ok().map(|(c, _)| c.pass_id)
}

/// Decodes a pass text and checks its COSE_Sign1 signature: the claims and the array's other elements.
fn signed_claims(text: &str, keys: &[VerifyingKey]) -> Result<(PassClaims, std::vec::IntoIter<Value>), Refusal> {
    use Refusal::*;
    if text.len() > MAX_TEXT_LEN {
        return Err(Malformed);
    }
    let body = text.strip_prefix(PREFIX).ok_or(Malformed)?;
    let bytes = base45_decode(body).ok_or(Malformed)?;
    let Value::Array(items) = from_cbor(&bytes).ok_or(Malformed)? else { return Err(Malformed) };
    let mut items = items.into_iter();
    let Some(Value::Tag(COSE_SIGN1_TAG, cose)) = items.next() else { return Err(Malformed) };
    let Value::Array(parts) = *cose else { return Err(Malformed) };
    let [Value::Bytes(protected), Value::Map(_), Value::Bytes(payload), Value::Bytes(signature)] = <[Value; 4]>::try_from(parts).map_err(|_| Malformed)? else {
        return Err(Malformed);
    };
    let Some(Value::Map(header)) = from_cbor(&protected) else { return Err(Malformed) };
    let header_get = |k: i64| header.iter().find(|(n, _)| as_i64(n) == Some(k)).map(|(_, v)| v);
    if header_get(1).and_then(as_i64) != Some(ALG_ES256) {
        return Err(Malformed);
    }
    let kid = header_get(4).and_then(|v| v.as_bytes()).ok_or(Malformed)?;
    let key = keys.iter().find(|k| k.kid.as_slice() == kid.as_slice()).ok_or(UnknownKey)?;
    if signature.len() != 64
        || UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &key.point).verify(&sig_structure(&protected, &payload), &signature).is_err()
    {
        return Err(BadSignature);
    }
    let claims = parse_claims(&payload).ok_or(Malformed)?;
    Ok((claims, items))
}

/// Decodes and checks a pass text: prefix, Base45, CBOR, COSE_Sign1 with a known kid and a valid ES256
/// signature, issuer, door, nbf/exp, revocation, and for a resident pass the device proof within ±60 s. The
/// use count is the reader's own (see [`within_uses`]); the claims say how many uses there are.
pub fn verify_pass(text: &str, view: &ReaderView<'_>) -> Result<PassClaims, Refusal> {
    use Refusal::*;
    let (claims, mut items) = signed_claims(text, view.keys)?;
    if claims.issuer != view.issuer {
        return Err(WrongIssuer);
    }
    if !claims.doors.contains(&view.door_code) {
        return Err(WrongDoor);
    }
    let now_s = view.now_ms.div_euclid(1000);
    if now_s < claims.not_before {
        return Err(NotYetValid);
    }
    if now_s >= claims.expires {
        return Err(Expired);
    }
    if view.revoked.contains(&claims.pass_id) {
        return Err(Revoked);
    }
    let proof = (items.next(), items.next());
    if items.next().is_some() {
        return Err(Malformed);
    }
    match claims.kind {
        PassKind::Visitor => {
            if proof.0.is_some() {
                return Err(Malformed);
            }
        }
        PassKind::Resident => {
            let (Some(time), Some(Value::Bytes(sig))) = proof else { return Err(ProofMissing) };
            let Value::Integer(time) = time else { return Err(Malformed) };
            let time = u64::try_from(i128::from(time)).map_err(|_| Malformed)?;
            let holder = claims.holder_key.as_deref().ok_or(Malformed)?;
            if i128::from(time).abs_diff(i128::from(view.now_ms)) > PROOF_WINDOW_MS as u128 {
                return Err(ProofStale);
            }
            if sig.len() != 64
                || UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, holder).verify(&proof_message(&claims.pass_id, time), &sig).is_err()
            {
                return Err(ProofInvalid);
            }
        }
    }
    Ok(claims)
}

/// Whether a pass with `uses` (0 = unlimited) may be used once more after `used` uses.
pub fn within_uses(uses: u32, used: u32) -> bool {
    uses == 0 || used < uses
}

fn parse_claims(payload: &[u8]) -> Option<PassClaims> {
    let Value::Map(map) = from_cbor(payload)? else { return None };
    let get = |k: i64| map.iter().find(|(n, _)| as_i64(n) == Some(k)).map(|(_, v)| v);
    let issuer = get(CLAIM_ISS)?.as_text()?.to_owned();
    let expires = as_i64(get(CLAIM_EXP)?)?;
    let not_before = as_i64(get(CLAIM_NBF)?)?;
    let issued_at = as_i64(get(CLAIM_IAT)?)?;
    let pass_id: [u8; 16] = get(CLAIM_CTI)?.as_bytes()?.as_slice().try_into().ok()?;
    let doors = match get(CLAIM_DOORS)? {
        Value::Array(a) => a.iter().map(|d| as_i64(d).and_then(|d| u32::try_from(d).ok())).collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let uses = u32::try_from(as_i64(get(CLAIM_USES)?)?).ok()?;
    let kind = match as_i64(get(CLAIM_KIND)?)? {
        0 => PassKind::Resident,
        1 => PassKind::Visitor,
        _ => return None,
    };
    let holder_key = match (kind, get(CLAIM_HOLDER)) {
        (PassKind::Resident, Some(Value::Bytes(k))) if k.len() == 65 && k[0] == 4 => Some(k.clone()),
        (PassKind::Visitor, None) => None,
        _ => return None,
    };
    Some(PassClaims { issuer, expires, not_before, issued_at, pass_id, doors, uses, kind, holder_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base45_matches_rfc_9285() {
        for (plain, encoded) in [(&b"AB"[..], "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0")] {
            assert_eq!(base45_encode(plain), encoded);
            assert_eq!(base45_decode(encoded).unwrap(), plain);
        }
        assert_eq!(base45_decode("GGW"), None, "65535 + 1 is out of range (RFC 9285 §6)");
        assert_eq!(base45_decode("a"), None);
        assert_eq!(base45_decode("0"), None, "a single trailing character");
    }

    struct World {
        key: AccessKey,
        keys: Vec<VerifyingKey>,
        device: EcdsaKeyPair,
        revoked: HashSet<[u8; 16]>,
    }

    const NOW_MS: i64 = 1_800_000_000_000;
    const ISS: &str = "linli:0193a1b2-0000-7000-8000-000000000001";

    fn world() -> World {
        let (key, _) = AccessKey::generate().unwrap();
        let jwk = jwk(key.public_point()).unwrap();
        let keys = vec![VerifyingKey::from_jwk(&jwk).unwrap()];
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let device = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng).unwrap();
        World { key, keys, device, revoked: HashSet::new() }
    }

    fn claims(kind: PassKind, holder: Option<Vec<u8>>) -> PassClaims {
        let now = NOW_MS / 1000;
        PassClaims {
            issuer: ISS.into(),
            expires: now + 3600,
            not_before: now - 60,
            issued_at: now - 60,
            pass_id: [7u8; 16],
            doors: vec![101, 201],
            uses: 2,
            kind,
            holder_key: holder,
        }
    }

    fn view<'a>(w: &'a World, now_ms: i64) -> ReaderView<'a> {
        ReaderView { issuer: ISS, door_code: 101, now_ms, keys: &w.keys, revoked: &w.revoked }
    }

    fn resident_pass(w: &World, proof_ms: i64) -> String {
        let c = claims(PassKind::Resident, Some(w.device.public_key().as_ref().to_vec()));
        let cose = sign_pass(&w.key, &c).unwrap();
        let ms = u64::try_from(proof_ms).unwrap();
        let sig = w.device.sign(&SystemRandom::new(), &proof_message(&c.pass_id, ms)).unwrap();
        resident_text(&cose, ms, sig.as_ref()).unwrap()
    }

    #[test]
    fn a_visitor_pass_verifies_and_says_its_uses() {
        let w = world();
        let text = visitor_text(&sign_pass(&w.key, &claims(PassKind::Visitor, None)).unwrap()).unwrap();
        assert!(text.starts_with("LL1:"));
        let c = verify_pass(&text, &view(&w, NOW_MS)).unwrap();
        assert_eq!((c.kind, c.uses, c.doors.clone()), (PassKind::Visitor, 2, vec![101, 201]));
        assert!(within_uses(c.uses, 1) && !within_uses(c.uses, 2) && within_uses(0, 1000));
    }

    #[test]
    fn a_resident_pass_needs_a_fresh_proof_of_the_holder_device() {
        let w = world();
        assert!(verify_pass(&resident_pass(&w, NOW_MS), &view(&w, NOW_MS)).is_ok());
        assert!(verify_pass(&resident_pass(&w, NOW_MS - 60_000), &view(&w, NOW_MS)).is_ok(), "60 s is inside");
        assert_eq!(verify_pass(&resident_pass(&w, NOW_MS - 61_000), &view(&w, NOW_MS)), Err(Refusal::ProofStale));
        assert_eq!(verify_pass(&resident_pass(&w, NOW_MS + 61_000), &view(&w, NOW_MS)), Err(Refusal::ProofStale));
        // Without the proof, and with a proof by another device.
        let c = claims(PassKind::Resident, Some(w.device.public_key().as_ref().to_vec()));
        let cose = sign_pass(&w.key, &c).unwrap();
        assert_eq!(verify_pass(&visitor_text(&cose).unwrap(), &view(&w, NOW_MS)), Err(Refusal::ProofMissing));
        let other = world();
        let sig = other.device.sign(&SystemRandom::new(), &proof_message(&c.pass_id, NOW_MS as u64)).unwrap();
        assert_eq!(verify_pass(&resident_text(&cose, NOW_MS as u64, sig.as_ref()).unwrap(), &view(&w, NOW_MS)), Err(Refusal::ProofInvalid));
        // A proof for another pass id.
        let sig = w.device.sign(&SystemRandom::new(), &proof_message(&[8u8; 16], NOW_MS as u64)).unwrap();
        assert_eq!(verify_pass(&resident_text(&cose, NOW_MS as u64, sig.as_ref()).unwrap(), &view(&w, NOW_MS)), Err(Refusal::ProofInvalid));
    }

    #[test]
    fn refusals() {
        let w = world();
        let text = visitor_text(&sign_pass(&w.key, &claims(PassKind::Visitor, None)).unwrap()).unwrap();
        let v = |now| verify_pass(&text, &view(&w, now));
        assert_eq!(v(NOW_MS - 61_000), Err(Refusal::NotYetValid));
        assert_eq!(v(NOW_MS + 3_600_000), Err(Refusal::Expired));
        let mut door = view(&w, NOW_MS);
        door.door_code = 999;
        assert_eq!(verify_pass(&text, &door), Err(Refusal::WrongDoor));
        let mut issuer = view(&w, NOW_MS);
        issuer.issuer = "linli:another";
        assert_eq!(verify_pass(&text, &issuer), Err(Refusal::WrongIssuer));
        let mut revoked = HashSet::new();
        revoked.insert([7u8; 16]);
        assert_eq!(verify_pass(&text, &ReaderView { revoked: &revoked, ..view(&w, NOW_MS) }), Err(Refusal::Revoked));
        assert_eq!(signed_pass_id(&text, &w.keys), Some([7u8; 16]), "a refused but genuine pass is named");
        // Unknown key: signed by another community's key.
        let other = world();
        let foreign = visitor_text(&sign_pass(&other.key, &claims(PassKind::Visitor, None)).unwrap()).unwrap();
        assert_eq!(verify_pass(&foreign, &view(&w, NOW_MS)), Err(Refusal::UnknownKey));
        assert_eq!(signed_pass_id(&foreign, &w.keys), None, "an unverified pass names nothing");
        // Tampered: one payload byte changed (re-encoded so the text is still valid Base45 and CBOR).
        let bytes = base45_decode(&text[4..]).unwrap();
        let mut tampered = bytes.clone();
        let pos = tampered.windows(2).position(|w| w == [0x18, 0x65]).unwrap_or(tampered.len() / 2); // 101 as CBOR
        tampered[pos + 1] = 0x66;
        assert_eq!(verify_pass(&format!("LL1:{}", base45_encode(&tampered)), &view(&w, NOW_MS)), Err(Refusal::BadSignature));
        for bad in ["LL2:ABC", "LL1:abc", "LL1:", "LL1:%69 VD92EX0", &format!("{text}00")] {
            assert_eq!(verify_pass(bad, &view(&w, NOW_MS)), Err(Refusal::Malformed), "{bad}");
        }
    }

    #[test]
    fn kid_is_sha256_of_the_spki_and_jwks_round_trip() {
        let (key, pkcs8) = AccessKey::generate().unwrap();
        let again = AccessKey::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(key.kid(), again.kid());
        let j = jwk(key.public_point()).unwrap();
        assert_eq!(VerifyingKey::from_jwk(&j).unwrap().point, key.public_point());
        let mut wrong = j.clone();
        wrong.kid = URL_SAFE_NO_PAD.encode([0u8; 8]);
        assert!(VerifyingKey::from_jwk(&wrong).is_none(), "a kid that is not the key's");
        // The SPKI prefix is the DER x509-parser reads as id-ecPublicKey on prime256v1.
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(key.public_point());
        use x509_parser::prelude::FromDer;
        let (_, parsed) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&spki).unwrap();
        assert_eq!(parsed.algorithm.algorithm.to_id_string(), "1.2.840.10045.2.1");
        assert_eq!(parsed.subject_public_key.data.as_ref(), key.public_point());
    }
}
