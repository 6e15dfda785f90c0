//! Housing-registry stand-in: JSON over HTTPS with mutual TLS. Only clients with a certificate issued by the
//! sandbox's test CA (`fixtures/test-keys/test-ca.pem`) complete the handshake.
//!
//! `POST /v1/ownership-checks {id_number, name, community, building, unit}` →
//! `{owner, name_matches, exclusive_area_m2, area_source, reference}` from the register CSV.
//!
//! Control (tests and demos, on the plain listener): `POST /sandbox/registry/answers {id_number, mode}` makes the
//! registry answer for that person as `normal` (from the register), `not_named` (not an owner of any unit, as for
//! a sale the registry has not recorded yet) or `unavailable` (HTTP 503, as during an outage).

use crate::AppState;
use crate::data::UnitKey;
use actix_web::{HttpResponse, web};
use anyhow::Context;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/ownership-checks", web::post().to(ownership_check));
}

pub fn control_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sandbox/registry/answers", web::post().to(set_answer));
}

/// How the registry answers for one person (by ID number, upper-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerMode {
    Normal,
    NotNamed,
    Unavailable,
}

#[derive(Debug, Default)]
pub struct RegistryControl {
    modes: std::collections::HashMap<String, AnswerMode>,
}

#[derive(serde::Deserialize)]
struct SetAnswer {
    id_number: String,
    mode: AnswerMode,
}

async fn set_answer(body: web::Json<SetAnswer>, state: web::Data<AppState>) -> HttpResponse {
    let b = body.into_inner();
    let Ok(mut control) = state.registry.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let key = b.id_number.to_ascii_uppercase();
    if b.mode == AnswerMode::Normal {
        control.modes.remove(&key);
    } else {
        control.modes.insert(key, b.mode);
    }
    HttpResponse::Ok().json(serde_json::json!({ "id_number": b.id_number, "mode": b.mode_text() }))
}

impl SetAnswer {
    fn mode_text(&self) -> &'static str {
        match self.mode {
            AnswerMode::Normal => "normal",
            AnswerMode::NotNamed => "not_named",
            AnswerMode::Unavailable => "unavailable",
        }
    }
}

/// Server certificate `test-registry-server.{pem,key}`, client certificates required and checked against
/// `test-ca.pem`; ring provider.
pub fn server_tls_config(keys: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(keys.join("test-ca.pem")).context("test-ca.pem")? {
        roots.add(c?)?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(keys.join("test-registry-server.pem")).context("test-registry-server.pem")?.collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_file(keys.join("test-registry-server.key")).context("test-registry-server.key")?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

#[derive(serde::Deserialize)]
struct Query {
    id_number: String,
    name: String,
    community: String,
    building: String,
    unit: String,
}

async fn ownership_check(body: web::Json<Query>, state: web::Data<AppState>) -> HttpResponse {
    let q = body.into_inner();
    let mode = state.registry.lock().ok().and_then(|c| c.modes.get(&q.id_number.to_ascii_uppercase()).copied());
    match mode {
        Some(AnswerMode::Unavailable) => {
            return HttpResponse::ServiceUnavailable().json(serde_json::json!({ "error": "registry maintenance" }));
        }
        Some(AnswerMode::NotNamed) => {
            return HttpResponse::Ok().json(serde_json::json!({
                "owner": false, "name_matches": false, "exclusive_area_m2": null, "area_source": null,
                "reference": format!("REG-SANDBOX-{}", hex::encode(rand::random::<[u8; 6]>())),
            }));
        }
        Some(AnswerMode::Normal) | None => {}
    }
    let key = UnitKey { community: q.community, building: q.building, unit: q.unit };
    let reference = format!("REG-SANDBOX-{}", hex::encode(rand::random::<[u8; 6]>()));
    let Some(unit) = state.data.units.get(&key) else {
        return HttpResponse::Ok().json(serde_json::json!({
            "owner": false, "name_matches": false, "exclusive_area_m2": null, "area_source": null, "reference": reference,
        }));
    };
    let owner = unit.owners.iter().find(|(_, id)| id.eq_ignore_ascii_case(&q.id_number));
    HttpResponse::Ok().json(serde_json::json!({
        "owner": owner.is_some(),
        "name_matches": owner.is_some_and(|(n, _)| *n == q.name),
        "exclusive_area_m2": unit.exclusive_area_m2,
        "area_source": unit.area_source,
        "reference": reference,
    }))
}
