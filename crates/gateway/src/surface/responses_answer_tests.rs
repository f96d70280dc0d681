//! Tests of whole Responses answers: the response object, its items, what it repeats of the request, ids and error bodies.

use super::*;

#[test]
fn whole_answers() {
    let answer = |text: &str, calls: Vec<ToolCall>, finish| Answer {
        text: text.into(),
        reasoning: "hidden".into(),
        tool_calls: calls,
        finish,
        usage: USAGE,
    };
    let got = encoder().answer(&answer("Hello!", vec![], FinishReason::Stop), &META);
    assert_eq!(
        got,
        with(
            response("completed", json!([msg("completed", "Hello!")])),
            "usage",
            usage()
        )
    );
    let c = ToolCall {
        id: "call_1".into(),
        name: "get".into(),
        arguments: "{\"a\":1}".into(),
    };
    let got = encoder().answer(&answer("", vec![c.clone()], FinishReason::ToolCalls), &META);
    assert_eq!(
        got["output"],
        json!([{"id":"fc_t1_0","type":"function_call","status":"completed","arguments":"{\"a\":1}","call_id":"call_1","name":"get"}])
    );
    let got = encoder().answer(&answer("x", vec![c], FinishReason::Length), &META);
    assert_eq!(got["status"], "incomplete");
    assert_eq!(
        got["incomplete_details"],
        json!({"reason":"max_output_tokens"})
    );
    assert_eq!(got["output"][0], msg("incomplete", "x"));
    assert_eq!(got["output"][1]["id"], "fc_t1_1");
    assert_eq!(got["output"][1]["status"], "incomplete");
    let got = encoder().answer(&answer("", vec![], FinishReason::ContentFilter), &META);
    assert_eq!(
        got["incomplete_details"],
        json!({"reason":"content_filter"})
    );
    assert_eq!(got["output"], json!([msg("incomplete", "")]));
}

#[test]
fn the_response_repeats_the_request() {
    let mut metadata = Map::new();
    metadata.insert("k".into(), "v".into());
    let echo = Echo {
        instructions: Some("Be brief.".into()),
        metadata,
        tools: vec![json!({"type":"function","name":"f"})],
        tool_choice: Some(json!("required")),
        text_format: Some(json!({"type":"json_object"})),
        temperature: Some(0.5),
        top_p: Some(0.9),
        max_output_tokens: Some(64),
        parallel_tool_calls: Some(false),
        truncation: Some("auto".into()),
        user: Some("u".into()),
        previous_response_id: Some("resp_0".into()),
        stored: true,
    };
    let e = ResponsesEncoder::new("resp_x".into(), echo);
    let a = Answer {
        text: "ok".into(),
        reasoning: String::new(),
        tool_calls: vec![],
        finish: FinishReason::Stop,
        usage: USAGE,
    };
    let got = e.answer(&a, &META);
    let want = json!({"id":"resp_x","instructions":"Be brief.","metadata":{"k":"v"},
        "tools":[{"type":"function","name":"f"}],"tool_choice":"required","text":{"format":{"type":"json_object"}},
        "temperature":0.5,"top_p":0.9,"max_output_tokens":64,"parallel_tool_calls":false,"truncation":"auto",
        "user":"u","previous_response_id":"resp_0","store":true});
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&got[k], v, "{k}");
    }
    assert_eq!(got["output"][0]["id"], "msg_x_0");
    // An id without the `resp_` prefix is used whole in item ids.
    let e = ResponsesEncoder::new("abc".into(), Echo::default());
    assert_eq!(e.answer(&a, &META)["output"][0]["id"], "msg_abc_0");
    assert_eq!(e.answer(&a, &META)["store"], false);
}

#[test]
fn ids_and_errors() {
    assert_eq!(response_id("abc"), "resp_abc");
    let p = Problem::new(429, "rate_limited", "slow down");
    assert_eq!(
        error_body(&p, "t"),
        json!({"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limited"}})
    );
}
