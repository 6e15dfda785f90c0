//! Resident identity numbers (公民身份号码, GB 11643-1999): 17 digits + check character.

use chrono::{Datelike, NaiveDate};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("an ID number has 18 characters")]
    Length,
    #[error("an ID number is 17 digits followed by a digit or X")]
    Characters,
    #[error("the check character of the ID number is wrong")]
    CheckDigit,
    #[error("the birth date inside the ID number is not a valid date")]
    BirthDate,
}

impl IdNumberError {
    /// Stable code for problem+json.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Length => "id_number_length",
            Self::Characters => "id_number_characters",
            Self::CheckDigit => "id_number_check_digit",
            Self::BirthDate => "id_number_birth_date",
        }
    }
}

/// A validated 18-character ID number. `Display` and `Debug` only ever show the masked form; the full value is
/// reachable through [`IdNumber::expose`] for encryption, the blind index and the provider calls.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    value: String,
    birth_date: NaiveDate,
}

/// GB 11643-1999 weights W_i = 2^(17-i) mod 11 for positions 1..=17.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of (sum mod 11).
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// The check character for the first 17 digits (ASCII digits only; caller guarantees it).
fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl IdNumber {
    /// Parses and validates: length, characters, check character, birth date (between 1850-01-01 and today).
    /// A lower-case `x` is accepted and normalised to `X`; surrounding whitespace is trimmed.
    pub fn parse(input: &str) -> Result<Self, IdNumberError> {
        let trimmed = input.trim();
        if trimmed.len() != 18 || trimmed.chars().count() != 18 {
            return Err(IdNumberError::Length);
        }
        let mut bytes = trimmed.as_bytes().to_vec();
        if bytes[17] == b'x' {
            bytes[17] = b'X';
        }
        if !bytes[..17].iter().all(u8::is_ascii_digit) || !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
            return Err(IdNumberError::Characters);
        }
        if check_char(&bytes[..17]) != bytes[17] {
            return Err(IdNumberError::CheckDigit);
        }
        let digits = |r: std::ops::Range<usize>| -> u32 {
            bytes[r].iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        let year = digits(6..10) as i32;
        let birth_date = NaiveDate::from_ymd_opt(year, digits(10..12), digits(12..14))
            .ok_or(IdNumberError::BirthDate)?;
        let today = chrono::Utc::now().date_naive();
        if year < 1850 || birth_date > today {
            return Err(IdNumberError::BirthDate);
        }
        let value = String::from_utf8(bytes).map_err(|_| IdNumberError::Characters)?;
        Ok(Self { value, birth_date })
    }

    /// The full number. Only for encryption, the blind index and calls to the verification providers.
    pub fn expose(&self) -> &str {
        &self.value
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The six-digit administrative division code (first six characters).
    pub fn region_code(&self) -> &str {
        &self.value[..6]
    }

    /// `1101**********1234`: the first four and the last four characters.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.value[..4], "*".repeat(10), &self.value[14..])
    }

    /// Birth-date fragments a PIN must not equal or contain (see [`crate::pin::check_policy`]).
    pub(crate) fn birth_fragments(&self) -> (String, String, String) {
        let d = self.birth_date;
        (
            format!("{:04}{:02}{:02}", d.year(), d.month(), d.day()),
            format!("{:02}{:02}{:02}", d.year() % 100, d.month(), d.day()),
            format!("{:02}{:02}", d.month(), d.day()),
        )
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl std::str::FromStr for IdNumber {
    type Err = IdNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> serde::Deserialize<'de> for IdNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example of GB 11643-1999 (appendix): 11010519491231002X, born 1949-12-31.
    const STANDARD_EXAMPLE: &str = "11010519491231002X";

    #[test]
    fn standard_example_parses_with_its_birth_date() {
        let id = IdNumber::parse(STANDARD_EXAMPLE).unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(id.region_code(), "110105");
        assert_eq!(id.expose(), STANDARD_EXAMPLE);
    }

    #[test]
    fn lower_case_x_is_normalised() {
        let id = IdNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.expose(), STANDARD_EXAMPLE);
    }

    #[test]
    fn hand_computed_check_digit() {
        // 44052418800101001: sum = 4*7+4*9+0*10+5*5+2*8+4*4+1*2+8*1+8*6+0*3+0*7+1*9+0*10+1*5+0*8+0*4+1*2 = 195;
        // 195 mod 11 = 8 -> check character '4'.
        assert!(IdNumber::parse("440524188001010014").is_ok());
        assert_eq!(IdNumber::parse("440524188001010015"), Err(IdNumberError::CheckDigit));
    }

    #[test]
    fn wrong_check_digit_is_refused() {
        assert_eq!(IdNumber::parse("110105194912310021"), Err(IdNumberError::CheckDigit));
    }

    #[test]
    fn malformed_inputs_are_refused() {
        assert_eq!(IdNumber::parse("1101051949123100"), Err(IdNumberError::Length));
        assert_eq!(IdNumber::parse("1101051949123100２X"), Err(IdNumberError::Length));
        assert_eq!(IdNumber::parse("11010519491231A02X"), Err(IdNumberError::Characters));
        assert_eq!(IdNumber::parse("X10105194912310021"), Err(IdNumberError::Characters));
    }

    #[test]
    fn impossible_birth_date_is_refused() {
        // 1949-02-30 with a correct check character (hand: weighted sum 155, 155 mod 11 = 1 -> '0').
        assert_eq!(IdNumber::parse("110105194902300020"), Err(IdNumberError::BirthDate));
    }

    #[test]
    fn display_and_debug_are_masked() {
        let id = IdNumber::parse(STANDARD_EXAMPLE).unwrap();
        assert_eq!(id.to_string(), "1101**********002X");
        let dbg = format!("{id:?}");
        assert!(!dbg.contains("19491231"), "{dbg}");
        assert_eq!(dbg, "IdNumber(1101**********002X)");
    }
}
