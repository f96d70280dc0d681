//! Tests of the UI message stream encoder: part sequences, byte-exact and parsed, and whole answers.

use serde_json::json;

use super::*;
use crate::conversation::ToolCall;
use crate::events::ToolCallDelta;
use crate::problem::Problem;

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
    cost: crate::usage::Cost::Known(1234),
};

fn finished(finish: FinishReason) -> StreamEnd {
    StreamEnd::Finished {
        finish,
        usage: USAGE,
    }
}

fn stream(meta: &AnswerMeta<'_>, events: &[ModelEvent], end: StreamEnd) -> String {
    let mut e = UiEncoder::new("msg-1".into());
    let mut out = Vec::new();
    e.stream_start(meta, &mut out);
    for ev in events {
        e.stream_event(ev, &mut out);
    }
    e.stream_end(&end, meta, &mut out);
    String::from_utf8(out).unwrap()
}

/// The `data:` payloads of a stream, parsed; `[DONE]` kept as a string.
fn parts(events: &[ModelEvent], end: StreamEnd) -> Vec<Value> {
    stream(&META, events, end)
        .split("\n\n")
        .filter(|s| !s.is_empty())
        .map(|s| {
            let data = s.strip_prefix("data: ").expect("only data lines");
            serde_json::from_str(data).unwrap_or_else(|_| Value::from(data))
        })
        .collect()
}

fn text(s: &str) -> ModelEvent {
    ModelEvent::Text(s.into())
}

fn reasoning(s: &str) -> ModelEvent {
    ModelEvent::Reasoning(s.into())
}

fn call(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> ModelEvent {
    ModelEvent::ToolCall(ToolCallDelta {
        index,
        id: id.map(Into::into),
        name: name.map(Into::into),
        arguments: args.into(),
    })
}

fn usage_part() -> Value {
    json!({"type":"data-usage","data":{"usage":{"prompt":3,"completion":2,"total":5,"estimated":false,"costUsd":"0.001234"},
        "model":"m","fallback":false,"traceId":"t1","latencyMs":9,"ttftMs":3}})
}

#[test]
fn a_text_stream_byte_for_byte() {
    let got = stream(
        &META,
        &[
            text("Hel"),
            text("lo \"q\"\n"),
            ModelEvent::Usage(crate::usage::Usage::default()),
            ModelEvent::Finish(FinishReason::Stop),
            ModelEvent::Done,
        ],
        finished(FinishReason::Stop),
    );
    assert_eq!(
        got,
        concat!(
            "data: {\"type\":\"start\",\"messageId\":\"msg-1\"}\n\n",
            "data: {\"type\":\"start-step\"}\n\n",
            "data: {\"type\":\"text-start\",\"id\":\"txt-0\"}\n\n",
            "data: {\"type\":\"text-delta\",\"id\":\"txt-0\",\"delta\":\"Hel\"}\n\n",
            "data: {\"type\":\"text-delta\",\"id\":\"txt-0\",\"delta\":\"lo \\\"q\\\"\\n\"}\n\n",
            "data: {\"type\":\"text-end\",\"id\":\"txt-0\"}\n\n",
            "data: {\"type\":\"finish-step\"}\n\n",
            "data: {\"type\":\"data-usage\",\"data\":{\"usage\":{\"prompt\":3,\"completion\":2,\"total\":5,\"estimated\":false,\"costUsd\":\"0.001234\"},\"model\":\"m\",\"fallback\":false,\"traceId\":\"t1\",\"latencyMs\":9,\"ttftMs\":3}}\n\n",
            "data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\n",
            "data: [DONE]\n\n",
        )
    );
}

#[test]
fn reasoning_text_and_tool_calls_take_turns() {
    let p = parts(
        &[
            reasoning("think"),
            reasoning(""),
            reasoning("ing"),
            text("A"),
            text(""),
            reasoning("again"),
            text("B"),
            call(0, Some("c0"), Some("get"), "{\"city\""),
            call(0, None, None, ":\"Oslo\"}"),
            call(1, Some("c1"), Some("other"), ""),
            call(1, None, None, ""),
            text("after"),
        ],
        finished(FinishReason::ToolCalls),
    );
    assert_eq!(
        p,
        vec![
            json!({"type":"start","messageId":"msg-1"}),
            json!({"type":"start-step"}),
            json!({"type":"reasoning-start","id":"rsn-0"}),
            json!({"type":"reasoning-delta","id":"rsn-0","delta":"think"}),
            json!({"type":"reasoning-delta","id":"rsn-0","delta":"ing"}),
            json!({"type":"reasoning-end","id":"rsn-0"}),
            json!({"type":"text-start","id":"txt-1"}),
            json!({"type":"text-delta","id":"txt-1","delta":"A"}),
            json!({"type":"text-end","id":"txt-1"}),
            json!({"type":"reasoning-start","id":"rsn-2"}),
            json!({"type":"reasoning-delta","id":"rsn-2","delta":"again"}),
            json!({"type":"reasoning-end","id":"rsn-2"}),
            json!({"type":"text-start","id":"txt-3"}),
            json!({"type":"text-delta","id":"txt-3","delta":"B"}),
            json!({"type":"text-end","id":"txt-3"}),
            json!({"type":"tool-input-start","toolCallId":"c0","toolName":"get"}),
            json!({"type":"tool-input-delta","toolCallId":"c0","inputTextDelta":"{\"city\""}),
            json!({"type":"tool-input-delta","toolCallId":"c0","inputTextDelta":":\"Oslo\"}"}),
            json!({"type":"tool-input-start","toolCallId":"c1","toolName":"other"}),
            json!({"type":"text-start","id":"txt-4"}),
            json!({"type":"text-delta","id":"txt-4","delta":"after"}),
            json!({"type":"text-end","id":"txt-4"}),
            json!({"type":"tool-input-available","toolCallId":"c0","toolName":"get","input":{"city":"Oslo"}}),
            json!({"type":"tool-input-available","toolCallId":"c1","toolName":"other","input":{}}),
            json!({"type":"finish-step"}),
            usage_part(),
            json!({"type":"finish","finishReason":"tool-calls"}),
            json!("[DONE]"),
        ]
    );
}

#[test]
fn a_call_without_a_name_yet_waits_and_calls_end_in_index_order() {
    let p = parts(
        &[
            call(1, Some("b"), Some("second"), "[1"),
            call(0, Some("a"), None, "{\"x\""),
            call(0, None, Some("first"), ":1}"),
            call(1, None, None, ",2]"),
            call(2, None, None, "not json"),
        ],
        finished(FinishReason::ToolCalls),
    );
    assert_eq!(
        p[2..9],
        [
            json!({"type":"tool-input-start","toolCallId":"b","toolName":"second"}),
            json!({"type":"tool-input-delta","toolCallId":"b","inputTextDelta":"[1"}),
            json!({"type":"tool-input-start","toolCallId":"a","toolName":"first"}),
            json!({"type":"tool-input-delta","toolCallId":"a","inputTextDelta":"{\"x\":1}"}),
            json!({"type":"tool-input-delta","toolCallId":"b","inputTextDelta":",2]"}),
            json!({"type":"tool-input-available","toolCallId":"a","toolName":"first","input":{"x":1}}),
            json!({"type":"tool-input-available","toolCallId":"b","toolName":"second","input":[1,2]}),
        ]
    );
    // A call that never got a name is still made available at the end, with its raw text.
    assert_eq!(
        p[9],
        json!({"type":"tool-input-available","toolCallId":"call_2","toolName":"","input":"not json"})
    );
    assert_eq!(p[10], json!({"type":"finish-step"}));
}

#[test]
fn every_finish_reason_is_one_the_client_accepts() {
    for (f, want) in [
        (FinishReason::Stop, "stop"),
        (FinishReason::Length, "length"),
        (FinishReason::ToolCalls, "tool-calls"),
        (FinishReason::ContentFilter, "content-filter"),
    ] {
        let p = parts(&[], finished(f));
        assert_eq!(
            p,
            vec![
                json!({"type":"start","messageId":"msg-1"}),
                json!({"type":"start-step"}),
                json!({"type":"finish-step"}),
                usage_part(),
                json!({"type":"finish","finishReason":want}),
                json!("[DONE]"),
            ]
        );
    }
}

#[test]
fn a_reduced_cap_is_reported_with_the_usage() {
    let meta = AnswerMeta {
        max_tokens_reduced: Some(100),
        sources: None,
        ttft_ms: None,
        ..META
    };
    let got = stream(&meta, &[], finished(FinishReason::Length));
    let usage = got
        .split("\n\n")
        .find(|s| s.contains("data-usage"))
        .unwrap();
    let v: Value = serde_json::from_str(usage.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(v["data"]["maxTokensReduced"], 100);
    assert_eq!(v["data"]["ttftMs"], Value::Null);
}

#[test]
fn a_failed_stream_ends_with_an_error_part_and_no_finish() {
    let p = parts(
        &[text("secret answer"), call(0, Some("c"), Some("f"), "{")],
        StreamEnd::Failed {
            code: "ai_error",
            message: crate::surface::MID_STREAM_FAILURE.into(),
            usage: USAGE,
        },
    );
    assert_eq!(
        p[p.len() - 2..],
        [
            json!({"type":"error","errorText":crate::surface::MID_STREAM_FAILURE}),
            json!("[DONE]"),
        ]
    );
    assert!(!p.iter().any(|v| v["type"] == "finish"
        || v["type"] == "tool-input-available"
        || v["type"] == "data-usage"));
    assert!(!p[p.len() - 2].to_string().contains("secret"));
    // Failing before any output: the opening, the error, the end.
    let p = parts(
        &[],
        StreamEnd::Failed {
            code: "no_model",
            message: "every model failed".into(),
            usage: USAGE,
        },
    );
    assert_eq!(p.len(), 4);
    assert_eq!(
        p[2],
        json!({"type":"error","errorText":"every model failed"})
    );
}

#[test]
fn a_whole_answer_is_the_assistant_ui_message() {
    let a = Answer {
        text: "It is sunny.".into(),
        reasoning: "check".into(),
        tool_calls: vec![
            ToolCall {
                id: "c1".into(),
                name: "weather".into(),
                arguments: "{\"city\":\"Oslo\"}".into(),
            },
            ToolCall {
                id: "c2".into(),
                name: "noop".into(),
                arguments: String::new(),
            },
        ],
        finish: FinishReason::ToolCalls,
        usage: USAGE,
    };
    let meta = AnswerMeta {
        max_tokens_reduced: Some(7),
        sources: None,
        ..META
    };
    assert_eq!(
        UiEncoder::new("a1".into()).answer(&a, &meta),
        json!({"id":"a1","role":"assistant","parts":[
            {"type":"step-start"},
            {"type":"reasoning","text":"check","state":"done"},
            {"type":"text","text":"It is sunny.","state":"done"},
            {"type":"tool-weather","toolCallId":"c1","state":"input-available","input":{"city":"Oslo"}},
            {"type":"tool-noop","toolCallId":"c2","state":"input-available","input":{}}],
          "metadata":{"usage":{"prompt":3,"completion":2,"total":5,"estimated":false,"costUsd":"0.001234"},"model":"m",
            "fallback":false,"traceId":"t1","latencyMs":9,"ttftMs":3,"maxTokensReduced":7,
            "finishReason":"tool-calls"}})
    );
    let empty = Answer {
        text: String::new(),
        reasoning: String::new(),
        tool_calls: vec![],
        finish: FinishReason::Stop,
        usage: USAGE,
    };
    assert_eq!(answer_parts(&empty), vec![json!({"type":"step-start"})]);
}

#[test]
fn ids_header_and_errors() {
    assert_eq!(message_id("abc-123"), "msg-abc-123");
    assert_eq!(STREAM_HEADER, ("x-vercel-ai-ui-message-stream", "v1"));
    let p = Problem::new(400, "invalid_request", "messages: must not be empty");
    assert_eq!(
        error_body(&p, "t9"),
        json!({"error":{"code":"invalid_request","message":"messages: must not be empty","traceId":"t9"}})
    );
}
