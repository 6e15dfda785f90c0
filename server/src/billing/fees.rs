//! Fee calculation (DESIGN §3, §8): pure integer arithmetic over fen and centi-m², no database.
//!
//! Rounding rule: a per-area fee is `rate (fen per m² per month) × exclusive area (centi-m²) / 100`, rounded
//! **half-up to the fen** once per bill (a remainder of exactly 0.5 fen goes up). Fixed items are charged as stated.

use std::fmt;

/// How an item is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `rate_fen` per m² of the unit's exclusive area per month (the property fee).
    PerArea,
    /// `rate_fen` per unit per month (fixed items, parking management).
    Fixed,
}

impl Method {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "per_area" => Some(Self::PerArea),
            "fixed" => Some(Self::Fixed),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerArea => "per_area",
            Self::Fixed => "fixed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    #[error("negative rate or area")]
    Negative,
    #[error("amount out of range")]
    Overflow,
    #[error("period must be YYYY-MM")]
    BadPeriod,
}

/// A fee item as the calculation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeItem {
    pub method: Method,
    pub rate_fen: i64,
    /// `residence`, `commercial`, `parking` or `any`.
    pub unit_kind: String,
}

impl FeeItem {
    pub fn applies_to(&self, unit_kind: &str) -> bool {
        self.unit_kind == "any" || self.unit_kind == unit_kind
    }
}

/// The amount of one month of `item` for a unit of `area_centi_m2`, in fen (half-up).
pub fn monthly_amount(item: &FeeItem, area_centi_m2: i64) -> Result<i64, FeeError> {
    if item.rate_fen < 0 || area_centi_m2 < 0 {
        return Err(FeeError::Negative);
    }
    match item.method {
        Method::Fixed => Ok(item.rate_fen),
        Method::PerArea => per_area_fen(item.rate_fen, area_centi_m2),
    }
}

/// `rate_fen × area_centi_m2 / 100`, half-up. Both inputs non-negative.
pub fn per_area_fen(rate_fen: i64, area_centi_m2: i64) -> Result<i64, FeeError> {
    if rate_fen < 0 || area_centi_m2 < 0 {
        return Err(FeeError::Negative);
    }
    let hundredths = rate_fen.checked_mul(area_centi_m2).ok_or(FeeError::Overflow)?;
    // Half-up for non-negative numbers: add half the divisor, then truncate.
    Ok(hundredths.checked_add(50).ok_or(FeeError::Overflow)? / 100)
}

/// A billing period `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub year: u16,
    pub month: u8,
}

impl Period {
    pub fn parse(text: &str) -> Result<Self, FeeError> {
        let b = text.as_bytes();
        if b.len() != 7 || b[4] != b'-' || !b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit()) {
            return Err(FeeError::BadPeriod);
        }
        let year: u16 = text[..4].parse().map_err(|_| FeeError::BadPeriod)?;
        let month: u8 = text[5..].parse().map_err(|_| FeeError::BadPeriod)?;
        if !(2000..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(FeeError::BadPeriod);
        }
        Ok(Self { year, month })
    }

    /// The instant the period starts: the first of the month, 00:00 in Asia/Shanghai (UTC+8, no daylight saving),
    /// as UTC.
    pub fn starts_at(self) -> chrono::DateTime<chrono::Utc> {
        let local = chrono::NaiveDate::from_ymd_opt(i32::from(self.year), u32::from(self.month), 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default();
        local.and_utc() - chrono::Duration::hours(8)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Formats fen as yuan with two decimals (`12345` → `123.45`), for receipts.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_starts_at_local_midnight_of_its_first_day() {
        let p = Period::parse("2026-12").unwrap();
        assert_eq!(p.starts_at().to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert_eq!(Period::parse("2027-01").unwrap().starts_at().to_rfc3339(), "2026-12-31T16:00:00+00:00");
    }

    fn per_area(rate: i64) -> FeeItem {
        FeeItem { method: Method::PerArea, rate_fen: rate, unit_kind: "residence".into() }
    }

    #[test]
    fn property_fee_by_hand() {
        // 2.50 yuan/m²/month on 89.35 m²: 250 × 89.35 = 22337.5 fen → half-up 22338.
        assert_eq!(monthly_amount(&per_area(250), 8935), Ok(22338));
        // 1.80 yuan/m² on 100.00 m² = 180.00 yuan exactly.
        assert_eq!(monthly_amount(&per_area(180), 10000), Ok(18000));
    }

    #[test]
    fn rounding_at_the_half_fen_boundary() {
        // 1 fen/m² × 0.50 m² = 0.50 fen → 1 (half goes up)
        assert_eq!(per_area_fen(1, 50), Ok(1));
        // 1 fen/m² × 0.49 m² = 0.49 fen → 0
        assert_eq!(per_area_fen(1, 49), Ok(0));
        // 3 fen/m² × 0.83 m² = 2.49 fen → 2; × 0.84 = 2.52 → 3
        assert_eq!(per_area_fen(3, 83), Ok(2));
        assert_eq!(per_area_fen(3, 84), Ok(3));
        // 5 fen × 1.01 m² = 5.05 fen → 5; 5 × 1.10 = 5.50 → 6
        assert_eq!(per_area_fen(5, 101), Ok(5));
        assert_eq!(per_area_fen(5, 110), Ok(6));
    }

    #[test]
    fn fixed_items_ignore_area() {
        let parking = FeeItem { method: Method::Fixed, rate_fen: 15000, unit_kind: "parking".into() };
        assert_eq!(monthly_amount(&parking, 1250), Ok(15000));
        assert!(parking.applies_to("parking"));
        assert!(!parking.applies_to("residence"));
        let any = FeeItem { method: Method::Fixed, rate_fen: 500, unit_kind: "any".into() };
        assert!(any.applies_to("commercial"));
    }

    #[test]
    fn bad_inputs_are_refused_not_panicking() {
        assert_eq!(per_area_fen(-1, 100), Err(FeeError::Negative));
        assert_eq!(per_area_fen(i64::MAX, 2), Err(FeeError::Overflow));
        assert_eq!(Period::parse("2026-13"), Err(FeeError::BadPeriod));
        assert_eq!(Period::parse("2026-1"), Err(FeeError::BadPeriod));
        assert_eq!(Period::parse("２026-12"), Err(FeeError::BadPeriod));
        assert_eq!(Period::parse("2026-12").map(|p| p.to_string()), Ok("2026-12".to_owned()));
    }

    #[test]
    fn yuan_formatting() {
        assert_eq!(yuan(22338), "223.38");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(0), "0.00");
    }
}
