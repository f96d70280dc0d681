//! The OpenAI `POST /v1/chat/completions` body checked into a `Conversation`, with a policy
//! for every field (docs/api.md): honoured, forwarded to providers that take it, accepted and
//! ignored because it cannot change the answer, or refused with `unsupported_parameter`
//! because ignoring it would change the answer (dropped instead, and listed, when the tenant
//! sets `compat.dropUnsupported`).

use serde_json::{Map, Value};

use crate::conversation::{Conversation, Message, Options, Role, ToolCall};
use crate::error::Error;
use crate::json::{describe, invalid, item_object, object_body, Obj};
use crate::tenant::check_model_id;

/// What the gateway does with a request field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Read and applied.
    Honoured,
    /// Passed on to HTTP providers that take it (not to the Workers AI binding).
    Forwarded,
    /// Accepted and ignored: it cannot change the answer.
    Ignored,
}

/// Every field `/v1/chat/completions` accepts, with its policy. Anything else is refused (or
/// dropped with `compat.dropUnsupported`), and so are the refusable values of `n`,
/// `logprobs`, `top_logprobs`, `audio` and `modalities`.
pub const FIELDS: &[(&str, Policy)] = &[
    ("model", Policy::Honoured),
    ("messages", Policy::Honoured),
    ("stream", Policy::Honoured),
    ("stream_options", Policy::Honoured),
    ("max_tokens", Policy::Honoured),
    ("max_completion_tokens", Policy::Honoured),
    ("temperature", Policy::Honoured),
    ("top_p", Policy::Honoured),
    ("stop", Policy::Honoured),
    ("seed", Policy::Honoured),
    ("frequency_penalty", Policy::Honoured),
    ("presence_penalty", Policy::Honoured),
    ("tools", Policy::Honoured),
    ("tool_choice", Policy::Honoured),
    ("parallel_tool_calls", Policy::Honoured),
    ("response_format", Policy::Honoured),
    ("user", Policy::Honoured),
    ("safety_identifier", Policy::Honoured),
    ("n", Policy::Honoured),
    ("logprobs", Policy::Honoured),
    ("top_logprobs", Policy::Honoured),
    ("audio", Policy::Honoured),
    ("modalities", Policy::Honoured),
    ("reasoning_effort", Policy::Forwarded),
    ("store", Policy::Ignored),
    ("metadata", Policy::Ignored),
    ("service_tier", Policy::Ignored),
    ("prompt_cache_key", Policy::Ignored),
    ("prompt_cache_retention", Policy::Ignored),
];

/// Fields of a message: `refusal`, `annotations`, `parsed`, `audio` and `function_call` are
/// accepted (the last two only when empty) because SDKs echo them back from earlier answers.
const MESSAGE_FIELDS: &[&str] = &[
    "role",
    "content",
    "name",
    "tool_calls",
    "tool_call_id",
    "refusal",
    "annotations",
    "parsed",
    "audio",
    "function_call",
];

const MAX_TOKENS_CEILING: i64 = 1_000_000;
const MAX_USER_LEN: usize = 256;

/// A checked chat-completions request.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiRequest {
    pub conv: Conversation,
    /// Parameters dropped under `compat.dropUnsupported` (for `x-dropped-params`).
    pub dropped: Vec<String>,
}

fn unsupported(param: &str, message: impl Into<String>) -> Error {
    Error::UnsupportedParameter {
        param: param.to_string(),
        message: format!("{param}: {}", message.into()),
    }
}

/// Parses a chat-completions body; with `drop_unsupported`, parameters it would refuse are
/// dropped and listed instead.
pub fn parse(body: &[u8], drop_unsupported: bool) -> Result<OpenAiRequest, Error> {
    let mut map = object_body(body)?;
    let mut dropped = Vec::new();
    let mut refuse = |map: &mut Map<String, Value>, e: Error| -> Result<(), Error> {
        match (&e, drop_unsupported) {
            (Error::UnsupportedParameter { param, .. }, true) => {
                map.remove(param.as_str());
                dropped.push(param.clone());
                Ok(())
            }
            _ => Err(e),
        }
    };
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !FIELDS.iter().any(|(f, _)| f == k))
        .cloned()
        .collect();
    for k in unknown {
        let known: Vec<&str> = FIELDS.iter().map(|(f, _)| *f).collect();
        let e = unsupported(&k, crate::json::unknown_field(&k, &known));
        refuse(&mut map, e)?;
    }
    for e in refused_values(&Obj::new(&map, ""))? {
        refuse(&mut map, e)?;
    }
    let conv = check(&Obj::new(&map, ""))?;
    Ok(OpenAiRequest { conv, dropped })
}

/// The values that would change the answer if ignored.
fn refused_values(o: &Obj<'_>) -> Result<Vec<Error>, Error> {
    let mut out = Vec::new();
    if o.i64("n")?.is_some_and(|n| n != 1) {
        out.push(unsupported("n", "only one choice per request is supported"));
    }
    if o.bool("logprobs")? == Some(true) {
        out.push(unsupported(
            "logprobs",
            "log probabilities are not supported",
        ));
    }
    if o.get("top_logprobs").is_some() {
        out.push(unsupported(
            "top_logprobs",
            "log probabilities are not supported",
        ));
    }
    if o.get("audio").is_some() {
        out.push(unsupported("audio", "audio output is not supported"));
    }
    if o.strings("modalities")?
        .iter()
        .flatten()
        .any(|m| m != "text")
    {
        out.push(unsupported("modalities", "only `text` output is supported"));
    }
    Ok(out)
}

/// A number in `[lo, hi]` (`range` says it in words).
fn in_range(o: &Obj<'_>, field: &str, lo: f64, hi: f64, range: &str) -> Result<Option<f64>, Error> {
    match o.f64(field)? {
        Some(x) if !(x.is_finite() && (lo..=hi).contains(&x)) => {
            Err(invalid(field, format!("must be between {range}")))
        }
        v => Ok(v),
    }
}

fn check(o: &Obj<'_>) -> Result<Conversation, Error> {
    let max_tokens = match o.i64("max_completion_tokens")?.or(o.i64("max_tokens")?) {
        None => None,
        Some(n) if (1..=MAX_TOKENS_CEILING).contains(&n) => u32::try_from(n).ok(),
        Some(_) => {
            let f = if o.get("max_completion_tokens").is_some() {
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
    let stop = match o.get("stop") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if a.len() <= 4 && a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(_) => {
            return Err(invalid(
                "stop",
                "must be a string or an array of at most 4 strings",
            ))
        }
    };
    let tools = o.array("tools")?.map(<[Value]>::to_vec);
    if let Some(i) = tools.iter().flatten().position(|t| !t.is_object()) {
        return Err(invalid(format!("tools[{i}]"), "must be an object"));
    }
    let tool_choice = o.get("tool_choice").cloned();
    match &tool_choice {
        None | Some(Value::Object(_)) => {}
        Some(Value::String(s)) if matches!(s.as_str(), "none" | "auto" | "required") => {}
        Some(_) => {
            return Err(invalid(
                "tool_choice",
                "must be `none`, `auto`, `required` or an object",
            ))
        }
    }
    let response_format = o.get("response_format").cloned();
    if let Some(format) = &response_format {
        let kind = format.get("type").and_then(Value::as_str);
        if !matches!(kind, Some("text" | "json_object" | "json_schema")) {
            return Err(invalid(
                "response_format.type",
                "must be one of `text`, `json_object`, `json_schema`",
            ));
        }
    }
    let user = o.string("safety_identifier")?.or(o.string("user")?);
    if user.as_ref().is_some_and(|u| u.len() > MAX_USER_LEN) {
        let field = if o.get("safety_identifier").is_some() {
            "safety_identifier"
        } else {
            "user"
        };
        return Err(invalid(
            field,
            format!("must be at most {MAX_USER_LEN} bytes"),
        ));
    }
    let model = match o.string("model")?.filter(|m| !m.trim().is_empty()) {
        Some(m) => Some(
            check_model_id(&m)
                .map(|()| m)
                .map_err(|e| invalid("model", e))?,
        ),
        None => None,
    };
    let reasoning_effort = o.string("reasoning_effort")?;
    if let Some(e) = &reasoning_effort {
        if !matches!(e.as_str(), "minimal" | "low" | "medium" | "high" | "none") {
            return Err(invalid(
                "reasoning_effort",
                "must be one of `none`, `minimal`, `low`, `medium`, `high`",
            ));
        }
    }
    let include_usage = match o.object("stream_options")? {
        None => false,
        Some(so) => {
            let so = Obj::new(so, "stream_options");
            so.known(&["include_usage", "include_obfuscation"])?;
            so.bool("include_usage")?.unwrap_or(false)
        }
    };
    let raw_messages = o.required("messages", o.array("messages")?)?;
    if raw_messages.is_empty() {
        return Err(invalid("messages", "must not be empty"));
    }
    let messages = raw_messages
        .iter()
        .enumerate()
        .map(|(i, m)| check_message(i, item_object(m, "messages", i)?))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Conversation {
        messages,
        options: Options {
            max_tokens,
            temperature: in_range(o, "temperature", 0.0, 2.0, "0 and 2")?,
            top_p: in_range(o, "top_p", 0.0, 1.0, "0 and 1")?,
            stop,
            seed: o.i64("seed")?,
            frequency_penalty: in_range(o, "frequency_penalty", -2.0, 2.0, "-2 and 2")?,
            presence_penalty: in_range(o, "presence_penalty", -2.0, 2.0, "-2 and 2")?,
            tools,
            tool_choice,
            parallel_tool_calls: o.bool("parallel_tool_calls")?,
            response_format,
            reasoning_effort,
            knowledge: None,
            knowledge_filter: None,
        },
        stream: o.bool("stream")?.unwrap_or(false),
        model,
        session_id: None,
        user,
        include_usage,
    })
}

fn check_message(i: usize, m: &Map<String, Value>) -> Result<Message, Error> {
    let path = format!("messages[{i}]");
    let o = Obj::new(m, &path);
    o.known(MESSAGE_FIELDS)?;
    let field = |f: &str| format!("{path}.{f}");
    let role = match o.required("role", o.str("role")?)? {
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
    for name in ["audio", "function_call"] {
        if o.get(name).is_some() {
            return Err(unsupported(&field(name), "is not supported"));
        }
    }
    let content = match o.get("content") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(parts)) => Some(join_parts(i, parts)?),
        Some(_) => {
            return Err(invalid(
                field("content"),
                "must be a string or an array of content parts",
            ))
        }
    };
    let mut tool_calls = Vec::new();
    for (j, c) in o
        .array("tool_calls")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let call_path = format!("{}[{j}]", field("tool_calls"));
        let c = Obj::new(item_object(c, &field("tool_calls"), j)?, &call_path);
        let f = c.required("function", c.object("function")?)?;
        let f = Obj::new(f, &call_path);
        tool_calls.push(ToolCall {
            id: c.required("id", c.string("id")?)?,
            name: f.required("function.name", f.string("name")?)?,
            arguments: f.required("function.arguments", f.string("arguments")?)?,
        });
    }
    if !tool_calls.is_empty() && role != Role::Assistant {
        return Err(invalid(
            field("tool_calls"),
            "only `assistant` messages make tool calls",
        ));
    }
    let tool_call_id = o.string("tool_call_id")?;
    if role == Role::Tool && tool_call_id.is_none() {
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
        name: o.string("name")?,
        tool_call_id,
        tool_calls,
    })
}

/// Joins text parts with newlines; other parts (images, audio, files) are refused.
fn join_parts(i: usize, parts: &[Value]) -> Result<String, Error> {
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
            None if !p.is_object() => {
                return Err(invalid(
                    path,
                    format!("invalid type: {}, expected a content part", describe(p)),
                ))
            }
            None => return Err(invalid(format!("{path}.type"), "is required")),
        }
    }
    Ok(text)
}

#[cfg(test)]
#[path = "openai_request_tests.rs"]
mod tests;
