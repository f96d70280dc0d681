//! `POST /chat`: check the request, resolve the model, call the AI with fallback, answer as JSON or SSE.

use std::future::Future;
use std::time::Duration;

use budget::{BudgetStore, Limits, Remaining};
use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::StreamExt;
use gateway::call::{GatewayRoute, ModelCall};
use gateway::chat::ChatRequest;
use gateway::completion::Completion;
use gateway::events::{self, DoneSummary, Finish};
use gateway::fallback::{AttemptFailure, Attempts};
use gateway::model::resolve_model;
use gateway::sse::{AiEvent, DecodeError, SseDecoder};
use gateway::usage::{estimate_prompt_tokens, estimate_text_tokens, StreamTally, TokenReport};
use serde_json::{json, Value};
use worker::{ByteStream, Context, Delay, Env, Request, Response};

use crate::ai::WorkersAi;
use crate::budget_store::TenantBudget;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::error::ApiError;
use crate::exchange::Exchange;
use crate::http;
use crate::provider::{ChatProvider, ModelOutput};

const ROUTE: &str = "/chat";

pub async fn handle(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    ex: &mut Exchange,
) -> Result<Response, ApiError> {
    let tenant = &settings.tenant;
    let body = read_json_body(&mut req, tenant.max_request_bytes).await?;
    let chat = ChatRequest::from_json(&body)?;
    ex.log.session_id.clone_from(&chat.session_id);
    ex.log.stream = chat.stream;

    let plan = resolve_model(
        chat.model_id.as_deref(),
        settings.env_model.as_deref(),
        tenant,
    )?;
    let ai = WorkersAi::from_env(env, "AI")?;
    let prompt_estimate = estimate_prompt_tokens(&chat.messages);
    let timeout_ms = u64::from(tenant.attempt_timeout_ms);
    let mut held = reserve(env, settings, &chat, prompt_estimate).await?;

    let mut attempts = Attempts::default();
    // Tokens of attempts that failed after the model started answering: billed too.
    let mut failed_usage = TokenReport::default();
    for model in &plan.chain {
        let call = ModelCall::new(model, &chat, tenant.max_output_tokens);
        let route = GatewayRoute {
            gateway_id: &tenant.ai_gateway_id,
            tenant_id: tenant.tenant_id.as_str(),
            trace_id: &ex.trace_id,
            session_id: chat.session_id.as_deref(),
            route: ROUTE,
        };
        let deadline = now_ms() + timeout_ms;
        let output = match within(deadline, ai.run(&call, &route)).await {
            None => {
                attempts.record(
                    model,
                    AttemptFailure::Timeout {
                        after_ms: timeout_ms,
                    },
                );
                continue;
            }
            Some(Err(failure)) => {
                attempts.record(model, failure);
                continue;
            }
            Some(Ok(output)) => output,
        };
        let fallback = !attempts.is_empty();
        ex.log.model = Some(model.clone());
        ex.log.fallback = fallback;
        ex.log.failed_attempts = attempts.clone();

        if chat.stream {
            match first_output(output, deadline, timeout_ms).await {
                Ok(started) => {
                    let answer = StreamAnswer {
                        held,
                        model: model.clone(),
                        fallback,
                        session_id: chat.session_id.clone(),
                        prompt_estimate,
                        failed_usage,
                        idle_timeout_ms: timeout_ms,
                    };
                    return start_stream(ctx, ex, answer, started);
                }
                Err((failure, tally)) => {
                    failed_usage = failed_usage.plus(tally.report(prompt_estimate));
                    attempts.record(model, failure);
                }
            }
        } else {
            match complete(output, deadline, timeout_ms).await {
                Ok(completion) => {
                    let completion_estimate = estimate_text_tokens(&completion.text)
                        + completion
                            .tool_calls
                            .as_ref()
                            .map_or(0, |t| estimate_text_tokens(&t.to_string()));
                    let usage = TokenReport::from_usage(
                        completion.usage,
                        prompt_estimate,
                        completion_estimate,
                    )
                    .plus(failed_usage);
                    ex.log.tokens = Some(usage);
                    let remaining = settle(held.take(), usage.total, &mut ex.log, Some(ctx)).await;
                    return respond_json(
                        ex,
                        model,
                        fallback,
                        chat.session_id.as_deref(),
                        &completion,
                        usage,
                        remaining,
                    );
                }
                Err((failure, tally)) => {
                    failed_usage = failed_usage.plus(tally.report(prompt_estimate));
                    attempts.record(model, failure);
                }
            }
        }
    }
    ex.log.model = None;
    ex.log.failed_attempts = attempts.clone();
    if failed_usage.total > 0 {
        ex.log.tokens = Some(failed_usage);
    }
    settle(held, failed_usage.total, &mut ex.log, Some(ctx)).await;
    Err(ApiError::AllModelsFailed { attempts })
}

/// Tokens reserved for one request in its tenant's budget store.
struct Held {
    store: TenantBudget,
    limits: Limits,
    id: String,
    remaining: Remaining,
}

/// Reserves the request's worst case (estimated prompt + its output cap) before any model
/// call; refuses with 429 when a window would overrun. `None` for tenants without a budget.
async fn reserve(
    env: &Env,
    settings: &Settings,
    chat: &ChatRequest,
    prompt_estimate: u64,
) -> Result<Option<Held>, ApiError> {
    let tenant = &settings.tenant;
    let Some(cfg) = &tenant.budget else {
        return Ok(None);
    };
    let store = TenantBudget::open(env, tenant, cfg.store)
        .map_err(|e| ApiError::BudgetStore(e.to_string()))?;
    let limits = Limits {
        daily: cfg.daily,
        monthly: cfg.monthly,
    };
    let max_output = chat.output_cap(tenant.max_output_tokens);
    let amount = budget::reservation_amount(prompt_estimate, u64::from(max_output));
    // A fresh id: client trace ids need not be unique.
    let id = uuid::Uuid::new_v4().to_string();
    match store.reserve(now_i64(), &id, amount, limits).await {
        Err(e) => Err(ApiError::BudgetStore(e.to_string())),
        Ok(Err(refusal)) => Err(ApiError::BudgetExceeded { refusal }),
        Ok(Ok(remaining)) => Ok(Some(Held {
            store,
            limits,
            id,
            remaining,
        })),
    }
}

/// Replaces the reservation with the tokens actually billed. Every outcome comes here. The
/// store's background work goes to `ctx.waitUntil` when given, else it is awaited (the pump
/// already runs in `waitUntil`).
async fn settle(
    held: Option<Held>,
    actual: u64,
    log: &mut gateway::log::RequestLog,
    ctx: Option<&Context>,
) -> Option<Remaining> {
    let held = held?;
    let result = held
        .store
        .settle(now_i64(), &held.id, actual, held.limits)
        .await;
    match ctx {
        Some(ctx) => ctx.wait_until(held.store.after_settle()),
        None => held.store.after_settle().await,
    }
    match result {
        Ok(r) => Some(r),
        Err(e) => {
            log.budget_error = Some(e.to_string());
            None
        }
    }
}

fn now_i64() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}

fn set_remaining(resp: &mut Response, remaining: Option<Remaining>) -> worker::Result<()> {
    if let Some(r) = remaining {
        resp.headers_mut()
            .set("x-budget-remaining-daily", &r.daily.to_string())?;
        resp.headers_mut()
            .set("x-budget-remaining-monthly", &r.monthly.to_string())?;
    }
    Ok(())
}

/// Reads the body after checking its content type and size against the tenant's limit.
async fn read_json_body(req: &mut Request, limit: u32) -> Result<Vec<u8>, ApiError> {
    let content_type = req
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media != "application/json" {
        return Err(ApiError::UnsupportedMediaType { got: content_type });
    }
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|s| *s > u64::from(limit)) {
        return Err(ApiError::PayloadTooLarge { size, limit });
    }
    let body = req.bytes().await?;
    if body.len() as u64 > u64::from(limit) {
        return Err(ApiError::PayloadTooLarge {
            size: body.len() as u64,
            limit,
        });
    }
    Ok(body)
}

/// Runs `fut` until `deadline_ms`; `None` when time ran out first.
async fn within<F: Future>(deadline_ms: u64, fut: F) -> Option<F::Output> {
    let left = deadline_ms.saturating_sub(now_ms());
    let delay = Delay::from(Duration::from_millis(left));
    futures::pin_mut!(fut);
    match select(fut, delay).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}

/// Reads the model's next chunk before `deadline` and decodes it into `out`; the stream's
/// own error and its end go through the decoder's rules too (an end without `[DONE]` is
/// `Truncated`). `None` when the deadline passed first.
async fn read_chunk(
    stream: &mut ByteStream,
    decoder: &mut SseDecoder,
    deadline: u64,
    out: &mut Vec<AiEvent>,
) -> Option<Result<(), DecodeError>> {
    Some(match within(deadline, stream.next()).await? {
        Some(Ok(bytes)) => decoder.feed(&bytes, out),
        Some(Err(e)) => Err(DecodeError::Upstream {
            message: e.to_string(),
        }),
        None => decoder.finish(out),
    })
}

/// An answer stream that produced its first output: the events so far, and what is left.
struct Started {
    pending: Vec<AiEvent>,
    rest: Option<(ByteStream, SseDecoder)>,
    tally: StreamTally,
}

type AttemptError = (AttemptFailure, StreamTally);

fn decode_failure(e: impl std::fmt::Display) -> AttemptFailure {
    AttemptFailure::Upstream {
        message: e.to_string(),
    }
}

/// The events a whole (non-streamed) answer stands for, for clients that asked to stream.
fn completion_events(c: Completion) -> Vec<AiEvent> {
    let mut ev = Vec::new();
    if !c.text.is_empty() {
        ev.push(AiEvent::Token(c.text));
    }
    if let Some(Value::Array(calls)) = c.tool_calls {
        ev.extend(calls.into_iter().map(AiEvent::ToolCall));
    }
    if let Some(u) = c.usage {
        ev.push(AiEvent::Usage(u));
    }
    ev.push(AiEvent::Done);
    ev
}

/// Reads a stream until its first answer output (a token, a tool call, or its end).
async fn first_output(
    output: ModelOutput,
    deadline: u64,
    timeout_ms: u64,
) -> Result<Started, AttemptError> {
    let mut tally = StreamTally::default();
    let mut stream = match output {
        ModelOutput::Json(v) => {
            let c = Completion::from_json(&v)
                .map_err(|e| (decode_failure(e), StreamTally::default()))?;
            let pending = completion_events(c);
            pending.iter().for_each(|e| tally.apply(e));
            return Ok(Started {
                pending,
                rest: None,
                tally,
            });
        }
        ModelOutput::Stream(s) => s,
    };
    let mut decoder = SseDecoder::new();
    let (mut pending, mut fresh) = (Vec::new(), Vec::new());
    loop {
        let Some(step) = read_chunk(&mut stream, &mut decoder, deadline, &mut fresh).await else {
            return Err((
                AttemptFailure::Timeout {
                    after_ms: timeout_ms,
                },
                tally,
            ));
        };
        fresh.iter().for_each(|e| tally.apply(e));
        pending.append(&mut fresh);
        step.map_err(|e| (decode_failure(e), tally.clone()))?;
        if pending
            .iter()
            .any(|e| matches!(e, AiEvent::Token(_) | AiEvent::ToolCall(_) | AiEvent::Done))
        {
            return Ok(Started {
                pending,
                rest: Some((stream, decoder)),
                tally,
            });
        }
    }
}

/// Collects a whole answer for a non-streaming client.
async fn complete(
    output: ModelOutput,
    deadline: u64,
    timeout_ms: u64,
) -> Result<Completion, AttemptError> {
    let mut stream = match output {
        ModelOutput::Json(v) => {
            return Completion::from_json(&v)
                .map_err(|e| (decode_failure(e), StreamTally::default()))
        }
        ModelOutput::Stream(s) => s,
    };
    let mut decoder = SseDecoder::new();
    let mut tally = StreamTally::default();
    let (mut text, mut calls, mut events) = (String::new(), Vec::new(), Vec::new());
    while !decoder.is_done() {
        let Some(step) = read_chunk(&mut stream, &mut decoder, deadline, &mut events).await else {
            return Err((
                AttemptFailure::Timeout {
                    after_ms: timeout_ms,
                },
                tally,
            ));
        };
        for e in events.drain(..) {
            tally.apply(&e);
            match e {
                AiEvent::Token(t) => text.push_str(&t),
                AiEvent::ToolCall(c) => calls.push(c),
                _ => {}
            }
        }
        step.map_err(|e| (decode_failure(e), tally.clone()))?;
    }
    let usage = tally.usage();
    Ok(Completion {
        text,
        tool_calls: (!calls.is_empty()).then_some(Value::Array(calls)),
        usage,
    })
}

fn respond_json(
    ex: &Exchange,
    model: &str,
    fallback: bool,
    session_id: Option<&str>,
    c: &Completion,
    usage: TokenReport,
    remaining: Option<Remaining>,
) -> Result<Response, ApiError> {
    let latency_ms = now_ms().saturating_sub(ex.started_ms);
    let mut body = json!({
        "text": c.text,
        "model": model,
        "fallback": fallback,
        "sessionId": session_id,
        "traceId": ex.trace_id,
        "usage": usage,
        "latencyMs": latency_ms,
    });
    if let Some(calls) = &c.tool_calls {
        body["toolCalls"] = calls.clone();
    }
    let mut resp = http::json(200, &body)?;
    let h = resp.headers_mut();
    h.set("x-model-id", model)?;
    h.set("x-fallback", if fallback { "true" } else { "false" })?;
    h.set("x-tokens-prompt", &usage.prompt.to_string())?;
    h.set("x-tokens-completion", &usage.completion.to_string())?;
    h.set("x-tokens-used", &usage.total.to_string())?;
    h.set("x-latency-ms", &latency_ms.to_string())?;
    set_remaining(&mut resp, remaining)?;
    Ok(resp)
}

/// What the background pump needs to finish a streamed answer.
struct StreamAnswer {
    held: Option<Held>,
    model: String,
    fallback: bool,
    session_id: Option<String>,
    prompt_estimate: u64,
    failed_usage: TokenReport,
    idle_timeout_ms: u64,
}

type Sink = mpsc::UnboundedSender<Result<Vec<u8>, worker::Error>>;

/// Answers with an SSE response now and pumps the rest of the model's stream in `wait_until`,
/// so bookkeeping finishes even if the client goes away.
fn start_stream(
    ctx: &Context,
    ex: &mut Exchange,
    answer: StreamAnswer,
    started: Started,
) -> Result<Response, ApiError> {
    let (tx, rx) = mpsc::unbounded();
    let mut resp = Response::from_stream(rx)?;
    let h = resp.headers_mut();
    h.set("content-type", "text/event-stream; charset=utf-8")?;
    h.set("cache-control", "no-cache, no-transform")?;
    h.set("x-model-id", &answer.model)?;
    h.set("x-fallback", if answer.fallback { "true" } else { "false" })?;
    set_remaining(&mut resp, answer.held.as_ref().map(|h| h.remaining))?;

    ex.log_in_background = true;
    ex.log.status = 200;
    let log = ex.log.clone();
    let trace_id = ex.trace_id.clone();
    let started_ms = ex.started_ms;
    let ttft_ms = now_ms().saturating_sub(started_ms);
    ctx.wait_until(pump(
        tx, answer, started, log, trace_id, started_ms, ttft_ms,
    ));
    Ok(resp)
}

/// How a pumped stream ended.
enum StreamEnd {
    Done,
    Failed { code: &'static str, message: String },
}

async fn pump(
    tx: Sink,
    answer: StreamAnswer,
    started: Started,
    mut log: gateway::log::RequestLog,
    trace_id: String,
    started_ms: u64,
    ttft_ms: u64,
) {
    let Started {
        pending,
        rest,
        mut tally,
    } = started;
    let mut client_gone = false;
    let mut send = |bytes: Vec<u8>| {
        if !client_gone && tx.unbounded_send(Ok(bytes)).is_err() {
            client_gone = true; // keep draining the model so usage is still recorded
        }
    };
    let mut end = forward(&pending, &mut send);
    if let (None, Some((mut stream, mut decoder))) = (&end, rest) {
        let mut events = Vec::new();
        end = loop {
            let deadline = now_ms() + answer.idle_timeout_ms;
            let Some(step) = read_chunk(&mut stream, &mut decoder, deadline, &mut events).await
            else {
                break Some(StreamEnd::Failed {
                    code: "ai_timeout",
                    message: format!("the model sent nothing for {} ms", answer.idle_timeout_ms),
                });
            };
            events.iter().for_each(|e| tally.apply(e));
            if let Some(end) = forward(&events, &mut send) {
                break Some(end);
            }
            events.clear();
            if let Err(e) = step {
                break Some(StreamEnd::Failed {
                    code: "ai_error",
                    message: e.to_string(),
                });
            }
        };
    }
    let end = end.unwrap_or(StreamEnd::Done);

    let usage = tally
        .report(answer.prompt_estimate)
        .plus(answer.failed_usage);
    let finish = match &end {
        StreamEnd::Done => Finish::Stop,
        StreamEnd::Failed { code, message } => {
            send(events::error(code, message, &trace_id));
            log.error_code = Some((*code).to_string());
            log.error_detail = Some(message.clone());
            Finish::Error
        }
    };
    let latency_ms = now_ms().saturating_sub(started_ms);
    send(events::done(&DoneSummary {
        finish,
        model: &answer.model,
        fallback: answer.fallback,
        usage,
        latency_ms,
        ttft_ms: Some(ttft_ms),
        trace_id: &trace_id,
        session_id: answer.session_id.as_deref(),
    }));
    tx.close_channel();

    log.latency_ms = latency_ms;
    log.ttft_ms = Some(ttft_ms);
    log.tokens = Some(usage);
    log.client_disconnected = client_gone;
    settle(answer.held, usage.total, &mut log, None).await;
    worker::console_log!("{}", log.to_line());
}

/// Sends the client-visible events; returns how the stream ended if it did.
fn forward(events: &[AiEvent], send: &mut impl FnMut(Vec<u8>)) -> Option<StreamEnd> {
    for e in events {
        match e {
            AiEvent::Token(t) => send(events::token(t)),
            AiEvent::ToolCall(c) => send(events::tool_call(c)),
            AiEvent::Done => return Some(StreamEnd::Done),
            AiEvent::Reasoning(_) | AiEvent::Usage(_) => {}
        }
    }
    None
}
