//! A grounded answer's sources on each surface's stream: `/chat`'s `sources` event before the
//! first token, `/v1`'s last chunk before `[DONE]`, `/ui/chat`'s source parts before the text.

use knowledge::{DocId, Source};
use serde_json::{json, Value};

use super::anthropic::AnthropicEncoder;
use super::native::NativeEncoder;
use super::openai::OpenAiEncoder;
use super::responses::ResponsesEncoder;
use super::responses_request::Echo;
use super::ui::UiEncoder;
use super::{sources_json, AnswerMeta, Encoder, StreamEnd};
use crate::events::{FinishReason, ModelEvent};
use crate::usage::TokenReport;

fn sources() -> Vec<Source> {
    let source = |n: u32, doc: &str, url: Option<&str>| Source {
        n,
        doc_id: DocId::parse(doc).unwrap(),
        title: Some(format!("Title {n}")),
        url: url.map(str::to_string),
        chunk: n * 2,
        score: 0.5,
        vector_score: Some(0.9),
        snippet: "snip".into(),
        text: "the whole chunk text, never sent to clients".into(),
    };
    vec![
        source(1, "budgets", Some("https://a.example/b")),
        source(2, "keys", None),
    ]
}

fn meta(sources: Option<&[Source]>) -> AnswerMeta<'_> {
    AnswerMeta {
        model: "m",
        fallback: false,
        trace_id: "t",
        session_id: None,
        created_s: 1,
        latency_ms: 2,
        ttft_ms: Some(1),
        history_messages: None,
        max_tokens_reduced: None,
        sources,
    }
}

fn stream(mut e: Box<dyn Encoder>, meta: &AnswerMeta<'_>) -> String {
    let mut out = Vec::new();
    e.stream_start(meta, &mut out);
    e.stream_event(&ModelEvent::Text("Hi [1]".into()), &mut out);
    let end = StreamEnd::Finished {
        finish: FinishReason::Stop,
        usage: TokenReport::default(),
    };
    e.stream_end(&end, meta, &mut out);
    String::from_utf8(out).unwrap()
}

fn public(list: &[Source]) -> Value {
    json!(list.iter().map(Source::to_json).collect::<Vec<_>>())
}

#[test]
fn sources_json_is_the_public_shape_or_none() {
    let list = sources();
    assert_eq!(sources_json(&meta(Some(&list))), Some(public(&list)));
    assert_eq!(sources_json(&meta(None)), None);
    assert!(
        !public(&list).to_string().contains("never sent"),
        "no chunk text"
    );
}

#[test]
fn chat_streams_open_with_a_sources_event() {
    let list = sources();
    let out = stream(Box::new(NativeEncoder::default()), &meta(Some(&list)));
    let first = out.split("\n\n").next().unwrap();
    let data = first.strip_prefix("event: sources\ndata: ").expect(&out);
    assert_eq!(
        serde_json::from_str::<Value>(data).unwrap(),
        json!({"sources": public(&list)})
    );
    assert!(out.find("event: sources").unwrap() < out.find("event: token").unwrap());
    let plain = stream(Box::new(NativeEncoder::default()), &meta(None));
    assert!(!plain.contains("sources"), "{plain}");
}

#[test]
fn v1_streams_end_with_a_chunk_carrying_the_sources_before_done() {
    let list = sources();
    let out = stream(Box::new(OpenAiEncoder::new(false)), &meta(Some(&list)));
    let events: Vec<&str> = out.split("\n\n").filter(|s| !s.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let last: Value =
        serde_json::from_str(events[events.len() - 2].strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["object"], "chat.completion.chunk");
    assert_eq!(last["sources"], public(&list));
    let plain = stream(Box::new(OpenAiEncoder::new(false)), &meta(None));
    assert!(!plain.contains("sources"), "{plain}");
}

#[test]
fn ui_streams_carry_source_parts_before_the_text() {
    let list = sources();
    let out = stream(Box::new(UiEncoder::new("msg".into())), &meta(Some(&list)));
    let parts: Vec<Value> = out
        .split("\n\n")
        .filter_map(|s| serde_json::from_str(s.strip_prefix("data: ")?).ok())
        .collect();
    let kinds: Vec<&str> = parts.iter().filter_map(|p| p["type"].as_str()).collect();
    assert_eq!(
        kinds[..5],
        [
            "start",
            "start-step",
            "source-url",
            "source-document",
            "text-start"
        ]
    );
    assert_eq!(
        parts[2],
        json!({"type": "source-url", "sourceId": "budgets#2", "url": "https://a.example/b", "title": "Title 1"})
    );
    assert_eq!(
        parts[3],
        json!({"type": "source-document", "sourceId": "keys#4", "mediaType": "text/plain", "title": "Title 2", "filename": "keys"})
    );
    let plain = stream(Box::new(UiEncoder::new("msg".into())), &meta(None));
    assert!(!plain.contains("source-"), "{plain}");
}

#[test]
fn responses_and_messages_streams_carry_the_sources_on_their_response_objects() {
    let list = sources();
    let data = |out: &str| -> Vec<Value> {
        out.split("\n\n")
            .filter_map(|b| b.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect()
    };
    let out = stream(
        Box::new(ResponsesEncoder::new("resp_1".into(), Echo::default())),
        &meta(Some(&list)),
    );
    let done = data(&out)
        .into_iter()
        .find(|e| e["type"] == "response.completed")
        .expect(&out);
    assert_eq!(done["response"]["sources"], public(&list));
    let plain = stream(
        Box::new(ResponsesEncoder::new("resp_1".into(), Echo::default())),
        &meta(None),
    );
    assert!(!plain.contains("sources"), "{plain}");

    let out = stream(
        Box::new(AnthropicEncoder::new("msg_1".into())),
        &meta(Some(&list)),
    );
    let start = data(&out)
        .into_iter()
        .find(|e| e["type"] == "message_start")
        .expect(&out);
    assert_eq!(start["message"]["sources"], public(&list));
    let plain = stream(Box::new(AnthropicEncoder::new("msg_1".into())), &meta(None));
    assert!(!plain.contains("sources"), "{plain}");
}
