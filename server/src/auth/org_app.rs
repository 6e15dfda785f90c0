//! Organisation apps (DESIGN §9): the property company, the bank, the housing bureau, parking systems and door
//! gateways call `/openapi/v1/...` with `Authorization: LINLI-HMAC-SHA256 app_id=…,timestamp=…,nonce=…,signature=…`.
//! Each app has one role and a set of communities; a request outside them is answered 404.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, http::header};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_identity::org_app::{
    AppSecret, OrgAuthError, SealedAppSecret, generate_app_id, parse_authorization, seal_secret, unseal_secret,
    verify,
};
use uuid::Uuid;

use crate::error::ApiError;
use crate::app::AppState;
use crate::pii::Pii;
use crate::schema::{org_app_communities, org_apps};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgRole {
    Property,
    Bank,
    Bureau,
    ParkingSystem,
    DoorGateway,
}

impl OrgRole {
    pub const ALL: [OrgRole; 5] = [Self::Property, Self::Bank, Self::Bureau, Self::ParkingSystem, Self::DoorGateway];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Property => "property",
            Self::Bank => "bank",
            Self::Bureau => "bureau",
            Self::ParkingSystem => "parking_system",
            Self::DoorGateway => "door_gateway",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// An authenticated organisation app.
#[derive(Debug, Clone)]
pub struct OrgApp {
    pub id: String,
    pub role: OrgRole,
    pub communities: Vec<Uuid>,
}

impl OrgApp {
    /// 404 unless the app has one of `roles` and `community` in its scope (never reveal what exists elsewhere).
    pub fn require(&self, roles: &[OrgRole], community: Uuid) -> Result<(), ApiError> {
        if roles.contains(&self.role) && self.communities.contains(&community) {
            Ok(())
        } else {
            Err(ApiError::not_found())
        }
    }
}

fn refuse(e: OrgAuthError) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, e.code(), "The app request is not authenticated")
}

/// Verifies an app request: header, app, HMAC over the exact body, timestamp window, then a fresh nonce.
pub async fn verify_org_request(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    req: &HttpRequest,
    body: &[u8],
) -> Result<OrgApp, ApiError> {
    let auth = parse_authorization(req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()))
        .map_err(refuse)?;
    let row: Option<(String, String, String)> = org_apps::table
        .find(&auth.app_id)
        .filter(org_apps::disabled_at.is_null())
        .select((org_apps::role, org_apps::secret_sealed, org_apps::secret_sha256))
        .first(conn)
        .await
        .optional()?;
    let (role, sealed, sha) = row.ok_or_else(|| refuse(OrgAuthError::UnknownApp))?;
    let secret = unseal_secret(
        state.pii.cipher(),
        &auth.app_id,
        &SealedAppSecret { ciphertext: sealed, secret_sha256: sha },
    )
    .map_err(ApiError::internal)?;
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    verify(&auth, &secret, req.method().as_str(), path, body, Utc::now().timestamp_millis()).map_err(refuse)?;
    let fresh = crate::cache::claim_nonce(&state.redis, &auth.replay_key(), linli_identity::signed_request::NONCE_TTL_SECONDS).await?;
    if !fresh {
        return Err(refuse(OrgAuthError::NonceReplayed));
    }
    let role = OrgRole::parse(&role).ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown app role {role}")))?;
    let communities = org_app_communities::table
        .filter(org_app_communities::app_id.eq(&auth.app_id))
        .select(org_app_communities::community_id)
        .load(conn)
        .await?;
    Ok(OrgApp { id: auth.app_id, role, communities })
}

/// Creates an app. The secret is returned once (the caller prints it) and stored sealed, never in clear.
pub async fn create_app(
    conn: &mut AsyncPgConnection,
    pii: &Pii,
    org_name: &str,
    role: OrgRole,
    communities: &[Uuid],
) -> anyhow::Result<(String, AppSecret)> {
    let id = generate_app_id();
    let secret = AppSecret::generate();
    let sealed = seal_secret(pii.cipher(), &id, &secret).map_err(|e| anyhow::anyhow!("sealing the secret: {e}"))?;
    conn.transaction(async |conn| {
        diesel::insert_into(org_apps::table)
            .values((
                org_apps::id.eq(&id),
                org_apps::org_name.eq(org_name),
                org_apps::role.eq(role.as_str()),
                org_apps::secret_sealed.eq(&sealed.ciphertext),
                org_apps::secret_sha256.eq(&sealed.secret_sha256),
            ))
            .execute(conn)
            .await?;
        for community in communities {
            diesel::insert_into(org_app_communities::table)
                .values((org_app_communities::app_id.eq(&id), org_app_communities::community_id.eq(community)))
                .execute(conn)
                .await?;
        }
        crate::audit::append(
            conn,
            "cli:apps",
            "org_app.create",
            &format!("org_app:{id}"),
            serde_json::json!({ "org": org_name, "role": role.as_str(), "communities": communities,
                                "secret_sha256": sealed.secret_sha256 }),
        )
        .await?;
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    Ok((id, secret))
}
