//! Tests of the Workers AI decoders: recorded streams split everywhere, and literal chunks.

use serde_json::json;

use super::*;

/// A recorded classic Workers AI stream (llama-3.1-8b-instruct), padding shortened.
const CLASSIC: &str = concat!(
    "data: {\"response\":\"Hel\",\"p\":\"abcdefgh\"}\n\n",
    "data: {\"response\":\"lo, \",\"p\":\"abcd\"}\n\n",
    "data: {\"response\":\"wörld 🌍\",\"p\":\"ab\"}\n\n",
    "data: {\"response\":\"\",\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}\n\n",
    "data: [DONE]\n\n",
);

/// A recorded OpenAI-style stream (gpt-oss on Workers AI), with reasoning and usage.
const OPENAI: &str = concat!(
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"think\"}}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo, wörld 🌍\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}\n\n",
    "data: [DONE]\n\n",
);

fn usage(p: u64, c: u64, t: u64) -> ModelEvent {
    ModelEvent::Usage(Usage {
        prompt_tokens: Some(p),
        completion_tokens: Some(c),
        total_tokens: Some(t),
        cached_tokens: None,
    })
}

fn text(s: &str) -> ModelEvent {
    ModelEvent::Text(s.into())
}

fn call(index: u32, id: Option<&str>, name: Option<&str>, arguments: &str) -> ModelEvent {
    ModelEvent::ToolCall(ToolCallDelta {
        index,
        id: id.map(Into::into),
        name: name.map(Into::into),
        arguments: arguments.into(),
    })
}

fn decode_in_pieces(input: &[u8], size: usize) -> Result<Vec<ModelEvent>, DecodeError> {
    let mut d = StreamDecoder::new();
    let mut out = Vec::new();
    for piece in input.chunks(size) {
        d.feed(piece, &mut out)?;
    }
    d.finish(&mut out)?;
    Ok(out)
}

fn texts(events: &[ModelEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn classic_format_every_split() {
    for size in 1..=CLASSIC.len() {
        let events = decode_in_pieces(CLASSIC.as_bytes(), size).unwrap();
        assert_eq!(texts(&events), "Hello, wörld 🌍", "split size {size}");
        assert_eq!(events.last(), Some(&ModelEvent::Done));
        assert!(events.contains(&usage(12, 4, 16)));
    }
}

#[test]
fn openai_format_every_split() {
    for size in 1..=OPENAI.len() {
        let events = decode_in_pieces(OPENAI.as_bytes(), size).unwrap();
        assert_eq!(texts(&events), "Hello, wörld 🌍", "split size {size}");
        assert_eq!(events[0], ModelEvent::Reasoning("think".into()));
        assert!(events.contains(&ModelEvent::Finish(FinishReason::Stop)));
        assert!(events.contains(&usage(12, 4, 16)));
    }
}

fn check(input: &str, expected: Result<Vec<ModelEvent>, DecodeError>) {
    assert_eq!(
        decode_in_pieces(input.as_bytes(), 7),
        expected,
        "input {input:?}"
    );
}

#[test]
fn stream_table() {
    check(
        "data: {\"response\":\"a\"}\n\ndata: [DONE]\n\n",
        Ok(vec![text("a"), ModelEvent::Done]),
    );
    check(
        "data: {\"response\":\"\"}\n\ndata: [DONE]\n\n",
        Ok(vec![ModelEvent::Done]),
    );
    check(
        "data: {\"response\":\"a\"}\n\n",
        Err(DecodeError::Truncated),
    );
    // Malformed chunks are described without their text.
    let broken = "{\"response\":\"secret";
    match decode_in_pieces(format!("data: {broken}\n\n").as_bytes(), 5) {
        Err(e @ DecodeError::Malformed { .. }) => assert!(!e.to_string().contains("secret"), "{e}"),
        other => panic!("expected malformed, got {other:?}"),
    }
    check(
        "data: 42\n\n",
        Err(DecodeError::malformed(b"42", "not a JSON object")),
    );
    // An error object mid-stream.
    check(
        "data: {\"response\":\"a\"}\n\ndata: {\"error\":{\"message\":\"3040: capacity\"}}\n\n",
        Err(DecodeError::Upstream {
            message: "3040: capacity".into(),
        }),
    );
    // Classic tool calls (whole, no id) are numbered; OpenAI deltas keep index and id.
    check(
        "data: {\"response\":\"\",\"tool_calls\":[{\"name\":\"f\",\"arguments\":{\"x\":1}},{\"name\":\"g\",\"arguments\":\"{}\"}]}\n\ndata: [DONE]\n\n",
        Ok(vec![call(0, Some("call_0"), Some("f"), "{\"x\":1}"), call(1, Some("call_1"), Some("g"), "{}"), ModelEvent::Done]),
    );
    check(
        concat!(
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c9\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"x\\\":\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: [DONE]\n\n"
        ),
        Ok(vec![
            call(0, Some("c9"), Some("f"), ""),
            call(0, None, None, "{\"x\":"),
            ModelEvent::Finish(FinishReason::ToolCalls),
            ModelEvent::Done,
        ]),
    );
    // Usage with missing fields and null usage.
    check(
        "data: {\"response\":\"\",\"usage\":{\"completion_tokens\":3}}\n\ndata: {\"choices\":[],\"usage\":null}\n\ndata: [DONE]\n\n",
        Ok(vec![
            ModelEvent::Usage(Usage { prompt_tokens: None, completion_tokens: Some(3), total_tokens: None, cached_tokens: None }),
            ModelEvent::Done,
        ]),
    );
}

fn whole(v: serde_json::Value) -> Result<Vec<ModelEvent>, String> {
    whole_answer(&v).map_err(|e| e.to_string())
}

#[test]
fn whole_answers_of_both_shapes() {
    let u = |p| Usage {
        prompt_tokens: Some(p),
        completion_tokens: Some(1),
        total_tokens: Some(p + 1),
        cached_tokens: None,
    };
    assert_eq!(
        whole(
            json!({"response":"hi","usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})
        ),
        Ok(vec![text("hi"), ModelEvent::Usage(u(3)), ModelEvent::Done])
    );
    assert_eq!(
        whole(json!({"response":{"a":1}})),
        Ok(vec![text("{\"a\":1}"), ModelEvent::Done])
    );
    assert_eq!(
        whole(json!({"response":null,"tool_calls":[{"name":"f","arguments":{"city":"Oslo"}}]})),
        Ok(vec![
            call(0, Some("call_0"), Some("f"), "{\"city\":\"Oslo\"}"),
            ModelEvent::Done
        ])
    );
    assert_eq!(
        whole(
            json!({"object":"chat.completion","choices":[{"message":{"role":"assistant","content":null,
            "tool_calls":[{"id":"x1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})
        ),
        Ok(vec![
            call(0, Some("x1"), Some("f"), "{}"),
            ModelEvent::Finish(FinishReason::ToolCalls),
            ModelEvent::Done
        ])
    );
    assert_eq!(
        whole(json!({"choices":[]})).unwrap_err(),
        format!(
            "{}",
            DecodeError::malformed(b"{\"choices\":[]}", "no choices[0]")
        )
    );
    assert!(whole(json!({"result":"secret"}))
        .unwrap_err()
        .contains("neither `response` nor `choices`"));
    assert!(!whole(json!({"result":"secret"}))
        .unwrap_err()
        .contains("secret"));
    assert_eq!(
        whole(json!({"error":{"message":"5007: no such model"}})).unwrap_err(),
        "the model reported an error: 5007: no such model"
    );
}

/// The typed path (most chunks) and the JSON-tree path give the same events or the same error,
/// including for shapes only the tree path reads.
#[test]
fn typed_chunks_decode_as_the_tree_does() {
    let payloads = [
        // (payload, whether the typed path reads it)
        (r#"{"response":"tok ","p":"abcdefgh"}"#, true),
        (
            r#"{"response":"","usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
            true,
        ),
        (
            r#"{"response":null,"tool_calls":[{"name":"f","arguments":{"a":1}}]}"#,
            true,
        ),
        (r#"{"response":{"json":true}}"#, true),
        (r#"{"response":7}"#, true),
        (
            r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"h\u00e9 \ud83c\udf0d"},"logprobs":null,"finish_reason":null}]}"#,
            true,
        ),
        (
            r#"{"choices":[{"delta":{"reasoning_content":"think"}},{"delta":{"content":"a"},"finish_reason":"length"}]}"#,
            true,
        ),
        (
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"x","function":{"name":"f","arguments":"{\"a\""}}]}}]}"#,
            true,
        ),
        (r#"{"choices":[],"usage":{"prompt_tokens":1}}"#, true),
        (r#"{"choices":null,"response":"r"}"#, true),
        (r#"{"error":{"message":"5007: no such model"}}"#, true),
        (r#"{"error":null,"response":"ok"}"#, true),
        (
            r#"{"choices":[{"delta":{"tool_calls":[{"index":500}]}}]}"#,
            true,
        ),
        (
            r#"{"choices":[{"delta":"odd"},{"delta":{"content":"b"}}]}"#,
            false,
        ),
        (r#"{"choices":[1,{"delta":{"content":"c"}}]}"#, false),
        (r#"{"choices":{"0":{}},"response":"d"}"#, false),
        (r#"{"response":"a","response":"b"}"#, false),
        (r#"[1,2]"#, false),
        (r#""text""#, false),
        (r#"{"response":"#, false),
    ];
    for (payload, typed) in payloads {
        assert_eq!(
            serde_json::from_str::<TypedChunk>(payload).is_ok(),
            typed,
            "typed path for {payload}"
        );
        let (mut fast, mut tree) = (Vec::new(), Vec::new());
        let (mut n1, mut n2) = (2, 2);
        let got = payload_events(payload, &mut n1, &mut fast).map(|()| fast);
        let want = serde_json::from_str::<serde_json::Value>(payload)
            .map_err(|e| DecodeError::json(payload.as_bytes(), &e))
            .and_then(|v| chunk_events(&v, payload.as_bytes(), &mut n2, &mut tree))
            .map(|()| tree);
        assert_eq!(got, want, "{payload}");
        assert_eq!(n1, n2, "classic call numbering for {payload}");
    }
}
