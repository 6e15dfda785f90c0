//! Proposal attachments: files (JPEG, PNG, PDF) the committee adds to a proposal of a draft meeting, listed in the
//! meeting view and downloadable by whoever may read the meeting. Each upload or removal recomputes the proposal's
//! content hash (`domain::proposal_content_hash`), which goes on chain when voting opens; after submission the
//! database refuses any change (migration 000010).

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::{self, MAX_ATTACHMENTS};
use super::lifecycle::MeetingState;
use super::store;
use crate::auth::{CurrentAccount, Role, require_role};
use crate::error::{ApiError, Problem};
use crate::app::AppState;
use crate::multipart::{FieldLimit, paper_scan, read_fields, text_field};
use crate::schema::{meeting_proposals, proposal_attachments};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(add_attachment).service(remove_attachment).service(download_attachment).service(org_download_attachment);
}

#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = proposal_attachments)]
pub struct AttachmentView {
    pub id: Uuid,
    #[serde(rename = "proposal_index")]
    pub proposal_idx: i16,
    pub position: i16,
    pub file_name: String,
    /// `jpeg`, `png` or `pdf`.
    pub kind: String,
    /// hex sha256 of the stored file (an input of the proposal's content hash).
    #[serde(serialize_with = "hex_bytes")]
    #[schema(value_type = String)]
    pub sha256: Vec<u8>,
    pub uploaded_at: DateTime<Utc>,
}

fn hex_bytes<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}

/// The attachments of a meeting, by proposal and position.
pub async fn list(conn: &mut AsyncPgConnection, meeting: Uuid) -> QueryResult<Vec<AttachmentView>> {
    proposal_attachments::table
        .filter(proposal_attachments::meeting_id.eq(meeting))
        .order((proposal_attachments::proposal_idx, proposal_attachments::position))
        .select(AttachmentView::as_select())
        .load(conn)
        .await
}

/// Recomputes one proposal's content hash from its text and its attachments (in the draft's transaction).
pub(crate) async fn rehash(conn: &mut AsyncPgConnection, meeting: Uuid, index: i16) -> Result<(), ApiError> {
    let p = store::proposals(conn, meeting)
        .await?
        .into_iter()
        .find(|p| p.idx == index)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("proposal vanished")))?;
    let draft = p.draft()?;
    let hashes: Vec<[u8; 32]> = proposal_attachments::table
        .filter(proposal_attachments::meeting_id.eq(meeting))
        .filter(proposal_attachments::proposal_idx.eq(index))
        .order(proposal_attachments::position)
        .select(proposal_attachments::sha256)
        .load::<Vec<u8>>(conn)
        .await?
        .into_iter()
        .map(|h| <[u8; 32]>::try_from(h.as_slice()).map_err(ApiError::internal))
        .collect::<Result<_, _>>()?;
    diesel::update(meeting_proposals::table.find((meeting, index)))
        .set(meeting_proposals::content_hash.eq(domain::proposal_content_hash(&draft, &hashes).to_vec()))
        .execute(conn)
        .await?;
    Ok(())
}

fn not_draft() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "meeting_not_draft", "Attachments change only while the meeting is a draft")
}

async fn attachment_positions(conn: &mut AsyncPgConnection, meeting: Uuid, index: i16) -> Result<Vec<i16>, ApiError> {
    Ok(proposal_attachments::table
        .filter(proposal_attachments::meeting_id.eq(meeting))
        .filter(proposal_attachments::proposal_idx.eq(index))
        .select(proposal_attachments::position)
        .load(conn)
        .await?)
}

fn attachments_full() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "attachments_full", "A proposal carries at most 10 attachments")
}

/// Adds an attachment to a proposal of a draft (committee). Multipart fields: `file` (JPEG, PNG or PDF, ≤ 10 MiB;
/// images are re-encoded, a PDF with active content is refused) and `file_name` (1–120 characters, shown to
/// owners). At most 10 per proposal.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path), ("proposal_index" = i16, Path)),
    request_body(content_type = "multipart/form-data", description = "fields: file (file), file_name"),
    responses(
        (status = 201, body = AttachmentView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "not a draft, or the proposal is full"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "not JPEG, PNG or PDF"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/proposals/{proposal_index}/attachments")]
async fn add_attachment(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<(Uuid, i16)>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let (meeting, index) = path.into_inner();
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, meeting).await?;
    require_role(&mut conn, account.0, m.community_id, Role::Committee).await?;
    if m.state()? != MeetingState::Draft {
        return Err(not_draft());
    }
    let spec = [
        FieldLimit { name: "file", max_bytes: linli_identity::upload::MAX_PDF_BYTES },
        FieldLimit { name: "file_name", max_bytes: 480 },
    ];
    let mut fields = read_fields(payload, &spec, "attachment_too_large").await?;
    let file_name = fields.remove("file_name").map(text_field).transpose()?.unwrap_or_default();
    if !domain::valid_attachment_name(&file_name) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "attachment_name_invalid",
            "The file name is 1–120 characters without path separators or control characters",
        ));
    }
    let upload = fields
        .remove("file")
        .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "attachment_missing", "The multipart field `file` is required"))?;
    // Everything that can refuse the upload is checked before it is decoded (and again under the lock below).
    if !store::proposals(&mut conn, meeting).await?.iter().any(|p| p.idx == index) {
        return Err(ApiError::not_found());
    }
    if attachment_positions(&mut conn, meeting, index).await?.len() >= MAX_ATTACHMENTS {
        return Err(attachments_full());
    }
    let file = paper_scan(&state, account.0, upload, "The attachment is not acceptable").await?;
    let id = Uuid::now_v7();
    let view = conn
        .transaction(async |conn| {
            let m = store::meeting_for_update(conn, meeting).await?;
            if m.state()? != MeetingState::Draft {
                return Err(not_draft());
            }
            if !store::proposals(conn, meeting).await?.iter().any(|p| p.idx == index) {
                return Err(ApiError::not_found());
            }
            let positions = attachment_positions(conn, meeting, index).await?;
            if positions.len() >= MAX_ATTACHMENTS {
                return Err(attachments_full());
            }
            let position = positions.iter().max().map_or(0, |p| p + 1);
            let view: AttachmentView = diesel::insert_into(proposal_attachments::table)
                .values((
                    proposal_attachments::id.eq(id),
                    proposal_attachments::meeting_id.eq(meeting),
                    proposal_attachments::proposal_idx.eq(index),
                    proposal_attachments::position.eq(position),
                    proposal_attachments::file_name.eq(&file_name),
                    proposal_attachments::kind.eq(file.kind.as_str()),
                    proposal_attachments::bytes.eq(&file.bytes),
                    proposal_attachments::sha256.eq(file.sha256.to_vec()),
                    proposal_attachments::uploaded_by.eq(account.0),
                ))
                .returning(AttachmentView::as_returning())
                .get_result(conn)
                .await?;
            rehash(conn, meeting, index).await?;
            crate::audit::append(
                conn,
                &format!("account:{}", account.0),
                "meeting.attachment_add",
                &format!("meeting:{meeting}"),
                serde_json::json!({ "proposal": index, "attachment": id, "sha256": file.sha256_hex(), "kind": file.kind.as_str() }),
            )
            .await?;
            Ok::<_, ApiError>(view)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Removes an attachment from a proposal of a draft (committee).
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path), ("proposal_index" = i16, Path), ("attachment_id" = Uuid, Path)),
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "not a draft"),
    ),
    security(("session" = []))
)]
#[delete("/v1/meetings/{meeting_id}/proposals/{proposal_index}/attachments/{attachment_id}")]
async fn remove_attachment(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<(Uuid, i16, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (meeting, index, attachment) = path.into_inner();
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, meeting).await?;
    require_role(&mut conn, account.0, m.community_id, Role::Committee).await?;
    conn.transaction(async |conn| {
        let m = store::meeting_for_update(conn, meeting).await?;
        if m.state()? != MeetingState::Draft {
            return Err(not_draft());
        }
        let removed = diesel::delete(
            proposal_attachments::table
                .find(attachment)
                .filter(proposal_attachments::meeting_id.eq(meeting))
                .filter(proposal_attachments::proposal_idx.eq(index)),
        )
        .execute(conn)
        .await?;
        if removed == 0 {
            return Err(ApiError::not_found());
        }
        rehash(conn, meeting, index).await?;
        crate::audit::append(
            conn,
            &format!("account:{}", account.0),
            "meeting.attachment_remove",
            &format!("meeting:{meeting}"),
            serde_json::json!({ "proposal": index, "attachment": attachment }),
        )
        .await?;
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `filename*` of RFC 6266/5987: UTF-8, every byte outside the unreserved set percent-encoded.
fn content_disposition(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename*=UTF-8''{encoded}")
}

/// Downloads an attachment (whoever may read the meeting: while it is a draft or under review, the committee).
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path), ("attachment_id" = Uuid, Path)),
    responses(
        (status = 200, description = "the file (image/jpeg, image/png or application/pdf)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}/attachments/{attachment_id}")]
async fn download_attachment(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (meeting, attachment) = path.into_inner();
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, meeting).await?;
    super::routes::require_meeting_reader(&mut conn, account.0, &m).await?;
    attachment_file(&mut conn, meeting, attachment).await
}

/// Bureau supervision: an attachment of a meeting past the committee's draft (organisation app, role `bureau`,
/// community in scope).
#[utoipa::path(
    tag = "openapi",
    params(("meeting_id" = Uuid, Path), ("attachment_id" = Uuid, Path)),
    responses(
        (status = 200, description = "the file (image/jpeg, image/png or application/pdf)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/meetings/{meeting_id}/attachments/{attachment_id}")]
async fn org_download_attachment(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (meeting, attachment) = path.into_inner();
    let (mut conn, _) = super::routes::bureau_meeting(&state, &req, meeting).await?;
    attachment_file(&mut conn, meeting, attachment).await
}

/// The stored file as a download (its name percent-encoded, never sniffed as anything else).
async fn attachment_file(conn: &mut AsyncPgConnection, meeting: Uuid, attachment: Uuid) -> Result<HttpResponse, ApiError> {
    let (name, kind, bytes): (String, String, Vec<u8>) = proposal_attachments::table
        .find(attachment)
        .filter(proposal_attachments::meeting_id.eq(meeting))
        .select((proposal_attachments::file_name, proposal_attachments::kind, proposal_attachments::bytes))
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    let kind = linli_identity::upload::ScanKind::parse(&kind).ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored kind unknown")))?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CONTENT_TYPE, kind.mime()))
        .insert_header((actix_web::http::header::CONTENT_DISPOSITION, content_disposition(&name)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_percent_encoded_for_content_disposition() {
        assert_eq!(super::content_disposition("报价 1.pdf"), "attachment; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%201.pdf");
        assert_eq!(super::content_disposition("a\"b.pdf"), "attachment; filename*=UTF-8''a%22b.pdf");
    }
}
