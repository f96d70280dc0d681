//! `POST /v1/embeddings`: OpenAI's embeddings from the Workers AI binding or an HTTP provider, in batches, under the chat routes' auth, rate limits, budgets and prices (`gateway::surface::embeddings` decides; this does the I/O).

use std::ops::Range;

use budget::{Demand, Price};
use futures::future::join_all;
use gateway::attempt::AttemptFailure;
use gateway::call::GatewayRoute;
use gateway::surface::embeddings::{self as rules, EmbeddingsRequest, ModelSpec};
use gateway::surface::embeddings_answer::{self as answers, Batch, Unusable};
use gateway::surface::AnswerMeta;
use gateway::usage::TokenReport;
use gateway::wire::openai_http::{error_code, retry_after_secs};
use worker::{Context, Env, Response};

use crate::budgets::{self, set_remaining, Holds};
use crate::clock::now_ms;
use crate::config::Settings;
use crate::engine::answered::{answer_headers, spent};
use crate::engine::plan;
use crate::exchange::Exchange;
use crate::http;
use crate::http::body::read_json_body;
use crate::http::error::ApiError;
use crate::providers::backend::Backend;
use crate::providers::http::HttpProvider;
use crate::providers::within;
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

/// One request's calls: its inputs in batches, a few at a time, to one model.
struct Calls<'a> {
    backend: &'a Backend<'a>,
    model: &'a str,
    request: &'a EmbeddingsRequest,
    spec: ModelSpec,
    timeout_ms: u64,
    route: GatewayRoute<'a>,
}

/// A batch that failed, and whether its call was answered (then its tokens were spent).
type Failed = (Unusable, bool);

impl Calls<'_> {
    /// Every batch, in input order; the first failure ends the request. Returns the vectors
    /// and the tokens of every answered call (billed whatever the outcome).
    async fn run(&self) -> (Result<Vec<Vec<f32>>, ApiError>, TokenReport) {
        let ranges = rules::batches(self.request.inputs.len(), self.spec.max_batch);
        let mut vectors = Vec::with_capacity(self.request.inputs.len());
        let mut tokens = TokenReport::default();
        for wave in ranges.chunks(rules::PARALLEL_CALLS) {
            let answers = join_all(wave.iter().map(|r| self.batch(r.clone()))).await;
            let mut failed = None;
            for (range, answer) in wave.iter().zip(answers) {
                let estimate = self.request.estimate(range.clone());
                match answer {
                    Ok(batch) => {
                        tokens = tokens.plus(answers::batch_tokens(batch.usage, estimate));
                        vectors.extend(batch.vectors);
                    }
                    Err((why, answered)) => {
                        if answered {
                            tokens = tokens.plus(answers::batch_tokens(None, estimate));
                        }
                        failed.get_or_insert(why);
                    }
                }
            }
            if let Some(why) = failed {
                let e = match why {
                    Unusable::Client(e) => e.into(),
                    Unusable::Upstream(f) => ApiError::AllModelsFailed {
                        failure: answers::failure(self.model, f),
                    },
                };
                return (Err(e), tokens);
            }
        }
        (Ok(vectors), tokens)
    }

    /// One call, for the inputs in `range`, within the attempt timeout.
    async fn batch(&self, range: Range<usize>) -> Result<Batch, Failed> {
        let texts = self.request.inputs.get(range).unwrap_or_default();
        let call = async {
            match self.backend {
                Backend::Binding(ai) => {
                    let inputs = rules::binding_inputs(texts);
                    ai.run_json(self.model, &inputs, &self.route).await
                }
                Backend::Http(p) => self.http(p, texts).await,
            }
        };
        let text = match within(now_ms() + self.timeout_ms, call).await {
            None => {
                return Err((
                    Unusable::Upstream(AttemptFailure::timeout(self.timeout_ms)),
                    false,
                ))
            }
            Some(Err(f)) => return Err((Unusable::Upstream(f), false)),
            Some(Ok(text)) => text,
        };
        let read = match self.backend {
            Backend::Binding(_) => answers::read_binding,
            Backend::Http(_) => answers::read_http,
        };
        read(&text, texts.len(), self.model, self.request.dimensions).map_err(|u| (u, true))
    }

    /// `POST {baseUrl}/embeddings` of an HTTP provider; the answer's text when it is a 2xx.
    async fn http(&self, p: &HttpProvider<'_>, texts: &[String]) -> Result<String, AttemptFailure> {
        let upstream_model = self.model.split_once('/').map_or(self.model, |(_, m)| m);
        let r = self.request;
        let body = rules::http_body(upstream_model, texts, r.dimensions, r.user.as_deref());
        let resp = p
            .send("/embeddings", Some(&body), Some(&self.route))
            .await?;
        let status = resp.status_code();
        let text = http::body_text(&resp)
            .await
            .map_err(|_| AttemptFailure::network("the answer could not be read"))?;
        if !(200..300).contains(&status) {
            let retry =
                retry_after_secs(resp.headers().get("retry-after").ok().flatten().as_deref());
            return Err(AttemptFailure::http(status, error_code(&text), retry));
        }
        Ok(text)
    }
}
