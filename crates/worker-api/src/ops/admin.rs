//! `/admin/*`: API keys (create, list, revoke) and usage per key, for holders of `ADMIN_TOKEN`.

use gateway::credential::{new_key, new_secret_for, rotate as rotated, KeyRecord};
use gateway::key_spec::KeySpec;
use serde_json::{json, Value};
use worker::{Env, Response};

use crate::access::keys::{self, KeyInfo};
use crate::budgets::store::TenantBudget;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::http;
use crate::http::body::read_json_body;
use crate::http::error::ApiError;
use crate::http::incoming::Request;
use crate::ops::history::store::HistoryOp;
use crate::router::Call;
use gateway::budgets::{budget_windows, budgets_of, Scope};
use gateway::history_query::{top, HistoryQuery};

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::InvalidRequest {
        field: Some(field.to_string()),
        message: format!("{field}: {message}"),
    }
}

/// `POST /admin/keys`: makes a key and shows it once.
pub async fn create(
    mut req: Request,
    env: &Env,
    settings: &Settings,
) -> Result<Response, ApiError> {
    let body = read_json_body(&mut req, 16 * 1024).await?;
    let now_s = now_ms() / 1000;
    let new = KeySpec::from_body(&body, now_s)?;
    let random = keys::random_bytes::<38>().map_err(ApiError::Internal)?;
    let (id, key, hash) = new_key(&random);
    let record = KeyRecord {
        id,
        name: new.name,
        scopes: new.scopes,
        budget: new.budget,
        expires_at: new.expires_at,
        rate_limit: new.rate_limit,
        groups: new.groups,
        revoked: false,
        created_at: now_s,
        hash,
        previous_hash: None,
        previous_valid_until: None,
        rotated_at: None,
    };
    keys::store(env, settings.tenant.tenant_id.as_str(), &record)
        .await
        .map_err(ApiError::AuthStore)?;
    let mut body = json!(KeyInfo::from(&record));
    body["key"] = key.into();
    Ok(http::json(201, &body)?)
}

/// `GET /admin/keys`: every key's public part (never a key or a hash).
pub async fn list(env: &Env, settings: &Settings) -> Result<Response, ApiError> {
    let keys = keys::list(env, settings.tenant.tenant_id.as_str())
        .await
        .map_err(ApiError::AuthStore)?;
    Ok(http::json(200, &json!({ "keys": keys }))?)
}

/// `DELETE /admin/keys/{id}`: revokes (the record stays, marked revoked, for the audit trail).
pub async fn revoke(env: &Env, settings: &Settings, id: &str) -> Result<Response, ApiError> {
    let tenant = settings.tenant.tenant_id.as_str();
    let record = keys::lookup(env, tenant, id, 0)
        .await
        .map_err(ApiError::AuthStore)?;
    let Some(mut record) = record else {
        return Err(ApiError::NotFound {
            path: format!("/admin/keys/{id}"),
        });
    };
    record.revoked = true;
    keys::store(env, tenant, &record)
        .await
        .map_err(ApiError::AuthStore)?;
    Ok(http::json(
        200,
        &json!({ "id": record.id, "revoked": true }),
    )?)
}

/// The longest grace period a rotation may give the old secret: 30 days.
const MAX_GRACE_S: i64 = 30 * 86_400;

/// `POST /admin/keys/{id}/rotate`: a new secret for the same key id (budgets, limits and usage
/// stay with the id); the old secret keeps working for `graceSeconds` (default 3600).
pub async fn rotate(c: Call<'_>) -> Result<Response, ApiError> {
    let id = c.param().to_string();
    let Call {
        mut req,
        env,
        settings,
        ..
    } = c;
    let id = id.as_str();
    // The body is optional: none, or an empty one, takes the defaults.
    let has_type = req.headers().get("content-type").ok().flatten().is_some();
    let body = if has_type {
        read_json_body(&mut req, 16 * 1024).await?
    } else {
        Vec::new()
    };
    let grace = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let map = gateway::json::object_body(&body)?;
        let o = gateway::json::Obj::new(&map, "");
        o.known(&["graceSeconds"])?;
        o.i64("graceSeconds")?
    };
    let grace = grace.unwrap_or(3600);
    if !(0..=MAX_GRACE_S).contains(&grace) {
        return Err(invalid(
            "graceSeconds",
            &format!("must be between 0 and {MAX_GRACE_S} (30 days)"),
        ));
    }
    let tenant = settings.tenant.tenant_id.as_str();
    let record = keys::lookup(env, tenant, id, 0)
        .await
        .map_err(ApiError::AuthStore)?
        .ok_or_else(|| ApiError::NotFound {
            path: format!("/admin/keys/{id}/rotate"),
        })?;
    if record.revoked {
        return Err(invalid("id", "the key is revoked; make a new one instead"));
    }
    let random = keys::random_bytes::<32>().map_err(ApiError::Internal)?;
    let (key, hash) = new_secret_for(&record.id, &random);
    let now_s = now_ms() / 1000;
    let record = rotated(&record, hash, now_s, grace as u64);
    keys::store(env, tenant, &record)
        .await
        .map_err(ApiError::AuthStore)?;
    let mut body = json!(KeyInfo::from(&record));
    body["key"] = key.into();
    Ok(http::json(200, &body)?)
}

/// `GET /admin/usage`: the tenant's and each budgeted key's use in the current windows
/// (`used` is null for KV stores, whose totals are spread over shards).
pub async fn usage(env: &Env, settings: &Settings) -> Result<Response, ApiError> {
    let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    let tenant = settings.tenant.tenant_id.as_str();
    let read = |name: String, kind| async move {
        match TenantBudget::open(env, &name, kind) {
            Ok(store) => store.used(now).await,
            Err(_) => None,
        }
    };
    let mut tenant_usage = Value::Null;
    if let Some(b) = budgets_of(&settings.tenant, None)
        .into_iter()
        .find(|b| b.scope == Scope::Tenant)
    {
        let used = read(b.ledger, b.store).await;
        tenant_usage = budget_windows(b.limits, used);
    }
    let mut per_key = Vec::new();
    for info in keys::list(env, tenant).await.map_err(ApiError::AuthStore)? {
        let Some(budget) = info.budget else { continue };
        let principal = gateway::credential::Principal::Key {
            id: info.id.clone(),
            scopes: vec![],
            budget: Some(budget),
            rate_limit: None,
            groups: Vec::new(),
        };
        let Some(b) = budgets_of(&settings.tenant, Some(&principal))
            .into_iter()
            .find(|b| b.scope == Scope::Key)
        else {
            continue;
        };
        let used = read(b.ledger, b.store).await;
        let mut row = budget_windows(b.limits, used);
        row["id"] = info.id.into();
        row["name"] = info.name.into();
        row["revoked"] = info.revoked.into();
        per_key.push(row);
    }
    let (month, users) = this_month(env, settings).await;
    Ok(http::json(
        200,
        &json!({ "tenant": tenant_usage, "keys": per_key, "month": month, "users": users }),
    )?)
}

/// This month's totals (every request, budgeted or not, with its cost) and the 20 end users
/// who cost the most, from one history read grouped by user (its totals are the month's);
/// nulls without a history store or when it fails.
async fn this_month(env: &Env, settings: &Settings) -> (Value, Value) {
    if !crate::ops::history::store::available(env) {
        return (Value::Null, Value::Null);
    }
    let today = crate::clock::today();
    let tenant = settings.tenant.tenant_id.as_str();
    let q = HistoryQuery::this_month(today, &["user"]);
    let (sql, params) = q.sql();
    let op = HistoryOp::Query { sql, params };
    let Ok(rows) = crate::ops::history::store::call(env, tenant, &op).await else {
        return (Value::Null, Value::Null);
    };
    let Ok(rows) = serde_json::from_value::<Vec<Vec<Value>>>(rows) else {
        return (Value::Null, Value::Null);
    };
    let mut answer = q.answer(&rows);
    let month = answer["totals"].take();
    if let Some(r) = answer["rows"].as_array_mut() {
        r.retain(|row| !row["user"].is_null());
    }
    (month, Value::Array(top(&answer, 20)))
}
