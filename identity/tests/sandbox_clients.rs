//! The identity clients against the sandbox (started in-process on free ports). The sandbox checks signatures
//! with its own code, so these pass only when both sides follow the documented protocols.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use linli_identity::IdNumber;
use linli_identity::faceid::{DEFAULT_PASS_SCORE, FaceError, FaceMatchRequest, FaceVerifier, TencentFaceId, TencentFaceIdConfig};
use linli_identity::registry::{HttpsRegistryClient, OwnershipQuery, RegistryClient, RegistryError};
use linli_identity::upload::{ImagePolicy, normalize_image};
use linli_identity::wechat::{SubscribeMessage, TemplateValue, WeChatClient, WeChatConfig, WeChatError, WeChatErrorCode};
use linli_sandbox::{Credentials, Sandbox, SandboxConfig};
use std::path::{Path, PathBuf};

const ALICE: &str = "11010519491231002X"; // GB 11643 example; face-01
const BOB: &str = "440524188001010014"; // hand-computed check digit; face-02
const CAROL: &str = "110105198001010016"; // hand-computed check digit; no face image

fn repo_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("fixtures")
}

/// A small fixtures folder of our own (the demo register is generated elsewhere and may change).
fn fixtures(dir: &Path) {
    let register = format!(
        "record,community,building,unit,name,kind,exclusive_area_m2,area_source,building_area_m2,owner_type,id_number,phone,holding\n\
         community,T-0001,,,测试小区,,,,,,,,\n\
         building,T-0001,B01,,1号楼,,,,,,,,\n\
         unit,T-0001,B01,0101,,residence,89.35,register,102.50,,,,\n\
         unit,T-0001,B01,0102,,residence,120.00,surveyed,130.00,,,,\n\
         owner,T-0001,B01,0101,张三,,,,,person,{ALICE},,\n\
         owner,T-0001,B01,0101,李四,,,,,person,{BOB},,\n\
         owner,T-0001,B01,0102,王五,,,,,person,{CAROL},,\n"
    );
    std::fs::write(dir.join("demo-register.csv"), register).unwrap();
    std::fs::create_dir_all(dir.join("faces")).unwrap();
    std::fs::write(dir.join("faces/index.csv"), format!("id_number,name,file\n{ALICE},张三,face-01.png\n{BOB},李四,face-02.png\n")).unwrap();
    for f in ["face-01.png", "face-02.png"] {
        std::fs::copy(repo_fixtures().join("faces").join(f), dir.join("faces").join(f)).unwrap();
    }
    std::fs::create_dir_all(dir.join("test-keys")).unwrap();
    // Every test key the sandbox loads (registry TLS, WeChat Pay merchant and platform keys).
    for entry in std::fs::read_dir(repo_fixtures().join("test-keys")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.join("test-keys").join(path.file_name().unwrap())).unwrap();
        }
    }
}

async fn sandbox(dir: &Path) -> Sandbox {
    let _ = rustls::crypto::ring::default_provider().install_default();
    fixtures(dir);
    linli_sandbox::start(SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_listen: Some("127.0.0.1:0".parse().unwrap()),
        fixtures: dir.to_path_buf(),
        register: None,
        credentials: Credentials::default(),
    })
    .await
    .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

fn face_client(sb: &Sandbox, secret_id: &str, secret_key: &str) -> TencentFaceId {
    TencentFaceId::new(
        http(),
        TencentFaceIdConfig {
            endpoint: sb.base_url(),
            secret_id: secret_id.into(),
            secret_key: secret_key.to_string().into(),
            region: None,
            pass_score: DEFAULT_PASS_SCORE,
        },
    )
    .unwrap()
}

fn face_bytes(file: &str) -> Vec<u8> {
    std::fs::read(repo_fixtures().join("faces").join(file)).unwrap()
}

/// The reference PNG re-encoded as a JPEG (quality 80), as a phone camera would deliver a different file.
fn as_jpeg(png: &[u8]) -> Vec<u8> {
    let img = image::load_from_memory(png).unwrap().to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faceid_scores_signature_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path()).await;
    let creds = Credentials::default();
    let client = face_client(&sb, &creds.faceid_secret_id, &creds.faceid_secret_key);
    let alice = IdNumber::parse(ALICE).unwrap();

    // Own face, PNG and JPEG, after our upload normalisation: passes with a high score.
    for bytes in [face_bytes("face-01.png"), as_jpeg(&face_bytes("face-01.png"))] {
        let image = normalize_image(&bytes, &ImagePolicy::SELFIE).unwrap();
        let out = client.verify(FaceMatchRequest { id_number: &alice, name: "张三", image: &image }).await.unwrap();
        assert!(out.score >= 90.0, "{out:?}");
        assert!(out.passed, "{out:?}");
        assert_eq!(out.result_code, "Success");
        assert!(!out.request_id.is_empty());
    }

    // Another person's face: low score, not passed.
    let bob_face = normalize_image(&face_bytes("face-02.png"), &ImagePolicy::SELFIE).unwrap();
    let out = client.verify(FaceMatchRequest { id_number: &alice, name: "张三", image: &bob_face }).await.unwrap();
    assert!(out.score < 40.0, "{out:?}");
    assert!(!out.passed);
    assert_eq!(out.result_code, "FailedOperation.CompareLowSimilarity");

    // Name does not belong to the ID number.
    let own = normalize_image(&face_bytes("face-01.png"), &ImagePolicy::SELFIE).unwrap();
    let out = client.verify(FaceMatchRequest { id_number: &alice, name: "李四", image: &own }).await.unwrap();
    assert_eq!(out.result_code, "FailedOperation.IdNameMisMatch");
    assert!(!out.passed);

    // Wrong secret key: the sandbox's own TC3 check refuses the signature.
    let bad = face_client(&sb, &creds.faceid_secret_id, "not-the-secret-key");
    let err = bad.verify(FaceMatchRequest { id_number: &alice, name: "张三", image: &own }).await.unwrap_err();
    assert!(matches!(&err, FaceError::Api { code, .. } if code == "AuthFailure.SignatureFailure"), "{err:?}");
    // Unknown SecretId.
    let unknown = face_client(&sb, "AKIDunknown", &creds.faceid_secret_key);
    let err = unknown.verify(FaceMatchRequest { id_number: &alice, name: "张三", image: &own }).await.unwrap_err();
    assert!(matches!(&err, FaceError::Api { code, .. } if code == "AuthFailure.SecretIdNotFound"), "{err:?}");
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tc3_request_tampered_in_transit_is_refused() {
    // Sign one body, send another: the sandbox recomputes the payload hash and refuses.
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path()).await;
    let creds = Credentials::default();
    let host = sb.http_addr.to_string();
    let ts = chrono::Utc::now().timestamp();
    let signed = r#"{"IdCard":"11010519491231002X","Name":"张三","ImageBase64":""}"#.as_bytes();
    let sent = r#"{"IdCard":"11010519491231002X","Name":"李四","ImageBase64":""}"#.as_bytes();
    let sig = linli_identity::faceid::tc3_sign(&creds.faceid_secret_id, &creds.faceid_secret_key, "faceid", &host, linli_identity::faceid::CONTENT_TYPE, signed, ts);
    let send = |body: &'static [u8], ts: i64, auth: String| {
        http()
            .post(sb.base_url())
            .header("Authorization", auth)
            .header("Content-Type", linli_identity::faceid::CONTENT_TYPE)
            .header("X-TC-Action", "ImageRecognitionV2")
            .header("X-TC-Version", "2018-03-01")
            .header("X-TC-Timestamp", ts.to_string())
            .body(body)
            .send()
    };
    let v: serde_json::Value = send(sent, ts, sig.authorization.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(v["Response"]["Error"]["Code"], "AuthFailure.SignatureFailure", "{v}");
    // The untampered request gets past the signature check (and fails later, on the empty image).
    let v: serde_json::Value = send(signed, ts, sig.authorization.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(v["Response"]["Result"], "FailedOperation.ImageDecodeFailed", "{v}");
    // A timestamp more than five minutes old.
    let old = ts - 400;
    let sig_old = linli_identity::faceid::tc3_sign(&creds.faceid_secret_id, &creds.faceid_secret_key, "faceid", &host, linli_identity::faceid::CONTENT_TYPE, signed, old);
    let v: serde_json::Value = send(signed, old, sig_old.authorization).await.unwrap().json().await.unwrap();
    assert_eq!(v["Response"]["Error"]["Code"], "AuthFailure.SignatureExpire", "{v}");
    sb.stop().await;
}

async fn login_code(sb: &Sandbox, body: serde_json::Value) -> String {
    let v: serde_json::Value =
        http().post(format!("{}/sandbox/wechat/login-code", sb.base_url())).json(&body).send().await.unwrap().json().await.unwrap();
    v["code"].as_str().unwrap().to_owned()
}

fn wechat(sb: &Sandbox, secret: &str) -> WeChatClient {
    let creds = Credentials::default();
    WeChatClient::new(http(), WeChatConfig { base_url: sb.base_url(), appid: creds.wechat_appid, secret: secret.to_string().into() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_login_token_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path()).await;
    let wx = wechat(&sb, &Credentials::default().wechat_secret);

    let code = login_code(&sb, serde_json::json!({"openid": "o-alice", "unionid": "u-alice"})).await;
    let s = wx.jscode2session(&code).await.unwrap();
    assert_eq!((s.openid.as_str(), s.unionid.as_deref()), ("o-alice", Some("u-alice")));
    // Single use.
    let e = wx.jscode2session(&code).await.unwrap_err();
    assert_eq!(e, WeChatError::Api { code: WeChatErrorCode::CodeUsed, errmsg: "code been used".into() });
    // Never issued.
    let e = wx.jscode2session("0123456789abcdef0123456789abcdef").await.unwrap_err();
    assert!(matches!(e, WeChatError::Api { code: WeChatErrorCode::InvalidCode, .. }), "{e:?}");
    // Errors WeChat may answer, on request.
    for (errcode, expected) in [(-1, WeChatErrorCode::SystemBusy), (45011, WeChatErrorCode::RateLimited), (40226, WeChatErrorCode::HighRiskUser)] {
        let code = login_code(&sb, serde_json::json!({"openid": "o-x", "errcode": errcode})).await;
        let e = wx.jscode2session(&code).await.unwrap_err();
        assert!(matches!(e, WeChatError::Api { code, .. } if code == expected), "{errcode}: {e:?}");
    }
    // Wrong app secret.
    let code = login_code(&sb, serde_json::json!({"openid": "o-alice"})).await;
    let e = wechat(&sb, "wrong").jscode2session(&code).await.unwrap_err();
    assert!(matches!(e, WeChatError::Api { code: WeChatErrorCode::Other(40125), .. }), "{e:?}");

    // Access token: stable unless forced; a message is recorded for the user.
    let t1 = wx.stable_token(false).await.unwrap();
    let t2 = wx.stable_token(false).await.unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(t1.token.expose_secret(), t2.token.expose_secret());
    assert!(t1.expires_in > 7000 && t1.expires_in <= 7200);
    let t3 = wx.stable_token(true).await.unwrap();
    assert_ne!(t1.token.expose_secret(), t3.token.expose_secret());
    let msg = SubscribeMessage {
        touser: "o-alice".into(),
        template_id: "TPL-binding-reset".into(),
        page: Some("pages/me/index".into()),
        miniprogram_state: Some("developer".into()),
        lang: Some("zh_CN".into()),
        data: [("thing1".to_string(), TemplateValue { value: "设备绑定已重置".into() })].into_iter().collect(),
    };
    wx.send_subscribe_message(&t3, &msg).await.unwrap();
    let bogus = linli_identity::wechat::AccessToken { token: "nope".to_string().into(), expires_in: 1 };
    let e = wx.send_subscribe_message(&bogus, &msg).await.unwrap_err();
    assert!(matches!(e, WeChatError::Api { code: WeChatErrorCode::Other(40001), .. }), "{e:?}");
    let v: serde_json::Value =
        http().get(format!("{}/sandbox/wechat/messages?openid=o-alice", sb.base_url())).send().await.unwrap().json().await.unwrap();
    let list = v["messages"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["template_id"], "TPL-binding-reset");
    assert_eq!(list[0]["data"]["thing1"]["value"], "设备绑定已重置");
    sb.stop().await;
}

fn keys() -> PathBuf {
    repo_fixtures().join("test-keys")
}

fn registry_client(sb: &Sandbox) -> HttpsRegistryClient {
    let read = |f: &str| std::fs::read(keys().join(f)).unwrap();
    HttpsRegistryClient::new(&sb.registry_url().unwrap(), &read("test-ca.pem"), &read("test-registry-client.pem"), &read("test-registry-client.key")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_over_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path()).await;
    let client = registry_client(&sb);
    let alice = IdNumber::parse(ALICE).unwrap();
    let carol = IdNumber::parse(CAROL).unwrap();
    let q = |id: &'static IdNumber, name: &'static str, unit: &'static str| OwnershipQuery { id_number: id, name, community: "T-0001", building: "B01", unit };
    let alice: &'static IdNumber = Box::leak(Box::new(alice));
    let carol: &'static IdNumber = Box::leak(Box::new(carol));

    let a = client.check_ownership(q(alice, "张三", "0101")).await.unwrap();
    assert!(a.confirms_owner(), "{a:?}");
    assert_eq!(a.exclusive_area_centi_m2, Some(8935));
    assert_eq!(a.area_source.as_deref(), Some("register"));
    // Not an owner of this unit.
    let a = client.check_ownership(q(carol, "王五", "0101")).await.unwrap();
    assert!(!a.owner && !a.confirms_owner());
    // Owner, but the name is not the registered one.
    let a = client.check_ownership(q(alice, "张四", "0101")).await.unwrap();
    assert!(a.owner && !a.name_matches && !a.confirms_owner());
    // Unknown unit.
    let a = client.check_ownership(q(alice, "张三", "9999")).await.unwrap();
    assert!(!a.owner && a.exclusive_area_centi_m2.is_none());

    // Without a client certificate the TLS handshake is refused.
    let ca = std::fs::read(keys().join("test-ca.pem")).unwrap();
    let tls = linli_identity::http_util::rustls_client_config(&ca, None).unwrap();
    let anon = HttpsRegistryClient::with_client(reqwest::Client::builder().use_preconfigured_tls(tls).build().unwrap(), &sb.registry_url().unwrap());
    let e = anon.check_ownership(q(alice, "张三", "0101")).await.unwrap_err();
    assert!(matches!(e, RegistryError::Transport(_)), "{e:?}");

    // A client certificate from another CA is refused too.
    let other = tempfile::tempdir().unwrap();
    let o = other.path();
    let run = |args: &[&str]| assert!(std::process::Command::new("openssl").args(args).current_dir(o).status().unwrap().success());
    run(&["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=rogue", "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
    run(&["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "c.key", "-out", "c.csr", "-subj", "/CN=rogue-client"]);
    std::fs::write(o.join("ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    run(&["x509", "-req", "-in", "c.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "c.pem"]);
    let rogue = HttpsRegistryClient::new(&sb.registry_url().unwrap(), &ca, &std::fs::read(o.join("c.pem")).unwrap(), &std::fs::read(o.join("c.key")).unwrap()).unwrap();
    let e = rogue.check_ownership(q(alice, "张三", "0101")).await.unwrap_err();
    assert!(matches!(e, RegistryError::Transport(_)), "{e:?}");
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persons_control_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path()).await;
    let v: serde_json::Value = http().get(format!("{}/sandbox/persons", sb.base_url())).send().await.unwrap().json().await.unwrap();
    let persons = v["persons"].as_array().unwrap();
    assert_eq!(persons.len(), 2);
    assert_eq!(persons[0]["id_number"], ALICE);
    assert_eq!(persons[0]["name"], "张三");
    assert_eq!(persons[0]["units"][0]["unit"], "0101");
    assert_eq!(persons[0]["face_image"], "faces/face-01.png");
    let path = persons[0]["face_image_path"].as_str().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), face_bytes("face-01.png"));
    sb.stop().await;
}

/// The four factors through the same calls, in the same order, as the server's handlers make them (upload
/// validation → attempt limit → provider; registry answer → rule event; CSR → certificate; PIN policy → hash),
/// each feeding the enrollment rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_four_factors_complete_an_enrollment() {
    use linli_identity::enrollment::{Enrollment, EnrollmentEvent, EnrollmentState, check_face_attempts, registry_answer_event};
    use linli_identity::pin::{Pin, check_policy};
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path()).await;
    let creds = Credentials::default();
    let faceid = face_client(&sb, &creds.faceid_secret_id, &creds.faceid_secret_key);
    let registry = registry_client(&sb);
    let alice = IdNumber::parse(ALICE).unwrap();
    let now = chrono::Utc::now();

    let mut e = Enrollment::start("consent-v1", "consent-v1", now).unwrap();
    let step = |e: &mut Enrollment, ev: EnrollmentEvent| {
        *e = e.apply(ev, now).unwrap().0;
    };
    step(&mut e, EnrollmentEvent::FaceConsentGiven { version: "face-v1".into() });

    // Face: an HTML upload is refused before any attempt; the fourth attempt of the day is refused.
    assert_eq!(normalize_image(b"<html></html>", &ImagePolicy::SELFIE).unwrap_err().code(), "image_unsupported_format");
    assert_eq!(check_face_attempts(3).unwrap_err().code(), "enrollment_face_attempts_exhausted");
    check_face_attempts(2).unwrap();
    let image = normalize_image(&face_bytes("face-01.png"), &ImagePolicy::SELFIE).unwrap();
    let outcome = faceid.verify(FaceMatchRequest { id_number: &alice, name: "张三", image: &image }).await.unwrap();
    assert!(outcome.passed && image.sha256_hex().len() == 64);
    step(
        &mut e,
        EnrollmentEvent::FaceChecked {
            passed: outcome.passed,
            score: outcome.score,
            request_id: outcome.request_id,
            image_sha256: image.sha256_hex(),
        },
    );

    // Registry.
    let q = OwnershipQuery { id_number: &alice, name: "张三", community: "T-0001", building: "B01", unit: "0101" };
    let answer = registry.check_ownership(q).await.unwrap();
    let ev = registry_answer_event(&answer, true);
    assert_eq!(ev, EnrollmentEvent::RegistryConfirmed { registered_area_centi_m2: Some(8935) });
    assert_eq!(answer.area_source.as_deref(), Some("register"));
    step(&mut e, ev);

    // PIN before the device is refused by the rules.
    assert_eq!(e.apply(EnrollmentEvent::PinSet, now).unwrap_err().code(), "enrollment_pin_not_last");

    // Device.
    let ca = linli_identity::ca::DeviceCa::generate("test", now).unwrap();
    let key = linli_identity::device_key::DeviceKey::generate().unwrap();
    let openid_key = linli_identity::SecretKey::from_bytes([9; 32]);
    let account = uuid::Uuid::now_v7();
    let csr = linli_identity::csr::parse_csr_pem(&key.csr_pem("x").unwrap()).unwrap();
    let request = linli_identity::ca::DeviceCertificateRequest { account_id: account, device_fingerprint: "install-1", openid: "o-alice" };
    let issued = ca.issue_device_certificate(&csr, &request, &openid_key, now).unwrap();
    assert_eq!(issued.wx_uri, linli_identity::ca::wx_uri(&openid_key, "o-alice"));
    step(&mut e, EnrollmentEvent::DeviceBound { cert_serial: issued.serial_hex.clone() });

    // PIN: trivial ones refused, then set; the enrollment is complete.
    assert_eq!(check_policy(&Pin::parse("123456").unwrap(), Some(&alice)).unwrap_err().code(), "pin_sequence");
    assert!(check_policy(&Pin::parse("491231").unwrap(), Some(&alice)).is_err());
    let hasher = linli_identity::PinHasher::with_params(linli_identity::SecretKey::from_bytes([1; 32]), 256, 1).unwrap();
    let pin = Pin::parse("385172").unwrap();
    check_policy(&pin, Some(&alice)).unwrap();
    let phc = hasher.hash(&pin).unwrap();
    assert!(hasher.verify(&Pin::parse("385172").unwrap(), &phc).unwrap());
    step(&mut e, EnrollmentEvent::PinSet);
    assert_eq!(e.state, EnrollmentState::Completed);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soter_signature_made_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path()).await;
    let wx = wechat(&sb, &Credentials::default().wechat_secret);
    let token = wx.stable_token(false).await.unwrap();
    let k = tempfile::tempdir().unwrap();
    let d = k.path();
    let run = |args: &[&str]| assert!(std::process::Command::new("openssl").args(args).current_dir(d).status().unwrap().success());
    run(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "soter.key"]);
    run(&["pkey", "-in", "soter.key", "-pubout", "-out", "soter.pub"]);
    let pem = std::fs::read_to_string(d.join("soter.pub")).unwrap();
    let r = http()
        .post(format!("{}/sandbox/wechat/soter-keys", sb.base_url()))
        .json(&serde_json::json!({"openid": "o-alice", "public_key_pem": pem}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let json = r#"{"raw":"enroll-42","fid":"2","counter":7,"tee_n":"T","tee_v":"1","fp_n":"F","fp_v":"1","cpu_id":"cpu-0001","uid":"10086"}"#;
    std::fs::write(d.join("json.txt"), json).unwrap();
    let sign = |salt: &str, out: &str| {
        let saltopt = format!("rsa_pss_saltlen:{salt}");
        run(&["dgst", "-sha256", "-sign", "soter.key", "-sigopt", "rsa_padding_mode:pss", "-sigopt", &saltopt, "-out", out, "json.txt"]);
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(d.join(out)).unwrap())
    };
    let sig20 = sign("20", "s20.bin");
    assert!(wx.soter_verify_signature(&token, "o-alice", json, &sig20).await.unwrap());
    assert_eq!(linli_identity::wechat::soter_device_fingerprint(json).as_deref(), Some("soter:cpu-0001:10086"));
    // Altered JSON, another user, the wrong salt length: refused.
    assert!(!wx.soter_verify_signature(&token, "o-alice", &json.replace("10086", "10087"), &sig20).await.unwrap());
    assert!(!wx.soter_verify_signature(&token, "o-bob", json, &sig20).await.unwrap());
    let sig32 = sign("32", "s32.bin");
    assert!(!wx.soter_verify_signature(&token, "o-alice", json, &sig32).await.unwrap());
    sb.stop().await;
}
