//! The chat engine: one conversation through model resolution, the budget, the attempt state
//! machine and a provider, answered through a surface's encoder. Every surface uses it.

pub mod pump;
pub mod stream;

use budget::{Amount, Demand, Price};
use gateway::answer::AnswerFold;
use gateway::attempt::{AttemptFailure, AttemptPlan, Decision, Input};
use gateway::call::{GatewayRoute, ModelCall};
use gateway::conversation::Conversation;
use gateway::events::ModelEvent;
use gateway::model::{resolve_model_with, ModelPlan};
use gateway::provider_config::ModelRef;
use gateway::surface::{AnswerMeta, Encoder};
use gateway::usage::TokenReport;
use worker::{Context, Env, Response};

use self::stream::Relay;
use crate::budgets::{self, set_remaining};
use crate::clock::now_ms;
use crate::config::Settings;
use crate::exchange::Exchange;
use crate::http;
use crate::http::error::ApiError;
use crate::providers::backend::Backend;
use crate::providers::discovery;
use crate::providers::workers_ai::{WorkersAi, AI_BINDING};
use crate::providers::{within, ChatProvider, ModelOutput, Read};
use crate::sessions::{self, SessionTurn};

/// What an attempt that reached its first output (or its end) hands on.
pub struct Started {
    pub output: ModelOutput,
    pub fold: AnswerFold,
    /// Events for the client, read but not yet sent.
    pub pending: Vec<ModelEvent>,
    /// Whether the answer already ended (whole answers, short streams, the output cap).
    pub ended: bool,
}

/// What a surface hands the engine: the conversation, its encoder, its route (`/chat`,
/// `/v1/chat/completions`, for the metadata) and the session turn, if any.
pub struct Ask<E> {
    pub conv: Conversation,
    pub encoder: E,
    pub route: &'static str,
    pub session: Option<SessionTurn>,
}

/// Answers a surface's request with its encoder's format.
pub async fn answer<E: Encoder + 'static>(
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    ex: &mut Exchange,
    ask: Ask<E>,
) -> Result<Response, ApiError> {
    let Ask {
        conv,
        encoder,
        route,
        session,
    } = ask;
    let tenant = &settings.tenant;
    ex.log.session_id.clone_from(&conv.session_id);
    ex.log.stream = conv.stream;
    let plan = resolve_plan(settings, env, conv.model.as_deref()).await?;
    let uses_binding = plan
        .chain
        .iter()
        .any(|m| matches!(ModelRef::parse(m, &tenant.providers), ModelRef::Binding(_)));
    if uses_binding {
        WorkersAi::from_env(env, AI_BINDING).map_err(|e| ApiError::AiMissing(e.to_string()))?;
    }
    let prompt_estimate = conv.prompt_estimate();
    let wanted = u64::from(conv.output_cap(tenant.max_output_tokens));
    let demand = Demand {
        prompt: prompt_estimate,
        output: wanted,
        min_output: wanted.min(u64::from(tenant.min_output_tokens)),
        price: Price::default(),
    };
    let held = budgets::reserve(env, ctx, settings, ex.principal.as_ref(), demand).await?;
    // Shrink-to-fit: the budgets admitted a smaller output cap than the request's.
    let cap = held.output;
    let reduced = (cap < wanted).then_some(cap);
    ex.log.max_tokens_reduced = reduced;
    let client = ex.principal.as_ref().and_then(|p| p.label());
    let mut attempts = AttemptPlan::new(plan.chain);
    // Tokens of attempts that failed after the model started answering: billed too.
    let mut billed = TokenReport::default();
    let mut decision = attempts.start();
    let failure = loop {
        let model = match decision {
            Decision::Call(m) => m,
            Decision::GiveUp(f) => break f,
            Decision::Commit { .. } | Decision::EndStream { .. } => {
                budgets::settle(env, held, spent(billed), &mut ex.log, Some(ctx)).await;
                return Err(ApiError::Internal("attempt plan out of order".into()));
            }
        };
        let Some(backend) = Backend::for_model(&model, tenant, env) else {
            // Only a binding that vanished can get here (configs are checked): the attempt
            // fails like an unavailable binding, so the books are still settled below.
            let failure = AttemptFailure {
                kind: gateway::attempt::FailureKind::Unavailable,
                detail: format!("no backend for `{model}`"),
            };
            decision = attempts.on(Input::Failed(failure));
            continue;
        };
        let timeout_ms = u64::from(backend.timeout_ms().unwrap_or(tenant.attempt_timeout_ms));
        // Always streamed from the provider: a whole answer is assembled here, so the output
        // cap cuts it off (and the provider stops) even when a model ignores `max_tokens`.
        let mut call = ModelCall::new(&model, &conv, u32::try_from(cap).unwrap_or(u32::MAX));
        call.stream = true;
        let gateway = GatewayRoute {
            gateway_id: &tenant.ai_gateway_id,
            tenant_id: tenant.tenant_id.as_str(),
            trace_id: &ex.trace_id,
            session_id: conv.session_id.as_deref(),
            user: conv.user.as_deref(),
            client: client.as_deref(),
            route,
        };
        let deadline = now_ms() + timeout_ms;
        // Every answer is cut at the output cap as it arrives, so none bills past its reservation.
        let fold = AnswerFold::new(prompt_estimate, cap, true);
        let outcome = match within(deadline, backend.run(&call, &gateway)).await {
            None => Err((AttemptFailure::timeout(timeout_ms), None)),
            Some(Err(f)) => Err((f, None)),
            Some(Ok(output)) => first_output(output, fold, deadline, timeout_ms, conv.stream).await,
        };
        let started = match outcome {
            Ok(started) => started,
            Err((f, fold)) => {
                if let Some(fold) = fold {
                    billed = billed.plus(fold.report());
                }
                decision = attempts.on(Input::Failed(f));
                continue;
            }
        };
        let Decision::Commit { model, fallback } = attempts.on(Input::FirstOutput) else {
            let usage = started.fold.report().plus(billed);
            budgets::settle(env, held, spent(usage), &mut ex.log, Some(ctx)).await;
            return Err(ApiError::Internal("attempt plan did not commit".into()));
        };
        ex.log.model = Some(model.clone());
        ex.log.fallback = fallback;
        ex.log.failed_attempts = attempts.attempts().clone();
        if conv.stream {
            let relay = Relay {
                held,
                model,
                fallback,
                session_id: conv.session_id.clone(),
                billed,
                idle_timeout_ms: timeout_ms,
                attempts,
                session,
                env: env.clone(),
                max_tokens_reduced: reduced,
            };
            return stream::start(ctx, ex, encoder, relay, started);
        }
        let mut answer = started.fold.into_answer();
        answer.usage = answer.usage.plus(billed);
        if let Some(turn) = &session {
            if let Err(e) = sessions::record(env, turn, &answer).await {
                ex.log.error_detail = Some(format!("session not stored: {e}"));
            }
        }
        ex.log.tokens = Some(answer.usage);
        ex.log.finish = Some(answer.finish.as_str());
        let remaining =
            budgets::settle(env, held, spent(answer.usage), &mut ex.log, Some(ctx)).await;
        let meta = AnswerMeta {
            model: &model,
            fallback,
            trace_id: &ex.trace_id,
            session_id: conv.session_id.as_deref(),
            created_s: ex.started_ms / 1000,
            latency_ms: now_ms().saturating_sub(ex.started_ms),
            ttft_ms: None,
            history_messages: session.as_ref().map(|s| s.history_sent),
            max_tokens_reduced: reduced,
        };
        let mut resp = http::json(200, &encoder.answer(&answer, &meta))?;
        answer_headers(&mut resp, &meta, Some(&answer.usage))?;
        set_remaining(&mut resp, remaining)?;
        return Ok(resp);
    };
    ex.log.model = None;
    ex.log.failed_attempts = failure.attempts.clone();
    if billed.total > 0 {
        ex.log.tokens = Some(billed);
    }
    budgets::settle(env, held, spent(billed), &mut ex.log, Some(ctx)).await;
    Err(ApiError::AllModelsFailed { failure })
}

/// What an answer's usage costs a budget.
pub fn spent(usage: TokenReport) -> Amount {
    Amount::tokens(usage.total)
}

/// Resolves the request's model chain. When it names a tier with a preference list, the
/// providers in the list are asked what they serve (cached), so the first listed model leads.
pub async fn resolve_plan(
    settings: &Settings,
    env: &Env,
    requested: Option<&str>,
) -> Result<ModelPlan, ApiError> {
    let tenant = &settings.tenant;
    let set = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let chosen = set(requested)
        .or_else(|| set(settings.env_model.as_deref()))
        .unwrap_or_else(|| tenant.chat_model.clone());
    let mut listed: Vec<(String, Option<Vec<String>>)> = Vec::new();
    if let Some(tier) = tenant.tiers.get(&chosen).filter(|t| t.0.len() > 1) {
        for m in &tier.0 {
            if let ModelRef::Provider { provider, .. } = ModelRef::parse(m, &tenant.providers) {
                if listed.iter().any(|(p, _)| p == provider) {
                    continue;
                }
                let ids = match tenant.providers.get(provider) {
                    Some(cfg) => discovery::models(cfg, env).await.map(|d| d.ids),
                    None => None,
                };
                listed.push((provider.to_string(), ids));
            }
        }
    }
    let available = |m: &str| match ModelRef::parse(m, &tenant.providers) {
        ModelRef::Binding(_) => true,
        ModelRef::Provider { provider, model } => listed.iter().any(|(p, ids)| {
            p == provider
                && ids
                    .as_ref()
                    .is_some_and(|ids| ids.iter().any(|i| i == model))
        }),
    };
    Ok(resolve_model_with(
        requested,
        settings.env_model.as_deref(),
        tenant,
        &available,
    )?)
}

/// The gateway's facts about an answer, as `x-` headers (token counts when known).
pub fn answer_headers(
    resp: &mut Response,
    meta: &AnswerMeta<'_>,
    usage: Option<&TokenReport>,
) -> worker::Result<()> {
    let h = resp.headers_mut();
    h.set("x-model-id", meta.model)?;
    if let (Some(id), Some(_)) = (meta.session_id, meta.history_messages) {
        h.set("x-session-id", id)?;
    }
    h.set("x-fallback", if meta.fallback { "true" } else { "false" })?;
    if let Some(n) = meta.max_tokens_reduced {
        h.set("x-max-tokens-reduced", &n.to_string())?;
    }
    if let Some(u) = usage {
        h.set("x-tokens-prompt", &u.prompt.to_string())?;
        h.set("x-tokens-completion", &u.completion.to_string())?;
        h.set("x-tokens-used", &u.total.to_string())?;
        h.set(
            "x-tokens-estimated",
            if u.estimated { "true" } else { "false" },
        )?;
        h.set("x-latency-ms", &meta.latency_ms.to_string())?;
    }
    Ok(())
}

type AttemptError = (AttemptFailure, Option<AnswerFold>);

/// Reads an attempt's output until its first client-visible output (streams) or its end
/// (whole answers: nothing reaches the client before the end, so any failure may fall back).
/// A whole answer may take as long as it keeps sending: after its first output the deadline
/// is `timeout_ms` from the latest chunk, as for a relayed stream.
async fn first_output(
    mut output: ModelOutput,
    mut fold: AnswerFold,
    mut deadline: u64,
    timeout_ms: u64,
    stream: bool,
) -> Result<Started, AttemptError> {
    let (mut pending, mut fresh) = (Vec::new(), Vec::new());
    loop {
        let read = output.read(deadline, &mut fresh).await;
        if fold.has_output() {
            deadline = now_ms() + timeout_ms;
        }
        pending.extend(fresh.drain(..).filter_map(|e| fold.apply(e)));
        match read {
            Read::TimedOut => return Err((AttemptFailure::timeout(timeout_ms), Some(fold))),
            Read::Failed(f) => return Err((f, Some(fold))),
            Read::End => {
                return Ok(Started {
                    output,
                    fold,
                    pending,
                    ended: true,
                })
            }
            Read::More if fold.capped() || (stream && fold.has_output()) => {
                let ended = fold.capped();
                return Ok(Started {
                    output,
                    fold,
                    pending,
                    ended,
                });
            }
            Read::More => {}
        }
    }
}
