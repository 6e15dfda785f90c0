//! The enrollment state machine (DESIGN §4, §11) as pure rules: the server loads an [`Enrollment`], calls
//! [`Enrollment::apply`] with an event, stores the returned enrollment and appends the returned [`Transition`].
//!
//! Rules: consent (current version) is given when the enrollment starts; the face factor needs its own consent
//! first; the registry is asked (automatically or by a manual review) only after this enrollment's face factor
//! passed, so nobody learns who owns a unit, or spends the city's registry quota, on a name and ID number that
//! are not their own; device and registry may then pass in any order; the PIN comes last and completes the
//! enrollment; 3 face attempts and 3 registry attempts per person per day (Asia/Shanghai calendar day); an
//! enrollment incomplete for 7 days expires (not while a manual registry review is under way; its end restarts
//! the 7 days). When the registry cannot confirm the owner, the owner may ask for a manual review: one staff
//! member proposes a verdict from the certificate scan ([`EnrollmentEvent::RegistryReviewProposed`]) and a
//! different one confirms it (it takes effect) or returns it (a new proposal is needed); an approved area far
//! from the unit's recorded one ([`review_area_change`]) needs a third, different staff member too. No staff
//! member reviews an enrollment of their own person ([`check_reviewer_independent`]). A support reset
//! ([`EnrollmentEvent::DeviceReset`]) reopens even a completed enrollment: face and device must pass again (the PIN
//! stays), and passing the last of them completes it again.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const EXPIRY: Duration = Duration::days(7);
pub const FACE_ATTEMPTS_PER_DAY: u32 = 3;
pub const REGISTRY_ATTEMPTS_PER_DAY: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentState {
    Open,
    Completed,
    Expired,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorStatus {
    Pending,
    /// Registry only: waiting for the two-person manual review.
    UnderReview,
    Failed,
    Passed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    Face,
    Registry,
    Device,
    Pin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub version: String,
    pub at: DateTime<Utc>,
}

/// What a staff member proposes after reading the property certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    Approve,
    Reject,
}

/// The pending proposal of a manual registry review, waiting for a second staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewProposal {
    pub verdict: ReviewVerdict,
    pub proposed_by: Uuid,
    /// The registered exclusive area read from the certificate (approve only).
    pub registered_area_centi_m2: Option<i64>,
    /// SHA-256 (hex) of the stored scan the proposal rests on.
    pub scan_sha256: String,
    pub at: DateTime<Utc>,
    /// The approved area is far from the unit's recorded one ([`review_area_change`]): a second staff member's
    /// confirmation only seconds it, and a third, different one must confirm it before it takes effect.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub third_review_required: bool,
    /// The second staff member who confirmed a proposal that needs a third one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconded_by: Option<Uuid>,
}

/// How far an approved area is from what the unit records, by [`review_area_change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAreaChange {
    /// Within the tolerance: two staff members (proposer and decider) suffice.
    Small,
    /// Beyond it: a third, different staff member must confirm.
    Large,
}

/// The tolerance of a reviewed area against the unit's recorded exclusive area: ±10 %.
pub const REVIEW_AREA_TOLERANCE_PERCENT: i64 = 10;

/// Classifies the area a manual review approves against what the unit records: `current` is the unit's
/// exclusive area now (registered, surveyed or contract area, whichever the register import or an earlier
/// registry answer wrote), `building` its building area (建筑面积, which includes shared parts, so an exclusive
/// area above it is implausible; 0 = unknown). Small only when within ±10 % of `current` and not above
/// `building`; everything else (including a unit with no recorded area) is a large change. Exact integers.
pub fn review_area_change(approved_centi_m2: i64, current_centi_m2: i64, building_centi_m2: i64) -> ReviewAreaChange {
    let diff = i128::from(approved_centi_m2) - i128::from(current_centi_m2);
    let within = current_centi_m2 > 0
        && diff.abs() * 100 <= i128::from(current_centi_m2) * i128::from(REVIEW_AREA_TOLERANCE_PERCENT);
    let plausible = building_centi_m2 <= 0 || approved_centi_m2 <= building_centi_m2;
    if within && plausible { ReviewAreaChange::Small } else { ReviewAreaChange::Large }
}

/// A staff member may not propose or decide the review of an enrollment whose person is their own: `reviewer`
/// must be neither the enrollment's account nor any account of the same person (`same_person_accounts`: the
/// accounts with an enrollment, or a verified link, of the same ID number).
pub fn check_reviewer_independent(
    reviewer: Uuid,
    enrollment_account: Uuid,
    same_person_accounts: &[Uuid],
) -> Result<(), EnrollmentError> {
    if reviewer == enrollment_account || same_person_accounts.contains(&reviewer) {
        Err(EnrollmentError::OwnReview)
    } else {
        Ok(())
    }
}

/// The largest registered area a review may state: 100,000 m² (no dwelling is larger; a typo is).
pub const MAX_REVIEW_AREA_CENTI_M2: i64 = 10_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub state: EnrollmentState,
    pub created_at: DateTime<Utc>,
    /// Start of the current open period when a support reset reopened the enrollment (None = since creation);
    /// expiry counts from [`Enrollment::open_since`]. Optional so states stored before this field still load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub consent: Consent,
    pub face_consent: Option<Consent>,
    pub face: FactorStatus,
    pub registry: FactorStatus,
    pub device: FactorStatus,
    pub pin: FactorStatus,
    pub completed_at: Option<DateTime<Utc>>,
    /// The manual registry review's proposal awaiting a second staff member (registry `UnderReview` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_review: Option<ReviewProposal>,
    /// When the last manual registry review was decided: the owner then has 7 days again to finish (the wait for
    /// staff does not count against them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_ended_at: Option<DateTime<Utc>>,
}

/// Everything that can happen to an enrollment. Stored with each transition (no personal data inside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EnrollmentEvent {
    FaceConsentGiven { version: String },
    /// A face comparison ran; `passed` is the provider result at the configured threshold.
    FaceChecked { passed: bool, score: f64, request_id: String, image_sha256: String },
    RegistryConfirmed { registered_area_centi_m2: Option<i64> },
    RegistryRejected,
    /// The owner asks for a manual review because the registry could not confirm them.
    RegistryReviewRequested,
    /// A staff member read the certificate scan and proposes a verdict.
    RegistryReviewProposed {
        verdict: ReviewVerdict,
        proposed_by: Uuid,
        registered_area_centi_m2: Option<i64>,
        scan_sha256: String,
        /// [`review_area_change`] found the approved area far from the unit's: a third staff member must confirm.
        #[serde(default)]
        third_review_required: bool,
    },
    /// A second staff member confirms the proposal (it takes effect, or — when a third review is required — it is
    /// seconded and waits for the third) or returns it (a new proposal is needed); the third confirms or returns.
    RegistryReviewDecided { confirmed: bool, proposed_by: Uuid, decided_by: Uuid },
    DeviceBound { cert_serial: String },
    PinSet,
    /// A support reset revoked the device binding: device and face must be passed again.
    DeviceReset,
    Expire,
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub from: EnrollmentState,
    pub to: EnrollmentState,
    pub event: EnrollmentEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollmentError {
    #[error("the consent version is not the current one ({current})")]
    ConsentVersion { current: String },
    #[error("the enrollment is {0:?}, not open")]
    NotOpen(EnrollmentState),
    #[error("the enrollment has expired")]
    Expired,
    #[error("the face factor needs its own consent first")]
    FaceConsentMissing,
    #[error("no face attempts left today")]
    FaceAttemptsExhausted,
    #[error("the PIN is set last, after face, registry and device")]
    PinNotLast,
    #[error("the {0:?} factor has already passed")]
    AlreadyPassed(Factor),
    #[error("no manual registry review is pending")]
    NoReviewPending,
    #[error("a manual registry review is already under way")]
    ReviewUnderWay,
    #[error("the review already has a proposal awaiting a decision")]
    ReviewAlreadyProposed,
    #[error("the review has no proposal to decide on")]
    NoReviewProposal,
    #[error("an approval states the registered area (1 to 100,000 m²); a rejection states none")]
    ReviewArea,
    #[error("the review must be decided by a different staff member than the one who proposed it")]
    SameReviewer,
    #[error("the enrollment has not been open for 7 days yet")]
    NotYetExpired,
    #[error("the face factor of this enrollment must pass before the registry is asked")]
    FaceFirst,
    #[error("no registry attempts left today")]
    RegistryAttemptsExhausted,
    #[error("staff do not review an enrollment of their own person")]
    OwnReview,
}

impl EnrollmentError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::ConsentVersion { .. } => "enrollment_consent_version",
            Self::NotOpen(_) => "enrollment_not_open",
            Self::Expired => "enrollment_expired",
            Self::FaceConsentMissing => "enrollment_face_consent_missing",
            Self::FaceAttemptsExhausted => "enrollment_face_attempts_exhausted",
            Self::PinNotLast => "enrollment_pin_not_last",
            Self::AlreadyPassed(_) => "enrollment_factor_already_passed",
            Self::NoReviewPending => "enrollment_no_review_pending",
            Self::ReviewUnderWay => "enrollment_review_under_way",
            Self::ReviewAlreadyProposed => "enrollment_review_already_proposed",
            Self::NoReviewProposal => "enrollment_no_review_proposal",
            Self::ReviewArea => "enrollment_review_area_invalid",
            Self::SameReviewer => "enrollment_same_reviewer",
            Self::NotYetExpired => "enrollment_not_yet_expired",
            Self::FaceFirst => "enrollment_face_required",
            Self::RegistryAttemptsExhausted => "enrollment_registry_attempts_exhausted",
            Self::OwnReview => "enrollment_review_own",
        }
    }
}

/// The area to write to the unit after the registry factor passed: the registered area when it is known,
/// positive and different from the unit's current one (the write is audited); otherwise nothing to change.
pub fn area_correction(current_centi_m2: i64, registered_centi_m2: Option<i64>) -> Option<i64> {
    registered_centi_m2.filter(|a| *a > 0 && *a != current_centi_m2)
}

/// The event of an automatic registry answer: confirmed only when the registry names this person as an owner of
/// the unit and our register lists them as its owner too (otherwise staff must reconcile the register).
pub fn registry_answer_event(answer: &crate::registry::OwnershipAnswer, listed_in_register: bool) -> EnrollmentEvent {
    if answer.confirms_owner() && listed_in_register {
        EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: answer.exclusive_area_centi_m2 }
    } else {
        EnrollmentEvent::RegistryRejected
    }
}

/// The area an answer to the owner may show: the registered area only when the registry factor passed with it.
/// An unconfirmed answer says nothing about the unit (the registry's area for a unit someone else owns would tell
/// the caller what that owner has).
pub fn disclosed_registry_area(event: &EnrollmentEvent) -> Option<i64> {
    match event {
        EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2 } => *registered_area_centi_m2,
        _ => None,
    }
}

/// The calendar day (Asia/Shanghai, UTC+8, no DST) an attempt counts against.
pub fn attempt_day(now: DateTime<Utc>) -> NaiveDate {
    // A fixed +8 h shift: China has no daylight saving time.
    (now + Duration::hours(8)).date_naive()
}

/// Before calling the provider: `attempts_today` = face attempts already made by this person on
/// [`attempt_day`]`(now)` (counted by the server across all of the person's enrollments).
pub fn check_face_attempts(attempts_today: u32) -> Result<(), EnrollmentError> {
    if attempts_today < FACE_ATTEMPTS_PER_DAY { Ok(()) } else { Err(EnrollmentError::FaceAttemptsExhausted) }
}

/// Before calling the housing registry: `attempts_today` = registry calls already made for this person on
/// [`attempt_day`]`(now)` (counted by the server across all of the person's enrollments, as face attempts are).
pub fn check_registry_attempts(attempts_today: u32) -> Result<(), EnrollmentError> {
    if attempts_today < REGISTRY_ATTEMPTS_PER_DAY { Ok(()) } else { Err(EnrollmentError::RegistryAttemptsExhausted) }
}

impl Enrollment {
    /// Starts an enrollment; `consent_version` must equal the version currently shown to users.
    pub fn start(consent_version: &str, current_consent_version: &str, now: DateTime<Utc>) -> Result<Self, EnrollmentError> {
        if consent_version != current_consent_version {
            return Err(EnrollmentError::ConsentVersion { current: current_consent_version.to_owned() });
        }
        Ok(Self {
            state: EnrollmentState::Open,
            created_at: now,
            reopened_at: None,
            updated_at: now,
            consent: Consent { version: consent_version.to_owned(), at: now },
            face_consent: None,
            face: FactorStatus::Pending,
            registry: FactorStatus::Pending,
            device: FactorStatus::Pending,
            pin: FactorStatus::Pending,
            completed_at: None,
            registry_review: None,
            review_ended_at: None,
        })
    }

    /// True when the enrollment is open, no manual registry review is under way, and 7 days have passed since
    /// [`Enrollment::expiry_counts_from`]: the server's expiry job applies [`EnrollmentEvent::Expire`].
    pub fn is_due_to_expire(&self, now: DateTime<Utc>) -> bool {
        self.state == EnrollmentState::Open
            && self.registry != FactorStatus::UnderReview
            && now - self.expiry_counts_from() >= EXPIRY
    }

    /// The later of the open period's start and the end of the last manual registry review.
    pub fn expiry_counts_from(&self) -> DateTime<Utc> {
        self.review_ended_at.map_or(self.open_since(), |t| t.max(self.open_since()))
    }

    /// When the current open period began: creation, or the last support reset.
    pub fn open_since(&self) -> DateTime<Utc> {
        self.reopened_at.unwrap_or(self.created_at)
    }

    pub fn status(&self, factor: Factor) -> FactorStatus {
        match factor {
            Factor::Face => self.face,
            Factor::Registry => self.registry,
            Factor::Device => self.device,
            Factor::Pin => self.pin,
        }
    }

    /// Whether a face upload may be processed at all, before its image is decoded: the enrollment admits a face
    /// result once the consent sent with the upload (`consent_given`, if any; it must be `current_face_consent`)
    /// is recorded, and the person has attempts left today. Checked again, under the per-person lock, before the
    /// attempt is recorded.
    pub fn admits_face_upload(
        &self,
        consent_given: Option<&str>,
        current_face_consent: &str,
        attempts_today: u32,
        now: DateTime<Utc>,
    ) -> Result<(), EnrollmentError> {
        let mut with_consent = self.clone();
        if let Some(version) = consent_given {
            if version != current_face_consent {
                return Err(EnrollmentError::ConsentVersion { current: current_face_consent.to_owned() });
            }
            if self.face_consent.is_none() {
                with_consent = self.apply(EnrollmentEvent::FaceConsentGiven { version: version.to_owned() }, now)?.0;
            }
        }
        let any_result =
            EnrollmentEvent::FaceChecked { passed: false, score: 0.0, request_id: String::new(), image_sha256: String::new() };
        with_consent.admits(&any_result, now)?;
        check_face_attempts(attempts_today)
    }

    /// Whether [`Enrollment::apply`] would accept `event` now: handlers ask before an expensive or outside step
    /// (a provider call, a PIN hash) so the rule, not a copy of it, decides.
    pub fn admits(&self, event: &EnrollmentEvent, now: DateTime<Utc>) -> Result<(), EnrollmentError> {
        self.apply(event.clone(), now).map(|_| ())
    }

    /// Applies an event, returning the new enrollment and the transition to record. Nothing changes on error.
    pub fn apply(&self, event: EnrollmentEvent, now: DateTime<Utc>) -> Result<(Enrollment, Transition), EnrollmentError> {
        let reset_of_completed = self.state == EnrollmentState::Completed && matches!(event, EnrollmentEvent::DeviceReset);
        if self.state != EnrollmentState::Open && !reset_of_completed {
            return Err(EnrollmentError::NotOpen(self.state));
        }
        let mut next = self.clone();
        next.updated_at = now;
        let expired = self.is_due_to_expire(now);
        match &event {
            EnrollmentEvent::Expire => {
                if !expired {
                    return Err(EnrollmentError::NotYetExpired);
                }
                next.state = EnrollmentState::Expired;
            }
            EnrollmentEvent::Cancel => next.state = EnrollmentState::Cancelled,
            EnrollmentEvent::DeviceReset => {
                next.device = FactorStatus::Pending;
                next.face = FactorStatus::Pending;
                next.state = EnrollmentState::Open;
                next.completed_at = None;
                next.reopened_at = Some(now);
            }
            _ if expired => return Err(EnrollmentError::Expired),
            EnrollmentEvent::FaceConsentGiven { version } => {
                next.face_consent = Some(Consent { version: version.clone(), at: now });
            }
            EnrollmentEvent::FaceChecked { passed, .. } => {
                if self.face_consent.is_none() {
                    return Err(EnrollmentError::FaceConsentMissing);
                }
                if self.face == FactorStatus::Passed {
                    return Err(EnrollmentError::AlreadyPassed(Factor::Face));
                }
                next.face = if *passed { FactorStatus::Passed } else { FactorStatus::Failed };
            }
            EnrollmentEvent::RegistryConfirmed { .. } | EnrollmentEvent::RegistryRejected => {
                if self.face != FactorStatus::Passed {
                    return Err(EnrollmentError::FaceFirst);
                }
                match self.registry {
                    FactorStatus::Passed => return Err(EnrollmentError::AlreadyPassed(Factor::Registry)),
                    // The automatic check does not race the staff reviewing the certificate.
                    FactorStatus::UnderReview => return Err(EnrollmentError::ReviewUnderWay),
                    FactorStatus::Pending | FactorStatus::Failed => {}
                }
                next.registry = match event {
                    EnrollmentEvent::RegistryConfirmed { .. } => FactorStatus::Passed,
                    _ => FactorStatus::Failed,
                };
            }
            EnrollmentEvent::RegistryReviewRequested => match self.registry {
                FactorStatus::Passed => return Err(EnrollmentError::AlreadyPassed(Factor::Registry)),
                FactorStatus::UnderReview => return Err(EnrollmentError::ReviewUnderWay),
                // Staff work on a review only for someone who proved to be the person named.
                FactorStatus::Pending | FactorStatus::Failed if self.face != FactorStatus::Passed => {
                    return Err(EnrollmentError::FaceFirst);
                }
                FactorStatus::Pending | FactorStatus::Failed => next.registry = FactorStatus::UnderReview,
            },
            EnrollmentEvent::RegistryReviewProposed {
                verdict,
                proposed_by,
                registered_area_centi_m2,
                scan_sha256,
                third_review_required,
            } => {
                if self.registry != FactorStatus::UnderReview {
                    return Err(EnrollmentError::NoReviewPending);
                }
                if self.registry_review.is_some() {
                    return Err(EnrollmentError::ReviewAlreadyProposed);
                }
                let area_ok = match verdict {
                    ReviewVerdict::Approve => {
                        registered_area_centi_m2.is_some_and(|a| (1..=MAX_REVIEW_AREA_CENTI_M2).contains(&a))
                    }
                    ReviewVerdict::Reject => registered_area_centi_m2.is_none(),
                };
                if !area_ok {
                    return Err(EnrollmentError::ReviewArea);
                }
                next.registry_review = Some(ReviewProposal {
                    verdict: *verdict,
                    proposed_by: *proposed_by,
                    registered_area_centi_m2: *registered_area_centi_m2,
                    scan_sha256: scan_sha256.clone(),
                    at: now,
                    // Only an approval changes the unit's area.
                    third_review_required: *third_review_required && *verdict == ReviewVerdict::Approve,
                    seconded_by: None,
                });
            }
            EnrollmentEvent::RegistryReviewDecided { confirmed, proposed_by, decided_by } => {
                if self.registry != FactorStatus::UnderReview {
                    return Err(EnrollmentError::NoReviewPending);
                }
                let proposal = self.registry_review.as_ref().ok_or(EnrollmentError::NoReviewProposal)?;
                // The event names the proposer it decides on, so a stale decision cannot land on a newer proposal.
                if proposal.proposed_by != *proposed_by {
                    return Err(EnrollmentError::NoReviewProposal);
                }
                if proposal.proposed_by == *decided_by || proposal.seconded_by == Some(*decided_by) {
                    return Err(EnrollmentError::SameReviewer);
                }
                if *confirmed && proposal.third_review_required && proposal.seconded_by.is_none() {
                    // Seconded: the proposal stands and waits for a third staff member.
                    next.registry_review = Some(ReviewProposal { seconded_by: Some(*decided_by), ..proposal.clone() });
                } else {
                    next.registry_review = None;
                }
                if *confirmed && next.registry_review.is_none() {
                    next.review_ended_at = Some(now);
                    next.registry = match proposal.verdict {
                        ReviewVerdict::Approve => FactorStatus::Passed,
                        ReviewVerdict::Reject => FactorStatus::Failed,
                    };
                }
            }
            EnrollmentEvent::DeviceBound { .. } => {
                if self.device == FactorStatus::Passed {
                    return Err(EnrollmentError::AlreadyPassed(Factor::Device));
                }
                next.device = FactorStatus::Passed;
            }
            EnrollmentEvent::PinSet => {
                if self.pin == FactorStatus::Passed {
                    return Err(EnrollmentError::AlreadyPassed(Factor::Pin));
                }
                let others = [self.face, self.registry, self.device];
                if others.iter().any(|s| *s != FactorStatus::Passed) {
                    return Err(EnrollmentError::PinNotLast);
                }
                next.pin = FactorStatus::Passed;
            }
        }
        let all_passed = [next.face, next.registry, next.device, next.pin].iter().all(|s| *s == FactorStatus::Passed);
        if next.state == EnrollmentState::Open && all_passed {
            next.state = EnrollmentState::Completed;
            next.completed_at = Some(now);
        }
        let transition = Transition { at: now, from: self.state, to: next.state, event };
        Ok((next, transition))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn face(passed: bool) -> EnrollmentEvent {
        EnrollmentEvent::FaceChecked { passed, score: if passed { 92.5 } else { 12.0 }, request_id: "r".into(), image_sha256: "h".into() }
    }

    fn run(e: &Enrollment, events: Vec<EnrollmentEvent>) -> Result<Enrollment, EnrollmentError> {
        let mut cur = e.clone();
        for (i, ev) in events.into_iter().enumerate() {
            cur = cur.apply(ev, t(i as i64 + 1))?.0;
        }
        Ok(cur)
    }

    fn started() -> Enrollment {
        Enrollment::start("2026-01", "2026-01", t(0)).unwrap()
    }

    /// Started, with the face factor passed: the registry may be asked.
    fn face_passed() -> Enrollment {
        run(&started(), vec![EnrollmentEvent::FaceConsentGiven { version: "f1".into() }, face(true)]).unwrap()
    }

    #[test]
    fn consent_version_must_be_current() {
        assert_eq!(
            Enrollment::start("2025-12", "2026-01", t(0)),
            Err(EnrollmentError::ConsentVersion { current: "2026-01".into() })
        );
    }

    #[test]
    fn factors_in_any_order_then_pin_completes() {
        let orders = [
            vec![EnrollmentEvent::FaceConsentGiven { version: "f1".into() }, face(true), EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: Some(8935) }, EnrollmentEvent::DeviceBound { cert_serial: "4a".into() }],
            vec![EnrollmentEvent::FaceConsentGiven { version: "f1".into() }, face(true), EnrollmentEvent::DeviceBound { cert_serial: "4a".into() }, EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: None }],
        ];
        for events in orders {
            let e = run(&started(), events).unwrap();
            assert_eq!(e.state, EnrollmentState::Open);
            let (done, tr) = e.apply(EnrollmentEvent::PinSet, t(10)).unwrap();
            assert_eq!(done.state, EnrollmentState::Completed);
            assert_eq!(done.completed_at, Some(t(10)));
            assert_eq!((tr.from, tr.to), (EnrollmentState::Open, EnrollmentState::Completed));
            assert_eq!(done.apply(EnrollmentEvent::Cancel, t(11)), Err(EnrollmentError::NotOpen(EnrollmentState::Completed)));
        }
    }

    #[test]
    fn pin_before_the_other_factors_is_refused() {
        let e = run(&started(), vec![EnrollmentEvent::DeviceBound { cert_serial: "4a".into() }]).unwrap();
        assert_eq!(e.apply(EnrollmentEvent::PinSet, t(5)), Err(EnrollmentError::PinNotLast));
        assert_eq!(e.admits(&EnrollmentEvent::PinSet, t(5)), Err(EnrollmentError::PinNotLast));
        assert_eq!(e.admits(&EnrollmentEvent::FaceConsentGiven { version: "f1".into() }, t(5)), Ok(()));
    }

    #[test]
    fn face_needs_its_own_consent() {
        assert_eq!(started().apply(face(true), t(1)), Err(EnrollmentError::FaceConsentMissing));
        let e = run(&started(), vec![EnrollmentEvent::FaceConsentGiven { version: "f1".into() }, face(false)]).unwrap();
        assert_eq!(e.face, FactorStatus::Failed);
        let e = e.apply(face(true), t(5)).unwrap().0;
        assert_eq!(e.face, FactorStatus::Passed);
        assert_eq!(e.apply(face(true), t(6)), Err(EnrollmentError::AlreadyPassed(Factor::Face)));
    }

    #[test]
    fn three_face_attempts_per_shanghai_day() {
        assert!(check_face_attempts(0).is_ok());
        assert!(check_face_attempts(2).is_ok());
        assert_eq!(check_face_attempts(3), Err(EnrollmentError::FaceAttemptsExhausted));
        // 2026-03-01 15:59 UTC is 23:59 in Shanghai; 16:00 UTC is the next Shanghai day.
        assert_eq!(attempt_day(t(15) + Duration::minutes(59)), NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        assert_eq!(attempt_day(t(16)), NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    }

    #[test]
    fn a_manual_review_stops_the_expiry_clock_and_its_end_restarts_it() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let e = face_passed();
        let (e, _) = e.apply(EnrollmentEvent::RegistryRejected, t(1)).unwrap();
        let (e, _) = e.apply(EnrollmentEvent::RegistryReviewRequested, t(2)).unwrap();
        // Staff take ten days: the enrollment waits for them.
        assert!(!e.is_due_to_expire(t(24 * 10)));
        assert_eq!(e.apply(EnrollmentEvent::Expire, t(24 * 10)), Err(EnrollmentError::NotYetExpired));
        let proposal = EnrollmentEvent::RegistryReviewProposed {
            verdict: ReviewVerdict::Approve,
            proposed_by: a,
            registered_area_centi_m2: Some(8935),
            scan_sha256: "00".into(),
            third_review_required: false,
        };
        let (e, _) = e.apply(proposal, t(24 * 10)).unwrap();
        let decided = EnrollmentEvent::RegistryReviewDecided { confirmed: true, proposed_by: a, decided_by: b };
        let (e, _) = e.apply(decided, t(24 * 11)).unwrap();
        assert_eq!(e.registry, FactorStatus::Passed);
        // Seven days from the decision, not from the start.
        assert!(!e.is_due_to_expire(t(24 * 18 - 1)));
        assert!(e.is_due_to_expire(t(24 * 18)));
    }

    #[test]
    fn expiry_after_seven_days() {
        let e = started();
        assert_eq!(e.apply(EnrollmentEvent::Expire, t(24 * 7 - 1)), Err(EnrollmentError::NotYetExpired));
        assert!(!e.is_due_to_expire(t(24 * 7 - 1)));
        assert!(e.is_due_to_expire(t(24 * 7)));
        assert_eq!(e.apply(EnrollmentEvent::DeviceBound { cert_serial: "4a".into() }, t(24 * 7)), Err(EnrollmentError::Expired));
        let (x, tr) = e.apply(EnrollmentEvent::Expire, t(24 * 7)).unwrap();
        assert_eq!(x.state, EnrollmentState::Expired);
        assert_eq!(tr.to, EnrollmentState::Expired);
    }

    fn proposed(verdict: ReviewVerdict, by: Uuid, area: Option<i64>) -> EnrollmentEvent {
        EnrollmentEvent::RegistryReviewProposed {
            verdict,
            proposed_by: by,
            registered_area_centi_m2: area,
            scan_sha256: "s".into(),
            third_review_required: false,
        }
    }

    #[test]
    fn manual_registry_review_needs_two_people() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let e = run(&face_passed(), vec![EnrollmentEvent::RegistryRejected, EnrollmentEvent::RegistryReviewRequested]).unwrap();
        assert_eq!(e.registry, FactorStatus::UnderReview);
        assert_eq!(e.apply(EnrollmentEvent::RegistryReviewRequested, t(5)), Err(EnrollmentError::ReviewUnderWay));
        // The automatic check does not run while staff review the certificate.
        assert_eq!(e.apply(EnrollmentEvent::RegistryRejected, t(5)), Err(EnrollmentError::ReviewUnderWay));
        // No decision without a proposal.
        let decide = |confirmed, decided_by| EnrollmentEvent::RegistryReviewDecided { confirmed, proposed_by: a, decided_by };
        assert_eq!(e.apply(decide(true, b), t(5)), Err(EnrollmentError::NoReviewProposal));
        let e = e.apply(proposed(ReviewVerdict::Approve, a, Some(8935)), t(5)).unwrap().0;
        assert_eq!(e.registry_review.as_ref().map(|p| (p.proposed_by, p.registered_area_centi_m2)), Some((a, Some(8935))));
        assert_eq!(e.apply(proposed(ReviewVerdict::Approve, b, Some(8935)), t(6)), Err(EnrollmentError::ReviewAlreadyProposed));
        // The proposer cannot also decide.
        assert_eq!(e.apply(decide(true, a), t(6)), Err(EnrollmentError::SameReviewer));
        // A decision naming another proposer (a stale one) is refused.
        assert_eq!(
            e.apply(EnrollmentEvent::RegistryReviewDecided { confirmed: true, proposed_by: b, decided_by: a }, t(6)),
            Err(EnrollmentError::NoReviewProposal)
        );
        let (passed, tr) = e.apply(decide(true, b), t(6)).unwrap();
        assert_eq!((passed.registry, passed.registry_review.is_none()), (FactorStatus::Passed, true));
        assert_eq!(tr.event, decide(true, b));
        assert_eq!(
            started().apply(decide(true, b), t(1)),
            Err(EnrollmentError::NoReviewPending)
        );
    }

    #[test]
    fn a_returned_proposal_waits_for_a_new_one_and_a_confirmed_rejection_fails_the_factor() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let e = run(&face_passed(), vec![EnrollmentEvent::RegistryReviewRequested, proposed(ReviewVerdict::Approve, a, Some(9000))]).unwrap();
        let returned = e.apply(EnrollmentEvent::RegistryReviewDecided { confirmed: false, proposed_by: a, decided_by: b }, t(5)).unwrap().0;
        assert_eq!((returned.registry, returned.registry_review.is_none()), (FactorStatus::UnderReview, true));
        // Now b proposes a rejection and a confirms it: the factor fails; the owner may ask again with new evidence.
        let e = returned.apply(proposed(ReviewVerdict::Reject, b, None), t(6)).unwrap().0;
        let failed = e.apply(EnrollmentEvent::RegistryReviewDecided { confirmed: true, proposed_by: b, decided_by: a }, t(7)).unwrap().0;
        assert_eq!(failed.registry, FactorStatus::Failed);
        assert_eq!(failed.apply(EnrollmentEvent::RegistryReviewRequested, t(8)).unwrap().0.registry, FactorStatus::UnderReview);
    }

    #[test]
    fn a_review_states_the_area_only_when_it_approves() {
        let a = Uuid::now_v7();
        let e = face_passed().apply(EnrollmentEvent::RegistryReviewRequested, t(1)).unwrap().0;
        for bad in [
            proposed(ReviewVerdict::Approve, a, None),
            proposed(ReviewVerdict::Approve, a, Some(0)),
            proposed(ReviewVerdict::Approve, a, Some(MAX_REVIEW_AREA_CENTI_M2 + 1)),
            proposed(ReviewVerdict::Reject, a, Some(8000)),
        ] {
            assert_eq!(e.apply(bad, t(2)), Err(EnrollmentError::ReviewArea));
        }
        assert!(e.apply(proposed(ReviewVerdict::Approve, a, Some(MAX_REVIEW_AREA_CENTI_M2)), t(2)).is_ok());
        // Nothing to propose on before the owner asked, nor after the factor passed.
        assert_eq!(started().apply(proposed(ReviewVerdict::Reject, a, None), t(1)), Err(EnrollmentError::NoReviewPending));
        let passed = face_passed().apply(EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: None }, t(1)).unwrap().0;
        assert_eq!(passed.apply(EnrollmentEvent::RegistryReviewRequested, t(2)), Err(EnrollmentError::AlreadyPassed(Factor::Registry)));
    }

    #[test]
    fn the_registry_is_asked_only_after_this_enrollments_face_passed() {
        let owner_steps = [
            EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: Some(8935) },
            EnrollmentEvent::RegistryRejected,
            EnrollmentEvent::RegistryReviewRequested,
        ];
        let consented = started().apply(EnrollmentEvent::FaceConsentGiven { version: "f1".into() }, t(1)).unwrap().0;
        let face_failed = consented.apply(face(false), t(2)).unwrap().0;
        let device_first = started().apply(EnrollmentEvent::DeviceBound { cert_serial: "4a".into() }, t(1)).unwrap().0;
        for before_face in [started(), consented, face_failed, device_first] {
            for step in &owner_steps {
                assert_eq!(before_face.admits(step, t(3)), Err(EnrollmentError::FaceFirst), "{step:?}");
            }
        }
        for step in &owner_steps {
            assert_eq!(face_passed().admits(step, t(3)), Ok(()), "{step:?}");
        }
        // A reset sends the face back: a failed registry factor is asked again only after a new face match.
        let failed = face_passed().apply(EnrollmentEvent::RegistryRejected, t(3)).unwrap().0;
        let reset = failed.apply(EnrollmentEvent::DeviceReset, t(4)).unwrap().0;
        assert_eq!(reset.admits(&EnrollmentEvent::RegistryRejected, t(5)), Err(EnrollmentError::FaceFirst));
    }

    #[test]
    fn three_registry_attempts_per_day_and_no_area_unless_confirmed() {
        assert!(check_registry_attempts(0).is_ok());
        assert!(check_registry_attempts(REGISTRY_ATTEMPTS_PER_DAY - 1).is_ok());
        assert_eq!(check_registry_attempts(REGISTRY_ATTEMPTS_PER_DAY), Err(EnrollmentError::RegistryAttemptsExhausted));
        assert_eq!(disclosed_registry_area(&EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: Some(8935) }), Some(8935));
        assert_eq!(disclosed_registry_area(&EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: None }), None);
        assert_eq!(disclosed_registry_area(&EnrollmentEvent::RegistryRejected), None);
    }

    #[test]
    fn a_face_upload_is_authorised_before_its_image_is_decoded() {
        let current = "f1";
        let consented = started().apply(EnrollmentEvent::FaceConsentGiven { version: current.into() }, t(1)).unwrap().0;
        let cancelled = started().apply(EnrollmentEvent::Cancel, t(1)).unwrap().0;
        // (what, enrollment, consent sent, attempts today, now, expected)
        type Case<'a> = (&'a str, Enrollment, Option<&'a str>, u32, DateTime<Utc>, Result<(), EnrollmentError>);
        let cases: Vec<Case> = vec![
            ("consent sent with the upload", started(), Some(current), 0, t(2), Ok(())),
            ("consent recorded before", consented.clone(), None, 2, t(2), Ok(())),
            ("no consent at all", started(), None, 0, t(2), Err(EnrollmentError::FaceConsentMissing)),
            ("old consent text", started(), Some("f0"), 0, t(2), Err(EnrollmentError::ConsentVersion { current: current.into() })),
            ("no attempts left", consented.clone(), Some(current), FACE_ATTEMPTS_PER_DAY, t(2), Err(EnrollmentError::FaceAttemptsExhausted)),
            ("face already passed", face_passed(), None, 0, t(3), Err(EnrollmentError::AlreadyPassed(Factor::Face))),
            ("cancelled", cancelled, Some(current), 0, t(2), Err(EnrollmentError::NotOpen(EnrollmentState::Cancelled))),
            ("expired", consented, None, 0, t(24 * 8), Err(EnrollmentError::Expired)),
        ];
        for (what, e, consent, attempts, now, expected) in cases {
            let before = e.clone();
            assert_eq!(e.admits_face_upload(consent, current, attempts, now), expected, "{what}");
            assert_eq!(e, before, "{what}: checking changes nothing");
        }
    }

    #[test]
    fn review_area_bounds() {
        use ReviewAreaChange::{Large, Small};
        // (approved, current, building, expected)
        let cases = [
            (8935, 8935, 10_500, Small),
            (9828, 8935, 10_500, Small),  // +9.99 %
            (9829, 8935, 10_500, Large),  // +10.01 %
            (8042, 8935, 10_500, Small),  // -9.99 %
            (8041, 8935, 10_500, Large),  // -10.01 %
            (11_000, 10_000, 11_000, Small), // +10 % exactly, at the building area
            (9_000, 10_000, 0, Small),       // -10 % exactly, building area unknown
            (10_600, 10_000, 10_500, Large), // above the building area, though within 10 %
            (8935, 0, 10_500, Large),        // no recorded area to compare with
            (MAX_REVIEW_AREA_CENTI_M2, 8935, 0, Large),
            (MAX_REVIEW_AREA_CENTI_M2, i64::MAX, 0, Large), // no overflow
        ];
        for (approved, current, building, expected) in cases {
            assert_eq!(review_area_change(approved, current, building), expected, "{approved} vs {current}/{building}");
        }
    }

    #[test]
    fn staff_do_not_review_their_own_person() {
        let (staff, owner, same_person, other) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3), Uuid::from_u128(4));
        assert_eq!(check_reviewer_independent(owner, owner, &[]), Err(EnrollmentError::OwnReview));
        assert_eq!(check_reviewer_independent(same_person, owner, &[other, same_person]), Err(EnrollmentError::OwnReview));
        assert_eq!(check_reviewer_independent(staff, owner, &[same_person]), Ok(()));
    }

    #[test]
    fn a_large_area_change_needs_a_third_staff_member() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let requested = face_passed().apply(EnrollmentEvent::RegistryReviewRequested, t(3)).unwrap().0;
        let large = |verdict, area| EnrollmentEvent::RegistryReviewProposed {
            verdict,
            proposed_by: a,
            registered_area_centi_m2: area,
            scan_sha256: "s".into(),
            third_review_required: true,
        };
        let decide = |confirmed, decided_by| EnrollmentEvent::RegistryReviewDecided { confirmed, proposed_by: a, decided_by };
        let e = requested.apply(large(ReviewVerdict::Approve, Some(50_000)), t(4)).unwrap().0;
        // B's confirmation only seconds it: the factor is still under review and the proposal stands.
        let (seconded, tr) = e.apply(decide(true, b), t(5)).unwrap();
        assert_eq!(seconded.registry, FactorStatus::UnderReview);
        assert_eq!(seconded.registry_review.as_ref().and_then(|p| p.seconded_by), Some(b));
        assert_eq!(tr.event, decide(true, b));
        // Neither the proposer nor the second may be the third.
        assert_eq!(seconded.apply(decide(true, b), t(6)), Err(EnrollmentError::SameReviewer));
        assert_eq!(seconded.apply(decide(true, a), t(6)), Err(EnrollmentError::SameReviewer));
        let done = seconded.apply(decide(true, c), t(6)).unwrap().0;
        assert_eq!((done.registry, done.registry_review.is_none()), (FactorStatus::Passed, true));
        // The third may return it instead: a new proposal is needed.
        let returned = seconded.apply(decide(false, c), t(6)).unwrap().0;
        assert_eq!((returned.registry, returned.registry_review.is_none()), (FactorStatus::UnderReview, true));
        // A rejection changes no area: two staff members suffice.
        let rejected = requested.apply(large(ReviewVerdict::Reject, None), t(4)).unwrap().0;
        assert_eq!(rejected.apply(decide(true, b), t(5)).unwrap().0.registry, FactorStatus::Failed);
    }

    #[test]
    fn registry_answers_and_area_corrections() {
        use crate::registry::OwnershipAnswer;
        let answer = |owner, name_matches| OwnershipAnswer {
            owner,
            name_matches,
            exclusive_area_centi_m2: Some(8935),
            area_source: None,
            reference: "r".into(),
        };
        let confirmed = EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: Some(8935) };
        assert_eq!(registry_answer_event(&answer(true, true), true), confirmed);
        assert_eq!(registry_answer_event(&answer(true, true), false), EnrollmentEvent::RegistryRejected);
        assert_eq!(registry_answer_event(&answer(true, false), true), EnrollmentEvent::RegistryRejected);
        assert_eq!(registry_answer_event(&answer(false, true), true), EnrollmentEvent::RegistryRejected);
        assert_eq!(area_correction(8000, Some(8935)), Some(8935));
        assert_eq!(area_correction(8935, Some(8935)), None);
        assert_eq!(area_correction(8000, Some(0)), None);
        assert_eq!(area_correction(8000, None), None);
    }

    #[test]
    fn device_reset_sends_device_and_face_back() {
        let e = run(&started(), vec![EnrollmentEvent::FaceConsentGiven { version: "f1".into() }, face(true), EnrollmentEvent::DeviceBound { cert_serial: "4a".into() }, EnrollmentEvent::DeviceReset]).unwrap();
        assert_eq!((e.face, e.device), (FactorStatus::Pending, FactorStatus::Pending));
    }

    #[test]
    fn support_reset_reopens_a_completed_enrollment_until_face_and_device_pass_again() {
        let done = run(
            &started(),
            vec![
                EnrollmentEvent::FaceConsentGiven { version: "f1".into() },
                face(true),
                EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: None },
                EnrollmentEvent::DeviceBound { cert_serial: "4a".into() },
                EnrollmentEvent::PinSet,
            ],
        )
        .unwrap();
        assert_eq!(done.state, EnrollmentState::Completed);
        // A second device while completed: refused until a reset.
        assert_eq!(
            done.apply(EnrollmentEvent::DeviceBound { cert_serial: "5b".into() }, t(30 * 24)),
            Err(EnrollmentError::NotOpen(EnrollmentState::Completed))
        );
        let reset_at = t(30 * 24);
        let (e, tr) = done.apply(EnrollmentEvent::DeviceReset, reset_at).unwrap();
        assert_eq!((tr.from, tr.to), (EnrollmentState::Completed, EnrollmentState::Open));
        assert_eq!((e.face, e.device, e.registry, e.pin), (FactorStatus::Pending, FactorStatus::Pending, FactorStatus::Passed, FactorStatus::Passed));
        // The new device alone does not complete it; the new face match does. Expiry counts from the reset.
        let e = e.apply(EnrollmentEvent::DeviceBound { cert_serial: "5b".into() }, reset_at + Duration::hours(1)).unwrap().0;
        assert_eq!(e.state, EnrollmentState::Open);
        let (e, tr) = e.apply(face(true), reset_at + Duration::hours(2)).unwrap();
        assert_eq!(tr.to, EnrollmentState::Completed);
        assert_eq!(e.completed_at, Some(reset_at + Duration::hours(2)));
        assert_eq!(e.apply(EnrollmentEvent::PinSet, reset_at + Duration::hours(3)), Err(EnrollmentError::NotOpen(EnrollmentState::Completed)));
    }

    #[test]
    fn states_stored_without_reopened_at_still_load() {
        let mut j = serde_json::to_value(started()).unwrap();
        assert!(j.get("reopened_at").is_none());
        j.as_object_mut().unwrap().remove("reopened_at");
        let e: Enrollment = serde_json::from_value(j).unwrap();
        assert_eq!(e.open_since(), t(0));
    }

    #[test]
    fn transitions_serialise_for_the_audit_trail() {
        let (_, tr) = started().apply(EnrollmentEvent::DeviceBound { cert_serial: "4a".into() }, t(1)).unwrap();
        let j = serde_json::to_value(&tr).unwrap();
        assert_eq!(j["event"]["event"], "device_bound");
        assert_eq!(j["from"], "open");
    }
}
