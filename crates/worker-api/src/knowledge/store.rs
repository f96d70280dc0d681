//! One knowledge base's storage: its D1 rows (documents, text, chunks, audiences) through
//! the statements of `knowledge::store`, scoped by the kb's vector scope; the schema is made
//! once per isolate.

use std::cell::RefCell;

use gateway::tenant::KnowledgeBase;
use knowledge::chunk::chunk;
use knowledge::ingest::{stale_ids, Indexed};
use knowledge::store as sql;
use knowledge::upload::audience_json;
use knowledge::upload::UploadMeta;
use knowledge::{Audience, Chunk, DocId, VectorScope};
use serde_json::Value;
use worker::Env;

use super::d1::{Database, Param, Query};
use super::vectorize::VectorizeIndex;
use crate::clock::now_iso;
use crate::http::error::ApiError;

/// Chunk rows per D1 batch.
const CHUNK_ROWS: usize = 200;

thread_local! {
    /// D1 bindings whose schema this isolate has made.
    static SCHEMA_MADE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// What an upload stores besides the document id.
#[derive(Clone, Copy)]
pub struct Upload<'a> {
    pub meta: &'a UploadMeta,
    pub content_type: &'a str,
    pub bytes: usize,
    pub text: &'a str,
    pub hash: &'a str,
    /// `knowledge::upload::index_settings` of the kb.
    pub settings: &'a str,
}

/// A knowledge base of the tenant and its database.
pub struct KbStore<'a> {
    pub kb: &'a KnowledgeBase,
    pub scope: VectorScope,
    pub db: Database,
}

/// A D1 failure, for the client as `503 knowledge_unavailable` (the words go to the log).
pub fn unavailable(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::KnowledgeUnavailable(format!("{what}: {e}"))
}

impl<'a> KbStore<'a> {
    /// The kb's store, its schema made; 503 when the database binding is missing or fails.
    pub async fn open(
        env: &Env,
        tenant_id: &str,
        kb: &'a KnowledgeBase,
    ) -> Result<KbStore<'a>, ApiError> {
        let db = Database::from_env(env, &kb.database).ok_or_else(|| {
            unavailable(
                &format!("knowledge.{}", kb.name),
                format!("no D1 binding `{}`", kb.database),
            )
        })?;
        let store = KbStore {
            kb,
            scope: VectorScope::new(tenant_id, &kb.name),
            db,
        };
        let made = SCHEMA_MADE.with(|m| m.borrow().contains(&kb.database));
        if !made {
            let schema: Vec<Query> = sql::SCHEMA
                .iter()
                .map(|s| Query::new(*s, Vec::new()))
                .collect();
            store
                .db
                .batch(&schema)
                .await
                .map_err(|e| unavailable("making the knowledge schema", e))?;
            SCHEMA_MADE.with(|m| m.borrow_mut().push(kb.database.clone()));
        }
        Ok(store)
    }

    fn key(&self, doc: &DocId) -> Vec<Param> {
        vec![self.scope.as_str().into(), doc.as_str().into()]
    }

    /// The document's row, if any.
    pub async fn document(&self, doc: &DocId) -> Result<Option<Value>, ApiError> {
        let rows = self
            .db
            .all(Query::new(sql::select_document(), self.key(doc)))
            .await
            .map_err(|e| unavailable("reading a document", e))?;
        Ok(rows.into_iter().next())
    }

    /// Up to `limit` documents after `cursor`, by id.
    pub async fn list(&self, cursor: &str, limit: i64) -> Result<Vec<Value>, ApiError> {
        let params = vec![self.scope.as_str().into(), cursor.into(), limit.into()];
        self.db
            .all(Query::new(sql::list_documents(), params))
            .await
            .map_err(|e| unavailable("listing documents", e))
    }

    /// Stores a new version of the document (row, audience, text) in one transaction; answers
    /// the row.
    pub async fn put(&self, doc: &DocId, upload: &Upload<'_>) -> Result<Value, ApiError> {
        let Upload {
            meta,
            content_type,
            bytes,
            text,
            hash,
            settings,
        } = *upload;
        let now = now_iso();
        let mut queries = vec![Query::new(
            sql::UPSERT_DOCUMENT,
            vec![
                self.scope.as_str().into(),
                doc.as_str().into(),
                self.kb.name.as_str().into(),
                meta.title.clone().into(),
                meta.url.clone().into(),
                meta.audience_json().into(),
                i64::from(meta.audience.is_some()).into(),
                meta.metadata_json().into(),
                content_type.into(),
                i64::try_from(bytes).unwrap_or(i64::MAX).into(),
                hash.into(),
                settings.into(),
                now.clone().into(),
                now.into(),
            ],
        )];
        queries.push(Query::new(sql::DELETE_AUDIENCE, self.key(doc)));
        for g in meta.audience.iter().flat_map(|a| a.groups()) {
            let mut p = self.key(doc);
            p.push(g.as_str().into());
            queries.push(Query::new(sql::INSERT_AUDIENCE, p));
        }
        queries.push(Query::new(sql::DELETE_TEXT, self.key(doc)));
        for (n, part) in sql::text_parts(text).into_iter().enumerate() {
            let mut p = self.key(doc);
            p.push(i64::try_from(n).unwrap_or(i64::MAX).into());
            p.push(part.into());
            queries.push(Query::new(sql::INSERT_TEXT, p));
        }
        self.db
            .batch(&queries)
            .await
            .map_err(|e| unavailable("storing a document", e))?;
        self.document(doc).await?.ok_or_else(|| {
            unavailable(
                "storing a document",
                "the row is not there after writing it",
            )
        })
    }

    /// The document's stored text.
    pub async fn text(&self, doc: &DocId) -> Result<String, String> {
        let rows = self
            .db
            .all(Query::new(sql::SELECT_TEXT, self.key(doc)))
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.get("body").and_then(Value::as_str))
            .collect())
    }

    /// Removes the document's row, audience, text and chunks in one transaction.
    pub async fn delete(&self, doc: &DocId) -> Result<(), ApiError> {
        let queries: Vec<Query> = [
            sql::DELETE_CHUNKS,
            sql::DELETE_TEXT,
            sql::DELETE_AUDIENCE,
            sql::DELETE_DOCUMENT,
        ]
        .into_iter()
        .map(|s| Query::new(s, self.key(doc)))
        .collect();
        self.db
            .batch(&queries)
            .await
            .map_err(|e| unavailable("deleting a document", e))
    }

    /// A row update by one of the `MARK_*` statements: `lead` values, then kb, doc and version.
    pub async fn mark(
        &self,
        statement: &str,
        lead: Vec<Param>,
        doc: &DocId,
        version: i64,
    ) -> Result<(), String> {
        let mut params = lead;
        params.extend(self.key(doc));
        params.push(version.into());
        self.db.batch(&[Query::new(statement, params)]).await
    }

    /// Replaces the document's chunk rows (and, by trigger, its keyword index): the delete in
    /// one batch, the rows in batches of [`CHUNK_ROWS`].
    pub async fn replace_chunks(&self, doc: &DocId, chunks: &[Chunk]) -> Result<(), String> {
        self.db
            .batch(&[Query::new(sql::DELETE_CHUNKS, self.key(doc))])
            .await?;
        for group in chunks.chunks(CHUNK_ROWS) {
            let rows: Vec<Query> = group
                .iter()
                .map(|c| {
                    let mut p = self.key(doc);
                    p.push(i64::from(c.index).into());
                    p.push(c.heading_path.join(" > ").into());
                    p.push(c.text.clone().into());
                    Query::new(sql::INSERT_CHUNK, p)
                })
                .collect();
            self.db.batch(&rows).await?;
        }
        Ok(())
    }

    /// After a run failed for good: removes the document's chunks and every vector it may
    /// have (old and new); answers what may still be in the index (`(0, None)` when the
    /// removal worked), for the row's `indexed_*`.
    pub async fn clean_up(
        &self,
        env: &Env,
        doc: &DocId,
        audience: Option<&Audience>,
        indexed: &Indexed,
    ) -> (usize, Option<String>) {
        let _ = self
            .db
            .batch(&[Query::new(sql::DELETE_CHUNKS, self.key(doc))])
            .await;
        let mut ids = stale_ids(&self.scope, doc, indexed, &[]).unwrap_or_default();
        let written = self.text(doc).await.map(|t| chunk(&t, self.kb.chunk).len());
        let new = Indexed {
            chunks: indexed.chunks.max(written.unwrap_or(0)),
            audience: audience.cloned(),
        };
        ids.extend(stale_ids(&self.scope, doc, &new, &[]).unwrap_or_default());
        let removed = match VectorizeIndex::from_env(env, &self.kb.index) {
            Some(index) => index.remove(&ids).await.is_ok(),
            None => false,
        };
        if removed {
            (0, None)
        } else {
            (indexed.chunks, indexed.audience.as_ref().map(audience_json))
        }
    }
}
