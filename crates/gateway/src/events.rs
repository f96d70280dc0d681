//! The normalized events every provider decoder produces, whatever its wire format.

use serde::Serialize;

use crate::conversation::ToolCall;
use crate::usage::Usage;

/// A piece of one tool call: the first piece of a call carries its id and name, later
/// pieces append to its arguments. `index` tells parallel calls apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolCallDelta {
    pub index: u32,
    pub id: Option<String>,
    pub name: Option<String>,
    pub arguments: String,
}

impl ToolCallDelta {
    /// Adds this piece to `calls` (indexed by `index`): the id replaces, name and arguments
    /// append. A call that never got an id is `call_<index>`.
    pub fn apply_to(&self, calls: &mut Vec<ToolCall>) {
        // Decoders refuse larger indexes; this bound keeps a bad one from growing memory.
        if self.index >= 1024 {
            return;
        }
        let i = self.index as usize;
        if calls.len() <= i {
            let first_new = calls.len();
            calls.extend((first_new..=i).map(|n| ToolCall {
                id: format!("call_{n}"),
                name: String::new(),
                arguments: String::new(),
            }));
        }
        let call = &mut calls[i];
        if let Some(id) = &self.id {
            call.id.clone_from(id);
        }
        if let Some(name) = &self.name {
            call.name.push_str(name);
        }
        call.arguments.push_str(&self.arguments);
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end or a stop sequence.
    Stop,
    /// The output cap (the request's max tokens, or the reserved budget) was reached.
    Length,
    /// The model called tools.
    ToolCalls,
    /// The provider filtered the output.
    ContentFilter,
}

impl FinishReason {
    /// Reads an OpenAI `finish_reason`; unknown values count as `Stop`.
    pub fn from_wire(s: &str) -> Self {
        match s {
            "length" => Self::Length,
            "tool_calls" | "function_call" => Self::ToolCalls,
            "content_filter" => Self::ContentFilter,
            _ => Self::Stop,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::ToolCalls => "tool_calls",
            Self::ContentFilter => "content_filter",
        }
    }
}

/// What a model said, in the gateway's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelEvent {
    /// A piece of the answer's text.
    Text(String),
    /// A piece of the model's reasoning; billed, never relayed.
    Reasoning(String),
    /// A piece of a tool call.
    ToolCall(ToolCallDelta),
    /// Token counts reported by the model; later reports refine earlier ones.
    Usage(Usage),
    /// The model said why it stopped (more events, such as usage, may follow).
    Finish(FinishReason),
    /// The answer ended normally.
    Done,
}

impl ModelEvent {
    /// Whether the client would see this event: the point after which a model is committed.
    pub fn is_output(&self) -> bool {
        matches!(self, Self::Text(_) | Self::ToolCall(_) | Self::Done)
    }
}
