//! `/v1/meetings/{meeting_id}/proxies`: written proxies (DESIGN §5) from the holder's side. A verified owner of
//! the community files the authorisation the owner(s) of another unit signed for this meeting (a scan: JPEG, PNG
//! or PDF), sees how staff decided, and may withdraw it until voting opens. Staff review it under
//! `/v1/support/communities/{community_id}/proxies` (`crate::support::proxy_reviews`). The roll freeze turns an
//! approved proxy into the voter of the principal's key (`domain::build_roll`); the holder then casts a separate
//! sheet with `proxy_id`.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::{self, MeetingRow};
use crate::auth::CurrentAccount;
use crate::error::{ApiError, Problem};
use crate::app::AppState;
use crate::multipart::{FieldLimit, paper_scan, read_fields, text_field};
use crate::pii::DocumentColumn;
use crate::schema::{buildings, meeting_proxies, ownerships, units};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(file_proxy).service(my_proxies).service(withdraw_proxy);
}

/// A written proxy as its holder and staff see it (no names here; staff get the register's names separately).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProxyView {
    pub id: Uuid,
    pub meeting_id: Uuid,
    /// The principal's unit, as on the authorisation.
    pub building_code: String,
    pub unit_number: String,
    /// `submitted`, `approved`, `rejected`, `withdrawn` or `lapsed` (still waiting, or not used, when voting opened).
    pub status: String,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    /// `jpeg`, `png` or `pdf`.
    pub scan_kind: String,
    pub scan_sha256: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProxyList {
    pub proxies: Vec<ProxyView>,
}

/// Which proxies [`load_views`] reads.
pub enum ProxyFilter {
    /// The holder's proxies for one meeting.
    Holder { meeting: Uuid, holder: Uuid },
    /// The proxies of a community waiting for staff.
    Submitted { community: Uuid },
    /// One proxy of a community.
    One { community: Uuid, proxy: Uuid },
}

type ProxyRow = (Uuid, Uuid, Uuid, Uuid, String, String, String, DateTime<Utc>, Option<DateTime<Utc>>, Option<String>, String, String);

/// The proxies of `filter` with their unit labels, oldest first, with each one's holder and unit id.
pub async fn load_views(conn: &mut AsyncPgConnection, filter: ProxyFilter) -> Result<Vec<(ProxyView, Uuid, Uuid)>, ApiError> {
    let mut query = meeting_proxies::table
        .inner_join(units::table.on(units::id.eq(meeting_proxies::principal_unit)))
        .inner_join(buildings::table.on(buildings::id.eq(units::building_id)))
        .select((
            meeting_proxies::id,
            meeting_proxies::meeting_id,
            meeting_proxies::holder_account,
            meeting_proxies::principal_unit,
            buildings::code,
            units::number,
            meeting_proxies::status,
            meeting_proxies::submitted_at,
            meeting_proxies::decided_at,
            meeting_proxies::decision_note,
            meeting_proxies::scan_kind,
            meeting_proxies::scan_sha256,
        ))
        .order((meeting_proxies::submitted_at, meeting_proxies::id))
        .limit(200)
        .into_boxed();
    query = match filter {
        ProxyFilter::Holder { meeting, holder } => {
            query.filter(meeting_proxies::meeting_id.eq(meeting)).filter(meeting_proxies::holder_account.eq(holder))
        }
        ProxyFilter::Submitted { community } => {
            query.filter(meeting_proxies::community_id.eq(community)).filter(meeting_proxies::status.eq("submitted"))
        }
        ProxyFilter::One { community, proxy } => {
            query.filter(meeting_proxies::community_id.eq(community)).filter(meeting_proxies::id.eq(proxy))
        }
    };
    let rows: Vec<ProxyRow> = query.load(conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, meeting_id, holder, unit, building_code, unit_number, status, submitted_at, decided_at, decision_note, scan_kind, scan_sha256) in rows {
        out.push((
            ProxyView { id, meeting_id, building_code, unit_number, status, submitted_at, decided_at, decision_note, scan_kind, scan_sha256 },
            holder,
            unit,
        ));
    }
    Ok(out)
}

/// The register persons who own `unit` (empty: nobody, or a unit unknown).
pub async fn unit_owners(conn: &mut AsyncPgConnection, unit: Uuid) -> QueryResult<Vec<Uuid>> {
    ownerships::table.filter(ownerships::unit_id.eq(unit)).select(ownerships::person_id).load(conn).await
}

/// The meeting row, share-locked: the roll freeze (which locks it for update) waits for a proxy change in flight,
/// and a proxy change waits for a freeze in flight and then sees the meeting open.
async fn meeting_for_share(conn: &mut AsyncPgConnection, id: Uuid) -> Result<MeetingRow, ApiError> {
    crate::schema::meetings::table
        .find(id)
        .select(MeetingRow::as_select())
        .for_share()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

/// Proxies change only while the meeting is published and its roll not yet frozen.
pub fn require_roll_not_frozen(m: &MeetingRow) -> Result<(), ApiError> {
    if m.state()? == super::lifecycle::MeetingState::Published {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::CONFLICT,
            "proxy_filing_closed",
            "Written proxies are filed and decided between publication and the opening of voting",
        )
        .with_detail(format!("the meeting is {}", m.status)))
    }
}

/// Verified owners of the meeting's community may hold a proxy; anyone else gets 404. Returns the register
/// persons the account is verified as there.
async fn require_community_owner(conn: &mut AsyncPgConnection, account: Uuid, community: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let persons = crate::community::store::persons_of_account(conn, account, community).await?;
    if persons.is_empty() { Err(ApiError::not_found()) } else { Ok(persons) }
}

fn unprocessable(code: &'static str, title: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, title)
}

/// The principal's unit named by building code and number, which must have owners other than the holder.
async fn principal_unit(
    conn: &mut AsyncPgConnection,
    community: Uuid,
    building: &str,
    unit_number: &str,
    holder_persons: &[Uuid],
) -> Result<Uuid, ApiError> {
    let unit: Uuid = units::table
        .inner_join(buildings::table.on(buildings::id.eq(units::building_id)))
        .filter(units::community_id.eq(community))
        .filter(buildings::code.eq(building))
        .filter(units::number.eq(unit_number))
        .select(units::id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| unprocessable("proxy_unit_unknown", "The community's register has no such unit"))?;
    let owners = unit_owners(conn, unit).await?;
    if owners.is_empty() {
        return Err(unprocessable("proxy_unit_without_owner", "The register names no owner of this unit"));
    }
    if owners.iter().any(|o| holder_persons.contains(o)) {
        return Err(unprocessable("proxy_for_own_unit", "An owner votes for their own unit without a proxy"));
    }
    Ok(unit)
}

/// Files a written proxy for this meeting (a verified owner of its community, the holder). Multipart fields:
/// `building` (code) and `unit` (number) of the principal's unit, `scan` (the signed authorisation: JPEG, PNG or
/// PDF, ≤ 10 MiB). The holder may not own that unit; one live proxy per unit and meeting. Support staff decide.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "fields: building, unit, scan (file)"),
    responses(
        (status = 201, body = ProxyView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "roll frozen, or a live proxy for the unit exists"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "not JPEG, PNG or PDF"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "unknown unit, a unit without owner, or the holder's own unit"),
    ),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/proxies")]
async fn file_proxy(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let meeting_id = path.into_inner();
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, meeting_id).await?;
    let holder_persons = require_community_owner(&mut conn, account.0, m.community_id).await?;
    require_roll_not_frozen(&m)?;
    let spec = [
        FieldLimit { name: "scan", max_bytes: linli_identity::upload::MAX_PDF_BYTES },
        FieldLimit { name: "building", max_bytes: 64 },
        FieldLimit { name: "unit", max_bytes: 64 },
    ];
    let mut fields = read_fields(payload, &spec, "scan_too_large").await?;
    let mut label = |name: &'static str| -> Result<String, ApiError> {
        let text = fields.remove(name).map(text_field).transpose()?.unwrap_or_default();
        let text = text.trim();
        if text.is_empty() {
            return Err(unprocessable("proxy_unit_missing", "The fields `building` and `unit` name the principal's unit"));
        }
        Ok(text.to_owned())
    };
    let (building, unit_number) = (label("building")?, label("unit")?);
    let upload = fields.remove("scan").ok_or_else(|| unprocessable("scan_missing", "The multipart field `scan` is required"))?;
    // Everything that can refuse the proxy is checked before the scan is decoded (and again in the transaction).
    principal_unit(&mut conn, m.community_id, &building, &unit_number, &holder_persons).await?;
    let scan = paper_scan(&state, account.0, upload, "The written proxy scan is not acceptable").await?;
    let proxy_id = Uuid::now_v7();
    let scan_enc = state.pii.encrypt_document(DocumentColumn::ProxyAuthorisationScan, proxy_id, &scan.bytes).map_err(ApiError::internal)?;
    let scan_sha256 = scan.sha256_hex();
    let holder = account.0;
    conn.transaction(async |conn| {
        let m = meeting_for_share(conn, meeting_id).await?;
        require_roll_not_frozen(&m)?;
        let unit = principal_unit(conn, m.community_id, &building, &unit_number, &holder_persons).await?;
        let inserted = diesel::insert_into(meeting_proxies::table)
            .values((
                meeting_proxies::id.eq(proxy_id),
                meeting_proxies::meeting_id.eq(meeting_id),
                meeting_proxies::community_id.eq(m.community_id),
                meeting_proxies::holder_account.eq(holder),
                meeting_proxies::principal_unit.eq(unit),
                meeting_proxies::status.eq("submitted"),
                meeting_proxies::scan_enc.eq(&scan_enc),
                meeting_proxies::scan_kind.eq(scan.kind.as_str()),
                meeting_proxies::scan_sha256.eq(&scan_sha256),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if inserted == 0 {
            return Err(ApiError::new(StatusCode::CONFLICT, "proxy_exists", "A proxy for this unit is already filed for this meeting"));
        }
        crate::audit::append(
            conn,
            &format!("account:{holder}"),
            "proxy.file",
            &format!("meeting_proxy:{proxy_id}"),
            serde_json::json!({ "meeting": meeting_id, "unit": unit, "scan_kind": scan.kind.as_str(), "scan_sha256": scan_sha256 }),
        )
        .await?;
        Ok::<_, ApiError>(())
    })
    .await?;
    let view = load_views(&mut conn, ProxyFilter::One { community: m.community_id, proxy: proxy_id })
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("filed proxy not found")))?;
    Ok(HttpResponse::Created().json(view.0))
}

/// The caller's written proxies for this meeting, in any state.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path)),
    responses((status = 200, body = ProxyList), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/meetings/{meeting_id}/proxies")]
async fn my_proxies(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let meeting = path.into_inner();
    let mut conn = state.db.get().await?;
    let m = store::meeting(&mut conn, meeting).await?;
    require_community_owner(&mut conn, account.0, m.community_id).await?;
    let proxies = load_views(&mut conn, ProxyFilter::Holder { meeting, holder: account.0 }).await?.into_iter().map(|v| v.0).collect();
    Ok(HttpResponse::Ok().json(ProxyList { proxies }))
}

/// Withdraws one of the caller's proxies (waiting or approved) before voting opens.
#[utoipa::path(
    tag = "governance",
    params(("meeting_id" = Uuid, Path), ("proxy_id" = Uuid, Path)),
    responses(
        (status = 200, body = ProxyView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "roll frozen, or the proxy was rejected or withdrawn"),
    ),
    security(("session" = []))
)]
#[post("/v1/meetings/{meeting_id}/proxies/{proxy_id}/withdraw")]
async fn withdraw_proxy(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (meeting_id, proxy) = path.into_inner();
    let mut conn = state.db.get().await?;
    let community = conn
        .transaction(async |conn| {
            let m = meeting_for_share(conn, meeting_id).await?;
            let status: String = meeting_proxies::table
                .find(proxy)
                .filter(meeting_proxies::meeting_id.eq(meeting_id))
                .filter(meeting_proxies::holder_account.eq(account.0))
                .select(meeting_proxies::status)
                .for_update()
                .first(conn)
                .await
                .optional()?
                .ok_or_else(ApiError::not_found)?;
            require_roll_not_frozen(&m)?;
            if status != "submitted" && status != "approved" {
                return Err(ApiError::new(StatusCode::CONFLICT, "proxy_not_live", "The proxy is no longer live").with_detail(status));
            }
            diesel::update(meeting_proxies::table.find(proxy)).set(meeting_proxies::status.eq("withdrawn")).execute(conn).await?;
            crate::audit::append(
                conn,
                &format!("account:{}", account.0),
                "proxy.withdraw",
                &format!("meeting_proxy:{proxy}"),
                serde_json::json!({ "meeting": meeting_id, "was": status }),
            )
            .await?;
            Ok::<_, ApiError>(m.community_id)
        })
        .await?;
    let view = load_views(&mut conn, ProxyFilter::One { community, proxy }).await?.pop().ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(view.0))
}
