//! The logs in PostgreSQL: append under the head's row lock, read entries, assemble proofs from stored subtree
//! hashes, cut signed checkpoints and queue their anchors.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, SmallInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::LogName;
use super::note::{NoteSigner, checkpoint_text, origin};
use super::tree::{self, Hash, Node};
use crate::schema::{log_checkpoints, log_entries, log_heads};

/// Appends one entry (its canonical JSON) inside the caller's transaction, so the entry is in the log exactly when
/// the effect it records is committed. Returns its index.
pub async fn append(
    conn: &mut AsyncPgConnection,
    community: Uuid,
    log: LogName,
    entry: &serde_json::Value,
) -> QueryResult<u64> {
    append_bytes(conn, community, log, crate::audit::canonical_json(entry).into_bytes()).await
}

pub async fn append_bytes(conn: &mut AsyncPgConnection, community: Uuid, log: LogName, entry: Vec<u8>) -> QueryResult<u64> {
    diesel::insert_into(log_heads::table)
        .values((log_heads::community_id.eq(community), log_heads::log.eq(log.as_str())))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    // The lock that orders appends: one writer per log at a time, readers never wait.
    let size: i64 = log_heads::table
        .find((community, log.as_str()))
        .select(log_heads::size)
        .for_update()
        .first(conn)
        .await?;
    let index = size as u64;
    let leaf = tree::leaf_hash(&entry);
    let siblings = load_nodes(conn, community, log, &tree::left_siblings(index)).await?;
    let completed = tree::completed_nodes(index, leaf, &siblings)
        .ok_or_else(|| broken(format!("log {community}/{} lacks a subtree hash below {index}", log.as_str())))?;
    diesel::insert_into(log_entries::table)
        .values((
            log_entries::community_id.eq(community),
            log_entries::log.eq(log.as_str()),
            log_entries::idx.eq(size),
            log_entries::entry.eq(&entry),
        ))
        .execute(conn)
        .await?;
    let (levels, idxs, hashes): (Vec<i16>, Vec<i64>, Vec<Vec<u8>>) =
        completed.iter().map(|(n, h)| (n.level as i16, n.index as i64, h.to_vec())).fold(
            (Vec::new(), Vec::new(), Vec::new()),
            |(mut a, mut b, mut c), (x, y, z)| {
                a.push(x);
                b.push(y);
                c.push(z);
                (a, b, c)
            },
        );
    diesel::sql_query(
        "INSERT INTO log_nodes (community_id, log, level, idx, hash) \
         SELECT $1, $2, l, i, h FROM unnest($3::smallint[], $4::bigint[], $5::bytea[]) AS t(l, i, h)",
    )
    .bind::<SqlUuid, _>(community)
    .bind::<Text, _>(log.as_str())
    .bind::<Array<SmallInt>, _>(levels)
    .bind::<Array<BigInt>, _>(idxs)
    .bind::<Array<Bytea>, _>(hashes)
    .execute(conn)
    .await?;
    diesel::update(log_heads::table.find((community, log.as_str())))
        .set(log_heads::size.eq(size + 1))
        .execute(conn)
        .await?;
    Ok(index)
}

fn broken(message: String) -> diesel::result::Error {
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(message),
    )
}

#[derive(QueryableByName)]
struct NodeRow {
    #[diesel(sql_type = SmallInt)]
    level: i16,
    #[diesel(sql_type = BigInt)]
    idx: i64,
    #[diesel(sql_type = Bytea)]
    hash: Vec<u8>,
}

/// The stored hashes of `nodes` (one query).
pub async fn load_nodes(
    conn: &mut AsyncPgConnection,
    community: Uuid,
    log: LogName,
    nodes: &[Node],
) -> QueryResult<HashMap<Node, Hash>> {
    if nodes.is_empty() {
        return Ok(HashMap::new());
    }
    let levels: Vec<i16> = nodes.iter().map(|n| n.level as i16).collect();
    let idxs: Vec<i64> = nodes.iter().map(|n| n.index as i64).collect();
    let rows: Vec<NodeRow> = diesel::sql_query(
        "SELECT n.level, n.idx, n.hash FROM unnest($3::smallint[], $4::bigint[]) AS w(l, i) \
         JOIN log_nodes n ON n.community_id = $1 AND n.log = $2 AND n.level = w.l AND n.idx = w.i",
    )
    .bind::<SqlUuid, _>(community)
    .bind::<Text, _>(log.as_str())
    .bind::<Array<SmallInt>, _>(levels)
    .bind::<Array<BigInt>, _>(idxs)
    .load(conn)
    .await?;
    let mut map = HashMap::with_capacity(rows.len());
    for r in rows {
        let hash: Hash = r.hash.as_slice().try_into().map_err(|_| broken("stored node hash is not 32 bytes".into()))?;
        map.insert(Node { level: r.level as u8, index: r.idx as u64 }, hash);
    }
    Ok(map)
}

/// The number of entries (0 for a log nothing was appended to).
pub async fn size(conn: &mut AsyncPgConnection, community: Uuid, log: LogName) -> QueryResult<u64> {
    let size: Option<i64> =
        log_heads::table.find((community, log.as_str())).select(log_heads::size).first(conn).await.optional()?;
    Ok(size.unwrap_or(0) as u64)
}

pub async fn entry(conn: &mut AsyncPgConnection, community: Uuid, log: LogName, index: u64) -> QueryResult<Option<Vec<u8>>> {
    let Ok(idx) = i64::try_from(index) else { return Ok(None) };
    log_entries::table
        .find((community, log.as_str(), idx))
        .select(log_entries::entry)
        .first(conn)
        .await
        .optional()
}

/// Why a proof cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("the range is not within the tree")]
    OutOfRange,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

async fn hashes_of(
    conn: &mut AsyncPgConnection,
    community: Uuid,
    log: LogName,
    ranges: &[tree::Range],
) -> Result<Vec<Hash>, ProofError> {
    let nodes = load_nodes(conn, community, log, &tree::nodes_of(ranges)).await?;
    ranges
        .iter()
        .map(|r| tree::range_hash(*r, &nodes).ok_or_else(|| ProofError::Db(broken("a subtree hash is missing".into()))))
        .collect()
}

/// PATH(index, D[0:tree_size]); `tree_size` must not exceed the log's size.
pub async fn inclusion_proof(
    conn: &mut AsyncPgConnection,
    community: Uuid,
    log: LogName,
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= tree_size || tree_size > size(conn, community, log).await? {
        return Err(ProofError::OutOfRange);
    }
    hashes_of(conn, community, log, &tree::inclusion_ranges(index, tree_size)).await
}

/// PROOF(first, D[0:second]); 1 ≤ first ≤ second ≤ the log's size.
pub async fn consistency_proof(
    conn: &mut AsyncPgConnection,
    community: Uuid,
    log: LogName,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, ProofError> {
    if first == 0 || first > second || second > size(conn, community, log).await? {
        return Err(ProofError::OutOfRange);
    }
    hashes_of(conn, community, log, &tree::consistency_ranges(first, second)).await
}

/// MTH(D[0:size]) from the stored nodes.
pub async fn root_at(conn: &mut AsyncPgConnection, community: Uuid, log: LogName, size: u64) -> QueryResult<Hash> {
    let nodes = load_nodes(conn, community, log, &tree::root_nodes(size)).await?;
    tree::root(size, &nodes).ok_or_else(|| broken("a root subtree hash is missing".into()))
}

/// A cut checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub id: Uuid,
    pub size: u64,
    pub root: Hash,
    pub note: String,
    pub outbox_id: Option<i64>,
}

/// The latest signed checkpoint of a log.
pub async fn latest_checkpoint(conn: &mut AsyncPgConnection, community: Uuid, log: LogName) -> QueryResult<Option<Checkpoint>> {
    type Row = (Uuid, i64, Vec<u8>, String, Option<i64>);
    let row: Option<Row> = log_checkpoints::table
        .filter(log_checkpoints::community_id.eq(community))
        .filter(log_checkpoints::log.eq(log.as_str()))
        .order(log_checkpoints::size.desc())
        .select((log_checkpoints::id, log_checkpoints::size, log_checkpoints::root, log_checkpoints::note, log_checkpoints::outbox_id))
        .first(conn)
        .await
        .optional()?;
    row.map(|(id, size, root, note, outbox_id)| {
        let root: Hash = root.as_slice().try_into().map_err(|_| broken("stored root is not 32 bytes".into()))?;
        Ok(Checkpoint { id, size: size as u64, root, note, outbox_id })
    })
    .transpose()
}

/// Cuts a checkpoint of one log when it grew since the last one: signs it and queues `anchorBatch(log,
/// last size + 1, size, root)` in the same transaction, so every stored checkpoint is anchored exactly once and in
/// order (the contract refuses gaps and overlaps). `None` when nothing is new.
pub async fn cut_checkpoint(
    conn: &mut AsyncPgConnection,
    signer: &NoteSigner,
    community: Uuid,
    log: LogName,
) -> QueryResult<Option<Checkpoint>> {
    conn.transaction(async |conn| {
        // The head's lock also orders two instances cutting at once.
        let size: Option<i64> = log_heads::table
            .find((community, log.as_str()))
            .select(log_heads::size)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let size = size.unwrap_or(0) as u64;
        let last = latest_checkpoint(conn, community, log).await?.map_or(0, |c| c.size);
        if size <= last {
            return Ok(None);
        }
        let root = root_at(conn, community, log, size).await?;
        let note = signer.sign(&checkpoint_text(&origin(community, log.as_str()), size, &root));
        let id = Uuid::now_v7();
        let call = linli_ledger_client::governance::LinliGovernance::anchorBatchCall {
            stream: log.as_str().to_owned(),
            firstSeq: last + 1,
            lastSeq: size,
            root: root.into(),
        };
        let outbox_id = crate::chain::outbox::enqueue(
            conn,
            community,
            crate::chain::outbox::Kind::AnchorBatch,
            id,
            alloy_sol_types::SolCall::abi_encode(&call),
        )
        .await?;
        diesel::insert_into(log_checkpoints::table)
            .values((
                log_checkpoints::id.eq(id),
                log_checkpoints::community_id.eq(community),
                log_checkpoints::log.eq(log.as_str()),
                log_checkpoints::size.eq(size as i64),
                log_checkpoints::root.eq(root.to_vec()),
                log_checkpoints::note.eq(&note),
                log_checkpoints::outbox_id.eq(outbox_id),
            ))
            .execute(conn)
            .await?;
        Ok(Some(Checkpoint { id, size, root, note, outbox_id: Some(outbox_id) }))
    })
    .await
}

/// Copies new audit rows into the `audit` log of the community each concerns, then cuts a checkpoint of every
/// log that grew. Run periodically by every instance (the locks make concurrent runs harmless).
pub async fn checkpoint_due(conn: &mut AsyncPgConnection, signer: &NoteSigner) -> QueryResult<usize> {
    super::audit_feed::follow(conn).await?;
    let grown: Vec<(Uuid, String)> = diesel::sql_query(
        "SELECT h.community_id, h.log FROM log_heads h WHERE h.size > COALESCE((SELECT max(c.size) FROM log_checkpoints c \
         WHERE c.community_id = h.community_id AND c.log = h.log), 0)",
    )
    .load::<Grown>(conn)
    .await?
    .into_iter()
    .map(|g| (g.community_id, g.log))
    .collect();
    let mut cut = 0;
    for (community, log) in grown {
        let Some(log) = LogName::parse(&log) else { continue };
        if cut_checkpoint(conn, signer, community, log).await?.is_some() {
            cut += 1;
        }
    }
    Ok(cut)
}

#[derive(QueryableByName)]
struct Grown {
    #[diesel(sql_type = SqlUuid)]
    community_id: Uuid,
    #[diesel(sql_type = Text)]
    log: String,
}
