//! A document upload's options (`title`, `url`, `audience`, `metadata` from the query), the
//! public document object built from a stored row, and the rule that makes a re-upload a no-op.

use serde_json::{json, Map, Value};

use crate::audience::Audience;
use crate::chunk::ChunkSpec;
use crate::error::KnowledgeError;
use crate::ids::KbName;

/// The longest `title`, in characters.
pub const MAX_TITLE_CHARS: usize = 300;
/// The longest `url`, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// The largest `metadata` object, in bytes of JSON.
pub const MAX_METADATA_BYTES: usize = 2048;

/// What an upload says about its document besides the text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadMeta {
    pub title: Option<String>,
    pub url: Option<String>,
    pub audience: Option<Audience>,
    /// A JSON object, stored as given.
    pub metadata: Option<Map<String, Value>>,
}

fn invalid(field: &'static str, message: String) -> KnowledgeError {
    KnowledgeError::InvalidField { field, message }
}

impl UploadMeta {
    /// Reads the decoded query pairs of an upload. Unknown names are refused (a typo must not
    /// silently drop an audience); each name at most once; blank values are absent.
    pub fn parse(pairs: &[(String, String)]) -> Result<UploadMeta, KnowledgeError> {
        let mut meta = UploadMeta::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs {
            let field: &'static str = match name.as_str() {
                "title" => "title",
                "url" => "url",
                "audience" => "audience",
                "metadata" => "metadata",
                other => {
                    return Err(invalid(
                        "query",
                        format!(
                        "unknown query parameter `{other}`: use title, url, audience or metadata"
                    ),
                    ))
                }
            };
            if seen.contains(&field) {
                return Err(invalid(field, format!("`{field}` is given more than once")));
            }
            seen.push(field);
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match field {
                "title" => meta.title = Some(title(value)?),
                "url" => meta.url = Some(url(value)?),
                "audience" => {
                    let groups: Vec<&str> = value.split(',').map(str::trim).collect();
                    meta.audience = Some(Audience::parse(&groups)?);
                }
                _ => meta.metadata = Some(metadata(value)?),
            }
        }
        Ok(meta)
    }

    /// The audience as stored: a JSON array of its groups, or `None` for everyone.
    pub fn audience_json(&self) -> Option<String> {
        self.audience.as_ref().map(audience_json)
    }

    /// The metadata as stored (compact JSON), or `None`.
    pub fn metadata_json(&self) -> Option<String> {
        self.metadata
            .as_ref()
            .map(|m| Value::Object(m.clone()).to_string())
    }
}

/// An audience as stored: a JSON array of its sorted groups.
pub fn audience_json(audience: &Audience) -> String {
    let groups: Vec<&str> = audience.groups().iter().map(|g| g.as_str()).collect();
    json!(groups).to_string()
}

/// An audience read back from its stored JSON (`None`: everyone, or unreadable).
pub fn audience_from_json(stored: Option<&str>) -> Option<Audience> {
    let groups: Vec<String> = serde_json::from_str(stored?).ok()?;
    Audience::parse(&groups).ok()
}

fn title(value: &str) -> Result<String, KnowledgeError> {
    let flat = value.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = flat.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Err(invalid(
            "title",
            format!("title is {chars} characters; at most {MAX_TITLE_CHARS}"),
        ));
    }
    Ok(flat)
}

fn url(value: &str) -> Result<String, KnowledgeError> {
    let chars = value.chars().count();
    let scheme = value.starts_with("https://") || value.starts_with("http://");
    let host = value.split_once("://").map_or("", |(_, rest)| rest);
    if !scheme || host.is_empty() || host.starts_with('/') {
        return Err(invalid(
            "url",
            "url must start with http:// or https:// and name a host".to_string(),
        ));
    }
    if chars > MAX_URL_CHARS || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "url",
            format!("url must be at most {MAX_URL_CHARS} characters, without spaces"),
        ));
    }
    Ok(value.to_string())
}

fn metadata(value: &str) -> Result<Map<String, Value>, KnowledgeError> {
    if value.len() > MAX_METADATA_BYTES {
        return Err(invalid(
            "metadata",
            format!(
                "metadata is {} bytes; at most {MAX_METADATA_BYTES}",
                value.len()
            ),
        ));
    }
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid(
            "metadata",
            "metadata must be a JSON object".to_string(),
        )),
        Err(e) => Err(invalid("metadata", format!("metadata is not JSON: {e}"))),
    }
}

/// A stored document row (D1's column names) as the API shows it.
pub fn document_json(kb: &KbName, row: &Value) -> Value {
    let text = |k: &str| {
        row.get(k)
            .filter(|v| v.is_string())
            .cloned()
            .unwrap_or(Value::Null)
    };
    let int = |k: &str| row.get(k).and_then(Value::as_i64).unwrap_or(0);
    let parsed = |k: &str| {
        row.get(k)
            .and_then(Value::as_str)
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .unwrap_or(Value::Null)
    };
    json!({
        "kb": kb.as_str(),
        "docId": text("doc_id"),
        "state": text("state"),
        "reason": text("reason"),
        "title": text("title"),
        "url": text("url"),
        "audience": parsed("audience"),
        "metadata": parsed("metadata"),
        "contentType": text("content_type"),
        "bytes": int("bytes"),
        "contentHash": text("content_hash"),
        "chunks": int("chunks"),
        "version": int("version"),
        "embeddingTokens": int("embedding_tokens"),
        "createdAt": text("created_at"),
        "updatedAt": text("updated_at"),
        "indexedAt": text("indexed_at"),
    })
}

/// What an upload of a document that may already be stored does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reupload {
    /// A new version: stored and queued.
    New,
    /// The same document, `ready` or `indexing` under the same index settings: nothing to do.
    Unchanged,
    /// The same document, still `queued` and never run (its job may have been lost): its job
    /// is sent again. One waiting for a scheduled retry (`attempts` > 0) is `Unchanged`, so
    /// no second chain of runs starts.
    Requeue,
}

/// The index settings a document's vectors depend on (embedding model, dimensions, chunking),
/// as stored with it: a change re-indexes an identical upload.
pub fn index_settings(model: &str, dimensions: u32, spec: ChunkSpec) -> String {
    format!(
        "{model}|{dimensions}|{}|{}",
        spec.max_tokens(),
        spec.overlap_tokens()
    )
}

/// Decides an upload against the stored row (`None`: no such document). The same document is
/// the same text (content hash), title, url, audience, metadata and index settings; a
/// `failed` one is always tried again.
pub fn reupload(
    row: Option<&Value>,
    content_hash: &str,
    settings: &str,
    meta: &UploadMeta,
) -> Reupload {
    let Some(row) = row else {
        return Reupload::New;
    };
    let s = |k: &str| row.get(k).and_then(Value::as_str);
    let same = s("content_hash") == Some(content_hash)
        && s("index_settings") == Some(settings)
        && s("title") == meta.title.as_deref()
        && s("url") == meta.url.as_deref()
        && s("audience").map(str::to_string) == meta.audience_json()
        && s("metadata").map(str::to_string) == meta.metadata_json();
    match s("state") {
        Some("ready" | "indexing") if same => Reupload::Unchanged,
        Some("queued") if same && row.get("attempts").and_then(Value::as_i64).unwrap_or(0) > 0 => {
            Reupload::Unchanged
        }
        Some("queued") if same => Reupload::Requeue,
        _ => Reupload::New,
    }
}

#[cfg(test)]
#[path = "upload_tests.rs"]
mod tests;
