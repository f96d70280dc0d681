//! The native `/chat` encoding: a JSON answer, or SSE `token`, `tool_call`, `error`, `done`.

use serde::Serialize;
use serde_json::{json, Value};

use super::{write_json, AnswerMeta, Encoder, StreamEnd};
use crate::answer::Answer;
use crate::conversation::ToolCall;
use crate::events::ModelEvent;
use crate::problem::Problem;
use crate::usage::TokenReport;

/// The `/chat` encoder. Tool-call deltas are assembled and sent as whole calls at the end.
#[derive(Debug, Default)]
pub struct NativeEncoder {
    calls: Vec<ToolCall>,
}

#[derive(Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    name: &'a str,
    arguments: &'a str,
}

impl<'a> From<&'a ToolCall> for WireToolCall<'a> {
    fn from(c: &'a ToolCall) -> Self {
        Self {
            id: &c.id,
            name: &c.name,
            arguments: &c.arguments,
        }
    }
}

/// The summary in the final `done` event.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Done<'a> {
    finish: &'a str,
    model: &'a str,
    fallback: bool,
    usage: TokenReport,
    latency_ms: u64,
    ttft_ms: Option<u64>,
    trace_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history_messages: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens_reduced: Option<u64>,
}

/// The native error body: `{"error": {code, message, traceId, field?, model?, limitBytes?,
/// budget?}}`.
pub fn error_body(p: &Problem, trace_id: &str) -> Value {
    let mut e = serde_json::Map::new();
    e.insert("code".into(), p.code.into());
    e.insert("message".into(), p.message.clone().into());
    e.insert("traceId".into(), trace_id.into());
    if let Some(f) = &p.field {
        e.insert("field".into(), f.clone().into());
    }
    if let Some(m) = &p.model {
        e.insert("model".into(), m.clone().into());
    }
    if let Some(l) = p.limit_bytes {
        e.insert("limitBytes".into(), l.into());
    }
    if let Some((refusal, scope)) = &p.budget {
        let mut b = json!(refusal);
        b["scope"] = (*scope).into();
        e.insert("budget".into(), b);
    }
    json!({ "error": e })
}

/// One SSE event, framed: `event: <name>\ndata: <json>\n\n`.
fn frame(out: &mut Vec<u8>, name: &str, data: &impl Serialize) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    write_json(out, data);
    out.extend_from_slice(b"\n\n");
}

impl Encoder for NativeEncoder {
    fn answer(&self, a: &Answer, meta: &AnswerMeta<'_>) -> Value {
        let mut body = json!({
            "text": a.text,
            "model": meta.model,
            "fallback": meta.fallback,
            "sessionId": meta.session_id,
            "traceId": meta.trace_id,
            "usage": a.usage,
            "finish": a.finish.as_str(),
            "latencyMs": meta.latency_ms,
        });
        if !a.tool_calls.is_empty() {
            let calls: Vec<WireToolCall<'_>> = a.tool_calls.iter().map(Into::into).collect();
            body["toolCalls"] = json!(calls);
        }
        if let Some(n) = meta.history_messages {
            body["historyMessages"] = n.into();
        }
        if let Some(n) = meta.max_tokens_reduced {
            body["maxTokensReduced"] = n.into();
        }
        body
    }

    /// A grounded answer opens with `event: sources`, before its first token.
    fn stream_start(&mut self, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        if let Some(sources) = super::sources_json(meta) {
            frame(out, "sources", &json!({ "sources": sources }));
        }
    }

    fn stream_event(&mut self, event: &ModelEvent, out: &mut Vec<u8>) {
        match event {
            ModelEvent::Text(t) => {
                #[derive(Serialize)]
                struct Token<'a> {
                    text: &'a str,
                }
                frame(out, "token", &Token { text: t });
            }
            ModelEvent::ToolCall(d) => d.apply_to(&mut self.calls),
            _ => {}
        }
    }

    fn stream_end(&mut self, end: &StreamEnd, meta: &AnswerMeta<'_>, out: &mut Vec<u8>) {
        let (finish, usage) = match end {
            &StreamEnd::Finished { finish, usage } => {
                for c in &self.calls {
                    frame(out, "tool_call", &WireToolCall::from(c));
                }
                (finish.as_str(), usage)
            }
            StreamEnd::Failed {
                code,
                message,
                usage,
            } => {
                frame(
                    out,
                    "error",
                    &json!({ "code": code, "message": message, "traceId": meta.trace_id }),
                );
                ("error", *usage)
            }
        };
        frame(
            out,
            "done",
            &Done {
                finish,
                model: meta.model,
                fallback: meta.fallback,
                usage,
                latency_ms: meta.latency_ms,
                ttft_ms: meta.ttft_ms,
                trace_id: meta.trace_id,
                session_id: meta.session_id,
                history_messages: meta.history_messages,
                max_tokens_reduced: meta.max_tokens_reduced,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{FinishReason, ToolCallDelta};

    const META: AnswerMeta<'static> = AnswerMeta {
        model: "m",
        fallback: true,
        trace_id: "t",
        session_id: Some("s"),
        created_s: 1,
        latency_ms: 10,
        ttft_ms: Some(4),
        history_messages: None,
        max_tokens_reduced: None,
        sources: None,
    };
    const USAGE: TokenReport = TokenReport {
        prompt: 1,
        completion: 2,
        total: 3,
        estimated: false,
        cached: 0,
        cost: crate::usage::Cost::Known(1234),
    };

    fn run(events: &[ModelEvent], end: StreamEnd) -> String {
        let mut e = NativeEncoder::default();
        let mut out = Vec::new();
        e.stream_start(&META, &mut out);
        for ev in events {
            e.stream_event(ev, &mut out);
        }
        e.stream_end(&end, &META, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_stream_with_text_and_a_tool_call() {
        let delta = |id: Option<&str>, name: Option<&str>, args: &str| {
            ModelEvent::ToolCall(ToolCallDelta {
                index: 0,
                id: id.map(Into::into),
                name: name.map(Into::into),
                arguments: args.into(),
            })
        };
        let got = run(
            &[
                ModelEvent::Text("a\nb".into()),
                delta(Some("c1"), Some("f"), "{\"x\""),
                delta(None, None, ":1}"),
            ],
            StreamEnd::Finished {
                finish: FinishReason::ToolCalls,
                usage: USAGE,
            },
        );
        assert_eq!(
            got,
            concat!(
                "event: token\ndata: {\"text\":\"a\\nb\"}\n\n",
                "event: tool_call\ndata: {\"id\":\"c1\",\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}\n\n",
                "event: done\ndata: {\"finish\":\"tool_calls\",\"model\":\"m\",\"fallback\":true,\"usage\":{\"prompt\":1,\"completion\":2,\"total\":3,\"estimated\":false,\"costUsd\":\"0.001234\"},\"latencyMs\":10,\"ttftMs\":4,\"traceId\":\"t\",\"sessionId\":\"s\"}\n\n",
            )
        );
    }

    #[test]
    fn a_failed_stream_ends_with_a_generic_error_then_done() {
        let got = run(
            &[ModelEvent::Text("secret answer".into())],
            StreamEnd::Failed {
                code: "ai_error",
                message: crate::surface::MID_STREAM_FAILURE.into(),
                usage: USAGE,
            },
        );
        let error = got
            .split("\n\n")
            .find(|e| e.starts_with("event: error"))
            .unwrap();
        assert!(!error.contains("secret"));
        assert!(error.contains("\"code\":\"ai_error\""));
        assert!(got.contains("event: done\ndata: {\"finish\":\"error\""));
    }

    #[test]
    fn a_whole_answer() {
        let a = Answer {
            text: "hi".into(),
            reasoning: String::new(),
            tool_calls: vec![ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }],
            finish: FinishReason::ToolCalls,
            usage: USAGE,
        };
        let v = NativeEncoder::default().answer(&a, &META);
        assert_eq!(
            v["toolCalls"],
            json!([{"id":"c","name":"f","arguments":"{}"}])
        );
        assert_eq!(
            (v["finish"].as_str(), v["sessionId"].as_str()),
            (Some("tool_calls"), Some("s"))
        );
    }
}
