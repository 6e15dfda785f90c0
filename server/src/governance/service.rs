//! Proof of service of a meeting's notice (DESIGN §5; issue 24 item 5). (2022)沪02民初16号 upheld counting
//! served-but-silent owners under a community's rules of procedure only where valid service was proven, with the
//! agenda and a warning of what not voting means. Pure rules over plain data:
//! - what the notice says of the consequence of not voting when a silent flag is set ([`consequence_of_not_voting`]);
//! - which records serve a roll key ([`served_proofs`]): only service strictly before voting opens
//!   (`voting_starts_at`) counts; WeChat accepting the message counts only while the owner's consent to electronic
//!   service is in force ([`consent_in_force`]), otherwise only the owner's read receipt does; paper hand delivery,
//!   registered mail and posting recorded by staff count at their recorded time;
//! - what staff may record ([`check_served_at`], [`evidence_sha256`], [`resolve_keys`]);
//! - when the result must warn ([`silent_weight_warnings`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::RollEntry;
use super::tally::{ProposalResult, TallyRules, Weight};

/// The version of [`ELECTRONIC_SERVICE_CONSENT_TEXT`]; a consent names the version it was given to.
pub const ELECTRONIC_SERVICE_CONSENT_VERSION: &str = "2026-12-es1";

/// The consent to electronic service an owner gives (at enrollment or later), separate from the enrollment and
/// face consents. Civil Procedure Law art. 90 reads electronic service as valid only with the recipient's consent;
/// without it a WeChat delivery proves nothing and the owner's read receipt is needed.
pub const ELECTRONIC_SERVICE_CONSENT_TEXT: &str = "本人同意业主大会及业主委员会通过邻里小程序（微信订阅消息及小程序内通知）\
向本人送达业主大会会议通知、议题及表决材料、表决结果等文书；微信平台接收该消息即视为送达本人。\
本人可随时在小程序中撤回本同意，撤回后的文书以纸质送达、挂号信或公告张贴等方式送达。";

/// The rule that decides who was served, as printed in the result document.
pub const SERVED_RULE: &str = "A roll key is served when, strictly before voting opened (voting_starts_at): an owner \
answering for it opened the notice (read receipt); or WeChat accepted the notice for such an owner while that owner's \
consent to electronic service in the meeting's community was in force (WeChat's acceptance alone, without consent, is \
not service); or staff recorded paper hand delivery, registered mail, or posting in a building where the key has a \
unit, at a served time before voting opened, with the SHA-256 of the evidence. Silent = served and no live sheet \
covers the key.";

/// What not voting means under the meeting's silent flags, as the notice and the meeting page state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consequence {
    /// For the subscribe message's `thing` keyword (at most 20 characters).
    pub short: &'static str,
    /// The whole statement, on the notice page with the agenda.
    pub full: &'static str,
}

const PARTICIPATING: Consequence = Consequence {
    short: "逾期未表决视为参与表决",
    full: "依本小区业主大会议事规则：本通知已依法送达、在投票期内未表决的业主，视为参与表决，其专有部分面积和人数计入\
参与表决的面积和人数（可使会议达到法定人数），但不计为同意。议题及表决材料见本会议页面。",
};

const FOLLOWS_MAJORITY: Consequence = Consequence {
    short: "逾期未表决视为随多数意见",
    full: "依本小区业主大会议事规则：本通知已依法送达、在投票期内未表决的业主，视为参与表决，其专有部分面积和人数计入\
参与表决的面积和人数，并随已表决业主的决定：已表决业主按该议题的通过标准决定通过的，计为同意；未决定通过的，\
计为参与表决但不计为同意。议题及表决材料见本会议页面。",
};

/// The consequence of not voting, when a silent flag is set (following the majority implies participating).
pub fn consequence_of_not_voting(rules: TallyRules) -> Option<Consequence> {
    if rules.silent_follows_majority {
        Some(FOLLOWS_MAJORITY)
    } else if rules.silent_counts_as_participating {
        Some(PARTICIPATING)
    } else {
        None
    }
}

/// The mini-program page a notice links to: the meeting with its agenda (the proposals and their attachments)
/// and the consequence of not voting.
pub fn notice_page(meeting: Uuid) -> String {
    format!("pages/meetings/notice?id={meeting}")
}

/// How a roll key was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// WeChat accepted the subscribe message while the owner's consent to electronic service was in force.
    WechatAcceptedWithConsent,
    /// The owner opened the notice (pushed or in the app).
    ReadReceipt,
    PaperHandDelivery,
    RegisteredMail,
    Posting,
}

/// The channels staff record (the evidence is kept off-platform).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaperChannel {
    /// Handed to the owner (or an adult household member) against a signed receipt.
    PaperHandDelivery,
    RegisteredMail,
    /// Posted in a building: serves every roll key with a unit there.
    Posting,
}

impl PaperChannel {
    pub const ALL: [Self; 3] = [Self::PaperHandDelivery, Self::RegisteredMail, Self::Posting];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaperHandDelivery => "paper_hand_delivery",
            Self::RegisteredMail => "registered_mail",
            Self::Posting => "posting",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    pub fn channel(self) -> Channel {
        match self {
            Self::PaperHandDelivery => Channel::PaperHandDelivery,
            Self::RegisteredMail => Channel::RegisteredMail,
            Self::Posting => Channel::Posting,
        }
    }
}

/// Whether the owner's consent to electronic service was in force at `at`: the latest change at or before `at`
/// agreed. `history` is (when, agreed) in recording order (of two changes at one instant the later recorded wins).
pub fn consent_in_force(history: &[(DateTime<Utc>, bool)], at: DateTime<Utc>) -> bool {
    history.iter().filter(|(t, _)| *t <= at).max_by_key(|(t, _)| *t).is_some_and(|(_, agreed)| *agreed)
}

/// One owner's notice: the roll keys it was addressed for, when WeChat accepted it, when the owner opened it, and
/// the owner's consent history in the meeting's community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRecord {
    pub keys: Vec<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub consent: Vec<(DateTime<Utc>, bool)>,
}

impl NoticeRecord {
    /// WeChat accepted the notice before voting opened while the owner's consent was in force.
    fn delivered_with_consent(&self, voting_opens: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.delivered_at.filter(|&t| t < voting_opens && consent_in_force(&self.consent, t))
    }

    fn read_before(&self, voting_opens: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.read_at.filter(|&t| t < voting_opens)
    }
}

/// Service recorded by staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperRecord {
    pub keys: Vec<String>,
    pub channel: PaperChannel,
    pub served_at: DateTime<Utc>,
}

/// One proof that a key was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct Proof {
    pub at: DateTime<Utc>,
    pub channel: Channel,
}

/// Every proof of service that counts, per roll key (earliest first). A key without a proof is not served.
pub fn served_proofs(notices: &[NoticeRecord], paper: &[PaperRecord], voting_opens: DateTime<Utc>) -> BTreeMap<String, Vec<Proof>> {
    let mut out: BTreeMap<String, Vec<Proof>> = BTreeMap::new();
    let mut add = |keys: &[String], proof: Proof| {
        for k in keys {
            out.entry(k.clone()).or_default().push(proof);
        }
    };
    for n in notices {
        if let Some(at) = n.delivered_with_consent(voting_opens) {
            add(&n.keys, Proof { at, channel: Channel::WechatAcceptedWithConsent });
        }
        if let Some(at) = n.read_before(voting_opens) {
            add(&n.keys, Proof { at, channel: Channel::ReadReceipt });
        }
    }
    for p in paper.iter().filter(|p| p.served_at < voting_opens) {
        add(&p.keys, Proof { at: p.served_at, channel: p.channel.channel() });
    }
    for proofs in out.values_mut() {
        proofs.sort();
    }
    out
}

/// The served roll keys.
pub fn served_keys(proofs: &BTreeMap<String, Vec<Proof>>) -> BTreeSet<String> {
    proofs.keys().cloned().collect()
}

/// How many keys each channel served (a key served several ways counts under each).
pub fn keys_per_channel(proofs: &BTreeMap<String, Vec<Proof>>) -> BTreeMap<Channel, usize> {
    let mut out = BTreeMap::new();
    for ps in proofs.values() {
        let channels: BTreeSet<Channel> = ps.iter().map(|p| p.channel).collect();
        for c in channels {
            *out.entry(c).or_default() += 1;
        }
    }
    out
}

/// Notices WeChat accepted before voting opened that are no service: the owner had not agreed to electronic
/// service at delivery and did not open the notice before voting opened.
pub fn accepted_without_service(notices: &[NoticeRecord], voting_opens: DateTime<Utc>) -> usize {
    notices
        .iter()
        .filter(|n| n.delivered_at.is_some_and(|t| t < voting_opens))
        .filter(|n| n.delivered_with_consent(voting_opens).is_none() && n.read_before(voting_opens).is_none())
        .count()
}

/// Why staff's record of service is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceInputError {
    #[error("evidence_sha256 must be 64 hexadecimal digits (the SHA-256 of the evidence file)")]
    EvidenceHash,
    #[error("served_at lies in the future")]
    ServedInFuture,
    #[error("served_at lies before the meeting was published")]
    ServedBeforePublication,
    #[error("served_at is not before voting opens; service then cannot make anyone silent")]
    ServedAfterVotingOpened,
    #[error("{0}")]
    Target(String),
}

impl ServiceInputError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::EvidenceHash => "invalid_evidence_hash",
            Self::ServedInFuture | Self::ServedBeforePublication | Self::ServedAfterVotingOpened => "invalid_served_at",
            Self::Target(_) => "invalid_service_target",
        }
    }
}

/// The evidence's SHA-256 from its hex text (either case).
pub fn evidence_sha256(hex_text: &str) -> Result<[u8; 32], ServiceInputError> {
    if hex_text.len() != 64 {
        return Err(ServiceInputError::EvidenceHash);
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out).map_err(|_| ServiceInputError::EvidenceHash)?;
    Ok(out)
}

/// A served time counts only between publication (nothing final could be served before) and the opening of
/// voting, and cannot lie ahead of the moment it is recorded.
pub fn check_served_at(
    served_at: DateTime<Utc>,
    now: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    voting_opens: DateTime<Utc>,
) -> Result<(), ServiceInputError> {
    if served_at > now {
        return Err(ServiceInputError::ServedInFuture);
    }
    if published_at.is_none_or(|p| served_at < p) {
        return Err(ServiceInputError::ServedBeforePublication);
    }
    if served_at >= voting_opens {
        return Err(ServiceInputError::ServedAfterVotingOpened);
    }
    Ok(())
}

/// A unit as staff name it: building code and unit number, as the roll shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitLabel {
    pub building: String,
    pub unit: String,
}

/// Whom staff served: roll keys and/or units (paper, registered mail), or a building (posting).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Target {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headcount_keys: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<UnitLabel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
}

/// The roll keys a record serves, against the keys the register makes now (`register`: the roll built from it,
/// voters aside). Posting names a building and serves every key with a unit there; paper and mail name keys or
/// units, each of which must exist and count.
pub fn resolve_keys(channel: PaperChannel, target: &Target, register: &[RollEntry]) -> Result<BTreeSet<String>, ServiceInputError> {
    let bad = |s: String| Err(ServiceInputError::Target(s));
    let mut keys = BTreeSet::new();
    match (channel, &target.building) {
        (PaperChannel::Posting, Some(building)) => {
            if !target.headcount_keys.is_empty() || !target.units.is_empty() {
                return bad("a posting names its building only".into());
            }
            keys.extend(register.iter().filter(|e| e.units.iter().any(|u| &u.building == building)).map(|e| e.key.clone()));
            if keys.is_empty() {
                return bad(format!("building {building} has no counted unit"));
            }
        }
        (PaperChannel::Posting, None) => return bad("a posting names the building it was posted in".into()),
        (_, Some(_)) => return bad("only a posting serves a whole building; name keys or units".into()),
        (_, None) => {
            if target.headcount_keys.is_empty() && target.units.is_empty() {
                return bad("name the roll keys or units served".into());
            }
            for k in &target.headcount_keys {
                if !register.iter().any(|e| &e.key == k) {
                    return bad(format!("no roll key {k}"));
                }
                keys.insert(k.clone());
            }
            for u in &target.units {
                let Some(e) = register.iter().find(|e| e.units.iter().any(|x| x.building == u.building && x.unit == u.unit)) else {
                    return bad(format!("no counted unit {}/{}", u.building, u.unit));
                };
                keys.insert(e.key.clone());
            }
        }
    }
    Ok(keys)
}

/// A proposal whose rule-set decision differs from what the returned sheets alone decide: the binding result rests
/// on the served-but-silent weight, hence on the proof of service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SilentWeightWarning {
    /// `binding_result_rests_on_silent_weight`.
    pub code: &'static str,
    pub proposal: usize,
    /// The ballot line within the proposal: 0 for a yes/no proposal, the candidate for an election.
    pub line: usize,
    pub sheets_quorum: bool,
    pub sheets_passed: bool,
    pub rule_set_quorum: bool,
    pub rule_set_passed: bool,
    pub served_silent: Weight,
    pub message: String,
}

fn decision_text(quorum: bool, passed: bool) -> &'static str {
    match (quorum, passed) {
        (false, _) => "未达到法定人数",
        (true, true) => "达到法定人数并通过",
        (true, false) => "达到法定人数但未通过",
    }
}

/// One warning per proposal whose rule-set quorum or pass differs from the sheets-only (strict) tally.
pub fn silent_weight_warnings(results: &[ProposalResult], served_silent: Weight) -> Vec<SilentWeightWarning> {
    results
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.lines.iter().enumerate().map(move |(l, line)| (i, l, line)))
        .filter_map(|(i, l, r)| {
            let rs = r.rule_set.as_ref()?;
            if rs.quorum == r.strict.quorum && rs.passed == r.strict.passed {
                return None;
            }
            let area = served_silent.area_centi_m2;
            Some(SilentWeightWarning {
                code: "binding_result_rests_on_silent_weight",
                proposal: i,
                line: l,
                sheets_quorum: r.strict.quorum,
                sheets_passed: r.strict.passed,
                rule_set_quorum: rs.quorum,
                rule_set_passed: rs.passed,
                served_silent,
                message: format!(
                    "议题 {i}{}：按议事规则计入已送达未表决业主（面积 {}.{:02} m²，人数 {}）的结果为{}，仅按已收回的表决票为{}；\
本结果取决于送达证明。",
                    if l > 0 || results[i].election.is_some() { format!("（候选人 {}）", l + 1) } else { String::new() },
                    area / 100,
                    area % 100,
                    served_silent.heads,
                    decision_text(rs.quorum, rs.passed),
                    decision_text(r.strict.quorum, r.strict.passed),
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::domain::RollUnit;
    use crate::governance::tally::{LineResult, LineTally};

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }
    const OPENS: i64 = 1000;

    fn notice(key: &str, delivered: Option<i64>, read: Option<i64>, consent: &[(i64, bool)]) -> NoticeRecord {
        NoticeRecord {
            keys: vec![key.to_owned()],
            delivered_at: delivered.map(t),
            read_at: read.map(t),
            consent: consent.iter().map(|&(s, a)| (t(s), a)).collect(),
        }
    }

    fn keys(proofs: &BTreeMap<String, Vec<Proof>>) -> Vec<&str> {
        proofs.keys().map(String::as_str).collect()
    }

    #[test]
    fn wechat_acceptance_serves_only_with_consent_in_force_at_delivery() {
        let notices = [
            notice("consented-before", Some(500), None, &[(100, true)]),
            notice("consented-at-the-instant", Some(500), None, &[(500, true)]),
            notice("never-consented", Some(500), None, &[]),
            notice("consented-after-delivery", Some(500), None, &[(600, true)]),
            notice("withdrew-before-delivery", Some(500), None, &[(100, true), (400, false)]),
            notice("withdrew-after-delivery", Some(500), None, &[(100, true), (700, false)]),
        ];
        let proofs = served_proofs(&notices, &[], t(OPENS));
        assert_eq!(keys(&proofs), ["consented-at-the-instant", "consented-before", "withdrew-after-delivery"]);
        assert_eq!(proofs["consented-before"], [Proof { at: t(500), channel: Channel::WechatAcceptedWithConsent }]);
        assert_eq!(accepted_without_service(&notices, t(OPENS)), 3);
    }

    #[test]
    fn without_consent_a_read_receipt_is_needed_and_serves_alone() {
        let notices = [
            notice("delivered-and-read", Some(500), Some(800), &[]),
            notice("delivered-unread", Some(500), None, &[]),
            notice("read-in-app-only", None, Some(800), &[]),
            notice("failed-unread", None, None, &[(100, true)]),
        ];
        let proofs = served_proofs(&notices, &[], t(OPENS));
        assert_eq!(keys(&proofs), ["delivered-and-read", "read-in-app-only"]);
        assert_eq!(proofs["delivered-and-read"], [Proof { at: t(800), channel: Channel::ReadReceipt }]);
        assert_eq!(accepted_without_service(&notices, t(OPENS)), 1, "only the delivered, unread one");
    }

    #[test]
    fn service_counts_only_strictly_before_voting_opens() {
        let just_before = OPENS - 1;
        let notices = [
            notice("delivered-just-before", Some(just_before), None, &[(0, true)]),
            notice("delivered-at-opening", Some(OPENS), None, &[(0, true)]),
            notice("read-just-before", None, Some(just_before), &[]),
            notice("read-at-opening", None, Some(OPENS), &[]),
            // Before the end of voting (the old rule) but after it opened.
            notice("read-during-voting", None, Some(OPENS + 3600), &[]),
        ];
        let paper = [
            PaperRecord { keys: vec!["paper-before".into()], channel: PaperChannel::PaperHandDelivery, served_at: t(just_before) },
            PaperRecord { keys: vec!["paper-at-opening".into()], channel: PaperChannel::RegisteredMail, served_at: t(OPENS) },
        ];
        let proofs = served_proofs(&notices, &paper, t(OPENS));
        assert_eq!(keys(&proofs), ["delivered-just-before", "paper-before", "read-just-before"]);
    }

    #[test]
    fn paper_mail_and_posting_serve_by_their_recorded_time_and_every_proof_is_kept() {
        let paper = [
            PaperRecord { keys: vec!["k1".into()], channel: PaperChannel::PaperHandDelivery, served_at: t(300) },
            PaperRecord { keys: vec!["k2".into()], channel: PaperChannel::RegisteredMail, served_at: t(200) },
            PaperRecord { keys: vec!["k1".into(), "k3".into()], channel: PaperChannel::Posting, served_at: t(100) },
        ];
        let notices = [notice("k1", Some(50), None, &[])];
        let proofs = served_proofs(&notices, &paper, t(OPENS));
        assert_eq!(keys(&proofs), ["k1", "k2", "k3"]);
        assert_eq!(
            proofs["k1"],
            [Proof { at: t(100), channel: Channel::Posting }, Proof { at: t(300), channel: Channel::PaperHandDelivery }],
            "earliest first; the unconsented delivery is no proof"
        );
        let per = keys_per_channel(&proofs);
        assert_eq!(per.get(&Channel::Posting), Some(&2));
        assert_eq!(per.get(&Channel::PaperHandDelivery), Some(&1));
        assert_eq!(per.get(&Channel::RegisteredMail), Some(&1));
        assert_eq!(per.get(&Channel::WechatAcceptedWithConsent), None);
        assert_eq!(served_keys(&proofs).len(), 3);
    }

    #[test]
    fn consent_history_reads_the_latest_change_at_the_instant() {
        let h = [(t(10), true), (t(20), false), (t(20), true), (t(30), false)];
        assert!(!consent_in_force(&h, t(9)), "nothing given yet");
        assert!(consent_in_force(&h, t(10)) && consent_in_force(&h, t(19)));
        assert!(consent_in_force(&h, t(20)), "of two changes at one instant the later recorded wins");
        assert!(!consent_in_force(&h, t(30)) && !consent_in_force(&h, t(99)));
        assert!(!consent_in_force(&[], t(10)));
    }

    #[test]
    fn served_time_must_lie_between_publication_and_opening_and_not_ahead() {
        let (now, published, opens) = (t(500), Some(t(100)), t(OPENS));
        assert_eq!(check_served_at(t(100), now, published, opens), Ok(()));
        assert_eq!(check_served_at(t(500), now, published, opens), Ok(()));
        assert_eq!(check_served_at(t(501), now, published, opens), Err(ServiceInputError::ServedInFuture));
        assert_eq!(check_served_at(t(99), now, published, opens), Err(ServiceInputError::ServedBeforePublication));
        assert_eq!(check_served_at(t(50), now, None, opens), Err(ServiceInputError::ServedBeforePublication));
        // Recorded after opening (the route refuses that state first) with a time at the opening.
        assert_eq!(check_served_at(t(OPENS), t(OPENS + 5), published, opens), Err(ServiceInputError::ServedAfterVotingOpened));
        assert_eq!(check_served_at(t(OPENS - 1), t(OPENS + 5), published, opens), Ok(()));
    }

    #[test]
    fn evidence_hash_is_64_hex_digits() {
        let h = "A".repeat(64);
        assert_eq!(evidence_sha256(&h), Ok([0xaa; 32]));
        assert_eq!(evidence_sha256(&"ab".repeat(32)), Ok([0xab; 32]));
        for bad in ["", &"a".repeat(63), &"a".repeat(65), &"g".repeat(64), &"é".repeat(32)] {
            assert_eq!(evidence_sha256(bad), Err(ServiceInputError::EvidenceHash), "{bad:?}");
        }
    }

    fn entry(key: &str, units: &[(&str, &str)]) -> RollEntry {
        RollEntry {
            key: key.into(),
            area_centi_m2: 100,
            units: units.iter().map(|(b, u)| RollUnit { building: (*b).into(), unit: (*u).into(), area_centi_m2: 100 }).collect(),
            voter: None,
            proxy: None,
        }
    }

    #[test]
    fn targets_resolve_to_roll_keys() {
        let register = [entry("buyer:a", &[("B01", "0101"), ("B02", "0101")]), entry("buyer:b", &[("B01", "0102")]), entry("buyer:c", &[("B02", "0201")])];
        let posting = Target { building: Some("B01".into()), ..Default::default() };
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(resolve_keys(PaperChannel::Posting, &posting, &register), Ok(set(&["buyer:a", "buyer:b"])));
        let by_unit = Target { units: vec![UnitLabel { building: "B02".into(), unit: "0101".into() }], ..Default::default() };
        assert_eq!(resolve_keys(PaperChannel::PaperHandDelivery, &by_unit, &register), Ok(set(&["buyer:a"])));
        let by_key = Target { headcount_keys: vec!["buyer:c".into()], ..by_unit.clone() };
        assert_eq!(resolve_keys(PaperChannel::RegisteredMail, &by_key, &register), Ok(set(&["buyer:a", "buyer:c"])));
        let refused = |c, target: &Target| matches!(resolve_keys(c, target, &register), Err(ServiceInputError::Target(_)));
        assert!(refused(PaperChannel::Posting, &by_unit), "a posting without its building");
        assert!(refused(PaperChannel::PaperHandDelivery, &posting), "a hand delivery to a whole building");
        assert!(refused(PaperChannel::Posting, &Target { building: Some("B09".into()), ..Default::default() }));
        assert!(refused(PaperChannel::Posting, &Target { building: Some("B01".into()), units: by_unit.units.clone(), ..Default::default() }));
        assert!(refused(PaperChannel::PaperHandDelivery, &Target::default()), "nobody named");
        assert!(refused(PaperChannel::PaperHandDelivery, &Target { headcount_keys: vec!["buyer:z".into()], ..Default::default() }));
        assert!(refused(PaperChannel::PaperHandDelivery, &Target { units: vec![UnitLabel { building: "B01".into(), unit: "9999".into() }], ..Default::default() }));
    }

    #[test]
    fn the_notice_states_the_consequence_only_under_a_silent_flag() {
        let rules = |p, f| TallyRules { silent_counts_as_participating: p, silent_follows_majority: f };
        assert_eq!(consequence_of_not_voting(rules(false, false)), None);
        assert_eq!(consequence_of_not_voting(rules(true, false)), Some(PARTICIPATING));
        assert_eq!(consequence_of_not_voting(rules(false, true)), Some(FOLLOWS_MAJORITY));
        assert_eq!(consequence_of_not_voting(rules(true, true)), Some(FOLLOWS_MAJORITY), "following implies participating");
        for c in [PARTICIPATING, FOLLOWS_MAJORITY] {
            assert!(c.short.chars().count() <= 20, "{}", c.short);
            assert!(c.full.contains("视为参与表决") && c.full.contains("议题及表决材料"), "{}", c.full);
        }
        assert!(PARTICIPATING.full.contains("不计为同意") && FOLLOWS_MAJORITY.full.contains("计为同意"));
    }

    fn decided(quorum: bool, passed: bool) -> LineTally {
        LineTally { options: vec![Weight::default(); 3], participation: Weight::default(), quorum, passed }
    }

    fn yes_no(strict: LineTally, rule_set: Option<LineTally>) -> ProposalResult {
        ProposalResult { lines: vec![LineResult { strict, rule_set }], election: None }
    }

    #[test]
    fn the_result_warns_where_the_rule_set_decides_otherwise_than_the_sheets() {
        let silent = Weight::new(3_000_050, 30);
        let results = [
            // Quorum only through the silent weight, passed.
            yes_no(decided(false, false), Some(decided(true, true))),
            // The same decision either way: no warning, though the figures differ.
            yes_no(decided(true, true), Some(decided(true, true))),
            // The strict tally passes, the rule-set fails (issue 24 item 2's example).
            yes_no(decided(true, true), Some(decided(true, false))),
            // No flag set: nothing to compare.
            yes_no(decided(false, false), None),
        ];
        let w = silent_weight_warnings(&results, silent);
        assert_eq!(w.iter().map(|w| w.proposal).collect::<Vec<_>>(), [0, 2]);
        assert_eq!((w[0].sheets_quorum, w[0].rule_set_quorum, w[0].rule_set_passed), (false, true, true));
        assert!(w[0].message.contains("30000.50 m²") && w[0].message.contains("人数 30"), "{}", w[0].message);
        assert!(w[1].message.contains("达到法定人数但未通过") && w[1].message.contains("达到法定人数并通过"));
        assert!(silent_weight_warnings(&results[1..2], silent).is_empty());
    }
}
