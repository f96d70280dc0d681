//! Table tests of the Responses request parser, from literal bodies.

use super::*;
use crate::conversation::ToolCall;

fn ok(body: &str) -> ResponsesRequest {
    parse(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e:?}"))
}

/// Expects `body` to fail; compares `(code, field, message)`.
fn check_err(body: &str, expected: (&str, &str, &str)) {
    let got = match parse(body.as_bytes()) {
        Ok(r) => panic!("expected an error for {body}, got {r:?}"),
        Err(Error::InvalidRequest { field, message }) => {
            ("invalid_request", field.unwrap_or_default(), message)
        }
        Err(Error::UnsupportedParameter { param, message }) => {
            ("unsupported_parameter", param, message)
        }
        Err(Error::UnsupportedContent { field, message }) => {
            ("unsupported_content", field, message)
        }
        Err(Error::InvalidJson { message }) => ("invalid_json", String::new(), message),
        Err(e) => panic!("unexpected {e:?}"),
    };
    assert_eq!((got.0, got.1.as_str(), got.2.as_str()), expected, "{body}");
}

/// `{"input":"hi", <extra>}`.
fn with(extra: &str) -> String {
    format!(r#"{{"input":"hi",{extra}}}"#)
}

/// `{"input": <items>}`.
fn items(items: &str) -> String {
    format!(r#"{{"input":{items}}}"#)
}

fn msg(role: Role, text: &str) -> Message {
    Message::text(role, text)
}

fn calls(text: &str, list: &[(&str, &str, &str)]) -> Message {
    let mut m = Message::text(Role::Assistant, text);
    m.tool_calls = list
        .iter()
        .map(|(id, name, arguments)| ToolCall {
            id: (*id).into(),
            name: (*name).into(),
            arguments: (*arguments).into(),
        })
        .collect();
    m
}

fn output(id: &str, content: &str) -> Message {
    let mut m = Message::text(Role::Tool, content);
    m.tool_call_id = Some(id.into());
    m
}

#[test]
fn a_string_input_with_the_defaults() {
    let r = ok(r#"{"model":"","input":"hi"}"#);
    assert_eq!(
        r,
        ResponsesRequest {
            conv: Conversation {
                messages: vec![msg(Role::User, "hi")],
                ..Conversation::default()
            },
            previous_response_id: None,
            store: None,
            echo: Echo::default(),
        }
    );
}

#[test]
fn the_documented_tool_round_trip() {
    let r = ok(r#"{
      "model": "@cf/openai/gpt-oss-120b",
      "instructions": "Be brief.",
      "input": [
        {"type":"message","role":"user","content":[{"type":"input_text","text":"Weather in Paris?"}]},
        {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
        {"type":"function_call_output","call_id":"call_1","output":"{\"temp_c\":21}"}
      ],
      "tools": [{"type":"function","name":"get_weather","description":"Get weather","strict":true,
                 "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}],
      "tool_choice": "auto",
      "text": {"format": {"type":"json_schema","name":"answer","strict":true,"description":"d",
               "schema":{"type":"object"}}},
      "max_output_tokens": 256,
      "stream": false
    }"#);
    assert_eq!(
        r.conv.messages,
        vec![
            msg(Role::System, "Be brief."),
            msg(Role::User, "Weather in Paris?"),
            calls("", &[("call_1", "get_weather", "{\"city\":\"Paris\"}")]),
            output("call_1", "{\"temp_c\":21}"),
        ]
    );
    assert_eq!(r.conv.model.as_deref(), Some("@cf/openai/gpt-oss-120b"));
    assert_eq!(
        r.conv.options,
        Options {
            max_tokens: Some(256),
            tools: Some(vec![
                json!({"type":"function","function":{"name":"get_weather","description":"Get weather",
                "parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}})
            ]),
            tool_choice: Some(json!("auto")),
            response_format: Some(
                json!({"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},
                "description":"d","strict":true}})
            ),
            ..Options::default()
        }
    );
    assert!(!r.conv.stream);
    assert_eq!(r.echo.instructions.as_deref(), Some("Be brief."));
    assert_eq!(r.echo.tools[0]["name"], "get_weather");
    assert_eq!(r.echo.tool_choice, Some(json!("auto")));
    assert_eq!(r.echo.text_format.as_ref().unwrap()["name"], "answer");
    assert_eq!(r.echo.max_output_tokens, Some(256));
}

#[test]
fn every_accepted_field() {
    let r = ok(
        r#"{"model":"fast","input":"hi","temperature":0.5,"top_p":0.9,"parallel_tool_calls":false,
        "stream":true,"stream_options":{"include_obfuscation":false},"user":"u1","safety_identifier":"s1",
        "metadata":{"a":"1","b":""},"store":true,"service_tier":"auto","prompt_cache_key":"k",
        "prompt_cache_retention":"24h","truncation":"auto","include":["reasoning.encrypted_content"],
        "reasoning":{"effort":"low","summary":"auto"},"previous_response_id":"resp_1","background":false,
        "instructions":"","text":{"format":{"type":"text"},"verbosity":null}}"#,
    );
    assert_eq!(r.conv.messages, vec![msg(Role::User, "hi")]);
    assert_eq!(r.conv.options.temperature, Some(0.5));
    assert_eq!(r.conv.options.top_p, Some(0.9));
    assert_eq!(r.conv.options.parallel_tool_calls, Some(false));
    assert_eq!(r.conv.options.response_format, None);
    assert!(r.conv.stream);
    assert_eq!(r.conv.user.as_deref(), Some("s1"), "safety_identifier wins");
    assert_eq!(r.store, Some(true));
    assert_eq!(r.previous_response_id.as_deref(), Some("resp_1"));
    assert_eq!(
        r.echo,
        Echo {
            instructions: Some(String::new()),
            metadata: json!({"a":"1","b":""}).as_object().unwrap().clone(),
            tools: vec![],
            tool_choice: None,
            text_format: Some(json!({"type":"text"})),
            temperature: Some(0.5),
            top_p: Some(0.9),
            max_output_tokens: None,
            parallel_tool_calls: Some(false),
            truncation: Some("auto".into()),
            user: Some("u1".into()),
            previous_response_id: Some("resp_1".into()),
            stored: false,
        }
    );
    assert_eq!(ok(&with(r#""user":"u""#)).conv.user.as_deref(), Some("u"));
    let r = ok(&with(
        r#""text":{"format":{"type":"json_object"}},"tool_choice":{"type":"function","name":"f"},"truncation":"disabled""#,
    ));
    assert_eq!(
        r.conv.options.response_format,
        Some(json!({"type":"json_object"}))
    );
    assert_eq!(
        r.conv.options.tool_choice,
        Some(json!({"type":"function","function":{"name":"f"}}))
    );
    assert_eq!(
        r.echo.tool_choice,
        Some(json!({"type":"function","name":"f"}))
    );
    for choice in ["none", "required"] {
        let r = ok(&with(&format!(r#""tool_choice":"{choice}""#)));
        assert_eq!(r.conv.options.tool_choice, Some(json!(choice)));
    }
    let r = ok(&with(
        r#""tools":[{"type":"function","name":"f","parameters":null,"strict":null}]"#,
    ));
    assert_eq!(
        r.conv.options.tools,
        Some(vec![json!({"type":"function","function":{"name":"f"}})])
    );
}

#[test]
fn items_become_messages() {
    let r = ok(&items(
        r#"[{"role":"developer","content":"rules"},
            {"role":"system","content":[{"type":"input_text","text":"a"},{"type":"input_text","text":"b"}]},
            {"role":"user","content":"q1"},
            {"type":"reasoning","id":"rs_1","summary":[]},
            {"type":"message","id":"msg_1","status":"completed","role":"assistant","phase":"final_answer",
             "content":[{"type":"output_text","text":"Let me check.","annotations":[]},{"type":"refusal","refusal":"no"}]},
            {"type":"reasoning","id":"rs_2","summary":[]},
            {"type":"function_call","id":"fc_1","call_id":"c1","name":"f","arguments":"{}","status":"completed"},
            {"type":"function_call","call_id":"c2","name":"g","arguments":"[]","namespace":"n","parsed_arguments":[]},
            {"type":"function_call_output","call_id":"c1","output":"one","id":"o1","status":"completed"},
            {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"x"},{"type":"input_text","text":"y"}]},
            {"type":"function_call","call_id":"c3","name":"h","arguments":"{}"},
            {"type":"function_call_output","call_id":"c3","output":""},
            {"role":"assistant","content":"done"}]"#,
    ));
    assert_eq!(
        r.conv.messages,
        vec![
            msg(Role::System, "rules"),
            msg(Role::System, "a\nb"),
            msg(Role::User, "q1"),
            calls("Let me check.\nno", &[("c1", "f", "{}"), ("c2", "g", "[]")]),
            output("c1", "one"),
            output("c2", "x\ny"),
            calls("", &[("c3", "h", "{}")]),
            output("c3", ""),
            msg(Role::Assistant, "done"),
        ]
    );
    // A function call after a user message starts its own assistant message.
    let r = ok(&items(
        r#"[{"role":"user","content":"q"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}]"#,
    ));
    assert_eq!(r.conv.messages[1], calls("", &[("c", "f", "{}")]));
}

#[test]
fn limits_on_user_ids_and_metadata() {
    let long = "u".repeat(257);
    assert!(parse(with(&format!(r#""user":"{}""#, &long[1..])).as_bytes()).is_ok());
    check_err(
        &with(&format!(r#""user":"{long}""#)),
        ("invalid_request", "user", "user: must be at most 256 bytes"),
    );
    check_err(
        &with(&format!(r#""safety_identifier":"{long}""#)),
        (
            "invalid_request",
            "safety_identifier",
            "safety_identifier: must be at most 256 bytes",
        ),
    );
    let entries = |n: usize| {
        (0..n)
            .map(|i| format!(r#""k{i}":"v""#))
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(
        ok(&with(&format!(r#""metadata":{{{}}}"#, entries(16))))
            .echo
            .metadata
            .len(),
        16
    );
    check_err(
        &with(&format!(r#""metadata":{{{}}}"#, entries(17))),
        (
            "invalid_request",
            "metadata",
            "metadata: must have at most 16 entries",
        ),
    );
    let (key64, key65) = ("k".repeat(64), "k".repeat(65));
    assert!(parse(with(&format!(r#""metadata":{{"{key64}":"v"}}"#)).as_bytes()).is_ok());
    check_err(
        &with(&format!(r#""metadata":{{"{key65}":"v"}}"#)),
        (
            "invalid_request",
            &format!("metadata.{key65}"),
            &format!("metadata.{key65}: keys must be at most 64 characters"),
        ),
    );
    let (v512, v513) = ("é".repeat(512), "v".repeat(513));
    assert!(parse(with(&format!(r#""metadata":{{"k":"{v512}"}}"#)).as_bytes()).is_ok());
    check_err(
        &with(&format!(r#""metadata":{{"k":"{v513}"}}"#)),
        (
            "invalid_request",
            "metadata.k",
            "metadata.k: must be at most 512 characters",
        ),
    );
    // Bounds are inclusive.
    let r = ok(&with(
        r#""max_output_tokens":1000000,"temperature":2,"top_p":1"#,
    ));
    assert_eq!(r.conv.options.max_tokens, Some(1_000_000));
    let r = ok(&with(r#""max_output_tokens":1,"temperature":0,"top_p":0"#));
    assert_eq!(
        (r.conv.options.max_tokens, r.conv.options.top_p),
        (Some(1), Some(0.0))
    );
}

#[path = "responses_request_refusal_tests.rs"]
mod refusals;
