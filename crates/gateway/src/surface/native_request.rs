//! The `POST /chat` body checked into a `Conversation`: camelCase fields, unknown ones refused.

use serde_json::{Map, Value};

use crate::conversation::{Conversation, Message, Options, Role, ToolCall};
use crate::error::Error;
use crate::json::{item_object, object_body, Obj};
use crate::tenant::check_model_id;

pub(crate) use crate::json::invalid;

const FIELDS: &[&str] = &[
    "messages",
    "message",
    "sessionId",
    "stream",
    "modelId",
    "maxTokens",
    "temperature",
    "tools",
    "responseFormat",
    "knowledge",
    "knowledgeFilter",
];
const MESSAGE_FIELDS: &[&str] = &["role", "content", "name", "toolCallId", "toolCalls"];
const CALL_FIELDS: &[&str] = &["id", "name", "arguments"];

/// Largest `maxTokens` a request may ask for before the tenant's cap applies.
const MAX_TOKENS_CEILING: i64 = 1_000_000;
/// Longest accepted `sessionId`.
const MAX_SESSION_ID_LEN: usize = 128;

/// `knowledgeFilter`, when given (checked by `knowledge::filter`; `null` is none).
pub(crate) fn knowledge_filter(
    v: Option<&Value>,
) -> Result<Option<knowledge::filter::MetadataFilter>, Error> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => knowledge::filter::MetadataFilter::parse(v)
            .map(Some)
            .map_err(|e| invalid("knowledgeFilter", e.to_string())),
    }
}

/// Parses a `/chat` body. Syntax errors become `Error::InvalidJson`; wrong shapes and broken
/// rules become `Error::InvalidRequest` naming the field.
pub fn parse(body: &[u8]) -> Result<Conversation, Error> {
    let map = object_body(body)?;
    let o = Obj::new(&map, "");
    o.known(FIELDS)?;
    let messages = match (o.array("messages")?, o.string("message")?) {
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
            vec![Message::text(Role::User, text)]
        }
        (Some(list), None) => check_messages(list)?,
    };
    let session_id = o.string("sessionId")?.map(check_session_id).transpose()?;
    let model_id = match o.string("modelId")?.filter(|m| !m.is_empty()) {
        Some(m) => Some(
            check_model_id(&m)
                .map(|()| m)
                .map_err(|e| invalid("modelId", e))?,
        ),
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
        None => None,
        Some(t) if t.is_finite() && (0.0..=5.0).contains(&t) => Some(t),
        Some(_) => return Err(invalid("temperature", "must be between 0 and 5")),
    };
    let tools = o.array("tools")?.map(<[Value]>::to_vec);
    if let Some(i) = tools.iter().flatten().position(|t| !t.is_object()) {
        return Err(invalid(format!("tools[{i}]"), "must be an object"));
    }
    let response_format = o.get("responseFormat").cloned();
    if let Some(format) = &response_format {
        let kind = format.get("type").and_then(Value::as_str);
        if !matches!(kind, Some("text" | "json_object" | "json_schema")) {
            return Err(invalid(
                "responseFormat.type",
                "must be one of `text`, `json_object`, `json_schema`",
            ));
        }
    }
    Ok(Conversation {
        messages,
        options: Options {
            max_tokens,
            temperature,
            tools,
            response_format,
            knowledge: o.string("knowledge")?.filter(|k| !k.trim().is_empty()),
            knowledge_filter: knowledge_filter(o.get("knowledgeFilter"))?,
            ..Options::default()
        },
        stream: o.bool("stream")?.unwrap_or(false),
        model: model_id,
        session_id,
        user: None,
        include_usage: false,
    })
}

fn check_messages(list: &[Value]) -> Result<Vec<Message>, Error> {
    if list.is_empty() {
        return Err(invalid("messages", "must not be empty"));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        out.push(check_message(i, item_object(m, "messages", i)?)?);
    }
    // A `tool` message alone continues a conversation (its question is in a session's history).
    if !out
        .iter()
        .any(|m| matches!(m.role, Role::User | Role::Tool))
    {
        return Err(invalid(
            "messages",
            "must contain at least one `user` (or `tool`) message",
        ));
    }
    Ok(out)
}

fn check_message(i: usize, m: &Map<String, Value>) -> Result<Message, Error> {
    let path = format!("messages[{i}]");
    let o = Obj::new(m, &path);
    o.known(MESSAGE_FIELDS)?;
    let role = match o.required("role", o.str("role")?)? {
        "system" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        other => {
            return Err(invalid(
                o.path_of("role"),
                format!("`{other}` is not one of `system`, `user`, `assistant`, `tool`"),
            ))
        }
    };
    let mut tool_calls = Vec::new();
    for (j, c) in o.array("toolCalls")?.unwrap_or_default().iter().enumerate() {
        let call_path = format!("{path}.toolCalls[{j}]");
        let c = Obj::new(item_object(c, &o.path_of("toolCalls"), j)?, &call_path);
        c.known(CALL_FIELDS)?;
        tool_calls.push(ToolCall {
            id: c.required("id", c.string("id")?)?,
            name: c.required("name", c.string("name")?)?,
            arguments: c.required("arguments", c.string("arguments")?)?,
        });
    }
    if !tool_calls.is_empty() && role != Role::Assistant {
        return Err(invalid(
            o.path_of("toolCalls"),
            "only `assistant` messages make tool calls",
        ));
    }
    let content = match o.string("content")? {
        Some(c) => c,
        None if !tool_calls.is_empty() => String::new(),
        None => return Err(invalid(o.path_of("content"), "is required")),
    };
    if matches!(role, Role::System | Role::User) && content.trim().is_empty() {
        return Err(invalid(o.path_of("content"), "must not be empty"));
    }
    Ok(Message {
        role,
        content,
        name: o.string("name")?,
        tool_call_id: o.string("toolCallId")?,
        tool_calls,
    })
}

/// Checks a `sessionId`: an id that `/sessions/{id}` can address unchanged, so `.` and `..`
/// (which URL normalisation removes from a path) are refused like any other character outside
/// letters, digits, `-`, `_`, `.`, `:`.
pub fn check_session_id(id: String) -> Result<String, Error> {
    let ok = !id.is_empty()
        && id.len() <= MAX_SESSION_ID_LEN
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(id)
    } else {
        Err(invalid(
            "sessionId",
            format!(
                "must be 1-{MAX_SESSION_ID_LEN} characters of letters, digits, `-`, `_`, `.`, `:`, \
                 and not `.` or `..` (a URL path cannot address them)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_err(body: &str, expected: &str) {
        match parse(body.as_bytes()) {
            Err(e) => assert_eq!(e.to_string(), expected, "body {body}"),
            Ok(r) => panic!("expected error for {body}, got {r:?}"),
        }
    }

    #[test]
    fn single_message_becomes_a_user_turn() {
        let r = parse(br#"{"message":"hi","stream":true,"sessionId":"s-1"}"#).unwrap();
        assert_eq!(r.messages, vec![Message::text(Role::User, "hi")]);
        assert!(r.stream);
        assert_eq!(r.session_id.as_deref(), Some("s-1"));
    }

    #[test]
    fn full_request_is_kept() {
        let r = parse(
            br#"{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],
                "modelId":"fast","maxTokens":50,"temperature":0.2,"tools":[{"type":"function"}],
                "responseFormat":{"type":"json_object"}}"#,
        )
        .unwrap();
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.model.as_deref(), Some("fast"));
        assert_eq!(r.options.max_tokens, Some(50));
        assert_eq!(r.options.temperature, Some(0.2));
        assert!(!r.stream);
    }

    #[test]
    fn bytes_after_the_body_are_refused() {
        check_err(
            r#"{"message":"x"}garbage"#,
            "body is not valid JSON: trailing characters at line 1 column 16",
        );
        check_err(
            r#"{"message":"x"} {"message":"y"}"#,
            "body is not valid JSON: trailing characters at line 1 column 17",
        );
        // Whitespace after the object is not content.
        assert!(parse(b"{\"message\":\"x\"}\n\t ").is_ok());
    }

    #[test]
    fn session_ids_a_path_cannot_address_are_refused() {
        for bad in [".", "..", "a/b", "a b", "%2e", "", "a?b", "a#b"] {
            assert!(check_session_id(bad.into()).is_err(), "{bad:?}");
        }
        for good in ["...", ".a", "a.", "s-1", "x:y_z", "a..b"] {
            assert_eq!(
                check_session_id(good.into()).as_deref(),
                Ok(good),
                "{good:?}"
            );
        }
        assert!(check_session_id("a".repeat(128)).is_ok());
        assert!(check_session_id("a".repeat(129)).is_err());
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
            "foo: unknown field `foo`, expected one of `messages`, `message`, `sessionId`, `stream`, `modelId`, `maxTokens`, `temperature`, `tools`, `responseFormat`, `knowledge`, `knowledgeFilter`");
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
            "messages: must contain at least one `user` (or `tool`) message",
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
            "sessionId: must be 1-128 characters of letters, digits, `-`, `_`, `.`, `:`, and not `.` or `..` (a URL path cannot address them)",
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
    fn tool_calls_go_back_into_the_history_and_empty_model_is_unset() {
        let r = parse(
            br#"{"modelId":"","messages":[{"role":"user","content":"weather?"},
                {"role":"assistant","toolCalls":[{"id":"c1","name":"get_weather","arguments":"{}"}]},
                {"role":"tool","toolCallId":"c1","content":"sunny"}]}"#,
        )
        .unwrap();
        assert_eq!(r.model, None);
        assert_eq!(r.messages[1].tool_calls[0].name, "get_weather");
        assert_eq!(r.messages[1].content, "");
        assert_eq!(r.messages[2].tool_call_id.as_deref(), Some("c1"));
        check_err(
            r#"{"messages":[{"role":"user","content":"x","toolCalls":[{"id":"c","name":"f","arguments":"{}"}]}]}"#,
            "messages[0].toolCalls: only `assistant` messages make tool calls",
        );
        check_err(
            r#"{"messages":[{"role":"user"}]}"#,
            "messages[0].content: is required",
        );
    }

    #[test]
    fn syntax_errors_are_invalid_json_not_invalid_request() {
        assert!(matches!(parse(b"not json"), Err(Error::InvalidJson { .. })));
        assert!(matches!(parse(b"{}"), Err(Error::InvalidRequest { .. })));
    }

    #[test]
    fn knowledge_and_its_filter_are_read() {
        let c = parse(br#"{"message":"hi","knowledge":"help","knowledgeFilter":{"lang":"de"}}"#)
            .unwrap();
        assert_eq!(c.options.knowledge.as_deref(), Some("help"));
        let want =
            knowledge::filter::MetadataFilter::parse(&serde_json::json!({"lang": "de"})).ok();
        assert_eq!(c.options.knowledge_filter, want);
        let none = parse(br#"{"message":"hi","knowledge":" ","knowledgeFilter":null}"#).unwrap();
        assert_eq!(
            (none.options.knowledge, none.options.knowledge_filter),
            (None, None)
        );
        match parse(br#"{"message":"hi","knowledgeFilter":{"lang":1.5}}"#) {
            Err(Error::InvalidRequest { field, .. }) => {
                assert_eq!(field.as_deref(), Some("knowledgeFilter"))
            }
            other => panic!("{other:?}"),
        }
    }
}
