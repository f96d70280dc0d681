//! The queue consumer: one job ingests one version of a document (chunk, embed under the
//! tenant's budget, store chunk text for keyword search, upsert vectors, delete stale ones)
//! and ends `ready`, `failed` with a reason, or retried with backoff. The plan and the retry
//! rule are `knowledge::ingest`'s; the run's steps are `steps`.

use gateway::log::RequestLog;
use gateway::tenant::KnowledgeBase;
use knowledge::ingest::{retry_delay_secs, Indexed, Job};
use knowledge::store as sql;
use knowledge::upload::{audience_from_json, audience_json};
use serde_json::Value;
use wasm_bindgen::JsCast;
use worker::{Context, Env};

use super::d1::Param;
use super::queue::{Message, MessageBatch, Producer};
use super::steps::{Steps, ROUTE};
use super::store::KbStore;
use crate::clock::{now_iso, now_ms};
use crate::config::{self, Settings};
use crate::ops;

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
