//! Reading `multipart/form-data` uploads with limits: every field is known in advance with its own byte limit,
//! checked while streaming, so nothing beyond the limit is ever buffered.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use futures_util::TryStreamExt;

use crate::error::ApiError;

/// One expected field and the most bytes it may carry.
#[derive(Debug, Clone, Copy)]
pub struct FieldLimit {
    pub name: &'static str,
    pub max_bytes: usize,
}

/// Reads the fields of `spec`. An unknown field, more than twice as many fields as expected, or a malformed body
/// is a 400; a field beyond its limit is a 413 with `too_large_code`. Missing fields are simply absent.
pub async fn read_fields(
    mut payload: Multipart,
    spec: &[FieldLimit],
    too_large_code: &'static str,
) -> Result<BTreeMap<&'static str, Vec<u8>>, ApiError> {
    let bad = |code, title| ApiError::new(StatusCode::BAD_REQUEST, code, title);
    let mut out = BTreeMap::new();
    let mut fields = 0;
    while let Some(mut field) =
        payload.try_next().await.map_err(|_| bad("multipart_malformed", "The multipart body is malformed"))?
    {
        fields += 1;
        if fields > 2 * spec.len() {
            return Err(bad("multipart_too_many_fields", "Too many multipart fields"));
        }
        let name = field.name().unwrap_or_default();
        let Some(limit) = spec.iter().find(|f| f.name == name).copied() else {
            return Err(bad("multipart_unknown_field", "Unknown multipart field"));
        };
        let mut bytes = Vec::new();
        while let Some(chunk) =
            field.try_next().await.map_err(|_| bad("multipart_malformed", "The multipart body is malformed"))?
        {
            if bytes.len() + chunk.len() > limit.max_bytes {
                return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, too_large_code, "The upload is too large"));
            }
            bytes.extend_from_slice(&chunk);
        }
        out.insert(limit.name, bytes);
    }
    Ok(out)
}

/// A text field as UTF-8, or a 400.
pub fn text_field(bytes: Vec<u8>) -> Result<String, ApiError> {
    String::from_utf8(bytes)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "multipart_malformed", "A text field is not UTF-8"))
}

/// Validates an uploaded scan of a signed paper (property certificate, written proxy) off the async threads: JPEG
/// and PNG are re-encoded, a PDF is checked for active content. Call it only once the caller is authorised and the
/// target accepts the upload: it counts against the account's decode budget and waits for a decode slot
/// ([`UploadGate`](crate::upload_gate::UploadGate)). A refused scan is a 415, 413 or 422 with the upload
/// rule's code, and changes nothing.
pub async fn paper_scan(
    state: &crate::app::AppState,
    account: uuid::Uuid,
    upload: Vec<u8>,
    title: &'static str,
) -> Result<linli_identity::upload::CertificateScan, ApiError> {
    use linli_identity::upload::validate_certificate_scan;
    state.uploads.admit(&state.redis, account).await?;
    state.uploads.decode(move || validate_certificate_scan(&upload)).await?.map_err(|e| upload_refused(e, title))
}

/// The problem for an upload the validation rules refused.
pub fn upload_refused(e: linli_identity::upload::UploadError, title: &'static str) -> ApiError {
    use linli_identity::upload::UploadError;
    let status = match e {
        UploadError::UnsupportedFormat => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        UploadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.code(), title)
}

/// A stored scan served to the staff member who reviews it: a download, never cached or sniffed.
pub fn scan_download(kind: linli_identity::upload::ScanKind, file_stem: &str, bytes: Vec<u8>) -> actix_web::HttpResponse {
    use actix_web::http::header;
    actix_web::HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind.mime()))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_stem}.{}\"", kind.as_str())))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes)
}
