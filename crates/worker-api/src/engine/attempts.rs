//! The attempt loop: the I/O that drives `AttemptPlan` over a request's model chain until a
//! model reaches its first output (a stream) or its end (a whole answer). It owns what it
//! needs, so a stream's loop can outlive the request handler.

use std::cell::RefCell;
use std::rc::Rc;

use gateway::answer::AnswerFold;
use gateway::attempt::{AttemptFailure, AttemptPlan, ChainFailure, Decision, FailureKind, Input};
use gateway::call::{GatewayRoute, ModelCall};
use gateway::conversation::Conversation;
use gateway::events::ModelEvent;
use gateway::usage::TokenReport;
use gateway::wire::Decode;
use wasm_bindgen::closure::Closure;
use worker::Env;

use crate::budgets::Holds;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::engine::pump::{Fold, RelayPump, StreamReader};
use crate::js::js_error_message;
use crate::providers::backend::Backend;
use crate::providers::{decode_step, within, ChatProvider, ModelOutput, Read};
use crate::sessions::SessionTurn;

/// A model that reached its first output (or its end), committed.
pub struct Started {
    pub output: ModelOutput,
    pub fold: AnswerFold,
    /// Events for the client, read but not yet sent.
    pub pending: Vec<ModelEvent>,
    /// Whether the answer already ended (whole answers, short streams, the output cap).
    pub ended: bool,
    pub model: String,
    pub fallback: bool,
    /// The attempt's timeout, which is also its stream's idle timeout.
    pub timeout_ms: u64,
}

/// A request admitted: its attempts, its holds on the budgets and its session turn.
pub struct Admitted {
    pub attempts: Attempts,
    pub held: Holds,
    pub session: Option<SessionTurn>,
    /// Shrink-to-fit lowered the output cap to this.
    pub max_tokens_reduced: Option<u64>,
    /// The request's knowledge-base grounding, if it asked for one.
    pub grounding: Option<crate::exchange::Grounding>,
}

/// One request's attempts over its chain.
pub struct Attempts {
    pub env: Env,
    pub settings: Rc<Settings>,
    pub conv: Conversation,
    /// The surface's route, for the AI Gateway metadata.
    pub route: &'static str,
    pub trace_id: String,
    /// The authenticated caller (`key:<id>`, `user:<sub>`), for the metadata.
    pub client: Option<String>,
    pub plan: AttemptPlan,
    /// The output cap every budget admitted.
    pub cap: u64,
    pub prompt_estimate: u64,
    /// Tokens of attempts that failed after the model started answering: billed too.
    pub billed: TokenReport,
}

type AttemptError = (AttemptFailure, Option<AnswerFold>);

impl Attempts {
    /// Calls the chain's models in turn until one reaches its first output (`stream`) or its
    /// end, and commits it; or every model fails.
    pub async fn run(&mut self, stream: bool) -> Result<Started, ChainFailure> {
        let mut decision = self.plan.start();
        loop {
            let model = match decision {
                Decision::Call(m) => m,
                Decision::GiveUp(f) => return Err(f),
                // The plan only commits on FirstOutput and ends streams after a commit.
                Decision::Commit { .. } | Decision::EndStream { .. } => {
                    decision = self.plan.on(Input::Failed(AttemptFailure::of_kind(
                        FailureKind::ServerError,
                        "attempt plan out of order",
                    )));
                    continue;
                }
            };
            match self.attempt(&model, stream).await {
                Ok(mut started) => match self.plan.on(Input::FirstOutput) {
                    Decision::Commit { model, fallback } => {
                        started.model = model;
                        started.fallback = fallback;
                        return Ok(started);
                    }
                    other => decision = other,
                },
                Err((f, fold)) => {
                    if let Some(fold) = fold {
                        self.billed = self.billed.plus(fold.report());
                    }
                    decision = self.plan.on(Input::Failed(f));
                }
            }
        }
    }

    /// One attempt at `model`.
    async fn attempt(&self, model: &str, stream: bool) -> Result<Started, AttemptError> {
        let tenant = &self.settings.tenant;
        let Some(backend) = Backend::for_model(model, tenant, &self.env) else {
            // Only a binding that vanished can get here (configs are checked).
            let f = AttemptFailure::of_kind(FailureKind::Unavailable, "no backend for the model");
            return Err((f, None));
        };
        let timeout_ms = u64::from(backend.timeout_ms().unwrap_or(tenant.attempt_timeout_ms));
        // A whole answer is streamed from the provider and assembled here, so the output cap
        // cuts it off (and the provider stops) even when a model ignores `max_tokens`; a
        // provider the tenant trusts to stop there gets one non-streamed call instead.
        let mut call = ModelCall::new(
            model,
            &self.conv,
            u32::try_from(self.cap).unwrap_or(u32::MAX),
        );
        call.stream = stream || !backend.trusts_max_tokens(tenant);
        let route = GatewayRoute {
            gateway_id: &tenant.ai_gateway_id,
            tenant_id: tenant.tenant_id.as_str(),
            trace_id: &self.trace_id,
            session_id: self.conv.session_id.as_deref(),
            user: self.conv.user.as_deref(),
            client: self.client.as_deref(),
            route: self.route,
        };
        let deadline = now_ms() + timeout_ms;
        let fold = AnswerFold::new(self.prompt_estimate, self.cap, true)
            .priced(tenant.pricing.price(model));
        let output = match within(deadline, backend.run(&call, &route)).await {
            None => return Err((AttemptFailure::timeout(timeout_ms), None)),
            Some(Err(f)) => return Err((f, None)),
            Some(Ok(output)) => output,
        };
        first_output(output, fold, deadline, timeout_ms, stream)
            .await
            .map(|(output, fold, pending, ended)| Started {
                output,
                fold,
                pending,
                ended,
                model: model.to_string(),
                fallback: false,
                timeout_ms,
            })
    }
}

/// Reads an attempt's output until its first client-visible output (streams) or its end
/// (whole answers: nothing reaches the client before the end, so any failure may fall back).
/// A whole answer may take as long as it keeps sending: after its first output the deadline
/// is `timeout_ms` from the latest chunk, as for a relayed stream.
async fn first_output(
    output: ModelOutput,
    mut fold: AnswerFold,
    mut deadline: u64,
    timeout_ms: u64,
    stream: bool,
) -> Result<(ModelOutput, AnswerFold, Vec<ModelEvent>, bool), AttemptError> {
    let mut output = match output {
        ModelOutput::Stream {
            mut bytes,
            decoder,
            watchdog,
        } if !stream => match bytes.take() {
            Some(reader) => return collect(reader, decoder, fold, deadline, timeout_ms).await,
            None => ModelOutput::Stream {
                bytes,
                decoder,
                watchdog,
            },
        },
        other => other,
    };
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
            Read::End => return Ok((output, fold, pending, true)),
            Read::More if fold.capped() || (stream && fold.has_output()) => {
                let ended = fold.capped();
                return Ok((output, fold, pending, ended));
            }
            Read::More => {}
        }
    }
}

/// A whole answer's decoder and fold, shared with `RelayPump.collect`'s per-chunk call.
struct Collecting {
    decoder: Box<dyn Decode>,
    fold: AnswerFold,
    pending: Vec<ModelEvent>,
    fresh: Vec<ModelEvent>,
    deadline: u64,
    timeout_ms: u64,
    /// Why reading stopped: `None` while it goes on, `Some(None)` at the answer's end (or
    /// the output cap), `Some(Some(f))` when the stream turned out broken.
    stopped: Option<Option<AttemptFailure>>,
}

impl Collecting {
    /// One chunk (`None` at the stream's end): the read's deadline, or `None` to stop.
    fn chunk(&mut self, chunk: Option<&[u8]>, now_ms: u64) -> Option<u64> {
        let step = decode_step(self.decoder.as_mut(), chunk, &mut self.fresh);
        let fold = &mut self.fold;
        self.pending
            .extend(self.fresh.drain(..).filter_map(|e| fold.apply(e)));
        match step {
            Read::Failed(f) => self.stopped = Some(Some(f)),
            Read::More if chunk.is_some() && !fold.capped() => {}
            _ => self.stopped = Some(None),
        }
        if self.stopped.is_some() {
            return None;
        }
        if fold.has_output() {
            self.deadline = now_ms + self.timeout_ms;
        }
        Some(self.deadline)
    }
}

/// Reads a whole answer's stream to its end in `js/pump.js` (`RelayPump.collect`): one JS
/// read and one Rust call per chunk. Reading it from Rust cost a future, a waker, a microtask
/// and a timer race per chunk, about 14 µs per token of a whole answer (docs/performance.md).
async fn collect(
    reader: StreamReader,
    decoder: Box<dyn Decode>,
    fold: AnswerFold,
    deadline: u64,
    timeout_ms: u64,
) -> Result<(ModelOutput, AnswerFold, Vec<ModelEvent>, bool), AttemptError> {
    let state = Rc::new(RefCell::new(Collecting {
        decoder,
        fold,
        pending: Vec::new(),
        fresh: Vec::new(),
        deadline,
        timeout_ms,
        stopped: None,
    }));
    let call: Closure<Fold> = {
        let state = Rc::clone(&state);
        Closure::new(move |chunk: Option<Vec<u8>>, now: f64| {
            state
                .borrow_mut()
                .chunk(chunk.as_deref(), now as u64)
                .map_or(-1.0, |d| d as f64)
        })
    };
    let read = RelayPump::read_whole(&reader, &call, deadline).await;
    drop(call);
    let Ok(state) = Rc::try_unwrap(state).map(RefCell::into_inner) else {
        let f = AttemptFailure::of_kind(FailureKind::ServerError, "answer still being read");
        return Err((f, None));
    };
    let Collecting {
        fold,
        pending,
        stopped,
        ..
    } = state;
    match (read, stopped) {
        (Err(e), _) => Err((AttemptFailure::network(&js_error_message(&e)), Some(fold))),
        (Ok(true), _) => Err((AttemptFailure::timeout(timeout_ms), Some(fold))),
        (Ok(false), Some(Some(f))) => Err((f, Some(fold))),
        (Ok(false), _) => Ok((ModelOutput::Whole(None), fold, pending, true)),
    }
}
