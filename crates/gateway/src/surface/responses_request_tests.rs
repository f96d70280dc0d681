//! Table tests of the Responses request parser, from literal bodies.

use super::*;

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
            tools: Some(vec![json!({"type":"function","function":{"name":"get_weather","description":"Get weather",
                "parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}})]),
            tool_choice: Some(json!("auto")),
            response_format: Some(json!({"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},
                "description":"d","strict":true}})),
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
    let r = ok(r#"{"model":"fast","input":"hi","temperature":0.5,"top_p":0.9,"parallel_tool_calls":false,
        "stream":true,"stream_options":{"include_obfuscation":false},"user":"u1","safety_identifier":"s1",
        "metadata":{"a":"1","b":""},"store":true,"service_tier":"auto","prompt_cache_key":"k",
        "prompt_cache_retention":"24h","truncation":"auto","include":["reasoning.encrypted_content"],
        "reasoning":{"effort":"low","summary":"auto"},"previous_response_id":"resp_1","background":false,
        "instructions":"","text":{"format":{"type":"text"},"verbosity":null}}"#);
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
    let r = ok(&with(r#""tools":[{"type":"function","name":"f","parameters":null,"strict":null}]"#));
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
            {"type":"function_call","call_id":"c2","name":"g","arguments":"[]","namespace":"n"},
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
            calls(
                "Let me check.\nno",
                &[("c1", "f", "{}"), ("c2", "g", "[]")]
            ),
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
fn unsupported_parameters_are_named() {
    check_err(
        &with(r#""conversation":"conv_1""#),
        ("unsupported_parameter", "conversation", "conversation: unknown field `conversation`, expected one of `model`, `input`, `instructions`, `tools`, `tool_choice`, `text`, `max_output_tokens`, `temperature`, `top_p`, `parallel_tool_calls`, `stream`, `stream_options`, `user`, `safety_identifier`, `metadata`, `store`, `service_tier`, `prompt_cache_key`, `prompt_cache_retention`, `truncation`, `include`, `reasoning`, `previous_response_id`, `background`"),
    );
    check_err(
        &with(r#""background":true"#),
        (
            "unsupported_parameter",
            "background",
            "background: background responses are not supported",
        ),
    );
    check_err(
        &with(r#""tools":[{"type":"function","name":"f"},{"type":"web_search"}]"#),
        (
            "unsupported_parameter",
            "tools[1].type",
            "tools[1].type: `web_search` tools are not supported; only `function` tools are",
        ),
    );
    check_err(
        &with(r#""tools":[{"type":"function","name":"f","defer_loading":true}]"#),
        (
            "unsupported_parameter",
            "tools[0].defer_loading",
            "tools[0].defer_loading: unknown field `defer_loading`, expected one of `type`, `name`, `description`, `parameters`, `strict`",
        ),
    );
    check_err(
        &with(r#""tool_choice":{"type":"file_search"}"#),
        ("unsupported_parameter", "tool_choice.type", "tool_choice.type: `file_search` is not supported; choose `none`, `auto`, `required` or a function"),
    );
    check_err(
        &with(r#""tool_choice":{"type":"function","name":"f","x":1}"#),
        (
            "unsupported_parameter",
            "tool_choice.x",
            "tool_choice.x: unknown field `x`, expected `type` or `name`",
        ),
    );
    check_err(
        &with(r#""text":{"verbosity":"low"}"#),
        (
            "unsupported_parameter",
            "text.verbosity",
            "text.verbosity: is not supported",
        ),
    );
    check_err(
        &with(r#""text":{"style":1}"#),
        (
            "unsupported_parameter",
            "text.style",
            "text.style: unknown field `style`, expected `format` or `verbosity`",
        ),
    );
    check_err(
        &with(r#""text":{"format":{"type":"text","name":"x"}}"#),
        (
            "unsupported_parameter",
            "text.format.name",
            "text.format.name: unknown field `name`, expected `type`",
        ),
    );
    check_err(
        &with(r#""text":{"format":{"type":"json_object","schema":{}}}"#),
        (
            "unsupported_parameter",
            "text.format.schema",
            "text.format.schema: unknown field `schema`, expected `type`",
        ),
    );
    check_err(
        &with(r#""text":{"format":{"type":"json_schema","name":"n","schema":{},"x":1}}"#),
        ("unsupported_parameter", "text.format.x", "text.format.x: unknown field `x`, expected one of `type`, `name`, `schema`, `description`, `strict`"),
    );
    check_err(
        &items(r#"[{"role":"user","content":"q","foo":1}]"#),
        ("unsupported_parameter", "input[0].foo", "input[0].foo: unknown field `foo`, expected one of `type`, `role`, `content`, `id`, `status`, `phase`"),
    );
    check_err(
        &items(r#"[{"type":"function_call","call_id":"c","name":"f","arguments":"{}","x":1}]"#),
        ("unsupported_parameter", "input[0].x", "input[0].x: unknown field `x`, expected one of `type`, `call_id`, `name`, `arguments`, `id`, `status`, `namespace`"),
    );
    check_err(
        &items(r#"[{"type":"function_call_output","call_id":"c","output":"o","x":1}]"#),
        ("unsupported_parameter", "input[0].x", "input[0].x: unknown field `x`, expected one of `type`, `call_id`, `output`, `id`, `status`"),
    );
}

#[test]
fn unsupported_content_is_named() {
    for kind in ["input_image", "input_file", "input_audio"] {
        check_err(
            &items(&format!(
                r#"[{{"role":"user","content":[{{"type":"input_text","text":"a"}},{{"type":"{kind}"}}]}}]"#
            )),
            (
                "unsupported_content",
                "input[0].content[1]",
                &format!("input[0].content[1]: `{kind}` parts are not supported yet; send text"),
            ),
        );
    }
    check_err(
        &items(r#"[{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","detail":"auto"}]}]"#),
        (
            "unsupported_content",
            "input[0].output[0]",
            "input[0].output[0]: `input_image` parts are not supported yet; send text",
        ),
    );
    check_err(
        &items(r#"[{"role":"user","content":"q"},{"type":"item_reference","id":"msg_1"}]"#),
        ("unsupported_content", "input[1]", "input[1]: `item_reference` items are not supported; send messages, function calls and their outputs"),
    );
    check_err(
        &items(r#"[{"type":"web_search_call","id":"ws"}]"#),
        ("unsupported_content", "input[0]", "input[0]: `web_search_call` items are not supported; send messages, function calls and their outputs"),
    );
}

#[test]
fn bad_values_are_invalid_requests() {
    let table: &[(&str, (&str, &str, &str))] = &[
        (r#"{"model":"x"}"#, ("invalid_request", "input", "input: is required")),
        (r#"{"input":" "}"#, ("invalid_request", "input", "input: must not be empty")),
        (r#"{"input":[]}"#, ("invalid_request", "input", "input: must not be empty")),
        (r#"{"input":5}"#, ("invalid_request", "input", "input: invalid type: integer `5`, expected a string or a sequence")),
        (r#"{"input":["hi"]}"#, ("invalid_request", "input[0]", "input[0]: invalid type: string \"hi\", expected a map")),
        (r#"{"input":[{"role":"tool","content":"x"}]}"#, ("invalid_request", "input[0].role", "input[0].role: `tool` is not one of `user`, `assistant`, `system`, `developer`")),
        (r#"{"input":[{"content":"x"}]}"#, ("invalid_request", "input[0].role", "input[0].role: is required")),
        (r#"{"input":[{"role":"user"}]}"#, ("invalid_request", "input[0].content", "input[0].content: is required")),
        (r#"{"input":[{"role":"user","content":{}}]}"#, ("invalid_request", "input[0].content", "input[0].content: invalid type: map, expected a string or a sequence")),
        (r#"{"input":[{"role":"user","content":[{"type":"text","text":"x"}]}]}"#, ("invalid_request", "input[0].content[0].type", "input[0].content[0].type: `text` is not one of `input_text`, `output_text`, `refusal`, `input_image`, `input_file`, `input_audio`")),
        (r#"{"input":[{"role":"user","content":[{"type":"input_text"}]}]}"#, ("invalid_request", "input[0].content[0].text", "input[0].content[0].text: is required")),
        (r#"{"input":[{"role":"user","content":[{"text":"x"}]}]}"#, ("invalid_request", "input[0].content[0].type", "input[0].content[0].type: is required")),
        (r#"{"input":[{"role":"user","content":[1]}]}"#, ("invalid_request", "input[0].content[0]", "input[0].content[0]: invalid type: integer `1`, expected a map")),
        (r#"{"input":[{"role":"assistant","content":[{"type":"refusal"}]}]}"#, ("invalid_request", "input[0].content[0].refusal", "input[0].content[0].refusal: is required")),
        (r#"{"input":[{"type":"function_call","name":"f","arguments":"{}"}]}"#, ("invalid_request", "input[0].call_id", "input[0].call_id: is required")),
        (r#"{"input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}"#, ("invalid_request", "input[0].name", "input[0].name: is required")),
        (r#"{"input":[{"type":"function_call","call_id":"c","name":"f"}]}"#, ("invalid_request", "input[0].arguments", "input[0].arguments: is required")),
        (r#"{"input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]}"#, ("invalid_request", "input[0].arguments", "input[0].arguments: invalid type: map, expected a string")),
        (r#"{"input":[{"type":"function_call_output","output":"x"}]}"#, ("invalid_request", "input[0].call_id", "input[0].call_id: is required")),
        (r#"{"input":[{"type":"function_call_output","call_id":"c"}]}"#, ("invalid_request", "input[0].output", "input[0].output: is required")),
        (r#"{"input":[{"type":7}]}"#, ("invalid_request", "input[0].type", "input[0].type: invalid type: integer `7`, expected a string")),
        (r#"{"input":"hi","model":"a b"}"#, ("invalid_request", "model", "model: `a b` is not a model id (printable ASCII, no spaces, <= 200 chars)")),
        (r#"{"input":"hi","max_output_tokens":0}"#, ("invalid_request", "max_output_tokens", "max_output_tokens: must be between 1 and 1000000")),
        (r#"{"input":"hi","max_output_tokens":1000001}"#, ("invalid_request", "max_output_tokens", "max_output_tokens: must be between 1 and 1000000")),
        (r#"{"input":"hi","temperature":2.1}"#, ("invalid_request", "temperature", "temperature: must be between 0 and 2")),
        (r#"{"input":"hi","temperature":-1}"#, ("invalid_request", "temperature", "temperature: must be between 0 and 2")),
        (r#"{"input":"hi","top_p":1.5}"#, ("invalid_request", "top_p", "top_p: must be between 0 and 1")),
        (r#"{"input":"hi","truncation":"middle"}"#, ("invalid_request", "truncation", "truncation: must be `auto` or `disabled`")),
        (r#"{"input":"hi","include":[1]}"#, ("invalid_request", "include[0]", "include[0]: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","reasoning":"high"}"#, ("invalid_request", "reasoning", "reasoning: invalid type: string \"high\", expected a map")),
        (r#"{"input":"hi","stream_options":true}"#, ("invalid_request", "stream_options", "stream_options: invalid type: boolean `true`, expected a map")),
        (r#"{"input":"hi","service_tier":1}"#, ("invalid_request", "service_tier", "service_tier: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","prompt_cache_key":1}"#, ("invalid_request", "prompt_cache_key", "prompt_cache_key: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","prompt_cache_retention":1}"#, ("invalid_request", "prompt_cache_retention", "prompt_cache_retention: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","store":"yes"}"#, ("invalid_request", "store", "store: invalid type: string \"yes\", expected a boolean")),
        (r#"{"input":"hi","stream":1}"#, ("invalid_request", "stream", "stream: invalid type: integer `1`, expected a boolean")),
        (r#"{"input":"hi","previous_response_id":1}"#, ("invalid_request", "previous_response_id", "previous_response_id: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","parallel_tool_calls":"no"}"#, ("invalid_request", "parallel_tool_calls", "parallel_tool_calls: invalid type: string \"no\", expected a boolean")),
        (r#"{"input":"hi","instructions":1}"#, ("invalid_request", "instructions", "instructions: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","tool_choice":"sometimes"}"#, ("invalid_request", "tool_choice", "tool_choice: must be `none`, `auto`, `required` or an object")),
        (r#"{"input":"hi","tool_choice":1}"#, ("invalid_request", "tool_choice", "tool_choice: must be `none`, `auto`, `required` or an object")),
        (r#"{"input":"hi","tool_choice":{"type":"function"}}"#, ("invalid_request", "tool_choice.name", "tool_choice.name: is required")),
        (r#"{"input":"hi","tool_choice":{}}"#, ("invalid_request", "tool_choice.type", "tool_choice.type: is required")),
        (r#"{"input":"hi","tools":{}}"#, ("invalid_request", "tools", "tools: invalid type: map, expected a sequence")),
        (r#"{"input":"hi","tools":[1]}"#, ("invalid_request", "tools[0]", "tools[0]: invalid type: integer `1`, expected a map")),
        (r#"{"input":"hi","tools":[{"name":"f"}]}"#, ("invalid_request", "tools[0].type", "tools[0].type: is required")),
        (r#"{"input":"hi","tools":[{"type":"function"}]}"#, ("invalid_request", "tools[0].name", "tools[0].name: is required")),
        (r#"{"input":"hi","tools":[{"type":"function","name":"f","description":1}]}"#, ("invalid_request", "tools[0].description", "tools[0].description: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","tools":[{"type":"function","name":"f","parameters":[]}]}"#, ("invalid_request", "tools[0].parameters", "tools[0].parameters: invalid type: sequence, expected a map")),
        (r#"{"input":"hi","tools":[{"type":"function","name":"f","strict":"y"}]}"#, ("invalid_request", "tools[0].strict", "tools[0].strict: invalid type: string \"y\", expected a boolean")),
        (r#"{"input":"hi","text":"json"}"#, ("invalid_request", "text", "text: invalid type: string \"json\", expected a map")),
        (r#"{"input":"hi","text":{"format":{"type":"xml"}}}"#, ("invalid_request", "text.format.type", "text.format.type: must be one of `text`, `json_object`, `json_schema`")),
        (r#"{"input":"hi","text":{"format":{}}}"#, ("invalid_request", "text.format.type", "text.format.type: is required")),
        (r#"{"input":"hi","text":{"format":{"type":"json_schema","schema":{}}}}"#, ("invalid_request", "text.format.name", "text.format.name: is required")),
        (r#"{"input":"hi","text":{"format":{"type":"json_schema","name":"n"}}}"#, ("invalid_request", "text.format.schema", "text.format.schema: is required")),
        (r#"{"input":"hi","text":{"format":{"type":"json_schema","name":"n","schema":{},"strict":1}}}"#, ("invalid_request", "text.format.strict", "text.format.strict: invalid type: integer `1`, expected a boolean")),
        (r#"{"input":"hi","text":{"format":{"type":"json_schema","name":"n","schema":{},"description":1}}}"#, ("invalid_request", "text.format.description", "text.format.description: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","metadata":[]}"#, ("invalid_request", "metadata", "metadata: invalid type: sequence, expected a map")),
        (r#"{"input":"hi","metadata":{"k":1}}"#, ("invalid_request", "metadata.k", "metadata.k: invalid type: integer `1`, expected a string")),
        ("[1]", ("invalid_request", "", "body must be a JSON object")),
        ("{", ("invalid_json", "", "body is not valid JSON: EOF while parsing an object at line 1 column 1")),
    ];
    for (body, expected) in table {
        check_err(body, *expected);
    }
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
    let r = ok(&with(r#""max_output_tokens":1000000,"temperature":2,"top_p":1"#));
    assert_eq!(r.conv.options.max_tokens, Some(1_000_000));
    let r = ok(&with(r#""max_output_tokens":1,"temperature":0,"top_p":0"#));
    assert_eq!(
        (r.conv.options.max_tokens, r.conv.options.top_p),
        (Some(1), Some(0.0))
    );
}
