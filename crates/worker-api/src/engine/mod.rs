//! The chat engine: one conversation through model resolution, the budget and the attempt
//! loop, answered through a surface's encoder, whole (here) or streamed (`stream`). Every
//! surface uses it.

pub mod answered;
pub mod attempts;
pub mod ground;
pub mod plan;
pub mod pump;
pub mod stream;

use std::rc::Rc;

use budget::{Demand, Price};
use gateway::conversation::Conversation;
use gateway::model::ModelPlan;
use gateway::provider_config::ModelRef;
use gateway::surface::{AnswerMeta, Encoder};
use worker::{Context, Env, Response};

use self::answered::{answer_headers, spent};
use self::attempts::{Admitted, Attempts};
use crate::budgets::{self, set_remaining};
use crate::clock::now_ms;
use crate::config::Settings;
use crate::exchange::{Exchange, Grounding};
use crate::http;
use crate::http::error::ApiError;
use crate::providers::workers_ai::{WorkersAi, AI_BINDING};
use crate::sessions::{self, SessionTurn};

/// What a surface hands the engine: the conversation, its encoder, its route (`/chat`,
/// `/v1/chat/completions`, for the metadata) and the session turn, if any.
pub struct Ask {
    pub conv: Conversation,
    /// The surface's encoder, boxed: the engine exists once for every surface, not once per
    /// encoder type (docs/performance.md, the size table).
    pub encoder: Box<dyn Encoder>,
    pub route: &'static str,
    pub session: Option<SessionTurn>,
}

/// Answers a surface's request with its encoder's format.
pub async fn answer(
    env: &Env,
    ctx: &Context,
    settings: &Rc<Settings>,
    ex: &mut Exchange,
    ask: Ask,
) -> Result<Response, ApiError> {
    let Ask {
        mut conv,
        encoder,
        route,
        session,
    } = ask;
    ex.log.session_id.clone_from(&conv.session_id);
    ex.log.stream = conv.stream;
    let target = ground::target(settings, &mut conv)?;
    let plan = plan::resolve(settings, env, conv.model.as_deref()).await?;
    check_binding(settings, env, &plan)?;
    let grounding = match target {
        Some(t) => Some(ground::prepare(env, ctx, settings, ex, &mut conv, t).await?),
        None => None,
    };
    let mut admitted = admit(env, ctx, settings, ex, conv, route, plan, session).await?;
    admitted.grounding = grounding;
    if admitted.attempts.conv.stream {
        return stream::start(ctx, ex, encoder, admitted).await;
    }
    whole(ctx, ex, encoder, admitted).await
}

/// A chain that uses the Workers AI binding needs it.
fn check_binding(settings: &Settings, env: &Env, plan: &ModelPlan) -> Result<(), ApiError> {
    let uses_binding = plan.chain.iter().any(|m| {
        matches!(
            ModelRef::parse(m, &settings.tenant.providers),
            ModelRef::Binding(_)
        )
    });
    if uses_binding {
        WorkersAi::from_env(env, AI_BINDING).map_err(|e| ApiError::AiMissing(e.to_string()))?;
    }
    Ok(())
}

/// Reserves the request's worst case in every budget it must fit (shrinking its output cap
/// to fit), and sets up its attempts.
#[allow(clippy::too_many_arguments)]
async fn admit(
    env: &Env,
    ctx: &Context,
    settings: &Rc<Settings>,
    ex: &mut Exchange,
    conv: Conversation,
    route: &'static str,
    plan: ModelPlan,
    session: Option<SessionTurn>,
) -> Result<Admitted, ApiError> {
    let tenant = &settings.tenant;
    let prompt_estimate = conv.prompt_estimate();
    let wanted = u64::from(conv.output_cap(tenant.max_output_tokens));
    let demand = Demand {
        prompt: prompt_estimate,
        output: wanted,
        min_output: wanted.min(u64::from(tenant.min_output_tokens)),
        price: Price::default(),
    };
    // Held at the chain's dearest prices (a cost budget cannot hold an unpriced model).
    let principal = ex.principal.as_ref();
    let held = budgets::reserve(env, ctx, settings, principal, &plan.chain, demand).await?;
    let cap = held.output;
    let reduced = (cap < wanted).then_some(cap);
    ex.log.max_tokens_reduced = reduced;
    let attempts = Attempts {
        env: env.clone(),
        settings: Rc::clone(settings),
        conv,
        route,
        trace_id: ex.trace_id.clone(),
        client: ex.principal.as_ref().and_then(|p| p.label()),
        plan: gateway::attempt::AttemptPlan::new(plan.chain),
        cap,
        prompt_estimate,
        billed: Default::default(),
    };
    Ok(Admitted {
        attempts,
        held,
        session,
        max_tokens_reduced: reduced,
        grounding: None,
    })
}

/// A whole answer: the first model to reach its end answers, as one JSON body.
async fn whole(
    ctx: &Context,
    ex: &mut Exchange,
    encoder: Box<dyn Encoder>,
    admitted: Admitted,
) -> Result<Response, ApiError> {
    let Admitted {
        mut attempts,
        held,
        session,
        max_tokens_reduced,
        grounding,
    } = admitted;
    let env = attempts.env.clone();
    let started = match attempts.run(false).await {
        Ok(s) => s,
        Err(failure) => {
            ex.log.failed_attempts = failure.attempts.clone();
            if attempts.billed.total > 0 {
                ex.log.tokens = Some(attempts.billed);
            }
            budgets::settle(&env, held, spent(attempts.billed), &mut ex.log, Some(ctx)).await;
            return Err(ApiError::AllModelsFailed { failure });
        }
    };
    ex.log.model = Some(started.model.clone());
    ex.log.fallback = started.fallback;
    ex.log.failed_attempts = attempts.plan.attempts().clone();
    let mut answer = started.fold.into_answer();
    answer.usage = answer.usage.plus(attempts.billed);
    if let Some(turn) = &session {
        if let Err(e) = sessions::record(&env, turn, &answer).await {
            ex.log.error_detail = Some(format!("session not stored: {e}"));
        }
    }
    ex.log.tokens = Some(answer.usage);
    ex.log.finish = Some(answer.finish.as_str());
    let remaining = budgets::settle(&env, held, spent(answer.usage), &mut ex.log, Some(ctx)).await;
    let meta = AnswerMeta {
        model: &started.model,
        fallback: started.fallback,
        trace_id: &ex.trace_id,
        session_id: attempts.conv.session_id.as_deref(),
        created_s: ex.started_ms / 1000,
        latency_ms: now_ms().saturating_sub(ex.started_ms),
        ttft_ms: None,
        history_messages: session.as_ref().map(|s| s.history_sent),
        max_tokens_reduced,
        sources: Grounding::reported(grounding.as_ref()),
    };
    let mut body = encoder.answer(&answer, &meta);
    // Every surface's whole answer carries its sources at the top level (SDKs keep unknown
    // fields).
    if let (Some(sources), Some(o)) = (gateway::surface::sources_json(&meta), body.as_object_mut())
    {
        o.insert("sources".into(), sources);
    }
    let mut resp = http::json(200, &body)?;
    answer_headers(&mut resp, &meta, Some(&answer.usage))?;
    if let Some(g) = &grounding {
        resp.headers_mut().set("x-knowledge", &g.header())?;
    }
    set_remaining(&mut resp, remaining)?;
    Ok(resp)
}
