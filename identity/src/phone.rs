//! Mainland China mobile numbers.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    #[error("a mainland mobile number is 11 digits starting with 1")]
    Format,
}

impl PhoneNumberError {
    pub fn code(&self) -> &'static str {
        "phone_number_format"
    }
}

/// A mainland mobile number: 11 digits, `1[3-9]`. Display and Debug are masked (`138****5678`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts `13812345678`, `+86 138 1234 5678`, `86-138-1234-5678`. Input longer than 32 bytes is refused.
    pub fn parse(input: &str) -> Result<Self, PhoneNumberError> {
        if input.len() > 32 {
            return Err(PhoneNumberError::Format);
        }
        let compact: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let national = compact
            .strip_prefix("+86")
            .or_else(|| if compact.len() == 13 { compact.strip_prefix("86") } else { None })
            .unwrap_or(&compact);
        let b = national.as_bytes();
        let ok = b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        if !ok {
            return Err(PhoneNumberError::Format);
        }
        Ok(Self(national.to_owned()))
    }

    /// The 11 digits, for encryption, the blind index and SMS gateways only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl<'de> serde::Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_spellings() {
        for s in ["13812345678", "+86 138 1234 5678", "86-138-1234-5678", "+8613812345678"] {
            assert_eq!(PhoneNumber::parse(s).unwrap().expose(), "13812345678", "{s}");
        }
    }

    #[test]
    fn refuses_non_mobile_numbers() {
        for s in ["12812345678", "1381234567", "138123456789", "021-12345678", "1381234567a", ""] {
            assert!(PhoneNumber::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn display_and_debug_are_masked() {
        let p = PhoneNumber::parse("13812345678").unwrap();
        assert_eq!(p.to_string(), "138****5678");
        assert_eq!(format!("{p:?}"), "PhoneNumber(138****5678)");
    }
}
