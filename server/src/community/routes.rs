//! Read endpoints of the register: an owner's own units, and the committee's aggregates (no names).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::{AreaSource, UnitKind};
use super::headcount::{self, Holder, RegisterTotals, headcount_key};
use super::store;
use crate::auth::{CurrentAccount, Role, require_role};
use crate::error::{ApiError, Problem};
use crate::app::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(my_units).service(register_summary).service(org_register_summary).service(put_rules);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommunityRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyUnit {
    pub unit_id: Uuid,
    pub building_code: String,
    pub building_name: String,
    pub number: String,
    pub kind: UnitKind,
    /// Registered exclusive area (专有部分面积) in centi-m².
    pub exclusive_area_centi_m2: i64,
    pub area_source: AreaSource,
    pub building_area_centi_m2: i64,
    /// Number of owners of this unit (more than one: co-owned, one vote).
    pub owner_count: usize,
    /// Whether this unit counts in area and headcount under the community's rules.
    pub counted: bool,
    /// Opaque headcount key: units with the same key count as one person.
    pub headcount_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyUnitsResponse {
    pub community: CommunityRef,
    pub units: Vec<MyUnit>,
}

/// The caller's own units in a community, with areas and how they count.
#[utoipa::path(
    tag = "register",
    params(("community_id" = Uuid, Path, description = "community id")),
    responses(
        (status = 200, body = MyUnitsResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json",
         description = "no such community, or the caller owns nothing in it"),
    ),
    security(("session" = []))
)]
#[get("/v1/communities/{community_id}/units/mine")]
async fn my_units(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let community_id = path.into_inner();
    let mut conn = state.db.get().await?;
    let persons = store::persons_of_account(&mut conn, account.0, community_id).await?;
    if persons.is_empty() {
        return Err(ApiError::not_found());
    }
    let community = store::community(&mut conn, community_id).await?.ok_or_else(ApiError::not_found)?;
    let holdings = store::holdings(&mut conn, community_id).await.map_err(ApiError::internal)?;
    let units = holdings
        .iter()
        .filter(|(_, holder)| matches!(holder, Holder::Owners(set) if persons.iter().any(|p| set.contains(p))))
        .map(|(unit, holder)| {
            let holding = headcount::UnitHolding {
                unit_id: unit.id,
                kind: unit.kind,
                area: unit.exclusive_area,
                holder: holder.clone(),
            };
            let key = headcount_key(&holding, community.rules);
            MyUnit {
                unit_id: unit.id,
                building_code: unit.building_code.clone(),
                building_name: unit.building_name.clone(),
                number: unit.number.clone(),
                kind: unit.kind,
                exclusive_area_centi_m2: unit.exclusive_area.get(),
                area_source: unit.area_source,
                building_area_centi_m2: unit.building_area.get(),
                owner_count: match holder {
                    Holder::Owners(set) => set.len(),
                    Holder::Developer { .. } => 1,
                },
                counted: key.is_some(),
                headcount_key: key.map(|k| k.opaque()),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(MyUnitsResponse {
        community: CommunityRef { id: community.id, code: community.code, name: community.name },
        units,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BuildingSummary {
    pub code: String,
    pub name: String,
    pub units: u64,
    pub exclusive_area_centi_m2: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterSummary {
    pub community: CommunityRef,
    /// Totals under the community's own rule for parking spaces.
    pub totals: RegisterTotals,
    /// Totals with the opposite parking-space rule, so the committee sees what the setting changes.
    pub totals_other_parking_rule: RegisterTotals,
    pub buildings: Vec<BuildingSummary>,
}

/// Aggregates of a community's register for its committee: areas, headcount under the SPC rules, developer
/// holdings, per building. No names, no ID numbers.
#[utoipa::path(
    tag = "register",
    params(("community_id" = Uuid, Path, description = "community id")),
    responses(
        (status = 200, body = RegisterSummary),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json",
         description = "no such community, or the caller is not on its committee"),
    ),
    security(("session" = []))
)]
#[get("/v1/communities/{community_id}/register/summary")]
async fn register_summary(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let community_id = path.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, account.0, community_id, Role::Committee).await?;
    Ok(HttpResponse::Ok().json(summary(&mut conn, community_id).await?))
}

/// The same aggregates for organisation apps: the property company and the housing bureau (no names).
#[utoipa::path(
    tag = "openapi",
    params(("community_id" = Uuid, Path, description = "community id")),
    responses(
        (status = 200, body = RegisterSummary),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json",
         description = "no such community, or not in the app's scope or role"),
    ),
    security(("app_hmac" = []))
)]
#[get("/openapi/v1/communities/{community_id}/register/summary")]
async fn org_register_summary(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    use crate::auth::org_app::{OrgRole, verify_org_request};
    let community_id = path.into_inner();
    let mut conn = state.db.get().await?;
    let app = verify_org_request(&state, &mut conn, &req, &[]).await?;
    app.require(&[OrgRole::Property, OrgRole::Bureau], community_id)?;
    Ok(HttpResponse::Ok().json(summary(&mut conn, community_id).await?))
}

async fn summary(
    conn: &mut diesel_async::AsyncPgConnection,
    community_id: Uuid,
) -> Result<RegisterSummary, ApiError> {
    let community = store::community(conn, community_id).await?.ok_or_else(ApiError::not_found)?;
    let rows = store::holdings(conn, community_id).await.map_err(ApiError::internal)?;
    let holdings = store::as_holdings(&rows);
    let totals = headcount::totals(&holdings, community.rules);
    let other = headcount::CountingRules { count_parking_spaces: !community.rules.count_parking_spaces };
    let totals_other_parking_rule = headcount::totals(&holdings, other);
    let mut buildings: BTreeMap<(String, String), (u64, i64)> = BTreeMap::new();
    for (unit, _) in &rows {
        let entry = buildings.entry((unit.building_code.clone(), unit.building_name.clone())).or_default();
        entry.0 += 1;
        entry.1 += unit.exclusive_area.get();
    }
    Ok(RegisterSummary {
        community: CommunityRef { id: community.id, code: community.code, name: community.name },
        totals,
        totals_other_parking_rule,
        buildings: buildings
            .into_iter()
            .map(|((code, name), (units, area))| BuildingSummary { code, name, units, exclusive_area_centi_m2: area })
            .collect(),
    })
}

/// The per-community counting rules (DESIGN §5 "Law").
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommunityRules {
    /// Whether parking spaces registered as exclusive parts count in area and headcount.
    pub count_parking_spaces: bool,
}

/// Sets a community's counting rules (platform admin of that community; audited). Meetings freeze the rules they
/// open with, so a change affects only meetings opened later.
#[utoipa::path(
    tag = "register",
    params(("community_id" = Uuid, Path, description = "community id")),
    request_body = CommunityRules,
    responses(
        (status = 200, body = CommunityRules),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "malformed JSON"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "invalid fields"),
    ),
    security(("session" = []))
)]
#[put("/v1/admin/communities/{community_id}/rules")]
async fn put_rules(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Json<CommunityRules>,
) -> Result<HttpResponse, ApiError> {
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, RunQueryDsl};

    use crate::schema::communities;

    let community_id = path.into_inner();
    let rules = body.into_inner();
    let mut conn = state.db.get().await?;
    require_role(&mut conn, account.0, community_id, Role::Admin).await?;
    conn.transaction(async |conn| {
        let changed = diesel::update(communities::table.find(community_id))
            .filter(communities::count_parking_spaces.ne(rules.count_parking_spaces))
            .set(communities::count_parking_spaces.eq(rules.count_parking_spaces))
            .execute(conn)
            .await?;
        if changed > 0 {
            crate::audit::append(
                conn,
                &format!("account:{}", account.0),
                "community.rules.set",
                &format!("community:{community_id}"),
                serde_json::json!({ "count_parking_spaces": rules.count_parking_spaces }),
            )
            .await?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(rules))
}
