//! `Relay`: a committed stream between chunks. Each chunk of the model's bytes is decoded by
//! the provider's decoder, folded (the output cap) and encoded by the surface; an idle client
//! connection gets an SSE comment now and then. The worker's pump moves the bytes and passes
//! the time in; everything that decides is here.

use crate::answer::AnswerFold;
use crate::attempt::AttemptFailure;
use crate::events::ModelEvent;
use crate::surface::{AnswerMeta, Encoder, StreamEnd};
use crate::wire::Decode;

/// An SSE comment: every SSE client skips it, and proxies see bytes flow.
pub const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// The default gap after which an idle stream gets a keep-alive comment.
pub const DEFAULT_KEEP_ALIVE_MS: u64 = 15_000;

/// Whether a connection silent since `last_write_ms` is due a keep-alive at `now_ms`.
pub fn keep_alive_due(last_write_ms: u64, now_ms: u64, every_ms: u64) -> bool {
    every_ms > 0 && now_ms.saturating_sub(last_write_ms) >= every_ms
}

/// The relay's state between chunks.
pub struct Relay<E> {
    encoder: E,
    fold: AnswerFold,
    decoder: Box<dyn Decode>,
    fresh: Vec<ModelEvent>,
    /// Encoded bytes not yet handed over (at the end: what precedes the last event).
    buf: Vec<u8>,
    failure: Option<AttemptFailure>,
    keep_alive_ms: u64,
    last_write_ms: u64,
}

impl<E: Encoder> Relay<E> {
    /// A relay for a model's stream read with `decoder`, folded by `fold`, written by `encoder`.
    pub fn new(
        encoder: E,
        fold: AnswerFold,
        decoder: Box<dyn Decode>,
        keep_alive_ms: u64,
        now_ms: u64,
    ) -> Self {
        Self {
            encoder,
            fold,
            decoder,
            fresh: Vec::new(),
            buf: Vec::new(),
            failure: None,
            keep_alive_ms,
            last_write_ms: now_ms,
        }
    }

    /// The stream's first bytes: the surface's opening and the events read before the commit.
    pub fn open(&mut self, meta: &AnswerMeta<'_>, pending: &[ModelEvent], now_ms: u64) -> Vec<u8> {
        let mut out = Vec::new();
        self.encoder.stream_start(meta, &mut out);
        for e in pending {
            self.encoder.stream_event(e, &mut out);
        }
        self.last_write_ms = now_ms;
        out
    }

    /// One chunk of the model's stream (`None` at its end), at `now_ms`: the bytes for the
    /// client now (empty for none yet), or `None` to stop reading (the end, a decode failure,
    /// the output cap). One upstream chunk, however many events it held, is one client write.
    pub fn feed(
        &mut self,
        chunk: Option<&[u8]>,
        client_gone: bool,
        now_ms: u64,
    ) -> Option<Vec<u8>> {
        let step = match chunk {
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
        let out = std::mem::take(&mut self.buf);
        if !out.is_empty() {
            self.last_write_ms = now_ms;
        }
        Some(out)
    }

    /// A keep-alive comment when the client has heard nothing for the keep-alive gap.
    pub fn tick(&mut self, now_ms: u64) -> Option<&'static [u8]> {
        if !keep_alive_due(self.last_write_ms, now_ms, self.keep_alive_ms) {
            return None;
        }
        self.last_write_ms = now_ms;
        Some(KEEP_ALIVE)
    }

    /// The decode failure that stopped the relay, if one did.
    pub fn take_failure(&mut self) -> Option<AttemptFailure> {
        self.failure.take()
    }

    /// The fold so far (what to bill, how the answer ended).
    pub fn fold(&self) -> &AnswerFold {
        &self.fold
    }

    /// Ends the stream: the bytes still held and the surface's last event (none when the
    /// client left), and the fold.
    pub fn close(
        mut self,
        end: &StreamEnd,
        meta: &AnswerMeta<'_>,
        client_gone: bool,
    ) -> (Vec<u8>, AnswerFold) {
        let mut out = std::mem::take(&mut self.buf);
        if !client_gone {
            self.encoder.stream_end(end, meta, &mut out);
        }
        (out, self.fold)
    }
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;
