//! The Anthropic Messages encoding: a `message` object, or its `event:`/`data:` stream.
//!
//! A stream is `message_start` (the message with no content and usage 0: the prompt's count
//! is known at the end), `ping`, then content blocks in order: text (`content_block_start`,
//! `text_delta`s, `content_block_stop` when a tool call begins or at the end) and `tool_use`
//! blocks, announced once their name is known (`input: {}`, then `input_json_delta`s, stopped
//! at the end), then `message_delta` (stop reason and the whole usage: the SDKs copy its
//! `output_tokens` and, when present, `input_tokens`) and `message_stop`. Every event has an
//! `event:` line: the SDKs drop data-only events. A failure ends with `event: error` and an
//! `api_error`, and no `message_stop`. Reasoning is not returned (a thinking block needs a
//! signature the gateway cannot make), and `stop_sequence` is always null: the model's
//! finish does not say which sequence stopped it.

use serde::Serialize;
use serde_json::{json, Value};

use super::encode::{arguments_json, frame, CallStep, StreamCalls};
use super::{AnswerMeta, Encoder, StreamEnd};
use crate::answer::Answer;
use crate::events::{FinishReason, ModelEvent};
use crate::problem::{Problem, ProblemKind};
use crate::usage::TokenReport;

/// A message id, derived from the request's trace id.
pub fn message_id(trace_id: &str) -> String {
    format!("msg_{trace_id}")
}

/// Anthropic's `stop_reason` for a finish (a content filter is a `refusal`).
pub fn stop_reason(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
    }
}

/// Anthropic's `error.type` for a problem.
pub fn error_type(p: &Problem) -> &'static str {
    match p.kind() {
        ProblemKind::InvalidRequest => "invalid_request_error",
        ProblemKind::Authentication => "authentication_error",
        ProblemKind::Permission => "permission_error",
        ProblemKind::NotFound => "not_found_error",
        ProblemKind::TooLarge => "request_too_large",
        ProblemKind::RateLimit => "rate_limit_error",
        ProblemKind::Api => "api_error",
        ProblemKind::Overloaded => "overloaded_error",
    }
}

/// Anthropic's error body: `{"type": "error", "error": {type, message}, "request_id"}` (plus
/// `budget` for a budget refusal); `request_id` is the trace id.
pub fn error_body(p: &Problem, trace_id: &str) -> Value {
    let mut body = json!({
        "type": "error",
        "error": { "type": error_type(p), "message": p.message },
        "request_id": trace_id,
    });
    if let Some((refusal, scope)) = &p.budget {
        body["error"]["budget"] = json!(refusal);
        body["error"]["budget"]["scope"] = (*scope).into();
    }
    body
}

/// `GET /v1/models` in Anthropic's shape, from `(id, display name)` pairs: one page holding
/// every model.
pub fn models_body(models: &[(String, String)]) -> Value {
    let data: Vec<Value> = models
        .iter()
        .map(|(id, name)| model_body(id, name))
        .collect();
    json!({
        "data": data, "has_more": false,
        "first_id": models.first().map(|m| &m.0), "last_id": models.last().map(|m| &m.0),
    })
}

/// One model (`GET /v1/models/{id}`) in Anthropic's shape; the creation date is not known.
pub fn model_body(id: &str, display_name: &str) -> Value {
    json!({"type": "model", "id": id, "display_name": display_name, "created_at": "1970-01-01T00:00:00Z"})
}

/// The whole-answer `usage` (no cache is used: its counts are 0).
pub fn usage_json(u: &TokenReport) -> Value {
    json!({
        "input_tokens": u.prompt, "output_tokens": u.completion,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
    })
}

/// The Messages encoder; `message_id` is the message's id (see `message_id`).
#[derive(Debug)]
pub struct AnthropicEncoder {
    id: String,
    /// Content blocks started so far.
    blocks: usize,
    /// The index of the text block being written.
    open_text: Option<usize>,
    calls: StreamCalls,
}

#[derive(Serialize)]
struct BlockDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    delta: Delta<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum Delta<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "input_json_delta")]
    Json { partial_json: &'a str },
}

fn delta(out: &mut Vec<u8>, index: usize, delta: Delta<'_>) {
    let d = BlockDelta {
        kind: "content_block_delta",
        index,
        delta,
    };
    frame(out, "content_block_delta", &d);
}

fn block_stop(out: &mut Vec<u8>, index: usize) {
    frame(
        out,
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": index}),
    );
}

impl AnthropicEncoder {
    pub fn new(message_id: String) -> Self {
        Self {
            id: message_id,
            blocks: 0,
            open_text: None,
            calls: StreamCalls::default(),
        }
    }

    fn start_block(&mut self, out: &mut Vec<u8>, block: Value) -> usize {
        let index = self.blocks;
        self.blocks += 1;
        frame(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
        index
    }

    fn close_text(&mut self, out: &mut Vec<u8>) {
        if let Some(index) = self.open_text.take() {
            block_stop(out, index);
        }
    }

    /// Starts the `tool_use` block of call `pos`, with its arguments so far.
    fn announce(&mut self, out: &mut Vec<u8>, pos: usize) {
        let Some(c) = self.calls.calls.get(pos) else {
            return;
        };
        let block = json!({"type": "tool_use", "id": c.id, "name": c.name, "input": {}});
        let arguments = c.arguments.clone();
        let index = self.start_block(out, block);
        self.calls.calls[pos].slot = Some(index);
        if !arguments.is_empty() {
            delta(
                out,
                index,
                Delta::Json {
                    partial_json: &arguments,
                },
            );
        }
    }
}

impl Encoder for AnthropicEncoder {
    fn answer(&self, a: &Answer, meta: &AnswerMeta<'_>) -> Value {
        let mut content = Vec::new();
        if !a.text.is_empty() || a.tool_calls.is_empty() {
            content.push(json!({"type": "text", "text": a.text}));
        }
        for c in &a.tool_calls {
            content.push(json!({
                "type": "tool_use", "id": c.id, "name": c.name, "input": arguments_json(&c.arguments),
            }));
        }
        json!({
            "id": self.id, "type": "message", "role": "assistant", "content": content,
            "model": meta.model, "stop_reason": stop_reason(a.finish), "stop_sequence": null,
            "usage": usage_json(&a.usage),
        })
    }

    fn stream_start(&mut self, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        let mut message = json!({
            "id": self.id, "type": "message", "role": "assistant", "content": [],
            "model": meta.model, "stop_reason": null, "stop_sequence": null,
            "usage": usage_json(&TokenReport::default()),
        });
        // A grounded answer's sources, known before the first token, ride on the opening
        // message (SDKs keep unknown fields), as on a whole answer.
        if let Some(sources) = super::sources_json(meta) {
            message["sources"] = sources;
        }
        frame(
            out,
            "message_start",
            &json!({"type": "message_start", "message": message}),
        );
        frame(out, "ping", &json!({"type": "ping"}));
    }

    fn stream_event(&mut self, event: &ModelEvent, out: &mut Vec<u8>) {
        match event {
            ModelEvent::Text(t) if !t.is_empty() => {
                let index = match self.open_text {
                    Some(i) => i,
                    None => {
                        let i = self.start_block(out, json!({"type": "text", "text": ""}));
                        self.open_text = Some(i);
                        i
                    }
                };
                delta(out, index, Delta::Text { text: t });
            }
            ModelEvent::ToolCall(d) => {
                self.close_text(out);
                match self.calls.apply(d) {
                    CallStep::Announce(pos) => self.announce(out, pos),
                    CallStep::Append(pos) => {
                        if let (Some(index), false) =
                            (self.calls.calls[pos].slot, d.arguments.is_empty())
                        {
                            delta(
                                out,
                                index,
                                Delta::Json {
                                    partial_json: &d.arguments,
                                },
                            );
                        }
                    }
                    CallStep::Pending => {}
                }
            }
            _ => {}
        }
    }

    fn stream_end(&mut self, end: &StreamEnd, _meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        match end {
            StreamEnd::Finished { finish, usage } => {
                self.close_text(out);
                for pos in self.calls.by_index() {
                    if self.calls.calls[pos].slot.is_none() {
                        self.announce(out, pos);
                    }
                }
                let mut open: Vec<usize> = self.calls.calls.iter().filter_map(|c| c.slot).collect();
                open.sort_unstable();
                for index in open {
                    block_stop(out, index);
                }
                let d = json!({
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason(*finish), "stop_sequence": null},
                    "usage": {"input_tokens": usage.prompt, "output_tokens": usage.completion},
                });
                frame(out, "message_delta", &d);
                frame(out, "message_stop", &json!({"type": "message_stop"}));
            }
            StreamEnd::Failed { message, .. } => {
                let e =
                    json!({"type": "error", "error": {"type": "api_error", "message": message}});
                frame(out, "error", &e);
            }
        }
    }
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
