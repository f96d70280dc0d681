//! A non-streaming model answer, read from either Workers AI response shape.

use serde_json::Value;

use crate::sse::DecodeError;
use crate::usage::Usage;

/// The answer of a non-streaming call.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub tool_calls: Option<Value>,
    pub usage: Option<Usage>,
}

impl Completion {
    /// Reads `{ response, tool_calls?, usage? }` (classic) or an OpenAI `chat.completion`.
    pub fn from_json(v: &Value) -> Result<Self, DecodeError> {
        let malformed = |reason: &str| DecodeError::Malformed {
            raw: truncate(&v.to_string()),
            reason: reason.into(),
        };
        let obj = v
            .as_object()
            .ok_or_else(|| malformed("not a JSON object"))?;
        if let Some(err) = obj.get("error").filter(|e| !e.is_null()) {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| err.to_string(), str::to_owned);
            return Err(DecodeError::Upstream { message });
        }
        let usage = obj.get("usage").and_then(Usage::from_json);
        let non_empty = |t: Option<&Value>| {
            t.filter(|t| t.as_array().is_some_and(|a| !a.is_empty()))
                .cloned()
        };
        if let Some(choices) = obj.get("choices").and_then(Value::as_array) {
            let message = choices
                .first()
                .and_then(|c| c.get("message"))
                .ok_or_else(|| malformed("no choices[0].message"))?;
            let text = message
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            return Ok(Self {
                text,
                tool_calls: non_empty(message.get("tool_calls")),
                usage,
            });
        }
        let text = match obj.get("response") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None if obj.contains_key("tool_calls") => String::new(),
            Some(Value::Null) | None => return Err(malformed("neither `response` nor `choices`")),
            Some(other) => other.to_string(),
        };
        Ok(Self {
            text,
            tool_calls: non_empty(obj.get("tool_calls")),
            usage,
        })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value, expected: Result<(&str, bool, Option<u64>), &str>) {
        match (Completion::from_json(&v), expected) {
            (Ok(c), Ok((text, tools, prompt))) => {
                assert_eq!(c.text, text);
                assert_eq!(c.tool_calls.is_some(), tools);
                assert_eq!(c.usage.and_then(|u| u.prompt_tokens), prompt);
            }
            (Err(e), Err(msg)) => assert!(e.to_string().contains(msg), "{e}"),
            (got, want) => panic!("{v}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn both_shapes() {
        check(
            json!({"response":"hi","usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}),
            Ok(("hi", false, Some(3))),
        );
        check(json!({"response":"hi"}), Ok(("hi", false, None)));
        check(json!({"response":{"a":1}}), Ok(("{\"a\":1}", false, None)));
        check(
            json!({"response":null,"tool_calls":[{"name":"f","arguments":{}}]}),
            Ok(("", true, None)),
        );
        check(
            json!({"response":"x","tool_calls":[]}),
            Ok(("x", false, None)),
        );
        check(
            json!({"object":"chat.completion","choices":[{"message":{"role":"assistant","content":"yo"}}],"usage":{"prompt_tokens":9}}),
            Ok(("yo", false, Some(9))),
        );
        check(
            json!({"choices":[{"message":{"content":null,"tool_calls":[{"id":"1"}]}}]}),
            Ok(("", true, None)),
        );
        check(json!({"choices":[]}), Err("no choices[0].message"));
        check(
            json!({"result":"?"}),
            Err("neither `response` nor `choices`"),
        );
        check(json!("text"), Err("not a JSON object"));
        check(
            json!({"error":{"message":"5007: no such model"}}),
            Err("5007: no such model"),
        );
    }
}
