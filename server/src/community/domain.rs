//! Register types parsed at the edge: nothing inward handles a raw area string or an unchecked ID number.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An area in integer centi-square-metres (0.01 m²). Never a float (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct AreaCentiM2(i64);

/// Largest single area we accept: 1,000,000 m² — far above any exclusive part, far below overflow when summed.
const MAX_AREA_CENTI_M2: i64 = 100_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaError {
    #[error("area is empty")]
    Empty,
    #[error("area must be a decimal number of square metres with at most two decimals, like 89.35")]
    Malformed,
    #[error("area must be greater than zero")]
    NotPositive,
    #[error("area is implausibly large")]
    TooLarge,
}

impl AreaCentiM2 {
    pub fn new(centi: i64) -> Result<Self, AreaError> {
        if centi <= 0 {
            Err(AreaError::NotPositive)
        } else if centi > MAX_AREA_CENTI_M2 {
            Err(AreaError::TooLarge)
        } else {
            Ok(Self(centi))
        }
    }

    /// Parses square metres written as `89`, `89.3` or `89.35` (no sign, no exponent, no more than two decimals).
    pub fn parse_m2(text: &str) -> Result<Self, AreaError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AreaError::Empty);
        }
        if text.starts_with('-') {
            return Err(AreaError::NotPositive);
        }
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (text.contains('.') && !digits(frac)) || frac.len() > 2 || whole.len() > 9 {
            return Err(AreaError::Malformed);
        }
        let whole: i64 = whole.parse().map_err(|_| AreaError::Malformed)?;
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| AreaError::Malformed)? * 10,
            _ => frac.parse().map_err(|_| AreaError::Malformed)?,
        };
        Self::new(whole * 100 + frac)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for AreaCentiM2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

text_enum!(
    /// What an exclusive part is. `Parking` is a parking space registered as an exclusive part.
    UnitKind { Residence = "residence", Commercial = "commercial", Parking = "parking" }
);
text_enum!(
    /// Where the exclusive area comes from, in order of preference (DESIGN §3).
    AreaSource { Register = "register", Surveyed = "surveyed", Contract = "contract" }
);
text_enum!(
    /// Why a unit is still the developer's (SPC 法释〔2009〕7号 art. 9: together these count as one person).
    DeveloperHolding { Unsold = "unsold", Undelivered = "undelivered" }
);

/// An 18-character unified social credit code (GB 32100-2015) of an organisation, check character verified.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CreditCode(String);

const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("a unified social credit code has 18 characters from 0-9 and A-Y without I, O, S, V, Z")]
    Format,
    #[error("the check character of the unified social credit code is wrong")]
    CheckCharacter,
}

impl CreditCode {
    pub fn parse(text: &str) -> Result<Self, CreditCodeError> {
        let upper = text.trim().to_ascii_uppercase();
        let values: Option<Vec<u32>> = upper
            .bytes()
            .map(|b| USCC_CHARS.iter().position(|c| *c == b).map(|p| p as u32))
            .collect();
        let values = values.ok_or(CreditCodeError::Format)?;
        if values.len() != 18 {
            return Err(CreditCodeError::Format);
        }
        let sum: u32 = values[..17].iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
        if (31 - sum % 31) % 31 != values[17] {
            return Err(CreditCodeError::CheckCharacter);
        }
        Ok(Self(upper))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A non-PRC identity document of a natural person (the register's owners who hold no resident identity card).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum IdDocumentKind {
    /// A passport, with its issuing state's ICAO 9303 three-letter code (`GBR`): passport numbers are unique only
    /// per issuing state, so the state is part of the identity.
    Passport { issuer: String },
    /// 港澳居民来往内地通行证: `H` (Hong Kong) or `M` (Macao) and 8 digits, or 10 on cards of the older series.
    HkMacaoPermit,
    /// 台湾居民来往大陆通行证: 8 digits.
    TaiwanPermit,
}

impl IdDocumentKind {
    /// The register file's `id_type` text: `passport:GBR`, `hk_macao_permit`, `taiwan_permit`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "hk_macao_permit" => Some(Self::HkMacaoPermit),
            "taiwan_permit" => Some(Self::TaiwanPermit),
            _ => {
                let issuer = text.strip_prefix("passport:")?;
                (issuer.len() == 3 && issuer.bytes().all(|b| b.is_ascii_uppercase()))
                    .then(|| Self::Passport { issuer: issuer.to_owned() })
            }
        }
    }

    /// The stored `persons.id_type`.
    pub fn column(&self) -> &'static str {
        match self {
            Self::Passport { .. } => "passport",
            Self::HkMacaoPermit => "hk_macao_permit",
            Self::TaiwanPermit => "taiwan_permit",
        }
    }
}

/// A validated non-PRC identity document: its kind and number (upper-cased).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct IdDocument {
    kind: IdDocumentKind,
    number: String,
    /// `passport:GBR:123456789`, `hk_macao_permit:H12345678`: the identity's text, encrypted and blind-indexed
    /// as an ID number is. The prefix keeps it from ever equalling an ID number, a credit code or another kind's
    /// number.
    key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdDocumentError {
    #[error("id_type must be passport:<ICAO three-letter state code>, hk_macao_permit or taiwan_permit")]
    Kind,
    #[error("a passport number has 5 to 20 letters and digits")]
    Passport,
    #[error("a Hong Kong/Macao permit number is H or M followed by 8 or 10 digits")]
    HkMacao,
    #[error("a Taiwan permit number has 8 digits")]
    Taiwan,
}

impl IdDocument {
    pub fn parse(kind: &str, number: &str) -> Result<Self, IdDocumentError> {
        let kind = IdDocumentKind::parse(kind).ok_or(IdDocumentError::Kind)?;
        let number = number.trim().to_ascii_uppercase();
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let valid = match &kind {
            IdDocumentKind::Passport { .. } => {
                (5..=20).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric())
            }
            IdDocumentKind::HkMacaoPermit => {
                matches!(number.as_bytes().first(), Some(b'H' | b'M')) && matches!(number.len(), 9 | 11) && digits(&number[1..])
            }
            IdDocumentKind::TaiwanPermit => number.len() == 8 && digits(&number),
        };
        if !valid {
            return Err(match kind {
                IdDocumentKind::Passport { .. } => IdDocumentError::Passport,
                IdDocumentKind::HkMacaoPermit => IdDocumentError::HkMacao,
                IdDocumentKind::TaiwanPermit => IdDocumentError::Taiwan,
            });
        }
        let key = match &kind {
            IdDocumentKind::Passport { issuer } => format!("passport:{issuer}:{number}"),
            other => format!("{}:{number}", other.column()),
        };
        Ok(Self { kind, number, key })
    }

    pub fn kind(&self) -> &IdDocumentKind {
        &self.kind
    }

    pub fn number(&self) -> &str {
        &self.number
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A community code as used in files and URLs of operators: `[A-Z0-9-]{3,32}`.
pub fn valid_community_code(code: &str) -> bool {
    (3..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_parse_exactly() {
        assert_eq!(AreaCentiM2::parse_m2("89.35").unwrap().get(), 8935);
        assert_eq!(AreaCentiM2::parse_m2("89.3").unwrap().get(), 8930);
        assert_eq!(AreaCentiM2::parse_m2("89").unwrap().get(), 8900);
        assert_eq!(AreaCentiM2::parse_m2("0.01").unwrap().get(), 1);
        assert_eq!(AreaCentiM2::parse_m2("0"), Err(AreaError::NotPositive));
        assert_eq!(AreaCentiM2::parse_m2("0.00"), Err(AreaError::NotPositive));
        assert_eq!(AreaCentiM2::parse_m2("-5.00"), Err(AreaError::NotPositive));
        assert_eq!(AreaCentiM2::parse_m2("89.355"), Err(AreaError::Malformed));
        assert_eq!(AreaCentiM2::parse_m2("1e3"), Err(AreaError::Malformed));
        assert_eq!(AreaCentiM2::parse_m2("89."), Err(AreaError::Malformed));
        assert_eq!(AreaCentiM2::parse_m2(".5"), Err(AreaError::Malformed));
        assert_eq!(AreaCentiM2::parse_m2("+5"), Err(AreaError::Malformed));
        assert_eq!(AreaCentiM2::parse_m2(""), Err(AreaError::Empty));
        assert_eq!(AreaCentiM2::parse_m2("2000000"), Err(AreaError::TooLarge));
        assert_eq!(AreaCentiM2::parse_m2("89.05").unwrap().to_string(), "89.05");
    }

    #[test]
    fn credit_codes() {
        // A published code: Tencent Technology (Shenzhen) Co., Ltd.
        assert!(CreditCode::parse("9144030071526726XG").is_ok());
        assert_eq!(CreditCode::parse("9144030071526726XA"), Err(CreditCodeError::CheckCharacter));
        assert_eq!(CreditCode::parse("9144030071526726XI"), Err(CreditCodeError::Format));
        // Another published code (Alibaba (China) Co., Ltd.), lower case accepted and normalised.
        assert_eq!(CreditCode::parse("91330100799655058b").unwrap().as_str(), "91330100799655058B");
        assert_eq!(CreditCode::parse("91330100799655058C"), Err(CreditCodeError::CheckCharacter));
        assert_eq!(CreditCode::parse("91330100799655058"), Err(CreditCodeError::Format), "17 characters");
    }

    #[test]
    fn non_prc_identity_documents() {
        let p = IdDocument::parse("passport:GBR", " e1234567 ").unwrap();
        assert_eq!((p.number(), p.key()), ("E1234567", "passport:GBR:E1234567"));
        assert_ne!(IdDocument::parse("passport:USA", "E1234567").unwrap().key(), p.key(), "the issuing state is part of it");
        assert_eq!(IdDocument::parse("passport:GB", "E1234567"), Err(IdDocumentError::Kind));
        assert_eq!(IdDocument::parse("passport", "E1234567"), Err(IdDocumentError::Kind));
        assert_eq!(IdDocument::parse("passport:GBR", "E12-34567"), Err(IdDocumentError::Passport));
        assert_eq!(IdDocument::parse("hk_macao_permit", "H12345678").unwrap().key(), "hk_macao_permit:H12345678");
        assert!(IdDocument::parse("hk_macao_permit", "M1234567890").is_ok());
        assert_eq!(IdDocument::parse("hk_macao_permit", "X12345678"), Err(IdDocumentError::HkMacao));
        assert_eq!(IdDocument::parse("hk_macao_permit", "H1234567"), Err(IdDocumentError::HkMacao));
        assert!(IdDocument::parse("taiwan_permit", "01234567").is_ok());
        assert_eq!(IdDocument::parse("taiwan_permit", "0123456A"), Err(IdDocumentError::Taiwan));
        assert_eq!(IdDocument::parse("resident_id", "11010519491231002X"), Err(IdDocumentError::Kind));
    }

}
