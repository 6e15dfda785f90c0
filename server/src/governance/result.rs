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
use crate::chain::worker::Forwarder;
use crate::schema::{ballot_sheets, chain_outbox, meetings};

async fn call<C: SolCall>(client: &ChainClient, to: &Address, c: C) -> anyhow::Result<C::Return> {
    let out = client
        .call(to, &c.abi_encode())
        .await?
        .map_err(|(status, reason)| anyhow::anyhow!("call reverted ({status}): {reason:?}"))?;
    Ok(C::abi_decode_returns(&out)?)
}

/// Reads the chain's per-option tallies and decisions of every proposal.
pub async fn chain_result(
    client: &ChainClient,
    contract: &Address,
    meeting: Uuid,
    proposals: usize,
) -> anyhow::Result<Vec<(Vec<Weight>, bool, bool)>> {
    let mid = domain::chain_meeting_id(meeting);
    let mut out = Vec::with_capacity(proposals);
    for i in 0..proposals {
        let idx = u8::try_from(i)?;
        let t = call(client, contract, LinliGovernance::getTallyCall { meetingId: mid.into(), proposalIndex: idx }).await?;
        let p = call(client, contract, LinliGovernance::getProposalCall { meetingId: mid.into(), proposalIndex: idx }).await?;
        let weights = t
            .areaCm2
            .iter()
            .zip(&t.heads)
            .map(|(a, h)| Weight::new(i64::try_from(*a).unwrap_or(i64::MAX), i64::from(*h)))
            .collect();
        out.push((weights, p.quorumMet, p.passed));
    }
    Ok(out)
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
    let service = store::service_summary(conn, &m).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let server = tally::tally(&input)?;
    let chain = chain_result(&target.0, &target.1, meeting_id, input.proposals.len()).await?;
    let agree = server.len() == chain.len()
        && server.iter().zip(&chain).all(|(s, (w, q, p))| s.strict.options == *w && s.strict.quorum == *q && s.strict.passed == *p);
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
    let proposals_doc: Vec<serde_json::Value> = props
        .iter()
        .zip(&server)
        .map(|(p, r)| {
            let three_quarters = (6..=8).contains(&p.matter);
            json!({
                "index": p.idx,
                "matter": p.matter,
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
                "strict": r.strict,
                "rule_set": r.rule_set.as_ref().filter(|rs| **rs != r.strict),
                "passed": r.strict.passed,
            })
        })
        .collect();
    let mut doc = json!({
        "type": "linli-meeting-result-v1",
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
        "proposals": proposals_doc,
        "chain": refs.iter().map(|(k, h, b)| json!({"kind": k, "tx_hash": h.as_ref().map(|h| format!("0x{}", hex::encode(h))), "block_number": b})).collect::<Vec<_>>(),
        "chain_agrees": agree,
        "rules": input.rules,
        // Proof of service (DESIGN §5): what the rule-set tally's served-but-silent weight rests on.
        "service": {
            "notices": service.notices,
            "sent": service.sent,
            "failed": service.failed,
            "unknown": service.unknown,
            "read": service.read,
            "served_keys": service.served_keys_count,
            "served_silent": input.served_silent,
            "served_rule": "served = WeChat accepted the notice or the owner opened it, before voting ended; silent = no sheet for the key",
        },
    });
    // Who voted for a co-owned unit (governance::co_owners).
    doc["rules"]["co_owner_voter"] = json!(super::co_owners::RULE);
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
        diesel::update(meetings::table.find(meeting_id))
            .set((
                meetings::status.eq(MeetingState::Finalized.as_str()),
                meetings::finalized_at.eq(chrono::Utc::now()),
                meetings::result.eq(&doc),
                meetings::result_signature.eq(&signature),
            ))
            .execute(conn)
            .await?;
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
    }
    for p in doc["proposals"].as_array().into_iter().flatten() {
        h.push_str(&format!("<h2>议题 {}（事项 {}）：{}</h2>", p["index"], p["matter"], esc(p["title"].as_str().unwrap_or_default())));
        h.push_str(&format!("<p>法定人数：{}<br>通过规则：{}</p>", esc(p["quorum_rule"].as_str().unwrap_or_default()), esc(p["pass_rule"].as_str().unwrap_or_default())));
        h.push_str("<table><tr><th>选项</th><th>面积 m²</th><th>人数</th></tr>");
        let labels = p["options"].as_array().cloned().unwrap_or_default();
        for (i, w) in p["strict"]["options"].as_array().into_iter().flatten().enumerate() {
            let label = labels.get(i).and_then(|l| l.as_str()).unwrap_or("?");
            let c = super::chart::colour(i).0;
            h.push_str(&format!(
                "<tr><td><span style=\"display:inline-block;width:1em;height:1em;background:#{:02x}{:02x}{:02x}\"></span> {}</td><td>{}</td><td>{}</td></tr>",
                c[0], c[1], c[2], esc(label), area(&w["area_centi_m2"]), w["heads"]
            ));
        }
        h.push_str(&format!(
            "<tr><td>参与</td><td>{}</td><td>{}</td></tr></table><p>法定人数{}；结果：<strong>{}</strong></p>",
            area(&p["strict"]["participation"]["area_centi_m2"]),
            p["strict"]["participation"]["heads"],
            if p["strict"]["quorum"] == true { "已达到" } else { "未达到" },
            if p["passed"] == true { "通过" } else { "未通过" }
        ));
        let rs = &p["rule_set"];
        if rs.is_object() {
            h.push_str(&format!(
                "<p>按议事规则（已送达未表决者计入）：参与面积 {} m²，人数 {}，同意面积 {} m²，人数 {}；法定人数{}；结果：<strong>{}</strong></p>",
                area(&rs["participation"]["area_centi_m2"]),
                rs["participation"]["heads"],
                area(&rs["options"][0]["area_centi_m2"]),
                rs["options"][0]["heads"],
                if rs["quorum"] == true { "已达到" } else { "未达到" },
                if rs["passed"] == true { "通过" } else { "未通过" }
            ));
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
        let doc = json!({
            "title": "<script>x</script>",
            "roll_total_area_centi_m2": 1234567,
            "proposals": [{"index": 0, "matter": 5, "title": "a&b", "options": ["同意"],
                           "strict": {"options": [{"area_centi_m2": 905, "heads": 1}], "participation": {"area_centi_m2": 905, "heads": 1}, "quorum": true},
                           "passed": true}],
        });
        let h = result_html(&doc, "sig", Some(b"\x89PNG"));
        assert!(h.contains("data:image/png;base64,iVBORw==") && h.contains("background:#2e7d32"));
        assert!(h.contains("&lt;script&gt;") && !h.contains("<script>"));
        assert!(h.contains("12345.67") && h.contains("9.05") && h.contains("a&amp;b") && h.contains("通过"));
    }
}
