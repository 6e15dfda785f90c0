//! linli-sandbox: stand-ins for the outside world with their real protocols (DESIGN §2, §11).
//!
//! - WeChat: `GET /sns/jscode2session`, `POST /cgi-bin/stable_token`, `POST /cgi-bin/message/subscribe/send`,
//!   `POST /cgi-bin/soter/verify_signature`.
//! - Tencent Cloud FaceID: `POST /` with action `ImageRecognitionV2`, TC3-HMAC-SHA256 checked as Tencent does.
//! - Hikvision ISAPI door terminal: `PUT /ISAPI/AccessControl/RemoteControl/door/<n>`, HTTP Digest.
//! - Housing registry: `POST /v1/ownership-checks`, JSON over HTTPS with mutual TLS (on `--tls-listen` only).
//! - Control endpoints for tests and demos under `/sandbox/…`.
//!
//! It depends on nothing of ours: every signature is checked with this crate's own code, so a bug shared by
//! client and checker cannot pass unseen.

pub mod control;
pub mod data;
pub mod faceid;
pub mod faces;
pub mod hikvision;
pub mod registry;
pub mod soter;
pub mod wechat;
pub mod wechatpay;

use actix_web::{App, HttpServer, web};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

/// A request timestamp in unix seconds: 1–12 plain digits (no sign, no leading zero), so its distance to any
/// clock, taken with [`i64::abs_diff`], cannot overflow whatever a client sends.
pub fn parse_unix_secs(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let canonical = (1..=12).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) && (b[0] != b'0' || b.len() == 1);
    if canonical { text.parse().ok() } else { None }
}

/// Credentials the sandbox accepts. The defaults are the ones the quickstart and the tests configure.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub wechat_appid: String,
    pub wechat_secret: String,
    pub faceid_secret_id: String,
    pub faceid_secret_key: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            wechat_appid: "wx0000sandbox0000".into(),
            wechat_secret: "sandbox-wechat-app-secret".into(),
            faceid_secret_id: "AKIDsandbox0000000000000000000000000".into(),
            faceid_secret_key: "sandbox-faceid-secret-key".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Plain HTTP: WeChat, FaceID and the control endpoints.
    pub listen: SocketAddr,
    /// HTTPS with client certificates: the housing registry. None = no registry.
    pub tls_listen: Option<SocketAddr>,
    /// The fixtures folder: `demo-register.csv` (or `register`), `faces/index.csv`, `test-keys/`.
    pub fixtures: PathBuf,
    /// Register file; default `<fixtures>/demo-register.csv`.
    pub register: Option<PathBuf>,
    pub credentials: Credentials,
}

/// A running sandbox. Dropping it does not stop it; call [`Sandbox::stop`].
pub struct Sandbox {
    pub http_addr: SocketAddr,
    pub tls_addr: Option<SocketAddr>,
    handles: Vec<actix_web::dev::ServerHandle>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Sandbox {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    pub fn registry_url(&self) -> Option<String> {
        self.tls_addr.map(|a| format!("https://{a}"))
    }

    pub async fn stop(self) {
        for h in &self.handles {
            h.stop(true).await;
        }
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Runs until both servers stop (the binary's main loop).
    pub async fn wait(self) -> std::io::Result<()> {
        for t in self.tasks {
            t.await.map_err(std::io::Error::other)??;
        }
        Ok(())
    }
}

pub struct AppState {
    pub data: data::Fixtures,
    pub credentials: Credentials,
    pub wechat: std::sync::Mutex<wechat::WeChatState>,
    pub soter: std::sync::Mutex<soter::SoterState>,
    pub wechatpay: wechatpay::WeChatPayState,
    pub registry: std::sync::Mutex<registry::RegistryControl>,
    pub doors: hikvision::Terminal,
}

/// Loads the fixtures and starts the servers on the configured addresses (port 0 = any free port).
/// Must be called inside a Tokio runtime.
pub async fn start(config: SandboxConfig) -> anyhow::Result<Sandbox> {
    let register = config.register.clone().unwrap_or_else(|| config.fixtures.join("demo-register.csv"));
    let data = data::Fixtures::load(&register, &config.fixtures)?;
    let state = web::Data::new(AppState {
        data,
        credentials: config.credentials.clone(),
        wechat: std::sync::Mutex::new(wechat::WeChatState::default()),
        soter: std::sync::Mutex::new(soter::SoterState::default()),
        wechatpay: wechatpay::WeChatPayState::load(&config.fixtures.join("test-keys"), &config.credentials.wechat_appid)?,
        registry: std::sync::Mutex::new(registry::RegistryControl::default()),
        doors: Default::default(),
    });

    let mut handles = vec![];
    let mut tasks = vec![];

    let listener = TcpListener::bind(config.listen)?;
    let http_addr = listener.local_addr()?;
    let st = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(st.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .app_data(web::JsonConfig::default().limit(1024 * 1024))
            .configure(wechat::routes)
            .configure(wechatpay::routes)
            .configure(soter::routes)
            .configure(faceid::routes)
            .configure(control::routes)
            .configure(registry::control_routes)
            .configure(hikvision::routes)
    })
    .workers(2)
    .disable_signals()
    .listen(listener)?
    .run();
    handles.push(server.handle());
    tasks.push(tokio::spawn(server));

    let mut tls_addr = None;
    if let Some(addr) = config.tls_listen {
        let tls = registry::server_tls_config(&config.fixtures.join("test-keys"))?;
        let listener = TcpListener::bind(addr)?;
        tls_addr = Some(listener.local_addr()?);
        let st = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(st.clone())
                .app_data(web::JsonConfig::default().limit(64 * 1024))
                .configure(registry::routes)
        })
        .workers(1)
        .disable_signals()
        .listen_rustls_0_23(listener, Arc::unwrap_or_clone(tls))?
        .run();
        handles.push(server.handle());
        tasks.push(tokio::spawn(server));
    }
    Ok(Sandbox { http_addr, tls_addr, handles, tasks })
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_plain_bounded_digits() {
        let now: i64 = 1_800_000_000;
        assert_eq!(super::parse_unix_secs(&now.to_string()), Some(now));
        assert_eq!(super::parse_unix_secs("0"), Some(0));
        for bad in [now.wrapping_add(i64::MIN).to_string(), i64::MAX.to_string(), format!("+{now}"), format!("0{now}"), String::new()] {
            assert_eq!(super::parse_unix_secs(&bad), None, "{bad}");
        }
    }
}
