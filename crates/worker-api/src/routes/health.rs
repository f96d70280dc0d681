//! `GET /health`: the tenant's resolved models, gateway and build; never a secret or a budget figure.

use gateway::model::resolve_model;
use serde_json::json;
use worker::Response;

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

pub fn handle(settings: &Settings) -> Result<Response, ApiError> {
    let t = &settings.tenant;
    let plan = resolve_model(None, settings.env_model.as_deref(), t)?;
    let body = json!({
        "status": "ok",
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
    Ok(http::json(200, &body)?)
}
