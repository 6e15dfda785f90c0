//! PIN lockout (DESIGN §4): five consecutive failures lock PIN use for 15 minutes; each further lock doubles the
//! duration (30, 60, 120 min …), capped at [`MAX_LOCK`]. A correct PIN clears everything. The state is a plain
//! struct the server keeps durably in PostgreSQL (Redis may cache it), so a Redis restart cannot reset it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub const FAILURES_BEFORE_LOCK: u32 = 5;
pub const FIRST_LOCK_MINUTES: i64 = 15;
/// Cap so the doubling cannot overflow and a forgotten PIN never locks someone out for months: 7 days.
pub const MAX_LOCK: Duration = Duration::days(7);

/// What the server persists per account (one row). `Default` is the fresh state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PinLockState {
    /// Failures since the last success or the last lock.
    pub consecutive_failures: u32,
    /// Locks imposed since the last success; decides the next lock's length.
    pub locks_imposed: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("PIN use is locked until {until}")]
pub struct PinLocked {
    pub until: DateTime<Utc>,
}

impl PinLocked {
    pub fn code(&self) -> &'static str {
        "pin_locked"
    }
}

/// The outcome of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureOutcome {
    pub state: PinLockState,
    /// Set when this failure imposed a new lock.
    pub locked_until: Option<DateTime<Utc>>,
    /// Failures left before the next lock (0 when just locked).
    pub attempts_left: u32,
}

/// Length of the n-th lock (n starts at 1).
pub fn lock_duration(nth_lock: u32) -> Duration {
    let doublings = nth_lock.saturating_sub(1).min(20);
    let minutes = FIRST_LOCK_MINUTES.saturating_mul(1i64 << doublings);
    Duration::minutes(minutes).min(MAX_LOCK)
}

impl PinLockState {
    /// Call before verifying a PIN: a locked account must not even reach the (costly) hash check.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), PinLocked> {
        match self.locked_until {
            Some(until) if now < until => Err(PinLocked { until }),
            _ => Ok(()),
        }
    }

    /// The state after a wrong PIN at `now`. Only call when [`PinLockState::check`] passed.
    pub fn after_failure(&self, now: DateTime<Utc>) -> FailureOutcome {
        let failures = self.consecutive_failures.saturating_add(1);
        if failures >= FAILURES_BEFORE_LOCK {
            let locks = self.locks_imposed.saturating_add(1);
            let until = now + lock_duration(locks);
            let state = PinLockState { consecutive_failures: 0, locks_imposed: locks, locked_until: Some(until) };
            FailureOutcome { state, locked_until: Some(until), attempts_left: 0 }
        } else {
            let state = PinLockState { consecutive_failures: failures, ..*self };
            FailureOutcome { state, locked_until: None, attempts_left: FAILURES_BEFORE_LOCK - failures }
        }
    }

    /// The state after a correct PIN: everything cleared.
    pub fn after_success(&self) -> PinLockState {
        PinLockState::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn five_failures_lock_for_fifteen_minutes() {
        let mut s = PinLockState::default();
        for i in 1..=4 {
            let o = s.after_failure(t0());
            assert_eq!(o.locked_until, None);
            assert_eq!(o.attempts_left, 5 - i);
            s = o.state;
            assert!(s.check(t0()).is_ok());
        }
        let o = s.after_failure(t0());
        assert_eq!(o.locked_until, Some(t0() + Duration::minutes(15)));
        s = o.state;
        assert_eq!(s.check(t0() + Duration::minutes(14)), Err(PinLocked { until: t0() + Duration::minutes(15) }));
        assert!(s.check(t0() + Duration::minutes(15)).is_ok());
    }

    #[test]
    fn each_further_lock_doubles() {
        let mut s = PinLockState::default();
        let mut now = t0();
        let mut lengths = vec![];
        for _ in 0..4 {
            for _ in 0..5 {
                assert!(s.check(now).is_ok());
                s = s.after_failure(now).state;
            }
            let until = s.locked_until.unwrap();
            lengths.push((until - now).num_minutes());
            now = until;
        }
        assert_eq!(lengths, vec![15, 30, 60, 120]);
    }

    #[test]
    fn success_clears_and_cap_holds() {
        let s = PinLockState { consecutive_failures: 3, locks_imposed: 2, locked_until: None };
        assert_eq!(s.after_success(), PinLockState::default());
        assert_eq!(lock_duration(1), Duration::minutes(15));
        assert_eq!(lock_duration(10), Duration::minutes(15 * 512));
        assert_eq!(lock_duration(11), Duration::days(7));
        assert_eq!(lock_duration(u32::MAX), Duration::days(7));
    }

    #[test]
    fn state_round_trips_as_json_for_persistence() {
        let s = PinLockState { consecutive_failures: 2, locks_imposed: 1, locked_until: Some(t0()) };
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<PinLockState>(&j).unwrap(), s);
    }
}
