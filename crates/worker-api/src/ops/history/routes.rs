//! `GET /admin/usage/history`: the tenant's usage rows over a window, grouped and filtered, as JSON or CSV.

use gateway::history_query::HistoryQuery;
use worker::Response;

use super::store::{self, HistoryOp};
use crate::clock::today;
use crate::http::error::ApiError;
use crate::router::Call;

/// `GET /admin/usage/history?from&to&groupBy&key&user&model` (`Accept: text/csv` for CSV).
pub async fn handle(c: Call<'_>) -> Result<Response, ApiError> {
    if !store::available(c.env) {
        return Err(ApiError::HistoryOff);
    }
    let query = c.req.url().split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    let today = today();
    let q = HistoryQuery::parse(query, today, c.settings.tenant.usage_history)?;
    let (sql, params) = q.sql();
    let tenant = c.settings.tenant.tenant_id.as_str();
    let rows = store::call(c.env, tenant, &HistoryOp::Query { sql, params })
        .await
        .map_err(ApiError::HistoryStore)?;
    let rows: Vec<Vec<serde_json::Value>> =
        serde_json::from_value(rows).map_err(|e| ApiError::HistoryStore(e.to_string()))?;
    let answer = q.answer(&rows);
    let wants_csv = c
        .req
        .headers()
        .get("accept")
        .ok()
        .flatten()
        .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        let mut resp = Response::ok(q.csv(&answer))?;
        resp.headers_mut()
            .set("content-type", "text/csv; charset=utf-8")?;
        return Ok(resp);
    }
    Ok(crate::http::json(200, &answer)?)
}
