//! `GET /health`: readiness. 200 with the tenant's resolved models when a chat request could
//! be served; 503 naming every problem (missing binding, broken config) when it could not.
//! Never a secret or a budget figure.

use gateway::model::resolve_model;
use gateway::ConfigError;
use serde_json::{json, Value};
use worker::{Env, Response};

use gateway::access::AuthMode;

use crate::access::auth::rate_limiter_bindings;
use crate::access::keys::AUTH_KV_BINDING;
use crate::budgets::store::binding_for;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::http;
use crate::http::error::ApiError;
use crate::providers::http::{HttpProvider, SendError};
use crate::providers::workers_ai::{binding_state, BindingState, WorkersAi, AI_BINDING};
use crate::sessions::store::SESSIONS_BINDING;

/// The build's version: the crate version, plus the commit when `GATEWAY_BUILD_SHA` was set at build time.
pub fn build_version() -> String {
    match option_env!("GATEWAY_BUILD_SHA") {
        Some(sha) if !sha.is_empty() => format!("{}+{sha}", env!("CARGO_PKG_VERSION")),
        _ => env!("CARGO_PKG_VERSION").to_string(),
    }
}

fn bound(env: &Env, name: &str) -> bool {
    crate::js::has_value(env, name)
}

fn secret_set(env: &Env, name: &str) -> bool {
    env.var(name).is_ok_and(|v| !v.to_string().is_empty())
}

pub async fn handle(env: &Env, settings: &Settings) -> Result<Response, ApiError> {
    let t = &settings.tenant;
    let mut problems: Vec<String> = Vec::new();
    match WorkersAi::from_env(env, AI_BINDING) {
        Err(_) => problems.push(format!(
            "the `{AI_BINDING}` binding is missing: add [ai] binding = \"{AI_BINDING}\""
        )),
        Ok(ai) => {
            if binding_state(&ai).await == BindingState::RemoteOnly {
                problems.push(format!(
                    "the `{AI_BINDING}` binding cannot run here (it only runs remotely, as under \
                     `wrangler dev --local`): every chat answers 503 ai_unavailable; run \
                     `bash scripts/dev.sh` for a local stand-in, or `wrangler dev` with an account"
                ));
            }
        }
    }
    if t.auth.mode == AuthMode::ApiKeys
        && !secret_set(env, "ADMIN_TOKEN")
        && !secret_set(env, "CLIENT_TOKEN_SECRET")
    {
        problems.push(
            "auth.mode is api-keys, but neither ADMIN_TOKEN (to make keys) nor \
             CLIENT_TOKEN_SECRET (to verify end-user tokens) is set: no client can \
             authenticate (wrangler secret put ADMIN_TOKEN)"
                .to_string(),
        );
    }
    if let Some(b) = &t.budget {
        let name = binding_for(b.store);
        if !bound(env, name) {
            problems.push(format!(
                "budget.store is {}, but the `{name}` binding is missing",
                serde_json::to_value(b.store)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ));
        }
    }
    if t.auth.mode == AuthMode::ApiKeys && !bound(env, AUTH_KV_BINDING) {
        problems.push(format!(
            "auth.mode is api-keys, but the `{AUTH_KV_BINDING}` KV binding (key records) is missing"
        ));
    }
    for b in rate_limiter_bindings(settings) {
        if !bound(env, b) {
            problems.push(format!(
                "auth.rateLimits needs the `{b}` rate limiting binding ([[ratelimits]])"
            ));
        }
    }
    if t.sessions.is_some() && !bound(env, SESSIONS_BINDING) {
        problems.push(format!(
            "sessions are enabled, but the `{SESSIONS_BINDING}` Durable Object binding (class ChatSession) is missing"
        ));
    }
    if !t.knowledge.is_empty() {
        crate::knowledge::health::problems(env, &t.knowledge, &mut problems).await;
    }
    problems.extend(t.unservable("TENANT").iter().map(ToString::to_string));
    let plan = resolve_model(None, settings.env_model.as_deref(), t)?;
    let ready = problems.is_empty();
    let mut auth = json!({ "mode": t.auth.mode, "rateLimits": t.auth.rate_limits });
    if t.auth.mode == AuthMode::Open {
        auth["warning"] = "open mode: anyone who can reach this URL can spend the budget".into();
    }
    let body = json!({
        "status": if ready { "ok" } else { "unavailable" },
        "problems": problems,
        "tenantId": t.tenant_id,
        "gatewayId": t.ai_gateway_id,
        "models": {
            "chat": plan.primary(),
            "source": plan.source,
            "fallbacks": plan.fallbacks(),
            "tiers": t.tiers,
        },
        "budget": {
            "configured": t.budget.is_some(),
            "store": t.budget.as_ref().map(|b| b.store),
        },
        "auth": auth,
        "version": build_version(),
    });
    Ok(http::json(if ready { 200 } else { 503 }, &body)?)
}

/// `/health` when the config itself is broken: 503 with the problem (a field path and rule,
/// never a value that could be a secret).
pub fn unready(e: &ConfigError) -> Result<Response, ApiError> {
    let body = json!({
        "status": "unavailable",
        "problems": [e.to_string()],
        "version": build_version(),
    });
    Ok(http::json(503, &body)?)
}

/// `GET /health/providers`: checks every provider for real (token fetch, model list, latency).
/// The router serves it only to `is_admin` callers; to everyone else it is a plain 404.
pub async fn providers(env: &Env, settings: &Settings) -> Result<Response, ApiError> {
    let mut out: Vec<Value> = vec![json!({
        "name": "workers-ai", "kind": "binding",
        "status": if bound(env, AI_BINDING) { "ok" } else { "unreachable" },
    })];
    for (name, cfg) in &settings.tenant.providers {
        let p = HttpProvider { cfg, env };
        let started = now_ms();
        let outcome = match p.check_token().await {
            Ok(()) => p.list_models().await,
            Err(e) => Err(e),
        };
        let (status, models, detail) = match outcome {
            Ok(ids) if ids.is_empty() => {
                ("no_models", 0, "the provider lists no models".to_string())
            }
            Ok(ids) => ("ok", ids.len(), String::new()),
            Err(SendError::Auth(d)) => ("auth_failed", 0, d),
            Err(SendError::Network(d)) => ("unreachable", 0, d),
        };
        out.push(json!({
            "name": name, "kind": cfg.kind(), "status": status, "models": models,
            "latencyMs": now_ms().saturating_sub(started), "detail": detail,
        }));
    }
    let all_ok = out.iter().all(|p| p["status"] == "ok");
    let body = json!({ "status": if all_ok { "ok" } else { "degraded" }, "providers": out });
    Ok(http::json(200, &body)?)
}
