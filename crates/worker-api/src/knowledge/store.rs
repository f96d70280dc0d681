//! One knowledge base's storage: its D1 rows (documents, text, chunks, audiences) through
//! the statements of `knowledge::store`, scoped by the kb's vector scope; the schema is made
//! once per isolate.

use std::cell::RefCell;

use gateway::tenant::KnowledgeBase;
use knowledge::store as sql;
use knowledge::upload::UploadMeta;
use knowledge::{DocId, VectorScope};
use serde_json::Value;
use worker::Env;

use super::d1::{Database, Param, Query};
use crate::clock::now_iso;
use crate::http::error::ApiError;

thread_local! {
    /// D1 bindings whose schema this isolate has made.
    static SCHEMA_MADE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
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
    pub async fn put(
        &self,
        doc: &DocId,
        meta: &UploadMeta,
        content_type: &str,
        bytes: usize,
        text: &str,
        hash: &str,
    ) -> Result<Value, ApiError> {
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
}
