//! Table tests of the OpenAI request parser.

use super::*;

fn ok(body: &str) -> Conversation {
    parse(body.as_bytes(), false)
        .unwrap_or_else(|e| panic!("{body}: {e:?}"))
        .conv
}

/// Expects `body` to fail; compares `(code, field, message)`.
fn check_err(body: &str, expected: (&str, &str, &str)) {
    let got = match parse(body.as_bytes(), false) {
        Ok(c) => panic!("expected an error for {body}, got {c:?}"),
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

const HI: &str = r#""messages":[{"role":"user","content":"hi"}]"#;

#[test]
fn a_full_request() {
    let c = ok(r#"{"model":"fast","messages":[
        {"role":"developer","content":"be brief"},
        {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
        {"role":"assistant","content":null,"refusal":null,"parsed":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"sunny"}],
        "stream":true,"stream_options":{"include_usage":true},"max_tokens":99,"max_completion_tokens":50,
        "temperature":0.2,"top_p":0.9,"stop":"END","seed":7,"frequency_penalty":0.5,"presence_penalty":-0.5,
        "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto","parallel_tool_calls":false,
        "response_format":{"type":"json_object"},"user":"u-42","n":1,"logprobs":false}"#);
    assert_eq!(c.model.as_deref(), Some("fast"));
    assert_eq!(c.messages[0].role, Role::System);
    assert_eq!(c.messages[1].content, "a\nb");
    assert_eq!(c.messages[2].tool_calls[0].id, "c1");
    assert_eq!(c.messages[3].tool_call_id.as_deref(), Some("c1"));
    assert!(c.stream && c.include_usage);
    assert_eq!(c.options.max_tokens, Some(50), "max_completion_tokens wins");
    assert_eq!(c.options.stop, vec!["END".to_string()]);
    assert_eq!(c.options.seed, Some(7));
    assert_eq!(c.options.parallel_tool_calls, Some(false));
    assert_eq!(c.user.as_deref(), Some("u-42"));
}

#[test]
fn defaults_and_empty_model() {
    let c = ok(&format!(r#"{{"model":"",{HI}}}"#));
    assert_eq!(c.model, None);
    assert!(!c.stream && !c.include_usage);
    assert_eq!(ok(&format!("{{{HI}}}")).options, Options::default());
}

#[test]
fn refusals_name_the_parameter() {
    let with = |extra: &str| format!("{{{HI},{extra}}}");
    check_err(
        &with(r#""n":2"#),
        (
            "unsupported_parameter",
            "n",
            "n: only one choice per request is supported",
        ),
    );
    check_err(
        &with(r#""logprobs":true"#),
        (
            "unsupported_parameter",
            "logprobs",
            "logprobs: log probabilities are not supported",
        ),
    );
    check_err(
        &with(r#""top_logprobs":2"#),
        (
            "unsupported_parameter",
            "top_logprobs",
            "top_logprobs: log probabilities are not supported",
        ),
    );
    check_err(
        &with(r#""audio":{"voice":"x"}"#),
        (
            "unsupported_parameter",
            "audio",
            "audio: audio output is not supported",
        ),
    );
    check_err(
        &with(r#""modalities":["text","audio"]"#),
        (
            "unsupported_parameter",
            "modalities",
            "modalities: only `text` output is supported",
        ),
    );
    let unknown = parse(with(r#""logit_bias":{"50256":-100}"#).as_bytes(), false).unwrap_err();
    assert!(
        matches!(&unknown, Error::UnsupportedParameter { param, message } if param == "logit_bias"
            && message.starts_with("logit_bias: unknown field `logit_bias`, expected one of `model`")),
        "{unknown:?}"
    );
    check_err(
        r#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}"#,
        (
            "unsupported_content",
            "messages[0].content[0]",
            "messages[0].content[0]: `image_url` parts are not supported yet; send text",
        ),
    );
    check_err(
        r#"{"messages":[{"role":"function","content":"x"}]}"#,
        (
            "unsupported_parameter",
            "messages[0].role",
            "messages[0].role: the `function` role is deprecated; use `tool`",
        ),
    );
}

#[test]
fn bad_values_are_invalid_requests() {
    let with = |extra: &str| format!("{{{HI},{extra}}}");
    check_err(
        r#"{"messages":[]}"#,
        ("invalid_request", "messages", "messages: must not be empty"),
    );
    check_err(
        &with(r#""max_tokens":0"#),
        (
            "invalid_request",
            "max_tokens",
            "max_tokens: must be between 1 and 1000000",
        ),
    );
    check_err(
        &with(r#""temperature":3"#),
        (
            "invalid_request",
            "temperature",
            "temperature: must be between 0 and 2",
        ),
    );
    check_err(
        &with(r#""stop":[1]"#),
        (
            "invalid_request",
            "stop",
            "stop: must be a string or an array of at most 4 strings",
        ),
    );
    check_err(
        &with(r#""tool_choice":"sometimes""#),
        (
            "invalid_request",
            "tool_choice",
            "tool_choice: must be `none`, `auto`, `required` or an object",
        ),
    );
    check_err(
        &with(r#""response_format":{"type":"xml"}"#),
        (
            "invalid_request",
            "response_format.type",
            "response_format.type: must be one of `text`, `json_object`, `json_schema`",
        ),
    );
    check_err(
        r#"{"messages":[{"role":"bot","content":"x"}]}"#,
        ("invalid_request", "messages[0].role", "messages[0].role: `bot` is not one of `system`, `developer`, `user`, `assistant`, `tool`"),
    );
    check_err(
        r#"{"messages":[{"role":"user"}]}"#,
        (
            "invalid_request",
            "messages[0].content",
            "messages[0].content: is required",
        ),
    );
    check_err(
        r#"{"messages":[{"role":"tool","content":"x"}]}"#,
        (
            "invalid_request",
            "messages[0].tool_call_id",
            "messages[0].tool_call_id: is required for `tool` messages",
        ),
    );
    check_err(
        r#"{"messages":[{"role":"user","content":5}]}"#,
        (
            "invalid_request",
            "messages[0].content",
            "messages[0].content: must be a string or an array of content parts",
        ),
    );
    check_err(
        "{",
        (
            "invalid_json",
            "",
            "body is not valid JSON: EOF while parsing an object at line 1 column 1",
        ),
    );
}

#[test]
fn harmless_fields_are_accepted_and_forwarded_ones_kept() {
    let c = ok(&format!(
        r#"{{{HI},"store":false,"metadata":{{"a":"b"}},"service_tier":"auto","prompt_cache_key":"k",
        "prompt_cache_retention":"24h","user":"u","reasoning_effort":"low","stream_options":{{"include_usage":false}}}}"#
    ));
    assert_eq!(c.options.reasoning_effort.as_deref(), Some("low"));
    assert_eq!(c.user.as_deref(), Some("u"));
    let c = ok(&format!(r#"{{{HI},"user":"u","safety_identifier":"s"}}"#));
    assert_eq!(c.user.as_deref(), Some("s"), "safety_identifier wins");
    check_err(
        &format!(r#"{{{HI},"reasoning_effort":"max"}}"#),
        (
            "invalid_request",
            "reasoning_effort",
            "reasoning_effort: must be one of `none`, `minimal`, `low`, `medium`, `high`",
        ),
    );
    check_err(
        &format!(r#"{{{HI},"stream_options":{{"x":1}}}}"#),
        ("invalid_request", "stream_options.x", "stream_options.x: unknown field `x`, expected `include_usage` or `include_obfuscation`"),
    );
    for (name, policy) in FIELDS {
        assert!(
            !name.is_empty()
                && matches!(
                    policy,
                    Policy::Honoured | Policy::Forwarded | Policy::Ignored
                )
        );
    }
    assert!(FIELDS.contains(&("reasoning_effort", Policy::Forwarded)));
    assert!(FIELDS.contains(&("store", Policy::Ignored)));
}

#[test]
fn with_drop_unsupported_the_rest_is_dropped_and_listed() {
    let body = format!(
        r#"{{{HI},"n":2,"logit_bias":{{}},"logprobs":true,"modalities":["audio"],"temperature":0.5}}"#
    );
    let r = parse(body.as_bytes(), true).unwrap();
    assert_eq!(r.dropped, ["logit_bias", "n", "logprobs", "modalities"]);
    assert_eq!(r.conv.options.temperature, Some(0.5));
    assert!(matches!(
        parse(body.as_bytes(), false),
        Err(Error::UnsupportedParameter { .. })
    ));
    // Invalid values are still invalid: dropping is for what the gateway cannot do.
    let bad = format!(r#"{{{HI},"temperature":9}}"#);
    assert!(matches!(
        parse(bad.as_bytes(), true),
        Err(Error::InvalidRequest { .. })
    ));
    assert_eq!(
        parse(format!("{{{HI}}}").as_bytes(), true).unwrap().dropped,
        Vec::<String>::new()
    );
}
