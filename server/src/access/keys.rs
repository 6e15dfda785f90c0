//! The communities' access keys (P-256, DESIGN §8): the private key stored encrypted like other secrets (PKCS#8
//! under the personal-data key, bound to its kid), rotated with overlap, published as a JWK Set.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use linli_identity::access_pass::{AccessKey, JwkSet, jwk};
use uuid::Uuid;

use crate::pii::Pii;
use crate::schema::access_keys;

/// How long a rotated-out key stays published and accepted by default: longer than the longest pass (7 days).
pub const DEFAULT_OVERLAP_DAYS: i64 = 8;

fn context(kid: &str) -> String {
    format!("access_keys.private_key:{kid}")
}

/// Inserts a new key as the community's active one unless it has one already (then nothing changes).
async fn insert_if_none(conn: &mut AsyncPgConnection, pii: &Pii, community: Uuid) -> anyhow::Result<()> {
    let (key, pkcs8) = AccessKey::generate()?;
    let kid = hex::encode(key.kid());
    let sealed = pii.cipher().encrypt(&pkcs8, &context(&kid))?;
    diesel::sql_query(
        "INSERT INTO access_keys (kid, community_id, private_key_enc, public_point) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (community_id) WHERE retire_after IS NULL DO NOTHING",
    )
    .bind::<Text, _>(&kid)
    .bind::<SqlUuid, _>(community)
    .bind::<Text, _>(&sealed)
    .bind::<Bytea, _>(key.public_point())
    .execute(conn)
    .await?;
    Ok(())
}

/// The community's signing key, created on first use.
pub async fn active_key(conn: &mut AsyncPgConnection, pii: &Pii, community: Uuid) -> anyhow::Result<(String, AccessKey)> {
    for _ in 0..2 {
        let row: Option<(String, String)> = access_keys::table
            .filter(access_keys::community_id.eq(community).and(access_keys::retire_after.is_null()))
            .select((access_keys::kid, access_keys::private_key_enc))
            .first(conn)
            .await
            .optional()?;
        if let Some((kid, sealed)) = row {
            let pkcs8 = pii.cipher().decrypt(&sealed, &context(&kid))?;
            let key = AccessKey::from_pkcs8(&pkcs8)?;
            anyhow::ensure!(hex::encode(key.kid()) == kid, "access key {kid} does not match its kid");
            return Ok((kid, key));
        }
        insert_if_none(conn, pii, community).await?;
    }
    anyhow::bail!("no access key for community {community}")
}

/// The public points of the keys readers accept now: the active one and those rotated out but within overlap.
pub async fn published_points(conn: &mut AsyncPgConnection, community: Uuid, now: DateTime<Utc>) -> QueryResult<Vec<Vec<u8>>> {
    access_keys::table
        .filter(access_keys::community_id.eq(community))
        .filter(access_keys::retire_after.is_null().or(access_keys::retire_after.gt(now)))
        .order(access_keys::created_at.desc())
        .select(access_keys::public_point)
        .load(conn)
        .await
}

pub async fn jwk_set(conn: &mut AsyncPgConnection, community: Uuid, now: DateTime<Utc>) -> QueryResult<JwkSet> {
    let points = published_points(conn, community, now).await?;
    Ok(JwkSet { keys: points.iter().filter_map(|p| jwk(p)).collect() })
}

/// Rotates: a new active key; the previous one stays published until `now + overlap` (passes it signed keep
/// verifying), then readers drop it. Returns the new kid.
pub async fn rotate(conn: &mut AsyncPgConnection, pii: &Pii, community: Uuid, overlap: chrono::Duration) -> anyhow::Result<String> {
    use diesel_async::AsyncConnection;
    conn.transaction(async |conn| {
        diesel::update(access_keys::table.filter(access_keys::community_id.eq(community).and(access_keys::retire_after.is_null())))
            .set(access_keys::retire_after.eq(Utc::now() + overlap))
            .execute(conn)
            .await?;
        insert_if_none(conn, pii, community).await?;
        let (kid, _) = active_key(conn, pii, community).await?;
        Ok(kid)
    })
    .await
}

/// Retires a key at once (e.g. it leaked): it is no longer published, readers refuse its passes after their next
/// sync. Returns whether it was published.
pub async fn retire_now(conn: &mut AsyncPgConnection, kid: &str) -> QueryResult<bool> {
    let now = Utc::now();
    let n = diesel::update(
        access_keys::table
            .filter(access_keys::kid.eq(kid))
            .filter(access_keys::retire_after.is_null().or(access_keys::retire_after.gt(now))),
    )
    .set(access_keys::retire_after.eq(now))
    .execute(conn)
    .await?;
    Ok(n > 0)
}
