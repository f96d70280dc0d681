//! The `POST /chat` request: raw JSON checked into a `ChatRequest` the rest of the gateway trusts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::tenant::check_model_id;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One checked message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// A checked chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub session_id: Option<String>,
    pub stream: bool,
    pub model_id: Option<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub tools: Option<Vec<Value>>,
    pub response_format: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawChatRequest {
    messages: Option<Vec<RawMessage>>,
    message: Option<String>,
    session_id: Option<String>,
    stream: Option<bool>,
    model_id: Option<String>,
    max_tokens: Option<i64>,
    temperature: Option<f64>,
    tools: Option<Vec<Value>>,
    response_format: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawMessage {
    role: String,
    content: String,
    name: Option<String>,
    tool_call_id: Option<String>,
}

/// Largest `maxTokens` a request may ask for before the tenant's cap applies.
const MAX_TOKENS_CEILING: i64 = 1_000_000;
/// Longest accepted `sessionId`.
const MAX_SESSION_ID_LEN: usize = 128;

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
    let field = field.into();
    let message = message.into();
    Error::InvalidRequest {
        message: format!("{field}: {message}"),
        field: Some(field),
    }
}

impl ChatRequest {
    /// Parses a request body. Syntax errors become `Error::InvalidJson`; wrong shapes and
    /// broken rules become `Error::InvalidRequest` naming the field.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(match serde_json::from_slice::<Value>(body) {
                Ok(_) => Error::InvalidRequest {
                    field: None,
                    message: "body must be a JSON object".into(),
                },
                Err(e) => Error::InvalidJson {
                    message: format!("body is not valid JSON: {e}"),
                },
            });
        }
        let de = &mut serde_json::Deserializer::from_slice(body);
        let raw: RawChatRequest = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return Error::InvalidJson {
                    message: format!("body is not valid JSON: {inner}"),
                };
            }
            let text = inner.to_string();
            let text = text
                .rfind(" at line ")
                .map_or(text.as_str(), |i| &text[..i])
                .to_string();
            if path == "." {
                Error::InvalidRequest {
                    field: None,
                    message: text,
                }
            } else {
                invalid(path, text)
            }
        })?;
        Self::check(raw)
    }

    fn check(raw: RawChatRequest) -> Result<Self, Error> {
        let messages = match (raw.messages, raw.message) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "message",
                    "send either `message` or `messages`, not both",
                ))
            }
            (None, None) => {
                return Err(invalid(
                    "messages",
                    "is required (or send a single `message` string)",
                ))
            }
            (None, Some(text)) => {
                if text.trim().is_empty() {
                    return Err(invalid("message", "must not be empty"));
                }
                vec![Message {
                    role: Role::User,
                    content: text,
                    name: None,
                    tool_call_id: None,
                }]
            }
            (Some(list), None) => check_messages(list)?,
        };

        let session_id = raw.session_id.map(check_session_id).transpose()?;
        let model_id = match raw.model_id {
            Some(m) => Some(
                check_model_id(&m)
                    .map(|()| m)
                    .map_err(|e| invalid("modelId", e))?,
            ),
            None => None,
        };
        let max_tokens = match raw.max_tokens {
            None => None,
            Some(n) if (1..=MAX_TOKENS_CEILING).contains(&n) => u32::try_from(n).ok(),
            Some(_) => {
                return Err(invalid(
                    "maxTokens",
                    format!("must be between 1 and {MAX_TOKENS_CEILING}"),
                ))
            }
        };
        let temperature = match raw.temperature {
            None => None,
            Some(t) if t.is_finite() && (0.0..=5.0).contains(&t) => Some(t),
            Some(_) => return Err(invalid("temperature", "must be between 0 and 5")),
        };
        if let Some(tools) = &raw.tools {
            if let Some(i) = tools.iter().position(|t| !t.is_object()) {
                return Err(invalid(format!("tools[{i}]"), "must be an object"));
            }
        }
        if let Some(format) = &raw.response_format {
            let kind = format.get("type").and_then(Value::as_str);
            if !matches!(kind, Some("text" | "json_object" | "json_schema")) {
                return Err(invalid(
                    "responseFormat.type",
                    "must be one of `text`, `json_object`, `json_schema`",
                ));
            }
        }

        Ok(Self {
            messages,
            session_id,
            stream: raw.stream.unwrap_or(false),
            model_id,
            max_tokens,
            temperature,
            tools: raw.tools,
            response_format: raw.response_format,
        })
    }
}

impl ChatRequest {
    /// The most output tokens this request may use: its `maxTokens`, capped by (and
    /// defaulting to) the tenant's `maxOutputTokens`.
    pub fn output_cap(&self, tenant_max_output_tokens: u32) -> u32 {
        self.max_tokens.map_or(tenant_max_output_tokens, |m| {
            m.min(tenant_max_output_tokens)
        })
    }
}

fn check_messages(list: Vec<RawMessage>) -> Result<Vec<Message>, Error> {
    if list.is_empty() {
        return Err(invalid("messages", "must not be empty"));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, m) in list.into_iter().enumerate() {
        let role = match m.role.as_str() {
            "system" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            other => {
                return Err(invalid(
                    format!("messages[{i}].role"),
                    format!("`{other}` is not one of `system`, `user`, `assistant`, `tool`"),
                ))
            }
        };
        if matches!(role, Role::System | Role::User) && m.content.trim().is_empty() {
            return Err(invalid(
                format!("messages[{i}].content"),
                "must not be empty",
            ));
        }
        out.push(Message {
            role,
            content: m.content,
            name: m.name,
            tool_call_id: m.tool_call_id,
        });
    }
    if !out.iter().any(|m| m.role == Role::User) {
        return Err(invalid(
            "messages",
            "must contain at least one `user` message",
        ));
    }
    Ok(out)
}

fn check_session_id(id: String) -> Result<String, Error> {
    let ok = !id.is_empty()
        && id.len() <= MAX_SESSION_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(id)
    } else {
        Err(invalid(
            "sessionId",
            format!(
                "must be 1-{MAX_SESSION_ID_LEN} characters of letters, digits, `-`, `_`, `.`, `:`"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_err(body: &str, expected: &str) {
        match ChatRequest::from_json(body.as_bytes()) {
            Err(e) => assert_eq!(e.to_string(), expected, "body {body}"),
            Ok(r) => panic!("expected error for {body}, got {r:?}"),
        }
    }

    #[test]
    fn single_message_becomes_a_user_turn() {
        let r =
            ChatRequest::from_json(br#"{"message":"hi","stream":true,"sessionId":"s-1"}"#).unwrap();
        assert_eq!(
            r.messages,
            vec![Message {
                role: Role::User,
                content: "hi".into(),
                name: None,
                tool_call_id: None
            }]
        );
        assert!(r.stream);
        assert_eq!(r.session_id.as_deref(), Some("s-1"));
    }

    #[test]
    fn full_request_is_kept() {
        let r = ChatRequest::from_json(
            br#"{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],
                "modelId":"fast","maxTokens":50,"temperature":0.2,"tools":[{"type":"function"}],
                "responseFormat":{"type":"json_object"}}"#,
        )
        .unwrap();
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.model_id.as_deref(), Some("fast"));
        assert_eq!(r.max_tokens, Some(50));
        assert_eq!(r.temperature, Some(0.2));
        assert!(!r.stream);
    }

    #[test]
    fn each_bad_input_has_its_own_message() {
        check_err(
            "{",
            "body is not valid JSON: EOF while parsing an object at line 1 column 1",
        );
        check_err("[1]", "body must be a JSON object");
        check_err(
            "",
            "body is not valid JSON: EOF while parsing a value at line 1 column 0",
        );
        check_err(r#"{"message":"hi","foo":1}"#,
            "foo: unknown field `foo`, expected one of `messages`, `message`, `sessionId`, `stream`, `modelId`, `maxTokens`, `temperature`, `tools`, `responseFormat`");
        check_err(
            "{}",
            "messages: is required (or send a single `message` string)",
        );
        check_err(r#"{"messages":[]}"#, "messages: must not be empty");
        check_err(r#"{"message":"  "}"#, "message: must not be empty");
        check_err(
            r#"{"message":"a","messages":[]}"#,
            "message: send either `message` or `messages`, not both",
        );
        check_err(
            r#"{"messages":[{"role":"robot","content":"x"}]}"#,
            "messages[0].role: `robot` is not one of `system`, `user`, `assistant`, `tool`",
        );
        check_err(
            r#"{"messages":[{"role":"user","content":5}]}"#,
            "messages[0].content: invalid type: integer `5`, expected a string",
        );
        check_err(
            r#"{"messages":[{"role":"system","content":"x"}]}"#,
            "messages: must contain at least one `user` message",
        );
        check_err(
            r#"{"message":"a","stream":"yes"}"#,
            "stream: invalid type: string \"yes\", expected a boolean",
        );
        check_err(
            r#"{"message":"a","maxTokens":0}"#,
            "maxTokens: must be between 1 and 1000000",
        );
        check_err(
            r#"{"message":"a","temperature":9}"#,
            "temperature: must be between 0 and 5",
        );
        check_err(
            r#"{"message":"a","sessionId":"a b"}"#,
            "sessionId: must be 1-128 characters of letters, digits, `-`, `_`, `.`, `:`",
        );
        check_err(
            r#"{"message":"a","modelId":""}"#,
            "modelId: must not be empty",
        );
        check_err(
            r#"{"message":"a","tools":[1]}"#,
            "tools[0]: must be an object",
        );
        check_err(
            r#"{"message":"a","responseFormat":{"type":"xml"}}"#,
            "responseFormat.type: must be one of `text`, `json_object`, `json_schema`",
        );
    }

    #[test]
    fn syntax_errors_are_invalid_json_not_invalid_request() {
        assert!(matches!(
            ChatRequest::from_json(b"not json"),
            Err(Error::InvalidJson { .. })
        ));
        assert!(matches!(
            ChatRequest::from_json(b"{}"),
            Err(Error::InvalidRequest { .. })
        ));
    }
}
