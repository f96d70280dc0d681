//! `POST /v1/embeddings`: OpenAI's embeddings from the Workers AI binding or an HTTP provider, in batches, under the chat routes' auth, rate limits, budgets and prices (`gateway::surface::embeddings` decides; this does the I/O).

use budget::{Demand, Price};
use gateway::call::GatewayRoute;
use gateway::surface::embeddings as rules;
use gateway::surface::embeddings_answer as answers;
use gateway::surface::AnswerMeta;
use worker::{Context, Env, Response};

use crate::budgets::{self, set_remaining, Holds};
use crate::clock::now_ms;
use crate::config::Settings;
use crate::engine::answered::{answer_headers, spent};
use crate::engine::plan;
use crate::exchange::Exchange;
use crate::http::body::read_json_body;
use crate::http::error::ApiError;
use crate::providers::backend::Backend;
use crate::providers::embeddings::Calls;
use crate::providers::workers_ai::AI_BINDING;
use crate::router::Call;

const ROUTE: &str = "/v1/embeddings";

/// `POST /v1/embeddings`.
pub async fn handle(c: Call<'_>) -> Result<Response, ApiError> {
    let Call {
        mut req,
        env,
        ctx,
        settings,
        ex,
        ..
    } = c;
    let tenant = &settings.tenant;
    let body = read_json_body(&mut req, tenant.max_request_bytes).await?;
    let request = rules::parse(&body, tenant.drop_unsupported)?;
    let plan = plan::resolve(&settings, env, Some(&request.model)).await?;
    let model = rules::model_of(&plan).to_string();
    let spec = rules::model_spec(&model, &tenant.providers);
    rules::check_dimensions(request.dimensions, &model, spec)?;
    let Some(backend) = Backend::for_model(&model, tenant, env) else {
        return Err(ApiError::AiMissing(format!(
            "the `{AI_BINDING}` binding is missing"
        )));
    };
    let held = reserve(env, ctx, &settings, ex, &model, request.prompt_estimate()).await?;
    ex.log.model = Some(model.clone());
    let client = ex.principal.as_ref().and_then(|p| p.label());
    let calls = Calls {
        backend: &backend,
        model: &model,
        request: &request,
        spec,
        timeout_ms: u64::from(backend.timeout_ms().unwrap_or(tenant.attempt_timeout_ms)),
        route: GatewayRoute {
            gateway_id: &tenant.ai_gateway_id,
            tenant_id: tenant.tenant_id.as_str(),
            trace_id: &ex.trace_id,
            session_id: None,
            user: request.user.as_deref(),
            client: client.as_deref(),
            route: ROUTE,
        },
    };
    let (outcome, tokens) = calls.run().await;
    let tokens = tokens.priced(tenant.pricing.price(&model));
    let remaining = budgets::settle(env, held, spent(tokens), &mut ex.log, Some(ctx)).await;
    let vectors = match outcome {
        Ok(v) => v,
        Err(e) => {
            if tokens.total > 0 {
                ex.log.tokens = Some(tokens);
            }
            if let ApiError::AllModelsFailed { failure } = &e {
                ex.log.failed_attempts = failure.attempts.clone();
            }
            return Err(e);
        }
    };
    ex.log.tokens = Some(tokens);
    let meta = AnswerMeta {
        model: &model,
        fallback: false,
        trace_id: &ex.trace_id,
        session_id: None,
        created_s: ex.started_ms / 1000,
        latency_ms: now_ms().saturating_sub(ex.started_ms),
        ttft_ms: None,
        history_messages: None,
        max_tokens_reduced: None,
        sources: None,
    };
    let body = answers::answer_body(&vectors, request.encoding, &model, &tokens);
    let mut resp = Response::from_bytes(body)?;
    resp.headers_mut().set("content-type", "application/json")?;
    answer_headers(&mut resp, &meta, Some(&tokens))?;
    set_remaining(&mut resp, remaining)?;
    if !request.dropped.is_empty() {
        resp.headers_mut()
            .set("x-dropped-params", &request.dropped.join(", "))?;
    }
    Ok(resp)
}

/// Reserves the inputs' estimated tokens (embeddings have no output) in every budget the
/// caller must fit; a cost budget needs the model's price.
async fn reserve(
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    ex: &Exchange,
    model: &str,
    estimate: u64,
) -> Result<Holds, ApiError> {
    let demand = Demand {
        prompt: estimate,
        output: 0,
        min_output: 0,
        price: Price::default(),
    };
    let chain = [model.to_string()];
    budgets::reserve(env, ctx, settings, ex.principal.as_ref(), &chain, demand).await
}
