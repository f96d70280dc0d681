//! The SSE events the gateway sends to clients: `token`, `tool_call`, `error`, `done`.

use serde::Serialize;
use serde_json::{json, Value};

use crate::usage::TokenReport;

/// How a stream ended, as told in its `done` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finish {
    /// The model finished normally.
    Stop,
    /// The model failed after tokens were sent; an `error` event came first.
    Error,
}

/// The summary in the final `done` event (and the log line).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoneSummary<'a> {
    pub finish: Finish,
    pub model: &'a str,
    pub fallback: bool,
    pub usage: TokenReport,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    pub trace_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<&'a str>,
}

/// One SSE event, framed: `event: <name>\ndata: <json>\n\n`.
pub fn frame(name: &str, data: &impl Serialize) -> Vec<u8> {
    let data = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}

pub fn token(text: &str) -> Vec<u8> {
    frame("token", &json!({ "text": text }))
}

pub fn tool_call(call: &Value) -> Vec<u8> {
    frame("tool_call", call)
}

pub fn error(code: &str, message: &str, trace_id: &str) -> Vec<u8> {
    frame(
        "error",
        &json!({ "code": code, "message": message, "traceId": trace_id }),
    )
}

pub fn done(summary: &DoneSummary<'_>) -> Vec<u8> {
    frame("done", summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(
            String::from_utf8(token("a\nb")).unwrap(),
            "event: token\ndata: {\"text\":\"a\\nb\"}\n\n"
        );
        assert_eq!(
            String::from_utf8(error("ai_error", "boom", "t1")).unwrap(),
            "event: error\ndata: {\"code\":\"ai_error\",\"message\":\"boom\",\"traceId\":\"t1\"}\n\n"
        );
        let s = DoneSummary {
            finish: Finish::Stop,
            model: "m",
            fallback: true,
            usage: TokenReport {
                prompt: 1,
                completion: 2,
                total: 3,
                estimated: false,
            },
            latency_ms: 10,
            ttft_ms: Some(4),
            trace_id: "t",
            session_id: None,
        };
        assert_eq!(
            String::from_utf8(done(&s)).unwrap(),
            "event: done\ndata: {\"finish\":\"stop\",\"model\":\"m\",\"fallback\":true,\"usage\":{\"prompt\":1,\"completion\":2,\"total\":3,\"estimated\":false},\"latencyMs\":10,\"ttftMs\":4,\"traceId\":\"t\"}\n\n"
        );
    }
}
