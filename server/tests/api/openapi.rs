//! The committed OpenAPI document is exactly what the route registrations generate.

use crate::common::repo_root;

#[test]
fn committed_openapi_is_fresh() {
    let generated = serde_json::to_string_pretty(&linli_server::http::openapi_document()).unwrap();
    let path = repo_root().join("openapi/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("LINLI_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, format!("{generated}\n")).unwrap();
        return;
    }
    assert!(
        committed.trim_end() == generated,
        "openapi/openapi.json is stale: run `cargo run -p linli-server --bin linli -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn the_spec_is_openapi_3_1_and_lists_the_foundation_routes() {
    let doc = serde_json::to_value(linli_server::http::openapi_document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for want in ["/healthz", "/readyz", "/metrics", "/v1/communities/{community_id}/units/mine",
                 "/v1/communities/{community_id}/register/summary", "/v1/admin/communities/{community_id}/rules"] {
        assert!(paths.contains_key(want), "{want} missing from the spec");
    }
    assert_eq!(doc["openapi"].as_str().unwrap().split('.').take(2).collect::<Vec<_>>(), ["3", "1"]);
}

/// A route that needs a credential documents the 401 its extractors answer without one.
#[test]
fn every_authenticated_operation_documents_401() {
    let doc = serde_json::to_value(linli_server::http::openapi_document()).unwrap();
    let mut missing = vec![];
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured && op["responses"].get("401").is_none() {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "operations without 401: {missing:?}");
}
