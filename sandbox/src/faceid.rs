//! Tencent Cloud FaceID stand-in: `POST /` with `X-TC-Action: ImageRecognitionV2`, `X-TC-Version: 2018-03-01`.
//! The TC3-HMAC-SHA256 `Authorization` header is checked the way Tencent Cloud API 3.0 documents it; failures
//! come back in Tencent's error shape (`{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`, HTTP 200).
//! Scores compare the upload with the person's reference image (`fixtures/faces/` for the 20 committed persons, else
//! derived from the ID number by `crate::faces`): Pearson correlation of 16x16 grayscale box-averaged thumbnails,
//! times 100 (survives re-encoding; unrelated images score near 0).

use crate::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const ACTION: &str = "ImageRecognitionV2";
const VERSION: &str = "2018-03-01";
const SERVICE: &str = "faceid";
const MAX_SKEW_SECONDS: u64 = 300;
/// Tencent's own pass mark for `Result: Success`.
const PASS_SIM: f64 = 70.0;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::post().to(image_recognition));
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC-SHA256 takes keys of any length; new_from_slice cannot fail for it.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn error(code: &str, message: &str) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "Response": { "Error": { "Code": code, "Message": message }, "RequestId": uuid_like() }
    }))
}

fn uuid_like() -> String {
    let b: [u8; 16] = rand::random();
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Checks the TC3 signature. Err = (Tencent error code, message).
#[allow(clippy::too_many_arguments)] // each argument is one input of the documented algorithm
pub fn check_tc3(
    headers: &actix_web::http::header::HeaderMap,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
    secret_id: &str,
    secret_key: &str,
    now: i64,
) -> Result<(), (&'static str, String)> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let invalid = |m: &str| ("AuthFailure.InvalidAuthorization", m.to_owned());
    let auth = h("authorization").ok_or_else(|| invalid("Authorization header missing"))?;
    let rest = auth.strip_prefix("TC3-HMAC-SHA256 ").ok_or_else(|| invalid("algorithm must be TC3-HMAC-SHA256"))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or_else(|| invalid("malformed Authorization"))?;
        match k {
            "Credential" => credential = Some(v.to_owned()),
            "SignedHeaders" => signed_headers = Some(v.to_owned()),
            "Signature" => signature = Some(v.to_owned()),
            _ => return Err(invalid("unknown Authorization field")),
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature) else {
        return Err(invalid("Credential, SignedHeaders and Signature are required"));
    };
    let parts: Vec<&str> = credential.split('/').collect();
    let [cred_id, date, service, terminator] = parts.as_slice() else {
        return Err(invalid("Credential must be SecretId/Date/Service/tc3_request"));
    };
    if *terminator != "tc3_request" {
        return Err(invalid("credential scope must end in tc3_request"));
    }
    if *cred_id != secret_id {
        return Err(("AuthFailure.SecretIdNotFound", "the SecretId does not exist".into()));
    }
    if *service != SERVICE {
        return Err(invalid("the service in the credential scope does not match the endpoint"));
    }
    let ts = h("x-tc-timestamp")
        .and_then(|t| crate::parse_unix_secs(&t))
        .ok_or_else(|| ("MissingParameter", "X-TC-Timestamp is required".to_owned()))?;
    if now.abs_diff(ts) > MAX_SKEW_SECONDS {
        return Err(("AuthFailure.SignatureExpire", "the signature has expired (timestamp skew over 5 minutes)".into()));
    }
    let expected_date = chrono::DateTime::from_timestamp(ts, 0).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    if *date != expected_date {
        return Err(invalid("the credential date is not the UTC date of X-TC-Timestamp"));
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"content-type") || !names.contains(&"host") {
        return Err(invalid("SignedHeaders must include content-type and host"));
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    if sorted != names || names.iter().any(|n| n.is_empty() || n.to_ascii_lowercase() != *n) {
        return Err(invalid("SignedHeaders must be lower-case and sorted"));
    }
    let mut canonical_headers = String::new();
    for n in &names {
        let v = h(n).ok_or_else(|| invalid("a signed header is missing from the request"))?;
        canonical_headers.push_str(&format!("{}:{}\n", n, v.trim().to_ascii_lowercase()));
    }
    let canonical_request = format!(
        "{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{}",
        hex::encode(Sha256::digest(body))
    );
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{ts}\n{date}/{service}/tc3_request\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac(&k_date, service.as_bytes());
    let k_signing = hmac(&k_service, b"tc3_request");
    let expected = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    use subtle::ConstantTimeEq;
    if bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        Ok(())
    } else {
        Err(("AuthFailure.SignatureFailure", "the provided credentials could not be validated; check the signature".into()))
    }
}

/// 16x16 box-averaged luma (BT.601) thumbnail of a JPEG or PNG, decoded with explicit limits.
pub fn thumbnail(bytes: &[u8]) -> anyhow::Result<[f64; 256]> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(8192);
    limits.max_image_height = Some(8192);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode()?.to_rgb8();
    if img.width() < 16 || img.height() < 16 {
        anyhow::bail!("image smaller than 16x16");
    }
    Ok(thumbnail_of(&img))
}

/// 16x16 box-averaged luma (BT.601) thumbnail of a decoded image at least 16 pixels wide and high.
pub fn thumbnail_of(img: &image::RgbImage) -> [f64; 256] {
    let (w, h) = img.dimensions();
    let mut out = [0f64; 256];
    for by in 0..16u32 {
        for bx in 0..16u32 {
            let (x0, x1) = (bx * w / 16, (bx + 1) * w / 16);
            let (y0, y1) = (by * h / 16, (by + 1) * h / 16);
            let mut sum = 0f64;
            for y in y0..y1 {
                for x in x0..x1 {
                    let p = img.get_pixel(x, y).0;
                    sum += 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
                }
            }
            out[(by * 16 + bx) as usize] = sum / f64::from(((x1 - x0) * (y1 - y0)).max(1));
        }
    }
    out
}

/// 100 × Pearson correlation, clamped to 0–100, two decimals.
pub fn similarity(a: &[f64; 256], b: &[f64; 256]) -> f64 {
    let ma = a.iter().sum::<f64>() / 256.0;
    let mb = b.iter().sum::<f64>() / 256.0;
    let (mut num, mut da, mut db) = (0f64, 0f64, 0f64);
    for i in 0..256 {
        num += (a[i] - ma) * (b[i] - mb);
        da += (a[i] - ma).powi(2);
        db += (b[i] - mb).powi(2);
    }
    if da == 0.0 || db == 0.0 {
        return 0.0;
    }
    ((num / (da.sqrt() * db.sqrt())).clamp(0.0, 1.0) * 10000.0).round() / 100.0
}

#[derive(serde::Deserialize)]
struct Request {
    #[serde(rename = "IdCard")]
    id_card: Option<String>,
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "ImageBase64")]
    image_base64: Option<String>,
}

fn outcome(sim: f64, result: &str, description: &str) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "Response": { "Sim": sim, "Result": result, "Description": description, "RequestId": uuid_like() }
    }))
}

async fn image_recognition(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let creds = &state.credentials;
    let now = chrono::Utc::now().timestamp();
    if let Err((code, msg)) = check_tc3(
        req.headers(),
        req.method().as_str(),
        req.path(),
        req.query_string(),
        &body,
        &creds.faceid_secret_id,
        &creds.faceid_secret_key,
        now,
    ) {
        return error(code, &msg);
    }
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    if header("x-tc-action") != ACTION {
        return error("InvalidAction", "the action does not exist");
    }
    if header("x-tc-version") != VERSION {
        return error("NoSuchVersion", "the API version does not exist");
    }
    let Ok(r) = serde_json::from_slice::<Request>(&body) else {
        return error("InvalidParameter", "the request body is not valid JSON");
    };
    let (Some(id_card), Some(name), Some(image)) = (r.id_card, r.name, r.image_base64) else {
        return error("MissingParameter", "IdCard, Name and ImageBase64 are required");
    };
    // Every person owner of the register has a reference image (committed or derived from the ID number); the
    // sandbox knows no one else, so any other ID number cannot match the name.
    let Some((reference_name, reference)) = state.data.reference(&id_card) else {
        return outcome(0.0, "FailedOperation.IdNameMisMatch", "身份证号码与姓名不符");
    };
    if reference_name != name {
        return outcome(0.0, "FailedOperation.IdNameMisMatch", "身份证号码与姓名不符");
    }
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(image.as_bytes()) else {
        return outcome(0.0, "FailedOperation.ImageDecodeFailed", "图片解码失败");
    };
    let Ok(thumb) = thumbnail(&bytes) else {
        return outcome(0.0, "FailedOperation.ImageDecodeFailed", "图片解码失败");
    };
    let sim = similarity(&thumb, &reference);
    if sim >= PASS_SIM {
        outcome(sim, "Success", "成功")
    } else {
        outcome(sim, "FailedOperation.CompareLowSimilarity", "比对相似度未达到通过标准")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(n: u32) -> [f64; 256] {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/faces/face-{n:02}.png"));
        thumbnail(&std::fs::read(p).unwrap()).unwrap()
    }

    #[test]
    fn every_reference_face_is_far_from_every_other() {
        let faces: Vec<_> = (1..=20).map(face).collect();
        for (i, a) in faces.iter().enumerate() {
            assert_eq!(similarity(a, a), 100.0);
            for b in &faces[i + 1..] {
                assert!(similarity(a, b) < 40.0, "faces {} and another score {}", i + 1, similarity(a, b));
            }
        }
    }

    #[test]
    fn a_timestamp_whose_skew_overflows_is_expired_not_a_panic() {
        use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
        let now: i64 = 1_800_000_000;
        for ts in [now.wrapping_add(i64::MIN), i64::MAX, now + 301] {
            let mut headers = HeaderMap::new();
            let auth = "TC3-HMAC-SHA256 Credential=AKID/2027-01-15/faceid/tc3_request, SignedHeaders=content-type;host, Signature=00";
            headers.insert(HeaderName::from_static("authorization"), HeaderValue::from_static(auth));
            headers.insert(HeaderName::from_static("x-tc-timestamp"), HeaderValue::from_str(&ts.to_string()).unwrap());
            let refused = check_tc3(&headers, "POST", "/", "", b"{}", "AKID", "key", now).unwrap_err().0;
            assert!(matches!(refused, "MissingParameter" | "AuthFailure.SignatureExpire"), "{ts}: {refused}");
        }
    }

    #[test]
    fn a_constant_image_scores_zero() {
        assert_eq!(similarity(&[7.0; 256], &face(1)), 0.0);
    }
}
