//! Disclosure items in PostgreSQL: the item, its files and its log entry in one transaction.

use actix_web::http::StatusCode;
use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::{self, AttachmentMeta, ValidItem};
use crate::error::ApiError;
use crate::logs::{LogName, store as logs};
use crate::schema::{disclosure_files, disclosure_items};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = disclosure_items)]
pub struct ItemRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub category: String,
    pub title: String,
    pub period: Option<String>,
    pub body: String,
    #[schema(value_type = Vec<AttachmentMeta>)]
    pub attachments: serde_json::Value,
    pub corrects: Option<Uuid>,
    /// `committee:<account>`, `app:<app id>` or `platform`.
    pub publisher: String,
    pub published_at: DateTime<Utc>,
    /// The item's entry in the community's `disclosure` log: fetch its proof with this index.
    pub log_index: i64,
}

/// An item as the feed shows it: with the later items that correct it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemView {
    #[serde(flatten)]
    pub item: ItemRow,
    pub corrected_by: Vec<Uuid>,
}

/// Publishes an item (its own transaction): the row, its files, its `disclosure` log entry.
pub async fn publish(conn: &mut AsyncPgConnection, community: Uuid, item: &ValidItem, publisher: &str) -> Result<ItemView, ApiError> {
    conn.transaction(async |conn| {
        if let Some(old) = item.corrects {
            let found: Option<Uuid> = disclosure_items::table
                .find(old)
                .filter(disclosure_items::community_id.eq(community))
                .select(disclosure_items::id)
                .first(conn)
                .await
                .optional()?;
            if found.is_none() {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "corrected_item_unknown",
                    "The item to correct is not one of this community's",
                ));
            }
        }
        let id = insert(conn, community, item, publisher).await?;
        Ok(ItemView { item: row(conn, id).await?, corrected_by: Vec::new() })
    })
    .await
}

async fn insert(conn: &mut AsyncPgConnection, community: Uuid, item: &ValidItem, publisher: &str) -> Result<Uuid, ApiError> {
    let id = Uuid::now_v7();
    // PostgreSQL keeps microseconds: the entry states what is stored.
    let at = Utc::now().trunc_subsecs(6);
    let entry = domain::entry(id, community, item, publisher, at);
    let index = logs::append(conn, community, LogName::Disclosure, &entry).await?;
    let metas: Vec<&AttachmentMeta> = item.attachments.iter().map(|(m, _)| m).collect();
    diesel::insert_into(disclosure_items::table)
        .values((
            disclosure_items::id.eq(id),
            disclosure_items::community_id.eq(community),
            disclosure_items::category.eq(&item.category),
            disclosure_items::title.eq(&item.title),
            disclosure_items::period.eq(&item.period),
            disclosure_items::body.eq(&item.body),
            disclosure_items::attachments.eq(serde_json::to_value(&metas).map_err(ApiError::internal)?),
            disclosure_items::corrects.eq(item.corrects),
            disclosure_items::publisher.eq(publisher),
            disclosure_items::published_at.eq(at),
            disclosure_items::log_index.eq(i64::try_from(index).map_err(ApiError::internal)?),
        ))
        .execute(conn)
        .await?;
    for (meta, bytes) in &item.attachments {
        diesel::insert_into(disclosure_files::table)
            .values((
                disclosure_files::item_id.eq(id),
                disclosure_files::position.eq(i16::try_from(meta.position).map_err(ApiError::internal)?),
                disclosure_files::bytes.eq(bytes),
            ))
            .execute(conn)
            .await?;
    }
    Ok(id)
}

/// An item the platform publishes itself (fund events, monthly statements), inside the caller's transaction.
pub async fn publish_automatic(
    conn: &mut AsyncPgConnection,
    community: Uuid,
    category: &'static str,
    title: String,
    period: Option<String>,
    body: String,
) -> Result<Uuid, ApiError> {
    debug_assert!(domain::AUTOMATIC.contains(&category));
    let item = ValidItem { category: category.to_owned(), title, period, body, attachments: Vec::new(), corrects: None };
    insert(conn, community, &item, "platform").await
}

async fn row(conn: &mut AsyncPgConnection, id: Uuid) -> Result<ItemRow, ApiError> {
    Ok(disclosure_items::table.find(id).select(ItemRow::as_select()).first(conn).await?)
}

async fn corrections(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, Uuid)>> {
    let rows: Vec<(Option<Uuid>, Uuid)> = disclosure_items::table
        .filter(disclosure_items::corrects.eq_any(ids))
        .order(disclosure_items::published_at)
        .select((disclosure_items::corrects, disclosure_items::id))
        .load(conn)
        .await?;
    Ok(rows.into_iter().filter_map(|(c, id)| c.map(|c| (c, id))).collect())
}

/// The feed, newest first, `limit` items before `before` (an item id) when given.
pub async fn feed(conn: &mut AsyncPgConnection, community: Uuid, category: Option<&str>, limit: i64) -> Result<Vec<ItemView>, ApiError> {
    let mut q = disclosure_items::table.filter(disclosure_items::community_id.eq(community)).into_boxed();
    if let Some(c) = category {
        q = q.filter(disclosure_items::category.eq(c.to_owned()));
    }
    let rows: Vec<ItemRow> = q
        .order((disclosure_items::published_at.desc(), disclosure_items::id.desc()))
        .limit(limit)
        .select(ItemRow::as_select())
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let fixes = corrections(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|item| {
            let corrected_by = fixes.iter().filter(|(c, _)| *c == item.id).map(|(_, id)| *id).collect();
            ItemView { item, corrected_by }
        })
        .collect())
}

pub async fn item(conn: &mut AsyncPgConnection, community: Uuid, id: Uuid) -> Result<ItemView, ApiError> {
    let item: ItemRow = disclosure_items::table
        .find(id)
        .filter(disclosure_items::community_id.eq(community))
        .select(ItemRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    let corrected_by = corrections(conn, &[id]).await?.into_iter().map(|(_, id)| id).collect();
    Ok(ItemView { item, corrected_by })
}

/// An attachment's bytes and kind.
pub async fn file(conn: &mut AsyncPgConnection, community: Uuid, id: Uuid, position: i16) -> Result<(Vec<u8>, String), ApiError> {
    let view = item(conn, community, id).await?;
    let metas: Vec<AttachmentMeta> = serde_json::from_value(view.item.attachments).map_err(ApiError::internal)?;
    let meta = metas.into_iter().find(|m| m.position == usize::try_from(position).unwrap_or(usize::MAX)).ok_or_else(ApiError::not_found)?;
    let bytes: Vec<u8> =
        disclosure_files::table.find((id, position)).select(disclosure_files::bytes).first(conn).await.optional()?.ok_or_else(ApiError::not_found)?;
    Ok((bytes, meta.kind))
}
