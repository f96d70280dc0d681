//! Refusals of the `useChat` request parser: each bad body, message and part with its exact error.

use super::*;

#[test]
fn refused_content_names_the_part() {
    check_err(
        &user_parts(
            r#"[{"type":"file","mediaType":"image/png","url":"data:x"},{"type":"text","text":"hi"}]"#,
        ),
        (
            "unsupported_content",
            "messages[0].parts[0]",
            "messages[0].parts[0]: `file` parts are not supported yet; send text",
        ),
    );
    check_err(
        &assistant_parts(r#"[{"type":"text","text":"a"},{"type":"custom","kind":"k"}]"#),
        (
            "unsupported_content",
            "messages[1].parts[1]",
            "messages[1].parts[1]: `custom` parts are not supported yet; send text",
        ),
    );
}

#[test]
fn tool_part_refusals() {
    let waiting = |state: &str| {
        format!("messages[1].parts[0].state: the tool call has no output yet (`{state}`); add its output before sending, or leave the part out")
    };
    let table: &[(&str, (&str, &str, &str))] = &[
        (r#""type":"tool-a","toolCallId":"c","state":"input-available","input":{}"#, ("invalid_request", "messages[1].parts[0].state", &waiting("input-available"))),
        (r#""type":"tool-a","toolCallId":"c","state":"approval-requested""#, ("invalid_request", "messages[1].parts[0].state", &waiting("approval-requested"))),
        (r#""type":"tool-a","toolCallId":"c","state":"approval-responded""#, ("invalid_request", "messages[1].parts[0].state", &waiting("approval-responded"))),
        (r#""type":"tool-a","toolCallId":"c","state":"done""#, ("invalid_request", "messages[1].parts[0].state", "messages[1].parts[0].state: `done` is not a tool part state")),
        (r#""type":"tool-","toolCallId":"c","state":"output-available""#, ("invalid_request", "messages[1].parts[0].type", "messages[1].parts[0].type: a tool part is `tool-<name>`")),
        (r#""type":"tool-a","state":"output-available""#, ("invalid_request", "messages[1].parts[0].toolCallId", "messages[1].parts[0].toolCallId: is required")),
        (r#""type":"tool-a","toolCallId":"c""#, ("invalid_request", "messages[1].parts[0].state", "messages[1].parts[0].state: is required")),
        (r#""type":"dynamic-tool","toolCallId":"c","state":"output-available""#, ("invalid_request", "messages[1].parts[0].toolName", "messages[1].parts[0].toolName: is required")),
        (r#""type":"tool-a","toolCallId":"c","state":"output-error""#, ("invalid_request", "messages[1].parts[0].errorText", "messages[1].parts[0].errorText: is required")),
        (r#""type":"tool-a","toolCallId":"c","state":"output-denied","approval":{"reason":5}"#, ("invalid_request", "messages[1].parts[0].approval.reason", "messages[1].parts[0].approval.reason: invalid type: integer `5`, expected a string")),
        (r#""type":"tool-a","toolCallId":"c","state":"output-denied","approval":true"#, ("invalid_request", "messages[1].parts[0].approval", "messages[1].parts[0].approval: invalid type: boolean `true`, expected a map")),
    ];
    for (fields, expected) in table {
        check_err(&assistant_parts(&format!("[{{{fields}}}]")), *expected);
    }
    check_err(
        &user_parts(
            r#"[{"type":"text","text":"x"},{"type":"tool-a","toolCallId":"c","state":"output-available"}]"#,
        ),
        (
            "invalid_request",
            "messages[0].parts[1]",
            "messages[0].parts[1]: only `assistant` messages hold tool parts",
        ),
    );
}

#[test]
fn bad_bodies() {
    let one = r#"[{"id":"u","role":"user","parts":[{"type":"text","text":"hi"}]}]"#;
    let table: &[(&str, (&str, &str, &str))] = &[
        (r#""trigger":"submit-message""#, ("invalid_request", "id", "id: is required")),
        (r#""id":"a b""#, ("invalid_request", "id", "id: must be 1-128 characters of letters, digits, `-`, `_`, `.`, `:`, and not `.` or `..` (a URL path cannot address them)")),
        (r#""id":7"#, ("invalid_request", "id", "id: invalid type: integer `7`, expected a string")),
        (r#""id":"c","trigger":"resume-stream""#, ("invalid_request", "trigger", "trigger: `resume-stream` is not one of `submit-message`, `regenerate-message`")),
        (r#""id":"c","messageId":1"#, ("invalid_request", "messageId", "messageId: invalid type: integer `1`, expected a string")),
        (r#""id":"c","model":"a b""#, ("invalid_request", "model", "model: `a b` is not a model id (printable ASCII, no spaces, <= 200 chars)")),
        (r#""id":"c","maxTokens":0"#, ("invalid_request", "maxTokens", "maxTokens: must be between 1 and 1000000")),
        (r#""id":"c","maxTokens":1000001"#, ("invalid_request", "maxTokens", "maxTokens: must be between 1 and 1000000")),
        (r#""id":"c","maxTokens":"9""#, ("invalid_request", "maxTokens", "maxTokens: invalid type: string \"9\", expected i64")),
        (r#""id":"c","temperature":-0.1"#, ("invalid_request", "temperature", "temperature: must be between 0 and 5")),
        (r#""id":"c","temperature":5.01"#, ("invalid_request", "temperature", "temperature: must be between 0 and 5")),
    ];
    for (fields, expected) in table {
        check_err(&format!(r#"{{{fields},"messages":{one}}}"#), *expected);
    }
    let r = ok(&format!(
        r#"{{"id":"c","maxTokens":1000000,"temperature":5,"messages":{one}}}"#
    ));
    assert_eq!(r.conv.options.max_tokens, Some(1_000_000));
    let r = ok(&format!(
        r#"{{"id":"c","maxTokens":1,"temperature":0,"messages":{one}}}"#
    ));
    assert_eq!(
        (r.conv.options.max_tokens, r.conv.options.temperature),
        (Some(1), Some(0.0))
    );
    check_err("[]", ("invalid_request", "", "body must be a JSON object"));
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
fn bad_messages() {
    let table: &[(&str, (&str, &str, &str))] = &[
        (
            r#"{"id":"c"}"#,
            ("invalid_request", "messages", "messages: is required"),
        ),
        (
            r#"{"id":"c","messages":[]}"#,
            ("invalid_request", "messages", "messages: must not be empty"),
        ),
        (
            r#"{"id":"c","messages":{}}"#,
            (
                "invalid_request",
                "messages",
                "messages: invalid type: map, expected a sequence",
            ),
        ),
        (
            r#"{"id":"c","messages":["hi"]}"#,
            (
                "invalid_request",
                "messages[0]",
                "messages[0]: invalid type: string \"hi\", expected a map",
            ),
        ),
        (
            &body(r#"[{"role":"user","parts":[]}]"#),
            (
                "invalid_request",
                "messages[0].id",
                "messages[0].id: is required",
            ),
        ),
        (
            &body(r#"[{"id":"u","parts":[]}]"#),
            (
                "invalid_request",
                "messages[0].role",
                "messages[0].role: is required",
            ),
        ),
        (
            &body(r#"[{"id":"u","role":"tool","parts":[]}]"#),
            (
                "invalid_request",
                "messages[0].role",
                "messages[0].role: `tool` is not one of `system`, `user`, `assistant`",
            ),
        ),
        (
            &body(r#"[{"id":"u","role":"user","content":"hi"}]"#),
            (
                "invalid_request",
                "messages[0].parts",
                "messages[0].parts: is required",
            ),
        ),
        (
            &user_parts(r#"[{"type":"text","text":" "},{"type":"data-x","data":1}]"#),
            (
                "invalid_request",
                "messages[0].parts",
                "messages[0].parts: must contain a non-empty `text` part",
            ),
        ),
        (
            &body(
                r#"[{"id":"s","role":"system","parts":[]},{"id":"u","role":"user","parts":[{"type":"text","text":"x"}]}]"#,
            ),
            (
                "invalid_request",
                "messages[0].parts",
                "messages[0].parts: must contain a non-empty `text` part",
            ),
        ),
        (
            &user_parts(r#"[{"type":"text"}]"#),
            (
                "invalid_request",
                "messages[0].parts[0].text",
                "messages[0].parts[0].text: is required",
            ),
        ),
        (
            &user_parts(r#"[{"text":"x"}]"#),
            (
                "invalid_request",
                "messages[0].parts[0].type",
                "messages[0].parts[0].type: is required",
            ),
        ),
        (
            &user_parts(r#"[7]"#),
            (
                "invalid_request",
                "messages[0].parts[0]",
                "messages[0].parts[0]: invalid type: integer `7`, expected a map",
            ),
        ),
        (
            &body(
                r#"[{"id":"s","role":"system","parts":[{"type":"text","text":"x"}]},{"id":"a","role":"assistant","parts":[{"type":"text","text":"y"}]}]"#,
            ),
            (
                "invalid_request",
                "messages",
                "messages: must contain a `user` message or a tool output",
            ),
        ),
    ];
    for (b, expected) in table {
        check_err(b, *expected);
    }
}
