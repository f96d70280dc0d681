//! Tests of the relay: chunks through decoder, fold and encoder; the cap; failures; keep-alives.

use super::*;
use crate::events::FinishReason;
use crate::surface::native::NativeEncoder;
use crate::usage::TokenReport;
use crate::wire::workers_ai::StreamDecoder;

const META: AnswerMeta<'static> = AnswerMeta {
    model: "m",
    fallback: false,
    trace_id: "t",
    session_id: None,
    created_s: 1,
    latency_ms: 5,
    ttft_ms: Some(2),
    history_messages: None,
    max_tokens_reduced: None,
    sources: None,
};

fn relay(cap: u64) -> Relay<NativeEncoder> {
    Relay::new(
        NativeEncoder::default(),
        AnswerFold::new(3, cap, true),
        Box::new(StreamDecoder::new()),
        1000,
        0,
    )
}

fn text(out: &[u8]) -> String {
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn chunks_become_client_writes_until_the_model_ends() {
    let mut r = relay(100);
    assert_eq!(
        r.open(&META, &[ModelEvent::Text("a".into())], 0),
        b"event: token\ndata: {\"text\":\"a\"}\n\n"
    );
    let out = r
        .feed(
            Some(b"data: {\"response\":\"b\"}\n\ndata: {\"response\":\"c\"}\n\n"),
            false,
            10,
        )
        .unwrap();
    assert_eq!(
        text(&out),
        "event: token\ndata: {\"text\":\"b\"}\n\nevent: token\ndata: {\"text\":\"c\"}\n\n"
    );
    // Half an event: nothing to write yet, keep reading.
    assert_eq!(r.feed(Some(b"data: {\"resp"), false, 20), Some(Vec::new()));
    assert_eq!(
        r.feed(Some(b"onse\":\"d\"}\n\ndata: [DONE]\n\n"), false, 30),
        None,
        "[DONE] stops reading"
    );
    assert_eq!(r.take_failure(), None);
    let end = StreamEnd::Finished {
        finish: FinishReason::Stop,
        usage: r.fold().report(),
    };
    let (last, fold) = r.close(&end, &META, false);
    assert!(
        text(&last).starts_with("event: token\ndata: {\"text\":\"d\"}\n\nevent: done\n"),
        "{}",
        text(&last)
    );
    assert_eq!(fold.into_answer().text, "bcd");
}

#[test]
fn the_cap_stops_the_stream_and_what_comes_after_is_never_written() {
    let mut r = relay(1);
    assert_eq!(
        r.feed(Some(b"data: {\"response\":\"abcdefgh\"}\n\n"), false, 1),
        None
    );
    assert!(r.fold().capped());
    let (last, fold) = r.close(
        &StreamEnd::Finished {
            finish: FinishReason::Length,
            usage: TokenReport::default(),
        },
        &META,
        false,
    );
    assert!(text(&last).starts_with("event: token\ndata: {\"text\":\"abcd\"}\n\n"));
    assert_eq!(fold.report().completion, 1);
}

#[test]
fn a_broken_chunk_is_a_failure_and_the_end_of_reading() {
    let mut r = relay(100);
    assert_eq!(
        r.feed(Some(b"data: {\"response\": \"x\n\n"), false, 1),
        None
    );
    let f = r.take_failure().unwrap();
    assert_eq!(f.kind, crate::attempt::FailureKind::Malformed);
    assert!(!f.detail.contains("\"x"), "no model text: {}", f.detail);
    // A stream that ends without [DONE] is truncated: a network failure.
    let mut r = relay(100);
    assert_eq!(
        r.feed(Some(b"data: {\"response\":\"a\"}\n\n"), false, 1)
            .map(|b| !b.is_empty()),
        Some(true)
    );
    assert_eq!(r.feed(None, false, 2), None);
    assert_eq!(
        r.take_failure().map(|f| f.kind),
        Some(crate::attempt::FailureKind::Network)
    );
}

#[test]
fn a_gone_client_gets_nothing_but_the_model_is_still_folded() {
    let mut r = relay(100);
    assert_eq!(
        r.feed(Some(b"data: {\"response\":\"hello\"}\n\n"), true, 1),
        Some(Vec::new())
    );
    let (last, fold) = r.close(
        &StreamEnd::Finished {
            finish: FinishReason::Stop,
            usage: TokenReport::default(),
        },
        &META,
        true,
    );
    assert!(last.is_empty());
    assert_eq!(fold.report().completion, 2, "billed though never shown");
}

#[test]
fn keep_alives_go_out_only_after_a_silent_gap() {
    let mut r = relay(100);
    r.open(&META, &[], 0);
    assert_eq!(r.tick(999), None);
    assert_eq!(r.tick(1000), Some(KEEP_ALIVE));
    assert_eq!(r.tick(1500), None, "the comment counts as a write");
    r.feed(Some(b"data: {\"response\":\"a\"}\n\n"), false, 1900);
    assert_eq!(r.tick(2800), None, "a write resets the gap");
    assert_eq!(r.tick(2900), Some(KEEP_ALIVE));
    // Nothing written (half an event) does not reset it.
    r.feed(Some(b"data: {"), false, 3800);
    assert_eq!(r.tick(3900), Some(KEEP_ALIVE));
    assert!(!keep_alive_due(0, u64::MAX, 0), "0 turns keep-alives off");
    assert!(keep_alive_due(5, 20, 15));
    assert!(!keep_alive_due(5, 19, 15));
    assert_eq!(KEEP_ALIVE, b": keep-alive\n\n");
}
