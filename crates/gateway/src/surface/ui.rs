//! The AI SDK UI message stream (`useChat`, ai 6.x): `data: <part>` SSE lines, then `data: [DONE]`.
//!
//! A stream is `start` (with the assistant message's id), `start-step`, the text, reasoning
//! and tool-input parts as they arrive (each text or reasoning run opened with `*-start` and
//! closed with `*-end` before anything else begins), then at its end one
//! `tool-input-available` per tool call (input parsed as JSON, or the raw text when it does not
//! parse), `finish-step`, a `data-usage` part (usage, model, fallback, trace id, timings) and
//! `finish` with its `finishReason`. A failed stream ends with an `error` part and `[DONE]`,
//! no `finish`: `useChat` rethrows the error, so the chat shows it instead of a truncated
//! answer. The client validates every part against its schema and drops the stream on a
//! stranger, so only the documented parts and finish reasons are written.

use serde::Serialize;
use serde_json::{json, Value};

use super::encode::{arguments_json, data_line, CallStep, StreamCalls};
use super::{AnswerMeta, Encoder, StreamEnd};
use crate::answer::Answer;
use crate::events::{FinishReason, ModelEvent};
use crate::usage::TokenReport;

pub use super::native::error_body;

/// The response header the AI SDK documents for a UI message stream.
pub const STREAM_HEADER: (&str, &str) = ("x-vercel-ai-ui-message-stream", "v1");

/// A new assistant message's id, derived from the request's trace id.
pub fn message_id(trace_id: &str) -> String {
    format!("msg-{trace_id}")
}

/// The AI SDK's `finishReason` for a finish.
pub fn finish_reason(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool-calls",
        FinishReason::ContentFilter => "content-filter",
    }
}

/// The UI message stream encoder. `message_id` is the assistant message the stream writes:
/// `UiRequest::continues` when the request continues one, else a new id (`message_id`).
#[derive(Debug)]
pub struct UiEncoder {
    message_id: String,
    /// The open text or reasoning run: its kind and id.
    open: Option<(Run, String)>,
    runs: u32,
    calls: StreamCalls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Text,
    Reasoning,
}

impl Run {
    fn names(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Run::Text => ("text-start", "text-delta", "text-end", "txt"),
            Run::Reasoning => ("reasoning-start", "reasoning-delta", "reasoning-end", "rsn"),
        }
    }
}

/// Every part this encoder writes: `type` first, then the fields that part has.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Part<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_text_delta: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a UsageData<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_text: Option<&'a str>,
}

fn kind(kind: &str) -> Part<'_> {
    Part {
        kind,
        ..Part::default()
    }
}

/// What `data-usage` carries (and, with the finish reason, a whole answer's `metadata`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageData<'a> {
    usage: &'a TokenReport,
    model: &'a str,
    fallback: bool,
    trace_id: &'a str,
    latency_ms: u64,
    ttft_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens_reduced: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'static str>,
}

impl<'a> UsageData<'a> {
    fn new(meta: &AnswerMeta<'a>, usage: &'a TokenReport) -> Self {
        Self {
            usage,
            model: meta.model,
            fallback: meta.fallback,
            trace_id: meta.trace_id,
            latency_ms: meta.latency_ms,
            ttft_ms: meta.ttft_ms,
            max_tokens_reduced: meta.max_tokens_reduced,
            finish_reason: None,
        }
    }
}

/// A finished answer as the parts of its UI message (what the client would hold after the
/// stream): `step-start`, reasoning, text, and one `tool-<name>` part per call, waiting for
/// its output (`input-available`).
pub fn answer_parts(a: &Answer) -> Vec<Value> {
    let mut parts = vec![json!({"type": "step-start"})];
    if !a.reasoning.is_empty() {
        parts.push(json!({"type": "reasoning", "text": a.reasoning, "state": "done"}));
    }
    if !a.text.is_empty() {
        parts.push(json!({"type": "text", "text": a.text, "state": "done"}));
    }
    for c in &a.tool_calls {
        parts.push(json!({
            "type": format!("tool-{}", c.name), "toolCallId": c.id,
            "state": "input-available", "input": arguments_json(&c.arguments),
        }));
    }
    parts
}

impl UiEncoder {
    pub fn new(message_id: String) -> Self {
        Self {
            message_id,
            open: None,
            runs: 0,
            calls: StreamCalls::default(),
        }
    }

    /// Ends the open text or reasoning run, if any.
    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((run, id)) = self.open.take() {
            let p = Part {
                id: Some(&id),
                ..kind(run.names().2)
            };
            data_line(out, &p);
        }
    }

    /// Appends `delta` to a run of kind `run`, opening one first when another is open.
    fn run(&mut self, run: Run, delta: &str, out: &mut Vec<u8>) {
        if delta.is_empty() {
            return;
        }
        let (start, delta_kind, _, prefix) = run.names();
        if self.open.as_ref().map(|(r, _)| *r) != Some(run) {
            self.close(out);
            let id = format!("{prefix}-{}", self.runs);
            self.runs += 1;
            let p = Part {
                id: Some(&id),
                ..kind(start)
            };
            data_line(out, &p);
            self.open = Some((run, id));
        }
        if let Some((_, id)) = &self.open {
            let p = Part {
                id: Some(id),
                delta: Some(delta),
                ..kind(delta_kind)
            };
            data_line(out, &p);
        }
    }

    fn input_delta(out: &mut Vec<u8>, id: &str, delta: &str) {
        if !delta.is_empty() {
            let p = Part {
                tool_call_id: Some(id),
                input_text_delta: Some(delta),
                ..kind("tool-input-delta")
            };
            data_line(out, &p);
        }
    }
}

impl Encoder for UiEncoder {
    /// `useChat` never asks for a whole answer; this is the assistant UI message it would hold.
    fn answer(&self, a: &Answer, meta: &AnswerMeta<'_>) -> Value {
        let metadata = UsageData {
            finish_reason: Some(finish_reason(a.finish)),
            ..UsageData::new(meta, &a.usage)
        };
        json!({
            "id": self.message_id, "role": "assistant",
            "parts": answer_parts(a), "metadata": metadata,
        })
    }

    fn stream_start(&mut self, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        let p = Part {
            message_id: Some(&self.message_id),
            ..kind("start")
        };
        data_line(out, &p);
        data_line(out, &kind("start-step"));
        // A grounded answer's sources, before its text: `source-url` when the document has a
        // URL, else `source-document` (the AI SDK's own source parts).
        for s in meta.sources.unwrap_or_default() {
            let id = format!("{}#{}", s.doc_id, s.chunk);
            let title = s.title.clone().unwrap_or_else(|| s.doc_id.to_string());
            let part = match &s.url {
                Some(url) => {
                    json!({"type": "source-url", "sourceId": id, "url": url, "title": title})
                }
                None => {
                    json!({"type": "source-document", "sourceId": id, "mediaType": "text/plain", "title": title, "filename": s.doc_id.as_str()})
                }
            };
            data_line(out, &part);
        }
    }

    fn stream_event(&mut self, event: &ModelEvent, out: &mut Vec<u8>) {
        match event {
            ModelEvent::Text(t) => self.run(Run::Text, t, out),
            ModelEvent::Reasoning(t) => self.run(Run::Reasoning, t, out),
            ModelEvent::ToolCall(d) => {
                self.close(out);
                match self.calls.apply(d) {
                    CallStep::Announce(pos) => {
                        let c = &mut self.calls.calls[pos];
                        c.slot = Some(pos);
                        let p = Part {
                            tool_call_id: Some(&c.id),
                            tool_name: Some(&c.name),
                            ..kind("tool-input-start")
                        };
                        data_line(out, &p);
                        Self::input_delta(out, &c.id, &c.arguments);
                    }
                    CallStep::Append(pos) => {
                        Self::input_delta(out, &self.calls.calls[pos].id, &d.arguments);
                    }
                    CallStep::Pending => {}
                }
            }
            _ => {}
        }
    }

    fn stream_end(&mut self, end: &StreamEnd, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        match end {
            StreamEnd::Finished { finish, usage } => {
                self.close(out);
                for pos in self.calls.by_index() {
                    let c = &self.calls.calls[pos];
                    let input = arguments_json(&c.arguments);
                    let p = Part {
                        tool_call_id: Some(&c.id),
                        tool_name: Some(&c.name),
                        input: Some(&input),
                        ..kind("tool-input-available")
                    };
                    data_line(out, &p);
                }
                data_line(out, &kind("finish-step"));
                let data = UsageData::new(meta, usage);
                let p = Part {
                    data: Some(&data),
                    ..kind("data-usage")
                };
                data_line(out, &p);
                let p = Part {
                    finish_reason: Some(finish_reason(*finish)),
                    ..kind("finish")
                };
                data_line(out, &p);
            }
            StreamEnd::Failed { message, .. } => {
                let p = Part {
                    error_text: Some(message),
                    ..kind("error")
                };
                data_line(out, &p);
            }
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

#[cfg(test)]
#[path = "ui_tests.rs"]
mod tests;
