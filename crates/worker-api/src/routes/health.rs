//! `GET /health`: readiness. 200 with the tenant's resolved models when a chat request could
//! be served; 503 naming every problem (missing binding, broken config) when it could not.
//! Never a secret or a budget figure.

use gateway::model::resolve_model;
use gateway::ConfigError;
use serde_json::json;
use wasm_bindgen::JsValue;
use worker::{Env, Response};

use crate::ai::AI_BINDING;
use crate::budget_store::binding_for;
use crate::config::Settings;
use crate::error::ApiError;
use crate::http;

/// The build's version: the crate version, plus the commit when `GATEWAY_BUILD_SHA` was set at build time.
pub fn build_version() -> String {
    match option_env!("GATEWAY_BUILD_SHA") {
        Some(sha) if !sha.is_empty() => format!("{}+{sha}", env!("CARGO_PKG_VERSION")),
        _ => env!("CARGO_PKG_VERSION").to_string(),
    }
}

fn bound(env: &Env, name: &str) -> bool {
    js_sys::Reflect::get(env, &JsValue::from_str(name))
        .map(|v| !v.is_undefined() && !v.is_null())
        .unwrap_or(false)
}

pub fn handle(env: &Env, settings: &Settings) -> Result<Response, ApiError> {
    let t = &settings.tenant;
    let mut problems: Vec<String> = Vec::new();
    if !bound(env, AI_BINDING) {
        problems.push(format!(
            "the `{AI_BINDING}` binding is missing: add [ai] binding = \"{AI_BINDING}\""
        ));
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
    problems.extend(t.unservable("TENANT").iter().map(ToString::to_string));
    let plan = resolve_model(None, settings.env_model.as_deref(), t)?;
    let ready = problems.is_empty();
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
