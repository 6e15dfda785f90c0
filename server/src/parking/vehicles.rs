//! Vehicles of a unit (issue 14 item 2): a unit's residents (verified owners, and the members and tenants whose
//! access is in force) register, list and remove the vehicles the gates should know. The plate is parsed once at the edge ([`super::plate`]); a plate is live on one unit of a
//! community at a time; a unit holds at most `[parking] vehicles_per_unit` live vehicles. Removal keeps the row.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::plate::{self, Plate};
use crate::app::AppState;
use crate::auth::CurrentAccount;
use crate::error::extractors::parse_json;
use crate::error::{ApiError, Problem};
use crate::schema::{account_persons, ownerships, residents, units, vehicles};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(register_vehicle).service(list_vehicles).service(remove_vehicle);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VehicleInput {
    /// As printed, e.g. `粤B·D12345`; full-width and lower case are accepted.
    pub plate: String,
    /// blue, yellow, green, yellow_green, white or black.
    pub plate_color: String,
}

#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct VehicleView {
    pub id: Uuid,
    pub unit_id: Uuid,
    /// Normalised: no spaces or dots, ASCII upper case.
    pub plate: String,
    pub plate_color: String,
    /// ordinary, new_energy_small, new_energy_large, driving_school, trailer, police, consulate, hong_kong, macao,
    /// embassy.
    pub plate_kind: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VehicleList {
    pub vehicles: Vec<VehicleView>,
}

fn plate_invalid(e: plate::PlateError) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "plate_invalid", "The plate is not a valid plate").with_detail(e.to_string())
}

/// The unit's community when `account` is one of its residents: a verified owner of the (not retired) unit, or a
/// household member or tenant whose accepted access is in force now; 404 otherwise, as for any unit that is not
/// the caller's.
async fn owned_unit(conn: &mut AsyncPgConnection, account: Uuid, unit: Uuid) -> Result<Uuid, ApiError> {
    let owner: Option<Uuid> = units::table
        .inner_join(ownerships::table.on(ownerships::unit_id.eq(units::id)))
        .inner_join(
            account_persons::table
                .on(account_persons::person_id.eq(ownerships::person_id).and(account_persons::community_id.eq(units::community_id))),
        )
        .filter(units::id.eq(unit))
        .filter(units::retired_at.is_null())
        .filter(account_persons::account_id.eq(account))
        .select(units::community_id)
        .first(conn)
        .await
        .optional()?;
    if let Some(community) = owner {
        return Ok(community);
    }
    let now = Utc::now();
    residents::table
        .inner_join(units::table.on(units::id.eq(residents::unit_id)))
        .filter(residents::unit_id.eq(unit))
        .filter(units::retired_at.is_null())
        .filter(residents::account_id.eq(account))
        .filter(residents::accepted_at.is_not_null())
        .filter(residents::ended_at.is_null())
        .filter(residents::valid_from.le(now))
        .filter(residents::valid_until.gt(now))
        .select(residents::community_id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)
}

#[diesel::dsl::auto_type]
fn view_columns() -> _ {
    (vehicles::id, vehicles::unit_id, vehicles::plate, vehicles::plate_color, vehicles::plate_kind, vehicles::created_at)
}

/// How a registration ended: a new vehicle, or the same plate already live on this unit (a retry).
pub enum Registered {
    Created(VehicleView),
    Existing(VehicleView),
}

/// Registers `plate` for `unit` on behalf of `account` (a resident), within the unit's limit.
pub async fn register(conn: &mut AsyncPgConnection, account: Uuid, unit: Uuid, plate: &Plate, limit: u32) -> Result<Registered, ApiError> {
    conn.transaction(async |conn| {
        let community = owned_unit(conn, account, unit).await?;
        // The unit row locked: two registrations of one unit count its vehicles one after the other.
        units::table.find(unit).select(units::id).for_update().first::<Uuid>(conn).await?;
        let live: Option<VehicleView> = vehicles::table
            .filter(vehicles::community_id.eq(community))
            .filter(vehicles::plate.eq(plate.as_str()))
            .filter(vehicles::removed_at.is_null())
            .select(view_columns())
            .first(conn)
            .await
            .optional()?;
        if let Some(existing) = live {
            return if existing.unit_id == unit {
                Ok(Registered::Existing(existing))
            } else {
                Err(ApiError::new(StatusCode::CONFLICT, "plate_registered", "This plate is registered to another unit of the community"))
            };
        }
        let count: i64 = vehicles::table
            .filter(vehicles::unit_id.eq(unit))
            .filter(vehicles::removed_at.is_null())
            .count()
            .get_result(conn)
            .await?;
        if count >= i64::from(limit) {
            return Err(ApiError::new(StatusCode::CONFLICT, "vehicle_limit_reached", "The unit has as many vehicles as it may register")
                .with_detail(format!("at most {limit} vehicles per unit")));
        }
        let view = diesel::insert_into(vehicles::table)
            .values((
                vehicles::id.eq(Uuid::now_v7()),
                vehicles::community_id.eq(community),
                vehicles::unit_id.eq(unit),
                vehicles::plate.eq(plate.as_str()),
                vehicles::plate_color.eq(plate.color().as_str()),
                vehicles::plate_kind.eq(plate.kind().as_str()),
                vehicles::registered_by.eq(account),
            ))
            .returning(view_columns())
            .get_result(conn)
            .await?;
        crate::audit::append(conn, &account.to_string(), "vehicle.register", &unit.to_string(), serde_json::json!({"plate": plate.as_str()}))
            .await
            .map_err(ApiError::internal)?;
        Ok(Registered::Created(view))
    })
    .await
}

/// The unit's live vehicles, oldest first.
pub async fn list(conn: &mut AsyncPgConnection, account: Uuid, unit: Uuid) -> Result<Vec<VehicleView>, ApiError> {
    owned_unit(conn, account, unit).await?;
    Ok(vehicles::table
        .filter(vehicles::unit_id.eq(unit))
        .filter(vehicles::removed_at.is_null())
        .order((vehicles::created_at.asc(), vehicles::id.asc()))
        .select(view_columns())
        .load(conn)
        .await?)
}

/// Ends a live registration of the unit (kept as removed). 404 for another unit's or an already removed vehicle.
pub async fn remove(conn: &mut AsyncPgConnection, account: Uuid, unit: Uuid, vehicle: Uuid) -> Result<(), ApiError> {
    conn.transaction(async |conn| {
        owned_unit(conn, account, unit).await?;
        let removed = diesel::update(
            vehicles::table.find(vehicle).filter(vehicles::unit_id.eq(unit)).filter(vehicles::removed_at.is_null()),
        )
        .set((vehicles::removed_at.eq(Utc::now()), vehicles::removed_by.eq(account)))
        .execute(conn)
        .await?;
        if removed == 0 {
            return Err(ApiError::not_found());
        }
        crate::audit::append(conn, &account.to_string(), "vehicle.remove", &vehicle.to_string(), serde_json::json!({"unit": unit}))
            .await
            .map_err(ApiError::internal)?;
        Ok(())
    })
    .await
}

/// Registers a vehicle of the unit (its residents): 201 new, 200 when the plate is already live on this unit.
#[utoipa::path(
    tag = "parking",
    params(("unit_id" = Uuid, Path)),
    request_body = VehicleInput,
    responses(
        (status = 201, body = VehicleView),
        (status = 200, body = VehicleView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
#[post("/v1/units/{unit_id}/vehicles")]
async fn register_vehicle(
    state: web::Data<AppState>,
    account: CurrentAccount,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: VehicleInput = parse_json(&body)?;
    let plate = plate::parse_plate(&input.plate, &input.plate_color).map_err(plate_invalid)?;
    let mut conn = state.db.get().await?;
    Ok(match register(&mut conn, account.0, path.into_inner(), &plate, state.parking.vehicles_per_unit).await? {
        Registered::Created(v) => HttpResponse::Created().json(v),
        Registered::Existing(v) => HttpResponse::Ok().json(v),
    })
}

/// The unit's registered vehicles (its residents).
#[utoipa::path(
    tag = "parking",
    params(("unit_id" = Uuid, Path)),
    responses((status = 200, body = VehicleList), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[get("/v1/units/{unit_id}/vehicles")]
async fn list_vehicles(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(VehicleList { vehicles: list(&mut conn, account.0, path.into_inner()).await? }))
}

/// Removes a vehicle of the unit (its residents).
#[utoipa::path(
    tag = "parking",
    params(("unit_id" = Uuid, Path), ("vehicle_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("session" = []))
)]
#[delete("/v1/units/{unit_id}/vehicles/{vehicle_id}")]
async fn remove_vehicle(state: web::Data<AppState>, account: CurrentAccount, path: web::Path<(Uuid, Uuid)>) -> Result<HttpResponse, ApiError> {
    let (unit, vehicle) = path.into_inner();
    let mut conn = state.db.get().await?;
    remove(&mut conn, account.0, unit, vehicle).await?;
    Ok(HttpResponse::NoContent().finish())
}
