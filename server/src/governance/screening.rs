//! Automatic content screening of meeting texts: a maintained sensitive-word list matched with Aho-Corasick
//! (one pass over the text whatever the list's size), then WeChat's content-security check `msg_sec_check` v2.
//! A finding is not a refusal: the meeting goes to human review with the matched terms, WeChat's labels and
//! keywords shown. Anything but WeChat's "pass" — including a check that could not be made — goes to review.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use linli_identity::wechat::{
    MSG_SEC_CHECK_MAX_CHARS, SecCheckResult, SecScene, Suggest, WeChatError, WeChatErrorCode, sec_label_name, split_chars,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::AppState;
use crate::notify::{self, NotifyError};

/// The list shipped with the server (`fixtures/sensitive-words.txt`).
pub const DEFAULT_LIST: &str = include_str!("../../../fixtures/sensitive-words.txt");

#[derive(Debug, Clone)]
pub struct Screener {
    matcher: AhoCorasick,
    terms: Vec<String>,
}

impl Screener {
    /// Builds from list text: one term per line, `#` comments and blank lines ignored.
    pub fn from_list(text: &str) -> Result<Self, aho_corasick::BuildError> {
        let terms: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        let matcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&terms)?;
        Ok(Self { matcher, terms })
    }

    /// The distinct terms found in `text`, in list order (overlapping matches included).
    pub fn matches(&self, text: &str) -> Vec<String> {
        let mut hit = vec![false; self.terms.len()];
        for m in self.matcher.find_overlapping_iter(text) {
            if let Some(h) = hit.get_mut(m.pattern().as_usize()) {
                *h = true;
            }
        }
        self.terms.iter().zip(hit).filter(|(_, h)| *h).map(|(t, _)| t.clone()).collect()
    }
}

/// A label WeChat found, with its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FoundLabel {
    pub label: i64,
    pub name: String,
}

/// WeChat's verdict on a meeting's text (stored in `meetings.screening_wechat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeChatScreening {
    /// The worst suggestion over every piece of the text; None when the check could not be made.
    pub suggest: Option<Suggest>,
    /// Labels other than 100 (normal), from `result` and `detail[]`.
    pub labels: Vec<FoundLabel>,
    /// Keywords the keyword strategy matched.
    pub keywords: Vec<String>,
    pub trace_ids: Vec<String>,
    /// Why the check could not be made (e.g. `wechat errcode 61010`).
    pub error: Option<String>,
}

impl WeChatScreening {
    pub fn unavailable(error: impl Into<String>) -> Self {
        Self { suggest: None, labels: vec![], keywords: vec![], trace_ids: vec![], error: Some(error.into()) }
    }

    /// Only a completed check that answered pass lets the text through without a human.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.suggest == Some(Suggest::Pass)
    }
}

/// Folds the answers for the pieces of one text: worst suggestion, distinct labels and keywords.
pub fn summarize(results: &[SecCheckResult]) -> WeChatScreening {
    let mut labels = std::collections::BTreeSet::new();
    let mut keywords = std::collections::BTreeSet::new();
    for r in results {
        if r.label != 100 {
            labels.insert(r.label);
        }
        for d in r.detail.iter().filter(|d| d.errcode == 0 && d.suggest.is_some_and(|s| s != Suggest::Pass)) {
            if let Some(l) = d.label.filter(|l| *l != 100) {
                labels.insert(l);
            }
            if let Some(k) = d.keyword.as_ref().filter(|k| !k.is_empty()) {
                keywords.insert(k.clone());
            }
        }
    }
    WeChatScreening {
        suggest: results.iter().map(|r| r.suggest).max().or(Some(Suggest::Pass)),
        labels: labels.into_iter().map(|label| FoundLabel { label, name: sec_label_name(label).to_owned() }).collect(),
        keywords: keywords.into_iter().collect(),
        trace_ids: results.iter().filter_map(|r| r.trace_id.clone()).collect(),
        error: None,
    }
}

/// Runs `msg_sec_check` v2 over `text` (in pieces of at most 2500 characters) as written by `author` (scene
/// "forum": a public post to the community). None when this process has no WeChat client (in-process tests of
/// other areas; `linli serve` always has one).
pub async fn wechat_check(state: &AppState, author: Uuid, text: &str) -> Option<WeChatScreening> {
    let identity = state.identity.as_deref()?;
    let openid = match notify::openid_of(state, author).await {
        Ok(o) => o,
        Err(NotifyError::NoOpenid) => return Some(WeChatScreening::unavailable("the author has no WeChat identity")),
        Err(e) => return Some(WeChatScreening::unavailable(e.to_string())),
    };
    let mut results = Vec::new();
    for piece in split_chars(text, MSG_SEC_CHECK_MAX_CHARS) {
        let mut retried = false;
        loop {
            let token = match notify::access_token(state).await {
                Ok(t) => t,
                Err(e) => return Some(WeChatScreening::unavailable(e.to_string())),
            };
            match identity.wechat.msg_sec_check(&token, &openid, SecScene::Forum, &piece).await {
                Ok(r) => {
                    results.push(r);
                    break;
                }
                // The cached token went stale: forget it and try once with a fresh one.
                Err(WeChatError::Api { code: WeChatErrorCode::Other(40001 | 42001), .. }) if !retried => {
                    retried = true;
                    if let Err(e) = notify::forget_token(state).await {
                        return Some(WeChatScreening::unavailable(e.to_string()));
                    }
                }
                Err(WeChatError::Api { code, .. }) => {
                    return Some(WeChatScreening::unavailable(format!("wechat errcode {}", code.errcode())));
                }
                Err(e) => return Some(WeChatScreening::unavailable(e.to_string())),
            }
        }
    }
    Some(summarize(&results))
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_identity::wechat::SecCheckDetail;

    fn detail(strategy: &str, suggest: Suggest, label: i64, keyword: Option<&str>) -> SecCheckDetail {
        SecCheckDetail {
            strategy: strategy.into(),
            errcode: 0,
            suggest: Some(suggest),
            label: Some(label),
            keyword: keyword.map(String::from),
            prob: None,
            level: None,
        }
    }

    #[test]
    fn the_worst_piece_decides_and_findings_are_collected() {
        let pass = SecCheckResult { suggest: Suggest::Pass, label: 100, detail: vec![detail("content_model", Suggest::Pass, 100, None)], trace_id: Some("t1".into()) };
        let review = SecCheckResult {
            suggest: Suggest::Review,
            label: 20008,
            detail: vec![detail("keyword", Suggest::Review, 20008, Some("高息理财")), detail("keyword", Suggest::Pass, 20006, Some("不算"))],
            trace_id: Some("t2".into()),
        };
        let s = summarize(&[pass.clone(), review]);
        assert_eq!(s.suggest, Some(Suggest::Review));
        assert_eq!(s.labels, vec![FoundLabel { label: 20008, name: "欺诈".into() }]);
        assert_eq!(s.keywords, vec!["高息理财".to_owned()], "a keyword the strategy itself passed is not a finding");
        assert!(!s.passed());
        let clean = summarize(&[pass]);
        assert!(clean.passed() && clean.labels.is_empty());
        assert!(!WeChatScreening::unavailable("wechat errcode 61010").passed(), "no answer is not a pass");
    }

    #[test]
    fn finds_terms_inside_text_and_overlapping() {
        let s = Screener::from_list("# c\n赌博\n博彩\nCasino\n\n").unwrap();
        assert_eq!(s.matches("小区禁止赌博行为"), vec!["赌博".to_owned()]);
        // "赌博彩" contains 赌博 and 博彩 overlapping.
        assert_eq!(s.matches("赌博彩"), vec!["赌博".to_owned(), "博彩".to_owned()]);
        assert_eq!(s.matches("no CASINO here"), vec!["Casino".to_owned()]);
        assert!(s.matches("更换电梯，使用维修资金").is_empty());
    }

    #[test]
    fn the_shipped_list_loads() {
        let s = Screener::from_list(DEFAULT_LIST).unwrap();
        assert_eq!(s.matches("关于传销的提醒"), vec!["传销".to_owned()]);
    }
}
