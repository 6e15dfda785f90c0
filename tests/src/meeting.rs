//! Owners' meetings from the outside: committee members, a meeting drafted, reviewed and opened through the API,
//! enrolled voters, and ballot sheets sent as the mini-program sends them (device-signed, PIN, Idempotency-Key),
//! retried with the same key until the server answers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::client::sign_request;
use crate::owner::{DemoPerson, Owner, demo_persons, unit_id};
use crate::world::World;

/// A PIN the server's policy accepts for this person (not built from their birth date or ID number).
pub fn pin_for(person: &DemoPerson) -> String {
    let birth = person.id_number.get(6..14).unwrap_or_default();
    let tail = person.id_number.get(12..18).unwrap_or_default();
    let parts = [birth.get(4..8), birth.get(2..6), birth.get(6..8)];
    ["739415", "846203", "592730", "307948"]
        .into_iter()
        .find(|p| parts.iter().flatten().all(|part| !p.contains(part)) && *p != tail)
        .unwrap_or("739415")
        .to_owned()
}

/// Logs in `openid` and grants it the committee role of the world's community (directly in the database: the
/// role grant is an operator command, not an API).
pub async fn committee(world: &World, openid: &str) -> anyhow::Result<Owner> {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let s = Owner::login(world, openid).await?;
    let mut conn = AsyncPgConnection::establish(world.db.url()).await?;
    linli_server::auth::roles::grant(&mut conn, s.account_id, world.community_id, linli_server::auth::Role::Committee).await?;
    Ok(s)
}

/// A matter-5 and a matter-7 proposal, options yes / no / abstain.
pub fn two_proposals() -> Value {
    json!([
        {"matter": 5, "title": "更换电梯", "body": "使用维修资金更换电梯"},
        {"matter": 7, "title": "外墙翻新", "body": "翻新外墙"}
    ])
}

/// Drafts, submits, reviews (two committee members) and opens a meeting with the default rules; the roll
/// freezes now.
pub async fn open_meeting(
    world: &World,
    a: &Owner,
    b: &Owner,
    title: &str,
    proposals: Value,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
) -> anyhow::Result<Uuid> {
    open_meeting_with_rules(world, a, b, title, proposals, json!({}), starts, ends).await
}

/// [`open_meeting`] with the given rule-set (e.g. `{"vote_change_allowed": true}`).
#[allow(clippy::too_many_arguments)]
pub async fn open_meeting_with_rules(
    world: &World,
    a: &Owner,
    b: &Owner,
    title: &str,
    proposals: Value,
    rules: Value,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
) -> anyhow::Result<Uuid> {
    let draft = json!({
        "title": title,
        "proposals": proposals,
        "rules": rules,
        "notice_days": 0,
        "voting_starts_at": starts.to_rfc3339(),
        "voting_ends_at": ends.to_rfc3339()
    });
    let resp = a.post(&format!("/v1/communities/{}/meetings", world.community_id), &draft).await?;
    anyhow::ensure!(resp.status() == 201, "draft: {}", resp.text().await?);
    let m: Value = resp.json().await?;
    let id: Uuid = m["id"].as_str().unwrap_or_default().parse()?;
    for (who, step) in [(a, "submit"), (a, "committee-review"), (b, "committee-review"), (b, "open")] {
        let r = who.post(&format!("/v1/meetings/{id}/{step}"), &json!({"approved": true})).await?;
        anyhow::ensure!(r.status() == 200, "{step}: {}", r.text().await?);
    }
    Ok(id)
}

/// Waits until a meeting's voting window has opened (`voting_starts_at`), with a margin for clock reads.
pub async fn until_voting_opens(starts: DateTime<Utc>) {
    tokio::time::sleep((starts - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200)).await;
}

/// Closes a meeting after its window (committee): queues the finalize.
pub async fn close_meeting(member: &Owner, meeting: Uuid) -> anyhow::Result<()> {
    let r = member.post(&format!("/v1/meetings/{meeting}/close"), &json!({})).await?;
    anyhow::ensure!(r.status() == 200, "close: {}", r.text().await?);
    Ok(())
}

/// The demo persons with faces, one per unit (a co-owned unit has one voter on the roll).
pub async fn voter_persons(world: &World) -> anyhow::Result<Vec<DemoPerson>> {
    let mut seen = std::collections::BTreeSet::new();
    Ok(demo_persons(world).await?.into_iter().filter(|p| seen.insert((p.building.clone(), p.unit.clone()))).collect())
}

/// An enrolled voter: the owner session, the person and their PIN.
pub struct Voter {
    pub owner: Owner,
    pub person: DemoPerson,
    pub pin: String,
}

/// Enrolls the first `n` demo persons (each with their first unit) under openids `<prefix>-<i>`, skipping a person
/// whose unit an earlier one already holds: a co-owned unit has one voter on the roll.
pub async fn enroll_voters(world: &World, prefix: &str, n: usize) -> anyhow::Result<Vec<Voter>> {
    let persons = voter_persons(world).await?;
    anyhow::ensure!(persons.len() >= n, "the demo register has {} voters with faces in distinct units, {n} wanted", persons.len());
    let mut out = Vec::with_capacity(n);
    for (i, person) in persons.into_iter().take(n).enumerate() {
        let mut owner = Owner::login(world, &format!("{prefix}-{i}")).await?;
        let unit = unit_id(world, &person.building, &person.unit).await?;
        let pin = pin_for(&person);
        owner.enroll(world, unit, &person, &pin).await?;
        out.push(Voter { owner, person, pin });
    }
    Ok(out)
}

/// The server's final answer to a sheet, after however many attempts it took.
#[derive(Debug, Clone)]
pub struct SheetAnswer {
    pub status: u16,
    pub body: Value,
    pub attempts: u32,
}

/// Sends one ballot sheet (a fresh device signature per attempt, as a phone would re-sign) with `idempotency_key`,
/// retrying while the server is unreachable, answers 5xx, or says the same key is still in progress. Gives up
/// (error) after `give_up`.
pub async fn submit_sheet(
    voter: &Voter,
    meeting: Uuid,
    choices: &[u8],
    idempotency_key: &str,
    give_up: Duration,
) -> anyhow::Result<SheetAnswer> {
    submit_sheet_body(voter, meeting, &json!({"pin": voter.pin, "choices": choices}), idempotency_key, give_up).await
}

/// [`submit_sheet`] for the principal of a written proxy the voter holds.
pub async fn submit_proxy_sheet(
    voter: &Voter,
    meeting: Uuid,
    proxy: Uuid,
    choices: &[u8],
    idempotency_key: &str,
    give_up: Duration,
) -> anyhow::Result<SheetAnswer> {
    let body = json!({"pin": voter.pin, "choices": choices, "proxy_id": proxy});
    submit_sheet_body(voter, meeting, &body, idempotency_key, give_up).await
}

/// [`submit_sheet`] with a body of the caller's making (e.g. an election's choices per candidate).
pub async fn submit_sheet_json(voter: &Voter, meeting: Uuid, body: &Value, idempotency_key: &str, give_up: Duration) -> anyhow::Result<SheetAnswer> {
    submit_sheet_body(voter, meeting, body, idempotency_key, give_up).await
}

async fn submit_sheet_body(
    voter: &Voter,
    meeting: Uuid,
    body: &Value,
    idempotency_key: &str,
    give_up: Duration,
) -> anyhow::Result<SheetAnswer> {
    let path = format!("/v1/meetings/{meeting}/sheets");
    let bytes = serde_json::to_vec(body)?;
    let key = voter.owner.key.as_ref().ok_or_else(|| anyhow::anyhow!("voter has no device key"))?;
    let serial = voter.owner.serial.as_deref().ok_or_else(|| anyhow::anyhow!("voter has no certificate"))?;
    let deadline = std::time::Instant::now() + give_up;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut headers = sign_request(key, serial, "POST", &path, &bytes);
        headers.push(("Idempotency-Key".into(), idempotency_key.into()));
        let retry = match voter.owner.send_raw("POST", &path, &bytes, &headers).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                if status >= 500 || body["code"] == "idempotency_in_progress" {
                    format!("{status} {body}")
                } else {
                    return Ok(SheetAnswer { status, body, attempts });
                }
            }
            Err(e) => e.to_string(),
        };
        anyhow::ensure!(std::time::Instant::now() < deadline, "no answer after {attempts} attempts; last: {retry}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The voter's receipt (`GET …/sheets/mine`).
pub async fn my_receipt(voter: &Voter, meeting: Uuid) -> anyhow::Result<Value> {
    let r = voter.owner.get(&format!("/v1/meetings/{meeting}/sheets/mine")).await?;
    anyhow::ensure!(r.status() == 200, "receipt: {}", r.status());
    Ok(r.json().await?)
}

/// The meeting's signed result once published (`GET …/result` answers 200) and anchored on chain, polled for at most
/// `within`.
pub async fn published_result(member: &Owner, meeting: Uuid, within: Duration) -> anyhow::Result<Value> {
    wait_for(within, || async {
        let r = member.get(&format!("/v1/meetings/{meeting}/result")).await?;
        if r.status() != 200 {
            return Ok(None);
        }
        // Published with its anchor queued in the same transaction; wait until the chain holds it too.
        let v = r.json::<Value>().await?;
        anyhow::ensure!(v["anchor"]["chain_status"] != "failed", "the result's anchor was refused: {v}");
        Ok((v["anchor"]["chain_status"] == "done").then_some(v))
    })
    .await
}

/// Polls `check` every 100 ms until it returns `Some` or `within` passes.
pub async fn wait_for<T, F, Fut>(within: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "condition not reached within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
