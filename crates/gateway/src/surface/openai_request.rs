//! The OpenAI `POST /v1/chat/completions` body checked into a `Conversation`.
//!
//! Every field that would change the answer is either honoured or refused with
//! `unsupported_parameter` naming it: nothing is dropped silently (docs/api.md).

use serde::Deserialize;
use serde_json::Value;

use super::native_request::{deserialize_body, invalid};
use crate::conversation::{Conversation, Message, Options, Role, ToolCall};
use crate::error::Error;
use crate::tenant::check_model_id;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    model: Option<String>,
    messages: Vec<RawMessage>,
    stream: Option<bool>,
    stream_options: Option<RawStreamOptions>,
    max_tokens: Option<i64>,
    max_completion_tokens: Option<i64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stop: Option<Value>,
    seed: Option<i64>,
    frequency_penalty: Option<f64>,
    presence_penalty: Option<f64>,
    tools: Option<Vec<Value>>,
    tool_choice: Option<Value>,
    parallel_tool_calls: Option<bool>,
    response_format: Option<Value>,
    user: Option<String>,
    n: Option<i64>,
    logprobs: Option<bool>,
    top_logprobs: Option<Value>,
    audio: Option<Value>,
    modalities: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStreamOptions {
    include_usage: Option<bool>,
}

/// A message; `refusal`, `annotations`, `parsed`, `audio` and `function_call` are accepted
/// (the last two only when empty) because SDKs echo them back from earlier answers: `parsed`
/// is the client's own parse of `content` and changes nothing sent to the model.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    role: String,
    content: Option<Value>,
    name: Option<String>,
    tool_calls: Option<Vec<RawToolCall>>,
    tool_call_id: Option<String>,
    refusal: Option<Value>,
    annotations: Option<Value>,
    parsed: Option<Value>,
    audio: Option<Value>,
    function_call: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RawToolCall {
    id: String,
    #[serde(rename = "type")]
    _kind: Option<String>,
    function: RawFunction,
}

#[derive(Debug, Deserialize)]
struct RawFunction {
    name: String,
    arguments: String,
}

const MAX_TOKENS_CEILING: i64 = 1_000_000;
const MAX_USER_LEN: usize = 256;

fn unsupported(param: &str, message: impl Into<String>) -> Error {
    Error::UnsupportedParameter {
        param: param.to_string(),
        message: format!("{param}: {}", message.into()),
    }
}

/// Parses a chat-completions body.
pub fn parse(body: &[u8]) -> Result<Conversation, Error> {
    let raw: RawRequest = deserialize_body(body).map_err(|e| match e {
        Error::InvalidRequest {
            field: Some(f),
            message,
        } if message.contains("unknown field") => Error::UnsupportedParameter { param: f, message },
        e => e,
    })?;
    check(raw)
}

fn in_range(v: Option<f64>, field: &str, lo: f64, hi: f64) -> Result<Option<f64>, Error> {
    match v {
        Some(x) if !(x.is_finite() && (lo..=hi).contains(&x)) => {
            Err(invalid(field, format!("must be between {lo} and {hi}")))
        }
        v => Ok(v),
    }
}

fn check(raw: RawRequest) -> Result<Conversation, Error> {
    if raw.n.is_some_and(|n| n != 1) {
        return Err(unsupported("n", "only one choice per request is supported"));
    }
    if raw.logprobs == Some(true) || raw.top_logprobs.as_ref().is_some_and(|v| !v.is_null()) {
        let p = if raw.logprobs == Some(true) {
            "logprobs"
        } else {
            "top_logprobs"
        };
        return Err(unsupported(p, "log probabilities are not supported"));
    }
    if raw.audio.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(unsupported("audio", "audio output is not supported"));
    }
    if raw.modalities.iter().flatten().any(|m| m != "text") {
        return Err(unsupported("modalities", "only `text` output is supported"));
    }
    let max_tokens = match raw.max_completion_tokens.or(raw.max_tokens) {
        None => None,
        Some(n) if (1..=MAX_TOKENS_CEILING).contains(&n) => u32::try_from(n).ok(),
        Some(_) => {
            let f = if raw.max_completion_tokens.is_some() {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            return Err(invalid(
                f,
                format!("must be between 1 and {MAX_TOKENS_CEILING}"),
            ));
        }
    };
    let stop = match raw.stop {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) if a.len() <= 4 && a.iter().all(Value::is_string) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(_) => {
            return Err(invalid(
                "stop",
                "must be a string or an array of at most 4 strings",
            ))
        }
    };
    if let Some(tools) = &raw.tools {
        if let Some(i) = tools.iter().position(|t| !t.is_object()) {
            return Err(invalid(format!("tools[{i}]"), "must be an object"));
        }
    }
    match &raw.tool_choice {
        None | Some(Value::Object(_)) => {}
        Some(Value::String(s)) if matches!(s.as_str(), "none" | "auto" | "required") => {}
        Some(_) => {
            return Err(invalid(
                "tool_choice",
                "must be `none`, `auto`, `required` or an object",
            ))
        }
    }
    if let Some(format) = &raw.response_format {
        let kind = format.get("type").and_then(Value::as_str);
        if !matches!(kind, Some("text" | "json_object" | "json_schema")) {
            return Err(invalid(
                "response_format.type",
                "must be one of `text`, `json_object`, `json_schema`",
            ));
        }
    }
    if raw.user.as_ref().is_some_and(|u| u.len() > MAX_USER_LEN) {
        return Err(invalid(
            "user",
            format!("must be at most {MAX_USER_LEN} bytes"),
        ));
    }
    let model = match raw.model.filter(|m| !m.trim().is_empty()) {
        Some(m) => Some(
            check_model_id(&m)
                .map(|()| m)
                .map_err(|e| invalid("model", e))?,
        ),
        None => None,
    };
    if raw.messages.is_empty() {
        return Err(invalid("messages", "must not be empty"));
    }
    let messages = raw
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| check_message(i, m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Conversation {
        messages,
        options: Options {
            max_tokens,
            temperature: in_range(raw.temperature, "temperature", 0.0, 2.0)?,
            top_p: in_range(raw.top_p, "top_p", 0.0, 1.0)?,
            stop,
            seed: raw.seed,
            frequency_penalty: in_range(raw.frequency_penalty, "frequency_penalty", -2.0, 2.0)?,
            presence_penalty: in_range(raw.presence_penalty, "presence_penalty", -2.0, 2.0)?,
            tools: raw.tools,
            tool_choice: raw.tool_choice,
            parallel_tool_calls: raw.parallel_tool_calls,
            response_format: raw.response_format,
        },
        stream: raw.stream.unwrap_or(false),
        model,
        session_id: None,
        user: raw.user,
        include_usage: raw
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
    })
}

fn check_message(i: usize, m: RawMessage) -> Result<Message, Error> {
    let field = |f: &str| format!("messages[{i}].{f}");
    let role = match m.role.as_str() {
        "system" | "developer" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        "function" => {
            return Err(unsupported(
                &field("role"),
                "the `function` role is deprecated; use `tool`",
            ))
        }
        other => {
            return Err(invalid(
                field("role"),
                format!(
                    "`{other}` is not one of `system`, `developer`, `user`, `assistant`, `tool`"
                ),
            ))
        }
    };
    for (name, v) in [("audio", &m.audio), ("function_call", &m.function_call)] {
        if v.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(unsupported(&field(name), "is not supported"));
        }
    }
    let _ = (&m.refusal, &m.annotations, &m.parsed);
    let content = match m.content {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(parts)) => Some(join_parts(i, parts)?),
        Some(_) => {
            return Err(invalid(
                field("content"),
                "must be a string or an array of content parts",
            ))
        }
    };
    let tool_calls: Vec<ToolCall> = m
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|c| ToolCall {
            id: c.id,
            name: c.function.name,
            arguments: c.function.arguments,
        })
        .collect();
    if !tool_calls.is_empty() && role != Role::Assistant {
        return Err(invalid(
            field("tool_calls"),
            "only `assistant` messages make tool calls",
        ));
    }
    if role == Role::Tool && m.tool_call_id.is_none() {
        return Err(invalid(
            field("tool_call_id"),
            "is required for `tool` messages",
        ));
    }
    let content = match content {
        Some(c) => c,
        None if role == Role::Assistant => String::new(),
        None => return Err(invalid(field("content"), "is required")),
    };
    Ok(Message {
        role,
        content,
        name: m.name,
        tool_call_id: m.tool_call_id,
        tool_calls,
    })
}

/// Joins text parts with newlines; other parts (images, audio, files) are refused.
fn join_parts(i: usize, parts: Vec<Value>) -> Result<String, Error> {
    let mut text = String::new();
    for (j, p) in parts.iter().enumerate() {
        let path = format!("messages[{i}].content[{j}]");
        match p.get("type").and_then(Value::as_str) {
            Some("text") => match p.get("text").and_then(Value::as_str) {
                Some(t) => {
                    if j > 0 {
                        text.push('\n');
                    }
                    text.push_str(t);
                }
                None => return Err(invalid(format!("{path}.text"), "must be a string")),
            },
            Some(kind) => {
                return Err(Error::UnsupportedContent {
                    field: path.clone(),
                    message: format!("{path}: `{kind}` parts are not supported yet; send text"),
                })
            }
            None => return Err(invalid(format!("{path}.type"), "is required")),
        }
    }
    Ok(text)
}

#[cfg(test)]
#[path = "openai_request_tests.rs"]
mod tests;
