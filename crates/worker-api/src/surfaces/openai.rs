//! The OpenAI-compatible surface: `POST /v1/chat/completions`, `GET /v1/models[/{id}]`.

use gateway::model::{listed_models, ListedModel};
use gateway::percent::percent_decode;
use gateway::provider_config::ModelRef;
use gateway::surface::openai::OpenAiEncoder;
use gateway::surface::openai_request;
use serde_json::{json, Value};
use worker::{Env, Response};

use crate::config::Settings;
use crate::engine::{self, Ask};
use crate::http;
use crate::http::body::read_json_body;
use crate::http::error::ApiError;
use crate::providers::discovery;
use crate::router::Call;

/// `POST /v1/chat/completions`.
pub async fn completions(c: Call<'_>) -> Result<Response, ApiError> {
    let Call {
        mut req,
        env,
        ctx,
        settings,
        ex,
        ..
    } = c;
    let body = read_json_body(&mut req, settings.tenant.max_request_bytes).await?;
    let parsed = openai_request::parse(&body, settings.tenant.drop_unsupported)?;
    let conv = parsed.conv;
    let ask = Ask {
        encoder: Box::new(OpenAiEncoder::new(conv.include_usage)),
        conv,
        route: "/v1/chat/completions",
        // Stateless: OpenAI clients send the whole conversation each time.
        session: None,
    };
    let mut resp = engine::answer(env, ctx, &settings, ex, ask).await?;
    if !parsed.dropped.is_empty() {
        resp.headers_mut()
            .set("x-dropped-params", &parsed.dropped.join(", "))?;
    }
    Ok(resp)
}

fn model_json(m: &ListedModel, stale: bool) -> Value {
    let mut v = json!({ "id": m.id, "object": "model", "created": 0, "owned_by": m.owned_by });
    if stale {
        v["stale"] = true.into();
    }
    v
}

/// The configured models, then each HTTP provider's discovered ones (`<provider>/<id>`,
/// within a non-empty allow-list; `stale` when the provider could not be asked just now).
async fn everything(settings: &Settings, env: &Env) -> Vec<(ListedModel, bool)> {
    let t = &settings.tenant;
    let mut out: Vec<(ListedModel, bool)> = listed_models(t, settings.env_model.as_deref())
        .into_iter()
        .map(|m| (m, false))
        .collect();
    for (name, cfg) in &t.providers {
        let Some(found) = discovery::models(cfg, env).await else {
            continue;
        };
        for id in found.ids {
            let full = format!("{name}/{id}");
            let allowed = t.model_allow_list.is_empty() || t.model_allow_list.contains(&full);
            if allowed && !out.iter().any(|(m, _)| m.id == full) {
                let m = ListedModel {
                    id: full,
                    owned_by: name.clone(),
                };
                out.push((m, found.stale));
            }
        }
    }
    out
}

/// `GET /v1/models`: what this tenant's clients may name; in Anthropic's shape for a request
/// that carries `anthropic-version` (the Anthropic SDKs' `models.list`).
pub async fn models(c: Call<'_>) -> Result<Response, ApiError> {
    let listed = everything(&c.settings, c.env).await;
    if wants_anthropic(&c) {
        let models: Vec<(String, String)> = listed
            .into_iter()
            .map(|(m, _)| (m.id.clone(), m.id))
            .collect();
        return Ok(http::json(
            200,
            &gateway::surface::anthropic::models_body(&models),
        )?);
    }
    let data: Vec<Value> = listed
        .iter()
        .map(|(m, stale)| model_json(m, *stale))
        .collect();
    Ok(http::json(200, &json!({ "object": "list", "data": data }))?)
}

/// Whether the request comes from an Anthropic SDK (it carries `anthropic-version`).
fn wants_anthropic(c: &Call<'_>) -> bool {
    c.req
        .headers()
        .get("anthropic-version")
        .ok()
        .flatten()
        .is_some()
}

/// `GET /v1/models/{id}`; the id may be percent-encoded (`@cf%2Fmeta%2F...`). Only a
/// provider's own models need asking it. In Anthropic's shape for an Anthropic SDK.
pub async fn model(c: Call<'_>) -> Result<Response, ApiError> {
    let (settings, env) = (&c.settings, c.env);
    let id = percent_decode(c.param());
    let configured = listed_models(&settings.tenant, settings.env_model.as_deref());
    let found = match configured.iter().find(|m| m.id == id) {
        Some(m) => Some((m.clone(), false)),
        None if matches!(
            ModelRef::parse(&id, &settings.tenant.providers),
            ModelRef::Provider { .. }
        ) =>
        {
            everything(settings, env)
                .await
                .into_iter()
                .find(|(m, _)| m.id == id)
        }
        None => None,
    };
    match found {
        Some((m, _)) if wants_anthropic(&c) => Ok(http::json(
            200,
            &gateway::surface::anthropic::model_body(&m.id, &m.id),
        )?),
        Some((m, stale)) => Ok(http::json(200, &model_json(&m, stale))?),
        None => Err(ApiError::ModelNotListed { model: id }),
    }
}
