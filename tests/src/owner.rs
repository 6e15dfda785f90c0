//! An owner driving the mini-program flow against a running [`World`]: login, the four enrollment factors, signed
//! requests. Used by the end-to-end tests of identity and of the areas built on it.

use reqwest::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::client::{DeviceKey, sign_request};
use crate::world::{CONSENT_VERSION, FACE_CONSENT_VERSION, World};

/// A demo person with a reference face in the sandbox.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    pub name: String,
    pub id_number: String,
    pub building: String,
    pub unit: String,
    pub face_path: std::path::PathBuf,
}

pub async fn demo_persons(world: &World) -> anyhow::Result<Vec<DemoPerson>> {
    let body: Value = crate::client().get(format!("{}/sandbox/persons", world.sandbox.base_url())).send().await?.json().await?;
    let mut out = Vec::new();
    for p in body["persons"].as_array().cloned().unwrap_or_default() {
        let Some(unit) = p["units"].as_array().and_then(|u| u.first()).cloned() else { continue };
        out.push(DemoPerson {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            id_number: p["id_number"].as_str().unwrap_or_default().to_owned(),
            building: unit["building"].as_str().unwrap_or_default().to_owned(),
            unit: unit["unit"].as_str().unwrap_or_default().to_owned(),
            face_path: p["face_image_path"].as_str().unwrap_or_default().into(),
        });
    }
    Ok(out)
}

pub struct Owner {
    pub base: String,
    pub sandbox: String,
    pub http: reqwest::Client,
    pub openid: String,
    pub token: String,
    pub account_id: Uuid,
    pub key: Option<DeviceKey>,
    pub serial: Option<String>,
    /// Sent with the start of each enrollment: the consent to electronic service of meeting notices, when the
    /// owner gives it then (None: not given).
    pub electronic_service_consent_version: Option<String>,
}

impl Owner {
    /// Logs in as a phone with this openid would (`wx.login` code from the sandbox, then our login).
    pub async fn login(world: &World, openid: &str) -> anyhow::Result<Self> {
        Self::login_at(&world.server.base_url, &world.sandbox.base_url(), openid).await
    }

    /// [`Owner::login`] given the server's and the sandbox's base URLs (for tasks that cannot borrow the world).
    pub async fn login_at(base: &str, sandbox: &str, openid: &str) -> anyhow::Result<Self> {
        let http = crate::client();
        let code: Value = http
            .post(format!("{sandbox}/sandbox/wechat/login-code"))
            .json(&json!({ "openid": openid }))
            .send()
            .await?
            .json()
            .await?;
        let resp = http
            .post(format!("{base}/v1/auth/wechat/login"))
            .json(&json!({ "code": code["code"] }))
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "login: {}", resp.status());
        let body: Value = resp.json().await?;
        Ok(Self {
            base: base.to_owned(),
            sandbox: sandbox.to_owned(),
            http,
            openid: openid.to_owned(),
            token: body["token"].as_str().unwrap_or_default().to_owned(),
            account_id: body["account_id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default(),
            key: None,
            serial: None,
            electronic_service_consent_version: None,
        })
    }

    pub async fn get(&self, path: &str) -> reqwest::Result<Response> {
        self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Result<Response> {
        self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body).send().await
    }

    /// A device-signed request with this owner's current key and certificate.
    pub async fn signed(&self, method: &str, path: &str, body: &Value) -> anyhow::Result<Response> {
        let bytes = serde_json::to_vec(body)?;
        let key = self.key.as_ref().ok_or_else(|| anyhow::anyhow!("no device key"))?;
        let serial = self.serial.as_deref().ok_or_else(|| anyhow::anyhow!("no certificate"))?;
        let headers = sign_request(key, serial, method, path, &bytes);
        Ok(self.send_raw(method, path, &bytes, &headers).await?)
    }

    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        headers: &[(String, String)],
    ) -> reqwest::Result<Response> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req.send().await
    }

    pub async fn start_enrollment(&self, community: Uuid, unit: Uuid, person: &DemoPerson) -> anyhow::Result<Uuid> {
        self.start_enrollment_as(community, unit, &person.name, &person.id_number).await
    }

    pub async fn start_enrollment_as(&self, community: Uuid, unit: Uuid, name: &str, id_number: &str) -> anyhow::Result<Uuid> {
        let mut body = json!({ "community_id": community, "unit_id": unit, "real_name": name,
                               "id_number": id_number, "consent_version": CONSENT_VERSION });
        if let Some(version) = &self.electronic_service_consent_version {
            body["electronic_service_consent_version"] = json!(version);
        }
        let resp = self.post("/v1/enrollments", &body).await?;
        anyhow::ensure!(resp.status() == 201, "start: {} {}", resp.status(), resp.text().await?);
        let body: Value = resp.json().await?;
        Ok(body["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default())
    }

    pub async fn upload_face(&self, enrollment: Uuid, image: Vec<u8>, file_name: &str) -> reqwest::Result<Response> {
        let form = reqwest::multipart::Form::new()
            .text("face_consent_version", FACE_CONSENT_VERSION)
            .part("image", reqwest::multipart::Part::bytes(image).file_name(file_name.to_owned()));
        self.http
            .post(format!("{}/v1/enrollments/{enrollment}/face", self.base))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
    }

    /// Binds a new device key: returns the response (201 carries the certificate).
    pub async fn bind_device(&mut self, enrollment: Uuid, fingerprint: &str) -> anyhow::Result<Response> {
        let key = DeviceKey::generate()?;
        let resp = self
            .post(
                &format!("/v1/enrollments/{enrollment}/device"),
                &json!({ "csr_pem": key.csr_pem()?, "device_fingerprint": fingerprint }),
            )
            .await?;
        self.key = Some(key);
        Ok(resp)
    }

    /// All four factors for `person`'s first unit, ending with `pin`. Returns the enrollment id.
    pub async fn enroll(&mut self, world: &World, unit: Uuid, person: &DemoPerson, pin: &str) -> anyhow::Result<Uuid> {
        let face = std::fs::read(&person.face_path)?;
        self.enroll_with_face(world.community_id, unit, &person.name, &person.id_number, face, pin).await
    }

    /// All four factors for the person `name`/`id_number` and `unit`, with `face` as the selfie, ending with `pin`.
    pub async fn enroll_with_face(
        &mut self,
        community: Uuid,
        unit: Uuid,
        name: &str,
        id_number: &str,
        face: Vec<u8>,
        pin: &str,
    ) -> anyhow::Result<Uuid> {
        let id = self.start_enrollment_as(community, unit, name, id_number).await?;
        let face = self.upload_face(id, face, "selfie.png").await?;
        anyhow::ensure!(face.status() == 200, "face: {}", face.text().await?);
        let registry = self.post(&format!("/v1/enrollments/{id}/registry"), &json!({})).await?;
        anyhow::ensure!(registry.status() == 200, "registry: {}", registry.text().await?);
        let device = self.bind_device(id, &format!("install-{}", self.openid)).await?;
        anyhow::ensure!(device.status() == 201, "device: {}", device.text().await?);
        let cert: Value = device.json().await?;
        self.serial = cert["serial"].as_str().map(str::to_owned);
        let pin_resp = self.signed("POST", &format!("/v1/enrollments/{id}/pin"), &json!({ "pin": pin })).await?;
        anyhow::ensure!(pin_resp.status() == 200, "pin: {}", pin_resp.text().await?);
        Ok(id)
    }
}

/// The id of a unit of the demo community by building code and number.
pub async fn unit_id(world: &World, building: &str, number: &str) -> anyhow::Result<Uuid> {
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    use linli_server::schema::{buildings, units};
    let mut conn = AsyncPgConnection::establish(world.db.url()).await?;
    Ok(units::table
        .inner_join(buildings::table)
        .filter(buildings::code.eq(building))
        .filter(units::number.eq(number))
        .filter(units::community_id.eq(world.community_id))
        .select(units::id)
        .first(&mut conn)
        .await?)
}
