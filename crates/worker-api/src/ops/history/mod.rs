//! Usage history: every model request's event, gathered for a moment in the isolate and written to the tenant's history store as rollup rows, off the request's path (`waitUntil`).
//!
//! One isolate serves one tenant (its worker's `TENANT`), so one buffer holds one tenant's
//! events. The first request to find no write under way writes (in its `waitUntil`), after
//! `GATHER_MS`, everything gathered by then, and keeps writing until the buffer is empty; the
//! others only add to it, synchronously, with no task of their own.
//! A batch the store refuses twice is reported in the log (`usageHistoryError`) with its count.

pub mod routes;
pub mod store;

use std::cell::{Cell, RefCell};
use std::time::Duration;

use gateway::analytics::DataPoint;
use gateway::history::{fold, UsageEvent};
use gateway::log::RequestLog;
use gateway::provider_config::ModelRef;
use gateway::tenant::TenantConfig;
use worker::{AnalyticsEngineDataPointBuilder, AnalyticsEngineDataset, Delay, Env};

use crate::clock::now_ms;

/// How long a write waits for more events to carry.
const GATHER_MS: u64 = 200;

/// The most events one write carries.
const MAX_BATCH: usize = 1000;

/// The routes whose requests are metered in the history.
pub const METERED: &[&str] = &[
    "/chat",
    "/ui/chat",
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/messages",
    "/v1/embeddings",
];

thread_local! {
    static PENDING: RefCell<Vec<UsageEvent>> = const { RefCell::new(Vec::new()) };
    static WRITING: Cell<bool> = const { Cell::new(false) };
}

/// The optional Analytics Engine dataset that gets one data point per metered request.
pub const ANALYTICS_BINDING: &str = "USAGE_ANALYTICS";

/// Notes a finished request (its log line): writes its Analytics Engine data point when the
/// binding is there, and adds its event to the isolate's history buffer. True when this
/// request must run the write (`write_pending`, in `waitUntil`): the buffer had no writer.
/// Every other request only adds to the buffer, with no task of its own.
pub fn note(env: &Env, tenant: &TenantConfig, log: &RequestLog) -> bool {
    let provider = log.model.as_deref().map_or("", |m| {
        ModelRef::parse(m, &tenant.providers).provider_name()
    });
    if let Ok(dataset) = env.analytics_engine(ANALYTICS_BINDING) {
        write_point(
            &dataset,
            &DataPoint::from_log(log, provider),
            &log.tenant_id,
        );
    }
    if !store::available(env) {
        return false;
    }
    let event = UsageEvent::from_log(log, now_ms(), provider);
    PENDING.with(|p| p.borrow_mut().push(event));
    !WRITING.with(|w| w.replace(true))
}

/// `note`, then the write when this request is the writer; for callers already off the
/// request's path (a stream's background task).
pub async fn record(env: &Env, tenant: &TenantConfig, log: &RequestLog) {
    if note(env, tenant, log) {
        write_pending(env, tenant).await;
    }
}

/// The writer: after `GATHER_MS`, writes everything gathered, and goes on until the buffer is
/// empty (events added meanwhile are carried by the next round).
pub async fn write_pending(env: &Env, tenant: &TenantConfig) {
    Delay::from(Duration::from_millis(GATHER_MS)).await;
    loop {
        let batch: Vec<UsageEvent> = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            let n = p.len().min(MAX_BATCH);
            p.drain(..n).collect()
        });
        if batch.is_empty() {
            WRITING.with(|w| w.set(false));
            return;
        }
        let rows = fold(&batch);
        let id = tenant.tenant_id.as_str();
        let keep = tenant.usage_history;
        let mut result = store::record(env, id, rows.clone(), now_ms(), keep).await;
        if result.is_err() {
            result = store::record(env, id, rows, now_ms(), keep).await;
        }
        if let Err(e) = result {
            let line = serde_json::json!({
                "tenantId": id, "usageHistoryError": e, "lostRequests": batch.len(),
            });
            worker::console_error!("{line}");
        }
    }
}

/// Writes a data point; a refusal (a full dataset, a bad binding) is logged, never fatal.
fn write_point(dataset: &AnalyticsEngineDataset, p: &DataPoint, tenant: &str) {
    let blobs: Vec<&str> = p.blobs.iter().map(String::as_str).collect();
    let point = AnalyticsEngineDataPointBuilder::new()
        .indexes([p.index.as_str()])
        .blobs(blobs)
        .doubles(p.doubles.to_vec())
        .build();
    if let Err(e) = dataset.write_data_point(&point) {
        let line = serde_json::json!({"tenantId": tenant, "analyticsError": e.to_string()});
        worker::console_error!("{line}");
    }
}
