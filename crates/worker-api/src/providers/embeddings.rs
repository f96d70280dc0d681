//! Embedding calls: a request's inputs in batches, a few at a time, to one model (the Workers
//! AI binding or an HTTP provider's `POST /embeddings`), for `/v1/embeddings` and knowledge
//! bases (`gateway::surface::embeddings` decides batches and reads answers; this does the I/O).

use std::ops::Range;

use futures::future::join_all;
use gateway::attempt::AttemptFailure;
use gateway::call::GatewayRoute;
use gateway::surface::embeddings::{self as rules, EmbeddingsRequest, ModelSpec};
use gateway::surface::embeddings_answer::{self as answers, Batch, Unusable};
use gateway::usage::TokenReport;
use gateway::wire::openai_http::{error_code, retry_after_secs};
use worker::Env;

use crate::clock::now_ms;
use crate::config::Settings;
use crate::http;
use crate::http::error::ApiError;
use crate::providers::backend::Backend;
use crate::providers::http::HttpProvider;
use crate::providers::within;
use crate::providers::workers_ai::AI_BINDING;

/// Embeds `texts` with `model` (a knowledge base's ingestion and retrieval): batched as for
/// `/v1/embeddings`. The vectors in order, and the priced tokens of every answered call
/// (billed whatever the outcome).
pub async fn embed(
    env: &Env,
    settings: &Settings,
    model: &str,
    texts: Vec<String>,
    route: GatewayRoute<'_>,
) -> (Result<Vec<Vec<f32>>, ApiError>, TokenReport) {
    let tenant = &settings.tenant;
    let Some(backend) = Backend::for_model(model, tenant, env) else {
        let e = ApiError::AiMissing(format!("the `{AI_BINDING}` binding is missing"));
        return (Err(e), TokenReport::default());
    };
    let request = EmbeddingsRequest {
        model: model.to_string(),
        inputs: texts,
        encoding: Default::default(),
        dimensions: None,
        user: None,
        dropped: Vec::new(),
    };
    let calls = Calls {
        backend: &backend,
        model,
        request: &request,
        spec: rules::model_spec(model, &tenant.providers),
        timeout_ms: u64::from(backend.timeout_ms().unwrap_or(tenant.attempt_timeout_ms)),
        route,
    };
    let (outcome, tokens) = calls.run().await;
    (outcome, tokens.priced(tenant.pricing.price(model)))
}

/// One request's calls: its inputs in batches, a few at a time, to one model.
pub struct Calls<'a> {
    pub backend: &'a Backend<'a>,
    pub model: &'a str,
    pub request: &'a EmbeddingsRequest,
    pub spec: ModelSpec,
    pub timeout_ms: u64,
    pub route: GatewayRoute<'a>,
}

/// A batch that failed, and whether its call was answered (then its tokens were spent).
type Failed = (Unusable, bool);

impl Calls<'_> {
    /// Every batch, in input order; the first failure ends the request. Returns the vectors
    /// and the tokens of every answered call (billed whatever the outcome).
    pub async fn run(&self) -> (Result<Vec<Vec<f32>>, ApiError>, TokenReport) {
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
