//! Device CA, CSR and signed requests checked against the `openssl` binary: keys and CSRs made by
//! `openssl req`, certificates verified by `openssl verify`, request signatures made by `openssl dgst -sign`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use chrono::Utc;
use linli_identity::ca::{DeviceCa, DeviceCertificateRequest, normalize_serial, parse_device_certificate_pem};
use linli_identity::csr::{CsrError, parse_csr_der, parse_csr_pem};
use linli_identity::device_key::DeviceKey;
use linli_identity::pii::SecretKey;
use linli_identity::signed_request::{SignatureError, SignedRequestHeaders, string_to_sign, verify_request};
use std::path::Path;
use std::process::Command;
use uuid::Uuid;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl on PATH");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn openssl_status(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:<curve>` → (key.pem, csr.pem).
fn openssl_csr(dir: &Path, name: &str, curve: &str, extra: &[&str]) -> String {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let curve_opt = format!("ec_paramgen_curve:{curve}");
    let mut args = vec!["req", "-new", "-newkey", "ec", "-pkeyopt", &curve_opt, "-nodes", "-keyout", &key, "-out", &csr, "-subj", "/CN=device"];
    args.extend_from_slice(extra);
    openssl(dir, &args);
    std::fs::read_to_string(dir.join(csr)).unwrap()
}

fn issue(ca: &DeviceCa, csr_pem: &str, account: Uuid) -> linli_identity::ca::IssuedDeviceCertificate {
    let csr = parse_csr_pem(csr_pem).unwrap();
    let req = DeviceCertificateRequest { account_id: account, device_fingerprint: "soter-install-0001", openid: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M" };
    ca.issue_device_certificate(&csr, &req, &SecretKey::from_bytes([7; 32]), Utc::now()).unwrap()
}

#[test]
fn openssl_csr_certificate_and_signature_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = DeviceCa::generate("Linli Test Device CA", Utc::now()).unwrap();
    ca.write_pem_files(&d.join("ca.pem"), &d.join("ca.key")).unwrap();
    // The CA certificate is a CA to openssl too.
    let ca_text = openssl(d, &["x509", "-in", "ca.pem", "-noout", "-text"]);
    assert!(ca_text.contains("CA:TRUE"), "{ca_text}");
    assert!(ca_text.contains("Certificate Sign"), "{ca_text}");

    // Reload from the files, as the server does at start-up, and issue with the loaded CA.
    let ca = DeviceCa::load(&d.join("ca.pem"), &d.join("ca.key")).unwrap();
    let csr_pem = openssl_csr(d, "dev", "prime256v1", &[]);
    let account = Uuid::parse_str("0190f1c2-7a3b-7cde-8f01-23456789abcd").unwrap();
    let issued = issue(&ca, &csr_pem, account);
    std::fs::write(d.join("dev.pem"), &issued.certificate_pem).unwrap();

    let verified = openssl(d, &["verify", "-CAfile", "ca.pem", "dev.pem"]);
    assert_eq!(verified.trim(), "dev.pem: OK");

    let text = openssl(d, &["x509", "-in", "dev.pem", "-noout", "-text"]);
    assert!(text.contains("Subject: CN = 0190f1c2-7a3b-7cde-8f01-23456789abcd"), "{text}");
    // sha256("soter-install-0001") computed with `openssl dgst -sha256`, independent of our code.
    let fp_hash = openssl_stdin_sha256(d, b"soter-install-0001");
    assert!(text.contains(&format!("URI:urn:linli:device:{fp_hash}")), "{text}");
    // HMAC-SHA256(key 0x07*32, openid) computed by openssl.
    let wx = openssl_hmac(d, &hex::encode([7u8; 32]), b"o6_bmjrPTlm6_2sgVt7hMZOPfL2M");
    assert!(text.contains(&format!("URI:urn:linli:wx:{wx}")), "{text}");
    assert!(text.contains("Digital Signature"), "{text}");
    assert!(text.contains("ASN1 OID: prime256v1"), "{text}");
    assert!(text.contains("ecdsa-with-SHA256"), "{text}");
    // One year: 365 days between notBefore+5min and notAfter.
    let dates = openssl(d, &["x509", "-in", "dev.pem", "-noout", "-startdate", "-enddate"]);
    assert!(dates.contains("notBefore=") && dates.contains("notAfter="), "{dates}");
    assert_eq!(issued.not_after - issued.not_before, chrono::Duration::days(365) + chrono::Duration::minutes(5));
    let serial_line = openssl(d, &["x509", "-in", "dev.pem", "-noout", "-serial"]);
    let serial = serial_line.trim().strip_prefix("serial=").unwrap();
    assert_eq!(serial.len(), 32, "128-bit serial: {serial}");
    assert_eq!(normalize_serial(serial).unwrap(), issued.serial_hex);
    let info = parse_device_certificate_pem(&issued.certificate_pem).unwrap();
    assert_eq!(info.serial_hex, issued.serial_hex);
    assert_eq!(info.subject_common_name, account.to_string());

    // A request signed by `openssl dgst -sha256 -sign` with the device key verifies (DER form) …
    let body = br#"{"choices":[{"proposal":1,"vote":"for"}]}"#;
    let ts = Utc::now().timestamp_millis();
    let nonce = "9f86d081884c7d659a2feaa0c55ad015";
    let msg = string_to_sign("POST", "/v1/meetings/7/ballot-sheets?lang=zh", ts, nonce, body);
    std::fs::write(d.join("msg.txt"), &msg).unwrap();
    openssl(d, &["dgst", "-sha256", "-sign", "dev.key", "-out", "sig.der", "msg.txt"]);
    let der = std::fs::read(d.join("sig.der")).unwrap();
    let headers = SignedRequestHeaders::parse(Some(serial), Some(&ts.to_string()), Some(nonce), Some(&B64.encode(&der))).unwrap();
    assert_eq!(headers.cert_serial, issued.serial_hex);
    let now = Utc::now().timestamp_millis();
    verify_request(&headers, &issued.public_key, "POST", "/v1/meetings/7/ballot-sheets?lang=zh", body, now).unwrap();

    // … and so does the raw r||s form of the same signature.
    let raw = der_to_raw(&der);
    let raw_headers = SignedRequestHeaders::parse(Some(serial), Some(&ts.to_string()), Some(nonce), Some(&B64.encode(raw))).unwrap();
    verify_request(&raw_headers, &issued.public_key, "POST", "/v1/meetings/7/ballot-sheets?lang=zh", body, now).unwrap();

    // Any change to what was signed fails.
    assert_eq!(verify_request(&headers, &issued.public_key, "POST", "/v1/meetings/7/ballot-sheets?lang=en", body, now), Err(SignatureError::BadSignature));
    assert_eq!(verify_request(&headers, &issued.public_key, "POST", "/v1/meetings/7/ballot-sheets?lang=zh", b"{}", now), Err(SignatureError::BadSignature));
    assert_eq!(verify_request(&headers, &issued.public_key, "PUT", "/v1/meetings/7/ballot-sheets?lang=zh", body, now), Err(SignatureError::BadSignature));
    // Another device's key fails.
    let other = DeviceKey::generate().unwrap();
    let other_pk = linli_identity::csr::P256PublicKey::from_sec1(other.public_key_sec1()).unwrap();
    assert_eq!(verify_request(&headers, &other_pk, "POST", "/v1/meetings/7/ballot-sheets?lang=zh", body, now), Err(SignatureError::BadSignature));
    // A timestamp 301 s old fails before the signature is even looked at.
    assert_eq!(
        verify_request(&headers, &issued.public_key, "POST", "/v1/meetings/7/ballot-sheets?lang=zh", body, ts + 301_000),
        Err(SignatureError::TimestampOutOfWindow)
    );
}

#[test]
fn our_device_key_is_accepted_by_openssl() {
    // The reference client's CSR and signatures, checked the other way round by openssl.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = DeviceKey::generate().unwrap();
    let csr = key.csr_pem("device").unwrap();
    std::fs::write(d.join("c.csr"), &csr).unwrap();
    let (ok, out) = openssl_status(d, &["req", "-in", "c.csr", "-noout", "-verify"]);
    assert!(ok && out.contains("verify OK"), "{out}");
    let ca = DeviceCa::generate("t", Utc::now()).unwrap();
    let issued = issue(&ca, &csr, Uuid::now_v7());
    let headers = key.signed_headers(&issued.serial_hex, "POST", "/v1/x", b"body", 1_700_000_000_000, None).unwrap();
    let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
    let msg = string_to_sign("POST", "/v1/x", 1_700_000_000_000, get("X-Linli-Nonce").unwrap(), b"body");
    std::fs::write(d.join("m.txt"), &msg).unwrap();
    std::fs::write(d.join("s.der"), B64.decode(get("X-Linli-Signature").unwrap()).unwrap()).unwrap();
    std::fs::write(d.join("k.pem"), key.private_key_pem()).unwrap();
    openssl(d, &["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
    let (ok, out) = openssl_status(d, &["dgst", "-sha256", "-verify", "pub.pem", "-signature", "s.der", "m.txt"]);
    assert!(ok && out.contains("Verified OK"), "{out}");
}

#[test]
fn bad_csrs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(parse_csr_pem(&openssl_csr(d, "p384", "secp384r1", &[])), Err(CsrError::WrongCurve));
    assert_eq!(parse_csr_pem(&openssl_csr(d, "k1", "secp256k1", &[])), Err(CsrError::WrongCurve));
    assert_eq!(parse_csr_pem(&openssl_csr(d, "sha384", "prime256v1", &["-sha384"])), Err(CsrError::WrongSignatureAlgorithm));
    openssl(d, &["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.csr", "-subj", "/CN=d"]);
    assert_eq!(parse_csr_pem(&std::fs::read_to_string(d.join("rsa.csr")).unwrap()), Err(CsrError::NotEcKey));
    openssl(d, &["req", "-new", "-newkey", "ed25519", "-nodes", "-keyout", "ed.key", "-out", "ed.csr", "-subj", "/CN=d"]);
    assert_eq!(parse_csr_pem(&std::fs::read_to_string(d.join("ed.csr")).unwrap()), Err(CsrError::NotEcKey));

    // Broken self-signature: flip one bit in the subject CN, which the signature covers.
    let good = openssl_csr(d, "good", "prime256v1", &[]);
    openssl(d, &["req", "-in", "good.csr", "-outform", "DER", "-out", "good.der"]);
    let mut der = std::fs::read(d.join("good.der")).unwrap();
    assert!(parse_csr_der(&der).is_ok());
    let at = der.windows(6).position(|w| w == b"device").unwrap();
    der[at] ^= 0x01;
    assert_eq!(parse_csr_der(&der), Err(CsrError::BadSignature));
    // Trailing data, garbage, a certificate instead of a CSR, oversize.
    let mut trailing = std::fs::read(d.join("good.der")).unwrap();
    trailing.push(0);
    assert_eq!(parse_csr_der(&trailing), Err(CsrError::Der));
    assert_eq!(parse_csr_pem("not pem"), Err(CsrError::Pem));
    let ca = DeviceCa::generate("t", Utc::now()).unwrap();
    assert_eq!(parse_csr_pem(ca.certificate_pem()), Err(CsrError::Pem));
    assert_eq!(parse_csr_pem(&"A".repeat(9000)), Err(CsrError::TooLarge));
    assert!(parse_csr_pem(&good).is_ok());
}

#[test]
fn ca_files_are_checked_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = DeviceCa::generate("a", Utc::now()).unwrap();
    a.write_pem_files(&d.join("a.pem"), &d.join("a.key")).unwrap();
    // Never overwrite an existing CA.
    assert!(matches!(a.write_pem_files(&d.join("a.pem"), &d.join("x.key")), Err(linli_identity::ca::CaError::Exists(_))));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(d.join("a.key")).unwrap().permissions().mode() & 0o777, 0o600);
    let b = DeviceCa::generate("b", Utc::now()).unwrap();
    b.write_pem_files(&d.join("b.pem"), &d.join("b.key")).unwrap();
    assert!(matches!(DeviceCa::load(&d.join("a.pem"), &d.join("b.key")), Err(linli_identity::ca::CaError::Mismatch)));
    // A P-384 key from openssl is refused as CA key.
    openssl(d, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp384r1", "-out", "p384.key"]);
    assert!(DeviceCa::load(&d.join("a.pem"), &d.join("p384.key")).is_err());
    // A leaf certificate is not accepted as the CA certificate.
    let key = DeviceKey::generate().unwrap();
    let leaf = issue(&a, &key.csr_pem("x").unwrap(), Uuid::now_v7());
    assert!(DeviceCa::from_pem(&leaf.certificate_pem, &key.private_key_pem()).is_err());
    // A CA certificate with its key from openssl itself loads.
    openssl(d, &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "o.key", "-out", "o.pem", "-subj", "/CN=openssl-ca", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
    let o = DeviceCa::load(&d.join("o.pem"), &d.join("o.key")).unwrap();
    let issued = issue(&o, &key.csr_pem("x").unwrap(), Uuid::now_v7());
    std::fs::write(d.join("leaf.pem"), issued.certificate_pem).unwrap();
    assert_eq!(openssl(d, &["verify", "-CAfile", "o.pem", "leaf.pem"]).trim(), "leaf.pem: OK");
    // … and a leaf from another CA does not verify against it.
    std::fs::write(d.join("leaf_a.pem"), leaf.certificate_pem).unwrap();
    let (ok, _) = openssl_status(d, &["verify", "-CAfile", "o.pem", "leaf_a.pem"]);
    assert!(!ok);
}

#[test]
fn serials_are_random() {
    let ca = DeviceCa::generate("t", Utc::now()).unwrap();
    let key = DeviceKey::generate().unwrap();
    let csr = key.csr_pem("x").unwrap();
    let a = issue(&ca, &csr, Uuid::now_v7());
    let b = issue(&ca, &csr, Uuid::now_v7());
    assert_ne!(a.serial_hex, b.serial_hex);
    for s in [&a.serial_hex, &b.serial_hex] {
        assert_eq!(s.len(), 32);
        assert!(u8::from_str_radix(&s[..2], 16).unwrap() < 0x80, "positive");
    }
}

fn openssl_stdin_sha256(dir: &Path, data: &[u8]) -> String {
    std::fs::write(dir.join("in.bin"), data).unwrap();
    let out = openssl(dir, &["dgst", "-sha256", "-r", "in.bin"]);
    out.split_whitespace().next().unwrap().to_owned()
}

fn openssl_hmac(dir: &Path, hex_key: &str, data: &[u8]) -> String {
    std::fs::write(dir.join("in.bin"), data).unwrap();
    let opt = format!("hexkey:{hex_key}");
    let out = openssl(dir, &["dgst", "-sha256", "-mac", "HMAC", "-macopt", &opt, "-r", "in.bin"]);
    out.split_whitespace().next().unwrap().to_owned()
}

/// DER ECDSA-Sig-Value → 64-byte r||s (a small hand parser, independent of the code under test).
fn der_to_raw(der: &[u8]) -> Vec<u8> {
    assert_eq!(der[0], 0x30);
    let mut i = 2;
    let mut out = vec![];
    for _ in 0..2 {
        assert_eq!(der[i], 0x02);
        let len = der[i + 1] as usize;
        let int = &der[i + 2..i + 2 + len];
        let int = if int.len() == 33 { &int[1..] } else { int };
        let mut padded = vec![0u8; 32 - int.len()];
        padded.extend_from_slice(int);
        out.extend_from_slice(&padded);
        i += 2 + len;
    }
    out
}
