//! Usage history: one event per model request, folded into hourly rollup rows by their dimensions (key, user, model, provider, status), and the store's schema.
//!
//! The worker gathers events for a moment, folds them (`fold`) and writes the rows to the
//! tenant's history store, which adds them to an hourly and a daily table (`UPSERT`). Reading
//! them back is `history_query`.

use serde::{Deserialize, Serialize};

use crate::log::RequestLog;
use crate::usage::Cost;

/// Milliseconds in an hour.
const MS_PER_HOUR: u64 = 3_600_000;

/// What one request adds to the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvent {
    /// When it ended (unix ms).
    pub at_ms: u64,
    pub key: String,
    pub user: String,
    pub model: String,
    pub provider: String,
    /// `ok`, or the error code it ended with.
    pub status: String,
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    pub cost: Cost,
    pub latency_ms: u64,
}

impl UsageEvent {
    /// The event of a request from its log line; `provider` is the answering model's provider
    /// (`workers-ai` or an HTTP provider's name, empty without a model).
    pub fn from_log(log: &RequestLog, at_ms: u64, provider: &str) -> Self {
        let tokens = log.tokens.unwrap_or_default();
        Self {
            at_ms,
            key: log.key_id.clone().unwrap_or_default(),
            user: log.user_id.clone().unwrap_or_default(),
            model: log.model.clone().unwrap_or_default(),
            provider: provider.to_string(),
            status: log.error_code.clone().unwrap_or_else(|| "ok".into()),
            prompt: tokens.prompt,
            completion: tokens.completion,
            total: tokens.total,
            cost: tokens.cost,
            latency_ms: log.latency_ms,
        }
    }
}

/// `YYYY-MM-DDTHH` of an instant (the hour a row counts).
pub fn hour_of(ms: u64) -> String {
    let day = i64::try_from(ms / 86_400_000).unwrap_or(i64::MAX);
    format!(
        "{}T{:02}",
        budget::window::day_string(day),
        ms % 86_400_000 / MS_PER_HOUR
    )
}

/// The requests of one hour that share every dimension, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollup {
    pub hour: String,
    pub key: String,
    pub user: String,
    pub model: String,
    pub provider: String,
    pub status: String,
    pub requests: u64,
    pub errors: u64,
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    /// Micro-dollars of the requests whose cost is known.
    pub cost_micros: u64,
    /// Requests billed on a model without a price.
    pub unpriced: u64,
    pub latency_ms: u64,
}

impl Rollup {
    fn same_row(&self, e: &UsageEvent, hour: &str) -> bool {
        self.hour == hour
            && self.key == e.key
            && self.user == e.user
            && self.model == e.model
            && self.provider == e.provider
            && self.status == e.status
    }

    fn add(&mut self, e: &UsageEvent) {
        self.requests += 1;
        self.errors += u64::from(e.status != "ok");
        self.prompt += e.prompt;
        self.completion += e.completion;
        self.total += e.total;
        match e.cost {
            Cost::Known(m) => self.cost_micros += m,
            Cost::Unknown => self.unpriced += 1,
        }
        self.latency_ms += e.latency_ms;
    }

    /// The row's values in the order of `UPSERT_HOURLY`'s placeholders (for the daily table,
    /// the first is the day: the hour's first 10 characters).
    pub fn values(&self, daily: bool) -> (String, [&str; 5], [u64; 8]) {
        let when = if daily {
            self.hour.get(..10).unwrap_or(&self.hour).to_string()
        } else {
            self.hour.clone()
        };
        (
            when,
            [
                self.key.as_str(),
                self.user.as_str(),
                self.model.as_str(),
                self.provider.as_str(),
                self.status.as_str(),
            ],
            [
                self.requests,
                self.errors,
                self.prompt,
                self.completion,
                self.total,
                self.cost_micros,
                self.unpriced,
                self.latency_ms,
            ],
        )
    }
}

/// Folds events into one row per hour and dimensions, in the order rows first appear.
pub fn fold(events: &[UsageEvent]) -> Vec<Rollup> {
    let mut rows: Vec<Rollup> = Vec::new();
    for e in events {
        let hour = hour_of(e.at_ms);
        match rows.iter_mut().find(|r| r.same_row(e, &hour)) {
            Some(r) => r.add(e),
            None => {
                let mut r = Rollup {
                    hour,
                    key: e.key.clone(),
                    user: e.user.clone(),
                    model: e.model.clone(),
                    provider: e.provider.clone(),
                    status: e.status.clone(),
                    ..Rollup::default()
                };
                r.add(e);
                rows.push(r);
            }
        }
    }
    rows
}

/// The history store's tables: the same rows by hour and by day.
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS hourly (hour TEXT NOT NULL, key_id TEXT NOT NULL, user_id TEXT NOT NULL, \
     model TEXT NOT NULL, provider TEXT NOT NULL, status TEXT NOT NULL, requests INTEGER NOT NULL, \
     errors INTEGER NOT NULL, prompt INTEGER NOT NULL, completion INTEGER NOT NULL, total INTEGER NOT NULL, \
     cost_micros INTEGER NOT NULL, unpriced INTEGER NOT NULL, latency_ms INTEGER NOT NULL, \
     PRIMARY KEY (hour, key_id, user_id, model, provider, status)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS daily (day TEXT NOT NULL, key_id TEXT NOT NULL, user_id TEXT NOT NULL, \
     model TEXT NOT NULL, provider TEXT NOT NULL, status TEXT NOT NULL, requests INTEGER NOT NULL, \
     errors INTEGER NOT NULL, prompt INTEGER NOT NULL, completion INTEGER NOT NULL, total INTEGER NOT NULL, \
     cost_micros INTEGER NOT NULL, unpriced INTEGER NOT NULL, latency_ms INTEGER NOT NULL, \
     PRIMARY KEY (day, key_id, user_id, model, provider, status)) WITHOUT ROWID",
];

/// Adds a row to a table (`hourly` keyed by `hour`, `daily` by `day`): 14 placeholders, in the
/// order of `Rollup::values`.
pub fn upsert(daily: bool) -> String {
    let (table, when) = if daily {
        ("daily", "day")
    } else {
        ("hourly", "hour")
    };
    format!(
        "INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT ({when}, key_id, user_id, model, provider, status) DO UPDATE SET \
         requests = requests + excluded.requests, errors = errors + excluded.errors, \
         prompt = prompt + excluded.prompt, completion = completion + excluded.completion, \
         total = total + excluded.total, cost_micros = cost_micros + excluded.cost_micros, \
         unpriced = unpriced + excluded.unpriced, latency_ms = latency_ms + excluded.latency_ms"
    )
}

/// How long rows are kept (`usageHistory.dailyDays`, `usageHistory.hourlyDays`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub daily_days: u32,
    pub hourly_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            daily_days: 400,
            hourly_days: 14,
        }
    }
}

impl Retention {
    /// The oldest day and hour still kept at `now_ms`: rows before them are deleted.
    pub fn cutoffs(&self, now_ms: u64) -> (String, String) {
        let today = i64::try_from(now_ms / 86_400_000).unwrap_or(i64::MAX);
        let first_day = budget::window::day_string(today - i64::from(self.daily_days) + 1);
        let first_hour_day = today - i64::from(self.hourly_days) + 1;
        (
            first_day,
            format!("{}T00", budget::window::day_string(first_hour_day)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::TokenReport;

    const T: u64 = 1_796_385_600_000; // 2026-12-04T12:00:00Z

    fn event(
        at_ms: u64,
        key: &str,
        model: &str,
        status: &str,
        tokens: u64,
        cost: Cost,
    ) -> UsageEvent {
        UsageEvent {
            at_ms,
            key: key.into(),
            user: String::new(),
            model: model.into(),
            provider: "workers-ai".into(),
            status: status.into(),
            prompt: tokens,
            completion: 1,
            total: tokens + 1,
            cost,
            latency_ms: 10,
        }
    }

    #[test]
    fn events_fold_into_one_row_per_hour_and_dimensions() {
        let events = [
            event(T, "k1", "m1", "ok", 5, Cost::Known(7)),
            event(T + 1_000, "k1", "m1", "ok", 3, Cost::Known(2)),
            event(T + 2_000, "k2", "m1", "ok", 1, Cost::Unknown),
            event(T + 3_000, "k1", "m1", "rate_limited", 0, Cost::Known(0)),
            event(T + MS_PER_HOUR, "k1", "m1", "ok", 1, Cost::Known(1)),
        ];
        let rows = fold(&events);
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[0],
            Rollup {
                hour: "2026-12-04T12".into(),
                key: "k1".into(),
                user: String::new(),
                model: "m1".into(),
                provider: "workers-ai".into(),
                status: "ok".into(),
                requests: 2,
                errors: 0,
                prompt: 8,
                completion: 2,
                total: 10,
                cost_micros: 9,
                unpriced: 0,
                latency_ms: 20,
            }
        );
        assert_eq!(
            (rows[1].key.as_str(), rows[1].unpriced, rows[1].cost_micros),
            ("k2", 1, 0)
        );
        assert_eq!(
            (rows[2].status.as_str(), rows[2].errors),
            ("rate_limited", 1)
        );
        assert_eq!(rows[3].hour, "2026-12-04T13");
        let sum: u64 = rows.iter().map(|r| r.requests).sum();
        assert_eq!(sum, 5, "every event is counted once");
        assert!(fold(&[]).is_empty());
    }

    #[test]
    fn rows_bind_in_column_order() {
        let r = &fold(&[event(T, "k", "m", "ok", 2, Cost::Known(3))])[0];
        assert_eq!(
            r.values(false),
            (
                "2026-12-04T12".to_string(),
                ["k", "", "m", "workers-ai", "ok"],
                [1, 0, 2, 1, 3, 3, 0, 10]
            )
        );
        assert_eq!(r.values(true).0, "2026-12-04");
        assert!(upsert(true).starts_with("INSERT INTO daily VALUES"));
        assert!(upsert(true).contains("ON CONFLICT (day, key_id"));
        assert!(upsert(false).contains("ON CONFLICT (hour, key_id"));
        assert_eq!(upsert(false).matches('?').count(), 14);
    }

    #[test]
    fn an_event_comes_from_the_log_line() {
        let log = RequestLog {
            key_id: Some("k9".into()),
            model: Some("@cf/m".into()),
            latency_ms: 42,
            tokens: Some(TokenReport {
                prompt: 3,
                completion: 4,
                total: 7,
                cost: Cost::Known(11),
                ..TokenReport::default()
            }),
            ..RequestLog::default()
        };
        let e = UsageEvent::from_log(&log, T, "workers-ai");
        assert_eq!(
            e,
            UsageEvent {
                at_ms: T,
                key: "k9".into(),
                user: String::new(),
                model: "@cf/m".into(),
                provider: "workers-ai".into(),
                status: "ok".into(),
                prompt: 3,
                completion: 4,
                total: 7,
                cost: Cost::Known(11),
                latency_ms: 42,
            }
        );
        let failed = RequestLog {
            error_code: Some("budget_exceeded".into()),
            user_id: Some("u1".into()),
            ..RequestLog::default()
        };
        let e = UsageEvent::from_log(&failed, T, "");
        assert_eq!(
            (e.status.as_str(), e.user.as_str(), e.total, e.cost),
            ("budget_exceeded", "u1", 0, Cost::Known(0))
        );
    }

    #[test]
    fn retention_keeps_whole_days() {
        let r = Retention::default();
        assert_eq!(
            r.cutoffs(T),
            ("2025-10-31".to_string(), "2026-11-21T00".to_string())
        );
        let one = Retention {
            daily_days: 1,
            hourly_days: 1,
        };
        assert_eq!(
            one.cutoffs(T),
            ("2026-12-04".to_string(), "2026-12-04T00".to_string())
        );
        assert_eq!(hour_of(T - 1), "2026-12-04T11");
        assert_eq!(hour_of(0), "1970-01-01T00");
    }
}
