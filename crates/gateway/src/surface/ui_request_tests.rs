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
    let r = ok(
        r#"{"id":"Yb2vUQ2h7vO4pKxa","trigger":"submit-message","messages":[
        {"id":"Qm1n8sT0aLkq3VfE","role":"user","parts":[{"type":"text","text":"What is the weather?"}]}]}"#,
    );
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
    let r = ok(
        r#"{"id":"c:1","messages":[{"id":"u","role":"user","parts":[{"type":"text","text":"hi"}]}],
        "trigger":"regenerate-message","messageId":"a9","model":"fast","maxTokens":64,"temperature":0.5,
        "appField":{"x":1},"sessionId":7}"#,
    );
    assert_eq!(r.trigger, Trigger::RegenerateMessage);
    assert_eq!(r.message_id.as_deref(), Some("a9"));
    assert_eq!(r.conv.model.as_deref(), Some("fast"));
    assert_eq!(r.conv.options.max_tokens, Some(64));
    assert_eq!(r.conv.options.temperature, Some(0.5));
    assert_eq!(r.conv.session_id, None);
    // Without `trigger` (a custom transport) the request is a submit; an empty model is the default.
    let r = ok(
        r#"{"id":"c","model":"","messages":[{"id":"u","role":"user","parts":[{"type":"text","text":"hi"}]}]}"#,
    );
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
fn a_tool_output_alone_is_a_question() {
    let r = ok(&body(
        r#"[{"id":"a1","role":"assistant","parts":[{"type":"tool-f","toolCallId":"c","state":"output-available","input":{},"output":"x"}]}]"#,
    ));
    assert_eq!(
        r.conv.messages,
        vec![assistant("", &[("c", "f", "{}")]), tool("c", "x")]
    );
}

#[path = "ui_request_refusal_tests.rs"]
mod refusals;
