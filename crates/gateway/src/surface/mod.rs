//! Surfaces: each parses its request body into a `Conversation` and encodes answers, streams
//! and their end in its own wire format. Adding a surface is one module implementing `Encoder`.

pub mod anthropic;
pub mod anthropic_request;
pub mod embeddings;
pub mod embeddings_answer;
pub(crate) mod encode;
pub mod native;
pub mod native_request;
pub mod openai;
pub mod openai_request;
pub mod responses;
pub mod responses_request;
pub mod ui;
pub mod ui_request;

use serde::Serialize;
use serde_json::Value;

use crate::answer::Answer;
use crate::events::{FinishReason, ModelEvent};
use crate::usage::TokenReport;

/// Facts about an answer that every surface reports.
#[derive(Debug, Clone, Copy)]
pub struct AnswerMeta<'a> {
    /// The model that answered.
    pub model: &'a str,
    pub fallback: bool,
    pub trace_id: &'a str,
    pub session_id: Option<&'a str>,
    /// When the request arrived, in Unix seconds.
    pub created_s: u64,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    /// With a server-side session: how many stored messages were sent along.
    pub history_messages: Option<usize>,
    /// Shrink-to-fit: the output cap the budget lowered the request's to.
    pub max_tokens_reduced: Option<u64>,
    /// A grounded answer's sources (`knowledge`), numbered as the model was asked to cite them.
    pub sources: Option<&'a [knowledge::Source]>,
}

/// How a relayed stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The model finished (or the output cap cut it off: `Length`).
    Finished {
        finish: FinishReason,
        usage: TokenReport,
    },
    /// The stream failed: the committed model mid-stream (`ai_error`, `ai_timeout`, with
    /// `MID_STREAM_FAILURE` as the message), or every model before the first token after the
    /// stream had already started to keep a slow answer's connection alive (the chain's code
    /// and message).
    Failed {
        code: &'static str,
        message: String,
        usage: TokenReport,
    },
}

/// The message a client reads when a stream fails: never the model's or provider's words.
pub const MID_STREAM_FAILURE: &str =
    "the model failed mid-stream; the answer is incomplete (the log has details under this trace id)";

/// One surface's encoding of answers.
pub trait Encoder {
    /// The JSON body of a whole answer.
    fn answer(&self, answer: &Answer, meta: &AnswerMeta<'_>) -> Value;
    /// Bytes that open a stream, before any event.
    fn stream_start(&mut self, meta: &AnswerMeta<'_>, out: &mut Vec<u8>);
    /// One relayed event (text or a tool-call delta).
    fn stream_event(&mut self, event: &ModelEvent, out: &mut Vec<u8>);
    /// The stream's last bytes.
    fn stream_end(&mut self, end: &StreamEnd, meta: &AnswerMeta<'_>, out: &mut Vec<u8>);
}

/// A boxed encoder encodes like the one inside: the worker's engine holds every surface's
/// encoder as `Box<dyn Encoder>`, so its code exists once, not once per surface.
impl<E: Encoder + ?Sized> Encoder for Box<E> {
    fn answer(&self, answer: &Answer, meta: &AnswerMeta<'_>) -> Value {
        (**self).answer(answer, meta)
    }

    fn stream_start(&mut self, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        (**self).stream_start(meta, out);
    }

    fn stream_event(&mut self, event: &ModelEvent, out: &mut Vec<u8>) {
        (**self).stream_event(event, out);
    }

    fn stream_end(&mut self, end: &StreamEnd, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        (**self).stream_end(end, meta, out);
    }
}

/// A grounded answer's sources in their public shape (`Source::to_json`), or `None`.
pub fn sources_json(meta: &AnswerMeta<'_>) -> Option<Value> {
    meta.sources
        .map(|list| Value::Array(list.iter().map(knowledge::Source::to_json).collect()))
}

/// Appends `value` as JSON (serialization of these plain structs cannot fail).
pub(crate) fn write_json(out: &mut Vec<u8>, value: &impl Serialize) {
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}

#[cfg(test)]
#[path = "sources_tests.rs"]
mod sources_tests;
