//! Loading private keys: 64 hex digits (with or without `0x`), or the PEM files FISCO BCOS tools write —
//! PKCS#8 `PRIVATE KEY` (java-sdk, console `get_account.sh`, `get_gm_account.sh`) or SEC1 `EC PRIVATE KEY`
//! (plain `openssl ecparam -genkey`, possibly preceded by an `EC PARAMETERS` block).

use std::path::Path;

use base64::Engine as _;
use thiserror::Error;

use crate::crypto::{CryptoError, CryptoSuite, Signer};

/// DER of the secp256k1 curve OID 1.3.132.0.10 (content bytes only).
const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];
/// DER of the SM2 curve OID 1.2.156.10197.1.301.
const OID_SM2: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];
/// Largest key file accepted: PEM private keys are a few hundred bytes.
const MAX_KEY_FILE: u64 = 64 * 1024;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("key hex: {0}")]
    Hex(String),
    #[error("cannot read key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("key file too large")]
    TooLarge,
    #[error("no PRIVATE KEY or EC PRIVATE KEY block in PEM")]
    NoPemBlock,
    #[error("PEM base64: {0}")]
    Base64(String),
    #[error("unsupported or malformed key DER: {0}")]
    Der(&'static str),
    #[error("key is for curve {found}, but the chain uses {expected}")]
    WrongCurve { found: &'static str, expected: CryptoSuite },
    #[error("public key in the file does not match the private key (wrong suite?)")]
    PublicKeyMismatch,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Parse 64 hex digits (optional `0x`) as a secret key of `suite`.
pub fn signer_from_hex(suite: CryptoSuite, s: &str) -> Result<Signer, KeyError> {
    let t = s.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    if !t.len().is_multiple_of(2) {
        return Err(KeyError::Hex("odd number of hex digits".into()));
    }
    let bytes = hex::decode(t).map_err(|e| KeyError::Hex(e.to_string()))?;
    Ok(Signer::from_secret_bytes(suite, &bytes)?)
}

/// Parse PEM text (PKCS#8 or SEC1) as a secret key of `suite`.
pub fn signer_from_pem(suite: CryptoSuite, pem: &str) -> Result<Signer, KeyError> {
    let der = pem_block(pem)?;
    let key = parse_private_key_der(&der)?;
    if let Some(curve) = key.curve {
        let found = if curve == OID_SECP256K1 {
            Some(("secp256k1", CryptoSuite::Ecdsa))
        } else if curve == OID_SM2 {
            Some(("sm2", CryptoSuite::Sm))
        } else {
            None
        };
        match found {
            Some((_, s)) if s == suite => {}
            Some((name, _)) => return Err(KeyError::WrongCurve { found: name, expected: suite }),
            None => return Err(KeyError::WrongCurve { found: "unknown", expected: suite }),
        }
    }
    // The secret may be shorter than 32 bytes when its leading bytes are zero.
    if key.secret.len() > 32 {
        return Err(KeyError::Der("secret longer than 32 bytes"));
    }
    let mut secret = [0u8; 32];
    secret[32 - key.secret.len()..].copy_from_slice(key.secret);
    let signer = Signer::from_secret_bytes(suite, &secret)?;
    if let Some(pub_sec1) = key.public_key
        && pub_sec1.len() == 65
        && pub_sec1[1..] != signer.public_key()[..]
    {
        return Err(KeyError::PublicKeyMismatch);
    }
    Ok(signer)
}

/// `--key` argument semantics: an existing file is read as PEM (or as hex if it holds only hex); otherwise
/// the argument itself is hex.
pub fn load_signer(suite: CryptoSuite, arg: &str) -> Result<Signer, KeyError> {
    let path = Path::new(arg);
    if path.is_file() {
        let meta = std::fs::metadata(path).map_err(|e| KeyError::Io { path: arg.into(), source: e })?;
        if meta.len() > MAX_KEY_FILE {
            return Err(KeyError::TooLarge);
        }
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Io { path: arg.into(), source: e })?;
        if text.contains("-----BEGIN") {
            return signer_from_pem(suite, &text);
        }
        return signer_from_hex(suite, &text);
    }
    signer_from_hex(suite, arg)
}

fn pem_block(pem: &str) -> Result<Vec<u8>, KeyError> {
    for label in ["PRIVATE KEY", "EC PRIVATE KEY", "SM2 PRIVATE KEY"] {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        if let Some(start) = pem.find(&begin) {
            let body_start = start + begin.len();
            let body_end = pem[body_start..].find(&end).ok_or(KeyError::NoPemBlock)? + body_start;
            let b64: String = pem[body_start..body_end].chars().filter(|c| !c.is_whitespace()).collect();
            return base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| KeyError::Base64(e.to_string()));
        }
    }
    Err(KeyError::NoPemBlock)
}

struct ParsedKey<'a> {
    secret: &'a [u8],
    curve: Option<&'a [u8]>,
    /// SEC1 uncompressed point (0x04 ‖ X ‖ Y) when the file carries it.
    public_key: Option<&'a [u8]>,
}

/// Minimal DER reader over a slice: enough for PKCS#8 and SEC1 EC private keys.
struct Der<'a> {
    buf: &'a [u8],
}

impl<'a> Der<'a> {
    fn next(&mut self) -> Result<Option<(u8, &'a [u8])>, KeyError> {
        let Some((&tag, rest)) = self.buf.split_first() else {
            return Ok(None);
        };
        let (&first, mut rest) = rest.split_first().ok_or(KeyError::Der("truncated length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err(KeyError::Der("bad length"));
            }
            let mut l = 0usize;
            for &b in &rest[..n] {
                l = (l << 8) | usize::from(b);
            }
            rest = &rest[n..];
            l
        };
        if len > rest.len() {
            return Err(KeyError::Der("length beyond input"));
        }
        let (content, tail) = rest.split_at(len);
        self.buf = tail;
        Ok(Some((tag, content)))
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], KeyError> {
        match self.next()? {
            Some((t, c)) if t == tag => Ok(c),
            _ => Err(KeyError::Der(what)),
        }
    }
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const BIT_STRING: u8 = 0x03;

fn parse_private_key_der(der: &[u8]) -> Result<ParsedKey<'_>, KeyError> {
    let mut outer = Der { buf: der };
    let seq = outer.expect(SEQUENCE, "expected SEQUENCE")?;
    let mut fields = Der { buf: seq };
    let version = fields.expect(INTEGER, "expected version INTEGER")?;
    match version {
        [0] => {
            // PKCS#8: AlgorithmIdentifier { id-ecPublicKey | sm2, curve OID? }, OCTET STRING { SEC1 }.
            let alg = fields.expect(SEQUENCE, "expected AlgorithmIdentifier")?;
            let mut alg = Der { buf: alg };
            let alg_oid = alg.expect(OID, "expected algorithm OID")?;
            let mut curve = match alg.next()? {
                Some((OID, c)) => Some(c),
                _ => None,
            };
            if curve.is_none() && alg_oid == OID_SM2 {
                curve = Some(alg_oid);
            }
            let inner = fields.expect(OCTET_STRING, "expected privateKey OCTET STRING")?;
            let mut key = parse_sec1(inner)?;
            if key.curve.is_none() {
                key.curve = curve;
            }
            Ok(key)
        }
        [1] => parse_sec1(der),
        _ => Err(KeyError::Der("unknown key version")),
    }
}

fn parse_sec1(der: &[u8]) -> Result<ParsedKey<'_>, KeyError> {
    let mut outer = Der { buf: der };
    let seq = outer.expect(SEQUENCE, "expected ECPrivateKey SEQUENCE")?;
    let mut fields = Der { buf: seq };
    if fields.expect(INTEGER, "expected ECPrivateKey version")? != [1] {
        return Err(KeyError::Der("ECPrivateKey version must be 1"));
    }
    let secret = fields.expect(OCTET_STRING, "expected privateKey")?;
    let mut key = ParsedKey { secret, curve: None, public_key: None };
    while let Some((tag, content)) = fields.next()? {
        match tag {
            0xa0 => {
                let mut p = Der { buf: content };
                if let Some((OID, c)) = p.next()? {
                    key.curve = Some(c);
                }
            }
            0xa1 => {
                let mut p = Der { buf: content };
                if let Some((BIT_STRING, bits)) = p.next()? {
                    // First byte of a BIT STRING is the count of unused bits.
                    key.public_key = bits.get(1..);
                }
            }
            _ => {}
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_errors_are_reported() {
        assert!(matches!(signer_from_hex(CryptoSuite::Ecdsa, "abc"), Err(KeyError::Hex(_))));
        assert!(matches!(signer_from_hex(CryptoSuite::Ecdsa, "zz"), Err(KeyError::Hex(_))));
        assert!(matches!(
            signer_from_hex(CryptoSuite::Ecdsa, "00ff"),
            Err(KeyError::Crypto(CryptoError::KeyLength(2)))
        ));
    }

    #[test]
    fn truncated_der_is_an_error_not_a_panic() {
        for der in [&[0x30u8][..], &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], &[0x30, 0x03, 0x02, 0x01]] {
            assert!(parse_private_key_der(der).is_err());
        }
    }
}
