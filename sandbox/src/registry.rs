//! Housing-registry stand-in: JSON over HTTPS with mutual TLS. Only clients with a certificate issued by the
//! sandbox's test CA (`fixtures/test-keys/test-ca.pem`) complete the handshake.
//!
//! `POST /v1/ownership-checks {id_number, name, community, building, unit}` →
//! `{owner, name_matches, exclusive_area_m2, area_source, reference}` from the register CSV.

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
