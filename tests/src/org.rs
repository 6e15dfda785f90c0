//! An organisation app (property company, bank, street office) calling the OpenAPI with its HMAC signature
//! (DESIGN §8), created directly in the database as an administrator would.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use linli_identity::org_app::{AppSecret, authorization_header};
use linli_server::auth::org_app::{OrgRole, create_app};
use linli_server::pii::Pii;
use linli_server::testing::test_pii_config;
use uuid::Uuid;

use crate::world::World;

pub struct OrgApp {
    pub id: String,
    secret: AppSecret,
    base_url: String,
}

impl OrgApp {
    /// A new app with `role` over the communities in `scope`.
    pub async fn create(world: &World, role: OrgRole, scope: &[Uuid]) -> anyhow::Result<Self> {
        let mut conn = AsyncPgConnection::establish(world.db.url()).await?;
        let pii = Pii::from_config(&test_pii_config())?;
        let (id, secret) = create_app(&mut conn, &pii, &format!("{} app", role.as_str()), role, scope).await?;
        Ok(Self { id, secret: AppSecret::from_text(secret.expose()), base_url: world.url("") })
    }

    pub fn secret(&self) -> &AppSecret {
        &self.secret
    }

    /// A signed POST of a JSON body.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<reqwest::Response> {
        let bytes = serde_json::to_vec(body)?;
        let auth = authorization_header(
            &self.id,
            &self.secret,
            "POST",
            path,
            chrono::Utc::now().timestamp_millis(),
            &crate::client::random_nonce(),
            &bytes,
        );
        Ok(crate::client()
            .post(format!("{}{path}", self.base_url))
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await?)
    }

    /// A signed GET of `path` (with its query, as signed).
    pub async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        let auth = authorization_header(
            &self.id,
            &self.secret,
            "GET",
            path,
            chrono::Utc::now().timestamp_millis(),
            &crate::client::random_nonce(),
            b"",
        );
        Ok(crate::client().get(format!("{}{path}", self.base_url)).header("authorization", auth).send().await?)
    }

    /// A signed POST of a JSON body, with an `Idempotency-Key` when given.
    pub async fn post_keyed(&self, path: &str, body: &serde_json::Value, idempotency_key: Option<&str>) -> anyhow::Result<reqwest::Response> {
        let bytes = serde_json::to_vec(body)?;
        let auth = authorization_header(
            &self.id,
            &self.secret,
            "POST",
            path,
            chrono::Utc::now().timestamp_millis(),
            &crate::client::random_nonce(),
            &bytes,
        );
        let mut req = crate::client()
            .post(format!("{}{path}", self.base_url))
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(bytes);
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        Ok(req.send().await?)
    }
}
