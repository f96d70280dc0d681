//! `GET /admin/usage/history`: the query (window, grouping, filters) checked, its SQL over the history store, and the rows as JSON or CSV.

use budget::window::{day_string, parse_day};
use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::history::Retention;
use crate::json::invalid;
use crate::percent::percent_decode;
use crate::pricing::usd;

/// A dimension rows can be grouped by: its query name, its column and its name in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dim {
    pub name: &'static str,
    column: &'static str,
    pub field: &'static str,
}

/// Every dimension, in the order rows are sorted and CSV columns appear.
pub const DIMS: &[Dim] = &[
    Dim {
        name: "day",
        column: "day",
        field: "day",
    },
    Dim {
        name: "hour",
        column: "hour",
        field: "hour",
    },
    Dim {
        name: "key",
        column: "key_id",
        field: "keyId",
    },
    Dim {
        name: "user",
        column: "user_id",
        field: "user",
    },
    Dim {
        name: "model",
        column: "model",
        field: "model",
    },
    Dim {
        name: "provider",
        column: "provider",
        field: "provider",
    },
    Dim {
        name: "status",
        column: "status",
        field: "status",
    },
];

/// The counts every row carries, as summed in SQL.
const SUMS: &str = "SUM(requests), SUM(errors), SUM(prompt), SUM(completion), SUM(total), \
                    SUM(cost_micros), SUM(unpriced), SUM(latency_ms)";

/// A checked history query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// First and last day (days since 1970-01-01), both included.
    pub from: i64,
    pub to: i64,
    pub group_by: Vec<Dim>,
    /// Exact filters: key id, user, model.
    pub key: Option<String>,
    pub user: Option<String>,
    pub model: Option<String>,
}

impl HistoryQuery {
    /// Reads a query string (`from=2026-11-01&to=2026-11-30&groupBy=day,model&key=k1`) on
    /// `today` (days since 1970). Defaults: the last 30 days, grouped by day.
    pub fn parse(query: &str, today: i64, retention: Retention) -> Result<Self, Error> {
        let mut q = Self {
            from: today - 29,
            to: today,
            group_by: vec![DIMS[0]],
            key: None,
            user: None,
            model: None,
        };
        let (mut from, mut to) = (None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(&v.replace('+', " "));
            let day = |v: &str| {
                parse_day(v).ok_or_else(|| invalid(k, format!("`{v}` is not a date (YYYY-MM-DD)")))
            };
            match k {
                "from" => from = Some(day(&v)?),
                "to" => to = Some(day(&v)?),
                "groupBy" => q.group_by = group_by(&v)?,
                "key" => q.key = Some(v),
                "user" => q.user = Some(v),
                "model" => q.model = Some(v),
                other => {
                    return Err(invalid(
                        other,
                        "unknown parameter; expected from, to, groupBy, key, user, model",
                    ))
                }
            }
        }
        q.to = to.unwrap_or(today);
        q.from = from.unwrap_or(q.to - 29);
        if q.from > q.to {
            return Err(invalid(
                "from",
                format!("{} is after to ({})", day_string(q.from), day_string(q.to)),
            ));
        }
        let oldest = today - i64::from(retention.daily_days) + 1;
        if q.from < oldest {
            return Err(invalid(
                "from",
                format!(
                    "daily rows are kept for {} days: the oldest is {}",
                    retention.daily_days,
                    day_string(oldest)
                ),
            ));
        }
        let oldest_hour = today - i64::from(retention.hourly_days) + 1;
        if q.hourly() && q.from < oldest_hour {
            return Err(invalid(
                "from",
                format!(
                    "hourly rows are kept for {} days: with groupBy=hour the oldest day is {}",
                    retention.hourly_days,
                    day_string(oldest_hour)
                ),
            ));
        }
        Ok(q)
    }

    /// This month so far (UTC, up to `today`), grouped by `dims` (names from [`DIMS`]); what
    /// `GET /admin/usage` shows beside the budgets.
    pub fn this_month(today: i64, dims: &[&str]) -> Self {
        Self {
            from: budget::window::month_start(today),
            to: today,
            group_by: DIMS
                .iter()
                .filter(|d| dims.contains(&d.name))
                .copied()
                .collect(),
            key: None,
            user: None,
            model: None,
        }
    }

    /// Whether the query reads hourly rows (it groups by hour).
    pub fn hourly(&self) -> bool {
        self.group_by.iter().any(|d| d.name == "hour")
    }

    /// The SQL over the store and its bound values, one row per group, sorted by the groups.
    pub fn sql(&self) -> (String, Vec<String>) {
        let (table, when) = if self.hourly() {
            ("hourly", "hour")
        } else {
            ("daily", "day")
        };
        let dims: Vec<&str> = self
            .group_by
            .iter()
            .map(|d| {
                if d.name == "day" && self.hourly() {
                    "substr(hour, 1, 10)"
                } else {
                    d.column
                }
            })
            .collect();
        let mut sql = String::from("SELECT ");
        for d in &dims {
            sql.push_str(d);
            sql.push_str(", ");
        }
        sql.push_str(SUMS);
        sql.push_str(&format!(" FROM {table} WHERE {when} >= ? AND {when} < ?"));
        let mut params = vec![day_string(self.from), day_string(self.to + 1)];
        for (column, value) in [
            ("key_id", &self.key),
            ("user_id", &self.user),
            ("model", &self.model),
        ] {
            if let Some(v) = value {
                sql.push_str(&format!(" AND {column} = ?"));
                params.push(v.clone());
            }
        }
        if !dims.is_empty() {
            let list = dims.join(", ");
            sql.push_str(&format!(" GROUP BY {list} ORDER BY {list}"));
        }
        (sql, params)
    }

    /// The answer: `rows` are the SQL's result rows (the grouped values, then the sums).
    pub fn answer(&self, rows: &[Vec<Value>]) -> Value {
        let n = self.group_by.len();
        let mut totals = [0u64; 8];
        let out: Vec<Value> = rows
            .iter()
            .map(|row| {
                let mut o = Map::new();
                for (d, v) in self.group_by.iter().zip(row) {
                    let v = match v.as_str() {
                        Some("") => Value::Null,
                        _ => v.clone(),
                    };
                    o.insert(d.field.into(), v);
                }
                let sums: Vec<u64> = (0..8)
                    .map(|i| row.get(n + i).and_then(Value::as_u64).unwrap_or(0))
                    .collect();
                for (t, s) in totals.iter_mut().zip(&sums) {
                    *t += s;
                }
                counts(&mut o, &sums, true);
                Value::Object(o)
            })
            .collect();
        let mut t = Map::new();
        counts(&mut t, &totals, false);
        let names: Vec<&str> = self.group_by.iter().map(|d| d.name).collect();
        json!({
            "from": day_string(self.from), "to": day_string(self.to), "groupBy": names,
            "filters": {"key": self.key, "user": self.user, "model": self.model},
            "rows": out, "totals": t,
        })
    }

    /// The answer as CSV: the grouped dimensions, then the counts; one line per row.
    pub fn csv(&self, answer: &Value) -> String {
        let mut header: Vec<&str> = self.group_by.iter().map(|d| d.field).collect();
        header.extend(COUNT_FIELDS);
        let mut out = header.join(",");
        out.push('\n');
        for row in answer["rows"].as_array().into_iter().flatten() {
            let cells: Vec<String> = header.iter().map(|f| csv_cell(&row[*f])).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }
}

/// The `n` rows of an answer that cost the most (then used the most tokens), most first.
pub fn top(answer: &Value, n: usize) -> Vec<Value> {
    let mut rows: Vec<Value> = answer["rows"].as_array().cloned().unwrap_or_default();
    let micros = |r: &Value| {
        r["costUsd"]
            .as_str()
            .and_then(crate::pricing::parse_micros)
            .unwrap_or(0)
    };
    let tokens = |r: &Value| r["totalTokens"].as_u64().unwrap_or(0);
    rows.sort_by_key(|r| std::cmp::Reverse((micros(r), tokens(r))));
    rows.truncate(n);
    rows
}

/// The count fields of a row, in CSV order.
const COUNT_FIELDS: [&str; 8] = [
    "requests",
    "errors",
    "promptTokens",
    "completionTokens",
    "totalTokens",
    "costUsd",
    "unpricedRequests",
    "latencyMsMean",
];

/// Puts the counts (`sums` in `SUMS` order) into a row or the totals.
fn counts(o: &mut Map<String, Value>, sums: &[u64], mean: bool) {
    let [requests, errors, prompt, completion, total, cost, unpriced, latency] =
        [0, 1, 2, 3, 4, 5, 6, 7].map(|i| sums.get(i).copied().unwrap_or(0));
    o.insert("requests".into(), requests.into());
    o.insert("errors".into(), errors.into());
    o.insert("promptTokens".into(), prompt.into());
    o.insert("completionTokens".into(), completion.into());
    o.insert("totalTokens".into(), total.into());
    // Every request unpriced: the cost is not known at all, never shown as zero.
    let cost = if unpriced > 0 && unpriced == requests {
        Value::Null
    } else {
        usd(cost).into()
    };
    o.insert("costUsd".into(), cost);
    o.insert("unpricedRequests".into(), unpriced.into());
    if mean {
        o.insert(
            "latencyMsMean".into(),
            (latency.checked_div(requests).unwrap_or(0)).into(),
        );
    }
}

/// Characters a spreadsheet starts a formula with.
const FORMULA: [char; 4] = ['=', '+', '-', '\t'];

/// One CSV cell: null empty, strings quoted when they need it.
fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) if s.contains([',', '"', '\n', '\r']) || s.starts_with(FORMULA) => {
            // Quoted; a leading formula character is neutralised for spreadsheets.
            let s = if s.starts_with(FORMULA) {
                format!("'{s}")
            } else {
                s.clone()
            };
            format!("\"{}\"", s.replace('"', "\"\""))
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `groupBy`: known dimensions, each once; `day` and `hour` not together.
fn group_by(v: &str) -> Result<Vec<Dim>, Error> {
    let mut out: Vec<Dim> = Vec::new();
    for name in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some(d) = DIMS.iter().find(|d| d.name == name) else {
            return Err(invalid(
                "groupBy",
                format!("`{name}` is not one of day, hour, key, user, model, provider, status"),
            ));
        };
        if out.contains(d) {
            return Err(invalid("groupBy", format!("`{name}` is named twice")));
        }
        out.push(*d);
    }
    if out.iter().any(|d| d.name == "day") && out.iter().any(|d| d.name == "hour") {
        return Err(invalid(
            "groupBy",
            "use day or hour, not both (an hour names its day)",
        ));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "history_query_tests.rs"]
mod tests;
