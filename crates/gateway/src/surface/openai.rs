//! The OpenAI encoding: `chat.completion` answers and `chat.completion.chunk` streams.
//!
//! A stream is `data: <chunk>` lines: a first delta with the role, content and tool-call
//! deltas, a final chunk with `finish_reason`, a usage chunk with `choices: []` when asked
//! for, then `data: [DONE]`. A failure after the first chunk ends with
//! `data: {"error": {...}}` and no `[DONE]`, so SDKs raise instead of returning a truncated
//! answer as a success.

use serde::Serialize;
use serde_json::{json, Value};

use super::{write_json, AnswerMeta, Encoder, StreamEnd};
use crate::answer::Answer;
use crate::events::ModelEvent;
use crate::problem::{Problem, ProblemKind};
use crate::usage::TokenReport;

/// The OpenAI encoder; `include_usage` is the request's `stream_options.include_usage`.
#[derive(Debug, Default)]
pub struct OpenAiEncoder {
    include_usage: bool,
    id: String,
    model: String,
    created: u64,
    /// `data: {"id":…,"object":…,"created":…,"model":…,"choices":[{"index":0,"delta":`, the
    /// same for every chunk of a stream: serialized once in `stream_start`.
    head: Vec<u8>,
}

impl OpenAiEncoder {
    pub fn new(include_usage: bool) -> Self {
        Self {
            include_usage,
            ..Self::default()
        }
    }
}

/// OpenAI's `error.type` for a problem.
pub fn error_type(p: &Problem) -> &'static str {
    match p.kind() {
        ProblemKind::Authentication => "authentication_error",
        ProblemKind::Permission => "permission_error",
        ProblemKind::RateLimit => "rate_limit_error",
        ProblemKind::Api | ProblemKind::Overloaded => "api_error",
        _ => "invalid_request_error",
    }
}

/// OpenAI's error body: `{"error": {message, type, param, code}}` (plus `budget` for a
/// refusal); the trace id travels in the `x-trace-id` header.
pub fn error_body(p: &Problem, _trace_id: &str) -> Value {
    let param = p
        .field
        .clone()
        .or_else(|| p.model.as_ref().map(|_| "model".to_string()));
    let mut body = json!({ "error": {
        "message": p.message, "type": error_type(p), "param": param, "code": p.code,
    }});
    if let Some((refusal, scope)) = &p.budget {
        body["error"]["budget"] = json!(refusal);
        body["error"]["budget"]["scope"] = (*scope).into();
    }
    body
}

/// The completion id: stable per request, derived from its trace id.
pub fn completion_id(trace_id: &str) -> String {
    format!("chatcmpl-{trace_id}")
}

/// OpenAI's `usage` object.
pub fn usage_json(u: &TokenReport) -> Value {
    json!({ "prompt_tokens": u.prompt, "completion_tokens": u.completion, "total_tokens": u.total })
}

#[derive(Serialize)]
struct ContentDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    content: &'a str,
}

#[derive(Serialize)]
struct ToolDelta<'a> {
    tool_calls: [WireToolDelta<'a>; 1],
}

#[derive(Serialize)]
struct WireToolDelta<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

impl OpenAiEncoder {
    /// One `chat.completion.chunk` line: `{id, object, created, model, choices: [{index: 0,
    /// delta, finish_reason}]}`, as compact JSON, after the stream's cached head.
    fn chunk<D: Serialize>(&self, delta: D, finish: Option<&'static str>, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.head);
        write_json(out, &delta);
        out.extend_from_slice(b",\"finish_reason\":");
        write_json(out, &finish);
        out.extend_from_slice(b"}]}\n\n");
    }

    fn set_head(&mut self) {
        let mut head = b"data: {\"id\":".to_vec();
        write_json(&mut head, &self.id);
        head.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        write_json(&mut head, &self.created);
        head.extend_from_slice(b",\"model\":");
        write_json(&mut head, &self.model);
        head.extend_from_slice(b",\"choices\":[{\"index\":0,\"delta\":");
        self.head = head;
    }
}

impl Encoder for OpenAiEncoder {
    fn answer(&self, a: &Answer, meta: &AnswerMeta<'_>) -> Value {
        let mut message = json!({
            "role": "assistant",
            "content": if a.text.is_empty() && !a.tool_calls.is_empty() { Value::Null } else { Value::from(a.text.as_str()) },
        });
        if !a.tool_calls.is_empty() {
            let calls: Vec<Value> = a
                .tool_calls
                .iter()
                .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                .collect();
            message["tool_calls"] = Value::Array(calls);
        }
        json!({
            "id": completion_id(meta.trace_id),
            "object": "chat.completion",
            "created": meta.created_s,
            "model": meta.model,
            "choices": [{ "index": 0, "message": message, "finish_reason": a.finish.as_str() }],
            "usage": usage_json(&a.usage),
        })
    }

    fn stream_start(&mut self, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        self.id = completion_id(meta.trace_id);
        self.model = meta.model.to_string();
        self.created = meta.created_s;
        self.set_head();
        self.chunk(
            ContentDelta {
                role: Some("assistant"),
                content: "",
            },
            None,
            out,
        );
    }

    fn stream_event(&mut self, event: &ModelEvent, out: &mut Vec<u8>) {
        match event {
            ModelEvent::Text(t) => self.chunk(
                ContentDelta {
                    role: None,
                    content: t,
                },
                None,
                out,
            ),
            ModelEvent::ToolCall(d) => self.chunk(
                ToolDelta {
                    tool_calls: [WireToolDelta {
                        index: d.index,
                        id: d.id.as_deref(),
                        kind: d.id.as_ref().map(|_| "function"),
                        function: WireFunction {
                            name: d.name.as_deref(),
                            arguments: &d.arguments,
                        },
                    }],
                },
                None,
                out,
            ),
            _ => {}
        }
    }

    fn stream_end(&mut self, end: &StreamEnd, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        match end {
            &StreamEnd::Finished { finish, usage } => {
                self.chunk(json!({}), Some(finish.as_str()), out);
                // A grounded answer's sources: one more chunk with no choices (SDKs keep
                // unknown fields), before the usage chunk and `[DONE]`.
                if let Some(sources) = super::sources_json(meta) {
                    out.extend_from_slice(b"data: ");
                    write_json(
                        out,
                        &json!({
                            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                            "model": self.model, "choices": [], "sources": sources,
                        }),
                    );
                    out.extend_from_slice(b"\n\n");
                }
                if self.include_usage {
                    out.extend_from_slice(b"data: ");
                    write_json(
                        out,
                        &json!({
                            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                            "model": self.model, "choices": [], "usage": usage_json(&usage),
                        }),
                    );
                    out.extend_from_slice(b"\n\n");
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
            }
            StreamEnd::Failed { code, message, .. } => {
                out.extend_from_slice(b"data: ");
                write_json(
                    out,
                    &json!({"error": {"message": message, "type": "api_error", "param": null, "code": code}}),
                );
                out.extend_from_slice(b"\n\n");
            }
        }
    }
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
