//! The OpenAI Responses `POST /v1/responses` body checked into a `Conversation`.
//!
//! `input` (a string, or message, `function_call`, `function_call_output` and `reasoning`
//! items) becomes chat messages: `instructions` a leading system message, function calls the
//! assistant's tool calls (consecutive ones, and those right after an assistant message, in
//! one assistant message), their outputs `tool` messages; reasoning items are dropped. Function
//! tools, `tool_choice` and `text.format` are turned into their Chat Completions shapes.
//!
//! As on `/v1/chat/completions`, every field that would change the answer is honoured or
//! refused with `unsupported_parameter` naming it, unknown fields included. Accepted and
//! ignored, because they change nothing the client gets back: `store` (read for the caller,
//! which keeps responses only when sessions are on), `include`, `service_tier`, `prompt_cache_key`,
//! `prompt_cache_retention`, `stream_options`, `truncation` and `reasoning` (effort and
//! summaries are the model's business here; no reasoning items are returned). `metadata` is
//! checked and returned in the response. `previous_response_id` is read for the caller to
//! resolve (this module stores nothing). `instructions` apply to this request only: a caller
//! that stores the conversation keeps them out of it.

use serde_json::{json, Map, Value};

use crate::conversation::{Conversation, Message, Options, Role};
use crate::error::Error;
use crate::json::{describe, invalid, item_object, object_body, Obj};
use crate::tenant::check_model_id;

/// A checked Responses request.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponsesRequest {
    pub conv: Conversation,
    pub previous_response_id: Option<String>,
    pub store: Option<bool>,
    /// What the response object repeats of the request.
    pub echo: Echo,
}

/// The request fields a `Response` object repeats, as the client sent them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Echo {
    pub instructions: Option<String>,
    pub metadata: Map<String, Value>,
    /// The tools in the Responses shape.
    pub tools: Vec<Value>,
    pub tool_choice: Option<Value>,
    /// `text.format`.
    pub text_format: Option<Value>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_output_tokens: Option<u32>,
    pub parallel_tool_calls: Option<bool>,
    pub truncation: Option<String>,
    pub user: Option<String>,
    pub previous_response_id: Option<String>,
    /// The gateway keeps the response (sessions on, `store` not false): `previous_response_id`
    /// can continue it. Set by the shell; the parser cannot know.
    pub stored: bool,
}

const KNOWN: &[&str] = &[
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "text",
    "max_output_tokens",
    "temperature",
    "top_p",
    "parallel_tool_calls",
    "stream",
    "stream_options",
    "user",
    "safety_identifier",
    "metadata",
    "store",
    "service_tier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "truncation",
    "include",
    "reasoning",
    "previous_response_id",
    "background",
];
const MAX_TOKENS_CEILING: i64 = 1_000_000;
const MAX_USER_LEN: usize = 256;
const MAX_METADATA: usize = 16;

fn unsupported(param: impl Into<String>, message: impl Into<String>) -> Error {
    let param = param.into();
    Error::UnsupportedParameter {
        message: format!("{param}: {}", message.into()),
        param,
    }
}

/// `Obj::known`, with an unknown field reported as an unsupported parameter.
fn known(o: &Obj<'_>, list: &[&str]) -> Result<(), Error> {
    o.known(list).map_err(|e| match e {
        Error::InvalidRequest {
            field: Some(param),
            message,
        } => Error::UnsupportedParameter { param, message },
        e => e,
    })
}

/// Parses a Responses body.
pub fn parse(body: &[u8]) -> Result<ResponsesRequest, Error> {
    let map = object_body(body)?;
    let o = Obj::new(&map, "");
    known(&o, KNOWN)?;
    if o.bool("background")? == Some(true) {
        return Err(unsupported(
            "background",
            "background responses are not supported",
        ));
    }
    let model = match o.str("model")?.filter(|m| !m.trim().is_empty()) {
        Some(m) => {
            check_model_id(m).map_err(|e| invalid("model", e))?;
            Some(m.to_string())
        }
        None => None,
    };
    let max_tokens = match o.i64("max_output_tokens")? {
        None => None,
        Some(n) if (1..=MAX_TOKENS_CEILING).contains(&n) => u32::try_from(n).ok(),
        Some(_) => {
            return Err(invalid(
                "max_output_tokens",
                format!("must be between 1 and {MAX_TOKENS_CEILING}"),
            ))
        }
    };
    let temperature = in_range(&o, "temperature", 2.0)?;
    let top_p = in_range(&o, "top_p", 1.0)?;
    let user = short(&o, "user")?;
    let safety_identifier = short(&o, "safety_identifier")?;
    let metadata = check_metadata(&o)?;
    let truncation = match o.str("truncation")? {
        None => None,
        Some(t @ ("auto" | "disabled")) => Some(t.to_string()),
        Some(_) => return Err(invalid("truncation", "must be `auto` or `disabled`")),
    };
    o.strings("include")?;
    o.object("reasoning")?;
    o.object("stream_options")?;
    for k in ["service_tier", "prompt_cache_key", "prompt_cache_retention"] {
        o.str(k)?;
    }
    let instructions = o.string("instructions")?;
    let (tools, chat_tools) = read_tools(&o)?;
    let tool_choice = o.get("tool_choice");
    let chat_tool_choice = tool_choice.map(read_tool_choice).transpose()?;
    let (text_format, response_format) = read_text(&o)?;

    let mut messages = Vec::new();
    if let Some(i) = instructions.as_deref().filter(|i| !i.is_empty()) {
        messages.push(Message::text(Role::System, i));
    }
    input::read_input(o.required("input", o.get("input"))?, &mut messages)?;
    let previous_response_id = o.string("previous_response_id")?;
    let parallel_tool_calls = o.bool("parallel_tool_calls")?;
    Ok(ResponsesRequest {
        conv: Conversation {
            messages,
            options: Options {
                max_tokens,
                temperature,
                top_p,
                tools: chat_tools,
                tool_choice: chat_tool_choice,
                parallel_tool_calls,
                response_format,
                ..Options::default()
            },
            stream: o.bool("stream")?.unwrap_or(false),
            model,
            session_id: None,
            user: safety_identifier.or_else(|| user.clone()),
            include_usage: false,
        },
        previous_response_id: previous_response_id.clone(),
        store: o.bool("store")?,
        echo: Echo {
            instructions,
            metadata,
            tools,
            tool_choice: tool_choice.cloned(),
            text_format,
            temperature,
            top_p,
            max_output_tokens: max_tokens,
            parallel_tool_calls,
            truncation,
            user,
            previous_response_id,
            stored: false,
        },
    })
}

fn in_range(o: &Obj<'_>, key: &str, hi: f64) -> Result<Option<f64>, Error> {
    match o.f64(key)? {
        Some(x) if !(0.0..=hi).contains(&x) => {
            Err(invalid(key, format!("must be between 0 and {hi}")))
        }
        x => Ok(x),
    }
}

fn short(o: &Obj<'_>, key: &str) -> Result<Option<String>, Error> {
    match o.string(key)? {
        Some(s) if s.len() > MAX_USER_LEN => Err(invalid(
            key,
            format!("must be at most {MAX_USER_LEN} bytes"),
        )),
        s => Ok(s),
    }
}

fn check_metadata(o: &Obj<'_>) -> Result<Map<String, Value>, Error> {
    let Some(m) = o.object("metadata")? else {
        return Ok(Map::new());
    };
    if m.len() > MAX_METADATA {
        return Err(invalid(
            "metadata",
            format!("must have at most {MAX_METADATA} entries"),
        ));
    }
    for (k, v) in m {
        let path = format!("metadata.{k}");
        if k.chars().count() > 64 {
            return Err(invalid(path, "keys must be at most 64 characters"));
        }
        match v {
            Value::String(s) if s.chars().count() > 512 => {
                return Err(invalid(path, "must be at most 512 characters"))
            }
            Value::String(_) => {}
            v => {
                return Err(invalid(
                    path,
                    format!("invalid type: {}, expected a string", describe(v)),
                ))
            }
        }
    }
    Ok(m.clone())
}

/// The tools as sent, and in the chat shape.
fn read_tools(o: &Obj<'_>) -> Result<(Vec<Value>, Option<Vec<Value>>), Error> {
    let Some(list) = o.array("tools")? else {
        return Ok((Vec::new(), None));
    };
    let mut chat = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let path = format!("tools[{i}]");
        let t = Obj::new(item_object(v, "tools", i)?, &path);
        match t.required("type", t.str("type")?)? {
            "function" => {}
            other => {
                return Err(unsupported(
                    t.path_of("type"),
                    format!("`{other}` tools are not supported; only `function` tools are"),
                ))
            }
        }
        known(&t, &["type", "name", "description", "parameters", "strict"])?;
        let mut f = json!({ "name": t.required("name", t.str("name")?)? });
        if let Some(d) = t.str("description")? {
            f["description"] = d.into();
        }
        if let Some(p) = t.object("parameters")? {
            f["parameters"] = Value::Object(p.clone());
        }
        if let Some(s) = t.bool("strict")? {
            f["strict"] = s.into();
        }
        chat.push(json!({ "type": "function", "function": f }));
    }
    Ok((list.to_vec(), Some(chat)))
}

fn read_tool_choice(v: &Value) -> Result<Value, Error> {
    match v {
        Value::String(s) if matches!(s.as_str(), "none" | "auto" | "required") => Ok(v.clone()),
        Value::Object(m) => {
            let o = Obj::new(m, "tool_choice");
            match o.required("type", o.str("type")?)? {
                "function" => {
                    known(&o, &["type", "name"])?;
                    let name = o.required("name", o.str("name")?)?;
                    Ok(json!({ "type": "function", "function": { "name": name } }))
                }
                other => Err(unsupported(
                    "tool_choice.type",
                    format!("`{other}` is not supported; choose `none`, `auto`, `required` or a function"),
                )),
            }
        }
        _ => Err(invalid(
            "tool_choice",
            "must be `none`, `auto`, `required` or an object",
        )),
    }
}

/// `text.format` as sent, and as the chat `response_format` (`None` for plain text).
fn read_text(o: &Obj<'_>) -> Result<(Option<Value>, Option<Value>), Error> {
    let Some(text) = o.object("text")? else {
        return Ok((None, None));
    };
    let t = Obj::new(text, "text");
    known(&t, &["format", "verbosity"])?;
    if t.get("verbosity").is_some() {
        return Err(unsupported("text.verbosity", "is not supported"));
    }
    let Some(format) = t.object("format")? else {
        return Ok((None, None));
    };
    let f = Obj::new(format, "text.format");
    let chat = match f.required("type", f.str("type")?)? {
        "text" => {
            known(&f, &["type"])?;
            None
        }
        "json_object" => {
            known(&f, &["type"])?;
            Some(json!({ "type": "json_object" }))
        }
        "json_schema" => {
            known(&f, &["type", "name", "schema", "description", "strict"])?;
            let mut s = json!({
                "name": f.required("name", f.str("name")?)?,
                "schema": f.required("schema", f.object("schema")?)?,
            });
            if let Some(d) = f.str("description")? {
                s["description"] = d.into();
            }
            if let Some(strict) = f.bool("strict")? {
                s["strict"] = strict.into();
            }
            Some(json!({ "type": "json_schema", "json_schema": s }))
        }
        _ => {
            return Err(invalid(
                "text.format.type",
                "must be one of `text`, `json_object`, `json_schema`",
            ))
        }
    };
    Ok((Some(Value::Object(format.clone())), chat))
}

#[path = "responses_input.rs"]
mod input;

#[cfg(test)]
#[path = "responses_request_tests.rs"]
mod tests;
