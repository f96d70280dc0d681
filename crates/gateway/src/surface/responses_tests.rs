//! Tests of the Responses encoder: event sequences as the SDK stream helpers check them, and whole responses.

use std::collections::BTreeSet;

use serde_json::{json, Map};

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
    cost: crate::usage::Cost::Known(0),
};

fn finished(finish: FinishReason) -> StreamEnd {
    StreamEnd::Finished {
        finish,
        usage: USAGE,
    }
}

fn encoder() -> ResponsesEncoder {
    ResponsesEncoder::new(response_id("t1"), Echo::default())
}

fn raw(e: &mut ResponsesEncoder, events: &[ModelEvent], end: StreamEnd) -> String {
    let mut out = Vec::new();
    e.stream_start(&META, &mut out);
    for ev in events {
        e.stream_event(ev, &mut out);
    }
    e.stream_end(&end, &META, &mut out);
    String::from_utf8(out).unwrap()
}

/// The stream's events, checked the way the Python SDK's `responses.stream()` checks them
/// (first `response.created`, one response id, output indexes in push order and unique, no
/// content before its item, every item done before `response.completed`), each with its
/// `event:` name equal to its `type` and `sequence_number` counting from 0; returned without
/// `sequence_number`.
fn events(events: &[ModelEvent], end: StreamEnd) -> Vec<Value> {
    let text = raw(&mut encoder(), events, end);
    let mut added = Vec::new();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for (n, block) in text.split_terminator("\n\n").enumerate() {
        let (name, data) = block
            .strip_prefix("event: ")
            .and_then(|b| b.split_once("\ndata: "))
            .expect("an event line and a data line");
        let mut v: Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["type"], name, "{block}");
        assert_eq!(v["sequence_number"], n, "{block}");
        assert!(v.get("error").is_none(), "no top-level error key: {block}");
        if n == 0 {
            assert_eq!(name, "response.created");
        }
        if let Some(r) = v.get("response") {
            assert_eq!(r["id"], "resp_t1");
        }
        if let Some(i) = v["output_index"].as_u64() {
            let i = i as usize;
            if name == "response.output_item.added" {
                assert_eq!(i, added.len(), "output indexes in push order");
                added.push(v["item"]["id"].clone());
            } else {
                assert!(i < added.len(), "content before its item: {block}");
                assert!(
                    !done.contains(&i),
                    "content after its item was done: {block}"
                );
                if let Some(id) = v.get("item_id") {
                    assert_eq!(*id, added[i]);
                }
            }
            if name == "response.output_item.done" {
                assert_eq!(v["item"]["id"], added[i]);
                done.insert(i);
            }
        }
        if name == "response.completed" || name == "response.incomplete" {
            assert_eq!(done.len(), added.len(), "every item done at the end");
            let ids: Vec<&Value> = v["response"]["output"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| &i["id"])
                .collect();
            assert_eq!(ids, added.iter().collect::<Vec<_>>());
        }
        v.as_object_mut().unwrap().remove("sequence_number");
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

/// The response object of `Echo::default()` with this status and output.
fn response(status: &str, output: Value) -> Value {
    json!({"id":"resp_t1","object":"response","created_at":1700000000,"status":status,"error":null,
        "incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"m","output":output,
        "parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},
        "store":false,"temperature":null,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],
        "top_p":null,"truncation":"disabled","usage":null,"user":null,"metadata":{}})
}

fn usage() -> Value {
    json!({"input_tokens":3,"input_tokens_details":{"cached_tokens":0},"output_tokens":2,
        "output_tokens_details":{"reasoning_tokens":0},"total_tokens":5})
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn msg(status: &str, text: &str) -> Value {
    json!({"id":"msg_t1_0","type":"message","status":status,"role":"assistant",
        "content":[{"type":"output_text","text":text,"annotations":[],"logprobs":[]}]})
}

#[test]
fn a_text_stream() {
    let got = events(
        &[
            text("Hi"),
            text(""),
            text(" there"),
            ModelEvent::Usage(crate::usage::Usage::default()),
            ModelEvent::Finish(FinishReason::Stop),
            ModelEvent::Done,
            ModelEvent::Reasoning("not shown".into()),
        ],
        finished(FinishReason::Stop),
    );
    let done = with(
        response("completed", json!([msg("completed", "Hi there")])),
        "usage",
        usage(),
    );
    assert_eq!(
        got,
        vec![
            json!({"type":"response.created","response":response("in_progress", json!([]))}),
            json!({"type":"response.in_progress","response":response("in_progress", json!([]))}),
            json!({"type":"response.output_item.added","output_index":0,
                   "item":{"id":"msg_t1_0","type":"message","status":"in_progress","role":"assistant","content":[]}}),
            json!({"type":"response.content_part.added","item_id":"msg_t1_0","output_index":0,"content_index":0,
                   "part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}}),
            json!({"type":"response.output_text.delta","item_id":"msg_t1_0","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}),
            json!({"type":"response.output_text.delta","item_id":"msg_t1_0","output_index":0,"content_index":0,"delta":" there","logprobs":[]}),
            json!({"type":"response.output_text.done","item_id":"msg_t1_0","output_index":0,"content_index":0,"text":"Hi there","logprobs":[]}),
            json!({"type":"response.content_part.done","item_id":"msg_t1_0","output_index":0,"content_index":0,
                   "part":{"type":"output_text","text":"Hi there","annotations":[],"logprobs":[]}}),
            json!({"type":"response.output_item.done","output_index":0,"item":msg("completed", "Hi there")}),
            json!({"type":"response.completed","response":done}),
        ]
    );
}

#[test]
fn deltas_are_framed_byte_for_byte() {
    let got = raw(
        &mut encoder(),
        &[text("a\"b"), call(0, Some("c"), Some("f"), "{}")],
        finished(FinishReason::ToolCalls),
    );
    assert!(got.contains(concat!(
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":4,",
        "\"item_id\":\"msg_t1_0\",\"output_index\":0,\"content_index\":0,\"delta\":\"a\\\"b\",\"logprobs\":[]}\n\n"
    )), "{got}");
    assert!(got.contains(concat!(
        "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",",
        "\"sequence_number\":9,\"item_id\":\"fc_t1_1\",\"output_index\":1,\"delta\":\"{}\"}\n\n"
    )), "{got}");
    assert!(!got.contains("[DONE]"));
}

#[test]
fn tool_calls_after_text() {
    let got = events(
        &[
            text("Checking."),
            call(1, Some("call_b"), None, "[1"),
            call(0, Some("call_a"), Some("get"), "{\"city\""),
            call(0, None, None, ":\"Oslo\"}"),
            call(0, None, None, ""),
            call(1, None, Some("other"), ",2]"),
            call(2, None, None, "{}"),
        ],
        finished(FinishReason::ToolCalls),
    );
    let names: Vec<&str> = got.iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(
        names[5..],
        [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(
        got[8],
        json!({"type":"response.output_item.added","output_index":1,"item":{"id":"fc_t1_1","type":"function_call",
            "status":"in_progress","arguments":"","call_id":"call_a","name":"get"}})
    );
    assert_eq!(got[10]["delta"], ":\"Oslo\"}");
    // The call named late is announced with everything so far; the unnamed one at the end.
    assert_eq!(got[11]["item"]["call_id"], "call_b");
    assert_eq!(got[12]["delta"], "[1,2]");
    assert_eq!(
        got[13]["item"],
        json!({"id":"fc_t1_3","type":"function_call","status":"in_progress","arguments":"","call_id":"call_2","name":""})
    );
    assert_eq!(
        got[15],
        json!({"type":"response.function_call_arguments.done","item_id":"fc_t1_1","output_index":1,
               "name":"get","arguments":"{\"city\":\"Oslo\"}"})
    );
    let output = &got[21]["response"]["output"];
    assert_eq!(
        output[1],
        json!({"id":"fc_t1_1","type":"function_call","status":"completed","arguments":"{\"city\":\"Oslo\"}","call_id":"call_a","name":"get"})
    );
    assert_eq!(output[2]["arguments"], "[1,2]");
    assert_eq!(output[0], msg("completed", "Checking."));
    assert_eq!(got[21]["response"]["status"], "completed");
}

#[test]
fn a_cut_answer_is_incomplete() {
    for (finish, reason) in [
        (FinishReason::Length, "max_output_tokens"),
        (FinishReason::ContentFilter, "content_filter"),
    ] {
        let got = events(
            &[text("partial"), call(0, Some("c"), Some("f"), "{")],
            finished(finish),
        );
        let last = got.last().unwrap();
        assert_eq!(last["type"], "response.incomplete");
        assert_eq!(last["response"]["status"], "incomplete");
        assert_eq!(
            last["response"]["incomplete_details"],
            json!({ "reason": reason })
        );
        assert_eq!(last["response"]["usage"], usage());
        // The message was closed (completed) when the call began; the call ends incomplete.
        assert_eq!(got[7]["item"]["status"], "completed");
        assert_eq!(got[got.len() - 2]["item"]["status"], "incomplete");
        assert_eq!(last["response"]["output"][1]["status"], "incomplete");
    }
    let got = events(&[text("partial")], finished(FinishReason::Length));
    assert_eq!(got[got.len() - 2]["item"]["status"], "incomplete");
}

#[test]
fn a_failure_is_an_error_event_then_response_failed() {
    let got = events(
        &[text("secret"), call(0, Some("c"), Some("f"), "{")],
        StreamEnd::Failed {
            code: "ai_error",
            message: crate::surface::MID_STREAM_FAILURE.into(),
            usage: USAGE,
        },
    );
    let n = got.len();
    assert_eq!(
        got[n - 2],
        json!({"type":"error","code":"ai_error","message":crate::surface::MID_STREAM_FAILURE,"param":null})
    );
    let failed = &got[n - 1];
    assert_eq!(failed["type"], "response.failed");
    assert_eq!(failed["response"]["status"], "failed");
    assert_eq!(
        failed["response"]["error"],
        json!({"code":"ai_error","message":crate::surface::MID_STREAM_FAILURE})
    );
    assert_eq!(failed["response"]["usage"], usage());
    // The message was done when the call began; the call was not.
    assert_eq!(failed["response"]["output"][0], msg("completed", "secret"));
    assert_eq!(failed["response"]["output"][1]["status"], "incomplete");
    assert!(!got.iter().any(|v| v["type"] == "response.completed"));
    // Failing before any output.
    let got = events(
        &[],
        StreamEnd::Failed {
            code: "no_model",
            message: "every model failed".into(),
            usage: USAGE,
        },
    );
    assert_eq!(got.len(), 4);
    assert_eq!(got[3]["response"]["output"], json!([]));
    // A message being written when the stream failed is incomplete.
    let got = events(
        &[text("half")],
        StreamEnd::Failed {
            code: "ai_timeout",
            message: "m".into(),
            usage: USAGE,
        },
    );
    assert_eq!(
        got.last().unwrap()["response"]["output"],
        json!([msg("incomplete", "half")])
    );
}

#[path = "responses_answer_tests.rs"]
mod answers;
