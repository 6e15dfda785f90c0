//! Hostile input never panics: seeded random mutations of valid images, CSRs and headers go through the
//! parsers, which must answer Ok or a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rand::{Rng, SeedableRng, rngs::StdRng};

fn mutate(rng: &mut StdRng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    match rng.gen_range(0..4) {
        0 => {
            for _ in 0..rng.gen_range(1..8) {
                let i = rng.gen_range(0..v.len());
                v[i] = rng.r#gen();
            }
        }
        1 => v.truncate(rng.gen_range(0..v.len())),
        2 => {
            let i = rng.gen_range(0..v.len());
            let extra: Vec<u8> = (0..rng.gen_range(1..64)).map(|_| rng.r#gen()).collect();
            v.splice(i..i, extra);
        }
        _ => {
            let a = rng.gen_range(0..v.len());
            let b = rng.gen_range(a..v.len());
            v.drain(a..b);
        }
    }
    v
}

#[test]
fn mutated_images_never_panic() {
    let faces = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/faces");
    let png = std::fs::read(faces.join("face-01.png")).unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&img).unwrap();
    let policy = linli_identity::upload::ImagePolicy::SELFIE;
    let mut rng = StdRng::seed_from_u64(20260301);
    let mut ok = 0;
    for _ in 0..300 {
        for base in [&png, &jpeg] {
            if linli_identity::upload::normalize_image(&mutate(&mut rng, base), &policy).is_ok() {
                ok += 1;
            }
        }
    }
    // Some mutations (e.g. in trailing bytes or JPEG entropy data) still decode; most do not.
    assert!(ok < 600, "{ok}");
}

#[test]
fn mutated_csrs_and_headers_never_panic() {
    let key = linli_identity::device_key::DeviceKey::generate().unwrap();
    let pem = key.csr_pem("device").unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
    assert!(linli_identity::csr::parse_csr_der(&der).is_ok());
    let mut rng = StdRng::seed_from_u64(7);
    let mut accepted = 0;
    for _ in 0..2000 {
        let m = mutate(&mut rng, &der);
        if linli_identity::csr::parse_csr_der(&m).is_ok() {
            accepted += 1;
            // Anything accepted must still carry a valid self-signature over what was parsed.
            assert_eq!(m, der, "a modified CSR was accepted");
        }
    }
    assert!(accepted <= 2000);

    let auth = linli_identity::org_app::authorization_header(
        "app_1",
        &linli_identity::org_app::AppSecret::from_text("s"),
        "GET",
        "/x",
        1_700_000_000_000,
        "0123456789abcdef",
        b"",
    );
    for _ in 0..2000 {
        let m = mutate(&mut rng, auth.as_bytes());
        if let Ok(text) = std::str::from_utf8(&m) {
            let _ = linli_identity::org_app::parse_authorization(Some(text));
            let _ = linli_identity::signed_request::SignedRequestHeaders::parse(Some(text), Some(text), Some(text), Some(text));
            let _ = linli_identity::IdNumber::parse(text);
            let _ = linli_identity::PhoneNumber::parse(text);
            let _ = linli_identity::Pin::parse(text);
        }
    }
}
