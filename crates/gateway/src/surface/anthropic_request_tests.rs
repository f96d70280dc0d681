//! Table tests of the Anthropic Messages request parser, from literal bodies.

use super::*;

fn ok(body: &str) -> Conversation {
    parse(body.as_bytes())
        .unwrap_or_else(|e| panic!("{body}: {e:?}"))
        .conv
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

const HEAD: &str = r#""model":"claude-x","max_tokens":100"#;

/// A body with the usual head, these messages, and `extra` fields.
fn body(messages: &str, extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(",{extra}")
    };
    format!(r#"{{{HEAD},"messages":{messages}{extra}}}"#)
}

/// A body with one user message "hi" and `extra` fields.
fn with(extra: &str) -> String {
    body(r#"[{"role":"user","content":"hi"}]"#, extra)
}

/// A body whose one message (of `role`) has these content blocks.
fn blocks(role: &str, content: &str) -> String {
    body(&format!(r#"[{{"role":"{role}","content":{content}}}]"#), "")
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

fn result(id: &str, content: &str) -> Message {
    let mut m = Message::text(Role::Tool, content);
    m.tool_call_id = Some(id.into());
    m
}

#[test]
fn the_documented_example() {
    let c = ok(r#"{
      "model": "claude-sonnet-4-5",
      "max_tokens": 1024,
      "system": [{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Be kind."}],
      "messages": [
        {"role":"user","content":"Weather in Paris?"},
        {"role":"assistant","content":[{"type":"text","text":"Checking.","citations":null},
          {"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"city":"Paris"},"caller":{"type":"direct"}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A","content":"21C sunny","is_error":false},
          {"type":"text","text":"And tomorrow?"}]}
      ],
      "tools": [{"name":"get_weather","description":"Get weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
      "tool_choice": {"type":"auto","disable_parallel_tool_use":false},
      "temperature": 0.2,
      "stop_sequences": ["\n\nHuman:"],
      "metadata": {"user_id": "u-123"},
      "stream": true
    }"#);
    assert_eq!(
        c.messages,
        vec![
            msg(Role::System, "Be brief.\nBe kind."),
            msg(Role::User, "Weather in Paris?"),
            calls(
                "Checking.",
                &[("toolu_01A", "get_weather", r#"{"city":"Paris"}"#)]
            ),
            result("toolu_01A", "21C sunny"),
            msg(Role::User, "And tomorrow?"),
        ]
    );
    assert_eq!(
        c.options,
        Options {
            max_tokens: Some(1024),
            temperature: Some(0.2),
            stop: vec!["\n\nHuman:".into()],
            tools: Some(vec![
                json!({"type":"function","function":{"name":"get_weather","description":"Get weather",
                "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}})
            ]),
            tool_choice: Some(json!("auto")),
            parallel_tool_calls: Some(true),
            ..Options::default()
        }
    );
    assert_eq!(c.model.as_deref(), Some("claude-sonnet-4-5"));
    assert_eq!(c.user.as_deref(), Some("u-123"));
    assert!(c.stream);
}

#[test]
fn the_smallest_request() {
    assert_eq!(
        ok(&with("")),
        Conversation {
            messages: vec![msg(Role::User, "hi")],
            options: Options {
                max_tokens: Some(100),
                ..Options::default()
            },
            model: Some("claude-x".into()),
            ..Conversation::default()
        }
    );
}

#[test]
fn accepted_and_ignored_fields() {
    let c = ok(&with(
        r#""top_k":5,"top_p":1,"thinking":{"type":"enabled","budget_tokens":1024},"service_tier":"auto","system":"","metadata":{"user_id":null}"#,
    ));
    assert_eq!(c.messages, vec![msg(Role::User, "hi")]);
    assert_eq!(c.options.top_p, Some(1.0));
    assert!(parse(with(r#""top_k":0"#).as_bytes()).is_ok());
    assert_eq!(c.user, None);
    assert_eq!(
        ok(&with(r#""system":"rules""#)).messages[0],
        msg(Role::System, "rules")
    );
}

#[test]
fn tool_choices_and_tools() {
    let choice = |c: &str| {
        let conv = ok(&with(&format!(r#""tool_choice":{c}"#)));
        (conv.options.tool_choice, conv.options.parallel_tool_calls)
    };
    assert_eq!(choice(r#"{"type":"auto"}"#), (Some(json!("auto")), None));
    assert_eq!(
        choice(r#"{"type":"any","disable_parallel_tool_use":true}"#),
        (Some(json!("required")), Some(false))
    );
    assert_eq!(choice(r#"{"type":"none"}"#), (Some(json!("none")), None));
    assert_eq!(
        choice(r#"{"type":"tool","name":"f"}"#),
        (
            Some(json!({"type":"function","function":{"name":"f"}})),
            None
        )
    );
    let c = ok(&with(
        r#""tools":[{"type":"custom","name":"f","input_schema":{"type":"object"},"strict":true,"cache_control":{"type":"ephemeral"}},
                    {"type":null,"name":"g","input_schema":{}}]"#,
    ));
    assert_eq!(
        c.options.tools,
        Some(vec![
            json!({"type":"function","function":{"name":"f","parameters":{"type":"object"},"strict":true}}),
            json!({"type":"function","function":{"name":"g","parameters":{}}}),
        ])
    );
}

#[test]
fn blocks_become_messages() {
    let c = ok(&body(
        r#"[{"role":"system","content":[{"type":"text","text":"sys"}]},
            {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
            {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking","data":"d"},
              {"type":"tool_use","id":"c1","name":"f","input":{}},{"type":"tool_use","id":"c2","name":"g","input":[1]}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":[{"type":"text","text":"x"},{"type":"text","text":"y"}]},
              {"type":"tool_result","tool_use_id":"c2","is_error":true}]},
            {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"}]},
            {"role":"assistant","content":""},
            {"role":"assistant","content":"prefill"}]"#,
        "",
    ));
    assert_eq!(
        c.messages,
        vec![
            msg(Role::System, "sys"),
            msg(Role::User, "a\nb"),
            calls("", &[("c1", "f", "{}"), ("c2", "g", "[1]")]),
            result("c1", "x\ny"),
            result("c2", ""),
            msg(Role::Assistant, "prefill"),
        ]
    );
}

#[test]
fn unsupported_content_and_parameters() {
    for kind in ["image", "document", "search_result", "server_tool_use"] {
        check_err(
            &blocks(
                "user",
                &format!(r#"[{{"type":"text","text":"a"}},{{"type":"{kind}"}}]"#),
            ),
            (
                "unsupported_content",
                "messages[0].content[1]",
                &format!(
                    "messages[0].content[1]: `{kind}` blocks are not supported yet; send text"
                ),
            ),
        );
    }
    check_err(
        &blocks(
            "user",
            r#"[{"type":"tool_result","tool_use_id":"c","content":[{"type":"text","text":"a"},{"type":"image","source":{}}]}]"#,
        ),
        (
            "unsupported_content",
            "messages[0].content[0].content[1]",
            "messages[0].content[0].content[1]: `image` blocks are not supported yet; send text",
        ),
    );
    check_err(
        &with(
            r#""tools":[{"name":"f","input_schema":{}},{"type":"web_search_20250305","name":"web_search"}]"#,
        ),
        (
            "unsupported_parameter",
            "tools[1].type",
            "tools[1].type: `web_search_20250305` tools are not supported; only custom tools are",
        ),
    );
    check_err(
        &with(r#""stop_sequences":["a","b","c","d","e"]"#),
        (
            "unsupported_parameter",
            "stop_sequences",
            "stop_sequences: at most 4 stop sequences are supported",
        ),
    );
    assert_eq!(
        ok(&with(r#""stop_sequences":["a","b","c","d"]"#))
            .options
            .stop
            .len(),
        4
    );
}

#[test]
fn invalid_requests_name_the_field() {
    let table: &[(&str, (&str, &str, &str))] = &[
        (r#"{"max_tokens":1,"messages":[{"role":"user","content":"hi"}]}"#, ("invalid_request", "model", "model: is required")),
        (r#"{"model":"","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}"#, ("invalid_request", "model", "model: must not be empty")),
        (r#"{"model":"a b","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}"#, ("invalid_request", "model", "model: `a b` is not a model id (printable ASCII, no spaces, <= 200 chars)")),
        (r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#, ("invalid_request", "max_tokens", "max_tokens: is required")),
        (r#"{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}"#, ("invalid_request", "max_tokens", "max_tokens: must be between 1 and 1000000")),
        (r#"{"model":"m","max_tokens":1000001,"messages":[{"role":"user","content":"hi"}]}"#, ("invalid_request", "max_tokens", "max_tokens: must be between 1 and 1000000")),
        (r#"{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}"#, ("invalid_request", "max_tokens", "max_tokens: invalid type: floating point `1.5`, expected i64")),
        (r#"{"model":"m","max_tokens":1}"#, ("invalid_request", "messages", "messages: is required")),
        (r#"{"model":"m","max_tokens":1,"messages":[]}"#, ("invalid_request", "messages", "messages: must not be empty")),
        (r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"n":2}"#, ("invalid_request", "n", "n: unknown field `n`, expected one of `model`, `max_tokens`, `messages`, `system`, `stop_sequences`, `temperature`, `top_p`, `top_k`, `stream`, `metadata`, `tools`, `tool_choice`, `thinking`, `service_tier`")),
        ("[]", ("invalid_request", "", "body must be a JSON object")),
        ("{", ("invalid_json", "", "body is not valid JSON: EOF while parsing an object at line 1 column 1")),
    ];
    for (b, expected) in table {
        check_err(b, *expected);
    }
    let fields: &[(&str, (&str, &str, &str))] = &[
        (r#""temperature":1.5"#, ("invalid_request", "temperature", "temperature: must be between 0 and 1")),
        (r#""temperature":-0.1"#, ("invalid_request", "temperature", "temperature: must be between 0 and 1")),
        (r#""top_p":2"#, ("invalid_request", "top_p", "top_p: must be between 0 and 1")),
        (r#""top_k":-1"#, ("invalid_request", "top_k", "top_k: must not be negative")),
        (r#""top_k":"5""#, ("invalid_request", "top_k", "top_k: invalid type: string \"5\", expected i64")),
        (r#""stream":"yes""#, ("invalid_request", "stream", "stream: invalid type: string \"yes\", expected a boolean")),
        (r#""stop_sequences":"END""#, ("invalid_request", "stop_sequences", "stop_sequences: invalid type: string \"END\", expected a sequence")),
        (r#""stop_sequences":[1]"#, ("invalid_request", "stop_sequences[0]", "stop_sequences[0]: invalid type: integer `1`, expected a string")),
        (r#""thinking":true"#, ("invalid_request", "thinking", "thinking: invalid type: boolean `true`, expected a map")),
        (r#""service_tier":1"#, ("invalid_request", "service_tier", "service_tier: invalid type: integer `1`, expected a string")),
        (r#""metadata":{"user":"u"}"#, ("invalid_request", "metadata.user", "metadata.user: unknown field `user`, expected `user_id`")),
        (r#""metadata":{"user_id":5}"#, ("invalid_request", "metadata.user_id", "metadata.user_id: invalid type: integer `5`, expected a string")),
        (r#""metadata":"u""#, ("invalid_request", "metadata", "metadata: invalid type: string \"u\", expected a map")),
        (r#""system":5"#, ("invalid_request", "system", "system: invalid type: integer `5`, expected a string or a sequence")),
        (r#""system":[{"type":"image"}]"#, ("invalid_request", "system[0].type", "system[0].type: must be `text`")),
        (r#""system":[{"text":"x"}]"#, ("invalid_request", "system[0].type", "system[0].type: is required")),
        (r#""system":[{"type":"text"}]"#, ("invalid_request", "system[0].text", "system[0].text: is required")),
        (r#""system":["x"]"#, ("invalid_request", "system[0]", "system[0]: invalid type: string \"x\", expected a map")),
        (r#""tools":{}"#, ("invalid_request", "tools", "tools: invalid type: map, expected a sequence")),
        (r#""tools":[1]"#, ("invalid_request", "tools[0]", "tools[0]: invalid type: integer `1`, expected a map")),
        (r#""tools":[{"input_schema":{}}]"#, ("invalid_request", "tools[0].name", "tools[0].name: is required")),
        (r#""tools":[{"name":"f"}]"#, ("invalid_request", "tools[0].input_schema", "tools[0].input_schema: is required")),
        (r#""tools":[{"name":"f","input_schema":[]}]"#, ("invalid_request", "tools[0].input_schema", "tools[0].input_schema: invalid type: sequence, expected a map")),
        (r#""tools":[{"name":"f","input_schema":{},"description":1}]"#, ("invalid_request", "tools[0].description", "tools[0].description: invalid type: integer `1`, expected a string")),
        (r#""tools":[{"name":"f","input_schema":{},"strict":"y"}]"#, ("invalid_request", "tools[0].strict", "tools[0].strict: invalid type: string \"y\", expected a boolean")),
        (r#""tools":[{"name":"f","input_schema":{},"x":1}]"#, ("invalid_request", "tools[0].x", "tools[0].x: unknown field `x`, expected one of `type`, `name`, `description`, `input_schema`, `cache_control`, `strict`")),
        (r#""tool_choice":"auto""#, ("invalid_request", "tool_choice", "tool_choice: invalid type: string \"auto\", expected a map")),
        (r#""tool_choice":{}"#, ("invalid_request", "tool_choice.type", "tool_choice.type: is required")),
        (r#""tool_choice":{"type":"required"}"#, ("invalid_request", "tool_choice.type", "tool_choice.type: `required` is not one of `auto`, `any`, `tool`, `none`")),
        (r#""tool_choice":{"type":"tool"}"#, ("invalid_request", "tool_choice.name", "tool_choice.name: is required")),
        (r#""tool_choice":{"type":"auto","x":1}"#, ("invalid_request", "tool_choice.x", "tool_choice.x: unknown field `x`, expected one of `type`, `name`, `disable_parallel_tool_use`")),
        (r#""tool_choice":{"type":"auto","disable_parallel_tool_use":1}"#, ("invalid_request", "tool_choice.disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use: invalid type: integer `1`, expected a boolean")),
    ];
    for (extra, expected) in fields {
        check_err(&with(extra), *expected);
    }
    check_err(
        &with(&format!(
            r#""metadata":{{"user_id":"{}"}}"#,
            "u".repeat(257)
        )),
        (
            "invalid_request",
            "metadata.user_id",
            "metadata.user_id: must be at most 256 bytes",
        ),
    );
    assert!(parse(
        with(&format!(
            r#""metadata":{{"user_id":"{}"}}"#,
            "u".repeat(256)
        ))
        .as_bytes()
    )
    .is_ok());
    let c = ok(&with(r#""temperature":1,"top_p":0,"max_tokens":1000000"#));
    assert_eq!(
        (c.options.temperature, c.options.top_p),
        (Some(1.0), Some(0.0))
    );
}

#[test]
fn invalid_messages_and_blocks() {
    let table: &[(&str, (&str, &str, &str))] = &[
        (r#"["hi"]"#, ("invalid_request", "messages[0]", "messages[0]: invalid type: string \"hi\", expected a map")),
        (r#"[{"content":"x"}]"#, ("invalid_request", "messages[0].role", "messages[0].role: is required")),
        (r#"[{"role":"tool","content":"x"}]"#, ("invalid_request", "messages[0].role", "messages[0].role: `tool` is not one of `user`, `assistant`, `system`")),
        (r#"[{"role":"user"}]"#, ("invalid_request", "messages[0].content", "messages[0].content: is required")),
        (r#"[{"role":"user","content":"x","name":"n"}]"#, ("invalid_request", "messages[0].name", "messages[0].name: unknown field `name`, expected `role` or `content`")),
        (r#"[{"role":"user","content":5}]"#, ("invalid_request", "messages[0].content", "messages[0].content: invalid type: integer `5`, expected a string or a sequence")),
        (r#"[{"role":"user","content":" "}]"#, ("invalid_request", "messages[0].content", "messages[0].content: must not be empty")),
        (r#"[{"role":"user","content":[]}]"#, ("invalid_request", "messages[0].content", "messages[0].content: must not be empty")),
        (r#"[{"role":"user","content":[{"type":"thinking","thinking":"t"}]}]"#, ("invalid_request", "messages[0].content", "messages[0].content: must not be empty")),
        (r#"[{"role":"system","content":""}]"#, ("invalid_request", "messages[0].content", "messages[0].content: must not be empty")),
        (r#"[{"role":"user","content":[1]}]"#, ("invalid_request", "messages[0].content[0]", "messages[0].content[0]: invalid type: integer `1`, expected a map")),
        (r#"[{"role":"user","content":[{"text":"x"}]}]"#, ("invalid_request", "messages[0].content[0].type", "messages[0].content[0].type: is required")),
        (r#"[{"role":"user","content":[{"type":"text"}]}]"#, ("invalid_request", "messages[0].content[0].text", "messages[0].content[0].text: is required")),
        (r#"[{"role":"user","content":[{"type":"tool_use","id":"c","name":"f","input":{}}]}]"#, ("invalid_request", "messages[0].content[0]", "messages[0].content[0]: `tool_use` blocks belong in `assistant` messages")),
        (r#"[{"role":"system","content":[{"type":"tool_use","id":"c","name":"f","input":{}}]}]"#, ("invalid_request", "messages[0].content[0]", "messages[0].content[0]: `tool_use` blocks belong in `assistant` messages")),
        (r#"[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"c"}]}]"#, ("invalid_request", "messages[0].content[0]", "messages[0].content[0]: `tool_result` blocks belong in `user` messages")),
        (r#"[{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]"#, ("invalid_request", "messages[0].content[0].id", "messages[0].content[0].id: is required")),
        (r#"[{"role":"assistant","content":[{"type":"tool_use","id":"c","input":{}}]}]"#, ("invalid_request", "messages[0].content[0].name", "messages[0].content[0].name: is required")),
        (r#"[{"role":"assistant","content":[{"type":"tool_use","id":"c","name":"f"}]}]"#, ("invalid_request", "messages[0].content[0].input", "messages[0].content[0].input: is required")),
        (r#"[{"role":"user","content":[{"type":"tool_result"}]}]"#, ("invalid_request", "messages[0].content[0].tool_use_id", "messages[0].content[0].tool_use_id: is required")),
        (r#"[{"role":"user","content":[{"type":"tool_result","tool_use_id":"c","is_error":"no"}]}]"#, ("invalid_request", "messages[0].content[0].is_error", "messages[0].content[0].is_error: invalid type: string \"no\", expected a boolean")),
        (r#"[{"role":"user","content":[{"type":"tool_result","tool_use_id":"c","content":5}]}]"#, ("invalid_request", "messages[0].content[0].content", "messages[0].content[0].content: invalid type: integer `5`, expected a string or a sequence")),
        (r#"[{"role":"user","content":[{"type":"tool_result","tool_use_id":"c","content":[{"text":"x"}]}]}]"#, ("invalid_request", "messages[0].content[0].content[0].type", "messages[0].content[0].content[0].type: is required")),
        (r#"[{"role":"user","content":[{"type":"tool_result","tool_use_id":"c","content":["x"]}]}]"#, ("invalid_request", "messages[0].content[0].content[0]", "messages[0].content[0].content[0]: invalid type: string \"x\", expected a map")),
        (r#"[{"role":"user","content":[{"type":"tool_result","tool_use_id":"c","content":[{"type":"text"}]}]}]"#, ("invalid_request", "messages[0].content[0].content[0].text", "messages[0].content[0].content[0].text: is required")),
    ];
    for (messages, expected) in table {
        check_err(&body(messages, ""), *expected);
    }
    // A user message of tool results alone, and tool results with a string content.
    let c = ok(&blocks(
        "user",
        r#"[{"type":"tool_result","tool_use_id":"c","content":"ok"}]"#,
    ));
    assert_eq!(c.messages, vec![result("c", "ok")]);
}
