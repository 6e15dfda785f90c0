//! Finalization: read the contract's result, compare it with the server's own tally from its rows, and build the
//! signed result document. A mismatch is an alarm (metric, log) and blocks publication: the meeting stays
//! `closed` with `result_mismatch = true`; nothing is silently fixed.

use alloy_sol_types::SolCall;
use base64::Engine;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use linli_ledger_client::governance::LinliGovernance;
use linli_ledger_client::{Address, ChainClient};
use serde_json::json;
use uuid::Uuid;

use super::domain;
use super::lifecycle::{Action, MeetingState};
use super::store;
use super::tally::{self, Weight};
use crate::chain::outbox::Kind;
use crate::chain::worker::Forwarder;
use crate::schema::{ballot_sheets, chain_outbox, meetings};

async fn call<C: SolCall>(client: &ChainClient, to: &Address, c: C) -> anyhow::Result<C::Return> {
    let out = client
        .call(to, &c.abi_encode())
        .await?
        .map_err(|(status, reason)| anyhow::anyhow!("call reverted ({status}): {reason:?}"))?;
    Ok(C::abi_decode_returns(&out)?)
}

/// What the contract decided, read back after finalize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainResult {
    /// Per ballot line: the per-option tallies and the decisions.
    pub lines: Vec<ChainLine>,
    /// Per proposal: the elected and tied candidates (bit i = candidate i; zero for yes/no proposals).
    pub elections: Vec<(u32, u32)>,
    /// The recorded served-but-silent weight and root (rule-set meetings), if recorded.
    pub served_silent: Option<(Weight, [u8; 32])>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLine {
    pub options: Vec<Weight>,
    pub quorum: bool,
    pub passed: bool,
    pub rule_quorum: bool,
    pub rule_passed: bool,
    pub binding_passed: bool,
}

/// Reads the chain's tallies and decisions of every ballot line and proposal.
pub async fn chain_result(client: &ChainClient, contract: &Address, meeting: Uuid, proposals: usize) -> anyhow::Result<ChainResult> {
    let mid: alloy_primitives::FixedBytes<32> = domain::chain_meeting_id(meeting).into();
    let silent = call(client, contract, LinliGovernance::getServedSilentCall { meetingId: mid }).await?;
    let mut lines = Vec::with_capacity(usize::from(silent.lineCount));
    for line in 0..silent.lineCount {
        let t = call(client, contract, LinliGovernance::getTallyCall { meetingId: mid, line }).await?;
        let d = call(client, contract, LinliGovernance::getLineCall { meetingId: mid, line }).await?;
        let options = t
            .areaCm2
            .iter()
            .zip(&t.heads)
            .map(|(a, h)| Weight::new(i64::try_from(*a).unwrap_or(i64::MAX), i64::from(*h)))
            .collect();
        lines.push(ChainLine {
            options,
            quorum: d.quorumMet,
            passed: d.passed,
            rule_quorum: d.ruleQuorumMet,
            rule_passed: d.rulePassed,
            binding_passed: d.bindingPassed,
        });
    }
    let mut elections = Vec::with_capacity(proposals);
    for i in 0..proposals {
        let p = call(client, contract, LinliGovernance::getProposalCall { meetingId: mid, proposalIndex: u8::try_from(i)? }).await?;
        elections.push((p.electedMask, p.tiedMask));
    }
    let served_silent = silent
        .recorded
        .then(|| (Weight::new(i64::try_from(silent.areaCm2).unwrap_or(i64::MAX), i64::from(silent.heads)), silent.servedSilentRoot.0));
    Ok(ChainResult { lines, elections, served_silent })
}

/// Whether the chain decided exactly what the server's tally of its own rows decides: every line's tallies and
/// both decisions, every election's elected and tied candidates, and the served-but-silent weight and root.
pub fn chain_agrees(server: &[tally::ProposalResult], silence: &tally::Silence, rules: tally::TallyRules, chain: &ChainResult) -> bool {
    let lines: Vec<&tally::LineResult> = server.iter().flat_map(|p| &p.lines).collect();
    let mask = |v: &[usize]| v.iter().fold(0u32, |m, c| m | (1u32 << c));
    let lines_agree = lines.len() == chain.lines.len()
        && lines.iter().zip(&chain.lines).all(|(s, c)| {
            let rule = s.rule_set.as_ref();
            s.strict.options == c.options
                && s.strict.quorum == c.quorum
                && s.strict.passed == c.passed
                && rule.is_none_or(|r| r.quorum == c.rule_quorum && r.passed == c.rule_passed)
                && s.binding().passed == c.binding_passed
        });
    let elections_agree = server.len() == chain.elections.len()
        && server.iter().zip(&chain.elections).all(|(s, &(elected, tied))| match &s.election {
            None => (elected, tied) == (0, 0),
            Some(e) => (mask(&e.elected), mask(&e.tied)) == (elected, tied),
        });
    let silent_agrees = match (rules.any(), chain.served_silent) {
        (false, None) => true,
        (true, Some((weight, root))) => weight == silence.weight && root == tally::served_silent_root(&silence.keys),
        _ => false,
    };
    lines_agree && elections_agree && silent_agrees
}

/// One roll key as the result publishes it (issue 24 item 10): the sheet that covers it, how it was served, whether
/// it is silent or had no caster. Never a choice: a recount joins the sheet hash with the chain's events.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RollKeyFlags {
    pub key: String,
    /// hex sha256 of the live sheet that covers the key (its caster's, own or through the proxy), if any.
    pub voted_by: Option<String>,
    /// The key's caster holds a staff-approved written proxy for it.
    pub proxy: bool,
    /// Every proof of service that counts, earliest first.
    pub served: Vec<super::service::Proof>,
    pub silent: bool,
    pub without_caster: bool,
}

/// The flags of every roll key, in the roll's order.
pub fn roll_key_flags(
    roll: &[domain::RollEntry],
    live: &std::collections::BTreeMap<tally::Caster, String>,
    proofs: &std::collections::BTreeMap<String, Vec<super::service::Proof>>,
    silence: &tally::Silence,
) -> Vec<RollKeyFlags> {
    roll.iter()
        .map(|e| {
            let caster = e.voter.map(|account| tally::Caster { account, proxy: e.proxy });
            RollKeyFlags {
                key: e.key.clone(),
                voted_by: caster.and_then(|c| live.get(&c).cloned()),
                proxy: e.proxy.is_some(),
                served: proofs.get(&e.key).cloned().unwrap_or_default(),
                silent: silence.keys.binary_search(&e.key).is_ok(),
                without_caster: caster.is_none(),
            }
        })
        .collect()
}

/// One proposal of the result document: its text, its lines under both countings and what binds.
fn proposal_document(p: &store::ProposalRow, r: &tally::ProposalResult, attachments: &[super::attachments::AttachmentView]) -> serde_json::Value {
    let three_quarters = (6..=8).contains(&p.matter);
    let names = p.candidate_names();
    let lines: Vec<serde_json::Value> = r
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut v = json!({
                "strict": line.strict,
                "rule_set": line.rule_set,
                "passed": line.binding().passed,
            });
            if let Some(e) = &r.election {
                v["candidate"] = json!(names.get(i));
                v["elected"] = json!(e.elected.contains(&i));
                v["tied"] = json!(e.tied.contains(&i));
            }
            v
        })
        .collect();
    let named = |v: &[usize]| v.iter().filter_map(|&i| names.get(i).cloned()).collect::<Vec<_>>();
    let mut doc = json!({
        "index": p.idx,
        "matter": p.matter,
        "kind": p.kind,
        "title": p.title,
        "options": p.options,
        "content_hash": hex::encode(&p.content_hash),
        // In order: with the text, the inputs of content_hash (governance::domain::proposal_content_hash).
        "attachments": attachments
            .iter()
            .filter(|a| a.proposal_idx == p.idx)
            .map(|a| json!({"file_name": a.file_name, "sha256": hex::encode(&a.sha256)}))
            .collect::<Vec<_>>(),
        "quorum_rule": "3*participating_area >= 2*total_area AND 3*participating_heads >= 2*total_heads",
        "pass_rule": if three_quarters { "4*yes >= 3*participating (area and heads)" } else { "2*yes > participating (area and heads)" },
        "lines": lines,
        // The binding decision: a yes/no proposal's line; an election filled at least one seat.
        "passed": r.passed(),
    });
    if let Some(e) = &r.election {
        doc["seats"] = json!(e.seats);
        doc["ranking"] = json!(named(&e.ranking));
        doc["elected"] = json!(named(&e.elected));
        doc["tied"] = json!(named(&e.tied));
    }
    doc
}

/// The transactions (`0x…`, queue order) of the meeting's sheets' outbox rows of `kind`: casts or reveals.
async fn transactions_of_sheets(conn: &mut AsyncPgConnection, meeting: Uuid, kind: Kind) -> QueryResult<Vec<String>> {
    Ok(chain_outbox::table
        .inner_join(ballot_sheets::table.on(ballot_sheets::id.eq(chain_outbox::subject_id)))
        .filter(ballot_sheets::meeting_id.eq(meeting))
        .filter(chain_outbox::kind.eq(kind.as_str()))
        .order(chain_outbox::id.asc())
        .select(chain_outbox::tx_hash)
        .load::<Option<Vec<u8>>>(conn)
        .await?
        .into_iter()
        .flatten()
        .map(|h| format!("0x{}", hex::encode(h)))
        .collect())
}

/// After the finalize transaction committed: compare and publish. Returns whether chain and server agree.
pub async fn publish_after_finalize(
    conn: &mut AsyncPgConnection,
    forwarder: &Forwarder,
    target: &(ChainClient, Address),
    meeting_id: Uuid,
) -> anyhow::Result<bool> {
    let m = store::meeting(conn, meeting_id).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let input = store::tally_input(conn, &m).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let silence = store::silence(conn, &m).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let service = store::service_summary(conn, &m).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let server = tally::tally(&input)?;
    // Where the binding (rule-set) decision differs from the returned sheets': it rests on the proof of service.
    let warnings = super::service::silent_weight_warnings(&server, input.served_silent);
    let chain = chain_result(&target.0, &target.1, meeting_id, input.proposals.len()).await?;
    // What went on chain at close is what the server recomputes now (service and sheets cannot change after it);
    // it decides only rule-set meetings.
    let stored_silence = (m.served_silent_area_centi_m2, m.served_silent_heads, m.served_silent_root.as_deref());
    let root = tally::served_silent_root(&silence.keys);
    let agree = chain_agrees(&server, &silence, input.rules, &chain)
        && (!input.rules.any() || stored_silence == (Some(silence.weight.area_centi_m2), Some(silence.weight.heads), Some(&root[..])));
    let props = store::proposals(conn, meeting_id).await?;
    let refs: Vec<(String, Option<Vec<u8>>, Option<i64>)> = chain_outbox::table
        .filter(chain_outbox::subject_id.eq(meeting_id))
        .order(chain_outbox::id.asc())
        .select((chain_outbox::kind, chain_outbox::tx_hash, chain_outbox::block_number))
        .load(conn)
        .await?;
    let live = ballot_sheets::superseded_by.is_null();
    let sheets: i64 = ballot_sheets::table.filter(ballot_sheets::meeting_id.eq(meeting_id)).filter(live).count().get_result(conn).await?;
    let changed_sheets: i64 = ballot_sheets::table
        .filter(ballot_sheets::meeting_id.eq(meeting_id))
        .filter(ballot_sheets::superseded_by.is_not_null())
        .count()
        .get_result(conn)
        .await?;
    let proxy_sheets: i64 = ballot_sheets::table
        .filter(ballot_sheets::meeting_id.eq(meeting_id))
        .filter(live)
        .filter(ballot_sheets::proxy_id.is_not_null())
        .count()
        .get_result(conn)
        .await?;
    let attachments = super::attachments::list(conn, meeting_id).await?;
    // Per roll key, and every sheet's transaction (changes included), so anyone can recount from the chain.
    let live: std::collections::BTreeMap<tally::Caster, String> = ballot_sheets::table
        .filter(ballot_sheets::meeting_id.eq(meeting_id))
        .filter(ballot_sheets::superseded_by.is_null())
        .select((ballot_sheets::account_id, ballot_sheets::proxy_id, ballot_sheets::sheet_hash))
        .load::<(Uuid, Option<Uuid>, Vec<u8>)>(conn)
        .await?
        .into_iter()
        .map(|(account, proxy, hash)| (tally::Caster { account, proxy }, hex::encode(hash)))
        .collect();
    let roll = store::roll(conn, meeting_id).await?;
    let roll_keys = roll_key_flags(&roll, &live, &service.proofs, &silence);
    let sheet_transactions = transactions_of_sheets(conn, meeting_id, Kind::CastSheet).await?;
    // Every reveal's transaction (the live sheets' choices, opened after the window), in queue order.
    let reveal_transactions = transactions_of_sheets(conn, meeting_id, Kind::RevealSheet).await?;
    let proposals_doc: Vec<serde_json::Value> = props.iter().zip(&server).map(|(p, r)| proposal_document(p, r, &attachments)).collect();
    let rules = m.frozen_rules.clone().unwrap_or_else(|| super::rules::frozen_rules(input.rules, m.count_parking_spaces));
    let doc = json!({
        "type": "linli-meeting-result-v3",
        "meeting_id": m.id,
        "community_id": m.community_id,
        "title": m.title,
        "chain_meeting_id": hex::encode(&m.chain_meeting_id),
        "voting_starts_at": m.voting_starts_at,
        "voting_ends_at": m.voting_ends_at,
        "roll_hash": m.roll_hash.as_ref().map(hex::encode),
        "roll_total_area_centi_m2": m.roll_area_centi_m2,
        "roll_total_heads": m.roll_heads,
        "sheets": sheets,
        // Of which cast by a holder of a staff-approved written proxy for the principal's key.
        "proxy_sheets": proxy_sheets,
        // Sheets replaced by a later sheet of the same caster (vote changes); not in "sheets", not counted.
        "changed_sheets": changed_sheets,
        "binding_tally": if input.rules.any() { "rule_set" } else { "strict" },
        "proposals": proposals_doc,
        "chain": refs.iter().map(|(k, h, b)| json!({"kind": k, "tx_hash": h.as_ref().map(|h| format!("0x{}", hex::encode(h))), "block_number": b})).collect::<Vec<_>>(),
        // Every sheet's transaction, in queue order, and every reveal's: with `chain`, all the transactions a
        // recount reads.
        "sheet_transactions": sheet_transactions,
        "reveal_transactions": reveal_transactions,
        "roll_keys": roll_keys,
        "chain_agrees": agree,
        "rules": rules,
        // Proof of service (DESIGN §5): what the rule-set tally's served-but-silent weight rests on.
        "service": {
            "notices": service.notices,
            "sent": service.sent,
            "failed": service.failed,
            "unknown": service.unknown,
            "read": service.read,
            "served_keys": service.served_keys_count,
            "served_silent": input.served_silent,
            // The roll keys behind served_silent; the chain holds servedSilentRoot over them (tally::served_silent_root).
            "served_silent_keys": silence.keys,
            "served_silent_root": hex::encode(root),
            // Keys nobody could vote for (no designated caster on the frozen roll): never silent, never weighted;
            // each is flagged in roll_keys.
            "keys_without_caster": silence.without_caster.len(),
            "weight_without_caster": silence.without_caster_weight,
            "silent_rule": "silent = a caster on the frozen roll, served, no live sheet for the key",
            "served_keys_by_channel": service.served_keys_by_channel,
            "service_records": service.service_records,
            "accepted_without_service": service.accepted_without_service,
            "served_rule": super::service::SERVED_RULE,
            "consequence_of_not_voting": super::service::consequence_of_not_voting(input.rules).map(|c| c.full),
        },
        "warnings": warnings,
    });
    let bytes = serde_json::to_vec(&doc)?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    // "ed25519:<public key>:<signature over the compact JSON bytes of the document>", both base64.
    let signature = format!(
        "ed25519:{}:{}",
        b64(ring::signature::KeyPair::public_key(&forwarder.platform_key).as_ref()),
        b64(forwarder.platform_key.sign(&bytes).as_ref())
    );
    match super::lifecycle::transition(m.state().map_err(|e| anyhow::anyhow!("{e:?}"))?, Action::Finalize { chain_agrees: agree }, &m.facts()) {
        Ok(_) => {}
        Err(refusal) if refusal == super::lifecycle::RESULT_MISMATCH => {}
        Err(refusal) => anyhow::bail!("meeting {meeting_id} cannot be finalized: {}", refusal.code),
    }
    if agree {
        // The document's hash and the key that signed it go on chain, so any copy can be checked against both.
        let sha256: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref().try_into()?;
        let public_key: [u8; 32] = ring::signature::KeyPair::public_key(&forwarder.platform_key).as_ref().try_into()?;
        diesel::update(meetings::table.find(meeting_id))
            .set((
                meetings::status.eq(MeetingState::Finalized.as_str()),
                meetings::finalized_at.eq(chrono::Utc::now()),
                meetings::result.eq(&doc),
                meetings::result_signature.eq(&signature),
                meetings::result_sha256.eq(sha256.to_vec()),
            ))
            .execute(conn)
            .await?;
        let call = LinliGovernance::recordResultCall {
            meetingId: domain::chain_meeting_id(meeting_id).into(),
            resultHash: sha256.into(),
            signingKey: public_key.into(),
        };
        crate::chain::outbox::enqueue_once(conn, m.community_id, Kind::RecordResult, meeting_id, call.abi_encode()).await?;
    } else {
        tracing::error!(meeting = %meeting_id, "ALARM: the chain's tally differs from the server's; result not published");
        diesel::update(meetings::table.find(meeting_id))
            .set((meetings::result_mismatch.eq(true), meetings::result.eq(&doc)))
            .execute(conn)
            .await?;
    }
    Ok(agree)
}

/// The printable HTML page of a result document (escaped; no scripts, no external resources).
/// `chart_png` (the result chart) is embedded as a data URI so the page stays one self-contained printable file.
pub fn result_html(doc: &serde_json::Value, signature: &str, chart_png: Option<&[u8]>) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    }
    let area = |v: &serde_json::Value| {
        let c = v.as_i64().unwrap_or(0);
        format!("{}.{:02}", c / 100, c % 100)
    };
    let mut h = String::from("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>表决结果</title>");
    h.push_str("<style>body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #888;padding:.2em .5em}</style></head><body>");
    h.push_str(&format!("<h1>{}</h1>", esc(doc["title"].as_str().unwrap_or_default())));
    h.push_str(&format!(
        "<p>投票期 {} — {}<br>名册哈希 <code>{}</code><br>总面积 {} m²，总人数 {}，表决票 {}（其中书面委托代投 {}）</p>",
        esc(&doc["voting_starts_at"].to_string()),
        esc(&doc["voting_ends_at"].to_string()),
        esc(doc["roll_hash"].as_str().unwrap_or_default()),
        area(&doc["roll_total_area_centi_m2"]),
        doc["roll_total_heads"],
        doc["sheets"],
        doc["proxy_sheets"].as_i64().unwrap_or(0)
    ));
    if let Some(png) = chart_png {
        h.push_str(&format!(
            "<figure><img alt=\"各议题各选项的面积与人数柱状图\" src=\"data:image/png;base64,{}\"><figcaption>每个议题一行：左组为面积，右组为人数（各组按最大值缩放）；颜色对应下表选项，数值见下表。</figcaption></figure>",
            base64::engine::general_purpose::STANDARD.encode(png)
        ));
    }
    let sv = &doc["service"];
    if sv.is_object() {
        h.push_str(&format!(
            "<p>送达：通知 {} 人，微信送达 {}，失败 {}，结果不明 {}，已读 {}；已送达未表决 面积 {} m²，人数 {}</p>",
            sv["notices"], sv["sent"], sv["failed"], sv["unknown"], sv["read"],
            area(&sv["served_silent"]["area_centi_m2"]), sv["served_silent"]["heads"]
        ));
        let by_channel: Vec<String> = [
            ("wechat_accepted_with_consent", "微信送达（已同意电子送达）"),
            ("read_receipt", "已读回执"),
            ("paper_hand_delivery", "纸质直接送达"),
            ("registered_mail", "挂号信"),
            ("posting", "张贴公告"),
        ]
        .iter()
        .filter_map(|(k, label)| sv["served_keys_by_channel"][k].as_i64().map(|n| format!("{label} {n}")))
        .collect();
        if !by_channel.is_empty() {
            h.push_str(&format!(
                "<p>投票开始前已送达的表决权人（按送达方式）：{}；微信已接收但未同意电子送达且未读（不计为送达）{}</p>",
                esc(&by_channel.join("，")),
                sv["accepted_without_service"].as_i64().unwrap_or(0)
            ));
        }
        if let Some(c) = sv["consequence_of_not_voting"].as_str() {
            h.push_str(&format!("<p>通知所载未表决的后果：{}</p>", esc(c)));
        }
    }
    for w in doc["warnings"].as_array().into_iter().flatten() {
        h.push_str(&format!("<p style=\"border:2px solid #c62828;padding:.5em\"><strong>警示</strong>：{}</p>", esc(w["message"].as_str().unwrap_or_default())));
    }
    let decided = |v: &serde_json::Value| if *v == true { "通过" } else { "未通过" };
    let reached = |v: &serde_json::Value| if *v == true { "已达到" } else { "未达到" };
    for p in doc["proposals"].as_array().into_iter().flatten() {
        h.push_str(&format!("<h2>议题 {}（事项 {}）：{}</h2>", p["index"], p["matter"], esc(p["title"].as_str().unwrap_or_default())));
        h.push_str(&format!("<p>法定人数：{}<br>通过规则：{}</p>", esc(p["quorum_rule"].as_str().unwrap_or_default()), esc(p["pass_rule"].as_str().unwrap_or_default())));
        let election = p["kind"] == "election";
        if election {
            h.push_str(&format!("<p>选举：应选 {} 名；每名候选人单独表决（同意／反对／弃权）</p>", p["seats"]));
        }
        let labels = p["options"].as_array().cloned().unwrap_or_default();
        for line in p["lines"].as_array().into_iter().flatten() {
            if election {
                h.push_str(&format!("<h3>候选人：{}</h3>", esc(line["candidate"].as_str().unwrap_or_default())));
            }
            h.push_str("<table><tr><th>选项</th><th>面积 m²</th><th>人数</th></tr>");
            for (i, w) in line["strict"]["options"].as_array().into_iter().flatten().enumerate() {
                let label = labels.get(i).and_then(|l| l.as_str()).unwrap_or("?");
                let c = super::chart::colour(i).0;
                h.push_str(&format!(
                    "<tr><td><span style=\"display:inline-block;width:1em;height:1em;background:#{:02x}{:02x}{:02x}\"></span> {}</td><td>{}</td><td>{}</td></tr>",
                    c[0], c[1], c[2], esc(label), area(&w["area_centi_m2"]), w["heads"]
                ));
            }
            h.push_str(&format!(
                "<tr><td>参与</td><td>{}</td><td>{}</td></tr></table><p>仅计表决票：法定人数{}，{}</p>",
                area(&line["strict"]["participation"]["area_centi_m2"]),
                line["strict"]["participation"]["heads"],
                reached(&line["strict"]["quorum"]),
                decided(&line["strict"]["passed"])
            ));
            let rs = &line["rule_set"];
            if rs.is_object() {
                h.push_str(&format!(
                    "<p>按议事规则（已送达未表决者计入，为有效结果）：参与面积 {} m²，人数 {}，同意面积 {} m²，人数 {}；法定人数{}，{}</p>",
                    area(&rs["participation"]["area_centi_m2"]),
                    rs["participation"]["heads"],
                    area(&rs["options"][0]["area_centi_m2"]),
                    rs["options"][0]["heads"],
                    reached(&rs["quorum"]),
                    decided(&rs["passed"])
                ));
            }
            if election {
                let outcome = if line["elected"] == true {
                    "当选"
                } else if line["tied"] == true {
                    "票数相同，未定"
                } else {
                    "未当选"
                };
                h.push_str(&format!("<p>结果：<strong>{outcome}</strong></p>"));
            } else {
                h.push_str(&format!("<p>结果：<strong>{}</strong></p>", decided(&line["passed"])));
            }
        }
        if election {
            let names = |k: &str| p[k].as_array().into_iter().flatten().filter_map(|n| n.as_str()).map(esc).collect::<Vec<_>>().join("、");
            h.push_str(&format!("<p>当选：<strong>{}</strong>", names("elected")));
            if p["tied"].as_array().is_some_and(|t| !t.is_empty()) {
                h.push_str(&format!("；票数相同、由业主委员会依议事规则决定：{}", names("tied")));
            }
            h.push_str("</p>");
        }
    }
    h.push_str("<h2>链上记录</h2><ul>");
    for c in doc["chain"].as_array().into_iter().flatten() {
        h.push_str(&format!("<li>{} <code>{}</code> 区块 {}</li>", esc(c["kind"].as_str().unwrap_or_default()), esc(c["tx_hash"].as_str().unwrap_or_default()), c["block_number"]));
    }
    h.push_str(&format!("</ul><p>平台签名（Ed25519，base64）：<code>{}</code></p></body></html>", esc(signature)));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_text_and_formats_areas() {
        let line = json!({"strict": {"options": [{"area_centi_m2": 905, "heads": 1}], "participation": {"area_centi_m2": 905, "heads": 1}, "quorum": true, "passed": true},
                          "passed": true});
        let doc = json!({
            "title": "<script>x</script>",
            "roll_total_area_centi_m2": 1234567,
            "proposals": [{"index": 0, "matter": 5, "kind": "yes_no", "title": "a&b", "options": ["同意"], "lines": [line], "passed": true}],
        });
        let h = result_html(&doc, "sig", Some(b"\x89PNG"));
        assert!(h.contains("data:image/png;base64,iVBORw==") && h.contains("background:#2e7d32"));
        assert!(h.contains("&lt;script&gt;") && !h.contains("<script>"));
        assert!(h.contains("12345.67") && h.contains("9.05") && h.contains("a&amp;b") && h.contains("通过"));
        assert!(!h.contains("警示"), "no warning in a document without one");
    }

    #[test]
    fn html_prints_each_warning_and_the_service_by_channel() {
        let doc = json!({
            "title": "t",
            "proposals": [],
            "service": {"notices": 2, "sent": 2, "failed": 0, "unknown": 0, "read": 1,
                        "served_silent": {"area_centi_m2": 4786, "heads": 1},
                        "served_keys_by_channel": {"read_receipt": 1, "posting": 3},
                        "accepted_without_service": 1,
                        "consequence_of_not_voting": "视为参与表决<>"},
            "warnings": [{"code": "binding_result_rests_on_silent_weight", "message": "议题 0：取决于送达证明"}],
        });
        let h = result_html(&doc, "sig", None);
        assert!(h.contains("<strong>警示</strong>：议题 0：取决于送达证明"), "{h}");
        assert!(h.contains("已读回执 1，张贴公告 3") && h.contains("不计为送达）1"), "{h}");
        assert!(h.contains("视为参与表决&lt;&gt;"));
    }

    #[test]
    fn roll_key_flags_name_the_covering_sheet_the_service_and_the_silence() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let entry = |key: &str, voter: Option<Uuid>, proxy: Option<Uuid>| domain::RollEntry { key: key.into(), area_centi_m2: 100, units: vec![], voter, proxy };
        let roll = [entry("k1", Some(a), None), entry("k2", Some(a), Some(Uuid::from_u128(9))), entry("k3", Some(b), None), entry("k4", None, None)];
        let live = std::collections::BTreeMap::from([(tally::Caster { account: a, proxy: None }, "aa".to_owned())]);
        let at = chrono::DateTime::from_timestamp(1_000, 0).unwrap();
        let proof = super::super::service::Proof { at, channel: super::super::service::Channel::ReadReceipt };
        let proofs = std::collections::BTreeMap::from([("k3".to_owned(), vec![proof])]);
        let silence = tally::Silence { keys: vec!["k3".into()], without_caster: vec!["k4".into()], ..Default::default() };
        let flags = roll_key_flags(&roll, &live, &proofs, &silence);
        let summary: Vec<_> = flags.iter().map(|f| (f.key.as_str(), f.voted_by.as_deref(), f.proxy, f.served.len(), f.silent, f.without_caster)).collect();
        assert_eq!(summary, [
            ("k1", Some("aa"), false, 0, false, false),
            // The holder's own sheet does not cover the key they hold a proxy for.
            ("k2", None, true, 0, false, false),
            ("k3", None, false, 1, true, false),
            ("k4", None, false, 0, false, true),
        ]);
    }

    #[test]
    fn html_names_the_elected_and_the_tied() {
        let line = |name: &str, elected: bool, tied: bool| json!({"candidate": name, "elected": elected, "tied": tied, "passed": true,
            "strict": {"options": [], "participation": {"area_centi_m2": 0, "heads": 0}, "quorum": true, "passed": true}});
        let doc = json!({"proposals": [{"index": 0, "matter": 3, "kind": "election", "seats": 2, "title": "选举",
            "lines": [line("张三", true, false), line("李<四>", false, true), line("王五", false, true)],
            "elected": ["张三"], "tied": ["李<四>", "王五"]}]});
        let h = result_html(&doc, "sig", None);
        assert!(h.contains("应选 2 名") && h.contains("候选人：张三") && h.contains("当选：<strong>张三</strong>"));
        assert!(h.contains("李&lt;四&gt;、王五") && h.contains("票数相同，未定"));
    }
}
