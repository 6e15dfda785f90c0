//! The counting rules a meeting is decided by, written out: frozen with the roll when voting opens
//! (`meetings.frozen_rules`) and printed in the result document's `rules`, so a later change of the code never
//! changes how a finished meeting reads. Where counsel could read the law two ways, the reading chosen is stated
//! here (issue 24). Plain data; no database.

use serde_json::{Value, json};

use super::tally::{OPTION_LABELS, TallyRules};

/// Bumped whenever a statement below changes meaning.
pub const RULES_VERSION: u32 = 2;

/// The rules of one meeting as published. `tally` and `count_parking_spaces` are the meeting's (copied from the
/// community's rules of procedure and register settings when drafted).
pub fn frozen_rules(tally: TallyRules, count_parking_spaces: bool) -> Value {
    let mut statements = serde_json::Map::new();
    let mut say = |key: &str, text: &str| {
        statements.insert(key.to_owned(), Value::from(text));
    };
    say(
        "quorum",
        "Every matter: the participating owners hold at least two thirds of the exclusive area and are at least \
         two thirds of the owners (Civil Code art. 278): 3*participating >= 2*total on area and on heads.",
    );
    say(
        "thresholds",
        "Matters 6-8: 4*yes >= 3*participating on area and on heads (\u{201c}四分之三以上\u{201d} includes the bound); \
         every other matter: 2*yes > participating on area and on heads (\u{201c}过半数\u{201d} is strict).",
    );
    say(
        "options",
        "Every ballot line has the server's three options 同意 (yes), 反对 (no), 弃权 (abstain), in that order; \
         the committee writes only the text. No and abstain participate, never yes.",
    );
    say(
        "elections",
        "An election is one yes/no/abstain line per candidate, each decided by the matter's quorum and threshold; \
         the passing candidates are ranked by yes area, then yes heads; a candidate is elected when it and every \
         candidate ranked with or above it fit into the seats; candidates tied across the last seat are reported \
         tied and none of them is elected.",
    );
    say(
        "same_buyer",
        "\u{201c}同一买受人\u{201d} (法释〔2009〕7号 art. 9) is read literally: the same set of owners. A unit owned by A \
         alone and one co-owned by A and B are two persons; one person's units are one person with their areas summed.",
    );
    say(
        "developer",
        "All units the developer has not sold or not delivered together are one person.",
    );
    say(
        "co_owned_unit",
        "A co-owned unit casts one vote: through a staff-approved written proxy if there is one; else by the co-owner \
         all enrolled co-owners designated (device-signed with PIN) before the roll froze; else, as the fallback, by \
         the co-owner who first completed enrollment.",
    );
    say(
        "parking_spaces",
        if count_parking_spaces {
            "Parking spaces registered as exclusive parts count in area and headcount (the community's setting)."
        } else {
            "Parking spaces registered as exclusive parts count neither in area nor in headcount (the community's setting)."
        },
    );
    if tally.any() {
        say(
            "silent",
            "Served-but-silent: a roll key that had a designated caster on the frozen roll, was served notice, and is \
             covered by no live sheet. A key without a caster (nobody could vote for it) is listed in the result, never \
             weighted.",
        );
        say(
            "binding_tally",
            "The rule-set tally binds (the result, the chain's decision, fund plans); the strict tally (sheets only) \
             is published beside it.",
        );
    } else {
        say("binding_tally", "The strict tally binds: the returned sheets alone.");
    }
    if tally.silent_follows_majority {
        say(
            "silent_follow",
            "The served-but-silent follow the voters' decision: what the returned sheets decide under the matter's own \
             threshold on area and heads (the quorum aside, since reaching it is the clause's purpose). If the voters' \
             decision is \u{201c}not passed\u{201d}, the silent weight participates and is not yes.",
        );
    } else if tally.silent_counts_as_participating {
        say("silent_participate", "The served-but-silent count as participating, never as yes.");
    }
    json!({
        "version": RULES_VERSION,
        "silent_counts_as_participating": tally.silent_counts_as_participating,
        "silent_follows_majority": tally.silent_follows_majority,
        "count_parking_spaces": count_parking_spaces,
        "binding_tally": if tally.any() { "rule_set" } else { "strict" },
        "option_labels": OPTION_LABELS,
        "co_owner_voter": super::co_owners::RULE,
        "statements": statements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_choices_are_printed_and_the_binding_tally_follows_the_flags() {
        let strict = frozen_rules(TallyRules::default(), false);
        assert_eq!(strict["binding_tally"], "strict");
        assert!(strict["statements"]["same_buyer"].as_str().unwrap().contains("read literally"));
        assert!(strict["statements"]["co_owned_unit"].as_str().unwrap().contains("designated"));
        assert!(strict["co_owner_voter"].as_str().unwrap().contains("fallback: first co-owner"));
        assert!(strict["statements"].get("silent_follow").is_none());
        let follow = frozen_rules(TallyRules { silent_counts_as_participating: false, silent_follows_majority: true }, true);
        assert_eq!(follow["binding_tally"], "rule_set");
        assert!(follow["statements"]["silent_follow"].as_str().unwrap().contains("voters' decision"));
        assert!(follow["statements"]["silent"].as_str().unwrap().contains("never"));
        assert!(follow["statements"]["parking_spaces"].as_str().unwrap().starts_with("Parking spaces registered as exclusive parts count in"));
        assert_eq!(follow["option_labels"], json!(["同意", "反对", "弃权"]));
    }
}
