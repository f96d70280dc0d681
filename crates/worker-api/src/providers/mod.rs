//! The provider boundary: one attempt at one model, returning normalized events, never provider JSON.

pub mod backend;
pub mod discovery;
pub mod embeddings;
pub mod http;
pub mod token;
pub mod workers_ai;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::future::{select, Either};
use gateway::attempt::AttemptFailure;
use gateway::call::{GatewayRoute, ModelCall};
use gateway::events::ModelEvent;
use gateway::wire::Decode;
use worker::Delay;

use crate::clock::now_ms;
use crate::engine::pump::{Chunk, ModelBytes};
use crate::js::js_error_message;

/// A model backend. Each call is one attempt; timeouts and fallback are the engine's.
#[allow(async_fn_in_trait)] // Workers are single-threaded: futures need not be Send.
pub trait ChatProvider {
    async fn run(
        &self,
        call: &ModelCall<'_>,
        route: &GatewayRoute<'_>,
    ) -> Result<ModelOutput, AttemptFailure>;
}

/// What a call returned: events already decoded (a whole answer), or a byte stream the
/// provider's decoder turns into events as it is read. Dropping it cancels the stream.
pub enum ModelOutput {
    Whole(Option<Vec<ModelEvent>>),
    Stream {
        bytes: ModelBytes,
        /// The provider's own decoder of its wire format.
        decoder: Box<dyn Decode>,
        watchdog: Watchdog,
    },
}

/// The deadline timer of a stream read from Rust (until its first output; the committed rest
/// is read by `js/pump.js`, which keeps its own idle timer). One timer serves every read
/// instead of a `setTimeout` and its cancel per chunk; should a later read carry a later
/// deadline, the timer is set again for what is left.
#[derive(Default)]
pub struct Watchdog {
    timer: Option<Pin<Box<Delay>>>,
}

impl Watchdog {
    /// Runs `fut` until `deadline_ms`; `None` when time ran out first.
    pub async fn within<F: Future>(&mut self, deadline_ms: u64, fut: F) -> Option<F::Output> {
        futures::pin_mut!(fut);
        loop {
            let timer = self.timer.get_or_insert_with(|| {
                let left = deadline_ms.saturating_sub(now_ms());
                Box::pin(Delay::from(Duration::from_millis(left)))
            });
            match select(fut.as_mut(), timer.as_mut()).await {
                Either::Left((v, _)) => return Some(v),
                Either::Right(_) => {
                    self.timer = None;
                    if now_ms() >= deadline_ms {
                        return None;
                    }
                }
            }
        }
    }
}

/// One read of a model's output.
pub enum Read {
    /// Events were appended (possibly none); more may follow.
    More,
    /// The answer ended normally (a `Done` event was appended).
    End,
    Failed(AttemptFailure),
    /// Nothing arrived before the deadline.
    TimedOut,
}

impl ModelOutput {
    /// A stream of the provider's bytes, read with its decoder.
    pub fn stream(bytes: ModelBytes, decoder: Box<dyn Decode>) -> Self {
        Self::Stream {
            bytes,
            decoder,
            watchdog: Watchdog::default(),
        }
    }

    /// Reads the next piece of the answer into `out`, waiting until `deadline_ms` at most.
    pub async fn read(&mut self, deadline_ms: u64, out: &mut Vec<ModelEvent>) -> Read {
        match self {
            Self::Whole(events) => match events.take() {
                Some(mut e) => {
                    out.append(&mut e);
                    Read::End
                }
                None => Read::End,
            },
            Self::Stream {
                bytes,
                decoder,
                watchdog,
            } => match watchdog.within(deadline_ms, bytes.next()).await {
                None => Read::TimedOut,
                Some(Chunk::Bytes(chunk)) => decode_step(decoder.as_mut(), Some(&chunk), out),
                Some(Chunk::Failed(e)) => {
                    Read::Failed(AttemptFailure::network(&js_error_message(&e)))
                }
                Some(Chunk::End) => {
                    bytes.take();
                    decode_step(decoder.as_mut(), None, out)
                }
            },
        }
    }
}

/// Feeds one chunk to `decoder` (`None` at the stream's end), appending its events to `out`:
/// `End` once the answer is done, `Failed` when the bytes do not decode, else `More`.
pub fn decode_step(
    decoder: &mut dyn Decode,
    chunk: Option<&[u8]>,
    out: &mut Vec<ModelEvent>,
) -> Read {
    let step = match chunk {
        Some(bytes) => decoder.feed(bytes, out),
        None => decoder.finish(out),
    };
    match step {
        Err(e) => Read::Failed(AttemptFailure::from_decode(&e)),
        Ok(()) if decoder.is_done() => Read::End,
        Ok(()) => Read::More,
    }
}

/// Runs `fut` until `deadline_ms`; `None` when time ran out first.
pub async fn within<F: Future>(deadline_ms: u64, fut: F) -> Option<F::Output> {
    let left = deadline_ms.saturating_sub(now_ms());
    let delay = Delay::from(Duration::from_millis(left));
    futures::pin_mut!(fut);
    match select(fut, delay).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}
