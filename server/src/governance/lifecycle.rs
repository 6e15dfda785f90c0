//! The owners' meeting lifecycle (DESIGN §5) in one place: the states, the actions, and [`transition`], which says
//! every allowed step and every refusal with its stable error code. Handlers load the meeting for update, gather
//! the [`Facts`], call [`transition`] and persist what it answers (`store::enter`); none of them compares status
//! strings.
//!
//! ```text
//! draft ──submit──▶ committee_review ──2 approvals──▶ published (or bureau_review ──approve──▶ published)
//!   │  (screened)      ▲      │ reject                    │ open (roll frozen, before voting starts)
//!   └──▶ screening_review ─┘  ▼                            ▼
//!            │ reject      rejected                      open ──close (after voting ends)──▶ closed
//!            └─────────────▶ rejected                                   finalize (chain agrees) ──▶ finalized
//! ```

use chrono::{DateTime, Duration, Utc};

/// A meeting's state, stored as its text value in `meetings.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeetingState {
    Draft,
    ScreeningReview,
    CommitteeReview,
    BureauReview,
    Rejected,
    Published,
    Open,
    Closed,
    Finalized,
}

impl MeetingState {
    pub const ALL: [Self; 9] = [
        Self::Draft,
        Self::ScreeningReview,
        Self::CommitteeReview,
        Self::BureauReview,
        Self::Rejected,
        Self::Published,
        Self::Open,
        Self::Closed,
        Self::Finalized,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::ScreeningReview => "screening_review",
            Self::CommitteeReview => "committee_review",
            Self::BureauReview => "bureau_review",
            Self::Rejected => "rejected",
            Self::Published => "published",
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Finalized => "finalized",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Published to the community's owners (before that only the committee, and reviewers, see it).
    pub fn is_public(self) -> bool {
        matches!(self, Self::Published | Self::Open | Self::Closed | Self::Finalized)
    }
}

/// What someone (or the chain worker) asks of a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The committee submits its draft; `clean`: neither the word list nor WeChat's check found anything.
    Submit { clean: bool },
    /// Platform staff decide screened content.
    ScreeningReview { approved: bool },
    /// A committee member's review (two distinct approvals are needed, see [`Facts::committee_approvals`]).
    CommitteeReview { approved: bool },
    /// The street office's review, where the community requires it.
    BureauReview { approved: bool },
    /// Publication to the owners, with the notice period: the step both last approvals lead to.
    Publish,
    /// The committee freezes the roll and opens the meeting to the chain, before voting starts.
    Open,
    /// The committee closes voting after the window; the contract's finalize is queued.
    Close,
    /// The finalize transaction committed; `chain_agrees`: the contract's tally equals the server's.
    Finalize { chain_agrees: bool },
    /// Anyone entitled reads the signed result.
    PublishResult,
    /// Staff record paper service or posting of the notice: from publication until voting starts (service after
    /// that cannot make anyone silent).
    RecordService,
}

impl Action {
    /// One of each kind, for the table test.
    pub const KINDS: [Self; 10] = [
        Self::Submit { clean: true },
        Self::ScreeningReview { approved: true },
        Self::CommitteeReview { approved: true },
        Self::BureauReview { approved: true },
        Self::Publish,
        Self::Open,
        Self::Close,
        Self::Finalize { chain_agrees: true },
        Self::PublishResult,
        Self::RecordService,
    ];
}

/// What the rules need to know besides the state.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub now: DateTime<Utc>,
    pub voting_starts_at: DateTime<Utc>,
    pub voting_ends_at: DateTime<Utc>,
    pub notice_days: i32,
    pub bureau_review_required: bool,
    /// Committee approvals recorded, counting the review being decided.
    pub committee_approvals: u32,
    /// The bureau approved (counting the review being decided).
    pub bureau_approved: bool,
    /// Opening must leave at least this much time before voting starts (`[governance] opening_margin_secs`).
    pub opening_margin: Duration,
}

/// Where an allowed action leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The meeting enters this state (with its effects: see `store::enter`).
    To(MeetingState),
    /// The action is recorded and the meeting stays where it is (a first committee approval; reading the result).
    Stay,
}

/// An action refused, with its stable error code (all answered 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub title: &'static str,
}

const fn refuse(code: &'static str, title: &'static str) -> Refusal {
    Refusal { code, title }
}

pub const NOT_DRAFT: Refusal = refuse("meeting_not_draft", "Only a draft can be submitted");
pub const NOT_IN_SCREENING_REVIEW: Refusal =
    refuse("not_in_screening_review", "The meeting is not waiting for screening review");
pub const NOT_IN_COMMITTEE_REVIEW: Refusal =
    refuse("not_in_committee_review", "The meeting is not waiting for committee review");
pub const NOT_IN_BUREAU_REVIEW: Refusal = refuse("not_in_bureau_review", "The meeting is not waiting for bureau review");
pub const NOT_APPROVED: Refusal = refuse("meeting_not_approved", "The meeting has not passed its reviews");
pub const NOTICE_TOO_SHORT: Refusal = refuse("notice_too_short", "The notice period no longer fits before voting starts");
pub const NOT_PUBLISHED: Refusal = refuse("meeting_not_published", "Only a published meeting can be opened");
pub const VOTING_ALREADY_STARTED: Refusal =
    refuse("voting_already_started", "The roll must be frozen before voting starts");
pub const OPENING_TOO_LATE: Refusal = refuse(
    "opening_too_late",
    "Too close to the start of voting to open: the chain must have the meeting before voting starts",
);
pub const NOT_OPEN: Refusal = refuse("meeting_not_open", "Only an open meeting can be closed");
pub const VOTING_NOT_OVER: Refusal = refuse("voting_not_over", "Voting has not ended yet");
pub const NOT_CLOSED: Refusal = refuse("meeting_not_closed", "Only a closed meeting can be finalized");
pub const RESULT_MISMATCH: Refusal =
    refuse("result_mismatch", "The chain's tally differs from the server's; the result is withheld");
pub const RESULT_NOT_READY: Refusal = refuse("result_not_ready", "The meeting has no published result yet");
pub const SERVICE_NOT_RECORDABLE: Refusal =
    refuse("service_not_recordable", "Service can be recorded only after publication and before voting starts");

/// Every step of the lifecycle. Pure: the caller holds the meeting row locked and persists the answer.
pub fn transition(state: MeetingState, action: Action, facts: &Facts) -> Result<Next, Refusal> {
    use MeetingState as S;
    match (state, action) {
        (S::Draft, Action::Submit { clean: true }) => Ok(Next::To(S::CommitteeReview)),
        (S::Draft, Action::Submit { clean: false }) => Ok(Next::To(S::ScreeningReview)),
        (_, Action::Submit { .. }) => Err(NOT_DRAFT),

        (S::ScreeningReview, Action::ScreeningReview { approved: true }) => Ok(Next::To(S::CommitteeReview)),
        (S::ScreeningReview, Action::ScreeningReview { approved: false }) => Ok(Next::To(S::Rejected)),
        (_, Action::ScreeningReview { .. }) => Err(NOT_IN_SCREENING_REVIEW),

        // One rejection rejects; the second distinct approval sends it on.
        (S::CommitteeReview, Action::CommitteeReview { approved: false }) => Ok(Next::To(S::Rejected)),
        (S::CommitteeReview, Action::CommitteeReview { approved: true }) if facts.committee_approvals < 2 => Ok(Next::Stay),
        (S::CommitteeReview, Action::CommitteeReview { approved: true }) if facts.bureau_review_required => {
            Ok(Next::To(S::BureauReview))
        }
        (S::CommitteeReview, Action::CommitteeReview { approved: true }) => transition(state, Action::Publish, facts),
        (_, Action::CommitteeReview { .. }) => Err(NOT_IN_COMMITTEE_REVIEW),

        (S::BureauReview, Action::BureauReview { approved: false }) => Ok(Next::To(S::Rejected)),
        (S::BureauReview, Action::BureauReview { approved: true }) => {
            transition(state, Action::Publish, &Facts { bureau_approved: true, ..*facts })
        }
        (_, Action::BureauReview { .. }) => Err(NOT_IN_BUREAU_REVIEW),

        (S::CommitteeReview, Action::Publish)
            if facts.committee_approvals >= 2 && !facts.bureau_review_required =>
        {
            publish(facts)
        }
        (S::BureauReview, Action::Publish) if facts.bureau_approved => publish(facts),
        (_, Action::Publish) => Err(NOT_APPROVED),

        (S::Published, Action::Open) if facts.now >= facts.voting_starts_at => Err(VOTING_ALREADY_STARTED),
        (S::Published, Action::Open) if facts.now + facts.opening_margin > facts.voting_starts_at => Err(OPENING_TOO_LATE),
        (S::Published, Action::Open) => Ok(Next::To(S::Open)),
        (_, Action::Open) => Err(NOT_PUBLISHED),

        (S::Open, Action::Close) if facts.now < facts.voting_ends_at => Err(VOTING_NOT_OVER),
        (S::Open, Action::Close) => Ok(Next::To(S::Closed)),
        (_, Action::Close) => Err(NOT_OPEN),

        (S::Closed, Action::Finalize { chain_agrees: true }) => Ok(Next::To(S::Finalized)),
        (S::Closed, Action::Finalize { chain_agrees: false }) => Err(RESULT_MISMATCH),
        (_, Action::Finalize { .. }) => Err(NOT_CLOSED),

        (S::Finalized, Action::PublishResult) => Ok(Next::Stay),
        (_, Action::PublishResult) => Err(RESULT_NOT_READY),

        (S::Published | S::Open, Action::RecordService) if facts.now < facts.voting_starts_at => Ok(Next::Stay),
        (_, Action::RecordService) => Err(SERVICE_NOT_RECORDABLE),
    }
}

/// Publication fits only if the whole notice period still lies before voting starts.
fn publish(facts: &Facts) -> Result<Next, Refusal> {
    if facts.now + Duration::days(i64::from(facts.notice_days)) > facts.voting_starts_at {
        return Err(NOTICE_TOO_SHORT);
    }
    Ok(Next::To(MeetingState::Published))
}

#[cfg(test)]
mod tests {
    use super::*;
    use MeetingState as S;

    fn facts() -> Facts {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        Facts {
            now,
            voting_starts_at: now + Duration::days(10),
            voting_ends_at: now + Duration::days(20),
            notice_days: 7,
            bureau_review_required: false,
            committee_approvals: 2,
            bureau_approved: false,
            opening_margin: Duration::minutes(10),
        }
    }

    /// Every state × every kind of action with the default facts (two committee approvals, no bureau, notice
    /// fits, before voting starts): exactly the allowed steps, and every other pair refused with its code.
    #[test]
    fn every_state_and_action() {
        let allowed = |s: S, a: Action| -> Option<Next> {
            Some(match (s, a) {
                (S::Draft, Action::Submit { .. }) => Next::To(S::CommitteeReview),
                (S::ScreeningReview, Action::ScreeningReview { .. }) => Next::To(S::CommitteeReview),
                (S::CommitteeReview, Action::CommitteeReview { .. } | Action::Publish) => Next::To(S::Published),
                (S::BureauReview, Action::BureauReview { .. }) => Next::To(S::Published),
                (S::Published, Action::Open) => Next::To(S::Open),
                (S::Closed, Action::Finalize { .. }) => Next::To(S::Finalized),
                (S::Finalized, Action::PublishResult) => Next::Stay,
                (S::Published | S::Open, Action::RecordService) => Next::Stay,
                _ => return None,
            })
        };
        let refusal = |a: Action| match a {
            Action::Submit { .. } => NOT_DRAFT,
            Action::ScreeningReview { .. } => NOT_IN_SCREENING_REVIEW,
            Action::CommitteeReview { .. } => NOT_IN_COMMITTEE_REVIEW,
            Action::BureauReview { .. } => NOT_IN_BUREAU_REVIEW,
            Action::Publish => NOT_APPROVED,
            Action::Open => NOT_PUBLISHED,
            Action::Close => NOT_OPEN,
            Action::Finalize { .. } => NOT_CLOSED,
            Action::PublishResult => RESULT_NOT_READY,
            Action::RecordService => SERVICE_NOT_RECORDABLE,
        };
        let f = facts();
        for s in S::ALL {
            for a in Action::KINDS {
                let expected = match (s, a, allowed(s, a)) {
                    (_, _, Some(next)) => Ok(next),
                    // The right state, the wrong time: voting has not ended.
                    (S::Open, Action::Close, None) => Err(VOTING_NOT_OVER),
                    (_, _, None) => Err(refusal(a)),
                };
                assert_eq!(transition(s, a, &f), expected, "{s:?} × {a:?}");
            }
        }
        // The same with the window's facts for the late steps: voting over, the bureau's approval in.
        let late = Facts { now: f.voting_ends_at, bureau_approved: true, ..f };
        for s in S::ALL {
            for a in [
                Action::Close,
                Action::Finalize { chain_agrees: true },
                Action::PublishResult,
                Action::BureauReview { approved: true },
                Action::RecordService,
            ] {
                let expected = match (s, a) {
                    (S::Open, Action::Close) => Ok(Next::To(S::Closed)),
                    (S::Closed, Action::Finalize { .. }) => Ok(Next::To(S::Finalized)),
                    (S::Finalized, Action::PublishResult) => Ok(Next::Stay),
                    // The bureau approves after voting would have started: the notice no longer fits.
                    (S::BureauReview, Action::BureauReview { .. }) => Err(NOTICE_TOO_SHORT),
                    _ => Err(refusal(a)),
                };
                assert_eq!(transition(s, a, &late), expected, "{s:?} × {a:?} (late)");
            }
        }
    }

    #[test]
    fn the_other_outcomes_of_each_step() {
        let f = facts();
        let t = |s, a, f: &Facts| transition(s, a, f);
        assert_eq!(t(S::Draft, Action::Submit { clean: false }, &f), Ok(Next::To(S::ScreeningReview)));
        assert_eq!(t(S::ScreeningReview, Action::ScreeningReview { approved: false }, &f), Ok(Next::To(S::Rejected)));
        // Committee: one rejection rejects; a first approval waits; the second goes to the bureau when required.
        assert_eq!(t(S::CommitteeReview, Action::CommitteeReview { approved: false }, &f), Ok(Next::To(S::Rejected)));
        let first = Facts { committee_approvals: 1, ..f };
        assert_eq!(t(S::CommitteeReview, Action::CommitteeReview { approved: true }, &first), Ok(Next::Stay));
        assert_eq!(t(S::CommitteeReview, Action::Publish, &first), Err(NOT_APPROVED));
        let bureau = Facts { bureau_review_required: true, ..f };
        assert_eq!(t(S::CommitteeReview, Action::CommitteeReview { approved: true }, &bureau), Ok(Next::To(S::BureauReview)));
        assert_eq!(t(S::CommitteeReview, Action::Publish, &bureau), Err(NOT_APPROVED));
        assert_eq!(t(S::BureauReview, Action::Publish, &bureau), Err(NOT_APPROVED));
        assert_eq!(t(S::BureauReview, Action::BureauReview { approved: true }, &bureau), Ok(Next::To(S::Published)));
        assert_eq!(t(S::BureauReview, Action::BureauReview { approved: false }, &bureau), Ok(Next::To(S::Rejected)));
        // Publication needs the whole notice period before voting starts (the boundary is allowed).
        let tight = Facts { voting_starts_at: f.now + Duration::days(7), ..f };
        assert_eq!(t(S::CommitteeReview, Action::CommitteeReview { approved: true }, &tight), Ok(Next::To(S::Published)));
        let short = Facts { voting_starts_at: f.now + Duration::days(7) - Duration::milliseconds(1), ..f };
        assert_eq!(t(S::CommitteeReview, Action::CommitteeReview { approved: true }, &short), Err(NOTICE_TOO_SHORT));
        // Open: only before voting starts; close: only once it ended (the boundary instant counts as ended).
        let started = Facts { now: f.voting_starts_at, ..f };
        assert_eq!(t(S::Published, Action::Open, &started), Err(VOTING_ALREADY_STARTED));
        // ...and at least the opening margin before it (issue 24 item 9; the boundary is allowed).
        let at_margin = Facts { now: f.voting_starts_at - Duration::minutes(10), ..f };
        assert_eq!(t(S::Published, Action::Open, &at_margin), Ok(Next::To(S::Open)));
        let late = Facts { now: at_margin.now + Duration::milliseconds(1), ..f };
        assert_eq!(t(S::Published, Action::Open, &late), Err(OPENING_TOO_LATE));
        // Service is recorded up to the instant voting starts, whether or not the roll is frozen yet.
        let last_moment = Facts { now: f.voting_starts_at - Duration::milliseconds(1), ..f };
        assert_eq!(t(S::Open, Action::RecordService, &last_moment), Ok(Next::Stay));
        assert_eq!(t(S::Published, Action::RecordService, &started), Err(SERVICE_NOT_RECORDABLE));
        assert_eq!(t(S::Open, Action::RecordService, &started), Err(SERVICE_NOT_RECORDABLE));
        assert_eq!(t(S::Open, Action::Close, &f), Err(VOTING_NOT_OVER));
        let ended = Facts { now: f.voting_ends_at, ..f };
        assert_eq!(t(S::Open, Action::Close, &ended), Ok(Next::To(S::Closed)));
        assert_eq!(t(S::Closed, Action::Finalize { chain_agrees: false }, &ended), Err(RESULT_MISMATCH));
    }

    #[test]
    fn states_round_trip_their_stored_text() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        assert_eq!(S::parse("voting"), None);
        let public: Vec<_> = S::ALL.into_iter().filter(|s| s.is_public()).collect();
        assert_eq!(public, [S::Published, S::Open, S::Closed, S::Finalized]);
    }
}
