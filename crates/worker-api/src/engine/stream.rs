//! A streamed answer, run in `waitUntil`: the attempt loop (with SSE keep-alives while a slow
//! model starts), the commit, and the relay of the committed stream at the client's pace, its
//! books finished when it ends. The per-chunk loop is `js/pump.js`; what it decides is
//! `gateway::relay`.
//!
//! The handler answers as soon as the stream's fate is known: the SSE response at the commit,
//! an error response when every model failed before any byte was sent, or, when the first
//! token takes longer than `limits.keepAliveSeconds`, the SSE response early with keep-alive
//! comments (a chain that then fails ends that stream with an error event).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{select, Either};
use gateway::attempt::{AttemptFailure, ChainFailure, Decision, Input};
use gateway::log::RequestLog;
use gateway::relay::{Relay, KEEP_ALIVE};
use gateway::surface::{AnswerMeta, Encoder, StreamEnd, MID_STREAM_FAILURE};
use gateway::wire::workers_ai::StreamDecoder;
use gateway::wire::Decode;
use wasm_bindgen::closure::Closure;
use worker::web_sys::AbortSignal;
use worker::{Context, Delay, Response, ResponseBody};

use super::answered::{answer_headers, spent};
use super::attempts::{Admitted, Attempts, Started};
use super::pump::{Feed, RelayPump, StreamReader, Tick};
use crate::budgets::{self, set_remaining, Holds};
use crate::clock::now_ms;
use crate::exchange::{Exchange, Grounding};
use crate::http::error::ApiError;
use crate::js::js_error_message;
use crate::ops;
use crate::sessions::{self, SessionTurn};

/// Chunks the client's stream holds: the gateway's whole buffer (a burst of small chunks goes
/// through without a round trip each; a paused reader stops the relay after this many).
const RELAY_BUFFER: u32 = 8;

/// How the handler learns the stream's fate.
enum Opening {
    /// The SSE response (at the commit, or early to keep a slow start's connection alive).
    Answer(Response),
    /// No model answered before any byte was sent: an error, with the log line so far.
    Refused(ApiError, Box<RequestLog>),
}

/// Answers with the stream's response once its fate is known; the stream runs in `waitUntil`.
pub async fn start(
    ctx: &Context,
    ex: &mut Exchange,
    encoder: Box<dyn Encoder>,
    admitted: Admitted,
) -> Result<Response, ApiError> {
    let (tx, rx) = oneshot::channel();
    let task = Task {
        admitted,
        encoder,
        log: ex.log.clone(),
        trace_id: ex.trace_id.clone(),
        started_ms: ex.started_ms,
        signal: ex.client_signal.clone(),
    };
    ctx.wait_until(task.run(tx));
    match rx.await {
        Ok(Opening::Answer(resp)) => {
            ex.log_in_background = true;
            Ok(resp)
        }
        Ok(Opening::Refused(e, log)) => {
            ex.log = *log;
            Err(e)
        }
        Err(_) => Err(ApiError::Internal(
            "the stream ended without an answer".into(),
        )),
    }
}

struct Task {
    admitted: Admitted,
    encoder: Box<dyn Encoder>,
    log: RequestLog,
    trace_id: String,
    started_ms: u64,
    signal: AbortSignal,
}

/// The relay shared by the pump's callbacks and the books at the end (taken back whole).
type Shared = Rc<RefCell<Option<Relay<Box<dyn Encoder>>>>>;

impl Task {
    async fn run(self, tx: oneshot::Sender<Opening>) {
        let Task {
            admitted,
            encoder,
            mut log,
            trace_id,
            started_ms,
            signal,
        } = self;
        let Admitted {
            mut attempts,
            held,
            session,
            max_tokens_reduced,
            grounding,
        } = admitted;
        let keep_alive_ms = attempts.settings.tenant.keep_alive_ms;
        let (env, settings) = (attempts.env.clone(), Rc::clone(&attempts.settings));
        let shared: Shared = Rc::new(RefCell::new(None));
        let feed: Closure<Feed> = {
            let shared = Rc::clone(&shared);
            Closure::new(move |chunk: Option<Vec<u8>>, gone: bool, now: f64| {
                shared
                    .borrow_mut()
                    .as_mut()?
                    .feed(chunk.as_deref(), gone, now as u64)
            })
        };
        let tick: Closure<Tick> = {
            let shared = Rc::clone(&shared);
            Closure::new(move |now: f64| {
                shared
                    .borrow_mut()
                    .as_mut()?
                    .tick(now as u64)
                    .map(<[u8]>::to_vec)
            })
        };
        let pump = RelayPump::new(&feed, &tick, keep_alive_ms as f64, RELAY_BUFFER);
        let mut opening = Some(tx);

        // Until the first token: keep-alive comments, once the wait is long.
        let outcome = {
            let run = attempts.run(true);
            futures::pin_mut!(run);
            loop {
                if keep_alive_ms == 0 {
                    break run.await;
                }
                let wait = Box::pin(Delay::from(Duration::from_millis(keep_alive_ms)));
                match select(run.as_mut(), wait).await {
                    Either::Left((outcome, _)) => break outcome,
                    Either::Right(_) => {
                        // The first keep-alive starts the stream; a response that cannot be
                        // built now is tried again at the commit.
                        if let Some(tx) = opening.take() {
                            match sse_response(&pump, grounding.as_ref()) {
                                Ok(resp) => {
                                    let _ = tx.send(Opening::Answer(resp));
                                }
                                Err(_) => opening = Some(tx),
                            }
                        }
                        if opening.is_none() {
                            pump.write(KEEP_ALIVE.to_vec());
                        }
                    }
                }
            }
        };
        let books = Books {
            attempts,
            held,
            session,
            max_tokens_reduced,
            grounding,
            trace_id,
            started_ms,
        };
        let started = match outcome {
            Ok(started) => started,
            Err(failure) => {
                books
                    .refused(failure, encoder, &pump, opening, &mut log)
                    .await;
                return;
            }
        };
        log.model = Some(started.model.clone());
        log.fallback = started.fallback;
        log.failed_attempts = books.attempts.plan.attempts().clone();
        let ttft_ms = now_ms().saturating_sub(started_ms);
        let Started {
            output,
            fold,
            pending,
            ended,
            model,
            fallback,
            timeout_ms,
        } = started;
        // An answer that already ended keeps its stream here; dropping it cancels the rest.
        let (decoder, reader, _ended_stream): (Box<dyn Decode>, Option<StreamReader>, _) =
            match output {
                crate::providers::ModelOutput::Stream {
                    mut bytes, decoder, ..
                } if !ended => (decoder, bytes.take(), None),
                crate::providers::ModelOutput::Stream { bytes, decoder, .. } => {
                    (decoder, None, Some(bytes))
                }
                crate::providers::ModelOutput::Whole(_) => {
                    (Box::new(StreamDecoder::new()), None, None)
                }
            };
        let meta = AnswerMeta {
            model: &model,
            fallback,
            trace_id: &books.trace_id,
            session_id: books.attempts.conv.session_id.as_deref(),
            created_s: started_ms / 1000,
            latency_ms: ttft_ms,
            ttft_ms: Some(ttft_ms),
            history_messages: books.session.as_ref().map(|s| s.history_sent),
            max_tokens_reduced: books.max_tokens_reduced,
            sources: Grounding::reported(books.grounding.as_ref()),
        };
        let mut relay = Relay::new(encoder, fold, decoder, keep_alive_ms, now_ms());
        pump.write(relay.open(&meta, &pending, now_ms()));
        if let Some(tx) = opening.take() {
            let committed = sse_response(&pump, books.grounding.as_ref()).and_then(|mut resp| {
                answer_headers(&mut resp, &meta, None)?;
                set_remaining(&mut resp, books.held.remaining())?;
                Ok(resp)
            });
            match committed {
                Ok(resp) => {
                    let _ = tx.send(Opening::Answer(resp));
                }
                Err(e) => {
                    // No stream to relay: still bill what the model produced.
                    let usage = relay.fold().report().plus(books.attempts.billed);
                    let env = books.attempts.env.clone();
                    budgets::settle(&env, books.held, spent(usage), &mut log, None).await;
                    let _ = tx.send(Opening::Refused(
                        ApiError::Internal(e.to_string()),
                        Box::new(log),
                    ));
                    return;
                }
            }
        }
        *shared.borrow_mut() = Some(relay);
        let read = match &reader {
            Some(r) => pump.relay(r, timeout_ms as f64).await,
            None => Ok(false),
        };
        drop((feed, tick));
        let taken = shared.borrow_mut().take();
        let Some(mut relay) = taken else {
            return; // unreachable: only this task takes it
        };
        let failure = match read {
            Ok(true) => Some(AttemptFailure::timeout(timeout_ms)),
            Ok(false) => relay.take_failure(),
            Err(e) => Some(AttemptFailure::network(&js_error_message(&e))),
        };
        books
            .finish(&pump, relay, failure, &model, fallback, ttft_ms, &mut log)
            .await;
        // A reset connection may never cancel the stream (the response was never taken).
        log.client_disconnected = pump.client_gone() || signal.aborted();
        worker::console_log!("{}", log.to_line());
        ops::history::record(&env, &settings.tenant, &log).await;
    }
}

/// The SSE response on the pump's stream (with `x-knowledge` when the request is grounded).
fn sse_response(pump: &RelayPump, grounding: Option<&Grounding>) -> worker::Result<Response> {
    let mut resp = Response::from_body(ResponseBody::Stream(pump.readable()))?;
    let h = resp.headers_mut();
    h.set("content-type", "text/event-stream; charset=utf-8")?;
    h.set("cache-control", "no-cache, no-transform")?;
    if let Some(g) = grounding {
        h.set("x-knowledge", &g.header())?;
    }
    Ok(resp)
}

/// What a stream settles when it ends.
struct Books {
    attempts: Attempts,
    held: Holds,
    session: Option<SessionTurn>,
    max_tokens_reduced: Option<u64>,
    grounding: Option<Grounding>,
    trace_id: String,
    started_ms: u64,
}

impl Books {
    /// Every model failed before its first token: an error response when nothing was sent
    /// yet, else the stream (started early for keep-alives) ends with the chain's error.
    async fn refused(
        self,
        failure: ChainFailure,
        mut encoder: Box<dyn Encoder>,
        pump: &RelayPump,
        opening: Option<oneshot::Sender<Opening>>,
        log: &mut RequestLog,
    ) {
        log.failed_attempts = failure.attempts.clone();
        let billed = self.attempts.billed;
        if billed.total > 0 {
            log.tokens = Some(billed);
        }
        let env = self.attempts.env.clone();
        budgets::settle(&env, self.held, spent(billed), log, None).await;
        let error = ApiError::AllModelsFailed { failure };
        if let Some(tx) = opening {
            let _ = tx.send(Opening::Refused(error, Box::new(log.clone())));
            return;
        }
        let (_, code) = error.status_and_code();
        log.error_code = Some(code.to_string());
        log.error_detail = error.log_detail();
        log.finish = Some("error");
        let latency_ms = now_ms().saturating_sub(self.started_ms);
        let meta = AnswerMeta {
            model: "",
            fallback: false,
            trace_id: &self.trace_id,
            session_id: self.attempts.conv.session_id.as_deref(),
            created_s: self.started_ms / 1000,
            latency_ms,
            ttft_ms: None,
            history_messages: self.session.as_ref().map(|s| s.history_sent),
            max_tokens_reduced: self.max_tokens_reduced,
            sources: None,
        };
        let mut out = Vec::new();
        encoder.stream_start(&meta, &mut out);
        let end = StreamEnd::Failed {
            code,
            message: error.to_string(),
            usage: billed,
        };
        encoder.stream_end(&end, &meta, &mut out);
        pump.finish(out);
        log.status = 200;
        log.latency_ms = latency_ms;
        log.client_disconnected = pump.client_gone();
        worker::console_log!("{}", log.to_line());
        ops::history::record(&env, &self.attempts.settings.tenant, log).await;
    }

    /// Stores the session turn, writes the end event and settles the books.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        mut self,
        pump: &RelayPump,
        relay: Relay<Box<dyn Encoder>>,
        failure: Option<AttemptFailure>,
        model: &str,
        fallback: bool,
        ttft_ms: u64,
        log: &mut RequestLog,
    ) {
        let env = self.attempts.env.clone();
        let usage = relay.fold().report().plus(self.attempts.billed);
        // A complete answer joins its session before the client hears the end, so the next
        // turn sees it; a failed one is not stored.
        if let (None, Some(turn)) = (&failure, &self.session) {
            if let Err(e) = sessions::record(&env, turn, &relay.fold().clone().into_answer()).await
            {
                log.error_detail = Some(format!("session not stored: {e}"));
            }
        }
        let end = match failure {
            None => StreamEnd::Finished {
                finish: relay.fold().finish_reason(),
                usage,
            },
            Some(f) => {
                log.error_detail = Some(format!("{:?}: {}", f.kind, f.detail));
                let code = match self.attempts.plan.on(Input::Failed(f)) {
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
        let latency_ms = now_ms().saturating_sub(self.started_ms);
        let meta = AnswerMeta {
            model,
            fallback,
            trace_id: &self.trace_id,
            session_id: self.attempts.conv.session_id.as_deref(),
            created_s: self.started_ms / 1000,
            latency_ms,
            ttft_ms: Some(ttft_ms),
            history_messages: self.session.as_ref().map(|s| s.history_sent),
            max_tokens_reduced: self.max_tokens_reduced,
            sources: Grounding::reported(self.grounding.as_ref()),
        };
        let (last, _fold) = relay.close(&end, &meta, pump.client_gone());
        pump.finish(last);
        log.status = 200;
        log.latency_ms = latency_ms;
        log.ttft_ms = Some(ttft_ms);
        log.tokens = Some(usage);
        log.finish = Some(match &end {
            StreamEnd::Finished { finish, .. } => finish.as_str(),
            StreamEnd::Failed { .. } => "error",
        });
        budgets::settle(&env, self.held, spent(usage), log, None).await;
    }
}
