//! The Responses `input` (a string, or message, function call, function call output and reasoning items) as chat messages.

use serde_json::Value;

use super::known;
use crate::conversation::{Message, Role, ToolCall};
use crate::error::Error;
use crate::json::{describe, invalid, item_object, Obj};

fn unsupported_content(field: String, what: &str) -> Error {
    Error::UnsupportedContent {
        message: format!("{field}: {what}"),
        field,
    }
}

pub(super) fn read_input(v: &Value, out: &mut Vec<Message>) -> Result<(), Error> {
    let items = match v {
        Value::String(s) if s.trim().is_empty() => {
            return Err(invalid("input", "must not be empty"))
        }
        Value::String(s) => {
            out.push(Message::text(Role::User, s.clone()));
            return Ok(());
        }
        Value::Array(items) if items.is_empty() => {
            return Err(invalid("input", "must not be empty"))
        }
        Value::Array(items) => items,
        v => {
            return Err(invalid(
                "input",
                format!(
                    "invalid type: {}, expected a string or a sequence",
                    describe(v)
                ),
            ))
        }
    };
    // Whether the last message was made by an assistant item, so a function call joins it.
    let mut calls_join = false;
    for (i, v) in items.iter().enumerate() {
        let path = format!("input[{i}]");
        let o = Obj::new(item_object(v, "input", i)?, &path);
        match o.str("type")?.unwrap_or("message") {
            "message" => {
                known(&o, &["type", "role", "content", "id", "status", "phase"])?;
                let m = read_message(&o)?;
                calls_join = m.role == Role::Assistant;
                out.push(m);
            }
            "function_call" => {
                known(
                    &o,
                    &[
                        "type",
                        "call_id",
                        "name",
                        "arguments",
                        "id",
                        "status",
                        "namespace",
                        // The openai Node SDK's `parse()` / `stream()` add it to the output
                        // items a tool loop sends back; the arguments say the same.
                        "parsed_arguments",
                    ],
                )?;
                let call = ToolCall {
                    id: o.required("call_id", o.string("call_id")?)?,
                    name: o.required("name", o.string("name")?)?,
                    arguments: o.required("arguments", o.string("arguments")?)?,
                };
                match out.last_mut() {
                    Some(m) if calls_join => m.tool_calls.push(call),
                    _ => {
                        let mut m = Message::text(Role::Assistant, "");
                        m.tool_calls.push(call);
                        out.push(m);
                    }
                }
                calls_join = true;
            }
            "function_call_output" => {
                known(&o, &["type", "call_id", "output", "id", "status"])?;
                let id = o.required("call_id", o.string("call_id")?)?;
                let output = o.required("output", o.get("output"))?;
                let mut m = Message::text(Role::Tool, content_text(&o.path_of("output"), output)?);
                m.tool_call_id = Some(id);
                out.push(m);
                calls_join = false;
            }
            "reasoning" => {}
            other => {
                return Err(unsupported_content(
                    path.clone(),
                    &format!(
                        "`{other}` items are not supported; send messages, function calls and \
                         their outputs"
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn read_message(o: &Obj<'_>) -> Result<Message, Error> {
    let role = match o.required("role", o.str("role")?)? {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" | "developer" => Role::System,
        other => {
            return Err(invalid(
                o.path_of("role"),
                format!("`{other}` is not one of `user`, `assistant`, `system`, `developer`"),
            ))
        }
    };
    let content = o.required("content", o.get("content"))?;
    Ok(Message::text(
        role,
        content_text(&o.path_of("content"), content)?,
    ))
}

/// A string, or text parts joined with newlines; images, files and audio are refused.
fn content_text(path: &str, v: &Value) -> Result<String, Error> {
    let parts = match v {
        Value::String(s) => return Ok(s.clone()),
        Value::Array(parts) => parts,
        v => {
            return Err(invalid(
                path,
                format!(
                    "invalid type: {}, expected a string or a sequence",
                    describe(v)
                ),
            ))
        }
    };
    let mut text = Vec::with_capacity(parts.len());
    for (j, p) in parts.iter().enumerate() {
        let part_path = format!("{path}[{j}]");
        let o = Obj::new(item_object(p, path, j)?, &part_path);
        match o.required("type", o.str("type")?)? {
            "input_text" | "output_text" => text.push(o.required("text", o.string("text")?)?),
            "refusal" => text.push(o.required("refusal", o.string("refusal")?)?),
            k @ ("input_image" | "input_file" | "input_audio") => {
                return Err(unsupported_content(
                    part_path.clone(),
                    &format!("`{k}` parts are not supported yet; send text"),
                ))
            }
            other => {
                return Err(invalid(
                    o.path_of("type"),
                    format!(
                        "`{other}` is not one of `input_text`, `output_text`, `refusal`, \
                         `input_image`, `input_file`, `input_audio`"
                    ),
                ))
            }
        }
    }
    Ok(text.join("\n"))
}
