//! `UsageHistory`: one SQLite-backed Durable Object per tenant holding its usage rollups by hour and by day, and the client that writes and reads them.

use gateway::history::{upsert, Retention, Rollup, SCHEMA};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::{
    durable_object, DurableObject, Env, Request, Response, SqlStorage, SqlStorageValue, State,
};

use crate::http::call_object;

/// The Durable Object binding of usage history.
pub const HISTORY_BINDING: &str = "USAGE_HISTORY";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum HistoryOp {
    /// Adds rows to both tables, then drops rows past retention.
    Record {
        now_ms: u64,
        rows: Vec<Rollup>,
        daily_days: u32,
        hourly_days: u32,
    },
    /// Runs a read built by `gateway::history_query` with its bound values.
    Query { sql: String, params: Vec<String> },
}

/// Whether this worker has a history store.
pub fn available(env: &Env) -> bool {
    env.durable_object(HISTORY_BINDING).is_ok()
}

/// Sends `op` to the tenant's history object; the answer's JSON.
pub async fn call(env: &Env, tenant: &str, op: &HistoryOp) -> Result<Value, String> {
    let stub = env
        .durable_object(HISTORY_BINDING)
        .and_then(|ns| ns.get_by_name(tenant))
        .map_err(|e| e.to_string())?;
    let body = serde_json::to_string(op).map_err(|e| e.to_string())?;
    let (status, text) = call_object(&stub, "https://usage-history/op", &body).await?;
    if status != 200 {
        return Err(format!("usage history answered {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Writes rollup rows (one call for a batch).
pub async fn record(
    env: &Env,
    tenant: &str,
    rows: Vec<Rollup>,
    now_ms: u64,
    keep: Retention,
) -> Result<(), String> {
    let op = HistoryOp::Record {
        now_ms,
        rows,
        daily_days: keep.daily_days,
        hourly_days: keep.hourly_days,
    };
    call(env, tenant, &op).await.map(|_| ())
}

#[durable_object]
pub struct UsageHistory {
    sql: SqlStorage,
}

impl UsageHistory {
    fn write(&self, now_ms: u64, rows: &[Rollup], keep: Retention) -> worker::Result<Value> {
        for daily in [false, true] {
            let statement = upsert(daily);
            for row in rows {
                let (when, dims, counts) = row.values(daily);
                let mut values: Vec<SqlStorageValue> = Vec::with_capacity(14);
                values.push(when.into());
                values.extend(dims.iter().map(|d| SqlStorageValue::from(d.to_string())));
                values.extend(
                    counts
                        .iter()
                        .map(|&n| SqlStorageValue::Integer(i64::try_from(n).unwrap_or(i64::MAX))),
                );
                self.sql.exec(&statement, values)?;
            }
        }
        let (first_day, first_hour) = keep.cutoffs(now_ms);
        self.sql
            .exec("DELETE FROM daily WHERE day < ?", vec![first_day.into()])?;
        self.sql
            .exec("DELETE FROM hourly WHERE hour < ?", vec![first_hour.into()])?;
        Ok(Value::Bool(true))
    }

    fn read(&self, sql: &str, params: Vec<String>) -> worker::Result<Value> {
        let values: Vec<SqlStorageValue> = params.into_iter().map(SqlStorageValue::from).collect();
        let rows: Vec<Value> = self
            .sql
            .exec(sql, values)?
            .raw()
            .map(|row| {
                row.map(|cells| {
                    Value::Array(
                        cells
                            .into_iter()
                            .map(|c| match c {
                                SqlStorageValue::Integer(n) => Value::from(n),
                                SqlStorageValue::Float(f) => Value::from(f as i64),
                                SqlStorageValue::String(s) => Value::String(s),
                                _ => Value::Null,
                            })
                            .collect(),
                    )
                })
            })
            .collect::<worker::Result<_>>()?;
        Ok(Value::Array(rows))
    }
}

impl DurableObject for UsageHistory {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        // Creating the tables is synchronous; a failure here surfaces on the first operation.
        for statement in SCHEMA {
            let _ = sql.exec(statement, None);
        }
        Self { sql }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op: HistoryOp = serde_json::from_str(&req.text().await?)
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        let out = match op {
            HistoryOp::Record {
                now_ms,
                rows,
                daily_days,
                hourly_days,
            } => self.write(
                now_ms,
                &rows,
                Retention {
                    daily_days,
                    hourly_days,
                },
            ),
            HistoryOp::Query { sql, params } => self.read(&sql, params),
        };
        match out {
            Ok(v) => Response::from_json(&v),
            Err(e) => Response::error(e.to_string(), 500),
        }
    }
}
