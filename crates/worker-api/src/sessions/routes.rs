//! `GET /sessions`, `GET /sessions/{id}`, `DELETE /sessions/{id}`: the caller's own sessions.
//! Another owner's session is a 404, like one that does not exist (no existence oracle).

use serde_json::{json, Value};
use worker::{Env, Response};

use crate::clock::now_ms;
use crate::config::Settings;
use crate::exchange::Exchange;
use crate::http;
use crate::http::error::ApiError;
use crate::sessions::names;
use crate::sessions::store::{self, SessionOp, SessionState, Summary};

/// Sends `op` to the object `name`; `None` when it holds no session.
async fn call<T: for<'de> serde::Deserialize<'de>>(
    env: &Env,
    name: &str,
    op: &SessionOp,
) -> Result<Option<T>, ApiError> {
    store::call(env, name, op)
        .await
        .map_err(|e| ApiError::SessionStore(e.to_string()))
}

/// A path id must follow the `sessionId` rules (no `/`), or it names no session at all.
fn valid_id(id: &str) -> Result<(), ApiError> {
    match gateway::surface::native_request::check_session_id(id.to_string()) {
        Ok(_) => Ok(()),
        Err(_) => Err(ApiError::SessionNotFound {
            id: id.chars().take(128).collect(),
        }),
    }
}

fn enabled(settings: &Settings, path: &str) -> Result<(), ApiError> {
    match settings.tenant.sessions {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound {
            path: path.to_string(),
        }),
    }
}

pub async fn list(env: &Env, settings: &Settings, ex: &Exchange) -> Result<Response, ApiError> {
    enabled(settings, "/sessions")?;
    let (index, _) = names(settings, ex.principal.as_ref(), "");
    let list: Vec<Summary> = call(env, &index, &SessionOp::IndexList { now_ms: now_ms() })
        .await?
        .unwrap_or_default();
    Ok(http::json(200, &json!({ "sessions": list }))?)
}

pub async fn get(
    env: &Env,
    settings: &Settings,
    ex: &Exchange,
    id: &str,
) -> Result<Response, ApiError> {
    enabled(settings, "/sessions")?;
    valid_id(id)?;
    let (_, object) = names(settings, ex.principal.as_ref(), id);
    let state: Option<SessionState> = call(env, &object, &SessionOp::Get).await?;
    let s = state.ok_or_else(|| ApiError::SessionNotFound { id: id.to_string() })?;
    Ok(http::json(
        200,
        &json!({ "id": id, "createdAt": s.created_at, "updatedAt": s.updated_at, "messages": s.messages }),
    )?)
}

pub async fn delete(
    env: &Env,
    settings: &Settings,
    ex: &Exchange,
    id: &str,
) -> Result<Response, ApiError> {
    enabled(settings, "/sessions")?;
    valid_id(id)?;
    let (index, object) = names(settings, ex.principal.as_ref(), id);
    let deleted: Option<Value> = call(env, &object, &SessionOp::Delete).await?;
    if deleted.is_none() {
        return Err(ApiError::SessionNotFound { id: id.to_string() });
    }
    call::<Value>(env, &index, &SessionOp::IndexDel { id: id.to_string() }).await?;
    Ok(http::json(200, &json!({ "id": id, "deleted": true }))?)
}
