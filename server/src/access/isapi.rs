//! The door-gateway client: Hikvision ISAPI remote control (DESIGN §8).
//!
//! `PUT /ISAPI/AccessControl/RemoteControl/door/<n>` with `<RemoteControlDoor><cmd>open</cmd></RemoteControlDoor>`
//! (or `{"RemoteControlDoor":{"cmd":"open"}}` with `?format=json`), HTTP Digest (RFC 7616; MD5 as the terminals
//! use it, SHA-256 when offered). The terminal answers a `ResponseStatus`; an HTTP 200 is a success only with
//! `statusCode` 1. One attempt under one deadline and never a retry: a door must not open twice. The Digest
//! challenge is fetched by the same request without credentials, which a terminal refuses without acting.

use std::time::Duration;

use md5::Digest as _;
use md5::Md5;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Largest `ResponseStatus` body read.
const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Xml,
    Json,
}

impl BodyFormat {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "xml" => Some(Self::Xml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Xml => "xml",
            Self::Json => "json",
        }
    }
}

/// One door behind a terminal.
#[derive(Debug, Clone)]
pub struct TerminalDoor {
    /// `http://host:port` of the terminal.
    pub base_url: String,
    pub username: String,
    pub password: SecretString,
    pub door_no: i32,
    pub format: BodyFormat,
}

/// The terminal's `ResponseStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseStatus {
    /// 1 OK, 2 device busy, 3 device error, 4 invalid operation, 5 invalid XML format, 6 invalid content, 7 reboot.
    pub status_code: i32,
    pub status_string: String,
    pub sub_status_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    Opened,
    /// The terminal answered but did not open.
    Refused(ResponseStatus),
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No answer within the deadline. The command may have reached the terminal: it is not sent again.
    #[error("the terminal did not answer in time")]
    Timeout,
    #[error("the terminal is unreachable: {0}")]
    Unreachable(String),
    /// Our credentials were refused, or the answer is not ISAPI.
    #[error("the terminal answered unexpectedly: {0}")]
    Protocol(String),
}

pub struct IsapiClient {
    http: reqwest::Client,
    deadline: Duration,
}

impl IsapiClient {
    pub fn new(deadline: Duration) -> anyhow::Result<Self> {
        // No redirects (a terminal never sends one; following it would send the command elsewhere).
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(deadline).build()?;
        Ok(Self { http, deadline })
    }

    /// Sends `open` once. The whole exchange (challenge and command) has one deadline.
    pub async fn open_door(&self, door: &TerminalDoor) -> Result<OpenOutcome, GatewayError> {
        match tokio::time::timeout(self.deadline, self.exchange(door)).await {
            Ok(result) => result,
            Err(_) => Err(GatewayError::Timeout),
        }
    }

    async fn exchange(&self, door: &TerminalDoor) -> Result<OpenOutcome, GatewayError> {
        let (path, body, content_type) = command(door.door_no, door.format);
        let url = format!("{}{path}", door.base_url.trim_end_matches('/'));
        let challenge = self.send(&url, &body, content_type, None).await?;
        let resp = if challenge.status() == reqwest::StatusCode::UNAUTHORIZED {
            let header = challenge
                .headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(DigestChallenge::parse)
                .ok_or_else(|| GatewayError::Protocol("401 without a usable Digest challenge".into()))?;
            let cnonce = hex::encode(rand::random::<[u8; 16]>());
            let auth = header.authorization("PUT", &path, &door.username, door.password.expose_secret(), &cnonce);
            self.send(&url, &body, content_type, Some(auth)).await?
        } else {
            challenge
        };
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(GatewayError::Protocol("the terminal refused our credentials".into()));
        }
        let bytes = read_bounded(resp).await?;
        let parsed = parse_response_status(&bytes)
            .ok_or_else(|| GatewayError::Protocol(format!("HTTP {status} without a ResponseStatus")))?;
        if status == reqwest::StatusCode::OK && parsed.status_code == 1 {
            Ok(OpenOutcome::Opened)
        } else if parsed.status_code == 1 {
            Err(GatewayError::Protocol(format!("HTTP {status} with statusCode 1")))
        } else {
            Ok(OpenOutcome::Refused(parsed))
        }
    }

    async fn send(
        &self,
        url: &str,
        body: &str,
        content_type: &'static str,
        authorization: Option<String>,
    ) -> Result<reqwest::Response, GatewayError> {
        let mut req = self.http.put(url).header(reqwest::header::CONTENT_TYPE, content_type).body(body.to_owned());
        if let Some(auth) = authorization {
            req = req.header(reqwest::header::AUTHORIZATION, auth);
        }
        req.send().await.map_err(|e| if e.is_timeout() { GatewayError::Timeout } else { GatewayError::Unreachable(e.without_url().to_string()) })
    }
}

/// The request path (with query) and body of `open` for a door.
pub fn command(door_no: i32, format: BodyFormat) -> (String, String, &'static str) {
    match format {
        BodyFormat::Xml => (
            format!("/ISAPI/AccessControl/RemoteControl/door/{door_no}"),
            "<RemoteControlDoor version=\"2.0\" xmlns=\"http://www.isapi.org/ver20/XMLSchema\"><cmd>open</cmd></RemoteControlDoor>"
                .to_owned(),
            "application/xml",
        ),
        BodyFormat::Json => (
            format!("/ISAPI/AccessControl/RemoteControl/door/{door_no}?format=json"),
            r#"{"RemoteControlDoor":{"cmd":"open"}}"#.to_owned(),
            "application/json",
        ),
    }
}

async fn read_bounded(mut resp: reqwest::Response) -> Result<Vec<u8>, GatewayError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        if e.is_timeout() { GatewayError::Timeout } else { GatewayError::Unreachable(e.without_url().to_string()) }
    })? {
        if out.len() + chunk.len() > MAX_BODY {
            return Err(GatewayError::Protocol("answer too large".into()));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Parses a `ResponseStatus`, XML or JSON (the JSON one may be wrapped as `{"ResponseStatus": {...}}`).
pub fn parse_response_status(body: &[u8]) -> Option<ResponseStatus> {
    let text = std::str::from_utf8(body).ok()?.trim_start_matches('\u{feff}').trim();
    if text.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let obj = value.get("ResponseStatus").unwrap_or(&value);
        let status_code = i32::try_from(obj.get("statusCode")?.as_i64()?).ok()?;
        let s = |k: &str| obj.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        Some(ResponseStatus { status_code, status_string: s("statusString"), sub_status_code: s("subStatusCode") })
    } else {
        if !text.contains("<ResponseStatus") {
            return None;
        }
        let status_code = xml_leaf(text, "statusCode")?.trim().parse().ok()?;
        let s = |k: &str| xml_leaf(text, k).map(|v| v.trim().to_owned()).unwrap_or_default();
        Some(ResponseStatus { status_code, status_string: s("statusString"), sub_status_code: s("subStatusCode") })
    }
}

/// The text of the first leaf element `<name>…</name>` (attributes allowed, no nesting inside): enough for the
/// flat `ResponseStatus`, whose leaves carry no markup.
fn xml_leaf<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(i) = text[from..].find(&open) {
        let start = from + i + open.len();
        let rest = &text[start..];
        // `<statusCode>` or `<statusCode attr=…>`, not `<statusCodeX>`.
        if rest.starts_with('>') || rest.starts_with(' ') {
            let gt = rest.find('>')?;
            let inner = &rest[gt + 1..];
            let end = inner.find(&format!("</{name}>"))?;
            let value = &inner[..end];
            return (!value.contains('<')).then_some(value);
        }
        from = start;
    }
    None
}

/// A parsed `WWW-Authenticate: Digest …` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub sha256: bool,
}

impl DigestChallenge {
    /// Parses a Digest challenge offering `qop="auth"` with MD5 or SHA-256 (absent algorithm = MD5).
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.trim().strip_prefix("Digest")?.trim_start();
        let params = auth_params(rest)?;
        let get = |k: &str| params.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
        let qop_auth = get("qop").is_some_and(|q| q.split(',').any(|q| q.trim() == "auth"));
        let sha256 = match get("algorithm").as_deref() {
            None => false,
            Some(a) if a.eq_ignore_ascii_case("MD5") => false,
            Some(a) if a.eq_ignore_ascii_case("SHA-256") => true,
            Some(_) => return None,
        };
        if !qop_auth {
            return None;
        }
        Some(Self { realm: get("realm")?, nonce: get("nonce")?, opaque: get("opaque"), sha256 })
    }

    /// The `Authorization` value for a request (qop=auth, nc=1: each challenge answers exactly one request).
    pub fn authorization(&self, method: &str, uri: &str, username: &str, password: &str, cnonce: &str) -> String {
        let h = |s: &str| if self.sha256 { hex::encode(Sha256::digest(s.as_bytes())) } else { hex::encode(Md5::digest(s.as_bytes())) };
        let nc = "00000001";
        let ha1 = h(&format!("{username}:{}:{password}", self.realm));
        let ha2 = h(&format!("{method}:{uri}"));
        let response = h(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce));
        let mut out = format!(
            "Digest username=\"{username}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", algorithm={}, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\"",
            self.realm,
            self.nonce,
            if self.sha256 { "SHA-256" } else { "MD5" },
        );
        if let Some(opaque) = &self.opaque {
            out.push_str(&format!(", opaque=\"{opaque}\""));
        }
        out
    }
}

/// `name=value` pairs separated by commas; values are tokens or quoted strings (with `\` escapes).
fn auth_params(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            name.push(c);
            chars.next();
        }
        chars.next()?; // '='
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_the_rfc_7616_md5_example() {
        // RFC 7616 §3.9.1 (MD5, qop=auth): the expected response is the RFC's.
        let c = DigestChallenge::parse(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        )
        .unwrap();
        let auth = c.authorization("GET", "/dir/index.html", "Mufasa", "Circle of Life", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
        assert!(auth.contains(r#"response="8ca523f5e9506fed4657c9700eebdbec""#), "{auth}");
        assert!(auth.contains(r#"opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#));
    }

    #[test]
    fn digest_matches_the_rfc_7616_sha256_example() {
        let c = DigestChallenge::parse(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        )
        .unwrap();
        let auth = c.authorization("GET", "/dir/index.html", "Mufasa", "Circle of Life", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
        assert!(auth.contains(r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1""#), "{auth}");
    }

    #[test]
    fn challenges_without_qop_auth_or_with_unknown_algorithms_are_refused() {
        assert!(DigestChallenge::parse(r#"Digest realm="r", nonce="n""#).is_none());
        assert!(DigestChallenge::parse(r#"Digest realm="r", nonce="n", qop="auth", algorithm=SHA-512-256"#).is_none());
        assert!(DigestChallenge::parse(r#"Basic realm="r""#).is_none());
        assert!(DigestChallenge::parse(r#"Digest realm="r", nonce="n", qop="auth"#).is_none(), "unterminated quote");
    }

    #[test]
    fn response_status_xml_and_json() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<requestURL>/ISAPI/AccessControl/RemoteControl/door/1</requestURL>
<statusCode>4</statusCode>
<statusString>Invalid Operation</statusString>
<subStatusCode>notSupport</subStatusCode>
</ResponseStatus>"#;
        let s = parse_response_status(xml).unwrap();
        assert_eq!((s.status_code, s.status_string.as_str(), s.sub_status_code.as_str()), (4, "Invalid Operation", "notSupport"));
        let json = br#"{"requestURL":"/ISAPI/AccessControl/RemoteControl/door/1?format=json","statusCode":1,"statusString":"OK","subStatusCode":"ok","errorCode":0,"errorMsg":"ok"}"#;
        assert_eq!(parse_response_status(json).unwrap().status_code, 1);
        assert_eq!(parse_response_status(br#"{"ResponseStatus":{"statusCode":2,"statusString":"Device Busy"}}"#).unwrap().status_code, 2);
        for bad in [&b"<html>ok</html>"[..], b"{\"statusCode\":\"1\"}", b"<ResponseStatus><statusCode>x</statusCode></ResponseStatus>", b"\xff"] {
            assert!(parse_response_status(bad).is_none(), "{bad:?}");
        }
    }
}
