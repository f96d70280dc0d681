//! Workers AI's two answer formats, streamed or whole, decoded into `ModelEvent`s.
//!
//! Classic models send `{"response":"tok","p":"..."}` chunks and a final
//! `{"response":"","usage":{...}}`; whole answers are `{response, tool_calls?, usage?}` with
//! tool calls as `{name, arguments: {...}}` and no id. Newer models send OpenAI
//! `chat.completion(.chunk)` shapes (`choices[].delta`, `choices[0].message`). The same
//! decoder reads any OpenAI-compatible upstream. Tool calls without an id get `call_<index>`.

use serde::Deserialize;
use serde_json::Value;

use crate::events::{FinishReason, ModelEvent, ToolCallDelta};
use crate::sse::{DecodeError, SseData, SseDecoder};
use crate::usage::Usage;

/// A streamed answer's decoder: SSE framing plus the chunk formats.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseDecoder,
    payloads: Vec<SseData>,
    /// Classic tool calls carry no index: they are numbered in arrival order.
    classic_calls: u32,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the stream's `[DONE]` has been seen.
    pub fn is_done(&self) -> bool {
        self.sse.is_done()
    }

    /// Decodes the complete events in `bytes` into `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<ModelEvent>) -> Result<(), DecodeError> {
        let framed = self.sse.feed(bytes, &mut self.payloads);
        self.drain(out)?;
        framed
    }

    /// Ends the stream; one that ended before `[DONE]` is `Truncated`.
    pub fn finish(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), DecodeError> {
        let framed = self.sse.finish(&mut self.payloads);
        self.drain(out)?;
        framed
    }

    fn drain(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), DecodeError> {
        for data in std::mem::take(&mut self.payloads) {
            match data {
                SseData::Done => out.push(ModelEvent::Done),
                SseData::Payload(p) => payload_events(&p, &mut self.classic_calls, out)?,
            }
        }
        Ok(())
    }
}

/// The events of one streamed JSON payload. Most chunks take the typed path, which skips what
/// the gateway does not read (ids, timestamps, padding, logprobs) without building a JSON tree;
/// a chunk that does not fit it (not an object, an odd `choices`, repeated keys, bad JSON)
/// goes through `chunk_events`, which gives the same events or the error.
fn payload_events(
    payload: &str,
    classic_calls: &mut u32,
    out: &mut Vec<ModelEvent>,
) -> Result<(), DecodeError> {
    if let Ok(chunk) = serde_json::from_str::<TypedChunk>(payload) {
        return chunk.events(payload.as_bytes(), classic_calls, out);
    }
    let value: Value =
        serde_json::from_str(payload).map_err(|e| DecodeError::json(payload.as_bytes(), &e))?;
    chunk_events(&value, payload.as_bytes(), classic_calls, out)
}

/// The fields of a streamed chunk that `chunk_events` reads; JSON `null` reads as absent,
/// as it does there.
#[derive(Deserialize)]
struct TypedChunk {
    error: Option<Value>,
    choices: Option<Vec<TypedChoice>>,
    response: Option<Value>,
    tool_calls: Option<Value>,
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct TypedChoice {
    delta: Option<TypedDelta>,
    finish_reason: Option<Value>,
}

#[derive(Deserialize)]
struct TypedDelta {
    reasoning_content: Option<Value>,
    content: Option<Value>,
    tool_calls: Option<Value>,
}

impl TypedChunk {
    /// `chunk_events` on the typed fields, in the same order.
    fn events(
        self,
        raw: &[u8],
        classic_calls: &mut u32,
        out: &mut Vec<ModelEvent>,
    ) -> Result<(), DecodeError> {
        if let Some(err) = &self.error {
            return Err(DecodeError::upstream(&error_message(err)));
        }
        if let Some(choices) = self.choices {
            for choice in choices {
                if let Some(delta) = choice.delta {
                    take_text(delta.reasoning_content, ModelEvent::Reasoning, out);
                    take_text(delta.content, ModelEvent::Text, out);
                    openai_tool_calls(delta.tool_calls.as_ref(), out);
                }
                if let Some(reason) = choice.finish_reason.as_ref().and_then(Value::as_str) {
                    out.push(ModelEvent::Finish(FinishReason::from_wire(reason)));
                }
            }
        } else {
            match self.response {
                Some(Value::String(s)) => take_text(Some(Value::String(s)), ModelEvent::Text, out),
                None => {}
                Some(other) => out.push(ModelEvent::Text(other.to_string())),
            }
            classic_tool_calls(self.tool_calls.as_ref(), classic_calls, out);
        }
        if let Some(usage) = self.usage.as_ref().and_then(Usage::from_json) {
            out.push(ModelEvent::Usage(usage));
        }
        check_tool_indexes(raw, out)
    }
}

/// `push_text` for an owned value: the string moves into the event.
fn take_text(v: Option<Value>, make: fn(String) -> ModelEvent, out: &mut Vec<ModelEvent>) {
    if let Some(Value::String(s)) = v {
        if !s.is_empty() {
            out.push(make(s));
        }
    }
}

fn error_message(err: &Value) -> String {
    err.get("message")
        .and_then(Value::as_str)
        .map_or_else(|| err.to_string(), str::to_owned)
}

/// One streamed JSON chunk, of either format.
fn chunk_events(
    value: &Value,
    raw: &[u8],
    classic_calls: &mut u32,
    out: &mut Vec<ModelEvent>,
) -> Result<(), DecodeError> {
    let Some(obj) = value.as_object() else {
        return Err(DecodeError::malformed(raw, "not a JSON object"));
    };
    if let Some(err) = obj.get("error").filter(|e| !e.is_null()) {
        return Err(DecodeError::upstream(&error_message(err)));
    }
    if let Some(choices) = obj.get("choices").and_then(Value::as_array) {
        for choice in choices {
            if let Some(delta) = choice.get("delta") {
                push_text(delta.get("reasoning_content"), ModelEvent::Reasoning, out);
                push_text(delta.get("content"), ModelEvent::Text, out);
                openai_tool_calls(delta.get("tool_calls"), out);
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                out.push(ModelEvent::Finish(FinishReason::from_wire(reason)));
            }
        }
    } else {
        match obj.get("response") {
            Some(Value::String(s)) => {
                push_text(Some(&Value::String(s.clone())), ModelEvent::Text, out)
            }
            Some(Value::Null) | None => {}
            // JSON mode can stream a structured value; keep its text.
            Some(other) => out.push(ModelEvent::Text(other.to_string())),
        }
        classic_tool_calls(obj.get("tool_calls"), classic_calls, out);
    }
    if let Some(usage) = obj.get("usage").and_then(Usage::from_json) {
        out.push(ModelEvent::Usage(usage));
    }
    check_tool_indexes(raw, out)
}

/// Refuses tool-call indexes past `MAX_TOOL_CALLS`: a model (or upstream) that sends one is
/// answering something the gateway cannot relay.
fn check_tool_indexes(raw: &[u8], out: &[ModelEvent]) -> Result<(), DecodeError> {
    let bad = out
        .iter()
        .any(|e| matches!(e, ModelEvent::ToolCall(d) if d.index >= MAX_TOOL_CALLS));
    if bad {
        return Err(DecodeError::malformed(raw, "tool call index out of range"));
    }
    Ok(())
}

fn push_text(v: Option<&Value>, make: fn(String) -> ModelEvent, out: &mut Vec<ModelEvent>) {
    if let Some(s) = v.and_then(Value::as_str).filter(|s| !s.is_empty()) {
        out.push(make(s.to_owned()));
    }
}

/// Arguments as JSON text: strings stay as they are, objects are serialized.
fn arguments_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// OpenAI deltas: `[{index, id?, type?, function: {name?, arguments?}}]`.
/// The most tool calls one answer may make (an index past it is a malformed answer).
pub const MAX_TOOL_CALLS: u32 = 128;

fn openai_tool_calls(v: Option<&Value>, out: &mut Vec<ModelEvent>) {
    let Some(calls) = v.and_then(Value::as_array) else {
        return;
    };
    for (i, c) in calls.iter().enumerate() {
        let index = c
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(u32::try_from(i).unwrap_or(u32::MAX));
        let f = c.get("function");
        let text = |k: &str| {
            f.and_then(|f| f.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        out.push(ModelEvent::ToolCall(ToolCallDelta {
            index,
            id: c.get("id").and_then(Value::as_str).map(str::to_owned),
            name: text("name").or_else(|| c.get("name").and_then(Value::as_str).map(str::to_owned)),
            arguments: arguments_text(
                f.and_then(|f| f.get("arguments"))
                    .or_else(|| c.get("arguments")),
            ),
        }));
    }
}

/// Classic whole calls: `[{name, arguments}]`, numbered from `*next`.
fn classic_tool_calls(v: Option<&Value>, next: &mut u32, out: &mut Vec<ModelEvent>) {
    let Some(calls) = v.and_then(Value::as_array) else {
        return;
    };
    for c in calls {
        if c.get("function").is_some() {
            // Some models send OpenAI-shaped calls in the classic envelope.
            let mut one = Vec::new();
            openai_tool_calls(Some(&Value::Array(vec![c.clone()])), &mut one);
            for e in one {
                if let ModelEvent::ToolCall(mut d) = e {
                    d.index = *next;
                    d.id.get_or_insert_with(|| format!("call_{}", *next));
                    out.push(ModelEvent::ToolCall(d));
                }
            }
        } else {
            out.push(ModelEvent::ToolCall(ToolCallDelta {
                index: *next,
                id: Some(
                    c.get("id")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("call_{}", *next), str::to_owned),
                ),
                name: c.get("name").and_then(Value::as_str).map(str::to_owned),
                arguments: arguments_text(c.get("arguments")),
            }));
        }
        *next += 1;
    }
}

/// A whole (non-streamed) answer of either shape, as the events a stream would have carried.
pub fn whole_answer(v: &Value) -> Result<Vec<ModelEvent>, DecodeError> {
    let raw = || v.to_string().into_bytes();
    let obj = v
        .as_object()
        .ok_or_else(|| DecodeError::malformed(&raw(), "not a JSON object"))?;
    if let Some(err) = obj.get("error").filter(|e| !e.is_null()) {
        return Err(DecodeError::upstream(&error_message(err)));
    }
    let mut out = Vec::new();
    if let Some(choices) = obj.get("choices").and_then(Value::as_array) {
        let choice = choices
            .first()
            .ok_or_else(|| DecodeError::malformed(&raw(), "no choices[0]"))?;
        let message = choice
            .get("message")
            .ok_or_else(|| DecodeError::malformed(&raw(), "no choices[0].message"))?;
        push_text(
            message.get("reasoning_content"),
            ModelEvent::Reasoning,
            &mut out,
        );
        push_text(message.get("content"), ModelEvent::Text, &mut out);
        let mut calls = Vec::new();
        openai_tool_calls(message.get("tool_calls"), &mut calls);
        for (i, e) in calls.into_iter().enumerate() {
            if let ModelEvent::ToolCall(mut d) = e {
                d.id.get_or_insert_with(|| format!("call_{i}"));
                out.push(ModelEvent::ToolCall(d));
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            out.push(ModelEvent::Finish(FinishReason::from_wire(reason)));
        }
    } else {
        match obj.get("response") {
            Some(Value::String(s)) => {
                push_text(Some(&Value::String(s.clone())), ModelEvent::Text, &mut out)
            }
            Some(Value::Null) | None if obj.contains_key("tool_calls") => {}
            Some(Value::Null) | None => {
                return Err(DecodeError::malformed(
                    &raw(),
                    "neither `response` nor `choices`",
                ))
            }
            Some(other) => out.push(ModelEvent::Text(other.to_string())),
        }
        classic_tool_calls(obj.get("tool_calls"), &mut 0, &mut out);
    }
    if let Some(u) = obj.get("usage").and_then(Usage::from_json) {
        out.push(ModelEvent::Usage(u));
    }
    check_tool_indexes(&raw(), &out)?;
    out.push(ModelEvent::Done);
    Ok(out)
}

#[cfg(test)]
#[path = "workers_ai_tests.rs"]
mod tests;
