//! The OpenAI Responses encoding: a `response` object, or its `event:`/`data:` stream.
//!
//! A stream opens with `response.created` and `response.in_progress` (status `in_progress`,
//! no output), then each output item as it comes: a message (`output_item.added`,
//! `content_part.added`, `output_text.delta`s, and when a tool call begins or the stream ends
//! `output_text.done`, `content_part.done`, `output_item.done`) or a function call, announced
//! once its name is known (`output_item.added` with empty arguments,
//! `function_call_arguments.delta`s, and at the end `function_call_arguments.done`,
//! `output_item.done`). It ends with `response.completed`, or `response.incomplete` when the
//! output cap or a content filter cut it. Every event carries `sequence_number` from 0 and
//! the same response id, as the Python SDK's `responses.stream()` checks. A failure ends with
//! a flat `error` event and `response.failed` (status `failed`, `error: {code, message}`), so
//! both SDKs' stream helpers raise instead of returning a truncated answer. There is no
//! `[DONE]`. Reasoning is not returned (no reasoning items).

use serde::Serialize;
use serde_json::{json, Value};

use super::encode::{frame, CallStep, StreamCalls};
use super::responses_request::Echo;
use super::{AnswerMeta, Encoder, StreamEnd};
use crate::answer::Answer;
use crate::events::{FinishReason, ModelEvent};
use crate::usage::TokenReport;

use object::{call_item, message_item, outcome, output_text};

pub use super::openai::error_body;
pub use object::usage_json;

#[path = "responses_object.rs"]
mod object;

/// The response id: stable per request, derived from its trace id.
pub fn response_id(trace_id: &str) -> String {
    format!("resp_{trace_id}")
}

/// The Responses encoder: `response_id` (see `response_id`) and what the response repeats
/// of the request (`ResponsesRequest::echo`).
#[derive(Debug)]
pub struct ResponsesEncoder {
    id: String,
    echo: Echo,
    model: String,
    created: u64,
    seq: u64,
    items: Vec<Item>,
    /// The output index of the message item being written.
    open_message: Option<usize>,
    calls: StreamCalls,
}

#[derive(Debug)]
struct Item {
    id: String,
    kind: ItemKind,
}

#[derive(Debug)]
enum ItemKind {
    Message(String),
    /// A function call: its position in `calls`.
    Call(usize),
}

#[derive(Serialize)]
struct Delta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    sequence_number: u64,
    item_id: &'a str,
    output_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_index: Option<u32>,
    delta: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<[u8; 0]>,
}

impl ResponsesEncoder {
    pub fn new(response_id: String, echo: Echo) -> Self {
        Self {
            id: response_id,
            echo,
            model: String::new(),
            created: 0,
            seq: 0,
            items: Vec::new(),
            open_message: None,
            calls: StreamCalls::default(),
        }
    }

    /// An item id of this response: `<prefix>_<response id suffix>_<output index>`.
    fn item_id(&self, prefix: &str, index: usize) -> String {
        let rest = self.id.strip_prefix("resp_").unwrap_or(&self.id);
        format!("{prefix}_{rest}_{index}")
    }

    /// The response object, with `usage`, `error` and `incomplete_details` null.
    fn response(&self, model: &str, created: u64, status: &str, output: Vec<Value>) -> Value {
        object::response(&self.id, &self.echo, model, created, status, output)
    }

    fn finished(
        &self,
        model: &str,
        created: u64,
        output: Vec<Value>,
        finish: FinishReason,
        usage: &TokenReport,
    ) -> Value {
        let (status, reason) = outcome(finish);
        let mut r = self.response(model, created, status, output);
        r["usage"] = usage_json(usage);
        if let Some(reason) = reason {
            r["incomplete_details"] = json!({ "reason": reason });
        }
        r
    }

    /// One event: `body` with its `type` and the next `sequence_number`.
    fn event(&mut self, out: &mut Vec<u8>, kind: &str, mut body: Value) {
        body["type"] = kind.into();
        body["sequence_number"] = self.seq.into();
        self.seq += 1;
        frame(out, kind, &body);
    }

    fn delta(&mut self, out: &mut Vec<u8>, kind: &'static str, index: usize, text: &str) {
        let Some(item) = self.items.get(index) else {
            return;
        };
        let is_text = matches!(item.kind, ItemKind::Message(_));
        let d = Delta {
            kind,
            sequence_number: self.seq,
            item_id: &item.id,
            output_index: index,
            content_index: is_text.then_some(0),
            delta: text,
            logprobs: is_text.then_some([]),
        };
        self.seq += 1;
        frame(out, kind, &d);
    }

    /// The final JSON of output item `index`.
    fn item_json(&self, index: usize, status: &str) -> Value {
        match self.items.get(index) {
            Some(Item {
                id,
                kind: ItemKind::Message(text),
            }) => message_item(id, status, Some(text)),
            Some(Item {
                id,
                kind: ItemKind::Call(pos),
            }) => match self.calls.calls.get(*pos) {
                Some(c) => call_item(id, status, &c.id, &c.name, &c.arguments),
                None => Value::Null,
            },
            None => Value::Null,
        }
    }

    /// Ends the message item being written, if any.
    fn close_message(&mut self, out: &mut Vec<u8>, status: &str) {
        let Some(i) = self.open_message.take() else {
            return;
        };
        let Some(Item {
            id,
            kind: ItemKind::Message(text),
        }) = self.items.get(i)
        else {
            return;
        };
        let (id, text) = (id.clone(), text.clone());
        let at = json!({"item_id": id, "output_index": i, "content_index": 0});
        let mut done = at.clone();
        done["text"] = text.as_str().into();
        done["logprobs"] = json!([]);
        self.event(out, "response.output_text.done", done);
        let mut part = at;
        part["part"] = output_text(&text);
        self.event(out, "response.content_part.done", part);
        let item = self.item_json(i, status);
        self.event(
            out,
            "response.output_item.done",
            json!({"output_index": i, "item": item}),
        );
    }

    /// Adds call `pos` as the next output item, with its arguments so far.
    fn announce(&mut self, out: &mut Vec<u8>, pos: usize) {
        let i = self.items.len();
        let id = self.item_id("fc", i);
        let Some(c) = self.calls.calls.get_mut(pos) else {
            return;
        };
        c.slot = Some(i);
        let item = call_item(&id, "in_progress", &c.id, &c.name, "");
        let arguments = c.arguments.clone();
        self.items.push(Item {
            id,
            kind: ItemKind::Call(pos),
        });
        self.event(
            out,
            "response.output_item.added",
            json!({"output_index": i, "item": item}),
        );
        if !arguments.is_empty() {
            self.delta(out, "response.function_call_arguments.delta", i, &arguments);
        }
    }
}

impl Encoder for ResponsesEncoder {
    fn answer(&self, a: &Answer, meta: &AnswerMeta<'_>) -> Value {
        let status = match outcome(a.finish).1 {
            Some(_) => "incomplete",
            None => "completed",
        };
        let mut output = Vec::new();
        if !a.text.is_empty() || a.tool_calls.is_empty() {
            output.push(message_item(&self.item_id("msg", 0), status, Some(&a.text)));
        }
        for c in &a.tool_calls {
            let id = self.item_id("fc", output.len());
            output.push(call_item(&id, status, &c.id, &c.name, &c.arguments));
        }
        self.finished(meta.model, meta.created_s, output, a.finish, &a.usage)
    }

    fn stream_start(&mut self, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        self.model = meta.model.to_string();
        self.created = meta.created_s;
        let r = self.response(meta.model, meta.created_s, "in_progress", Vec::new());
        self.event(out, "response.created", json!({ "response": r.clone() }));
        self.event(out, "response.in_progress", json!({ "response": r }));
    }

    fn stream_event(&mut self, event: &ModelEvent, out: &mut Vec<u8>) {
        match event {
            ModelEvent::Text(t) if !t.is_empty() => {
                let i = match self.open_message {
                    Some(i) => i,
                    None => {
                        let i = self.items.len();
                        let id = self.item_id("msg", i);
                        let item = message_item(&id, "in_progress", None);
                        self.items.push(Item {
                            id: id.clone(),
                            kind: ItemKind::Message(String::new()),
                        });
                        self.open_message = Some(i);
                        self.event(
                            out,
                            "response.output_item.added",
                            json!({"output_index": i, "item": item}),
                        );
                        let part = json!({"item_id": id, "output_index": i, "content_index": 0, "part": output_text("")});
                        self.event(out, "response.content_part.added", part);
                        i
                    }
                };
                if let Some(Item {
                    kind: ItemKind::Message(text),
                    ..
                }) = self.items.get_mut(i)
                {
                    text.push_str(t);
                }
                self.delta(out, "response.output_text.delta", i, t);
            }
            ModelEvent::ToolCall(d) => {
                self.close_message(out, "completed");
                match self.calls.apply(d) {
                    CallStep::Announce(pos) => self.announce(out, pos),
                    CallStep::Append(pos) => {
                        if let Some(i) = self.calls.calls[pos].slot {
                            if !d.arguments.is_empty() {
                                self.delta(
                                    out,
                                    "response.function_call_arguments.delta",
                                    i,
                                    &d.arguments,
                                );
                            }
                        }
                    }
                    CallStep::Pending => {}
                }
            }
            _ => {}
        }
    }

    fn stream_end(&mut self, end: &StreamEnd, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        let (model, created) = (self.model.clone(), self.created);
        match end {
            StreamEnd::Finished { finish, usage } => {
                let status = match outcome(*finish).1 {
                    Some(_) => "incomplete",
                    None => "completed",
                };
                self.close_message(out, status);
                for pos in self.calls.by_index() {
                    if self.calls.calls[pos].slot.is_none() {
                        self.announce(out, pos);
                    }
                }
                for i in 0..self.items.len() {
                    let ItemKind::Call(pos) = self.items[i].kind else {
                        continue;
                    };
                    let c = &self.calls.calls[pos];
                    let done = json!({
                        "item_id": self.items[i].id, "output_index": i,
                        "name": c.name, "arguments": c.arguments,
                    });
                    self.event(out, "response.function_call_arguments.done", done);
                    let item = self.item_json(i, status);
                    self.event(
                        out,
                        "response.output_item.done",
                        json!({"output_index": i, "item": item}),
                    );
                }
                let output = (0..self.items.len())
                    .map(|i| self.item_json(i, status))
                    .collect();
                let mut r = self.finished(&model, created, output, *finish, usage);
                // A grounded answer's sources ride on the final response object, as on a
                // whole answer (SDKs keep unknown fields).
                if let (Some(sources), Some(o)) = (super::sources_json(meta), r.as_object_mut()) {
                    o.insert("sources".into(), sources);
                }
                let kind = match status {
                    "completed" => "response.completed",
                    _ => "response.incomplete",
                };
                self.event(out, kind, json!({ "response": r }));
            }
            StreamEnd::Failed {
                code,
                message,
                usage,
            } => {
                let error = json!({"code": code, "message": message});
                self.event(
                    out,
                    "error",
                    json!({"code": code, "message": message, "param": null}),
                );
                // A message item already done stays completed; the rest is cut off.
                let output = (0..self.items.len())
                    .map(|i| {
                        let closed = matches!(self.items[i].kind, ItemKind::Message(_))
                            && self.open_message != Some(i);
                        self.item_json(i, if closed { "completed" } else { "incomplete" })
                    })
                    .collect();
                let mut r = self.response(&model, created, "failed", output);
                r["error"] = error;
                r["usage"] = usage_json(usage);
                self.event(out, "response.failed", json!({ "response": r }));
            }
        }
    }
}

#[cfg(test)]
#[path = "responses_tests.rs"]
mod tests;
