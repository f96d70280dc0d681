//! The normalized conversation every surface parses into and every provider is called with.
//!
//! Content is text: surfaces join text parts before they get here and refuse the parts no
//! provider supports yet (images, audio). Assistant tool calls and tool results are typed.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::usage::estimate_text_tokens;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// A tool call the assistant made: `arguments` is the JSON text the model produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: String,
    pub name: Option<String>,
    /// For `Role::Tool`: the call this message answers.
    pub tool_call_id: Option<String>,
    /// For `Role::Assistant`: the calls it made.
    pub tool_calls: Vec<ToolCall>,
}

impl Message {
    pub fn text(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            name: None,
            tool_call_id: None,
            tool_calls: Vec::new(),
        }
    }
}

/// The wire shape providers take (OpenAI's, which Workers AI shares):
/// `{role, content, name?, tool_call_id?, tool_calls?: [{id, type, function: {name, arguments}}]}`.
impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("role", &self.role)?;
        m.serialize_entry("content", &self.content)?;
        if let Some(n) = &self.name {
            m.serialize_entry("name", n)?;
        }
        if let Some(id) = &self.tool_call_id {
            m.serialize_entry("tool_call_id", id)?;
        }
        if !self.tool_calls.is_empty() {
            let calls: Vec<Value> = self
                .tool_calls
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id, "type": "function",
                        "function": { "name": c.name, "arguments": c.arguments },
                    })
                })
                .collect();
            m.serialize_entry("tool_calls", &calls)?;
        }
        m.end()
    }
}

/// Generation options, each `None` when the client did not set it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub tools: Option<Vec<Value>>,
    pub tool_choice: Option<Value>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<Value>,
    /// OpenAI's `reasoning_effort`, forwarded to HTTP providers only.
    pub reasoning_effort: Option<String>,
    /// The knowledge base to ground the answer in (`/chat` and `/ui/chat` `knowledge`); never
    /// sent to a model.
    pub knowledge: Option<String>,
    /// `knowledgeFilter`: equality on document metadata, applied with the knowledge base.
    pub knowledge_filter: Option<knowledge::filter::MetadataFilter>,
}

/// A checked request, whatever surface it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    pub messages: Vec<Message>,
    pub options: Options,
    pub stream: bool,
    /// The model or tier alias the client asked for; `None` (or empty) means the default.
    pub model: Option<String>,
    pub session_id: Option<String>,
    /// The client's end-user id (OpenAI `user`), sent to AI Gateway as metadata.
    pub user: Option<String>,
    /// OpenAI `stream_options.include_usage`.
    pub include_usage: bool,
}

impl Conversation {
    /// The most output tokens this request may use: its max tokens, capped by (and
    /// defaulting to) the tenant's `maxOutputTokens`.
    pub fn output_cap(&self, tenant_max_output_tokens: u32) -> u32 {
        self.options
            .max_tokens
            .map_or(tenant_max_output_tokens, |m| {
                m.min(tenant_max_output_tokens)
            })
    }

    /// Estimated prompt tokens of everything sent to the model: every message's content,
    /// name, tool calls and tool-call id (4 per message for role and separators, plus 3),
    /// and the JSON of the tools, tool choice, stop sequences and response format.
    pub fn prompt_estimate(&self) -> u64 {
        let messages: u64 = self
            .messages
            .iter()
            .map(|m| {
                let calls: u64 = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        estimate_text_tokens(&c.id)
                            + estimate_text_tokens(&c.name)
                            + estimate_text_tokens(&c.arguments)
                            + 4
                    })
                    .sum();
                4 + estimate_text_tokens(&m.content)
                    + m.name.as_deref().map_or(0, estimate_text_tokens)
                    + m.tool_call_id.as_deref().map_or(0, estimate_text_tokens)
                    + calls
            })
            .sum();
        let o = &self.options;
        let json = |v: Option<&Value>| v.map_or(0, |v| estimate_text_tokens(&v.to_string()));
        let tools: u64 = o
            .tools
            .iter()
            .flatten()
            .map(|t| estimate_text_tokens(&t.to_string()))
            .sum();
        let stops: u64 = o.stop.iter().map(|s| estimate_text_tokens(s)).sum();
        3 + messages
            + tools
            + json(o.tool_choice.as_ref())
            + json(o.response_format.as_ref())
            + stops
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_serialize_in_the_provider_shape() {
        let mut m = Message::text(Role::Assistant, "");
        m.tool_calls.push(ToolCall {
            id: "call_1".into(),
            name: "get_weather".into(),
            arguments: "{\"city\":\"Oslo\"}".into(),
        });
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function",
                   "function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]})
        );
        let mut t = Message::text(Role::Tool, "sunny");
        t.tool_call_id = Some("call_1".into());
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"role":"tool","content":"sunny","tool_call_id":"call_1"})
        );
    }

    #[test]
    fn output_cap_is_the_smaller_of_request_and_tenant() {
        let mut c = Conversation::default();
        assert_eq!(c.output_cap(256), 256);
        c.options.max_tokens = Some(10);
        assert_eq!(c.output_cap(256), 10);
        c.options.max_tokens = Some(1000);
        assert_eq!(c.output_cap(256), 256);
    }

    #[test]
    fn the_prompt_estimate_counts_everything_sent() {
        let base = Conversation {
            messages: vec![Message::text(Role::User, "abcd")],
            ..Default::default()
        };
        assert_eq!(base.prompt_estimate(), 3 + 4 + 1);
        // 60 KB of tool definitions cost about as much as 60 KB of message text.
        let blob = "x".repeat(60_000);
        let mut tools = base.clone();
        tools.options.tools = Some(vec![
            json!({"type":"function","function":{"name":"f","description":blob}}),
        ]);
        let mut text = base.clone();
        text.messages.push(Message::text(Role::User, blob.clone()));
        let (t, x) = (tools.prompt_estimate(), text.prompt_estimate());
        assert!(t >= 15_000 && x >= 15_000, "tools {t}, text {x}");
        let mut format = base.clone();
        format.options.response_format =
            Some(json!({"type":"json_schema","json_schema":{"schema":{"description":blob}}}));
        assert!(format.prompt_estimate() >= 15_000);
        let mut calls = base;
        calls.messages.push(Message {
            tool_calls: vec![ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: blob,
            }],
            ..Message::text(Role::Assistant, "")
        });
        assert!(calls.prompt_estimate() >= 15_000);
    }
}
