//! `/admin/knowledge/{kb}/documents[/{docId}]`: upload (queued for ingestion), read, list and
//! delete a knowledge base's documents. Extraction and the upload rules are the `knowledge`
//! crate's; this reads the request and does the I/O.

use gateway::percent::percent_decode;
use gateway::tenant::KnowledgeBase;
use knowledge::ingest::{stale_ids, Indexed, Job};
use knowledge::text::{content_hash, extract};
use knowledge::upload::{
    audience_from_json, document_json, index_settings, reupload, Reupload, UploadMeta,
};
use knowledge::DocId;
use serde_json::{json, Value};
use worker::Response;

use super::queue;
use super::store::{unavailable, KbStore};
use super::vectorize::VectorizeIndex;
use crate::http;
use crate::http::body::{media_type, read_limited};
use crate::http::error::ApiError;
use crate::router::Call;

/// The largest page of `GET .../documents`.
const MAX_PAGE: i64 = 200;
const DEFAULT_PAGE: i64 = 50;

/// The kb a route names (404 when the tenant has none by that name).
fn kb_of<'a>(c: &'a Call<'_>) -> Result<&'a KnowledgeBase, ApiError> {
    let name = percent_decode(c.param());
    c.settings
        .tenant
        .knowledge
        .get(&name)
        .ok_or(ApiError::KnowledgeBaseNotFound { kb: name })
}

fn doc_of(c: &Call<'_>) -> Result<DocId, ApiError> {
    let raw = c.params.get(1).map_or("", String::as_str);
    DocId::parse(&percent_decode(raw)).map_err(ApiError::Document)
}

/// The decoded `name=value` pairs of the request's query.
fn query_pairs(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let plus = |s: &str| percent_decode(&s.replace('+', " "));
            (plus(k), plus(v))
        })
        .collect()
}

/// `PUT /admin/knowledge/{kb}/documents/{docId}`.
pub async fn put(mut c: Call<'_>) -> Result<Response, ApiError> {
    let kb = kb_of(&c)?.clone();
    let doc = doc_of(&c)?;
    let meta = UploadMeta::parse(&query_pairs(c.req.url())).map_err(ApiError::Document)?;
    let content_type = c
        .req
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    // The kb's own limit, reported as a document's.
    let bytes = read_limited(&mut c.req, kb.max_document_bytes)
        .await
        .map_err(|e| match e {
            ApiError::PayloadTooLarge { size, limit } => ApiError::DocumentTooLarge { size, limit },
            e => e,
        })?;
    let extracted = extract(&content_type, &bytes).map_err(ApiError::Document)?;
    let meta = UploadMeta {
        title: meta.title.or(extracted.title),
        ..meta
    };
    let hash = content_hash(&extracted.text);
    let producer = queue::Producer::from_env(c.env, &kb.queue).ok_or_else(|| {
        unavailable(
            &format!("knowledge.{}", kb.name),
            format!("no queue producer `{}`", kb.queue),
        )
    })?;
    let store = KbStore::open(c.env, c.settings.tenant.tenant_id.as_str(), &kb).await?;
    let settings = index_settings(&kb.embedding_model, kb.dimensions, kb.chunk);
    let stored = store.document(&doc).await?;
    let row = match (reupload(stored.as_ref(), &hash, &settings, &meta), stored) {
        (Reupload::Unchanged, Some(row)) => {
            let body = json!({"document": document_json(&kb.name, &row), "unchanged": true});
            return Ok(http::json(200, &body)?);
        }
        // The same document still queued: its job may be lost, so it is sent again (a second
        // run of one version is harmless; a job of an older version is skipped).
        (Reupload::Requeue, Some(row)) => row,
        _ => {
            let media = media_type(&content_type);
            let upload = super::store::Upload {
                meta: &meta,
                content_type: &media,
                bytes: bytes.len(),
                text: &extracted.text,
                hash: &hash,
                settings: &settings,
            };
            store.put(&doc, &upload).await?
        }
    };
    let version = row.get("version").and_then(Value::as_i64).unwrap_or(1);
    let job = Job {
        kb: kb.name.clone(),
        doc_id: doc.clone(),
        version,
        attempt: 1,
    };
    if let Err(e) = producer.send(&job.to_json(), None).await {
        let reason = "the ingestion queue refused the job; upload the document again to queue it";
        let now = crate::clock::now_iso();
        let _ = store
            .mark(
                knowledge::store::MARK_RETRY,
                vec![reason.into(), now.into()],
                &doc,
                version,
            )
            .await;
        return Err(unavailable("queueing a document", e));
    }
    Ok(http::json(
        202,
        &json!({"document": document_json(&kb.name, &row)}),
    )?)
}

/// `GET /admin/knowledge/{kb}/documents/{docId}`.
pub async fn get(c: Call<'_>) -> Result<Response, ApiError> {
    let kb = kb_of(&c)?;
    let doc = doc_of(&c)?;
    let store = KbStore::open(c.env, c.settings.tenant.tenant_id.as_str(), kb).await?;
    let row = store
        .document(&doc)
        .await?
        .ok_or_else(|| ApiError::DocumentNotFound {
            doc_id: doc.to_string(),
        })?;
    Ok(http::json(
        200,
        &json!({"document": document_json(&kb.name, &row)}),
    )?)
}

/// `GET /admin/knowledge/{kb}/documents?limit=&cursor=`.
pub async fn list(c: Call<'_>) -> Result<Response, ApiError> {
    let kb = kb_of(&c)?;
    let mut limit = DEFAULT_PAGE;
    let mut cursor = String::new();
    for (name, value) in query_pairs(c.req.url()) {
        match name.as_str() {
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| ApiError::InvalidRequest {
                        field: Some("limit".into()),
                        message: format!("limit must be a whole number from 1 to {MAX_PAGE}"),
                    })?;
            }
            "cursor" => cursor = value,
            other => {
                return Err(ApiError::InvalidRequest {
                    field: Some(other.to_string()),
                    message: format!("unknown query parameter `{other}`: use limit or cursor"),
                })
            }
        }
    }
    let store = KbStore::open(c.env, c.settings.tenant.tenant_id.as_str(), kb).await?;
    let rows = store.list(&cursor, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let page: Vec<Value> = rows
        .iter()
        .take(limit as usize)
        .map(|r| document_json(&kb.name, r))
        .collect();
    let next = if more {
        page.last().and_then(|d| d.get("docId")).cloned()
    } else {
        None
    };
    Ok(http::json(
        200,
        &json!({"documents": page, "nextCursor": next}),
    )?)
}

/// `DELETE /admin/knowledge/{kb}/documents/{docId}`: its vectors, then its rows.
pub async fn delete(c: Call<'_>) -> Result<Response, ApiError> {
    let kb = kb_of(&c)?;
    let doc = doc_of(&c)?;
    let store = KbStore::open(c.env, c.settings.tenant.tenant_id.as_str(), kb).await?;
    let row = store
        .document(&doc)
        .await?
        .ok_or_else(|| ApiError::DocumentNotFound {
            doc_id: doc.to_string(),
        })?;
    let indexed = Indexed {
        chunks: row
            .get("indexed_chunks")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize,
        audience: audience_from_json(row.get("indexed_audience").and_then(Value::as_str)),
    };
    let ids = stale_ids(&store.scope, &doc, &indexed, &[]).map_err(ApiError::Document)?;
    if !ids.is_empty() {
        let index = VectorizeIndex::from_env(c.env, &kb.index).ok_or_else(|| {
            unavailable(
                &format!("knowledge.{}", kb.name),
                format!("no Vectorize binding `{}`", kb.index),
            )
        })?;
        index
            .remove(&ids)
            .await
            .map_err(|e| unavailable("deleting vectors", e))?;
    }
    store.delete(&doc).await?;
    Ok(http::json(
        200,
        &json!({"deleted": true, "docId": doc.as_str()}),
    )?)
}
