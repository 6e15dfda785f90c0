//! Door-access benchmark (not a test; run by `deploy/bench-access.sh` on a release build). Each figure is printed
//! next to its bare reference measured in the same run, with the ratio:
//!
//! 1. online opening `POST /v1/doors/{id}/open` of the real `linli serve` through to the sandbox's Hikvision
//!    terminal (Digest challenge, command, `ResponseStatus`; attempt and outcome written to PostgreSQL) vs the
//!    empty `GET /healthz` of the same server, same client and concurrency; then p99 of openings sent at a fixed
//!    rate (default 200/s, open loop);
//! 2. pass issuance (claims, CBOR, COSE_Sign1 with ES256, Base45 text) vs the bare ES256 signature;
//! 3. reader verification of a resident pass (Base45, CBOR, the pass signature and the device proof) vs two bare
//!    ES256 verifications.
//!
//! The terminal's own count must equal the openings answered 200, so a fast wrong answer cannot pass for a result.
//!
//! Usage: `linli-bench-access [--requests N] [--concurrency C] [--rate R]` (defaults 2000, 16, 200); needs
//! `LINLI_TEST_DATABASE_URL` / `LINLI_TEST_REDIS_URL` like the tests.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use linli_identity::access_pass::{
    AccessKey, PassClaims, PassKind, ReaderView, VerifyingKey, jwk, proof_message, resident_text, sign_pass, verify_pass,
    visitor_text,
};
use linli_server::auth::org_app::OrgRole;
use linli_tests::org::OrgApp;
use linli_tests::owner::{Owner, demo_persons, unit_id};
use linli_tests::world::World;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use serde_json::{Value, json};

struct Args {
    requests: usize,
    concurrency: usize,
    rate: u32,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args { requests: 2000, concurrency: 16, rate: 200 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it.next().context("a value after the flag")?.parse().context("a whole number")?;
        match flag.as_str() {
            "--requests" => out.requests = value,
            "--concurrency" => out.concurrency = value,
            "--rate" => out.rate = u32::try_from(value)?,
            other => bail!("unknown flag {other}; use --requests N --concurrency C --rate R"),
        }
    }
    ensure!(out.requests >= 10 && out.concurrency >= 1 && out.rate >= 1, "--requests ≥ 10, --concurrency ≥ 1, --rate ≥ 1");
    Ok(out)
}

struct Run {
    name: String,
    count: usize,
    elapsed: Duration,
    sorted: Vec<Duration>,
}

impl Run {
    fn per_sec(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
    fn p(&self, q: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.sorted.len() as f64 * q).ceil() as usize).clamp(1, self.sorted.len()) - 1;
        self.sorted[i]
    }
}

async fn measure<F, Fut>(name: &str, n: usize, concurrency: usize, expected: u16, request: F) -> anyhow::Result<Run>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = reqwest::Result<reqwest::Response>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (request, next) = (request.clone(), next.clone());
        let name = name.to_owned();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let t = Instant::now();
                let resp = request(i).await?;
                let status = resp.status().as_u16();
                let body = resp.bytes().await?;
                latencies.push(t.elapsed());
                ensure!(status == expected, "{name} #{i}: {status} {}", String::from_utf8_lossy(&body));
            }
        }));
    }
    let mut sorted = Vec::with_capacity(n);
    for w in workers {
        sorted.extend(w.await??);
    }
    let elapsed = start.elapsed();
    sorted.sort();
    Ok(Run { name: name.to_owned(), count: n, elapsed, sorted })
}

/// `n` requests started at a fixed rate whatever the answers (open loop); latencies of each.
async fn paced<F, Fut>(name: &str, n: usize, rate: u32, request: F) -> anyhow::Result<Run>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let request = Arc::new(request);
    let gap = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        tokio::time::sleep_until((start + gap * u32::try_from(i)?).into()).await;
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let resp = request(i).await?;
            let status = resp.status().as_u16();
            resp.bytes().await?;
            ensure!(status == 200, "paced #{i}: {status}");
            Ok::<_, anyhow::Error>(t.elapsed())
        }));
    }
    let mut sorted = Vec::with_capacity(n);
    for t in tasks {
        sorted.push(t.await??);
    }
    let elapsed = start.elapsed();
    sorted.sort();
    Ok(Run { name: name.to_owned(), count: n, elapsed, sorted })
}

/// Runs `op` on this thread for about `secs` seconds; operations per second.
fn cpu_rate(name: &str, secs: f64, mut op: impl FnMut()) -> Run {
    for _ in 0..50 {
        op();
    }
    let start = Instant::now();
    let mut count = 0;
    while start.elapsed().as_secs_f64() < secs {
        for _ in 0..50 {
            op();
        }
        count += 50;
    }
    Run { name: name.to_owned(), count, elapsed: start.elapsed(), sorted: vec![] }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = args()?;
    let (n, c) = (args.requests, args.concurrency);
    let env: Vec<(String, String)> = [("RUST_LOG", "warn"), ("LINLI_DATABASE__POOL_SIZE", "16"), ("LINLI_ACCESS__OPENS_PER_MINUTE", "100000000")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    eprintln!("setting up: database, sandbox terminal, `linli serve`, a door and an enrolled owner ...");
    let world = World::start_with(&env).await?;
    let property = OrgApp::create(&world, OrgRole::Property, &[world.community_id]).await?;
    let door: Value = property
        .post(
            &format!("/openapi/v1/communities/{}/doors", world.community_id),
            &json!({"kind": "community_gate", "code": 101, "name": "南门",
                    "gateway": {"url": world.sandbox.base_url(), "username": linli_sandbox::hikvision::USERNAME,
                                "password": linli_sandbox::hikvision::PASSWORD, "door_no": 1}}),
        )
        .await?
        .json()
        .await?;
    let door_id = door["id"].as_str().context("door id")?.to_owned();
    let person = demo_persons(&world).await?.into_iter().next().context("a demo person")?;
    let unit = unit_id(&world, &person.building, &person.unit).await?;
    let mut owner = Owner::login(&world, "o-bench-access").await?;
    owner.enroll(&world, unit, &person, "739415").await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(c).timeout(Duration::from_secs(30)).build()?;
    let base = world.server.base_url.clone();
    for _ in 0..c {
        http.get(format!("{base}/healthz")).send().await?;
    }

    eprintln!("measuring the online opening ...");
    let (h, b) = (http.clone(), base.clone());
    let healthz = measure("GET /healthz (empty, reference)", n, c, 200, move |_| {
        let (h, b) = (h.clone(), b.clone());
        async move { h.get(format!("{b}/healthz")).send().await }
    })
    .await?;
    let open_url = format!("{base}/v1/doors/{door_id}/open");
    let (h, u, token) = (http.clone(), open_url.clone(), owner.token.clone());
    let opens = measure("POST /v1/doors/{id}/open", n, c, 200, move |_| {
        let (h, u, token) = (h.clone(), u.clone(), token.clone());
        async move { h.post(u).bearer_auth(token).header("content-type", "application/json").body("{}").send().await }
    })
    .await?;
    let paced_n = (args.rate as usize * 10).min(n);
    let (h, u, token) = (http.clone(), open_url.clone(), owner.token.clone());
    let at_rate = paced(&format!("open at {} req/s (open loop)", args.rate), paced_n, args.rate, move |_| {
        let (h, u, token) = (h.clone(), u.clone(), token.clone());
        async move { h.post(u).bearer_auth(token).header("content-type", "application/json").body("{}").send().await }
    })
    .await?;
    let terminal: Value = http.get(format!("{}/sandbox/doors/commands", world.sandbox.base_url())).send().await?.json().await?;
    let seen = terminal["opened"]["1"].as_u64().unwrap_or(0);
    ensure!(seen == (n + paced_n) as u64, "the terminal opened {seen} times for {} openings answered 200", n + paced_n);

    eprintln!("measuring pass issuance and verification ...");
    let (key, _) = AccessKey::generate()?;
    let rng = SystemRandom::new();
    let device_doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|e| anyhow::anyhow!("{e}"))?;
    let device = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, device_doc.as_ref(), &rng).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = chrono::Utc::now();
    let claims = |kind: PassKind| PassClaims {
        issuer: linli_identity::access_pass::issuer_for(&world.community_id),
        expires: now.timestamp() + 3600,
        not_before: now.timestamp() - 60,
        issued_at: now.timestamp(),
        pass_id: *uuid::Uuid::now_v7().as_bytes(),
        doors: vec![101, 102, 201, 301],
        uses: 0,
        kind,
        holder_key: (kind == PassKind::Resident).then(|| device.public_key().as_ref().to_vec()),
    };
    let message = vec![0x5a_u8; 160];
    let bare_sign = cpu_rate("bare ES256 signature (reference)", 2.0, || {
        let _ = key.sign(&message);
    });
    let issue = cpu_rate("pass issuance (CWT, COSE_Sign1, Base45)", 2.0, || {
        let _ = sign_pass(&key, &claims(PassKind::Visitor)).ok().and_then(|c| visitor_text(&c));
    });
    let resident = claims(PassKind::Resident);
    let cose = sign_pass(&key, &resident)?;
    let now_ms = now.timestamp_millis();
    let proof = device.sign(&rng, &proof_message(&resident.pass_id, now_ms as u64)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let text = resident_text(&cose, now_ms as u64, proof.as_ref()).context("resident text")?;
    let keys = vec![VerifyingKey::from_jwk(&jwk(key.public_point()).context("jwk")?).context("key")?];
    let revoked = HashSet::new();
    let issuer = linli_identity::access_pass::issuer_for(&world.community_id);
    let view = ReaderView { issuer: &issuer, door_code: 101, now_ms, keys: &keys, revoked: &revoked };
    ensure!(verify_pass(&text, &view).is_ok(), "the benchmark's pass must verify");
    let sig = key.sign(&message)?;
    let proof_msg = proof_message(&resident.pass_id, now_ms as u64);
    let bare_verify = cpu_rate("two bare ES256 verifications (reference)", 2.0, || {
        let a = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_point()).verify(&message, &sig).is_ok();
        let b = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, device.public_key().as_ref()).verify(&proof_msg, proof.as_ref()).is_ok();
        assert!(a && b);
    });
    let verify = cpu_rate("reader verification (resident pass)", 2.0, || {
        assert!(verify_pass(&text, &view).is_ok());
    });

    println!();
    let profile = if cfg!(debug_assertions) { "DEBUG build (use deploy/bench-access.sh)" } else { "release" };
    println!("door-access benchmark; `linli serve` {profile}, 2 workers; PostgreSQL, Redis and the sandbox terminal (in this process)");
    println!("on the same {}-core machine; {n} requests per HTTP row, {c} concurrent", std::thread::available_parallelism().map(|p| p.get()).unwrap_or(0));
    println!();
    println!("{:<44} {:>10} {:>8} {:>8} {:>8}", "what", "per s", "p50 ms", "p99 ms", "ratio");
    let row = |r: &Run, reference: &Run| {
        println!("{:<44} {:>10.0} {:>8.2} {:>8.2} {:>8.3}", r.name, r.per_sec(), ms(r.p(0.5)), ms(r.p(0.99)), r.per_sec() / reference.per_sec());
    };
    row(&healthz, &healthz);
    row(&opens, &healthz);
    println!("{:<44} {:>10.0} {:>8.2} {:>8.2} {:>8}", at_rate.name, at_rate.per_sec(), ms(at_rate.p(0.5)), ms(at_rate.p(0.99)), "-");
    row(&bare_sign, &bare_sign);
    row(&issue, &bare_sign);
    row(&bare_verify, &bare_verify);
    row(&verify, &bare_verify);
    println!();
    println!(
        "goals: opening ratio {:.2} (≥ 0.5), p99 at {} req/s {:.1} ms (≤ 50); issuance {:.2} (≥ 0.8); verification {:.2} (≥ 0.8); terminal count checked: {seen}",
        opens.per_sec() / healthz.per_sec(),
        args.rate,
        ms(at_rate.p(0.99)),
        issue.per_sec() / bare_sign.per_sec(),
        verify.per_sec() / bare_verify.per_sec()
    );
    Ok(())
}
