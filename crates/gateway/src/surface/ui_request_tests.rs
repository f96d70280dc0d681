//! Table tests of the `useChat` request parser, from literal bodies.

use super::*;

fn ok(body: &str) -> UiRequest {
    parse(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e:?}"))
}

/// Expects `body` to fail; compares `(code, field, message)`.
fn check_err(body: &str, expected: (&str, &str, &str)) {
    let got = match parse(body.as_bytes()) {
        Ok(r) => panic!("expected an error for {body}, got {r:?}"),
        Err(Error::InvalidRequest { field, message }) => {
            ("invalid_request", field.unwrap_or_default(), message)
        }
        Err(Error::UnsupportedContent { field, message }) => {
            ("unsupported_content", field, message)
        }
        Err(Error::InvalidJson { message }) => ("invalid_json", String::new(), message),
        Err(e) => panic!("unexpected {e:?}"),
    };
    assert_eq!((got.0, got.1.as_str(), got.2.as_str()), expected, "{body}");
}

/// A body with these messages (JSON text of the array) and the usual chat fields.
fn body(messages: &str) -> String {
    format!(r#"{{"id":"chat-1","trigger":"submit-message","messages":{messages}}}"#)
}

/// A body whose one user message has these parts.
fn user_parts(parts: &str) -> String {
    body(&format!(r#"[{{"id":"u1","role":"user","parts":{parts}}}]"#))
}

/// A body with a user question and one assistant message with these parts.
fn assistant_parts(parts: &str) -> String {
    body(&format!(
        r#"[{{"id":"u1","role":"user","parts":[{{"type":"text","text":"q"}}]}},
            {{"id":"a1","role":"assistant","parts":{parts}}}]"#
    ))
}

fn user(text: &str) -> Message {
    Message::text(Role::User, text)
}

fn assistant(text: &str, calls: &[(&str, &str, &str)]) -> Message {
    let mut m = Message::text(Role::Assistant, text);
    m.tool_calls = calls
        .iter()
        .map(|(id, name, arguments)| ToolCall {
            id: (*id).into(),
            name: (*name).into(),
            arguments: (*arguments).into(),
        })
        .collect();
    m
}

fn tool(id: &str, content: &str) -> Message {
    let mut m = Message::text(Role::Tool, content);
    m.tool_call_id = Some(id.into());
    m
}

fn ids(list: &[(&str, u32)]) -> Vec<MessageId> {
    list.iter()
        .map(|(ui_id, ordinal)| MessageId {
            ui_id: (*ui_id).into(),
            ordinal: *ordinal,
        })
        .collect()
}

#[test]
fn a_first_turn() {
    let r = ok(r#"{"id":"Yb2vUQ2h7vO4pKxa","trigger":"submit-message","messages":[
        {"id":"Qm1n8sT0aLkq3VfE","role":"user","parts":[{"type":"text","text":"What is the weather?"}]}]}"#);
    assert_eq!(
        r,
        UiRequest {
            conv: Conversation {
                messages: vec![user("What is the weather?")],
                stream: true,
                ..Conversation::default()
            },
            chat_id: "Yb2vUQ2h7vO4pKxa".into(),
            trigger: Trigger::SubmitMessage,
            message_id: None,
            message_ids: ids(&[("Qm1n8sT0aLkq3VfE", 0)]),
            continues: None,
        }
    );
}

#[test]
fn gateway_fields_and_app_fields() {
    let r = ok(r#"{"id":"c:1","messages":[{"id":"u","role":"user","parts":[{"type":"text","text":"hi"}]}],
        "trigger":"regenerate-message","messageId":"a9","model":"fast","maxTokens":64,"temperature":0.5,
        "appField":{"x":1},"sessionId":7}"#);
    assert_eq!(r.trigger, Trigger::RegenerateMessage);
    assert_eq!(r.message_id.as_deref(), Some("a9"));
    assert_eq!(r.conv.model.as_deref(), Some("fast"));
    assert_eq!(r.conv.options.max_tokens, Some(64));
    assert_eq!(r.conv.options.temperature, Some(0.5));
    assert_eq!(r.conv.session_id, None);
    // Without `trigger` (a custom transport) the request is a submit; an empty model is the default.
    let r = ok(r#"{"id":"c","model":"","messages":[{"id":"u","role":"user","parts":[{"type":"text","text":"hi"}]}]}"#);
    assert_eq!((r.trigger, r.conv.model), (Trigger::SubmitMessage, None));
    assert_eq!(r.conv.options, Options::default());
    assert!(r.conv.stream);
}

#[test]
fn a_tool_round_trip_continues_the_assistant_message() {
    let r = ok(&assistant_parts(
        r#"[{"type":"step-start"},{"type":"text","text":"Let me look."},
            {"type":"tool-getLocation","toolCallId":"call_1","state":"output-available","input":{"precise":true},"output":"Berlin","title":null},
            {"type":"dynamic-tool","toolName":"lookup","toolCallId":"call_2","state":"output-available","input":{},"output":{"temp":21}},
            {"type":"step-start"},{"type":"reasoning","text":"hmm"},{"type":"text","text":"Berlin, 21C."},
            {"type":"step-start"},{"type":"data-usage","data":{"x":1}}]"#,
    ));
    assert_eq!(
        r.conv.messages,
        vec![
            user("q"),
            assistant(
                "Let me look.",
                &[
                    ("call_1", "getLocation", r#"{"precise":true}"#),
                    ("call_2", "lookup", "{}"),
                ]
            ),
            tool("call_1", "Berlin"),
            tool("call_2", r#"{"temp":21}"#),
            assistant("Berlin, 21C.", &[]),
        ]
    );
    assert_eq!(
        r.message_ids,
        ids(&[("u1", 0), ("a1", 0), ("a1", 1), ("a1", 2), ("a1", 3)])
    );
    assert_eq!(r.continues.as_deref(), Some("a1"));
}

#[test]
fn tool_outputs_errors_and_denials() {
    let r = ok(&assistant_parts(
        r#"[{"type":"tool-a","toolCallId":"c1","state":"output-error","rawInput":"{\"x\"","errorText":"boom"},
            {"type":"tool-b","toolCallId":"c2","state":"output-error","rawInput":{"y":2},"errorText":"bad"},
            {"type":"tool-c","toolCallId":"c3","state":"output-denied","input":{"z":3},"approval":{"id":"ap","approved":false,"reason":"no thanks"}},
            {"type":"tool-d","toolCallId":"c4","state":"output-denied","approval":{"id":"ap2","approved":false}},
            {"type":"tool-e","toolCallId":"c5","state":"output-denied"},
            {"type":"tool-f","toolCallId":"c6","state":"output-available"},
            {"type":"tool-g","toolCallId":"c7","state":"output-available","input":null,"output":null},
            {"type":"tool-h","toolCallId":"c8","state":"input-streaming","input":{"partial":1}}]"#,
    ));
    assert_eq!(
        r.conv.messages[1..],
        [
            assistant(
                "",
                &[
                    ("c1", "a", "{\"x\""),
                    ("c2", "b", r#"{"y":2}"#),
                    ("c3", "c", r#"{"z":3}"#),
                    ("c4", "d", "{}"),
                    ("c5", "e", "{}"),
                    ("c6", "f", "{}"),
                    ("c7", "g", "{}"),
                ]
            ),
            tool("c1", "boom"),
            tool("c2", "bad"),
            tool("c3", "no thanks"),
            tool("c4", "Tool execution denied."),
            tool("c5", "Tool execution denied."),
            tool("c6", "null"),
            tool("c7", "null"),
        ]
    );
}

#[test]
fn parts_the_model_is_not_sent() {
    let r = ok(&user_parts(
        r#"[{"type":"data-x","data":1},{"type":"source-url","sourceId":"s","url":"u"},
            {"type":"source-document","sourceId":"d","mediaType":"m","title":"t"},{"type":"step-start"},
            {"type":"reasoning","text":"r"},{"type":"reasoning-file","url":"u"},
            {"type":"text","text":"a","state":"done","extra":true},{"type":"text","text":""},{"type":"text","text":"b"}]"#,
    ));
    assert_eq!(r.conv.messages, vec![user("a\nb")]);
    // An assistant message with nothing for the model makes no message.
    let r = ok(&assistant_parts(
        r#"[{"type":"step-start"},{"type":"reasoning","text":"r"},{"type":"step-start"}]"#,
    ));
    assert_eq!((r.conv.messages.len(), r.message_ids.len()), (1, 1));
    assert_eq!(r.continues.as_deref(), Some("a1"));
}

#[test]
fn system_messages_and_the_message_after_an_assistant_one() {
    let r = ok(&body(
        r#"[{"id":"s","role":"system","parts":[{"type":"text","text":"be brief"}]},
            {"id":"u1","role":"user","parts":[{"type":"text","text":"hi"}],"metadata":{"k":1}},
            {"id":"a1","role":"assistant","parts":[{"type":"text","text":"hello"}]},
            {"id":"u2","role":"user","parts":[{"type":"text","text":"more"}]}]"#,
    ));
    assert_eq!(
        r.conv.messages,
        vec![
            Message::text(Role::System, "be brief"),
            user("hi"),
            assistant("hello", &[]),
            user("more"),
        ]
    );
    assert_eq!(
        r.message_ids,
        ids(&[("s", 0), ("u1", 0), ("a1", 0), ("u2", 0)])
    );
    assert_eq!(r.continues, None);
}

#[test]
fn refused_content_names_the_part() {
    check_err(
        &user_parts(r#"[{"type":"file","mediaType":"image/png","url":"data:x"},{"type":"text","text":"hi"}]"#),
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
    let tool_part = |fields: &str| assistant_parts(&format!(r#"[{{{fields}}}]"#));
    check_err(
        &tool_part(r#""type":"tool-a","toolCallId":"c","state":"input-available","input":{}"#),
        ("invalid_request", "messages[1].parts[0].state", "messages[1].parts[0].state: the tool call has no output yet (`input-available`); add its output before sending, or leave the part out"),
    );
    check_err(
        &tool_part(r#""type":"tool-a","toolCallId":"c","state":"approval-requested""#),
        ("invalid_request", "messages[1].parts[0].state", "messages[1].parts[0].state: the tool call has no output yet (`approval-requested`); add its output before sending, or leave the part out"),
    );
    check_err(
        &tool_part(r#""type":"tool-a","toolCallId":"c","state":"approval-responded""#),
        ("invalid_request", "messages[1].parts[0].state", "messages[1].parts[0].state: the tool call has no output yet (`approval-responded`); add its output before sending, or leave the part out"),
    );
    check_err(
        &tool_part(r#""type":"tool-a","toolCallId":"c","state":"done""#),
        (
            "invalid_request",
            "messages[1].parts[0].state",
            "messages[1].parts[0].state: `done` is not a tool part state",
        ),
    );
    check_err(
        &tool_part(r#""type":"tool-","toolCallId":"c","state":"output-available""#),
        (
            "invalid_request",
            "messages[1].parts[0].type",
            "messages[1].parts[0].type: a tool part is `tool-<name>`",
        ),
    );
    check_err(
        &tool_part(r#""type":"tool-a","state":"output-available""#),
        (
            "invalid_request",
            "messages[1].parts[0].toolCallId",
            "messages[1].parts[0].toolCallId: is required",
        ),
    );
    check_err(
        &tool_part(r#""type":"tool-a","toolCallId":"c""#),
        (
            "invalid_request",
            "messages[1].parts[0].state",
            "messages[1].parts[0].state: is required",
        ),
    );
    check_err(
        &tool_part(r#""type":"dynamic-tool","toolCallId":"c","state":"output-available""#),
        (
            "invalid_request",
            "messages[1].parts[0].toolName",
            "messages[1].parts[0].toolName: is required",
        ),
    );
    check_err(
        &tool_part(r#""type":"tool-a","toolCallId":"c","state":"output-error""#),
        (
            "invalid_request",
            "messages[1].parts[0].errorText",
            "messages[1].parts[0].errorText: is required",
        ),
    );
    check_err(
        &tool_part(r#""type":"tool-a","toolCallId":"c","state":"output-denied","approval":{"reason":5}"#),
        (
            "invalid_request",
            "messages[1].parts[0].approval.reason",
            "messages[1].parts[0].approval.reason: invalid type: integer `5`, expected a string",
        ),
    );
    check_err(
        &user_parts(r#"[{"type":"text","text":"x"},{"type":"tool-a","toolCallId":"c","state":"output-available"}]"#),
        (
            "invalid_request",
            "messages[0].parts[1]",
            "messages[0].parts[1]: only `assistant` messages hold tool parts",
        ),
    );
}

#[test]
fn bad_bodies_and_messages() {
    let one = r#"[{"id":"u","role":"user","parts":[{"type":"text","text":"hi"}]}]"#;
    check_err(
        &format!(r#"{{"messages":{one}}}"#),
        ("invalid_request", "id", "id: is required"),
    );
    check_err(
        &format!(r#"{{"id":"a b","messages":{one}}}"#),
        ("invalid_request", "id", "id: must be 1-128 characters of letters, digits, `-`, `_`, `.`, `:`, and not `.` or `..` (a URL path cannot address them)"),
    );
    check_err(
        &format!(r#"{{"id":"c","trigger":"resume-stream","messages":{one}}}"#),
        (
            "invalid_request",
            "trigger",
            "trigger: `resume-stream` is not one of `submit-message`, `regenerate-message`",
        ),
    );
    check_err(
        &format!(r#"{{"id":"c","messageId":1,"messages":{one}}}"#),
        (
            "invalid_request",
            "messageId",
            "messageId: invalid type: integer `1`, expected a string",
        ),
    );
    check_err(
        &format!(r#"{{"id":"c","model":"a b","messages":{one}}}"#),
        (
            "invalid_request",
            "model",
            "model: `a b` is not a model id (printable ASCII, no spaces, <= 200 chars)",
        ),
    );
    for n in ["0", "1000001"] {
        check_err(
            &format!(r#"{{"id":"c","maxTokens":{n},"messages":{one}}}"#),
            (
                "invalid_request",
                "maxTokens",
                "maxTokens: must be between 1 and 1000000",
            ),
        );
    }
    assert_eq!(
        ok(&format!(r#"{{"id":"c","maxTokens":1000000,"temperature":5,"messages":{one}}}"#))
            .conv
            .options
            .max_tokens,
        Some(1_000_000)
    );
    for t in ["-0.1", "5.01"] {
        check_err(
            &format!(r#"{{"id":"c","temperature":{t},"messages":{one}}}"#),
            (
                "invalid_request",
                "temperature",
                "temperature: must be between 0 and 5",
            ),
        );
    }
    check_err(
        r#"{"id":"c"}"#,
        ("invalid_request", "messages", "messages: is required"),
    );
    check_err(
        r#"{"id":"c","messages":[]}"#,
        ("invalid_request", "messages", "messages: must not be empty"),
    );
    check_err(
        r#"{"id":"c","messages":["hi"]}"#,
        (
            "invalid_request",
            "messages[0]",
            "messages[0]: invalid type: string \"hi\", expected a map",
        ),
    );
    check_err(
        &body(r#"[{"role":"user","parts":[]}]"#),
        ("invalid_request", "messages[0].id", "messages[0].id: is required"),
    );
    check_err(
        &body(r#"[{"id":"u","role":"tool","parts":[]}]"#),
        (
            "invalid_request",
            "messages[0].role",
            "messages[0].role: `tool` is not one of `system`, `user`, `assistant`",
        ),
    );
    check_err(
        &body(r#"[{"id":"u","role":"user","content":"hi"}]"#),
        ("invalid_request", "messages[0].parts", "messages[0].parts: is required"),
    );
    check_err(
        &user_parts(r#"[{"type":"text","text":" "},{"type":"data-x","data":1}]"#),
        (
            "invalid_request",
            "messages[0].parts",
            "messages[0].parts: must contain a non-empty `text` part",
        ),
    );
    check_err(
        &body(r#"[{"id":"s","role":"system","parts":[]},{"id":"u","role":"user","parts":[{"type":"text","text":"x"}]}]"#),
        (
            "invalid_request",
            "messages[0].parts",
            "messages[0].parts: must contain a non-empty `text` part",
        ),
    );
    check_err(
        &user_parts(r#"[{"type":"text"}]"#),
        (
            "invalid_request",
            "messages[0].parts[0].text",
            "messages[0].parts[0].text: is required",
        ),
    );
    check_err(
        &user_parts(r#"[{"text":"x"}]"#),
        (
            "invalid_request",
            "messages[0].parts[0].type",
            "messages[0].parts[0].type: is required",
        ),
    );
    check_err(
        &user_parts(r#"[7]"#),
        (
            "invalid_request",
            "messages[0].parts[0]",
            "messages[0].parts[0]: invalid type: integer `7`, expected a map",
        ),
    );
    check_err(
        &body(r#"[{"id":"s","role":"system","parts":[{"type":"text","text":"x"}]},{"id":"a","role":"assistant","parts":[{"type":"text","text":"y"}]}]"#),
        (
            "invalid_request",
            "messages",
            "messages: must contain a `user` message or a tool output",
        ),
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
fn a_tool_output_alone_is_a_question() {
    let r = ok(&body(
        r#"[{"id":"a1","role":"assistant","parts":[{"type":"tool-f","toolCallId":"c","state":"output-available","input":{},"output":"x"}]}]"#,
    ));
    assert_eq!(
        r.conv.messages,
        vec![assistant("", &[("c", "f", "{}")]), tool("c", "x")]
    );
}
