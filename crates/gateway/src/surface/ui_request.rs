//! The AI SDK `useChat` body (`DefaultChatTransport`, ai 6.x) checked into a `Conversation`.
//!
//! The body is `{id, messages: UIMessage[], trigger, messageId?, ...}` plus the gateway's
//! optional `model`, `maxTokens`, `temperature`. Apps add their own fields through the
//! transport's `body` option, so unknown top-level fields (and unknown message and part
//! fields) are ignored; the known ones are read strictly typed. A body without `trigger` (a
//! custom transport) is a `submit-message`.
//!
//! Parts become what `convertToModelMessages` makes of them, in the chat shape: `text` parts
//! are joined with newlines; `reasoning` parts are dropped (the model does not get its
//! reasoning back); `step-start` splits an assistant message into steps, each an assistant
//! message (text and tool calls) followed by one `tool` message per tool output; `data-*` and
//! `source-*` parts are ignored; `file` and unknown parts are refused as unsupported content.
//! A tool part still streaming its input is dropped; one that is waiting for its output
//! (`input-available`, `approval-*`) is refused, since a model may not be sent a call
//! without its result.
//!
//! Which request messages a stored session already holds: every conversation message gets a
//! `MessageId`, the UI id of the message it came from plus its ordinal among the messages made
//! from that UI message. The same UI message always yields the same ids, and a UI message that
//! grows (a tool output added, a continuation appended as a new step) keeps its earlier ids and
//! adds higher ordinals, so an engine that stores each message under its `MessageId` knows the
//! new ones: those whose id it has not stored. The answer continuing assistant message `a1`
//! (see `UiRequest::continues`) is its next ordinal.

use serde_json::Value;

use super::native_request::check_session_id;
use crate::conversation::{Conversation, Message, Options, Role, ToolCall};
use crate::error::Error;
use crate::json::{invalid, item_object, object_body, Obj};
use crate::tenant::check_model_id;

/// Why the client sent the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `submit-message`: a new user message, or a resubmit after tool outputs.
    SubmitMessage,
    /// `regenerate-message`: the client dropped the last assistant message to have it again.
    RegenerateMessage,
}

/// Where a conversation message came from: the UI message `ui_id`, and which of the messages
/// made from it this is (from 0, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageId {
    pub ui_id: String,
    pub ordinal: u32,
}

/// A checked `useChat` request.
#[derive(Debug, Clone, PartialEq)]
pub struct UiRequest {
    /// The conversation (always streamed; `session_id` is left unset: the chat id is in
    /// `chat_id` and the client sends the whole history itself).
    pub conv: Conversation,
    /// The chat's `id`, checked like a session id.
    pub chat_id: String,
    pub trigger: Trigger,
    /// `messageId`: the message being regenerated, edited, or continued after tool outputs.
    pub message_id: Option<String>,
    /// The origin of each message of `conv.messages`, in the same order.
    pub message_ids: Vec<MessageId>,
    /// When the last UI message is the assistant's (a resubmit after tool outputs), its id:
    /// the answer continues that message, so the stream's `start` must carry this id (another
    /// id would make the client add a second assistant message).
    pub continues: Option<String>,
}

/// Largest `maxTokens` a request may ask for before the tenant's cap applies.
const MAX_TOKENS_CEILING: i64 = 1_000_000;

/// Parses a `useChat` body.
pub fn parse(body: &[u8]) -> Result<UiRequest, Error> {
    let map = object_body(body)?;
    let o = Obj::new(&map, "");
    let chat_id = check_chat_id(o.required("id", o.string("id")?)?)?;
    let trigger = match o.str("trigger")? {
        None | Some("submit-message") => Trigger::SubmitMessage,
        Some("regenerate-message") => Trigger::RegenerateMessage,
        Some(other) => {
            return Err(invalid(
                "trigger",
                format!("`{other}` is not one of `submit-message`, `regenerate-message`"),
            ))
        }
    };
    let message_id = o.string("messageId")?;
    let model = match o.str("model")?.filter(|m| !m.is_empty()) {
        Some(m) => {
            check_model_id(m).map_err(|e| invalid("model", e))?;
            Some(m.to_string())
        }
        None => None,
    };
    let max_tokens = match o.i64("maxTokens")? {
        None => None,
        Some(n) if (1..=MAX_TOKENS_CEILING).contains(&n) => u32::try_from(n).ok(),
        Some(_) => {
            return Err(invalid(
                "maxTokens",
                format!("must be between 1 and {MAX_TOKENS_CEILING}"),
            ))
        }
    };
    let temperature = match o.f64("temperature")? {
        Some(t) if !(0.0..=5.0).contains(&t) => {
            return Err(invalid("temperature", "must be between 0 and 5"))
        }
        t => t,
    };
    let list = o.required("messages", o.array("messages")?)?;
    if list.is_empty() {
        return Err(invalid("messages", "must not be empty"));
    }
    let mut messages = Vec::new();
    let mut message_ids = Vec::new();
    let mut continues = None;
    for (i, v) in list.iter().enumerate() {
        let (ui_id, role) = convert_message(i, v, &mut messages)?;
        continues = (role == Role::Assistant).then(|| ui_id.clone());
        let made = messages.len() - message_ids.len();
        message_ids.extend((0..made).map(|k| MessageId {
            ui_id: ui_id.clone(),
            ordinal: u32::try_from(k).unwrap_or(u32::MAX),
        }));
    }
    if !messages
        .iter()
        .any(|m| matches!(m.role, Role::User | Role::Tool))
    {
        return Err(invalid(
            "messages",
            "must contain a `user` message or a tool output",
        ));
    }
    Ok(UiRequest {
        conv: Conversation {
            messages,
            options: Options {
                max_tokens,
                temperature,
                knowledge: o.string("knowledge")?.filter(|k| !k.trim().is_empty()),
                knowledge_filter: super::native_request::knowledge_filter(
                    o.get("knowledgeFilter"),
                )?,
                ..Options::default()
            },
            stream: true,
            model,
            session_id: None,
            user: None,
            include_usage: false,
        },
        chat_id,
        trigger,
        message_id,
        message_ids,
        continues,
    })
}

/// The chat id becomes a session id: the same rules, reported under `id`.
fn check_chat_id(id: String) -> Result<String, Error> {
    check_session_id(id).map_err(|e| match e {
        Error::InvalidRequest { message, .. } => {
            let rule = message.strip_prefix("sessionId: ").unwrap_or(&message);
            invalid("id", rule)
        }
        e => e,
    })
}

/// One part, as far as the conversation is concerned.
enum Part {
    Text(String),
    StepStart,
    /// Reasoning, data and sources: nothing the model is sent.
    Skip,
    /// A tool part that is sent: the call and its output.
    Tool(ToolCall, String),
}

/// Appends the messages made from UI message `i`; returns its id and role.
fn convert_message(i: usize, v: &Value, out: &mut Vec<Message>) -> Result<(String, Role), Error> {
    let path = format!("messages[{i}]");
    let o = Obj::new(item_object(v, "messages", i)?, &path);
    let ui_id = o.required("id", o.string("id")?)?;
    let role = match o.required("role", o.str("role")?)? {
        "system" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        other => {
            return Err(invalid(
                o.path_of("role"),
                format!("`{other}` is not one of `system`, `user`, `assistant`"),
            ))
        }
    };
    let parts_path = o.path_of("parts");
    let parts = o.required("parts", o.array("parts")?)?;
    let mut text: Vec<String> = Vec::new();
    let mut calls: Vec<ToolCall> = Vec::new();
    let mut results: Vec<Message> = Vec::new();
    for (j, p) in parts.iter().enumerate() {
        match read_part(&parts_path, j, p)? {
            Part::Text(t) => text.push(t),
            Part::Skip => {}
            Part::StepStart if role == Role::Assistant => {
                flush_step(&mut text, &mut calls, &mut results, out);
            }
            Part::StepStart => {}
            Part::Tool(..) if role != Role::Assistant => {
                return Err(invalid(
                    format!("{parts_path}[{j}]"),
                    "only `assistant` messages hold tool parts",
                ))
            }
            Part::Tool(call, output) => {
                let mut m = Message::text(Role::Tool, output);
                m.tool_call_id = Some(call.id.clone());
                results.push(m);
                calls.push(call);
            }
        }
    }
    if role == Role::Assistant {
        flush_step(&mut text, &mut calls, &mut results, out);
    } else {
        let content = join(&text);
        if content.trim().is_empty() {
            return Err(invalid(parts_path, "must contain a non-empty `text` part"));
        }
        out.push(Message::text(role, content));
    }
    Ok((ui_id, role))
}

fn join(text: &[String]) -> String {
    let kept: Vec<&str> = text
        .iter()
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .collect();
    kept.join("\n")
}

/// Ends an assistant step: its message (when it said or called anything), then its outputs.
fn flush_step(
    text: &mut Vec<String>,
    calls: &mut Vec<ToolCall>,
    results: &mut Vec<Message>,
    out: &mut Vec<Message>,
) {
    let content = join(text);
    if !content.is_empty() || !calls.is_empty() {
        let mut m = Message::text(Role::Assistant, content);
        m.tool_calls = std::mem::take(calls);
        out.push(m);
    }
    out.append(results);
    text.clear();
}

fn read_part(parts_path: &str, j: usize, v: &Value) -> Result<Part, Error> {
    let path = format!("{parts_path}[{j}]");
    let o = Obj::new(item_object(v, parts_path, j)?, &path);
    let kind = o.required("type", o.str("type")?)?;
    match kind {
        "text" => Ok(Part::Text(o.required("text", o.string("text")?)?)),
        "step-start" => Ok(Part::StepStart),
        "reasoning" | "reasoning-file" | "source-url" | "source-document" => Ok(Part::Skip),
        k if k.starts_with("data-") => Ok(Part::Skip),
        "dynamic-tool" => {
            let name = o.required("toolName", o.string("toolName")?)?;
            read_tool(&o, name)
        }
        k => match k.strip_prefix("tool-") {
            Some(name) if !name.is_empty() => read_tool(&o, name.to_string()),
            Some(_) => Err(invalid(o.path_of("type"), "a tool part is `tool-<name>`")),
            None => Err(Error::UnsupportedContent {
                message: format!("{path}: `{k}` parts are not supported yet; send text"),
                field: path,
            }),
        },
    }
}

/// A tool part: the call, and the output the model gets for it (the output's JSON text, or
/// the text itself when it is a string; the error text; the denial reason).
fn read_tool(o: &Obj<'_>, name: String) -> Result<Part, Error> {
    let id = o.required("toolCallId", o.string("toolCallId")?)?;
    let state = o.required("state", o.str("state")?)?;
    let arguments = match (o.get("input"), o.get("rawInput")) {
        (Some(v), _) => v.to_string(),
        (None, Some(Value::String(s))) => s.clone(),
        (None, Some(v)) => v.to_string(),
        (None, None) => "{}".to_string(),
    };
    let output = match state {
        "input-streaming" => return Ok(Part::Skip),
        "output-available" => match o.raw("output") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "null".to_string(),
        },
        "output-error" => o.required("errorText", o.string("errorText")?)?,
        "output-denied" => {
            let approval = o.object("approval")?;
            let reason = match approval {
                Some(a) => Obj::new(a, &o.path_of("approval")).string("reason")?,
                None => None,
            };
            reason.unwrap_or_else(|| "Tool execution denied.".to_string())
        }
        "input-available" | "approval-requested" | "approval-responded" => {
            return Err(invalid(
                o.path_of("state"),
                format!(
                    "the tool call has no output yet (`{state}`); add its output before sending, \
                     or leave the part out"
                ),
            ))
        }
        other => {
            return Err(invalid(
                o.path_of("state"),
                format!("`{other}` is not a tool part state"),
            ))
        }
    };
    Ok(Part::Tool(
        ToolCall {
            id,
            name,
            arguments,
        },
        output,
    ))
}

#[cfg(test)]
#[path = "ui_request_tests.rs"]
mod tests;
