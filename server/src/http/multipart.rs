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
