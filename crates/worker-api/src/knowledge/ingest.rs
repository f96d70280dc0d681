//! The queue consumer: one job ingests one version of a document (chunk, embed under the
//! tenant's budget, store chunk text for keyword search, upsert vectors, delete stale ones)
//! and ends `ready`, `failed` with a reason, or retried with backoff. The plan and the retry
//! rule are `knowledge::ingest`'s.

use budget::{Demand, Price};
use gateway::call::GatewayRoute;
use gateway::log::RequestLog;
use gateway::tenant::KnowledgeBase;
use gateway::usage::TokenReport;
use knowledge::ingest::{plan, retry_delay_secs, Indexed, Job, Plan, UPSERT_BATCH};
use knowledge::store as sql;
use knowledge::upload::{audience_from_json, audience_json};
use knowledge::{estimate_tokens, DocId};
use serde_json::{json, Value};
use wasm_bindgen::JsCast;
use worker::{Context, Env};

use super::d1::{Param, Query};
use super::queue::{Message, MessageBatch};
use super::store::KbStore;
use super::vectorize::VectorizeIndex;
use crate::budgets;
use crate::clock::{now_iso, now_ms};
use crate::config::{self, Settings};
use crate::engine::answered::spent;
use crate::http::error::ApiError;
use crate::ops;
use crate::providers::embeddings::embed;

/// Chunk rows per D1 batch.
const CHUNK_ROWS: usize = 200;
/// How this route shows in logs and usage history.
pub const ROUTE: &str = "/knowledge/ingest";

/// How a job's run ended.
enum Outcome {
    /// Acknowledge: done, failed for good (the row says why), or nothing to do.
    Ack,
    /// Deliver again after this many seconds.
    Retry(u32),
}

/// The `queue` handler: every message of the batch, one at a time.
pub async fn consume(batch: MessageBatch, env: Env, ctx: Context) {
    let settings = match config::settings(&env) {
        Ok(s) => s,
        Err(e) => {
            worker::console_error!("knowledge ingestion: the tenant config is invalid: {e}");
            for m in batch.messages().iter() {
                m.unchecked_into::<Message>().retry_in(60);
            }
            return;
        }
    };
    for m in batch.messages().iter() {
        let m: Message = m.unchecked_into();
        let attempt = m.attempts().unwrap_or(1);
        match run(&env, &ctx, &settings, &m.json(), attempt).await {
            Outcome::Ack => m.ack(),
            Outcome::Retry(secs) => m.retry_in(secs),
        }
    }
}

/// A run's failure: whether trying again may help, and the reason the row shows.
struct Failure {
    transient: bool,
    reason: String,
    detail: Option<String>,
}

fn failed(transient: bool, reason: &str, detail: impl std::fmt::Display) -> Failure {
    Failure {
        transient,
        reason: reason.to_string(),
        detail: Some(detail.to_string()),
    }
}

async fn run(env: &Env, ctx: &Context, settings: &Settings, body: &Value, attempt: u32) -> Outcome {
    let mut log = RequestLog {
        tenant_id: settings.tenant.tenant_id.as_str().to_string(),
        trace_id: uuid::Uuid::new_v4().to_string(),
        method: "QUEUE".into(),
        route: ROUTE.into(),
        ..RequestLog::default()
    };
    let started = now_ms();
    let outcome = match Job::parse(body) {
        Err(e) => {
            log.status = 400;
            log.error_code = Some("invalid_job".into());
            log.error_detail = Some(e.to_string());
            Outcome::Ack
        }
        Ok(job) => match settings.tenant.knowledge.get(job.kb.as_str()) {
            None => {
                log.status = 404;
                log.error_code = Some("unknown_knowledge_base".into());
                log.error_detail = Some(format!("job for knowledge base `{}`", job.kb));
                Outcome::Ack
            }
            Some(kb) => {
                log.model = Some(kb.embedding_model.clone());
                ingest(env, ctx, settings, kb, &job, attempt, &mut log).await
            }
        },
    };
    log.latency_ms = now_ms().saturating_sub(started);
    worker::console_log!("{}", log.to_line());
    if log.tokens.is_some() {
        ops::history::record(env, &settings.tenant, &log).await;
    }
    outcome
}

/// One run of `job`; its row ends `ready` or `failed`, or stays `queued` for a retry.
async fn ingest(
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    kb: &KnowledgeBase,
    job: &Job,
    attempt: u32,
    log: &mut RequestLog,
) -> Outcome {
    let tenant_id = settings.tenant.tenant_id.as_str();
    let store = match KbStore::open(env, tenant_id, kb).await {
        Ok(s) => s,
        Err(e) => {
            log.status = 503;
            log.error_code = Some("knowledge_unavailable".into());
            log.error_detail = e.log_detail();
            return Outcome::Retry(retry_delay_secs(attempt).unwrap_or(600));
        }
    };
    let doc = &job.doc_id;
    let row = match store.document(doc).await {
        Ok(Some(row)) if row.get("version").and_then(Value::as_i64) == Some(job.version) => row,
        Ok(_) => {
            log.status = 200;
            log.error_detail = Some(format!(
                "{doc}: version {} is gone or superseded; skipped",
                job.version
            ));
            return Outcome::Ack;
        }
        Err(e) => {
            log.status = 503;
            log.error_detail = e.log_detail();
            return Outcome::Retry(retry_delay_secs(attempt).unwrap_or(600));
        }
    };
    let indexed = Indexed {
        chunks: row
            .get("indexed_chunks")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize,
        audience: audience_from_json(row.get("indexed_audience").and_then(Value::as_str)),
    };
    let audience = audience_from_json(row.get("audience").and_then(Value::as_str));
    let _ = store
        .mark(sql::MARK_INDEXING, vec![now_iso().into()], doc, job.version)
        .await;
    let mut steps = Steps {
        env,
        ctx,
        settings,
        kb,
        store: &store,
        doc,
        log,
    };
    let result = steps.run(audience.as_ref(), &indexed).await;
    let Steps { log, .. } = steps;
    match result {
        Ok((chunks, tokens)) => {
            let lead: Vec<Param> = vec![
                to_i64(chunks).into(),
                to_i64(tokens as usize).into(),
                to_i64(chunks).into(),
                audience.as_ref().map(audience_json).into(),
                now_iso().into(),
                now_iso().into(),
            ];
            let _ = store.mark(sql::MARK_READY, lead, doc, job.version).await;
            log.status = 200;
            Outcome::Ack
        }
        Err(f) => {
            log.error_detail = f.detail.clone();
            log.error_code = Some("ingestion_failed".into());
            if f.transient {
                if let Some(secs) = retry_delay_secs(attempt) {
                    log.status = 503;
                    let lead = vec![f.reason.clone().into(), now_iso().into()];
                    let _ = store.mark(sql::MARK_RETRY, lead, doc, job.version).await;
                    return Outcome::Retry(secs);
                }
            }
            log.status = if f.transient { 503 } else { 422 };
            // Nothing half-indexed: what this run or an earlier one left goes.
            let left = clean_up(env, kb, &store, doc, audience.as_ref(), &indexed).await;
            let lead = vec![
                f.reason.into(),
                to_i64(left.0).into(),
                left.1.into(),
                now_iso().into(),
            ];
            let _ = store.mark(sql::MARK_FAILED, lead, doc, job.version).await;
            Outcome::Ack
        }
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Removes the document's chunks and every vector it may have (old and new); answers what
/// may still be in the index (`(0, None)` when the removal worked).
async fn clean_up(
    env: &Env,
    kb: &KnowledgeBase,
    store: &KbStore<'_>,
    doc: &DocId,
    audience: Option<&knowledge::Audience>,
    indexed: &Indexed,
) -> (usize, Option<String>) {
    let _ = store
        .db
        .batch(&[Query::new(
            sql::DELETE_CHUNKS,
            vec![store.scope.as_str().into(), doc.as_str().into()],
        )])
        .await;
    let mut ids = knowledge::ingest::stale_ids(&store.scope, doc, indexed, &[]).unwrap_or_default();
    let most = indexed.chunks.max(
        store
            .text(doc)
            .await
            .map(|t| knowledge::chunk::chunk(&t, kb.chunk).len())
            .unwrap_or(0),
    );
    let new = Indexed {
        chunks: most,
        audience: audience.cloned(),
    };
    ids.extend(knowledge::ingest::stale_ids(&store.scope, doc, &new, &[]).unwrap_or_default());
    let removed = match VectorizeIndex::from_env(env, &kb.index) {
        Some(index) => index.remove(&ids).await.is_ok(),
        None => false,
    };
    if removed {
        (0, None)
    } else {
        (indexed.chunks, indexed.audience.as_ref().map(audience_json))
    }
}

/// The steps of one run.
struct Steps<'a> {
    env: &'a Env,
    ctx: &'a Context,
    settings: &'a Settings,
    kb: &'a KnowledgeBase,
    store: &'a KbStore<'a>,
    doc: &'a DocId,
    log: &'a mut RequestLog,
}

impl Steps<'_> {
    /// Chunks, embeds, stores and indexes; answers the chunk count and the tokens billed.
    async fn run(
        &mut self,
        audience: Option<&knowledge::Audience>,
        indexed: &Indexed,
    ) -> Result<(usize, u64), Failure> {
        let text = self
            .store
            .text(self.doc)
            .await
            .map_err(|e| failed(true, "the document's text could not be read", e))?;
        let plan = plan(
            &self.store.scope,
            self.doc,
            &text,
            self.kb.chunk,
            audience,
            indexed,
        )
        .map_err(|e| failed(false, &e.to_string(), e.code()))?;
        if plan.chunks.is_empty() {
            return Err(failed(
                false,
                "the document has no text to index",
                "no chunks",
            ));
        }
        let vectors = self.embed(&plan).await?;
        self.store_chunks(&plan).await?;
        let index = VectorizeIndex::from_env(self.env, &self.kb.index).ok_or_else(|| {
            failed(
                true,
                "the Vectorize index is not bound",
                format!("no binding `{}`", self.kb.index),
            )
        })?;
        let points: Vec<Value> = plan
            .placements
            .iter()
            .map(|p| {
                json!({
                    "id": p.id,
                    "values": vectors.get(p.chunk as usize).cloned().unwrap_or_default(),
                    "namespace": self.store.scope.as_str(),
                    "metadata": p.metadata(&self.kb.name),
                })
            })
            .collect();
        for batch in points.chunks(UPSERT_BATCH) {
            index
                .upsert(&Value::Array(batch.to_vec()))
                .await
                .map_err(|e| failed(true, "Vectorize refused the vectors", e))?;
        }
        index
            .remove(&plan.stale)
            .await
            .map_err(|e| failed(true, "Vectorize could not delete stale vectors", e))?;
        let tokens = self.log.tokens.map_or(0, |t| t.total);
        Ok((plan.chunks.len(), tokens))
    }

    /// Embeds every chunk under the tenant's budget (reserved at the estimate, settled at
    /// what the model counted).
    async fn embed(&mut self, plan: &Plan) -> Result<Vec<Vec<f32>>, Failure> {
        let texts: Vec<String> = plan.chunks.iter().map(|c| c.embedding_text()).collect();
        let estimate: u64 = texts.iter().map(|t| u64::from(estimate_tokens(t))).sum();
        let model = self.kb.embedding_model.clone();
        let demand = Demand {
            prompt: estimate,
            output: 0,
            min_output: 0,
            price: Price::default(),
        };
        let chain = [model.clone()];
        let held = budgets::reserve(self.env, self.ctx, self.settings, None, &chain, demand)
            .await
            .map_err(|e| match e {
                ApiError::BudgetExceeded { .. } | ApiError::ModelUnpriced { .. } => failed(
                    false,
                    &format!("the tenant's budget refused the embeddings: {e}"),
                    "budget",
                ),
                e => failed(true, "the budget store is unavailable", e),
            })?;
        let tenant = &self.settings.tenant;
        let route = GatewayRoute {
            gateway_id: &tenant.ai_gateway_id,
            tenant_id: tenant.tenant_id.as_str(),
            trace_id: &self.log.trace_id.clone(),
            session_id: None,
            user: None,
            client: None,
            route: ROUTE,
        };
        let (vectors, tokens): (_, TokenReport) =
            embed(self.env, self.settings, &model, texts, route).await;
        budgets::settle(self.env, held, spent(tokens), self.log, Some(self.ctx)).await;
        if tokens.total > 0 {
            self.log.tokens = Some(tokens);
        }
        let vectors = vectors.map_err(|e| failed(true, "the embedding model failed", e))?;
        if vectors.len() != plan.chunks.len()
            || vectors
                .iter()
                .any(|v| v.len() != self.kb.dimensions as usize)
        {
            return Err(failed(
                false,
                "the embedding model answered vectors of the wrong size or count",
                format!("{} vectors", vectors.len()),
            ));
        }
        Ok(vectors)
    }

    /// Replaces the document's chunk rows (and, by trigger, its keyword index).
    async fn store_chunks(&self, plan: &Plan) -> Result<(), Failure> {
        let key =
            || -> Vec<Param> { vec![self.store.scope.as_str().into(), self.doc.as_str().into()] };
        let mut batches: Vec<Vec<Query>> = vec![vec![Query::new(sql::DELETE_CHUNKS, key())]];
        for group in plan.chunks.chunks(CHUNK_ROWS) {
            batches.push(
                group
                    .iter()
                    .map(|c| {
                        let mut p = key();
                        p.push(i64::from(c.index).into());
                        p.push(c.heading_path.join(" > ").into());
                        p.push(c.text.clone().into());
                        Query::new(sql::INSERT_CHUNK, p)
                    })
                    .collect(),
            );
        }
        for b in batches {
            self.store
                .db
                .batch(&b)
                .await
                .map_err(|e| failed(true, "the chunks could not be stored", e))?;
        }
        Ok(())
    }
}
