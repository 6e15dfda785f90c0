//! Six-digit PINs: the policy for choosing one, and Argon2id hashing with a server-side pepper (DESIGN §4).

use crate::id_number::IdNumber;
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("a PIN is exactly six digits")]
    Format,
    #[error("a PIN of one repeated digit is too easy to guess")]
    AllSame,
    #[error("a PIN of consecutive digits is too easy to guess")]
    Sequence,
    #[error("a PIN must not contain the birth date or the end of the ID number")]
    PersonalData,
}

impl PinError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Format => "pin_format",
            Self::AllSame => "pin_all_same",
            Self::Sequence => "pin_sequence",
            Self::PersonalData => "pin_personal_data",
        }
    }
}

/// Six ASCII digits. Never printed: Debug shows `Pin(******)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin([u8; 6]);

impl Pin {
    /// Format check only; call [`check_policy`] when the PIN is being *set*.
    pub fn parse(input: &str) -> Result<Self, PinError> {
        let b = input.as_bytes();
        if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
            return Err(PinError::Format);
        }
        let mut a = [0u8; 6];
        a.copy_from_slice(b);
        Ok(Self(a))
    }

    pub fn expose(&self) -> &str {
        // Six ASCII digits are valid UTF-8; the fallback is unreachable.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(******)")
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        self.0 = [0; 6];
    }
}

impl<'de> serde::Deserialize<'de> for Pin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The rules for a new PIN. Refused:
/// - one digit six times (`000000`, `777777`);
/// - a run of consecutive digits up or down, also wrapping 9→0 (`123456`, `012345`, `789012`, `654321`, `098765`);
/// - the owner's birth date: YYMMDD, DDMMYY, MMDDYY, YYYYMM, or any PIN containing MMDD (`19491231` → `491231`,
///   `311249`, `123149`, `194912`, `x1231x`);
/// - the last six characters of the ID number (a common choice; `X` never matches a digit PIN).
pub fn check_policy(pin: &Pin, owner: Option<&IdNumber>) -> Result<(), PinError> {
    let d = pin.0;
    if d.iter().all(|&x| x == d[0]) {
        return Err(PinError::AllSame);
    }
    let steps = |delta: u8| d.windows(2).all(|w| (w[0] - b'0' + delta) % 10 == w[1] - b'0');
    if steps(1) || steps(9) {
        return Err(PinError::Sequence);
    }
    if let Some(id) = owner {
        let p = pin.expose();
        let (yyyymmdd, yymmdd, mmdd) = id.birth_fragments();
        let (yy, mm, dd) = (&yymmdd[..2], &yymmdd[2..4], &yymmdd[4..6]);
        let candidates = [
            yymmdd.clone(),
            format!("{dd}{mm}{yy}"),
            format!("{mm}{dd}{yy}"),
            yyyymmdd[..6].to_owned(),
        ];
        if candidates.iter().any(|c| c == p) || p.contains(&mmdd) || id.expose().ends_with(p) {
            return Err(PinError::PersonalData);
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum PinHashError {
    #[error("argon2 parameters are invalid: {0}")]
    Params(String),
    #[error("the stored PIN hash is not a valid Argon2id PHC string")]
    StoredHash,
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Argon2 working memory (m_cost KiB), kept between verifications by whoever runs them (one per PIN slot).
#[derive(Default)]
pub struct PinMemory(Vec<Block>);

/// Argon2id with the pepper given as Argon2's secret input (`Argon2::new_with_secret`), output as a PHC string.
/// The pepper lives in server configuration, never in the database, so a stolen table cannot be brute-forced
/// (a six-digit PIN space is otherwise trivial to search).
pub struct PinHasher {
    pepper: crate::pii::SecretKey,
    params: Params,
}

impl fmt::Debug for PinHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinHasher").field("params", &self.params).finish_non_exhaustive()
    }
}

/// Production parameters: m = 16 MiB, t = 2, p = 1. Measured in release on the 2-core development machine
/// (while other builds ran): 14.4 ms fastest, 17 ms median of 40 verifies; run the ignored test `pin_hash_cost`
/// with `--release` to re-measure.
pub const PRODUCTION_M_COST_KIB: u32 = 16 * 1024;
pub const PRODUCTION_T_COST: u32 = 2;

impl PinHasher {
    pub fn new(pepper: crate::pii::SecretKey) -> Result<Self, PinHashError> {
        Self::with_params(pepper, PRODUCTION_M_COST_KIB, PRODUCTION_T_COST)
    }

    /// Cheaper parameters are for tests only (the PHC string records them, so verification still works).
    pub fn with_params(pepper: crate::pii::SecretKey, m_cost_kib: u32, t_cost: u32) -> Result<Self, PinHashError> {
        let params = Params::new(m_cost_kib, t_cost, 1, Some(32)).map_err(|e| PinHashError::Params(e.to_string()))?;
        Ok(Self { pepper, params })
    }

    fn argon(&self, params: Params) -> Result<Argon2<'_>, PinHashError> {
        Argon2::new_with_secret(self.pepper.expose(), Algorithm::Argon2id, Version::V0x13, params)
            .map_err(|e| PinHashError::Params(e.to_string()))
    }

    /// A PHC string `$argon2id$v=19$m=…,t=…,p=1$<salt>$<hash>` with a fresh random salt.
    pub fn hash(&self, pin: &Pin) -> Result<String, PinHashError> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let argon = self.argon(self.params.clone())?;
        argon
            .hash_password(pin.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PinHashError::Hash(e.to_string()))
    }

    /// True when the PIN matches. The parameters are read from the stored string, so old hashes keep working
    /// after a parameter change ([`PinHasher::needs_rehash`] says when to store a new hash). Costs ~18 ms: the
    /// server runs it on a blocking thread. Allocates its working memory; see [`PinHasher::verify_in`].
    pub fn verify(&self, pin: &Pin, stored_phc: &str) -> Result<bool, PinHashError> {
        self.verify_in(pin, stored_phc, &mut PinMemory::default())
    }

    /// As [`PinHasher::verify`], in a caller-owned working memory that is kept for the next verification: a
    /// fresh 16 MiB each time is zeroed and page-faulted in again, which costs a good part of the hash itself.
    pub fn verify_in(&self, pin: &Pin, stored_phc: &str, memory: &mut PinMemory) -> Result<bool, PinHashError> {
        if stored_phc.len() > 256 {
            return Err(PinHashError::StoredHash);
        }
        let parsed = PasswordHash::new(stored_phc).map_err(|_| PinHashError::StoredHash)?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(PinHashError::StoredHash);
        }
        let params = Params::try_from(&parsed).map_err(|_| PinHashError::StoredHash)?;
        let version = match parsed.version {
            None => Version::V0x13,
            Some(v) => Version::try_from(v).map_err(|_| PinHashError::StoredHash)?,
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Err(PinHashError::StoredHash) };
        let mut salt_buf = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_buf).map_err(|_| PinHashError::StoredHash)?;
        let blocks = params.block_count();
        let argon = Argon2::new_with_secret(self.pepper.expose(), Algorithm::Argon2id, version, params)
            .map_err(|e| PinHashError::Params(e.to_string()))?;
        if memory.0.len() < blocks {
            memory.0.resize(blocks, Block::default());
        }
        // Every block is written before it is read, so what the last verification left there does not matter.
        let computed = Output::init_with(expected.len(), |out| {
            argon
                .hash_password_into_with_memory(pin.expose().as_bytes(), salt, out, &mut memory.0[..blocks])
                .map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .map_err(|e| PinHashError::Hash(e.to_string()))?;
        // `Output` compares in constant time.
        Ok(computed == expected)
    }

    /// True when the stored hash was made with other parameters than the current ones.
    pub fn needs_rehash(&self, stored_phc: &str) -> bool {
        match PasswordHash::new(stored_phc).ok().and_then(|p| Params::try_from(&p).ok()) {
            Some(p) => p.m_cost() != self.params.m_cost() || p.t_cost() != self.params.t_cost() || p.p_cost() != self.params.p_cost(),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::SecretKey;

    fn id() -> IdNumber {
        // GB 11643-1999 example, born 1949-12-31.
        IdNumber::parse("11010519491231002X").unwrap()
    }

    fn refused(p: &str) -> PinError {
        check_policy(&Pin::parse(p).unwrap(), Some(&id())).unwrap_err()
    }

    #[test]
    fn format() {
        for bad in ["12345", "1234567", "12345a", "１２３４５６", "", " 12345"] {
            assert_eq!(Pin::parse(bad).unwrap_err(), PinError::Format, "{bad:?}");
        }
    }

    #[test]
    fn trivial_pins_are_refused() {
        for p in ["000000", "999999", "111111"] {
            assert_eq!(refused(p), PinError::AllSame, "{p}");
        }
        for p in ["123456", "012345", "456789", "789012", "901234", "654321", "987654", "210987", "098765"] {
            assert_eq!(refused(p), PinError::Sequence, "{p}");
        }
    }

    #[test]
    fn birth_date_and_id_tail_are_refused() {
        // Born 1949-12-31; ID ends in "31002X".
        for p in ["491231", "311249", "123149", "194912", "123100", "012319"] {
            assert_eq!(refused(p), PinError::PersonalData, "{p}");
        }
        // 440524188001010014 ends in "010014" — a digit tail.
        let other = IdNumber::parse("440524188001010014").unwrap();
        assert_eq!(check_policy(&Pin::parse("010014").unwrap(), Some(&other)), Err(PinError::PersonalData));
    }

    #[test]
    fn ordinary_pins_pass() {
        for p in ["385172", "902417", "112358", "135790"] {
            assert!(check_policy(&Pin::parse(p).unwrap(), Some(&id())).is_ok(), "{p}");
        }
        // Without an ID number only the generic rules apply.
        assert!(check_policy(&Pin::parse("491231").unwrap(), None).is_ok());
    }

    #[test]
    fn pin_never_prints() {
        let p = Pin::parse("385172").unwrap();
        assert_eq!(format!("{p:?}"), "Pin(******)");
    }

    fn cheap(pepper: u8) -> PinHasher {
        PinHasher::with_params(SecretKey::from_bytes([pepper; 32]), 256, 1).unwrap()
    }

    #[test]
    fn hash_and_verify() {
        let h = cheap(1);
        let pin = Pin::parse("385172").unwrap();
        let phc = h.hash(&pin).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{phc}");
        assert!(!phc.contains("385172"));
        assert!(h.verify(&pin, &phc).unwrap());
        assert!(!h.verify(&Pin::parse("385173").unwrap(), &phc).unwrap());
        // Two hashes of one PIN differ (salt).
        assert_ne!(phc, h.hash(&pin).unwrap());
    }

    #[test]
    fn pepper_is_required_to_verify() {
        let pin = Pin::parse("385172").unwrap();
        let phc = cheap(1).hash(&pin).unwrap();
        assert!(!cheap(2).verify(&pin, &phc).unwrap());
        // Plain Argon2id without the secret does not verify either.
        use argon2::PasswordVerifier;
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(Argon2::default().verify_password(b"385172", &parsed).is_err());
    }

    #[test]
    fn rfc9106_argon2id_vector_with_secret() {
        // RFC 9106 §5.3: Argon2id, m=32 KiB, t=3, p=4, password 0x01*32, salt 0x02*16, secret 0x03*8,
        // associated data 0x04*12, tag length 32.
        let params = argon2::ParamsBuilder::new()
            .m_cost(32)
            .t_cost(3)
            .p_cost(4)
            .output_len(32)
            .data(argon2::AssociatedData::new(&[4u8; 12]).unwrap())
            .build()
            .unwrap();
        let a = Argon2::new_with_secret(&[3u8; 8], Algorithm::Argon2id, Version::V0x13, params).unwrap();
        let mut out = [0u8; 32];
        a.hash_password_into(&[1u8; 32], &[2u8; 16], &mut out).unwrap();
        assert_eq!(hex::encode(out), "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
    }

    #[test]
    fn verify_in_a_reused_memory_gives_the_same_answers() {
        let pepper = SecretKey::from_bytes([1; 32]);
        let small = PinHasher::with_params(pepper.clone(), 256, 1).unwrap();
        let large = PinHasher::with_params(pepper, 512, 2).unwrap();
        let (right, wrong) = (Pin::parse("385172").unwrap(), Pin::parse("385173").unwrap());
        let mut memory = PinMemory::default();
        // Large then small then large again: the memory holds whatever the previous run left in it.
        for phc in [large.hash(&right).unwrap(), small.hash(&right).unwrap(), large.hash(&right).unwrap()] {
            assert!(small.verify_in(&right, &phc, &mut memory).unwrap(), "{phc}");
            assert!(!small.verify_in(&wrong, &phc, &mut memory).unwrap(), "{phc}");
            assert!(small.verify(&right, &phc).unwrap());
        }
        assert!(small.verify_in(&right, "not a phc", &mut memory).is_err());
    }

    #[test]
    fn stored_garbage_is_an_error_not_a_match() {
        let h = cheap(1);
        let pin = Pin::parse("385172").unwrap();
        assert!(h.verify(&pin, "not a phc").is_err());
        assert!(h.verify(&pin, "$argon2i$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA").is_err());
    }

    #[test]
    fn needs_rehash_when_params_change() {
        let h = cheap(1);
        let phc = h.hash(&Pin::parse("385172").unwrap()).unwrap();
        assert!(!h.needs_rehash(&phc));
        let prod = PinHasher::new(SecretKey::from_bytes([1; 32])).unwrap();
        assert!(prod.needs_rehash(&phc));
    }

    /// Cost of one production verify. Run: `cargo test -p linli-identity --release -- --ignored pin_hash_cost --nocapture`.
    #[test]
    #[ignore]
    fn pin_hash_cost() {
        let h = PinHasher::new(SecretKey::from_bytes([1; 32])).unwrap();
        let pin = Pin::parse("385172").unwrap();
        let phc = h.hash(&pin).unwrap();
        // The minimum over many runs approximates the cost on an idle machine.
        let mut times = vec![];
        for _ in 0..40 {
            let start = std::time::Instant::now();
            assert!(h.verify(&pin, &phc).unwrap());
            times.push(start.elapsed());
        }
        times.sort();
        println!("one verify: min {:?}, median {:?}", times[0], times[times.len() / 2]);
    }
}
