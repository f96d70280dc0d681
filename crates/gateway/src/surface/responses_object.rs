//! The Responses `response` object and its output items, as the SDK types have them.

use serde_json::{json, Value};

use super::Echo;
use crate::events::FinishReason;
use crate::usage::TokenReport;

/// The Responses `usage` object (no cached or reasoning counts are known: 0).
pub fn usage_json(u: &TokenReport) -> Value {
    json!({
        "input_tokens": u.prompt, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": u.completion, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": u.total,
    })
}

/// The response's status and `incomplete_details.reason` for a finish.
pub(super) fn outcome(f: FinishReason) -> (&'static str, Option<&'static str>) {
    match f {
        FinishReason::Stop | FinishReason::ToolCalls => ("completed", None),
        FinishReason::Length => ("incomplete", Some("max_output_tokens")),
        FinishReason::ContentFilter => ("incomplete", Some("content_filter")),
    }
}

pub(super) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// A message output item; `text` is `None` while its content is still empty.
pub(super) fn message_item(id: &str, status: &str, text: Option<&str>) -> Value {
    let content: Vec<Value> = text.map(output_text).into_iter().collect();
    json!({"id": id, "type": "message", "status": status, "role": "assistant", "content": content})
}

pub(super) fn call_item(
    id: &str,
    status: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
) -> Value {
    json!({
        "id": id, "type": "function_call", "status": status,
        "arguments": arguments, "call_id": call_id, "name": name,
    })
}

/// The response object, with `usage`, `error` and `incomplete_details` null.
pub(super) fn response(
    id: &str,
    e: &Echo,
    model: &str,
    created: u64,
    status: &str,
    output: Vec<Value>,
) -> Value {
    json!({
        "id": id, "object": "response", "created_at": created, "status": status,
        "error": null, "incomplete_details": null, "instructions": e.instructions,
        "max_output_tokens": e.max_output_tokens, "model": model, "output": output,
        "parallel_tool_calls": e.parallel_tool_calls.unwrap_or(true),
        "previous_response_id": e.previous_response_id,
        "reasoning": {"effort": null, "summary": null}, "store": e.stored,
        "temperature": e.temperature,
        "text": {"format": e.text_format.clone().unwrap_or_else(|| json!({"type": "text"}))},
        "tool_choice": e.tool_choice.clone().unwrap_or_else(|| json!("auto")),
        "tools": e.tools, "top_p": e.top_p,
        "truncation": e.truncation.as_deref().unwrap_or("disabled"),
        "usage": null, "user": e.user, "metadata": e.metadata,
    })
}
