//! Tests of the Anthropic Messages encoder: event sequences as the SDKs read them, whole messages, errors and model lists.

use serde_json::json;

use super::*;
use crate::conversation::ToolCall;
use crate::events::ToolCallDelta;

const META: AnswerMeta<'static> = AnswerMeta {
    model: "m",
    fallback: false,
    trace_id: "t1",
    session_id: None,
    created_s: 1700000000,
    latency_ms: 9,
    ttft_ms: Some(3),
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

fn finished(finish: FinishReason) -> StreamEnd {
    StreamEnd::Finished {
        finish,
        usage: USAGE,
    }
}

fn raw(events: &[ModelEvent], end: StreamEnd) -> String {
    let mut e = AnthropicEncoder::new(message_id("t1"));
    let mut out = Vec::new();
    e.stream_start(&META, &mut out);
    for ev in events {
        e.stream_event(ev, &mut out);
    }
    e.stream_end(&end, &META, &mut out);
    String::from_utf8(out).unwrap()
}

/// The stream's events, checked the way the SDKs' `MessageStream` reads them: every event
/// named (and named as its `type`), `message_start` first, blocks started in index order,
/// deltas only to started and unstopped blocks of their kind, every block stopped before
/// `message_delta`, which carries `usage.output_tokens`.
fn events(events: &[ModelEvent], end: StreamEnd) -> Vec<Value> {
    let text = raw(events, end);
    let mut kinds: Vec<String> = Vec::new();
    let mut stopped: Vec<bool> = Vec::new();
    let mut out = Vec::new();
    for (n, block) in text.split_terminator("\n\n").enumerate() {
        let (name, data) = block
            .strip_prefix("event: ")
            .and_then(|b| b.split_once("\ndata: "))
            .expect("an event line and a data line");
        let v: Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["type"], name, "{block}");
        if n == 0 {
            assert_eq!(name, "message_start");
        }
        let index = v["index"].as_u64().map(|i| i as usize);
        match name {
            "content_block_start" => {
                assert_eq!(index, Some(kinds.len()), "blocks start in index order");
                kinds.push(v["content_block"]["type"].as_str().unwrap().to_string());
                stopped.push(false);
            }
            "content_block_delta" => {
                let i = index.unwrap();
                assert!(i < kinds.len() && !stopped[i], "{block}");
                let want = if kinds[i] == "text" {
                    "text_delta"
                } else {
                    "input_json_delta"
                };
                assert_eq!(v["delta"]["type"], want);
            }
            "content_block_stop" => {
                let i = index.unwrap();
                assert!(!stopped[i], "stopped twice: {block}");
                stopped[i] = true;
            }
            "message_delta" => {
                assert!(stopped.iter().all(|s| *s), "every block stopped first");
                assert!(v["usage"]["output_tokens"].is_u64());
            }
            _ => {}
        }
        out.push(v);
    }
    out
}

fn text(s: &str) -> ModelEvent {
    ModelEvent::Text(s.into())
}

fn call(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> ModelEvent {
    ModelEvent::ToolCall(ToolCallDelta {
        index,
        id: id.map(Into::into),
        name: name.map(Into::into),
        arguments: args.into(),
    })
}

fn start() -> [Value; 2] {
    [
        json!({"type":"message_start","message":{"id":"msg_t1","type":"message","role":"assistant","content":[],
            "model":"m","stop_reason":null,"stop_sequence":null,
            "usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}),
        json!({"type":"ping"}),
    ]
}

fn end(stop: &str) -> [Value; 2] {
    [
        json!({"type":"message_delta","delta":{"stop_reason":stop,"stop_sequence":null},
            "usage":{"input_tokens":3,"output_tokens":2}}),
        json!({"type":"message_stop"}),
    ]
}

#[test]
fn a_text_stream() {
    let got = events(
        &[
            text("Hello"),
            text(""),
            text("!"),
            ModelEvent::Usage(crate::usage::Usage::default()),
            ModelEvent::Finish(FinishReason::Stop),
            ModelEvent::Done,
            ModelEvent::Reasoning("not shown".into()),
        ],
        finished(FinishReason::Stop),
    );
    let mut want = start().to_vec();
    want.extend([
        json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}),
        json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}),
        json!({"type":"content_block_stop","index":0}),
    ]);
    want.extend(end("end_turn"));
    assert_eq!(got, want);
}

#[test]
fn deltas_are_framed_byte_for_byte() {
    let got = raw(
        &[text("a\"b"), call(0, Some("c"), Some("f"), "{\"x\"")],
        finished(FinishReason::ToolCalls),
    );
    assert!(got.contains(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\\\"b\"}}\n\n"
    ), "{got}");
    assert!(got.contains(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"x\\\"\"}}\n\n"
    ), "{got}");
    assert!(got.starts_with("event: message_start\ndata: "));
    assert!(got.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
}

#[test]
fn tool_use_blocks() {
    let got = events(
        &[
            text("Checking."),
            call(1, Some("toolu_b"), None, "[1"),
            call(0, Some("toolu_a"), Some("get"), "{\"city\""),
            call(0, None, None, ": \"Paris\"}"),
            call(0, None, None, ""),
            call(1, None, Some("other"), ",2]"),
            call(2, None, None, ""),
            text("more"),
        ],
        finished(FinishReason::ToolCalls),
    );
    let mut want = start().to_vec();
    want.extend([
        json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}),
        json!({"type":"content_block_stop","index":0}),
        json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"get","input":{}}}),
        json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\""}}),
        json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":": \"Paris\"}"}}),
        json!({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_b","name":"other","input":{}}}),
        json!({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"[1,2]"}}),
        json!({"type":"content_block_start","index":3,"content_block":{"type":"text","text":""}}),
        json!({"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"more"}}),
        json!({"type":"content_block_stop","index":3}),
        json!({"type":"content_block_start","index":4,"content_block":{"type":"tool_use","id":"call_2","name":"","input":{}}}),
        json!({"type":"content_block_stop","index":1}),
        json!({"type":"content_block_stop","index":2}),
        json!({"type":"content_block_stop","index":4}),
    ]);
    want.extend(end("tool_use"));
    assert_eq!(got, want);
}

#[test]
fn stop_reasons() {
    for (f, want) in [
        (FinishReason::Stop, "end_turn"),
        (FinishReason::Length, "max_tokens"),
        (FinishReason::ToolCalls, "tool_use"),
        (FinishReason::ContentFilter, "refusal"),
    ] {
        assert_eq!(stop_reason(f), want);
        let got = events(&[], finished(f));
        let mut expected = start().to_vec();
        expected.extend(end(want));
        assert_eq!(got, expected);
    }
}

#[test]
fn a_failure_is_an_error_event_and_no_message_stop() {
    let got = raw(
        &[text("secret"), call(0, Some("c"), Some("f"), "{")],
        StreamEnd::Failed {
            code: "ai_error",
            message: crate::surface::MID_STREAM_FAILURE.into(),
            usage: USAGE,
        },
    );
    let last = got.split_terminator("\n\n").last().unwrap();
    let data = last.strip_prefix("event: error\ndata: ").unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(data).unwrap(),
        json!({"type":"error","error":{"type":"api_error","message":crate::surface::MID_STREAM_FAILURE}})
    );
    assert!(!got.contains("message_stop") && !got.contains("message_delta"));
    assert!(!last.contains("secret"));
    let got = events(
        &[],
        StreamEnd::Failed {
            code: "no_model",
            message: "every model failed".into(),
            usage: USAGE,
        },
    );
    assert_eq!(got.len(), 3);
}

#[test]
fn whole_messages() {
    let answer = |text: &str, calls: Vec<ToolCall>, finish| Answer {
        text: text.into(),
        reasoning: "hidden".into(),
        tool_calls: calls,
        finish,
        usage: USAGE,
    };
    let e = AnthropicEncoder::new("msg_1".into());
    assert_eq!(
        e.answer(&answer("Hi!", vec![], FinishReason::Stop), &META),
        json!({"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hi!"}],
            "model":"m","stop_reason":"end_turn","stop_sequence":null,
            "usage":{"input_tokens":3,"output_tokens":2,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}})
    );
    let calls = vec![
        ToolCall {
            id: "toolu_1".into(),
            name: "get".into(),
            arguments: "{\"city\":\"Paris\"}".into(),
        },
        ToolCall {
            id: "toolu_2".into(),
            name: "noop".into(),
            arguments: String::new(),
        },
    ];
    let got = e.answer(&answer("", calls.clone(), FinishReason::ToolCalls), &META);
    assert_eq!(
        got["content"],
        json!([{"type":"tool_use","id":"toolu_1","name":"get","input":{"city":"Paris"}},
               {"type":"tool_use","id":"toolu_2","name":"noop","input":{}}])
    );
    assert_eq!(got["stop_reason"], "tool_use");
    let got = e.answer(&answer("Let me see.", calls, FinishReason::Length), &META);
    assert_eq!(
        got["content"][0],
        json!({"type":"text","text":"Let me see."})
    );
    assert_eq!(got["content"].as_array().unwrap().len(), 3);
    assert_eq!(got["stop_reason"], "max_tokens");
    let got = e.answer(&answer("", vec![], FinishReason::ContentFilter), &META);
    assert_eq!(got["content"], json!([{"type":"text","text":""}]));
    assert_eq!(got["stop_reason"], "refusal");
}

#[test]
fn error_bodies() {
    for (status, kind) in [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
    ] {
        let p = Problem::new(status, "code", "what went wrong");
        assert_eq!(
            error_body(&p, "t9"),
            json!({"type":"error","error":{"type":kind,"message":"what went wrong"},"request_id":"t9"}),
            "{status}"
        );
    }
    let refusal = budget::Refusal {
        window: budget::BudgetWindow::Daily,
        unit: budget::Unit::Tokens,
        limit: 10,
        used: 9,
        requested: 5,
        resets_at: "2030-01-02T00:00:00Z".into(),
        retry_after_secs: 60,
    };
    let p = Problem {
        budget: Some((refusal.clone(), "key")),
        ..Problem::new(429, "budget_exceeded", "over budget")
    };
    let body = error_body(&p, "t");
    let mut want = json!(refusal);
    want["scope"] = "key".into();
    assert_eq!(body["error"]["budget"], want);
    assert_eq!(body["error"]["type"], "rate_limit_error");
}

#[test]
fn model_lists() {
    assert_eq!(
        models_body(&[]),
        json!({"data":[],"has_more":false,"first_id":null,"last_id":null})
    );
    let models = [
        ("fast".to_string(), "Fast".to_string()),
        ("@cf/meta/llama".to_string(), "Llama".to_string()),
    ];
    assert_eq!(
        models_body(&models),
        json!({"data":[
            {"type":"model","id":"fast","display_name":"Fast","created_at":"1970-01-01T00:00:00Z"},
            {"type":"model","id":"@cf/meta/llama","display_name":"Llama","created_at":"1970-01-01T00:00:00Z"}],
          "has_more":false,"first_id":"fast","last_id":"@cf/meta/llama"})
    );
    assert_eq!(message_id("abc"), "msg_abc");
}
