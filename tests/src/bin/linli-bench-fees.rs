//! Fees benchmark (not a test; run by `deploy/bench-fees.sh` on a release build): the real `linli` binary against
//! PostgreSQL, Redis and the sandbox's WeChat Pay, measured with the same client and concurrency on
//!
//! 1. `GET /healthz` — the empty endpoint of the same server (the bare reference),
//! 2. `POST /v1/billing/orders` — an authenticated owner, a fresh `Idempotency-Key` and bill per request, through
//!    to the sandbox's `POST /v3/pay/partner/transactions/jsapi` (request signed, answer verified, paySign made),
//! 3. `POST /v1/payments/wechat/notify` — one `TRANSACTION.SUCCESS` per order, RSA-signed with the test platform
//!    key and `AEAD_AES_256_GCM`-encrypted as WeChat Pay does (made before the clock starts: WeChat's cost, not
//!    ours), each settling its order (bills, ledger entry, receipt).
//!
//! Prints throughput and p50/p99 of each with the ratios to the reference, then checks the books (every order
//! paid once, one ledger entry each) so a fast wrong answer cannot pass for a result.
//!
//! Set-up shortcut: the owner is enrolled through the real four factors, but the bills (one per order) are
//! inserted with one SQL statement for the owner's unit, periods 1900-01 onwards — `bills generate` would make a
//! period's bills for all 1,200 units.
//!
//! Usage: `linli-bench-fees [--orders N] [--concurrency C]` (defaults 1000 and 16); needs
//! `LINLI_TEST_DATABASE_URL` / `LINLI_TEST_REDIS_URL` like the tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use anyhow::{Context, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use linli_server::billing::fees::Method;
use linli_tests::owner::{DemoPerson, Owner, demo_persons, unit_id};
use linli_tests::world::{SUB_MCHID, World, repo_root};

struct Args {
    orders: usize,
    concurrency: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args { orders: 1000, concurrency: 16 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it.next().context("a value after the flag")?.parse().context("a whole number")?;
        match flag.as_str() {
            "--orders" => out.orders = value,
            "--concurrency" => out.concurrency = value,
            other => bail!("unknown flag {other}; use --orders N --concurrency C"),
        }
    }
    ensure!(out.orders >= 10 && out.concurrency >= 1, "--orders at least 10, --concurrency at least 1");
    Ok(out)
}

/// Latencies of one measured run.
struct Run {
    name: &'static str,
    requests: usize,
    elapsed: Duration,
    sorted: Vec<Duration>,
}

impl Run {
    fn per_sec(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn quantile(&self, q: f64) -> Duration {
        let i = ((self.sorted.len() as f64 * q).ceil() as usize).clamp(1, self.sorted.len()) - 1;
        self.sorted[i]
    }
}

/// Runs `n` requests, `concurrency` at a time; each must answer `expected`.
async fn measure<F, Fut>(name: &'static str, n: usize, concurrency: usize, expected: u16, request: F) -> anyhow::Result<Run>
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
    Ok(Run { name, requests: n, elapsed, sorted })
}

fn pin_for(person: &DemoPerson) -> String {
    let birth = person.id_number.get(6..14).unwrap_or("00000000");
    ["739415", "846203", "592730", "307948"]
        .into_iter()
        .find(|p| {
            !p.contains(&birth[4..8])
                && !p.contains(&birth[2..6])
                && !p.contains(&birth[6..8])
                && Some(*p) != person.id_number.get(12..18)
        })
        .unwrap_or("739415")
        .to_owned()
}

/// A WeChat Pay `TRANSACTION.SUCCESS` notification for an order: body and `Wechatpay-*` headers.
struct SignedNotification {
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

fn notification(
    platform_key: &ring::signature::RsaKeyPair,
    out_trade_no: &str,
    total: i64,
    i: usize,
) -> anyhow::Result<SignedNotification> {
    let resource = json!({
        "sp_appid": linli_sandbox::Credentials::default().wechat_appid,
        "sp_mchid": linli_sandbox::wechatpay::SP_MCHID,
        "sub_mchid": SUB_MCHID,
        "out_trade_no": out_trade_no,
        "transaction_id": format!("42{i:026}"),
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "success_time": "2026-12-01T10:00:00+08:00",
        "amount": { "total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY" },
    });
    let nonce = format!("{:012}", i % 1_000_000_000_000);
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(linli_sandbox::wechatpay::APIV3_KEY.as_bytes())?;
    let nonce_bytes: [u8; 12] = nonce.as_bytes().try_into()?;
    let ciphertext = cipher
        .encrypt(&aes_gcm::Nonce::from(nonce_bytes), Payload { msg: resource.to_string().as_bytes(), aad: b"transaction" })
        .map_err(|_| anyhow::anyhow!("encryption failed"))?;
    let body = json!({
        "id": format!("EV-bench-{i}"),
        "create_time": "2026-12-01T10:00:01+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": { "original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                      "ciphertext": B64.encode(ciphertext), "associated_data": "transaction", "nonce": nonce },
    })
    .to_string()
    .into_bytes();
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let sign_nonce = Uuid::new_v4().simple().to_string().to_uppercase();
    let mut message = format!("{timestamp}\n{sign_nonce}\n").into_bytes();
    message.extend_from_slice(&body);
    message.push(b'\n');
    let mut sig = vec![0; platform_key.public().modulus_len()];
    platform_key
        .sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), &message, &mut sig)
        .map_err(|_| anyhow::anyhow!("signing failed"))?;
    Ok(SignedNotification {
        body,
        headers: vec![
            ("Wechatpay-Timestamp", timestamp),
            ("Wechatpay-Nonce", sign_nonce),
            ("Wechatpay-Signature", B64.encode(sig)),
            ("Wechatpay-Serial", linli_sandbox::wechatpay::PLATFORM_PUB_KEY_ID.to_owned()),
        ],
    })
}

fn platform_key() -> anyhow::Result<ring::signature::RsaKeyPair> {
    let pem = std::fs::read_to_string(repo_root().join("fixtures/test-keys/test-wechatpay-platform.key"))?;
    let der = B64.decode(pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>())?;
    ring::signature::RsaKeyPair::from_pkcs8(&der).map_err(|e| anyhow::anyhow!("platform key: {e}"))
}

/// An owner of a residence, enrolled through the four factors, with `n` unpaid bills of its unit.
async fn owner_with_bills(world: &World, n: usize) -> anyhow::Result<(Owner, Vec<(Uuid, i64)>)> {
    let mut conn = AsyncPgConnection::establish(world.db.url()).await?;
    let item = linli_server::billing::store::upsert_fee_item(
        &mut conn,
        world.community_id,
        "property",
        "物业费",
        Method::PerArea,
        250,
        "residence",
        false,
    )
    .await?;
    let mut chosen = None;
    for person in demo_persons(world).await? {
        let unit = unit_id(world, &person.building, &person.unit).await?;
        let kind: String = {
            use diesel::QueryDsl;
            use linli_server::schema::units;
            units::table.find(unit).select(units::kind).first(&mut conn).await?
        };
        if kind == "residence" {
            chosen = Some((person, unit));
            break;
        }
    }
    let (person, unit) = chosen.context("a demo person owning a residence")?;
    let mut owner = Owner::login(world, "o-bench-fees").await?;
    owner.enroll(world, unit, &person, &pin_for(&person)).await?;
    diesel::sql_query(
        "INSERT INTO bills (id, community_id, unit_id, fee_item_id, period, amount_fen) \
         SELECT gen_random_uuid(), $1, $2, $3, to_char(date '1900-01-01' + make_interval(months => g::int), 'YYYY-MM'), \
                10000 + g \
         FROM generate_series(0, $4 - 1) g",
    )
    .bind::<SqlUuid, _>(world.community_id)
    .bind::<SqlUuid, _>(unit)
    .bind::<SqlUuid, _>(item)
    .bind::<BigInt, _>(i64::try_from(n)?)
    .execute(&mut conn)
    .await?;
    #[derive(diesel::QueryableByName)]
    struct Bill {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = BigInt)]
        amount_fen: i64,
    }
    let bills: Vec<Bill> = diesel::sql_query("SELECT id, amount_fen FROM bills WHERE unit_id = $1 ORDER BY period")
        .bind::<SqlUuid, _>(unit)
        .load(&mut conn)
        .await?;
    ensure!(bills.len() == n, "expected {n} bills, found {}", bills.len());
    Ok((owner, bills.into_iter().map(|b| (b.id, b.amount_fen)).collect()))
}

fn row(run: &Run, reference: &Run) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{:<34} {:>6} {:>9.0} {:>8.2} {:>8.2} {:>11.3} {:>9.1}",
        run.name,
        run.requests,
        run.per_sec(),
        ms(run.quantile(0.50)),
        ms(run.quantile(0.99)),
        run.per_sec() / reference.per_sec(),
        ms(run.quantile(0.99)) / ms(reference.quantile(0.99)),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let (n, c) = (args.orders, args.concurrency);
    let env: Vec<(String, String)> = [
        ("RUST_LOG", "warn"),
        ("LINLI_DATABASE__POOL_SIZE", "16"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    eprintln!("setting up: database, sandbox, `linli serve`, an enrolled owner and {n} bills ...");
    let world = World::start_with_payments(&env).await?;
    let (owner, bills) = owner_with_bills(&world, n).await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(c).timeout(Duration::from_secs(30)).build()?;
    let base = world.server.base_url.clone();

    // Warm-up: connections, pools, caches.
    for path in ["/healthz", "/readyz"] {
        for _ in 0..c {
            http.get(format!("{base}{path}")).send().await?;
        }
    }

    eprintln!("measuring ...");
    let (h, b) = (http.clone(), base.clone());
    let healthz = measure("GET /healthz (empty, reference)", n, c, 200, move |_| {
        let (h, b) = (h.clone(), b.clone());
        async move { h.get(format!("{b}/healthz")).send().await }
    })
    .await?;

    let orders_body: Arc<Vec<Vec<u8>>> =
        Arc::new(bills.iter().map(|(id, _)| json!({ "bill_ids": [id] }).to_string().into_bytes()).collect());
    let (h, b, token) = (http.clone(), base.clone(), owner.token.clone());
    let bodies = orders_body.clone();
    let orders = measure("POST /v1/billing/orders", n, c, 201, move |i| {
        let (h, b, token, body) = (h.clone(), b.clone(), token.clone(), bodies[i].clone());
        async move {
            h.post(format!("{b}/v1/billing/orders"))
                .bearer_auth(token)
                .header("Idempotency-Key", format!("bench-order-{i}"))
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
        }
    })
    .await?;

    // Our out_trade_no of each bill's order, then the notifications WeChat Pay would send for them.
    let mut conn = AsyncPgConnection::establish(world.db.url()).await?;
    #[derive(diesel::QueryableByName)]
    struct Order {
        #[diesel(sql_type = diesel::sql_types::Text)]
        out_trade_no: String,
        #[diesel(sql_type = BigInt)]
        amount_fen: i64,
    }
    let placed: Vec<Order> = diesel::sql_query("SELECT out_trade_no, amount_fen FROM payment_orders WHERE status = 'prepaid'")
        .load(&mut conn)
        .await?;
    ensure!(placed.len() == n, "{} prepaid orders, expected {n}", placed.len());
    let key = platform_key()?;
    let notes: Vec<SignedNotification> =
        placed.iter().enumerate().map(|(i, o)| notification(&key, &o.out_trade_no, o.amount_fen, i)).collect::<Result<_, _>>()?;
    let notes = Arc::new(notes);
    let (h, b) = (http.clone(), base.clone());
    let notify = measure("POST /v1/payments/wechat/notify", n, c, 204, move |i| {
        let (h, b, notes) = (h.clone(), b.clone(), notes.clone());
        async move {
            let note = &notes[i];
            let mut req = h.post(format!("{b}/v1/payments/wechat/notify")).header("Content-Type", "application/json");
            for (k, v) in &note.headers {
                req = req.header(*k, v);
            }
            req.body(note.body.clone()).send().await
        }
    })
    .await?;

    let (h, b) = (http.clone(), base.clone());
    let healthz_after = measure("GET /healthz (again, after)", n, c, 200, move |_| {
        let (h, b) = (h.clone(), b.clone());
        async move { h.get(format!("{b}/healthz")).send().await }
    })
    .await?;

    // The books: every order paid once, one ledger entry and one receipt each, each bill paid.
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    for (what, sql) in [
        ("paid orders", "SELECT count(*) AS n FROM payment_orders WHERE status = 'paid'"),
        ("ledger entries", "SELECT count(*) AS n FROM ledger_entries"),
        ("receipts", "SELECT count(*) AS n FROM receipts"),
        ("paid bills", "SELECT count(*) AS n FROM bills WHERE status = 'paid'"),
    ] {
        let got: Count = diesel::sql_query(sql).get_result(&mut conn).await?;
        ensure!(got.n == i64::try_from(n)?, "{what}: {} instead of {n}", got.n);
    }

    println!();
    let profile = if cfg!(debug_assertions) { "DEBUG build (use deploy/bench-fees.sh)" } else { "release" };
    println!("fees benchmark: {n} requests per row, {c} concurrent, 1 client; `linli serve` {profile}, 2 workers, pool 16;");
    println!("PostgreSQL, Redis and the sandbox (in this process) on the same {}-core machine", std::thread::available_parallelism().map(|p| p.get()).unwrap_or(0));
    println!();
    println!("{:<34} {:>6} {:>9} {:>8} {:>8} {:>11} {:>9}", "endpoint", "n", "req/s", "p50 ms", "p99 ms", "req/s ratio", "p99 ratio");
    for run in [&healthz, &orders, &notify, &healthz_after] {
        println!("{}", row(run, &healthz));
    }
    println!();
    println!(
        "order creation: {:.1}x slower than the empty endpoint; notification handling: {:.1}x; books checked: {n} orders paid once",
        healthz.per_sec() / orders.per_sec(),
        healthz.per_sec() / notify.per_sec()
    );
    drop(owner);
    Ok(())
}
