//! A Hikvision ISAPI access-control terminal: `PUT /ISAPI/AccessControl/RemoteControl/door/<n>` (XML, or JSON with
//! `?format=json`) behind HTTP Digest (MD5, qop=auth, checked with this crate's own code), answering a
//! `ResponseStatus`. Several doors share the terminal by their door number.
//!
//! Control (DESIGN §11):
//! - `GET /sandbox/doors/commands` → `{commands: [{door, cmd, format, status_code, at_ms}], opened: {"<door>": n}}`:
//!   every authenticated command received, and how often each door opened.
//! - `PUT /sandbox/doors/{door}/mode {mode}` → how the door answers from now on: `ok` (opens, statusCode 1),
//!   `busy` (statusCode 2, HTTP 200), `invalid` (statusCode 4, HTTP 200), `timeout` (records the command, then
//!   answers only after 30 s, as a terminal that hangs).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use md5::{Digest, Md5};

use crate::AppState;

pub const USERNAME: &str = "admin";
pub const PASSWORD: &str = "sandbox-door-password";
pub const REALM: &str = "IP Camera(SANDBOX)";
const NONCE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Ok,
    Busy,
    Invalid,
    Timeout,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Command {
    pub door: u32,
    pub cmd: String,
    pub format: &'static str,
    pub status_code: u32,
    pub at_ms: i64,
}

#[derive(Default)]
pub struct TerminalState {
    nonces: HashMap<String, Instant>,
    modes: HashMap<u32, Mode>,
    commands: Vec<Command>,
    opened: BTreeMap<u32, u64>,
}

pub type Terminal = Mutex<TerminalState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ISAPI/AccessControl/RemoteControl/door/{door}", web::put().to(remote_control))
        .route("/sandbox/doors/commands", web::get().to(commands))
        .route("/sandbox/doors/{door}/mode", web::put().to(set_mode));
}

fn status_body(json: bool, path: &str, code: u32) -> (String, &'static str) {
    let (text, sub) = match code {
        1 => ("OK", "ok"),
        2 => ("Device Busy", "deviceBusy"),
        4 => ("Invalid Operation", "notSupport"),
        5 => ("Invalid XML Format", "badXmlFormat"),
        6 => ("Invalid XML Content", "badParameters"),
        _ => ("Device Error", "deviceError"),
    };
    if json {
        (
            serde_json::json!({"requestURL": path, "statusCode": code, "statusString": text, "subStatusCode": sub,
                "errorCode": if code == 1 { 0 } else { 0x4000_0000 + code }, "errorMsg": sub})
            .to_string(),
            "application/json",
        )
    } else {
        (
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ResponseStatus version=\"2.0\" xmlns=\"http://www.isapi.org/ver20/XMLSchema\">\n\
                 <requestURL>{path}</requestURL>\n<statusCode>{code}</statusCode>\n<statusString>{text}</statusString>\n\
                 <subStatusCode>{sub}</subStatusCode>\n</ResponseStatus>\n"
            ),
            "application/xml",
        )
    }
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// `name=value` pairs of a Digest header (quoted strings without escapes, as terminals and clients send them).
fn params(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = rest[eq + 1..].trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (&q[..end], &q[end + 1..]),
                None => return out,
            }
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        out.insert(name, value.to_owned());
        rest = tail;
    }
    out
}

/// Checks a Digest `Authorization` for this request; a valid one uses up nothing (nonces live five minutes).
fn authenticated(state: &mut TerminalState, req: &HttpRequest) -> bool {
    let now = Instant::now();
    state.nonces.retain(|_, issued| now.duration_since(*issued) < NONCE_TTL);
    let Some(header) = req.headers().get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(rest) = header.strip_prefix("Digest ") else {
        return false;
    };
    let p = params(rest);
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    let uri = req.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or_default();
    if get("username") != USERNAME || get("realm") != REALM || get("qop") != "auth" || get("uri") != uri {
        return false;
    }
    if !matches!(get("algorithm"), "" | "MD5") || !state.nonces.contains_key(get("nonce")) {
        return false;
    }
    let ha1 = md5_hex(&format!("{USERNAME}:{REALM}:{PASSWORD}"));
    let ha2 = md5_hex(&format!("{}:{uri}", req.method().as_str()));
    let expected = md5_hex(&format!("{ha1}:{}:{}:{}:auth:{ha2}", get("nonce"), get("nc"), get("cnonce")));
    expected == get("response")
}

fn challenge(state: &mut TerminalState) -> HttpResponse {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    state.nonces.insert(nonce.clone(), Instant::now());
    HttpResponse::Unauthorized()
        .insert_header((
            "WWW-Authenticate",
            format!("Digest qop=\"auth\", realm=\"{REALM}\", nonce=\"{nonce}\", stale=\"FALSE\""),
        ))
        .finish()
}

/// The command of a body: `open`, `close`, `alwaysOpen`… from `<RemoteControlDoor><cmd>…</cmd>` or
/// `{"RemoteControlDoor":{"cmd":"…"}}`.
fn command_of(body: &[u8], json: bool) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    if json {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        v.get("RemoteControlDoor")?.get("cmd")?.as_str().map(str::to_owned)
    } else {
        let start = text.find("<RemoteControlDoor")?;
        let inner = &text[start..];
        let open = inner.find("<cmd>")? + 5;
        let close = inner[open..].find("</cmd>")? + open;
        inner.contains("</RemoteControlDoor>").then(|| inner[open..close].trim().to_owned())
    }
}

async fn remote_control(req: HttpRequest, path: web::Path<u32>, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let door = path.into_inner();
    let json = req.query_string().split('&').any(|kv| kv == "format=json");
    let uri_path = req.uri().path().to_owned();
    let reply = |code: u32, http: actix_web::http::StatusCode| {
        let (body, ct) = status_body(json, &uri_path, code);
        HttpResponse::build(http).content_type(ct).body(body)
    };
    let mode = {
        let Ok(mut t) = state.doors.lock() else {
            return HttpResponse::InternalServerError().finish();
        };
        if !authenticated(&mut t, &req) {
            return challenge(&mut t);
        }
        let Some(cmd) = command_of(&body, json) else {
            return reply(if json { 6 } else { 5 }, actix_web::http::StatusCode::BAD_REQUEST);
        };
        let mode = t.modes.get(&door).copied().unwrap_or_default();
        let status_code = match (mode, cmd.as_str()) {
            (Mode::Busy, _) => 2,
            (Mode::Invalid, _) => 4,
            (_, "open" | "close" | "alwaysOpen" | "alwaysClose") => 1,
            _ => 6,
        };
        if status_code == 1 && cmd == "open" {
            *t.opened.entry(door).or_default() += 1;
        }
        t.commands.push(Command {
            door,
            cmd,
            format: if json { "json" } else { "xml" },
            status_code,
            at_ms: chrono::Utc::now().timestamp_millis(),
        });
        (mode, status_code)
    };
    match mode {
        (Mode::Timeout, code) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            reply(code, actix_web::http::StatusCode::OK)
        }
        (_, 6) => reply(6, actix_web::http::StatusCode::BAD_REQUEST),
        (_, code) => reply(code, actix_web::http::StatusCode::OK),
    }
}

async fn commands(state: web::Data<AppState>) -> HttpResponse {
    let Ok(t) = state.doors.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let opened: BTreeMap<String, u64> = t.opened.iter().map(|(d, n)| (d.to_string(), *n)).collect();
    HttpResponse::Ok().json(serde_json::json!({ "commands": t.commands, "opened": opened }))
}

#[derive(serde::Deserialize)]
struct ModeRequest {
    mode: String,
}

async fn set_mode(path: web::Path<u32>, body: web::Json<ModeRequest>, state: web::Data<AppState>) -> HttpResponse {
    let mode = match body.mode.as_str() {
        "ok" => Mode::Ok,
        "busy" => Mode::Busy,
        "invalid" => Mode::Invalid,
        "timeout" => Mode::Timeout,
        _ => return HttpResponse::BadRequest().json(serde_json::json!({"error": "mode must be ok, busy, invalid or timeout"})),
    };
    let Ok(mut t) = state.doors.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let door = path.into_inner();
    t.modes.insert(door, mode);
    HttpResponse::Ok().json(serde_json::json!({"door": door, "mode": body.mode}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_params_and_commands_parse() {
        let p = params(r#"username="admin", realm="IP Camera(SANDBOX)", nc=00000001, qop=auth, response="ab""#);
        assert_eq!(p["username"], "admin");
        assert_eq!(p["nc"], "00000001");
        assert_eq!(p["qop"], "auth");
        assert_eq!(command_of(b"<RemoteControlDoor><cmd>open</cmd></RemoteControlDoor>", false).as_deref(), Some("open"));
        assert_eq!(command_of(br#"{"RemoteControlDoor":{"cmd":"open"}}"#, true).as_deref(), Some("open"));
        assert_eq!(command_of(b"<cmd>open</cmd>", false), None);
    }
}
