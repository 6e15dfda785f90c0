use std::path::PathBuf;
use std::time::Duration;

use actix_web::dev::ServiceResponse;
use actix_web::test;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use linli_server::auth::SessionStore;
use linli_server::auth::roles::{Role, grant};
use linli_server::app::AppState;
use linli_server::metrics::Metrics;
use linli_server::pii::Pii;
use linli_server::schema::{account_persons, accounts};
use linli_server::testing::{TestDb, redis_url, test_pii_config};
use uuid::Uuid;

/// The in-process application of a [`TestApp`].
#[macro_export]
macro_rules! service {
    ($t:expr) => {
        actix_web::test::init_service(linli_server::http::app($t.state.clone(), 64 * 1024)).await
    };
}

/// Calls `$app` with a bearer token and a JSON body; answers (status, content type, JSON) as [`json_of`] does.
#[macro_export]
macro_rules! call_json {
    ($app:expr, $method:ident, $uri:expr, $token:expr, $body:expr) => {{
        let req = actix_web::test::TestRequest::$method()
            .uri(&$uri)
            .insert_header(("authorization", format!("Bearer {}", $token)))
            .set_json($body)
            .to_request();
        $crate::common::json_of(actix_web::test::call_service(&$app, req).await).await
    }};
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn demo_register() -> PathBuf {
    repo_root().join("fixtures/demo-register.csv")
}

pub struct TestApp {
    /// Held so the database lives as long as the app (dropping it drops the database).
    #[allow(dead_code)]
    pub db: TestDb,
    pub state: AppState,
}

impl TestApp {
    pub async fn new() -> Self {
        // As every binary does at start-up (reqwest has no bundled provider; the door-gateway client is built here).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = TestDb::new().await.unwrap();
        let pool = linli_server::db::pool(db.url(), 4).unwrap();
        let redis = linli_server::cache::connect(&redis_url()).await.unwrap();
        let state = AppState {
            db: pool,
            redis: redis.clone(),
            sessions: SessionStore::new(redis, Duration::from_secs(600)),
            pii: Pii::from_config(&test_pii_config()).unwrap(),
            metrics: Metrics::new().unwrap(),
            identity: None,
            wechatpay: None,
            faults: Default::default(),
            uploads: linli_server::upload_gate::UploadGate::new(2, 1000, 600),
            // Tests open meetings seconds before voting starts.
            governance: linli_server::config::GovernanceConfig { opening_margin_secs: 1 },
            parking: linli_server::config::ParkingConfig { vehicles_per_unit: 2 },
            access: std::sync::Arc::new(
                linli_server::access::AccessServices::new(linli_server::access::AccessConfig::default()).unwrap(),
            ),
            log_signer: Some(std::sync::Arc::new(
                linli_server::logs::note::NoteSigner::new("linli.test", &[0x42; 32]).unwrap(),
            )),
            disclosure: Default::default(),
        };
        Self { db, state }
    }

    pub async fn conn(&self) -> diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection> {
        self.state.db.get().await.unwrap()
    }

    /// Imports the demo register through the library (the CLI path has its own tests).
    pub async fn import_demo(&self) -> Uuid {
        let bytes = std::fs::read(demo_register()).unwrap();
        let register = linli_server::community::register_file::parse_register(&bytes).unwrap();
        let mut conn = self.conn().await;
        linli_server::community::store::apply_register(&mut conn, &self.state.pii, &register, b"demo", &|_| {})
            .await
            .unwrap()
            .community_id
    }

    /// A new account with a live session; returns (account id, bearer token).
    pub async fn account(&self) -> (Uuid, String) {
        let id = Uuid::now_v7();
        let mut conn = self.conn().await;
        diesel::insert_into(accounts::table).values(accounts::id.eq(id)).execute(&mut conn).await.unwrap();
        let token = self.state.sessions.create(id, 0).await.unwrap();
        (id, token.0)
    }

    pub async fn grant(&self, account: Uuid, community: Uuid, role: Role) {
        let mut conn = self.conn().await;
        grant(&mut conn, account, community, role).await.unwrap();
    }

    /// Links an account to the register person holding `id_number` (what a verified enrollment does).
    pub async fn link_person(&self, account: Uuid, community: Uuid, id_number: &str) -> Uuid {
        use linli_server::schema::persons;
        let bidx = self.state.pii.index(linli_server::pii::Field::IdNumber, id_number);
        let mut conn = self.conn().await;
        let person: Uuid =
            persons::table.filter(persons::id_number_bidx.eq(bidx)).select(persons::id).first(&mut conn).await.unwrap();
        diesel::insert_into(account_persons::table)
            .values((
                account_persons::account_id.eq(account),
                account_persons::person_id.eq(person),
                account_persons::community_id.eq(community),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
        person
    }
}

/// Reads a body as JSON and checks the problem+json shape when the status is an error.
pub async fn json_of(resp: ServiceResponse<impl actix_web::body::MessageBody>) -> (u16, String, serde_json::Value) {
    let status = resp.status().as_u16();
    let content_type =
        resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = test::read_body(resp).await;
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    if status >= 400 {
        assert_eq!(content_type, "application/problem+json", "status {status}: {body:?}");
        assert!(json["code"].is_string() && json["status"] == status, "{json}");
    }
    (status, content_type, json)
}
