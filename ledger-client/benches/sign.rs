//! Build + hash + sign throughput against the bare signature primitive, for both suites.
//! `cargo bench -p linli-ledger-client --bench sign` prints criterion timings, then one line per suite:
//! transactions per second per core and the ratio build+sign / bare sign (goal ≥ 0.8).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use linli_ledger_client::crypto::{Address, CryptoSuite, Signer};
use linli_ledger_client::tx::{TxRequest, build_signed};

fn request() -> TxRequest {
    TxRequest {
        chain_id: "chain0".into(),
        group_id: "group0".into(),
        block_limit: 1_000_500,
        nonce: "161255612898668632725869040723287657533".into(),
        to: Some(Address([0xa6; 20])),
        // A ballot-sized call: selector and a dozen words.
        input: vec![0x5a; 4 + 12 * 32],
        abi: String::new(),
    }
}

fn signer(suite: CryptoSuite) -> Signer {
    Signer::from_secret_bytes(suite, &[0x42; 32]).unwrap_or_else(|_| Signer::random(suite))
}

fn benches(c: &mut Criterion) {
    for suite in [CryptoSuite::Ecdsa, CryptoSuite::Sm] {
        let s = signer(suite);
        let req = request();
        let hash = [7u8; 32];
        c.bench_function(&format!("{suite}/bare_sign"), |b| b.iter(|| s.sign_hash(black_box(&hash))));
        c.bench_function(&format!("{suite}/build_hash_sign"), |b| b.iter(|| build_signed(&s, black_box(&req))));
    }
}

/// Operations per second of `f` over about `budget`.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..20 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..20 {
            f();
        }
        n += 20;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn ratio_report() {
    for suite in [CryptoSuite::Ecdsa, CryptoSuite::Sm] {
        let s = signer(suite);
        let req = request();
        let hash = [7u8; 32];
        let bare = rate(Duration::from_secs(2), || {
            let _ = black_box(s.sign_hash(black_box(&hash)));
        });
        let full = rate(Duration::from_secs(2), || {
            let _ = black_box(build_signed(&s, black_box(&req)));
        });
        println!(
            "{suite}: build+sign {full:.0} tx/s per core, bare sign {bare:.0} sig/s, ratio {:.3} (goal >= 0.8)",
            full / bare
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    // Only when actually benchmarking (`cargo bench`), not in `cargo test --benches` smoke runs.
    if std::env::args().any(|a| a == "--bench") {
        ratio_report();
    }
}
