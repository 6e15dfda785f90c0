//! WeChat SOTER stand-in: `POST /cgi-bin/soter/verify_signature?access_token=…
//! {openid, json_string, json_signature}` → `{errcode: 0, errmsg: "ok", is_ok}`.
//!
//! SOTER signs `json_string` with the device's TEE-held RSA key, SHA256withRSA/PSS with salt length 20, and
//! `json_signature` is the base64 signature. WeChat knows each device's public key from the SOTER key upload; here
//! the test registers it with `POST /sandbox/wechat/soter-keys {openid, public_key_pem}` (SPKI PEM, RSA).
//! ring verifies PSS only with a 32-byte salt, so RSAVP1 and EMSA-PSS-VERIFY (RFC 8017 §8.1.2, §9.1.2) are
//! implemented here on a small big-number type; only public-key operations, so no secret timing concerns.

use crate::AppState;
use actix_web::{HttpResponse, web};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub const SALT_LEN: usize = 20;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cgi-bin/soter/verify_signature", web::post().to(verify_signature))
        .route("/sandbox/wechat/soter-keys", web::post().to(register_key));
}

/// An RSA public key: modulus and exponent as big-endian bytes without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

// ---- minimal DER reading ----------------------------------------------------------------------------------

fn der_item(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len0, rest) = rest.split_first()?;
    let (len, rest) = if len0 < 0x80 {
        (usize::from(len0), rest)
    } else {
        let n = usize::from(len0 & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)), &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn der_uint(bytes: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    (!trimmed.is_empty() && bytes.first().is_some_and(|b| b & 0x80 == 0)).then_some(trimmed)
}

/// SubjectPublicKeyInfo (DER) with algorithm rsaEncryption → (n, e).
pub fn parse_rsa_spki(der: &[u8]) -> Option<RsaPublicKey> {
    const RSA_ENCRYPTION: [u8; 9] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
    let (0x30, spki, _) = der_item(der)? else { return None };
    let (0x30, alg, rest) = der_item(spki)? else { return None };
    let (0x06, oid, _) = der_item(alg)? else { return None };
    if oid != RSA_ENCRYPTION {
        return None;
    }
    let (0x03, bits, _) = der_item(rest)? else { return None };
    let (&0, key) = bits.split_first()? else { return None };
    let (0x30, seq, _) = der_item(key)? else { return None };
    let (0x02, n, rest) = der_item(seq)? else { return None };
    let (0x02, e, _) = der_item(rest)? else { return None };
    let (n, e) = (der_uint(n)?, der_uint(e)?);
    (n.len() >= 128 && n.len() <= 512 && e.len() <= 4).then_some(RsaPublicKey { n, e })
}

pub fn parse_rsa_spki_pem(pem: &str) -> Option<RsaPublicKey> {
    let body: String = pem.lines().map(str::trim).filter(|l| !l.starts_with("-----") && !l.is_empty()).collect();
    if !pem.contains("-----BEGIN PUBLIC KEY-----") {
        return None;
    }
    parse_rsa_spki(&base64::engine::general_purpose::STANDARD.decode(body).ok()?)
}

// ---- big numbers: little-endian u32 limbs -----------------------------------------------------------------

fn from_be(bytes: &[u8]) -> Vec<u32> {
    let mut v: Vec<u32> = bytes.rchunks(4).map(|c| c.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b))).collect();
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

fn to_be(x: &[u32], len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; len];
    for (i, limb) in x.iter().enumerate() {
        for j in 0..4 {
            let byte = ((limb >> (8 * j)) & 0xFF) as u8;
            let pos = i * 4 + j;
            if pos >= len {
                if byte != 0 {
                    return None;
                }
            } else {
                out[len - 1 - pos] = byte;
            }
        }
    }
    Some(out)
}

fn cmp(a: &[u32], b: &[u32]) -> std::cmp::Ordering {
    let la = a.iter().rposition(|x| *x != 0).map_or(0, |p| p + 1);
    let lb = b.iter().rposition(|x| *x != 0).map_or(0, |p| p + 1);
    la.cmp(&lb).then_with(|| a[..la].iter().rev().cmp(b[..lb].iter().rev()))
}

fn sub_assign(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0i64;
    for (i, limb) in a.iter_mut().enumerate() {
        let d = i64::from(*limb) - i64::from(*b.get(i).unwrap_or(&0)) - borrow;
        borrow = i64::from(d < 0);
        *limb = (d + (borrow << 32)) as u32;
    }
}

fn mul(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = vec![0u32; a.len() + b.len() + 1];
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            let t = u64::from(out[i + j]) + u64::from(x) * u64::from(y) + carry;
            out[i + j] = t as u32;
            carry = t >> 32;
        }
        let mut k = i + b.len();
        while carry != 0 {
            let t = u64::from(out[k]) + carry;
            out[k] = t as u32;
            carry = t >> 32;
            k += 1;
        }
    }
    out
}

/// x mod n by binary long division (n ≠ 0).
fn rem(x: &[u32], n: &[u32]) -> Vec<u32> {
    let mut r = vec![0u32; n.len() + 1];
    for i in (0..x.len() * 32).rev() {
        // r = r << 1 | bit
        let bit = (x[i / 32] >> (i % 32)) & 1;
        let mut carry = bit;
        for limb in r.iter_mut() {
            let next = *limb >> 31;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if cmp(&r, n) != std::cmp::Ordering::Less {
            sub_assign(&mut r, n);
        }
    }
    r
}

/// base^exp mod n.
fn modpow(base: &[u32], exp: &[u8], n: &[u32]) -> Vec<u32> {
    let mut result = rem(&[1], n);
    let base = rem(base, n);
    for byte in exp {
        for bit in (0..8).rev() {
            result = rem(&mul(&result, &result), n);
            if (byte >> bit) & 1 == 1 {
                result = rem(&mul(&result, &base), n);
            }
        }
    }
    result
}

fn mgf1_sha256(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 0u32;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(seed);
        h.update(counter.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// RSASSA-PSS-VERIFY with SHA-256, MGF1-SHA-256 and the given salt length.
pub fn verify_pss_sha256(key: &RsaPublicKey, message: &[u8], signature: &[u8], salt_len: usize) -> bool {
    let k = key.n.len();
    if signature.len() != k {
        return false;
    }
    let n = from_be(&key.n);
    let s = from_be(signature);
    if cmp(&s, &n) != std::cmp::Ordering::Less {
        return false;
    }
    let m = modpow(&s, &key.e, &n);
    let mod_bits = key.n.len() * 8 - key.n[0].leading_zeros() as usize;
    let em_bits = mod_bits - 1;
    let em_len = em_bits.div_ceil(8);
    let Some(em) = to_be(&m, em_len) else { return false };
    let h_len = 32;
    if em_len < h_len + salt_len + 2 || em[em_len - 1] != 0xBC {
        return false;
    }
    let (masked_db, rest) = em.split_at(em_len - h_len - 1);
    let h = &rest[..h_len];
    let zero_bits = 8 * em_len - em_bits;
    let top_mask = if zero_bits == 0 { 0u8 } else { 0xFFu8 << (8 - zero_bits) };
    if masked_db[0] & top_mask != 0 {
        return false;
    }
    let mut db: Vec<u8> = masked_db.iter().zip(mgf1_sha256(h, masked_db.len())).map(|(a, b)| a ^ b).collect();
    db[0] &= !top_mask;
    let ps_len = em_len - h_len - salt_len - 2;
    if db[..ps_len].iter().any(|b| *b != 0) || db[ps_len] != 0x01 {
        return false;
    }
    let salt = &db[db.len() - salt_len..];
    let mut hp = Sha256::new();
    hp.update([0u8; 8]);
    hp.update(Sha256::digest(message));
    hp.update(salt);
    use subtle::ConstantTimeEq;
    let expected: [u8; 32] = hp.finalize().into();
    bool::from(expected.as_slice().ct_eq(h))
}

// ---- endpoints ----------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
pub struct SoterState {
    pub keys: HashMap<String, RsaPublicKey>,
}

#[derive(serde::Deserialize)]
struct RegisterKey {
    openid: String,
    public_key_pem: String,
}

async fn register_key(body: web::Json<RegisterKey>, state: web::Data<AppState>) -> HttpResponse {
    let Some(key) = parse_rsa_spki_pem(&body.public_key_pem) else {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "public_key_pem must be an RSA SPKI PEM (1024-4096 bits)"}));
    };
    match state.soter.lock() {
        Ok(mut s) => {
            s.keys.insert(body.openid.clone(), key);
            HttpResponse::Ok().json(serde_json::json!({"ok": true}))
        }
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

#[derive(serde::Deserialize)]
struct VerifyRequest {
    openid: Option<String>,
    json_string: Option<String>,
    json_signature: Option<String>,
}

async fn verify_signature(
    q: web::Query<HashMap<String, String>>,
    body: web::Json<VerifyRequest>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let err = |code: i64, msg: &str| HttpResponse::Ok().json(serde_json::json!({"errcode": code, "errmsg": msg}));
    let token = q.get("access_token").map(String::as_str).unwrap_or("");
    match state.wechat.lock().ok().and_then(|w| w.tokens.get(token).copied()) {
        Some(exp) if exp > std::time::Instant::now() => {}
        _ => return err(40001, "invalid credential, access_token is invalid or not latest"),
    }
    let (Some(openid), Some(json), Some(sig)) = (&body.openid, &body.json_string, &body.json_signature) else {
        return err(47001, "data format error");
    };
    let key = state.soter.lock().ok().and_then(|s| s.keys.get(openid).cloned());
    let is_ok = match (key, base64::engine::general_purpose::STANDARD.decode(sig.trim())) {
        (Some(key), Ok(sig)) => verify_pss_sha256(&key, json.as_bytes(), &sig, SALT_LEN),
        _ => false,
    };
    HttpResponse::Ok().json(serde_json::json!({"errcode": 0, "errmsg": "ok", "is_ok": is_ok}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bignum_modpow_small_values() {
        // 4^13 mod 497 = 445 (the textbook example of modular exponentiation).
        assert_eq!(modpow(&[4], &[13], &[497]), vec![445, 0]);
        // (2^64 + 5)^3 mod (2^61 - 1): 2^64 ≡ 8, so ≡ 13^3 = 2197.
        let x = from_be(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5]);
        let m = from_be(&0x1FFF_FFFF_FFFF_FFFFu64.to_be_bytes());
        assert_eq!(to_be(&modpow(&x, &[3], &m), 8).unwrap(), 2197u64.to_be_bytes());
    }
}
