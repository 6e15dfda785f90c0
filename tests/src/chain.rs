//! The chain side of an end-to-end world: a real `bcos-devnode` process (its chain on disk in a temp dir, so it can
//! be stopped and restarted on the same data and port), the forwarder/committee/admin keys and the chain registry
//! file the server's `[chain]` section names, the governance contract deployed by the real
//! `linli chain deploy --community …`, and read-only views of the contract's state for assertions.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alloy_sol_types::SolCall;
use linli_ledger_client::governance::LinliGovernance;
use linli_ledger_client::{Address, ChainClient, ChainRegistry, CryptoSuite, Signer};
use linli_server::governance::domain;
use uuid::Uuid;

/// The demo community's code: its key in the chain registry.
pub const DEMO_COMMUNITY: &str = "SH-PD-0001";
pub const CHAIN_ID: &str = "chain0";
pub const GROUP_ID: &str = "group0";

/// A `bcos-devnode` child process. SIGKILLed when dropped.
pub struct Devnode {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`: stays the same across restarts.
    pub url: String,
    addr: String,
    data_dir: PathBuf,
    log_path: PathBuf,
}

impl Devnode {
    /// Starts a devnode on a free port with its chain in `data_dir` (created if missing; replayed if present).
    pub fn start(data_dir: &Path, log_path: &Path) -> anyhow::Result<Self> {
        let (child, addr) = spawn_devnode(data_dir, "127.0.0.1:0", log_path)?;
        Ok(Self {
            child: Some(child),
            url: format!("http://{addr}"),
            addr,
            data_dir: data_dir.to_owned(),
            log_path: log_path.to_owned(),
        })
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL: whatever was in its pool and not sealed is gone; sealed blocks are on disk.
    pub fn stop(&mut self) -> std::io::Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill()?;
            c.wait()?;
        }
        Ok(())
    }

    /// Starts it again on the same data dir and address (retrying while the port is still held).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        let mut last = None;
        for _ in 0..50 {
            match spawn_devnode(&self.data_dir, &self.addr, &self.log_path) {
                Ok((child, _)) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("devnode did not restart")))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Devnode {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn spawn_devnode(data_dir: &Path, listen: &str, log_path: &Path) -> anyhow::Result<(Child, String)> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log_path)?;
    let mut child = Command::new(crate::binary("bcos-devnode")?)
        .args(["--listen", listen, "--data-dir"])
        .arg(data_dir)
        .args(["--chain-id", CHAIN_ID, "--group-id", GROUP_ID])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("devnode stdout"))?;
    BufReader::new(stdout).read_line(&mut line)?;
    match line.trim().strip_prefix("bcos-devnode listening on ") {
        Some(addr) => Ok((child, addr.to_owned())),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("devnode did not start on {listen}: {line:?}; see {}", log_path.display())
        }
    }
}

/// Everything chain-related of a world: the devnode, the files the server's `[chain]` section points at, the
/// deployed contract, and a client to read it.
pub struct ChainWorld {
    pub devnode: Devnode,
    pub client: ChainClient,
    pub contract: Address,
    pub registry_file: PathBuf,
    /// The `LINLI_CHAIN__*` variables for `linli serve` and `linli chain deploy`.
    pub env: Vec<(String, String)>,
}

/// What the contract holds about one meeting (`getMeeting`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingOnChain {
    pub exists: bool,
    pub finalized: bool,
    pub proposal_count: u8,
    pub participating_area_centi_m2: u64,
    pub participating_heads: u32,
    pub sheet_count: u32,
    pub vote_change_allowed: bool,
    /// Sheets replaced by a later sheet of the same voter (`getVoteChanges`).
    pub change_count: u32,
}

impl ChainWorld {
    /// Starts a devnode under `dir`, writes keys and the registry there. Deploy with [`Self::deploy`] once the
    /// community exists in the database.
    pub fn prepare(dir: &Path) -> anyhow::Result<Self> {
        let devnode = Devnode::start(&dir.join("chain-data"), &dir.join("devnode.log"))?;
        let registry_file = dir.join("chains.toml");
        std::fs::write(
            &registry_file,
            format!(
                "[communities.{DEMO_COMMUNITY}]\nendpoints = [\"{}\"]\nchain_id = \"{CHAIN_ID}\"\ngroup_id = \"{GROUP_ID}\"\n\
                 timeout_ms = 5000\n",
                devnode.url
            ),
        )?;
        let key_file = |name: &str| -> anyhow::Result<PathBuf> {
            let p = dir.join(name);
            std::fs::write(&p, hex::encode(Signer::random(CryptoSuite::Ecdsa).secret_bytes()))?;
            Ok(p)
        };
        let p = |s: PathBuf| s.to_string_lossy().into_owned();
        let env = vec![
            ("LINLI_CHAIN__REGISTRY_FILE".to_owned(), p(registry_file.clone())),
            ("LINLI_CHAIN__FORWARDER_KEY_FILE".to_owned(), p(key_file("chain-forwarder.key")?)),
            ("LINLI_CHAIN__COMMITTEE_KEY_FILE".to_owned(), p(key_file("chain-committee.key")?)),
            ("LINLI_CHAIN__ADMIN_KEY_FILE".to_owned(), p(key_file("chain-admin.key")?)),
            ("LINLI_CHAIN__ANCHOR_KEY_FILE".to_owned(), p(key_file("chain-anchor.key")?)),
            ("LINLI_CHAIN__PROPERTY_KEY_FILE".to_owned(), p(key_file("chain-property.key")?)),
            ("LINLI_CHAIN__BANK_KEY_FILE".to_owned(), p(key_file("chain-bank.key")?)),
            // Test-only platform key (signs result documents).
            ("LINLI_CHAIN__PLATFORM_KEY_HEX".to_owned(), "17".repeat(32)),
            ("LINLI_CHAIN__POLL_MS".to_owned(), "50".to_owned()),
            // Checkpoints once at start-up only, so that no anchor row appears in the outbox while a test counts
            // its rows; the log tests set a short interval themselves.
            ("LINLI_LOGS__CHECKPOINT_INTERVAL_MS".to_owned(), "3600000".to_owned()),
        ];
        let target = ChainRegistry::load(&registry_file)?.target(DEMO_COMMUNITY)?.clone();
        let client = ChainClient::from_target(&target)?;
        Ok(Self { devnode, client, contract: Address([0; 20]), registry_file, env })
    }

    /// `linli chain deploy --community SH-PD-0001` against `database_url` with `base_env` (database, Redis,
    /// personal-data keys) plus this chain's variables; remembers the printed contract address.
    pub fn deploy(&mut self, base_env: &[(String, String)]) -> anyhow::Result<()> {
        let out = Command::new(crate::binary("linli")?)
            .args(["chain", "deploy", "--community", DEMO_COMMUNITY])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(base_env.iter().chain(&self.env).map(|(k, v)| (k.as_str(), v.as_str())))
            .output()?;
        anyhow::ensure!(out.status.success(), "linli chain deploy: {}", String::from_utf8_lossy(&out.stderr));
        let printed = String::from_utf8_lossy(&out.stdout);
        let line = printed.lines().last().unwrap_or_default().trim();
        self.contract = line.parse().map_err(|e| anyhow::anyhow!("deploy printed {line:?}: {e:?}"))?;
        Ok(())
    }

    async fn view<C: SolCall>(&self, call: C) -> anyhow::Result<C::Return> {
        let out = self
            .client
            .call(&self.contract, &call.abi_encode())
            .await?
            .map_err(|(status, reason)| anyhow::anyhow!("call reverted ({status}): {reason:?}"))?;
        Ok(C::abi_decode_returns(&out)?)
    }

    pub async fn meeting(&self, meeting: Uuid) -> anyhow::Result<MeetingOnChain> {
        let r = self.view(LinliGovernance::getMeetingCall { meetingId: domain::chain_meeting_id(meeting).into() }).await?;
        let changes = self.view(LinliGovernance::getVoteChangesCall { meetingId: domain::chain_meeting_id(meeting).into() }).await?;
        Ok(MeetingOnChain {
            exists: r.exists,
            finalized: r.finalized,
            proposal_count: r.proposalCount,
            participating_area_centi_m2: r.partAreaCm2,
            participating_heads: r.partHeads,
            sheet_count: r.sheetCount,
            vote_change_allowed: changes.voteChangeAllowed,
            change_count: changes.changeCount,
        })
    }

    /// Per-option (area in centi-m², heads) of one ballot line (a yes/no proposal's index when all are yes/no).
    pub async fn tally(&self, meeting: Uuid, line: u8) -> anyhow::Result<Vec<(u64, u32)>> {
        let r = self.view(LinliGovernance::getTallyCall { meetingId: domain::chain_meeting_id(meeting).into(), line }).await?;
        Ok(r.areaCm2.into_iter().zip(r.heads).collect())
    }

    /// The sheet hash the contract recorded for this account's pseudonym in this meeting, if any (the test knows
    /// the server's keys, so it can compute the keyed pseudonym).
    pub async fn sheet_of(&self, meeting: Uuid, account: Uuid) -> anyhow::Result<Option<[u8; 32]>> {
        let r = self
            .view(LinliGovernance::sheetOfCall {
                meetingId: domain::chain_meeting_id(meeting).into(),
                voter: pseudonyms()?.voter_pseudonym(meeting, account).into(),
            })
            .await?;
        let hash: [u8; 32] = r.into();
        Ok((hash != [0; 32]).then_some(hash))
    }

    /// The sheet hash the contract recorded for the sheet cast through this written proxy, if any.
    pub async fn sheet_of_proxy(&self, meeting: Uuid, proxy: Uuid) -> anyhow::Result<Option<[u8; 32]>> {
        let r = self
            .view(LinliGovernance::sheetOfCall {
                meetingId: domain::chain_meeting_id(meeting).into(),
                voter: pseudonyms()?.proxy_pseudonym(meeting, proxy).into(),
            })
            .await?;
        let hash: [u8; 32] = r.into();
        Ok((hash != [0; 32]).then_some(hash))
    }

    /// Moves the devnode's clock (block timestamps) forward.
    pub async fn advance_time(&self, ms: u64) -> anyhow::Result<()> {
        self.client.rpc().request("devnode_advanceTime", vec![serde_json::json!(ms)]).await?;
        Ok(())
    }
}

/// The server's keyed chain pseudonyms under the test keys the world starts the server with.
fn pseudonyms() -> anyhow::Result<linli_server::pii::Pii> {
    Ok(linli_server::pii::Pii::from_config(&linli_server::testing::test_pii_config())?)
}
