//! Automatic content screening of meeting texts: a maintained sensitive-word list matched with Aho-Corasick
//! (one pass over the text whatever the list's size). A match is not a refusal: the meeting goes to human
//! review with the matched terms shown.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

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

#[cfg(test)]
mod tests {
    use super::*;

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
