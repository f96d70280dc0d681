//! Tests of the OpenAI encoder: chunk sequences and whole answers, from literal JSON.

use serde_json::json;

use super::*;
use crate::conversation::ToolCall;
use crate::events::{FinishReason, ToolCallDelta};

const META: AnswerMeta<'static> = AnswerMeta {
    model: "m",
    fallback: false,
    trace_id: "t1",
    session_id: None,
    created_s: 1700000000,
    latency_ms: 5,
    ttft_ms: Some(2),
    history_messages: None,
    max_tokens_reduced: None,
    sources: None,
};
const USAGE: TokenReport = TokenReport {
    prompt: 3,
    completion: 2,
    total: 5,
    estimated: false,
    cached: 0,
    cost: crate::usage::Cost::Known(0),
};

/// The `data:` payloads of a stream, parsed (`[DONE]` kept as a string).
fn payloads(include_usage: bool, events: &[ModelEvent], end: StreamEnd) -> Vec<Value> {
    let mut e = OpenAiEncoder::new(include_usage);
    let mut out = Vec::new();
    e.stream_start(&META, &mut out);
    for ev in events {
        e.stream_event(ev, &mut out);
    }
    e.stream_end(&end, &META, &mut out);
    String::from_utf8(out)
        .unwrap()
        .split("\n\n")
        .filter(|s| !s.is_empty())
        .map(|s| {
            let data = s
                .strip_prefix("data: ")
                .expect("every event is a data line");
            serde_json::from_str(data).unwrap_or_else(|_| Value::from(data))
        })
        .collect()
}

#[test]
fn a_text_stream_with_usage() {
    let p = payloads(
        true,
        &[
            ModelEvent::Text("Hel".into()),
            ModelEvent::Text("lo".into()),
        ],
        StreamEnd::Finished {
            finish: FinishReason::Stop,
            usage: USAGE,
        },
    );
    let chunk = |delta: Value, finish: Value| json!({"id":"chatcmpl-t1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":delta,"finish_reason":finish}]});
    assert_eq!(
        p,
        vec![
            chunk(json!({"role":"assistant","content":""}), Value::Null),
            chunk(json!({"content":"Hel"}), Value::Null),
            chunk(json!({"content":"lo"}), Value::Null),
            chunk(json!({}), json!("stop")),
            json!({"id":"chatcmpl-t1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}),
            json!("[DONE]"),
        ]
    );
    // Without include_usage there is no usage chunk.
    let p = payloads(
        false,
        &[],
        StreamEnd::Finished {
            finish: FinishReason::Length,
            usage: USAGE,
        },
    );
    assert_eq!(p.len(), 3);
    assert_eq!(p[1]["choices"][0]["finish_reason"], "length");
}

#[test]
fn tool_call_deltas_keep_index_id_and_pieces() {
    let d = |id: Option<&str>, name: Option<&str>, args: &str| {
        ModelEvent::ToolCall(ToolCallDelta {
            index: 1,
            id: id.map(Into::into),
            name: name.map(Into::into),
            arguments: args.into(),
        })
    };
    let p = payloads(
        false,
        &[d(Some("c1"), Some("f"), ""), d(None, None, "{}")],
        StreamEnd::Finished {
            finish: FinishReason::ToolCalls,
            usage: USAGE,
        },
    );
    assert_eq!(
        p[1]["choices"][0]["delta"],
        json!({"tool_calls":[{"index":1,"id":"c1","type":"function","function":{"name":"f","arguments":""}}]})
    );
    assert_eq!(
        p[2]["choices"][0]["delta"],
        json!({"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]})
    );
    assert_eq!(p[3]["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn a_failure_ends_with_an_error_and_no_done() {
    let p = payloads(
        true,
        &[ModelEvent::Text("secret".into())],
        StreamEnd::Failed {
            code: "ai_timeout",
            message: crate::surface::MID_STREAM_FAILURE.into(),
            usage: USAGE,
        },
    );
    let last = p.last().unwrap();
    assert_eq!(last["error"]["code"], "ai_timeout");
    assert_eq!(last["error"]["type"], "api_error");
    assert!(!last.to_string().contains("secret"));
    assert!(!p.contains(&json!("[DONE]")));
}

#[test]
fn a_whole_answer() {
    let a = Answer {
        text: String::new(),
        reasoning: String::new(),
        tool_calls: vec![ToolCall {
            id: "c".into(),
            name: "f".into(),
            arguments: "{}".into(),
        }],
        finish: FinishReason::ToolCalls,
        usage: USAGE,
    };
    assert_eq!(
        OpenAiEncoder::new(false).answer(&a, &META),
        json!({"id":"chatcmpl-t1","object":"chat.completion","created":1700000000,"model":"m",
               "choices":[{"index":0,"message":{"role":"assistant","content":null,
                 "tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],
               "usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})
    );
    let a = Answer {
        text: "hi".into(),
        reasoning: String::new(),
        tool_calls: vec![],
        finish: FinishReason::Stop,
        usage: USAGE,
    };
    assert_eq!(
        OpenAiEncoder::new(false).answer(&a, &META)["choices"][0]["message"],
        json!({"role":"assistant","content":"hi"})
    );
}

/// A chunk is written as its cached head plus the delta; the bytes are those of serializing
/// the whole chunk in field order, also for ids and model names that need escaping.
#[test]
fn chunks_are_the_bytes_of_the_whole_chunk() {
    #[derive(Serialize)]
    struct Chunk<'a, D: Serialize> {
        id: &'a str,
        object: &'static str,
        created: u64,
        model: &'a str,
        choices: [Choice<D>; 1],
    }
    #[derive(Serialize)]
    struct Choice<D: Serialize> {
        index: u32,
        delta: D,
        finish_reason: Option<&'static str>,
    }
    let meta = AnswerMeta {
        model: "we\"ird/mödel\\1",
        trace_id: "t\u{1}2",
        ..META
    };
    let mut e = OpenAiEncoder::new(false);
    let mut out = Vec::new();
    e.stream_start(&meta, &mut out);
    e.stream_event(&ModelEvent::Text("a \"q\" \n 🌍".into()), &mut out);
    e.stream_end(
        &StreamEnd::Finished {
            finish: FinishReason::Length,
            usage: USAGE,
        },
        &meta,
        &mut out,
    );
    #[derive(Serialize)]
    struct RoleDelta {
        role: &'static str,
        content: &'static str,
    }
    fn line<D: Serialize>(meta: &AnswerMeta<'_>, delta: D, finish: Option<&'static str>) -> String {
        let chunk = Chunk {
            id: &completion_id(meta.trace_id),
            object: "chat.completion.chunk",
            created: meta.created_s,
            model: meta.model,
            choices: [Choice {
                index: 0,
                delta,
                finish_reason: finish,
            }],
        };
        format!("data: {}\n\n", serde_json::to_string(&chunk).unwrap())
    }
    let want = [
        line(
            &meta,
            RoleDelta {
                role: "assistant",
                content: "",
            },
            None,
        ),
        line(&meta, json!({"content": "a \"q\" \n 🌍"}), None),
        line(&meta, json!({}), Some("length")),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    assert_eq!(String::from_utf8(out).unwrap(), want);
}

#[test]
fn error_types_follow_the_status() {
    let t = |status| error_type(&Problem::new(status, "x", "m"));
    assert_eq!(t(401), "authentication_error");
    assert_eq!(t(403), "permission_error");
    assert_eq!(t(429), "rate_limit_error");
    for status in [500, 502, 503, 504, 529] {
        assert_eq!(t(status), "api_error", "{status}");
    }
    for status in [400, 404, 413, 422] {
        assert_eq!(t(status), "invalid_request_error", "{status}");
    }
    let body = error_body(&Problem::new(401, "unauthorized", "no key"), "t1");
    assert_eq!(
        body,
        json!({"error": {"message": "no key", "type": "authentication_error", "param": null, "code": "unauthorized"}})
    );
}
