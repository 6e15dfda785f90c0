//! Fault injection for tests: SIGKILL at named points of the payment and ballot paths.
//!
//! Test-only. A process started with `[fault] kill_at = "<point>[:<nth>]"` (or `LINLI_FAULT__KILL_AT`) sends
//! itself SIGKILL the `nth` time (default 1) it reaches that point — a real kill, as the kernel or an operator
//! would deliver it, not a panic or an exit: no destructor, no flush, no graceful shutdown, open transactions are
//! rolled back by PostgreSQL when the connection drops. Production configurations never set it; disarmed, a point
//! costs one branch on an `Option`.
//!
//! The points sit where a crash could double or lose money if the code were wrong:
//! - `order.after_wechat_prepay`: WeChat Pay answered the JSAPI order, our commit of its prepay id not yet done;
//! - `notify.before_commit`: a notification is verified and its settlement written, not yet committed;
//! - `notify.after_commit_before_answer`: settlement committed, WeChat Pay not yet answered;
//! - `sheet.before_commit`: a ballot sheet, its outbox row and its idempotent answer written, not yet committed;
//! - `sheet.after_commit_before_answer`: the sheet committed, the owner not yet answered.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;

/// A place in the code where a test may have the process killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    OrderAfterWechatPrepay,
    NotifyBeforeCommit,
    NotifyAfterCommitBeforeAnswer,
    SheetBeforeCommit,
    SheetAfterCommitBeforeAnswer,
}

impl FaultPoint {
    pub const ALL: [Self; 5] = [
        Self::OrderAfterWechatPrepay,
        Self::NotifyBeforeCommit,
        Self::NotifyAfterCommitBeforeAnswer,
        Self::SheetBeforeCommit,
        Self::SheetAfterCommitBeforeAnswer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::OrderAfterWechatPrepay => "order.after_wechat_prepay",
            Self::NotifyBeforeCommit => "notify.before_commit",
            Self::NotifyAfterCommitBeforeAnswer => "notify.after_commit_before_answer",
            Self::SheetBeforeCommit => "sheet.before_commit",
            Self::SheetAfterCommitBeforeAnswer => "sheet.after_commit_before_answer",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The `[fault]` configuration section (test-only; absent in every real deployment).
#[derive(Debug, Default, Deserialize)]
pub struct FaultConfig {
    /// `<point>[:<nth>]`: SIGKILL this process the nth time (from 1) it reaches the point. Points: see the
    /// module documentation.
    #[serde(default)]
    pub kill_at: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaultConfigError {
    #[error("fault.kill_at: unknown point {0:?}")]
    UnknownPoint(String),
    #[error("fault.kill_at: the count after ':' must be a whole number from 1")]
    BadCount,
}

#[derive(Debug)]
struct Armed {
    point: FaultPoint,
    nth: u64,
    reached: AtomicU64,
}

/// The armed kill point of this process, if any. Held in `AppState`; shared by all workers.
#[derive(Debug, Default)]
pub struct Failpoints {
    armed: Option<Armed>,
}

impl Failpoints {
    /// No point armed (every real deployment).
    pub fn disarmed() -> Self {
        Self { armed: None }
    }

    pub fn from_config(cfg: &FaultConfig) -> Result<Self, FaultConfigError> {
        let Some(spec) = cfg.kill_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Self::disarmed());
        };
        let (name, nth) = match spec.rsplit_once(':') {
            Some((name, n)) => (name, n.parse::<u64>().ok().filter(|n| *n >= 1).ok_or(FaultConfigError::BadCount)?),
            None => (spec, 1),
        };
        let point = FaultPoint::parse(name).ok_or_else(|| FaultConfigError::UnknownPoint(name.to_owned()))?;
        Ok(Self { armed: Some(Armed { point, nth, reached: AtomicU64::new(0) }) })
    }

    pub fn armed_point(&self) -> Option<FaultPoint> {
        self.armed.as_ref().map(|a| a.point)
    }

    /// Whether reaching `point` now is the armed kill (counts the arrival).
    fn fires(&self, point: FaultPoint) -> bool {
        match &self.armed {
            Some(a) if a.point == point => a.reached.fetch_add(1, Ordering::SeqCst) + 1 == a.nth,
            _ => false,
        }
    }

    /// Marks that the code reached `point`; when it is the armed kill, the process dies here by SIGKILL.
    pub fn reached(&self, point: FaultPoint) {
        if self.fires(point) {
            // stderr directly: the log pipeline may buffer and would die with us.
            eprintln!("fault injection: SIGKILL at {}", point.name());
            let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
            // SIGKILL cannot be caught; nothing below runs. Should the kill be refused, stop all the same.
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Failpoints, FaultConfigError> {
        Failpoints::from_config(&FaultConfig { kill_at: Some(s.to_owned()) })
    }

    #[test]
    fn points_and_counts_parse() {
        assert_eq!(parse("notify.before_commit").unwrap().armed_point(), Some(FaultPoint::NotifyBeforeCommit));
        let fp = parse("order.after_wechat_prepay:3").unwrap();
        assert_eq!(fp.armed_point(), Some(FaultPoint::OrderAfterWechatPrepay));
        assert_eq!(parse("notify.nowhere").unwrap_err(), FaultConfigError::UnknownPoint("notify.nowhere".into()));
        assert_eq!(parse("notify.before_commit:0").unwrap_err(), FaultConfigError::BadCount);
        assert_eq!(parse("notify.before_commit:x").unwrap_err(), FaultConfigError::BadCount);
        assert_eq!(parse("").unwrap().armed_point(), None);
        assert_eq!(Failpoints::from_config(&FaultConfig::default()).unwrap().armed_point(), None);
        for p in FaultPoint::ALL {
            assert_eq!(FaultPoint::parse(p.name()), Some(p));
        }
    }

    #[test]
    fn only_the_nth_arrival_at_the_armed_point_fires() {
        let fp = parse("notify.after_commit_before_answer:3").unwrap();
        assert!(!fp.fires(FaultPoint::NotifyBeforeCommit));
        assert!(!fp.fires(FaultPoint::NotifyAfterCommitBeforeAnswer));
        assert!(!fp.fires(FaultPoint::NotifyAfterCommitBeforeAnswer));
        assert!(fp.fires(FaultPoint::NotifyAfterCommitBeforeAnswer));
        assert!(!fp.fires(FaultPoint::NotifyAfterCommitBeforeAnswer));
        let off = Failpoints::disarmed();
        assert!(FaultPoint::ALL.into_iter().all(|p| !off.fires(p)));
    }
}
