//! Relaying a committed stream to the client at the client's pace, and finishing its books.
//!
//! The per-chunk loop is `js/pump.js` (`RelayPump`): it reads the model's stream and calls
//! `Feed::chunk` once per chunk, which decodes, folds (the output cap) and encodes in Rust.
//! The client's stream holds at most `RELAY_BUFFER` chunks: a paused reader stops the relay
//! there. The books are finished in `ctx.waitUntil`, so when the client goes away the model
//! is still read to its end and its usage recorded and settled.

use budget::Remaining;
use std::cell::RefCell;
use std::rc::Rc;

use gateway::answer::AnswerFold;
use gateway::attempt::{AttemptFailure, AttemptPlan, Decision, Input};
use gateway::events::ModelEvent;
use gateway::log::RequestLog;
use gateway::surface::{AnswerMeta, Encoder, StreamEnd, MID_STREAM_FAILURE};
use gateway::usage::TokenReport;
use gateway::wire::workers_ai::StreamDecoder;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use worker::{Context, Env, Response, ResponseBody};

use crate::budgets::{self, set_remaining, Holds};
use crate::clock::now_ms;
use crate::engine::pump::{Feed, RelayPump};
use crate::engine::{answer_headers, spent, Started};
use crate::exchange::Exchange;
use crate::http::error::ApiError;
use crate::js::js_error_message;
use crate::providers::ModelOutput;
use crate::sessions::{self, SessionTurn};

/// Chunks the client's stream holds: the gateway's whole buffer (a burst of small chunks goes
/// through without a round trip each; a paused reader stops the relay after this many).
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
    /// Shrink-to-fit lowered the output cap to this.
    pub max_tokens_reduced: Option<u64>,
}

/// The relay's state between chunks, shared by the pump's `feed` and the books at the end.
struct Chunks<E> {
    encoder: E,
    fold: AnswerFold,
    decoder: StreamDecoder,
    fresh: Vec<ModelEvent>,
    /// Encoded bytes not yet handed to the pump (at the end: what precedes the last event).
    buf: Vec<u8>,
    /// A decode failure that stopped the relay.
    failure: Option<AttemptFailure>,
}

impl<E: Encoder> Chunks<E> {
    /// One chunk of the model's stream (`None` at its end): what the client gets now, or
    /// `None` to stop reading (the end, a decode failure, the output cap).
    fn feed(&mut self, chunk: Option<Vec<u8>>, client_gone: bool) -> Option<Vec<u8>> {
        let step = match &chunk {
            Some(bytes) => self.decoder.feed(bytes, &mut self.fresh),
            None => self.decoder.finish(&mut self.fresh),
        };
        for e in self.fresh.drain(..) {
            if let Some(e) = self.fold.apply(e) {
                if !client_gone {
                    self.encoder.stream_event(&e, &mut self.buf);
                }
            }
        }
        if let Err(e) = step {
            self.failure = Some(AttemptFailure::from_decode(&e));
            return None;
        }
        if chunk.is_none() || self.decoder.is_done() || self.fold.capped() {
            return None;
        }
        // One upstream chunk, however many events it held, is one client write.
        Some(std::mem::take(&mut self.buf))
    }
}

/// Answers with an SSE response now and relays the rest in `wait_until`.
pub fn start<E: Encoder + 'static>(
    ctx: &Context,
    ex: &mut Exchange,
    mut encoder: E,
    relay: Relay,
    started: Started,
) -> Result<Response, ApiError> {
    let ttft_ms = now_ms().saturating_sub(ex.started_ms);
    let Started {
        output,
        fold,
        pending,
        ended,
    } = started;
    // An answer that already ended keeps its stream here, and dropping it cancels the rest.
    let (decoder, reader, _ended_stream) = match output {
        ModelOutput::Stream {
            mut bytes, decoder, ..
        } if !ended => (decoder, bytes.take(), None),
        ModelOutput::Stream { bytes, decoder, .. } => (decoder, None, Some(bytes)),
        ModelOutput::Whole(_) => (StreamDecoder::new(), None, None),
    };
    let meta = AnswerMeta {
        model: &relay.model,
        fallback: relay.fallback,
        trace_id: &ex.trace_id,
        session_id: relay.session_id.as_deref(),
        created_s: ex.started_ms / 1000,
        latency_ms: ttft_ms,
        ttft_ms: Some(ttft_ms),
        history_messages: relay.session.as_ref().map(|s| s.history_sent),
        max_tokens_reduced: relay.max_tokens_reduced,
    };
    let mut buf = Vec::new();
    encoder.stream_start(&meta, &mut buf);
    for e in &pending {
        encoder.stream_event(e, &mut buf);
    }
    // Shared with the feed; taken back whole at the end (`Option`), so the books never depend
    // on the JS side having let go of it.
    let chunks = Rc::new(RefCell::new(Some(Chunks {
        encoder,
        fold,
        decoder,
        fresh: Vec::new(),
        buf: Vec::new(),
        failure: None,
    })));
    let feed: Closure<Feed> = {
        let chunks = Rc::clone(&chunks);
        Closure::new(move |chunk, gone| chunks.borrow_mut().as_mut()?.feed(chunk, gone))
    };
    let no_reader = JsValue::NULL;
    let pump = RelayPump::new(
        reader.as_ref().map_or(&no_reader, |r| r.as_ref()),
        &feed,
        relay.idle_timeout_ms as f64,
        RELAY_BUFFER as u32,
    );
    pump.write(buf);
    let response = (|| -> worker::Result<Response> {
        let mut resp = Response::from_body(ResponseBody::Stream(pump.readable()))?;
        let h = resp.headers_mut();
        h.set("content-type", "text/event-stream; charset=utf-8")?;
        h.set("cache-control", "no-cache, no-transform")?;
        answer_headers(&mut resp, &meta, None)?;
        let remaining: Option<Remaining> = relay.held.remaining();
        set_remaining(&mut resp, remaining)?;
        Ok(resp)
    })();
    let resp = match response {
        Ok(r) => r,
        Err(e) => {
            // No stream to relay: still bill what the model produced and release the rest.
            let produced = chunks.borrow().as_ref().map(|c| c.fold.report());
            let usage = produced.unwrap_or_default().plus(relay.billed);
            let mut log = ex.log.clone();
            ctx.wait_until(async move {
                budgets::settle(&relay.env, relay.held, spent(usage), &mut log, None).await;
            });
            return Err(e.into());
        }
    };

    ex.log_in_background = true;
    ex.log.status = 200;
    let mut log = ex.log.clone();
    let trace_id = ex.trace_id.clone();
    let started_ms = ex.started_ms;
    let signal = ex.client_signal.clone();
    ctx.wait_until(async move {
        let outcome = match reader {
            Some(_) => pump.relay().await,
            None => Ok(false),
        };
        drop(feed);
        let taken = chunks.borrow_mut().take();
        let Some(mut chunks) = taken else {
            return; // unreachable: only this task takes it
        };
        let failure = match outcome {
            Ok(true) => Some(AttemptFailure::timeout(relay.idle_timeout_ms)),
            Ok(false) => chunks.failure.take(),
            Err(e) => Some(AttemptFailure::from_message(&js_error_message(&e))),
        };
        let end = End {
            trace_id,
            started_ms,
            ttft_ms,
            failure,
        };
        finish(&pump, chunks, relay, end, &mut log).await;
        // A reset connection may never cancel the stream (the response was never taken).
        log.client_disconnected = pump.client_gone() || signal.aborted();
        worker::console_log!("{}", log.to_line());
    });
    Ok(resp)
}

/// How the relay ended, and the request's facts the end event needs.
struct End {
    trace_id: String,
    started_ms: u64,
    ttft_ms: u64,
    failure: Option<AttemptFailure>,
}

/// Stores the session turn, writes the end event and settles the books.
async fn finish<E: Encoder>(
    pump: &RelayPump,
    chunks: Chunks<E>,
    mut relay: Relay,
    end: End,
    log: &mut RequestLog,
) {
    let Chunks {
        mut encoder,
        fold,
        mut buf,
        ..
    } = chunks;
    let usage = fold.report().plus(relay.billed);
    // A complete answer joins its session before the client hears the end, so the next turn
    // sees it; a failed one is not stored.
    if let (None, Some(turn)) = (&end.failure, &relay.session) {
        if let Err(e) = sessions::record(&relay.env, turn, &fold.clone().into_answer()).await {
            log.error_detail = Some(format!("session not stored: {e}"));
        }
    }
    let stream_end = match end.failure {
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
            StreamEnd::Failed {
                code,
                message: MID_STREAM_FAILURE.to_string(),
                usage,
            }
        }
    };
    let latency_ms = now_ms().saturating_sub(end.started_ms);
    if !pump.client_gone() {
        encoder.stream_end(
            &stream_end,
            &AnswerMeta {
                model: &relay.model,
                fallback: relay.fallback,
                trace_id: &end.trace_id,
                session_id: relay.session_id.as_deref(),
                created_s: end.started_ms / 1000,
                latency_ms,
                ttft_ms: Some(end.ttft_ms),
                history_messages: relay.session.as_ref().map(|s| s.history_sent),
                max_tokens_reduced: relay.max_tokens_reduced,
            },
            &mut buf,
        );
    }
    pump.finish(buf);

    log.latency_ms = latency_ms;
    log.ttft_ms = Some(end.ttft_ms);
    log.tokens = Some(usage);
    log.finish = Some(match &stream_end {
        StreamEnd::Finished { finish, .. } => finish.as_str(),
        StreamEnd::Failed { .. } => "error",
    });
    budgets::settle(&relay.env, relay.held, spent(usage), log, None).await;
}
