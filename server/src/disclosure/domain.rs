//! Disclosure items as plain data (Civil Code art. 943; DESIGN §6): category from configuration, title, period,
//! body, attachments (PDF, PNG or JPEG, each by SHA-256), and the item it corrects. An item is never edited; a
//! correction is a new item naming the one it corrects.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

pub const MAX_ATTACHMENTS: usize = 10;
pub const MAX_ATTACHMENT_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_TOTAL_BYTES: usize = 10 * 1024 * 1024;
/// The request body: the attachments in base64 plus the text.
pub const MAX_BODY_BYTES: usize = 14 * 1024 * 1024;

/// Categories published by the platform itself, never by hand.
pub const AUTOMATIC: [&str; 2] = ["monthly_statement", "fund_event"];

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentInput {
    /// 1–120 characters, shown to owners.
    pub file_name: String,
    /// The file, base64 (PDF, PNG or JPEG, at most 4 MiB).
    pub content_base64: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    /// One of the community's configured categories (`[disclosure] categories`).
    pub category: String,
    pub title: String,
    /// What the item covers, e.g. `2026-11` or `2026`; free text of at most 40 characters.
    #[serde(default)]
    pub period: Option<String>,
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<AttachmentInput>,
    /// The earlier item of this community this one corrects.
    #[serde(default)]
    pub corrects: Option<Uuid>,
}

/// An attachment as listed in the item (and hashed into its log entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttachmentMeta {
    pub position: usize,
    pub file_name: String,
    /// pdf, png or jpeg.
    pub kind: String,
    /// hex SHA-256 of the file.
    pub sha256: String,
    pub size_bytes: usize,
}

/// An item that passed every check, with its files decoded.
#[derive(Debug, Clone)]
pub struct ValidItem {
    pub category: String,
    pub title: String,
    pub period: Option<String>,
    pub body: String,
    pub attachments: Vec<(AttachmentMeta, Vec<u8>)>,
    pub corrects: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("the category is not one of the community's")]
    Category,
    #[error("this category is published automatically")]
    Automatic,
    #[error("{0}")]
    Text(&'static str),
    #[error("attachment {0}: {1}")]
    Attachment(usize, &'static str),
    #[error("at most {MAX_ATTACHMENTS} attachments of together at most 10 MiB")]
    TooMany,
}

fn text_ok(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    n >= 1 && n <= max && s.trim() == s && !s.chars().any(|c| c.is_control() && c != '\n')
}

/// The kind of a file from its first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else {
        None
    }
}

pub fn validate(input: &ItemInput, categories: &[String]) -> Result<ValidItem, ItemError> {
    if AUTOMATIC.contains(&input.category.as_str()) {
        return Err(ItemError::Automatic);
    }
    if !categories.contains(&input.category) {
        return Err(ItemError::Category);
    }
    if !text_ok(&input.title, 200) {
        return Err(ItemError::Text("the title is 1–200 characters"));
    }
    if !text_ok(&input.body, 50_000) {
        return Err(ItemError::Text("the body is 1–50000 characters"));
    }
    if input.period.as_deref().is_some_and(|p| !text_ok(p, 40)) {
        return Err(ItemError::Text("the period is 1–40 characters"));
    }
    if input.attachments.len() > MAX_ATTACHMENTS {
        return Err(ItemError::TooMany);
    }
    let mut attachments = Vec::with_capacity(input.attachments.len());
    let mut total = 0usize;
    for (i, a) in input.attachments.iter().enumerate() {
        if !crate::governance::domain::valid_attachment_name(&a.file_name) {
            return Err(ItemError::Attachment(i, "the file name is 1–120 characters without path separators"));
        }
        let bytes = B64.decode(&a.content_base64).map_err(|_| ItemError::Attachment(i, "not base64"))?;
        if bytes.is_empty() || bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(ItemError::Attachment(i, "a file is 1 byte to 4 MiB"));
        }
        total += bytes.len();
        if total > MAX_TOTAL_BYTES {
            return Err(ItemError::TooMany);
        }
        let kind = sniff(&bytes).ok_or(ItemError::Attachment(i, "not a PDF, PNG or JPEG file"))?;
        let meta = AttachmentMeta {
            position: i,
            file_name: a.file_name.clone(),
            kind: kind.to_owned(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            size_bytes: bytes.len(),
        };
        attachments.push((meta, bytes));
    }
    Ok(ValidItem {
        category: input.category.clone(),
        title: input.title.clone(),
        period: input.period.clone(),
        body: input.body.clone(),
        attachments,
        corrects: input.corrects,
    })
}

/// The item's log entry: everything shown to owners, the files by hash.
pub fn entry(
    id: Uuid,
    community: Uuid,
    item: &ValidItem,
    publisher: &str,
    published_at: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    serde_json::json!({
        "kind": "disclosure",
        "id": id,
        "community_id": community,
        "category": item.category,
        "title": item.title,
        "period": item.period,
        "body": item.body,
        "attachments": item.attachments.iter().map(|(m, _)| m).collect::<Vec<_>>(),
        "corrects": item.corrects,
        "publisher": publisher,
        "published_at": published_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cats() -> Vec<String> {
        ["service_contract", "fee_items"].map(String::from).to_vec()
    }

    fn item(category: &str) -> ItemInput {
        ItemInput {
            category: category.into(),
            title: "物业服务合同".into(),
            period: Some("2026".into()),
            body: "全文及附件".into(),
            attachments: vec![AttachmentInput { file_name: "合同.pdf".into(), content_base64: B64.encode(b"%PDF-1.7 test") }],
            corrects: None,
        }
    }

    #[test]
    fn categories_come_from_configuration_and_automatic_ones_are_refused() {
        assert!(validate(&item("service_contract"), &cats()).is_ok());
        assert_eq!(validate(&item("gossip"), &cats()).unwrap_err(), ItemError::Category);
        assert_eq!(validate(&item("monthly_statement"), &cats()).unwrap_err(), ItemError::Automatic);
    }

    #[test]
    fn attachments_are_sniffed_hashed_and_bounded() {
        let ok = validate(&item("service_contract"), &cats()).unwrap();
        assert_eq!(ok.attachments[0].0.kind, "pdf");
        assert_eq!(ok.attachments[0].0.sha256, hex::encode(Sha256::digest(b"%PDF-1.7 test")));
        let mut bad = item("service_contract");
        bad.attachments[0].content_base64 = B64.encode(b"<html>");
        assert!(matches!(validate(&bad, &cats()), Err(ItemError::Attachment(0, _))));
        bad.attachments[0].content_base64 = "***".into();
        assert!(matches!(validate(&bad, &cats()), Err(ItemError::Attachment(0, "not base64"))));
        let mut many = item("service_contract");
        many.attachments = (0..11).map(|i| AttachmentInput { file_name: format!("{i}.png"), content_base64: B64.encode(b"\x89PNG\r\n\x1a\nx") }).collect();
        assert_eq!(validate(&many, &cats()).unwrap_err(), ItemError::TooMany);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("jpeg"));
    }

    #[test]
    fn the_entry_names_the_corrected_item_and_the_files_by_hash() {
        let mut input = item("fee_items");
        let old = Uuid::now_v7();
        input.corrects = Some(old);
        let v = validate(&input, &cats()).unwrap();
        let e = entry(Uuid::now_v7(), Uuid::now_v7(), &v, "app:x", chrono::Utc::now());
        assert_eq!(e["corrects"], serde_json::json!(old));
        assert_eq!(e["attachments"][0]["sha256"], v.attachments[0].0.sha256);
        assert!(e["attachments"][0].get("content_base64").is_none());
    }
}
