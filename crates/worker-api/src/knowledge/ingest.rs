//! The queue consumer: one job ingests one version of a document (chunk, embed under the
//! tenant's budget, store chunk text for keyword search, upsert vectors, delete stale ones)
//! and ends `ready`, `failed` with a reason, or retried with backoff. The plan and the retry
//! rule are `knowledge::ingest`'s.

use budget::{Demand, Price};
use gateway::call::GatewayRoute;
use gateway::log::RequestLog;
use gateway::tenant::{embedding_input_tokens, KnowledgeBase};
use gateway::usage::TokenReport;
use knowledge::ingest::{plan, retry_delay_secs, Indexed, Job, Plan, UPSERT_BATCH};
use knowledge::store as sql;
use knowledge::upload::{audience_from_json, audience_json};
use knowledge::{estimate_tokens, DocId};
use serde_json::{json, Value};
use wasm_bindgen::JsCast;
use worker::{Context, Env};

use super::d1::Param;
use super::queue::{Message, MessageBatch, Producer};
use super::store::KbStore;
use super::vectorize::VectorizeIndex;
use crate::budgets;
use crate::clock::{now_iso, now_ms};
use crate::config::{self, Settings};
use crate::engine::answered::spent;
use crate::http::error::ApiError;
use crate::ops;
use crate::providers::embeddings::embed;

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
        let delivery = m.attempts().unwrap_or(1);
        match run(&env, &ctx, &settings, &m.json(), delivery).await {
            Outcome::Ack => m.ack(),
            Outcome::Retry(secs) => m.retry_in(secs),
        }
    }
}

/// A run's failure: whether trying again may help, and the reason the row shows.
struct Failure {
    transient: bool,
    /// A newer version (or a delete) came while this run worked: it stops, touching nothing
    /// more, and the newer job does the work.
    superseded: bool,
    reason: String,
    detail: Option<String>,
}

fn failed(transient: bool, reason: &str, detail: impl std::fmt::Display) -> Failure {
    Failure {
        transient,
        superseded: false,
        reason: reason.to_string(),
        detail: Some(detail.to_string()),
    }
}

/// One message: `delivery` counts the queue's own deliveries of it (a run that crashed is
/// delivered again), added to the job's `attempt`.
async fn run(
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    body: &Value,
    delivery: u32,
) -> Outcome {
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
                let attempt = job.attempt.saturating_add(delivery.saturating_sub(1));
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
            return retry_later(env, kb, job, attempt).await;
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
            return retry_later(env, kb, job, attempt).await;
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
        version: job.version,
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
        Err(f) if f.superseded => {
            log.status = 200;
            log.error_detail = f.detail;
            Outcome::Ack
        }
        Err(f) => {
            log.error_detail = f.detail.clone();
            log.error_code = Some("ingestion_failed".into());
            if f.transient && retry_delay_secs(attempt).is_some() {
                log.status = 503;
                let lead = vec![f.reason.clone().into(), now_iso().into()];
                let _ = store.mark(sql::MARK_RETRY, lead, doc, job.version).await;
                // The next run is a new message of our own, so the queue's `max_retries`
                // cannot drop the document; the queue's retry only if sending fails.
                return retry_later(env, kb, job, attempt).await;
            }
            log.status = if f.transient { 503 } else { 422 };
            // Nothing half-indexed: what this run or an earlier one left goes.
            let left = store.clean_up(env, doc, audience.as_ref(), &indexed).await;
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

/// The next run of `job` after a failed `attempt`, as a message of our own like every retry
/// (the queue's own retry only if sending fails); after the last attempt, nothing. A run that
/// could not start (the database unreachable) cannot write its row: after the last attempt it
/// stays `queued`, and an identical upload queues it again.
async fn retry_later(env: &Env, kb: &KnowledgeBase, job: &Job, attempt: u32) -> Outcome {
    let Some(secs) = retry_delay_secs(attempt) else {
        return Outcome::Ack;
    };
    let next = Job {
        attempt,
        ..job.clone()
    }
    .next();
    match Producer::from_env(env, &kb.queue) {
        Some(p) if p.send(&next.to_json(), Some(secs)).await.is_ok() => Outcome::Ack,
        _ => Outcome::Retry(secs),
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The steps of one run.
struct Steps<'a> {
    env: &'a Env,
    ctx: &'a Context,
    settings: &'a Settings,
    kb: &'a KnowledgeBase,
    store: &'a KbStore<'a>,
    doc: &'a DocId,
    version: i64,
    log: &'a mut RequestLog,
}

impl Steps<'_> {
    /// Stops the run when its version is no longer the document's (re-uploaded or deleted
    /// meanwhile): checked before each write, so a stale run never overwrites a newer one's
    /// chunks or vectors after the check.
    async fn still_current(&self) -> Result<(), Failure> {
        let row = self
            .store
            .document(self.doc)
            .await
            .map_err(|e| failed(true, "the document could not be read", format!("{e:?}")))?;
        match row.and_then(|r| r.get("version").and_then(Value::as_i64)) {
            Some(v) if v == self.version => Ok(()),
            now => Err(Failure {
                superseded: true,
                ..failed(
                    false,
                    "superseded",
                    format!("version {} superseded by {now:?}", self.version),
                )
            }),
        }
    }

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
        self.still_current().await?;
        self.store
            .replace_chunks(self.doc, &plan.chunks)
            .await
            .map_err(|e| failed(true, "the chunks could not be stored", e))?;
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
        self.still_current().await?;
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
        // Within the model's input limit (the stored chunk text stays whole).
        let limit = embedding_input_tokens(&self.kb.embedding_model);
        let texts: Vec<String> = plan
            .chunks
            .iter()
            .map(|c| c.embedding_text_within(limit))
            .collect();
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
        // A model that refuses the input (4xx but 429) will refuse it again: no retries.
        let vectors = vectors.map_err(|e| {
            let status = e.status_and_code().0;
            let transient = status == 429 || !(400..500).contains(&status);
            failed(
                transient,
                "the embedding model failed",
                format!("{e}: {:?}", e.log_detail()),
            )
        })?;
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
}
