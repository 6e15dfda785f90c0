//! A whole running system for end-to-end tests: a fresh database with the demo register, the sandbox (WeChat,
//! FaceID, housing registry) in this process, a device CA made for the run, and the real `linli` binary
//! configured to use them — as the quickstart wires them, only on free ports.

use std::path::{Path, PathBuf};

use linli_sandbox::{Credentials, Sandbox, SandboxConfig};
use linli_server::testing::{TestDb, test_pii_config};
use uuid::Uuid;

use crate::LinliServer;
use crate::chain::ChainWorld;

pub const CONSENT_VERSION: &str = "2026-11";
pub const FACE_CONSENT_VERSION: &str = "2026-11-face";
/// Test-only keys of the identity section (never used outside tests).
pub const OPENID_KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
pub const PIN_PEPPER: &str = "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

pub struct World {
    pub server: LinliServer,
    pub sandbox: Sandbox,
    pub community_id: Uuid,
    pub ca_cert: PathBuf,
    pub db: TestDb,
    /// The devnode, keys, registry and deployed contract when started with [`World::start_with_chain`].
    pub chain: Option<ChainWorld>,
    /// The environment of the world's parts (identity, chain, payments) that every server start gets; the extra
    /// environment of the first start is not part of it, so a fault point armed there fires in that process only.
    server_env: Vec<(String, String)>,
    /// Logs of servers killed by [`World::kill_server`], oldest first.
    pub killed_server_logs: Vec<String>,
    /// The world's scratch directory (keys, registry, configuration files).
    dir: PathBuf,
    _dir: TempDir,
}

/// The demo community's sub-merchant in the WeChat Pay configuration of [`World::start_with_payments`].
pub const SUB_MCHID: &str = "1900000109";

/// Which outside parts a world wires into its server besides identity.
#[derive(Debug, Default, Clone, Copy)]
struct Parts {
    chain: bool,
    payments: bool,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn identity_env(sandbox: &Sandbox, ca_cert: &Path, ca_key: &Path) -> Vec<(String, String)> {
    let creds = Credentials::default();
    let keys = repo_root().join("fixtures/test-keys");
    let p = |s: &Path| s.to_string_lossy().into_owned();
    [
        ("LINLI_IDENTITY__CONSENT_VERSION", CONSENT_VERSION.to_owned()),
        ("LINLI_IDENTITY__FACE_CONSENT_VERSION", FACE_CONSENT_VERSION.to_owned()),
        ("LINLI_IDENTITY__OPENID_KEY", OPENID_KEY.to_owned()),
        ("LINLI_IDENTITY__PIN_PEPPER", PIN_PEPPER.to_owned()),
        // Cheap Argon2 parameters: the tests measure behaviour, not cost.
        ("LINLI_IDENTITY__PIN_M_COST_KIB", "1024".to_owned()),
        ("LINLI_IDENTITY__PIN_T_COST", "1".to_owned()),
        // Tests open meetings seconds before voting starts (production: 10 minutes).
        ("LINLI_GOVERNANCE__OPENING_MARGIN_SECS", "1".to_owned()),
        ("LINLI_IDENTITY__WECHAT__BASE_URL", sandbox.base_url()),
        ("LINLI_IDENTITY__WECHAT__APPID", creds.wechat_appid.clone()),
        ("LINLI_IDENTITY__WECHAT__SECRET", creds.wechat_secret.clone()),
        ("LINLI_IDENTITY__FACEID__ENDPOINT", sandbox.base_url()),
        ("LINLI_IDENTITY__FACEID__SECRET_ID", creds.faceid_secret_id.clone()),
        ("LINLI_IDENTITY__FACEID__SECRET_KEY", creds.faceid_secret_key.clone()),
        ("LINLI_IDENTITY__REGISTRY__BASE_URL", sandbox.registry_url().unwrap_or_default()),
        ("LINLI_IDENTITY__REGISTRY__CA_FILE", p(&keys.join("test-ca.pem"))),
        ("LINLI_IDENTITY__REGISTRY__CLIENT_CERT_FILE", p(&keys.join("test-registry-client.pem"))),
        ("LINLI_IDENTITY__REGISTRY__CLIENT_KEY_FILE", p(&keys.join("test-registry-client.key"))),
        ("LINLI_IDENTITY__DEVICE_CA__CERT_FILE", p(ca_cert)),
        ("LINLI_IDENTITY__DEVICE_CA__KEY_FILE", p(ca_key)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl World {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra_env: &[(String, String)]) -> anyhow::Result<Self> {
        Self::start_inner(extra_env, Parts::default()).await
    }

    /// A world whose server forwards to a real `bcos-devnode` (see [`crate::chain`]): the contract is deployed
    /// with `linli chain deploy` before the server starts with its `[chain]` section.
    pub async fn start_with_chain() -> anyhow::Result<Self> {
        Self::start_inner(&[], Parts { chain: true, payments: false }).await
    }

    /// As [`Self::start_with_chain`] with extra `LINLI_*` environment for the server.
    pub async fn start_with_chain_env(extra_env: &[(String, String)]) -> anyhow::Result<Self> {
        Self::start_inner(extra_env, Parts { chain: true, payments: false }).await
    }

    /// As [`Self::start_with`], with WeChat Pay configured against the sandbox (notifications to this server).
    pub async fn start_with_payments(extra_env: &[(String, String)]) -> anyhow::Result<Self> {
        Self::start_inner(extra_env, Parts { chain: false, payments: true }).await
    }

    async fn start_inner(extra_env: &[(String, String)], parts: Parts) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = TestDb::new().await?;
        let community_id = import_demo(&db).await?;
        let sandbox = linli_sandbox::start(SandboxConfig {
            listen: "127.0.0.1:0".parse()?,
            tls_listen: Some("127.0.0.1:0".parse()?),
            fixtures: repo_root().join("fixtures"),
            register: None,
            credentials: Credentials::default(),
        })
        .await?;
        let dir = std::env::temp_dir().join(format!("linli-world-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        let (ca_cert, ca_key) = (dir.join("device-ca.pem"), dir.join("device-ca.key"));
        linli_identity_ca(&ca_cert, &ca_key)?;
        let mut env = identity_env(&sandbox, &ca_cert, &ca_key);
        let chain = if parts.chain {
            let mut chain = ChainWorld::prepare(&dir)?;
            chain.deploy(&crate::base_env(&db))?;
            env.extend(chain.env.iter().cloned());
            Some(chain)
        } else {
            None
        };
        let port = crate::free_port()?;
        if parts.payments {
            let file = dir.join("wechatpay.toml");
            std::fs::write(&file, wechatpay_toml(&sandbox.base_url(), &format!("http://127.0.0.1:{port}")))?;
            env.push(("LINLI_CONFIG".to_owned(), file.to_string_lossy().into_owned()));
        }
        let server = LinliServer::start_on(&db, &[env.clone(), extra_env.to_vec()].concat(), port).await?;
        Ok(Self {
            server,
            sandbox,
            community_id,
            ca_cert,
            db,
            chain,
            server_env: env,
            killed_server_logs: Vec::new(),
            dir: dir.clone(),
            _dir: TempDir(dir),
        })
    }

    /// The chain part; an error when the world was started without one.
    pub fn chain(&self) -> anyhow::Result<&ChainWorld> {
        self.chain.as_ref().ok_or_else(|| anyhow::anyhow!("this world has no chain: use World::start_with_chain"))
    }

    pub fn chain_mut(&mut self) -> anyhow::Result<&mut ChainWorld> {
        self.chain.as_mut().ok_or_else(|| anyhow::anyhow!("this world has no chain: use World::start_with_chain"))
    }

    /// SIGKILLs the server (keeping its log in [`Self::killed_server_logs`]); [`Self::restart_server`] brings it
    /// back.
    pub fn kill_server(&mut self) -> std::io::Result<()> {
        self.server.kill()?;
        self.killed_server_logs.push(self.server.log());
        Ok(())
    }

    /// Starts a new server process with the same database, parts and port (so sessions and clients' base URLs
    /// stay valid), without the first start's extra environment; kills the current one first if it still runs.
    pub async fn restart_server(&mut self) -> anyhow::Result<()> {
        self.restart_server_with(&[]).await
    }

    /// As [`Self::restart_server`], with `extra_env` added to the parts' environment (e.g. a fault point).
    pub async fn restart_server_with(&mut self, extra_env: &[(String, String)]) -> anyhow::Result<()> {
        if !self.server.has_exited()? {
            self.kill_server()?;
        }
        let port = self.server.port;
        let env = [self.server_env.clone(), extra_env.to_vec()].concat();
        let mut last = None;
        // The port may stay busy for a moment after the kill.
        for _ in 0..20 {
            match LinliServer::start_on(&self.db, &env, port).await {
                Ok(s) => {
                    self.server = s;
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        Err(last.map_or_else(|| anyhow::anyhow!("server did not restart"), anyhow::Error::from))
    }

    /// Another `linli serve` process with the same database, parts and configuration on its own port: a second
    /// instance, as behind a load balancer (its outbox worker and notice sender run too). Killed when dropped.
    pub async fn start_another_server(&self) -> anyhow::Result<LinliServer> {
        Ok(LinliServer::start_on(&self.db, &self.server_env, crate::free_port()?).await?)
    }

    /// From now on the server reaches its database at `url` (e.g. through a [`crate::cutter::Cutter`]), this start
    /// and every restart; restarts it now.
    pub async fn route_database_through(&mut self, url: String) -> anyhow::Result<()> {
        self.server_env.retain(|(k, _)| k != "LINLI_DATABASE__URL");
        self.server_env.push(("LINLI_DATABASE__URL".to_owned(), url));
        self.restart_server().await
    }

    /// Runs the real `linli` binary with the server's environment (e.g. `bills reconcile`); returns stdout.
    pub fn linli(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = std::process::Command::new(crate::binary("linli")?)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(crate::base_env(&self.db))
            .envs(self.server_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()?;
        anyhow::ensure!(out.status.success(), "linli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The world's scratch directory (removed with the world).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url)
    }
}

/// The `[wechatpay]` section the quickstart writes, for a server at `server_url` and the sandbox at `sandbox_url`.
pub fn wechatpay_toml(sandbox_url: &str, server_url: &str) -> String {
    let keys = repo_root().join("fixtures/test-keys");
    let k = |name: &str| keys.join(name).to_string_lossy().into_owned();
    format!(
        r#"[wechatpay]
base_url = "{sandbox_url}"
sp_appid = "{appid}"
sp_mchid = "{sp_mchid}"
merchant_serial_no = "{serial}"
merchant_key_file = "{merchant_key}"
apiv3_key = "{apiv3}"
notify_url = "{server_url}/v1/payments/wechat/notify"
platform_keys = [
  {{ serial = "{pub_id}", file = "{platform_pub}" }},
  {{ serial = "{cert_serial}", file = "{platform_cert}" }},
]
[wechatpay.sub_mchids]
"SH-PD-0001" = "{SUB_MCHID}"
"#,
        appid = Credentials::default().wechat_appid,
        sp_mchid = linli_sandbox::wechatpay::SP_MCHID,
        serial = linli_sandbox::wechatpay::MERCHANT_SERIAL,
        merchant_key = k("test-wechatpay-merchant.key"),
        apiv3 = linli_sandbox::wechatpay::APIV3_KEY,
        pub_id = linli_sandbox::wechatpay::PLATFORM_PUB_KEY_ID,
        platform_pub = k("test-wechatpay-platform.pub"),
        cert_serial = linli_sandbox::wechatpay::PLATFORM_CERT_SERIAL,
        platform_cert = k("test-wechatpay-platform-cert.pem"),
    )
}

/// The device CA for this run, made by the real `linli ca init`.
fn linli_identity_ca(cert: &Path, key: &Path) -> anyhow::Result<()> {
    let out = std::process::Command::new(crate::binary("linli")?)
        .args(["ca", "init", "--cert"])
        .arg(cert)
        .arg("--key")
        .arg(key)
        .output()?;
    anyhow::ensure!(out.status.success(), "linli ca init: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// Imports `fixtures/demo-register.csv` with the test keys the servers of these tests use.
pub async fn import_demo(db: &TestDb) -> anyhow::Result<Uuid> {
    let bytes = std::fs::read(repo_root().join("fixtures/demo-register.csv"))?;
    let register = linli_server::community::register_file::parse_register(&bytes)
        .map_err(|e| anyhow::anyhow!("demo register invalid: {e:?}"))?;
    let pii = linli_server::pii::Pii::from_config(&test_pii_config())?;
    let pool = linli_server::db::pool(db.url(), 2)?;
    let mut conn = pool.get().await?;
    let report = linli_server::community::store::apply_register(&mut conn, &pii, &register, b"demo", &|_| {}).await?;
    Ok(report.community_id)
}
