//! The outbox worker: drains `chain_outbox` in id order per community, safe with several instances.
//!
//! Per row: claim it (`FOR UPDATE SKIP LOCKED`, and only when no earlier row of its community is unfinished —
//! the contract needs meeting → proposals → sheets → finalize in that order); if it has no signed bytes, sign
//! once and COMMIT nonce, block limit, bytes and hash (status `sent`) BEFORE sending; send or
//! re-send exactly those bytes; 10004/10005 count as accepted and the receipt is polled by hash; only when the
//! chain has passed the block limit without the transaction are the bytes dropped (old hash kept in
//! `previous_hashes`) and the row re-signed. A crash anywhere leaves either an unsigned row (sign later) or
//! stored bytes (re-send the same): never two different transactions alive for one row.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_ledger_client::client::{PreparedTx, TxOutcome};
use linli_ledger_client::governance::decode_error;
use linli_ledger_client::{Address, ChainClient, ChainRegistry, CryptoSuite, Signer};
use prometheus::{IntCounter, IntGauge};
use uuid::Uuid;

use super::ChainConfig;
use crate::app::AppState;
use crate::schema::{chain_contracts, chain_outbox, communities, meetings};

/// Outbox metrics, registered in the server's registry.
#[derive(Clone)]
pub struct ChainMetrics {
    pub backlog: IntGauge,
    pub oldest_age_seconds: IntGauge,
    pub sent: IntCounter,
    pub failed: IntCounter,
    /// 1 while any finalized meeting's chain result differs from the server's own tally.
    pub tally_mismatch: IntGauge,
}

impl ChainMetrics {
    pub fn register(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let m = Self {
            backlog: IntGauge::new("chain_outbox_backlog", "Outbox rows not yet on chain")?,
            oldest_age_seconds: IntGauge::new("chain_outbox_oldest_age_seconds", "Age of the oldest unfinished outbox row")?,
            sent: IntCounter::new("chain_outbox_committed_total", "Outbox rows committed on chain")?,
            failed: IntCounter::new("chain_outbox_failed_total", "Outbox rows the chain refused for good")?,
            tally_mismatch: IntGauge::new("governance_tally_mismatch", "1 when a chain result differs from the server tally")?,
        };
        for c in [&m.backlog, &m.oldest_age_seconds, &m.tally_mismatch] {
            registry.register(Box::new(c.clone()))?;
        }
        registry.register(Box::new(m.sent.clone()))?;
        registry.register(Box::new(m.failed.clone()))?;
        Ok(m)
    }
}

/// Keys and targets of the forwarder.
pub struct Forwarder {
    registry: ChainRegistry,
    forwarder: Signer,
    committee: Signer,
    anchor: Option<Signer>,
    property: Option<Signer>,
    bank: Option<Signer>,
    pub platform_key: ring::signature::Ed25519KeyPair,
    poll: Duration,
    clients: tokio::sync::Mutex<HashMap<Uuid, Arc<(ChainClient, Address)>>>,
}

impl Forwarder {
    pub fn from_config(config: &ChainConfig) -> anyhow::Result<Self> {
        use anyhow::Context;
        use secrecy::ExposeSecret;
        let registry = ChainRegistry::load(&config.registry_file).context("loading the chain registry")?;
        let suite = registry.communities.values().next().map(|t| t.crypto).unwrap_or(CryptoSuite::Ecdsa);
        let key = |p: &std::path::Path| {
            linli_ledger_client::keys::load_signer(suite, &p.display().to_string())
                .with_context(|| format!("loading the key {}", p.display()))
        };
        let seed = hex::decode(config.platform_key_hex.expose_secret().trim()).context("platform_key_hex is not hex")?;
        let platform_key = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| anyhow::anyhow!("platform_key_hex is not a 32-byte Ed25519 seed"))?;
        Ok(Self {
            registry,
            forwarder: key(&config.forwarder_key_file)?,
            committee: key(&config.committee_key_file)?,
            anchor: config.anchor_key_file.as_deref().map(key).transpose()?,
            property: config.property_key_file.as_deref().map(key).transpose()?,
            bank: config.bank_key_file.as_deref().map(key).transpose()?,
            platform_key,
            poll: Duration::from_millis(config.poll_ms.max(10)),
            clients: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The client and contract address of a community.
    pub async fn target(&self, conn: &mut AsyncPgConnection, community: Uuid) -> anyhow::Result<Arc<(ChainClient, Address)>> {
        if let Some(c) = self.clients.lock().await.get(&community) {
            return Ok(c.clone());
        }
        let code: String = communities::table.find(community).select(communities::code).first(conn).await?;
        let target = self.registry.target(&code)?;
        let stored: Option<String> =
            chain_contracts::table.find(community).select(chain_contracts::address).first(conn).await.optional()?;
        let address = match stored {
            Some(a) => a.parse::<Address>().map_err(|e| anyhow::anyhow!("stored contract address: {e:?}"))?,
            None => target.contract("governance").ok_or_else(|| anyhow::anyhow!("no governance contract for {code}"))?,
        };
        let mut client = ChainClient::from_target(target)?;
        client.poll_interval = self.poll;
        let entry = Arc::new((client, address));
        self.clients.lock().await.insert(community, entry.clone());
        Ok(entry)
    }
}

#[derive(QueryableByName, Debug)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = SqlUuid)]
    community_id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = SqlUuid)]
    subject_id: Uuid,
    #[diesel(sql_type = Text)]
    signer: String,
    #[diesel(sql_type = Bytea)]
    call_data: Vec<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    nonce: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    block_limit: Option<i64>,
    #[diesel(sql_type = Nullable<Bytea>)]
    signed_bytes: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Bytea>)]
    tx_hash: Option<Vec<u8>>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
}

/// `$1`: the signers this process has keys for; rows for another signer wait and hold back nobody.
const CLAIM: &str = "SELECT id, community_id, kind, subject_id, signer, call_data, nonce, block_limit, signed_bytes, \
     tx_hash, attempts FROM chain_outbox o \
     WHERE status IN ('pending', 'sent') AND next_attempt_at <= now() AND signer = ANY($1) \
       AND NOT EXISTS (SELECT 1 FROM chain_outbox e WHERE e.community_id = o.community_id AND e.id < o.id \
                       AND e.status IN ('pending', 'sent') AND e.signer = ANY($1)) \
     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";

/// Runs forever: drain, then sleep a poll interval when idle.
pub async fn run(state: AppState, forwarder: Arc<Forwarder>, metrics: ChainMetrics) {
    loop {
        match step(&state, &forwarder, &metrics).await {
            Ok(true) => {}
            Ok(false) => tokio::time::sleep(forwarder.poll).await,
            Err(e) => {
                tracing::warn!(error = %e, "chain outbox step failed");
                tokio::time::sleep(forwarder.poll * 4).await;
            }
        }
    }
}

/// Spawns the worker when the `[chain]` section is present.
pub fn spawn(config: Option<&ChainConfig>, state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    let config = config?;
    let forwarder = match Forwarder::from_config(config) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            tracing::error!(error = %e, "chain forwarding disabled: bad [chain] configuration");
            return None;
        }
    };
    let metrics = match ChainMetrics::register(state.metrics.registry()) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "chain metrics");
            return None;
        }
    };
    Some(tokio::spawn(run(state.clone(), forwarder, metrics)))
}

async fn update_gauges(conn: &mut AsyncPgConnection, metrics: &ChainMetrics) -> QueryResult<()> {
    let open = chain_outbox::table.filter(chain_outbox::status.eq_any(["pending", "sent"]));
    let backlog: i64 = open.clone().count().get_result(conn).await?;
    let oldest: Option<chrono::DateTime<Utc>> =
        open.select(diesel::dsl::min(chain_outbox::created_at)).first(conn).await?;
    metrics.backlog.set(backlog);
    metrics.oldest_age_seconds.set(oldest.map_or(0, |t| (Utc::now() - t).num_seconds()));
    Ok(())
}

/// One row. `Ok(false)` when there was nothing to do.
pub async fn step(state: &AppState, forwarder: &Forwarder, metrics: &ChainMetrics) -> anyhow::Result<bool> {
    let mut conn = state.db.get().await?;
    update_gauges(&mut conn, metrics).await?;
    let Some(claim) = claim(&mut conn, forwarder).await? else {
        publish_unpublished(&mut conn, forwarder, metrics).await?;
        return Ok(false);
    };
    send_claimed(&mut conn, forwarder, metrics, &claim).await?;
    Ok(true)
}

/// A row claimed and signed, its bytes committed: ready to send.
pub struct Claim {
    pub id: i64,
    row: Claimed,
    prepared: PreparedTx,
    target: Arc<(ChainClient, Address)>,
}

/// The first half of a step: claim the next row of a community whose earlier rows are done, sign it if it has no
/// bytes yet, and COMMIT nonce, block limit, bytes and hash (status `sent`) before anything is sent.
pub async fn claim(conn: &mut AsyncPgConnection, forwarder: &Forwarder) -> anyhow::Result<Option<Claim>> {
    conn.transaction(async |conn| {
            let mut signers = vec!["forwarder", "committee"];
            for (name, key) in [("anchor", &forwarder.anchor), ("property", &forwarder.property), ("bank", &forwarder.bank)] {
                if key.is_some() {
                    signers.push(name);
                }
            }
            let rows: Vec<Claimed> =
                diesel::sql_query(CLAIM).bind::<diesel::sql_types::Array<Text>, _>(signers).load(conn).await?;
            let Some(row) = rows.into_iter().next() else { return Ok::<_, anyhow::Error>(None) };
            let target = forwarder.target(conn, row.community_id).await?;
            let prepared = match (&row.nonce, row.block_limit, &row.signed_bytes, &row.tx_hash) {
                (Some(nonce), Some(limit), Some(bytes), Some(hash)) => PreparedTx {
                    nonce: nonce.clone(),
                    block_limit: limit,
                    signed_bytes: bytes.clone(),
                    hash: hash.as_slice().try_into().map_err(|_| anyhow::anyhow!("stored hash length"))?,
                },
                _ => {
                    let signer = match row.signer.as_str() {
                        "committee" => &forwarder.committee,
                        "anchor" => forwarder.anchor.as_ref().ok_or_else(|| anyhow::anyhow!("no anchor key"))?,
                        "property" => forwarder.property.as_ref().ok_or_else(|| anyhow::anyhow!("no property key"))?,
                        "bank" => forwarder.bank.as_ref().ok_or_else(|| anyhow::anyhow!("no bank key"))?,
                        _ => &forwarder.forwarder,
                    };
                    let p = target.0.prepare(signer, Some(target.1), row.call_data.clone()).await?;
                    diesel::update(chain_outbox::table.find(row.id))
                        .set((
                            chain_outbox::nonce.eq(&p.nonce),
                            chain_outbox::block_limit.eq(p.block_limit),
                            chain_outbox::signed_bytes.eq(&p.signed_bytes),
                            chain_outbox::tx_hash.eq(p.hash.to_vec()),
                        ))
                        .execute(conn)
                        .await?;
                    p
                }
            };
            diesel::update(chain_outbox::table.find(row.id))
                .set((chain_outbox::status.eq("sent"), chain_outbox::attempts.eq(row.attempts + 1)))
                .execute(conn)
                .await?;
            Ok(Some(Claim { id: row.id, row, prepared, target }))
        })
        .await
}

/// The second half: send (or re-send) the claimed bytes and record the outcome, holding the row's lock throughout.
/// Another instance skips a locked row; and when this process dies, PostgreSQL drops the lock with the
/// connection, so the row is taken up again at once (a time lease would hold it back for its whole length).
pub async fn send_claimed(
    conn: &mut AsyncPgConnection,
    forwarder: &Forwarder,
    metrics: &ChainMetrics,
    claim: &Claim,
) -> anyhow::Result<()> {
    let Claim { row, prepared, target, .. } = claim;
    conn.transaction(async |conn| {
        let held: Option<i64> = chain_outbox::table
            .find(row.id)
            .filter(chain_outbox::status.eq("sent"))
            .filter(chain_outbox::tx_hash.eq(prepared.hash.to_vec()))
            .select(chain_outbox::id)
            .for_update()
            .skip_locked()
            .first(conn)
            .await
            .optional()?;
        if held.is_none() {
            // Another instance holds it (or already finished it).
            return Ok(());
        }
        let outcome = target.0.send_prepared_with(prepared, &decode_error).await;
        let backoff = |attempts: i32| {
            let ms = (forwarder.poll.as_millis() as i64).saturating_mul(1 << attempts.clamp(0, 6));
            Utc::now() + chrono::Duration::milliseconds(ms.min(60_000))
        };
        match outcome {
            Ok(TxOutcome::Committed(receipt)) => {
                diesel::update(chain_outbox::table.find(row.id))
                    .set((
                        chain_outbox::status.eq("done"),
                        chain_outbox::block_number.eq(receipt.block_number),
                        chain_outbox::done_at.eq(Utc::now()),
                        chain_outbox::last_error.eq(None::<String>),
                    ))
                    .execute(conn)
                    .await?;
                metrics.sent.inc();
                if row.kind == "finalize" {
                    let r = crate::governance::result::publish_after_finalize(conn, forwarder, target, row.subject_id).await;
                    match r {
                        Ok(true) => {}
                        Ok(false) => metrics.tally_mismatch.set(1),
                        Err(e) => tracing::error!(error = %e, meeting = %row.subject_id, "result publication failed"),
                    }
                }
            }
            Ok(TxOutcome::Pending) => {
                diesel::update(chain_outbox::table.find(row.id))
                    .set(chain_outbox::next_attempt_at.eq(Utc::now() + chrono::Duration::milliseconds(forwarder.poll.as_millis() as i64)))
                    .execute(conn)
                    .await?;
            }
            Ok(TxOutcome::Expired { .. }) => {
                // Never included and can no longer be: sign anew, keeping the old hash as a linked attempt.
                let old = hex::encode(prepared.hash);
                diesel::sql_query(
                    "UPDATE chain_outbox SET previous_hashes = previous_hashes || to_jsonb($2::text), nonce = NULL, \
                     block_limit = NULL, signed_bytes = NULL, tx_hash = NULL, status = 'pending', next_attempt_at = now() \
                     WHERE id = $1",
                )
                .bind::<BigInt, _>(row.id)
                .bind::<Text, _>(old)
                .execute(conn)
                .await?;
            }
            Ok(TxOutcome::Rejected { code, message }) => {
                tracing::warn!(code, %message, id = row.id, "chain rejected an outbox transaction; retrying later");
                diesel::update(chain_outbox::table.find(row.id))
                    .set((chain_outbox::next_attempt_at.eq(backoff(row.attempts)), chain_outbox::last_error.eq(format!("{code}: {message}"))))
                    .execute(conn)
                    .await?;
            }
            Ok(other) => {
                let text = format!("{other:?}");
                tracing::error!(id = row.id, kind = %row.kind, outcome = %text, "chain refused an outbox transaction");
                let block = other.receipt().map(|r| r.block_number);
                diesel::update(chain_outbox::table.find(row.id))
                    .set((
                        chain_outbox::status.eq("failed"),
                        chain_outbox::last_error.eq(text.chars().take(2000).collect::<String>()),
                        chain_outbox::block_number.eq(block),
                        chain_outbox::done_at.eq(Utc::now()),
                    ))
                    .execute(conn)
                    .await?;
                metrics.failed.inc();
            }
            Err(e) => {
                tracing::warn!(error = %e, id = row.id, "chain unreachable; the same bytes will be re-sent");
                diesel::update(chain_outbox::table.find(row.id))
                    .set((chain_outbox::next_attempt_at.eq(backoff(row.attempts)), chain_outbox::last_error.eq(e.to_string())))
                    .execute(conn)
                    .await?;
            }
        }
        Ok::<_, anyhow::Error>(())
    })
    .await
}

/// Meetings whose finalize is on chain (row `done`) but whose result was never published: the process died, or
/// the chain read failed, between recording the finalize and publishing. Without this the meeting would stay
/// `closed` for ever, since the finalize row is never claimed again. Each meeting is locked while published so
/// that two instances do not both publish it.
async fn publish_unpublished(conn: &mut AsyncPgConnection, forwarder: &Forwarder, metrics: &ChainMetrics) -> anyhow::Result<()> {
    let finalized_on_chain = chain_outbox::table
        .filter(chain_outbox::kind.eq("finalize"))
        .filter(chain_outbox::status.eq("done"))
        .select(chain_outbox::subject_id);
    let waiting: Vec<(Uuid, Uuid)> = meetings::table
        .filter(meetings::status.eq(crate::governance::lifecycle::MeetingState::Closed.as_str()))
        .filter(meetings::result.is_null())
        .filter(meetings::id.eq_any(finalized_on_chain))
        .select((meetings::id, meetings::community_id))
        .load(conn)
        .await?;
    for (meeting, community) in waiting {
        let target = forwarder.target(conn, community).await?;
        let published = conn
            .transaction(async |conn| {
                let still_waiting: Option<Uuid> = meetings::table
                    .find(meeting)
                    .filter(meetings::status.eq(crate::governance::lifecycle::MeetingState::Closed.as_str()))
                    .filter(meetings::result.is_null())
                    .select(meetings::id)
                    .for_update()
                    .skip_locked()
                    .first(conn)
                    .await
                    .optional()?;
                if still_waiting.is_none() {
                    return Ok(None);
                }
                crate::governance::result::publish_after_finalize(conn, forwarder, &target, meeting).await.map(Some)
            })
            .await;
        match published {
            Ok(None) => {}
            Ok(Some(true)) => tracing::info!(%meeting, "result published on a later attempt"),
            Ok(Some(false)) => metrics.tally_mismatch.set(1),
            Err(e) => tracing::warn!(error = %e, %meeting, "result publication failed; retrying later"),
        }
    }
    Ok(())
}
