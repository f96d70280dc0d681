//! The Anthropic Messages `POST /v1/messages` body checked into a `Conversation`.
//!
//! `system` becomes a leading system message; each message becomes chat messages: an
//! assistant's text and `tool_use` blocks one assistant message (arguments the JSON text of
//! `input`), a user's `tool_result` blocks one `tool` message each (before the user's text,
//! as the chat shape wants results right after their calls). `thinking` and
//! `redacted_thinking` blocks are dropped; images, documents and every other block are refused
//! as unsupported content. A `system` message inside `messages` (API version 2026-10-21) is a
//! system message. Block fields other than the ones read (`cache_control`, `citations`,
//! `caller`, ...) are ignored, because SDKs send response blocks back as they got them.
//!
//! Custom tools become chat function tools; server tools (`web_search_...`, `bash_...`) are
//! refused. `tool_choice` maps to the chat `tool_choice` (`any` is `required`) and its
//! `disable_parallel_tool_use` to `parallel_tool_calls: false`. Accepted and ignored: `top_k`
//! (no provider here takes it), `thinking` (reasoning is the model's own), `service_tier`, and
//! `cache_control` anywhere. Like Anthropic's API, unknown top-level fields are refused as
//! invalid requests naming the field.

use serde_json::{json, Value};

use crate::conversation::{Conversation, Message, Options, Role, ToolCall};
use crate::error::Error;
use crate::json::{describe, invalid, item_object, object_body, Obj};
use crate::tenant::check_model_id;

/// A checked Messages request.
#[derive(Debug, Clone, PartialEq)]
pub struct AnthropicRequest {
    pub conv: Conversation,
}

const KNOWN: &[&str] = &[
    "model",
    "max_tokens",
    "messages",
    "system",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "stream",
    "metadata",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
];
const MAX_TOKENS_CEILING: i64 = 1_000_000;
const MAX_USER_LEN: usize = 256;
/// Most stop sequences the providers behind the gateway take.
const MAX_STOP_SEQUENCES: usize = 4;

fn unsupported_content(field: String, kind: &str) -> Error {
    Error::UnsupportedContent {
        message: format!("{field}: `{kind}` blocks are not supported yet; send text"),
        field,
    }
}

/// Parses a Messages body.
pub fn parse(body: &[u8]) -> Result<AnthropicRequest, Error> {
    let map = object_body(body)?;
    let o = Obj::new(&map, "");
    o.known(KNOWN)?;
    let model = o.required("model", o.str("model")?)?;
    check_model_id(model).map_err(|e| invalid("model", e))?;
    let max_tokens = match o.required("max_tokens", o.i64("max_tokens")?)? {
        n if (1..=MAX_TOKENS_CEILING).contains(&n) => u32::try_from(n).ok(),
        _ => {
            return Err(invalid(
                "max_tokens",
                format!("must be between 1 and {MAX_TOKENS_CEILING}"),
            ))
        }
    };
    let stop = o.strings("stop_sequences")?.unwrap_or_default();
    if stop.len() > MAX_STOP_SEQUENCES {
        return Err(Error::UnsupportedParameter {
            param: "stop_sequences".into(),
            message: format!(
                "stop_sequences: at most {MAX_STOP_SEQUENCES} stop sequences are supported"
            ),
        });
    }
    let temperature = unit(&o, "temperature")?;
    let top_p = unit(&o, "top_p")?;
    if o.i64("top_k")?.is_some_and(|k| k < 0) {
        return Err(invalid("top_k", "must not be negative"));
    }
    o.object("thinking")?;
    o.str("service_tier")?;
    let user = match o.object("metadata")? {
        Some(m) => {
            let m = Obj::new(m, "metadata");
            m.known(&["user_id"])?;
            match m.string("user_id")? {
                Some(u) if u.len() > MAX_USER_LEN => {
                    return Err(invalid(
                        "metadata.user_id",
                        format!("must be at most {MAX_USER_LEN} bytes"),
                    ))
                }
                u => u,
            }
        }
        None => None,
    };
    let tools = read_tools(&o)?;
    let (tool_choice, parallel_tool_calls) = read_tool_choice(&o)?;

    let mut messages = Vec::new();
    if let Some(system) = o.get("system") {
        let text = system_text(system)?;
        if !text.is_empty() {
            messages.push(Message::text(Role::System, text));
        }
    }
    let list = o.required("messages", o.array("messages")?)?;
    if list.is_empty() {
        return Err(invalid("messages", "must not be empty"));
    }
    for (i, v) in list.iter().enumerate() {
        read_message(i, v, &mut messages)?;
    }
    Ok(AnthropicRequest {
        conv: Conversation {
            messages,
            options: Options {
                max_tokens,
                temperature,
                top_p,
                stop,
                tools,
                tool_choice,
                parallel_tool_calls,
                ..Options::default()
            },
            stream: o.bool("stream")?.unwrap_or(false),
            model: Some(model.to_string()),
            session_id: None,
            user,
            include_usage: false,
        },
    })
}

fn unit(o: &Obj<'_>, key: &str) -> Result<Option<f64>, Error> {
    match o.f64(key)? {
        Some(x) if !(0.0..=1.0).contains(&x) => Err(invalid(key, "must be between 0 and 1")),
        x => Ok(x),
    }
}

fn read_tools(o: &Obj<'_>) -> Result<Option<Vec<Value>>, Error> {
    let Some(list) = o.array("tools")? else {
        return Ok(None);
    };
    let mut chat = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let path = format!("tools[{i}]");
        let t = Obj::new(item_object(v, "tools", i)?, &path);
        match t.str("type")? {
            None | Some("custom") => {}
            Some(other) => {
                let param = t.path_of("type");
                return Err(Error::UnsupportedParameter {
                    message: format!(
                        "{param}: `{other}` tools are not supported; only custom tools are"
                    ),
                    param,
                });
            }
        }
        t.known(&[
            "type",
            "name",
            "description",
            "input_schema",
            "cache_control",
            "strict",
        ])?;
        let mut f = json!({
            "name": t.required("name", t.str("name")?)?,
            "parameters": t.required("input_schema", t.object("input_schema")?)?,
        });
        if let Some(d) = t.str("description")? {
            f["description"] = d.into();
        }
        if let Some(s) = t.bool("strict")? {
            f["strict"] = s.into();
        }
        chat.push(json!({ "type": "function", "function": f }));
    }
    Ok(Some(chat))
}

/// The chat `tool_choice` and `parallel_tool_calls`.
fn read_tool_choice(o: &Obj<'_>) -> Result<(Option<Value>, Option<bool>), Error> {
    let Some(m) = o.object("tool_choice")? else {
        return Ok((None, None));
    };
    let c = Obj::new(m, "tool_choice");
    c.known(&["type", "name", "disable_parallel_tool_use"])?;
    let choice = match c.required("type", c.str("type")?)? {
        "auto" => json!("auto"),
        "any" => json!("required"),
        "none" => json!("none"),
        "tool" => {
            let name = c.required("name", c.str("name")?)?;
            json!({ "type": "function", "function": { "name": name } })
        }
        other => {
            return Err(invalid(
                "tool_choice.type",
                format!("`{other}` is not one of `auto`, `any`, `tool`, `none`"),
            ))
        }
    };
    let parallel = c.bool("disable_parallel_tool_use")?.map(|d| !d);
    Ok((Some(choice), parallel))
}

/// `system`: a string, or text blocks joined with newlines.
fn system_text(v: &Value) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut text = Vec::with_capacity(blocks.len());
            for (i, b) in blocks.iter().enumerate() {
                let path = format!("system[{i}]");
                let o = Obj::new(item_object(b, "system", i)?, &path);
                if o.required("type", o.str("type")?)? != "text" {
                    return Err(invalid(o.path_of("type"), "must be `text`"));
                }
                text.push(o.required("text", o.string("text")?)?);
            }
            Ok(text.join("\n"))
        }
        v => Err(invalid(
            "system",
            format!(
                "invalid type: {}, expected a string or a sequence",
                describe(v)
            ),
        )),
    }
}

/// Appends the messages made from message `i`.
fn read_message(i: usize, v: &Value, out: &mut Vec<Message>) -> Result<(), Error> {
    let path = format!("messages[{i}]");
    let o = Obj::new(item_object(v, "messages", i)?, &path);
    o.known(&["role", "content"])?;
    let role = match o.required("role", o.str("role")?)? {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" => Role::System,
        other => {
            return Err(invalid(
                o.path_of("role"),
                format!("`{other}` is not one of `user`, `assistant`, `system`"),
            ))
        }
    };
    let content_path = o.path_of("content");
    let blocks = match o.required("content", o.get("content"))? {
        Value::String(s) => vec![Block::Text(s.clone())],
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(j, b)| read_block(&content_path, j, b, role))
            .collect::<Result<Vec<_>, _>>()?,
        v => {
            return Err(invalid(
                content_path,
                format!(
                    "invalid type: {}, expected a string or a sequence",
                    describe(v)
                ),
            ))
        }
    };
    let mut text = Vec::new();
    let mut calls = Vec::new();
    let mut results = Vec::new();
    for b in blocks {
        match b {
            Block::Text(t) => text.push(t),
            Block::Call(c) => calls.push(c),
            Block::Result(m) => results.push(m),
            Block::Skip => {}
        }
    }
    let text = text.join("\n");
    match role {
        Role::Assistant => {
            if !text.is_empty() || !calls.is_empty() {
                let mut m = Message::text(Role::Assistant, text);
                m.tool_calls = calls;
                out.push(m);
            }
        }
        _ => {
            if text.trim().is_empty() && results.is_empty() {
                return Err(invalid(content_path, "must not be empty"));
            }
            out.append(&mut results);
            if !text.trim().is_empty() {
                out.push(Message::text(role, text));
            }
        }
    }
    Ok(())
}

/// One content block, as far as the conversation is concerned.
enum Block {
    Text(String),
    Call(ToolCall),
    Result(Message),
    /// Thinking: not sent back to the model.
    Skip,
}

fn read_block(content_path: &str, j: usize, v: &Value, role: Role) -> Result<Block, Error> {
    let path = format!("{content_path}[{j}]");
    let o = Obj::new(item_object(v, content_path, j)?, &path);
    let kind = o.required("type", o.str("type")?)?;
    let misplaced = |owner: &str| {
        invalid(
            path.clone(),
            format!("`{kind}` blocks belong in `{owner}` messages"),
        )
    };
    match kind {
        "text" => Ok(Block::Text(o.required("text", o.string("text")?)?)),
        "thinking" | "redacted_thinking" => Ok(Block::Skip),
        "tool_use" if role != Role::Assistant => Err(misplaced("assistant")),
        "tool_use" => Ok(Block::Call(ToolCall {
            id: o.required("id", o.string("id")?)?,
            name: o.required("name", o.string("name")?)?,
            arguments: o.required("input", o.get("input"))?.to_string(),
        })),
        "tool_result" if role != Role::User => Err(misplaced("user")),
        "tool_result" => {
            let id = o.required("tool_use_id", o.string("tool_use_id")?)?;
            o.bool("is_error")?;
            let content = match o.get("content") {
                None => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(list)) => result_text(&o.path_of("content"), list)?,
                Some(v) => {
                    return Err(invalid(
                        o.path_of("content"),
                        format!(
                            "invalid type: {}, expected a string or a sequence",
                            describe(v)
                        ),
                    ))
                }
            };
            let mut m = Message::text(Role::Tool, content);
            m.tool_call_id = Some(id);
            Ok(Block::Result(m))
        }
        other => Err(unsupported_content(path.clone(), other)),
    }
}

/// A tool result's content blocks: text joined with newlines, anything else refused.
fn result_text(path: &str, list: &[Value]) -> Result<String, Error> {
    let mut text = Vec::with_capacity(list.len());
    for (k, v) in list.iter().enumerate() {
        let block_path = format!("{path}[{k}]");
        let o = Obj::new(item_object(v, path, k)?, &block_path);
        match o.required("type", o.str("type")?)? {
            "text" => text.push(o.required("text", o.string("text")?)?),
            other => return Err(unsupported_content(block_path.clone(), other)),
        }
    }
    Ok(text.join("\n"))
}

#[cfg(test)]
#[path = "anthropic_request_tests.rs"]
mod tests;
