//! Temporary-parking tariffs (DESIGN §8): what a stay from entry to exit costs, in integer fen, in the lot's local
//! time. A plain function over plain data: no database here.
//!
//! The model, as lots in China post it (e.g. "15 分钟内免费，首小时 5 元，之后每小时 3 元，22:00–07:00 每小时 1 元，
//! 每 24 小时封顶 30 元"):
//! - a stay of at most `free_minutes` costs nothing; a longer one is charged from its entry (the free time is not
//!   deducted);
//! - the stay is cut into periods from the entry: the first period of `first_period_minutes`, then steps of
//!   `step_minutes`; every period begun is charged in full;
//! - a period costs `first_period_fen` (the first) or `step_fen`, or the night rate's `step_fen` when the period
//!   begins inside the night window (local time; the window may run over midnight);
//! - the stay is also cut into 24-hour blocks from the entry; the periods beginning in one block cost at most
//!   `cap_per_24h_fen` together.

use chrono::{DateTime, FixedOffset, Timelike, Utc};

/// China Standard Time: UTC+8 all year (no daylight saving since 1991), so a fixed offset is exact.
const CHINA_STANDARD_TIME: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(zone) => zone,
    None => panic!("UTC+8 is a valid offset"),
};

pub fn lot_time_zone() -> FixedOffset {
    CHINA_STANDARD_TIME
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tariff {
    pub free_minutes: u32,
    pub first_period_minutes: u32,
    pub first_period_fen: u64,
    pub step_minutes: u32,
    pub step_fen: u64,
    #[serde(default)]
    pub cap_per_24h_fen: Option<u64>,
    #[serde(default)]
    pub night: Option<NightRate>,
}

/// A lower (or higher) price for the periods that begin between `starts` and `ends` (local minutes of the day,
/// 0–1439; `starts > ends` runs over midnight).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NightRate {
    pub starts_minute: u32,
    pub ends_minute: u32,
    pub step_fen: u64,
}

/// Why a tariff cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TariffError {
    #[error("first_period_minutes and step_minutes must be at least 1")]
    ZeroPeriod,
    #[error("a night window's minutes lie in 0..1440 and differ")]
    NightWindow,
    #[error("a price over 1,000,000.00 yuan is not a parking price")]
    PriceTooHigh,
}

/// Why a stay cannot be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StayError {
    #[error("the exit is before the entry")]
    ExitBeforeEntry,
    #[error("a stay of more than 366 days is not priced automatically")]
    TooLong,
}

const MAX_PRICE_FEN: u64 = 100_000_000;
const MAX_STAY_MS: i64 = 366 * 24 * 3_600_000;

impl Tariff {
    /// Checks the tariff once, when the property company sets it (negative prices cannot be expressed: `u64`).
    pub fn validate(&self) -> Result<(), TariffError> {
        if self.first_period_minutes == 0 || self.step_minutes == 0 {
            return Err(TariffError::ZeroPeriod);
        }
        if let Some(n) = &self.night
            && (n.starts_minute >= 1440 || n.ends_minute >= 1440 || n.starts_minute == n.ends_minute)
        {
            return Err(TariffError::NightWindow);
        }
        let prices = [Some(self.first_period_fen), Some(self.step_fen), self.cap_per_24h_fen, self.night.as_ref().map(|n| n.step_fen)];
        if prices.into_iter().flatten().any(|p| p > MAX_PRICE_FEN) {
            return Err(TariffError::PriceTooHigh);
        }
        Ok(())
    }

    fn in_night(&self, at: DateTime<Utc>) -> Option<u64> {
        let n = self.night.as_ref()?;
        let local = at.with_timezone(&lot_time_zone());
        let minute = local.hour() * 60 + local.minute();
        let inside = if n.starts_minute < n.ends_minute {
            n.starts_minute <= minute && minute < n.ends_minute
        } else {
            minute >= n.starts_minute || minute < n.ends_minute
        };
        inside.then_some(n.step_fen)
    }
}

/// The fee in fen for a stay from `entry` to `exit` under `tariff` (validated).
pub fn fee(tariff: &Tariff, entry: DateTime<Utc>, exit: DateTime<Utc>) -> Result<u64, StayError> {
    let stay_ms = (exit - entry).num_milliseconds();
    if stay_ms < 0 {
        return Err(StayError::ExitBeforeEntry);
    }
    if stay_ms > MAX_STAY_MS {
        return Err(StayError::TooLong);
    }
    if stay_ms <= i64::from(tariff.free_minutes) * 60_000 {
        return Ok(0);
    }
    let first_ms = i64::from(tariff.first_period_minutes.max(1)) * 60_000;
    let step_ms = i64::from(tariff.step_minutes.max(1)) * 60_000;
    const BLOCK_MS: i64 = 24 * 3_600_000;
    let mut total: u64 = 0;
    let mut block_sum: u64 = 0;
    let mut block = 0i64;
    let mut offset = 0i64;
    let mut first = true;
    while offset < stay_ms {
        let this_block = offset / BLOCK_MS;
        if this_block != block {
            total += block_sum;
            block_sum = 0;
            block = this_block;
        }
        let starts = entry + chrono::Duration::milliseconds(offset);
        let price = if first { tariff.first_period_fen } else { tariff.in_night(starts).unwrap_or(tariff.step_fen) };
        block_sum += price;
        if let Some(cap) = tariff.cap_per_24h_fen {
            block_sum = block_sum.min(cap);
        }
        offset += if first { first_ms } else { step_ms };
        first = false;
    }
    Ok(total + block_sum)
}

/// What is still due at `exit` when `paid` fen were paid already (a late exit pays the difference).
pub fn due(tariff: &Tariff, entry: DateTime<Utc>, exit: DateTime<Utc>, paid: u64) -> Result<u64, StayError> {
    Ok(fee(tariff, entry, exit)?.saturating_sub(paid))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo lot: 15 free minutes, first hour 5.00, then 3.00 an hour, 22:00–07:00 1.00 an hour, 30.00 per 24 h.
    fn demo() -> Tariff {
        Tariff {
            free_minutes: 15,
            first_period_minutes: 60,
            first_period_fen: 500,
            step_minutes: 60,
            step_fen: 300,
            cap_per_24h_fen: Some(3_000),
            night: Some(NightRate { starts_minute: 22 * 60, ends_minute: 7 * 60, step_fen: 100 }),
        }
    }

    /// A local (UTC+8) time on 2026-12-0d.
    fn at(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        lot_time_zone().with_ymd_and_hms(2026, 12, day, h, m, s).single().map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn the_free_period_ends_at_its_last_minute() {
        let t = demo();
        let entry = at(4, 10, 0, 0);
        assert_eq!(fee(&t, entry, entry), Ok(0));
        assert_eq!(fee(&t, entry, at(4, 10, 15, 0)), Ok(0), "exactly 15 minutes is free");
        assert_eq!(fee(&t, entry, at(4, 10, 15, 1)), Ok(500), "one second more pays the first hour");
    }

    #[test]
    fn every_period_begun_is_charged_in_full() {
        let t = demo();
        let entry = at(4, 10, 0, 0);
        assert_eq!(fee(&t, entry, at(4, 11, 0, 0)), Ok(500), "exactly the first hour");
        assert_eq!(fee(&t, entry, at(4, 11, 0, 1)), Ok(800), "a second into the second hour");
        // The acceptance example: 2 h 10 min = first hour + 2 hours begun = 5 + 3 + 3.
        assert_eq!(fee(&t, entry, at(4, 12, 10, 0)), Ok(1_100));
        // Leaving 20 minutes after paying at 2 h 10 min: 2 h 30 min is still in the third hour, nothing more due...
        assert_eq!(due(&t, entry, at(4, 12, 30, 0), 1_100), Ok(0));
        // ...at 3 h 1 min a fourth hour has begun.
        assert_eq!(due(&t, entry, at(4, 13, 1, 0), 1_100), Ok(300));
    }

    #[test]
    fn night_periods_are_priced_by_when_they_begin_local_time() {
        let t = demo();
        // Entry 20:30: first hour 20:30 (5.00), 21:30 (3.00), then 22:30, 23:30 at night (1.00 each), to 00:00.
        assert_eq!(fee(&t, at(4, 20, 30, 0), at(5, 0, 0, 0)), Ok(500 + 300 + 100 + 100));
        // A period beginning exactly at 22:00 is a night period; one at 07:00 a day period.
        assert_eq!(fee(&t, at(4, 21, 0, 0), at(4, 22, 0, 1)), Ok(500 + 100));
        assert_eq!(fee(&t, at(5, 6, 0, 0), at(5, 7, 0, 1)), Ok(500 + 300));
        // Across midnight the window continues: 23:00 → 01:30 = 5.00 + 1.00 + 1.00.
        assert_eq!(fee(&t, at(4, 23, 0, 0), at(5, 1, 30, 0)), Ok(700));
    }

    #[test]
    fn each_24_hours_from_the_entry_is_capped() {
        let t = demo();
        let entry = at(4, 8, 0, 0);
        // 24 hours from 08:00: uncapped 5 + 13×3 (09:00–21:00) + 9×1 (22:00–06:00) + 3 (07:00) = 56 → 30.00.
        assert_eq!(fee(&t, entry, at(5, 8, 0, 0)), Ok(3_000));
        // One second into the second block: a new block begins with a step (not another first hour): 30 + 3.
        assert_eq!(fee(&t, entry, at(5, 8, 0, 1)), Ok(3_300));
        // Three whole days: three caps.
        assert_eq!(fee(&t, entry, at(7, 8, 0, 0)), Ok(9_000));
        // Without a cap the same day is the sum of its periods.
        let uncapped = Tariff { cap_per_24h_fen: None, ..demo() };
        assert_eq!(fee(&uncapped, entry, at(5, 8, 0, 0)), Ok(500 + 13 * 300 + 9 * 100 + 300));
    }

    #[test]
    fn a_tariff_without_night_or_cap_is_linear() {
        let t = Tariff { free_minutes: 0, first_period_minutes: 30, first_period_fen: 200, step_minutes: 30, step_fen: 200, cap_per_24h_fen: None, night: None };
        assert_eq!(fee(&t, at(4, 9, 0, 0), at(4, 9, 0, 0)), Ok(0), "no stay, no fee");
        assert_eq!(fee(&t, at(4, 9, 0, 0), at(4, 9, 0, 1)), Ok(200));
        assert_eq!(fee(&t, at(4, 9, 0, 0), at(4, 11, 0, 0)), Ok(800));
    }

    #[test]
    fn impossible_stays_and_tariffs_are_refused() {
        let t = demo();
        assert_eq!(fee(&t, at(4, 10, 0, 0), at(4, 9, 59, 59)), Err(StayError::ExitBeforeEntry));
        assert_eq!(fee(&t, at(4, 10, 0, 0), at(4, 10, 0, 0) + chrono::Duration::days(367)), Err(StayError::TooLong));
        assert_eq!(Tariff { step_minutes: 0, ..demo() }.validate(), Err(TariffError::ZeroPeriod));
        assert_eq!(Tariff { night: Some(NightRate { starts_minute: 1440, ends_minute: 0, step_fen: 1 }), ..demo() }.validate(), Err(TariffError::NightWindow));
        assert_eq!(Tariff { first_period_fen: MAX_PRICE_FEN + 1, ..demo() }.validate(), Err(TariffError::PriceTooHigh));
        assert_eq!(demo().validate(), Ok(()));
        // A negative price cannot even be written: the tariff's JSON refuses it.
        let json = r#"{"free_minutes":15,"first_period_minutes":60,"first_period_fen":-500,"step_minutes":60,"step_fen":300}"#;
        assert!(serde_json::from_str::<Tariff>(json).is_err());
    }
}
