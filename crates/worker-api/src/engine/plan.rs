//! The request's model chain: the pure rules of `gateway::model`, with the model lists of the
//! providers a tier preference list names (cached per isolate, `providers::discovery`).

use gateway::model::{is_listed, providers_to_ask, resolve_model_with, ModelPlan};
use worker::Env;

use crate::config::Settings;
use crate::http::error::ApiError;
use crate::providers::discovery;

/// Resolves the request's model chain; a tier's first model its provider lists leads.
pub async fn resolve(
    settings: &Settings,
    env: &Env,
    requested: Option<&str>,
) -> Result<ModelPlan, ApiError> {
    let tenant = &settings.tenant;
    let env_model = settings.env_model.as_deref();
    let mut listed: Vec<(&str, Option<Vec<String>>)> = Vec::new();
    for provider in providers_to_ask(requested, env_model, tenant) {
        let ids = match tenant.providers.get(provider) {
            Some(cfg) => discovery::models(cfg, env).await.map(|d| d.ids),
            None => None,
        };
        listed.push((provider, ids));
    }
    let available = |m: &str| is_listed(tenant, m, &listed);
    Ok(resolve_model_with(
        requested, env_model, tenant, &available,
    )?)
}
