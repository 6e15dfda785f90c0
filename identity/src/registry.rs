//! Housing-registry check (DESIGN §4 factor 2): the [`RegistryClient`] trait and the default adapter, JSON over
//! HTTPS with mutual TLS. No national standard exists; this is the protocol our adapter (and the sandbox) speak:
//!
//! ```text
//! POST {base_url}/v1/ownership-checks
//! {"id_number": "…", "name": "…", "community": "SH-PD-0001", "building": "B01", "unit": "0101"}
//! 200 {"owner": true, "name_matches": true, "exclusive_area_m2": "89.35", "area_source": "register",
//!      "reference": "REG-…"}
//! ```
//! `owner` is true only when the ID number is a registered owner of that unit. Areas travel as decimal strings
//! with at most two decimals and are converted to integer centi-m² exactly (DESIGN §3).

use crate::http_util::{BoxFuture, MAX_RESPONSE_BYTES, read_capped};
use crate::id_number::IdNumber;
use serde::Deserialize;

#[derive(Debug, Clone, Copy)]
pub struct OwnershipQuery<'a> {
    pub id_number: &'a IdNumber,
    pub name: &'a str,
    pub community: &'a str,
    pub building: &'a str,
    pub unit: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipAnswer {
    pub owner: bool,
    pub name_matches: bool,
    /// Registered exclusive area in centi-m², when the registry knows it.
    pub exclusive_area_centi_m2: Option<i64>,
    pub area_source: Option<String>,
    /// The registry's reference for the answer (stored for audit).
    pub reference: String,
}

impl OwnershipAnswer {
    /// The factor passes only when the registry names this person (ID and name) as an owner of this unit.
    pub fn confirms_owner(&self) -> bool {
        self.owner && self.name_matches
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("the registry could not be reached: {0}")]
    Transport(String),
    #[error("the registry refused the request (HTTP {0})")]
    Status(u16),
    #[error("the registry's answer could not be read")]
    Malformed,
    #[error("the registry client is misconfigured: {0}")]
    Config(String),
}

impl RegistryError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Transport(_) => "registry_unreachable",
            Self::Status(_) => "registry_refused",
            Self::Malformed => "registry_malformed",
            Self::Config(_) => "registry_misconfigured",
        }
    }
}

/// A per-city registry adapter.
pub trait RegistryClient: Send + Sync {
    fn check_ownership<'a>(&'a self, query: OwnershipQuery<'a>) -> BoxFuture<'a, Result<OwnershipAnswer, RegistryError>>;
}

/// "89.35" → 8935. At most two decimals, positive, no exponent, at most 10 integer digits.
pub fn parse_area_centi_m2(text: &str) -> Option<i64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() || int.len() > 10 || frac.len() > 2 || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.contains('.') && frac.is_empty() {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    let v = int.checked_mul(100)?.checked_add(frac)?;
    (v > 0).then_some(v)
}

/// The default adapter: JSON over HTTPS with a client certificate.
#[derive(Debug, Clone)]
pub struct HttpsRegistryClient {
    http: reqwest::Client,
    base_url: String,
}

#[derive(Deserialize)]
struct Reply {
    owner: bool,
    #[serde(default)]
    name_matches: bool,
    exclusive_area_m2: Option<String>,
    area_source: Option<String>,
    #[serde(default)]
    reference: String,
}

impl HttpsRegistryClient {
    /// `ca_pem`: the registry's CA; `client_cert_pem`/`client_key_pem`: our client identity issued for it.
    pub fn new(base_url: &str, ca_pem: &[u8], client_cert_pem: &[u8], client_key_pem: &[u8]) -> Result<Self, RegistryError> {
        let tls = crate::http_util::rustls_client_config(ca_pem, Some((client_cert_pem, client_key_pem))).map_err(RegistryError::Config)?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| RegistryError::Config(e.to_string()))?;
        Ok(Self { http, base_url: base_url.trim_end_matches('/').to_owned() })
    }

    /// With a prepared client (e.g. without a client certificate, to test that the registry refuses it).
    pub fn with_client(http: reqwest::Client, base_url: &str) -> Self {
        Self { http, base_url: base_url.trim_end_matches('/').to_owned() }
    }

    async fn call(&self, q: OwnershipQuery<'_>) -> Result<OwnershipAnswer, RegistryError> {
        let body = serde_json::json!({
            "id_number": q.id_number.expose(),
            "name": q.name,
            "community": q.community,
            "building": q.building,
            "unit": q.unit,
        });
        let resp = self
            .http
            .post(format!("{}/v1/ownership-checks", self.base_url))
            .json(&body)
            .send()
            .await
            .map_err(|e| RegistryError::Transport(e.without_url().to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(RegistryError::Status(status.as_u16()));
        }
        let bytes = read_capped(resp, MAX_RESPONSE_BYTES).await.map_err(RegistryError::Transport)?;
        let r: Reply = serde_json::from_slice(&bytes).map_err(|_| RegistryError::Malformed)?;
        let area = match r.exclusive_area_m2 {
            Some(a) => Some(parse_area_centi_m2(&a).ok_or(RegistryError::Malformed)?),
            None => None,
        };
        Ok(OwnershipAnswer { owner: r.owner, name_matches: r.name_matches, exclusive_area_centi_m2: area, area_source: r.area_source, reference: r.reference })
    }
}

impl RegistryClient for HttpsRegistryClient {
    fn check_ownership<'a>(&'a self, query: OwnershipQuery<'a>) -> BoxFuture<'a, Result<OwnershipAnswer, RegistryError>> {
        Box::pin(self.call(query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_convert_exactly() {
        assert_eq!(parse_area_centi_m2("89.35"), Some(8935));
        assert_eq!(parse_area_centi_m2("89.3"), Some(8930));
        assert_eq!(parse_area_centi_m2("120"), Some(12000));
        assert_eq!(parse_area_centi_m2("0.01"), Some(1));
        for bad in ["", "0", "0.00", "-1", "1.234", "1e2", "1.", ".5", "12,5", "99999999999"] {
            assert_eq!(parse_area_centi_m2(bad), None, "{bad:?}");
        }
    }
}
