//! Relaying a committed stream to the client at the client's pace, and finishing its books.
//!
//! The response body is fed through a bounded channel: the relay reads the model's next
//! chunk only after the client took the previous one, so a slow reader holds at most one
//! chunk in the gateway. The relay runs in `ctx.waitUntil`, so when the client goes away the
//! model is still read to its end and its usage recorded and settled.

use budget::Remaining;
use futures::channel::mpsc;
use futures::SinkExt;
use gateway::attempt::{AttemptFailure, AttemptPlan, Decision, Input};
use gateway::log::RequestLog;
use gateway::surface::{AnswerMeta, Encoder, StreamEnd};
use gateway::usage::TokenReport;
use worker::{Context, Env, Response};

use crate::clock::now_ms;
use crate::engine::{answer_headers, Started};
use crate::error::ApiError;
use crate::exchange::Exchange;
use crate::provider::Read;
use crate::reservation::{self, set_remaining, Holds};
use crate::sessions::{self, SessionTurn};

/// Chunks the channel holds beyond the one being written: the gateway's whole buffer (a
/// burst of small chunks goes through without a round trip each; a paused reader stops the
/// relay after this many).
const RELAY_BUFFER: usize = 8;

/// What the relay needs besides the stream itself.
pub struct Relay {
    pub held: Holds,
    pub model: String,
    pub fallback: bool,
    pub session_id: Option<String>,
    /// Tokens of earlier, failed attempts.
    pub billed: TokenReport,
    pub idle_timeout_ms: u64,
    pub attempts: AttemptPlan,
    /// The session turn to store once the answer is complete.
    pub session: Option<SessionTurn>,
    pub env: Env,
}

type Sink = mpsc::Sender<Result<Vec<u8>, worker::Error>>;

/// Answers with an SSE response now and relays the rest in `wait_until`.
pub fn start<E: Encoder + 'static>(
    ctx: &Context,
    ex: &mut Exchange,
    encoder: E,
    relay: Relay,
    started: Started,
) -> Result<Response, ApiError> {
    let (tx, rx) = mpsc::channel(RELAY_BUFFER);
    let ttft_ms = now_ms().saturating_sub(ex.started_ms);
    let response = (|| -> worker::Result<Response> {
        let mut resp = Response::from_stream(rx)?;
        let h = resp.headers_mut();
        h.set("content-type", "text/event-stream; charset=utf-8")?;
        h.set("cache-control", "no-cache, no-transform")?;
        let meta = AnswerMeta {
            model: &relay.model,
            fallback: relay.fallback,
            trace_id: &ex.trace_id,
            session_id: relay.session_id.as_deref(),
            created_s: ex.started_ms / 1000,
            latency_ms: ttft_ms,
            ttft_ms: Some(ttft_ms),
            history_messages: relay.session.as_ref().map(|s| s.history_sent),
        };
        answer_headers(&mut resp, &meta, None)?;
        let remaining: Option<Remaining> = relay.held.remaining();
        set_remaining(&mut resp, remaining)?;
        Ok(resp)
    })();
    let resp = match response {
        Ok(r) => r,
        Err(e) => {
            // No stream to relay: still bill what the model produced and release the rest.
            let usage = started.fold.report().plus(relay.billed);
            let mut log = ex.log.clone();
            ctx.wait_until(async move {
                reservation::settle(&relay.env, relay.held, usage.total, &mut log, None).await;
            });
            return Err(e.into());
        }
    };

    ex.log_in_background = true;
    ex.log.status = 200;
    let log = ex.log.clone();
    let trace_id = ex.trace_id.clone();
    let started_ms = ex.started_ms;
    let signal = ex.client_signal.clone();
    ctx.wait_until(async move {
        let mut log = pump(
            tx, encoder, relay, started, log, trace_id, started_ms, ttft_ms,
        )
        .await;
        // A reset connection may never fail a write (the response was never taken).
        log.client_disconnected |= signal.aborted();
        worker::console_log!("{}", log.to_line());
    });
    Ok(resp)
}

/// Sends what `buf` holds; `false` when the client is gone.
async fn send(tx: &mut Sink, buf: &mut Vec<u8>) -> bool {
    if buf.is_empty() {
        return true;
    }
    tx.send(Ok(std::mem::take(buf))).await.is_ok()
}

#[allow(clippy::too_many_arguments)] // one call site; the pieces of one finished request
async fn pump<E: Encoder>(
    mut tx: Sink,
    mut encoder: E,
    mut relay: Relay,
    started: Started,
    mut log: RequestLog,
    trace_id: String,
    started_ms: u64,
    ttft_ms: u64,
) -> RequestLog {
    let Started {
        mut output,
        mut fold,
        pending,
        ended,
    } = started;
    let history_messages = relay.session.as_ref().map(|s| s.history_sent);
    let meta = |latency_ms| AnswerMeta {
        model: "",
        fallback: relay.fallback,
        trace_id: "",
        session_id: None,
        created_s: started_ms / 1000,
        latency_ms,
        ttft_ms: Some(ttft_ms),
        history_messages,
    };
    let mut buf = Vec::new();
    encoder.stream_start(
        &AnswerMeta {
            model: &relay.model,
            trace_id: &trace_id,
            ..meta(ttft_ms)
        },
        &mut buf,
    );
    for e in &pending {
        encoder.stream_event(e, &mut buf);
    }
    output.moved_to_new_task();
    let mut client_gone = !send(&mut tx, &mut buf).await;

    let mut failure: Option<AttemptFailure> = None;
    let mut fresh = Vec::new();
    if !ended {
        loop {
            let deadline = now_ms() + relay.idle_timeout_ms;
            let read = output.read(deadline, &mut fresh).await;
            for e in fresh.drain(..) {
                if let Some(e) = fold.apply(e) {
                    if !client_gone {
                        encoder.stream_event(&e, &mut buf);
                    }
                }
            }
            match read {
                Read::More if !fold.capped() => {}
                Read::More | Read::End => break,
                Read::TimedOut => {
                    failure = Some(AttemptFailure::timeout(relay.idle_timeout_ms));
                    break;
                }
                Read::Failed(f) => {
                    failure = Some(f);
                    break;
                }
            }
            // One upstream chunk, however many events it held, is one client write.
            if !client_gone {
                client_gone = !send(&mut tx, &mut buf).await;
            }
        }
    }
    drop(output); // cancels the model's stream when the cap cut it short

    let usage = fold.report().plus(relay.billed);
    // A complete answer joins its session before the client hears the end, so the next turn
    // sees it; a failed one is not stored.
    if let (None, Some(turn)) = (&failure, &relay.session) {
        if let Err(e) = sessions::record(&relay.env, turn, &fold.clone().into_answer()).await {
            log.error_detail = Some(format!("session not stored: {e}"));
        }
    }
    let end = match failure {
        None => StreamEnd::Finished {
            finish: fold.finish_reason(),
            usage,
        },
        Some(f) => {
            log.error_detail = Some(format!("{:?}: {}", f.kind, f.detail));
            let code = match relay.attempts.on(Input::Failed(f)) {
                Decision::EndStream { code } => code,
                _ => "ai_error",
            };
            log.error_code = Some(code.to_string());
            StreamEnd::Failed { code, usage }
        }
    };
    let latency_ms = now_ms().saturating_sub(started_ms);
    if !client_gone {
        encoder.stream_end(
            &end,
            &AnswerMeta {
                model: &relay.model,
                trace_id: &trace_id,
                session_id: relay.session_id.as_deref(),
                ..meta(latency_ms)
            },
            &mut buf,
        );
        client_gone = !send(&mut tx, &mut buf).await;
    }
    tx.close_channel();

    log.latency_ms = latency_ms;
    log.ttft_ms = Some(ttft_ms);
    log.tokens = Some(usage);
    log.finish = Some(match end {
        StreamEnd::Finished { finish, .. } => finish.as_str(),
        StreamEnd::Failed { .. } => "error",
    });
    log.client_disconnected = client_gone;
    reservation::settle(&relay.env, relay.held, usage.total, &mut log, None).await;
    log
}
