//! Table tests of `/v1/embeddings` answers: reading vectors, tokens, failures, writing them.

use super::*;
use crate::attempt::FailureKind;
use crate::usage::Cost;

/// `(code, field, message)` of a refusal.
fn refusal(e: Error) -> (&'static str, String, String) {
    match e {
        Error::InvalidRequest { field, message } => {
            ("invalid_request", field.unwrap_or_default(), message)
        }
        Error::UnsupportedParameter { param, message } => ("unsupported_parameter", param, message),
        e => panic!("unexpected {e:?}"),
    }
}

fn upstream(r: Result<Batch, Unusable>) -> (FailureKind, String) {
    match r {
        Err(Unusable::Upstream(f)) => (f.kind, f.detail),
        other => panic!("expected an upstream failure, got {other:?}"),
    }
}

#[test]
fn binding_answers_are_read_and_checked() {
    let b = read_binding(
        r#"{"shape":[2,2],"data":[[0.5,-1],[0,0.25]],"pooling":"mean"}"#,
        2,
        "m",
        None,
    )
    .unwrap();
    assert_eq!(
        b,
        Batch {
            vectors: vec![vec![0.5, -1.0], vec![0.0, 0.25]],
            usage: None
        }
    );
    let b = read_binding(
        r#"{"data":[[1]],"usage":{"prompt_tokens":7}}"#,
        1,
        "m",
        Some(1),
    )
    .unwrap();
    assert_eq!(b.usage.and_then(|u| u.prompt_tokens), Some(7));
    // A chat model's answer holds no vectors: the client named the wrong model.
    match read_binding(r#"{"response":"hi","usage":{}}"#, 1, "@cf/meta/llama", None) {
        Err(Unusable::Client(e)) => assert_eq!(
            refusal(e),
            (
                "invalid_request",
                "model".into(),
                "model: `@cf/meta/llama` answered without vectors: it is not an embedding model"
                    .into()
            )
        ),
        other => panic!("{other:?}"),
    }
    match read_binding(r#"{"data":[[1,2]]}"#, 1, "m", Some(3)) {
        Err(Unusable::Client(e)) => assert_eq!(refusal(e).1, "dimensions"),
        other => panic!("{other:?}"),
    }
    let cases: &[(&str, usize, &str)] = &[
        (r#"{"data":[[1]]}"#, 2, "1 vectors for 2 inputs"),
        (
            r#"{"data":[[1],[1,2]]}"#,
            2,
            "vectors of different or zero sizes",
        ),
        (r#"{"data":[[]]}"#, 1, "vectors of different or zero sizes"),
    ];
    for &(text, n, detail) in cases {
        assert_eq!(
            upstream(read_binding(text, n, "m", None)),
            (FailureKind::Malformed, detail.into()),
            "{text}"
        );
    }
    let not_vectors: &[&str] = &[r#"{"data":"x"}"#, r#"{"data":[["1"]]}"#, r#"{"data":[1]}"#];
    for text in not_vectors {
        assert_eq!(
            upstream(read_binding(text, 1, "m", None)),
            (
                FailureKind::Malformed,
                "embeddings answer: `data` is not an array of number arrays".into()
            ),
            "{text}"
        );
    }
    let (kind, detail) = upstream(read_binding("{", 1, "m", None));
    assert_eq!(kind, FailureKind::Malformed);
    assert!(
        detail.starts_with("embeddings answer unreadable: EOF"),
        "{detail}"
    );
}

#[test]
fn http_answers_are_put_in_index_order() {
    let text = r#"{"object":"list","data":[
        {"object":"embedding","index":1,"embedding":[2.0]},
        {"object":"embedding","index":0,"embedding":[1.0]}],
        "model":"x","usage":{"prompt_tokens":5,"total_tokens":5}}"#;
    let b = read_http(text, 2, "m", None).unwrap();
    assert_eq!(b.vectors, [vec![1.0], vec![2.0]]);
    assert_eq!(b.usage.and_then(|u| u.total_tokens), Some(5));
    let no_index = read_http(
        r#"{"data":[{"embedding":[1]},{"embedding":[2]}]}"#,
        2,
        "m",
        None,
    )
    .unwrap();
    assert_eq!(no_index.vectors, [vec![1.0], vec![2.0]]);
    let not_0_to_n: &[&str] = &[
        r#"{"data":[{"index":0,"embedding":[1]},{"index":2,"embedding":[2]}]}"#,
        r#"{"data":[{"index":1,"embedding":[1]},{"index":1,"embedding":[2]}]}"#,
        r#"{"data":[{"index":1,"embedding":[1]},{"embedding":[2]}]}"#,
        r#"{"data":[{"index":-1,"embedding":[1]}]}"#,
    ];
    for text in not_0_to_n {
        let got = upstream(read_http(text, 2, "m", None)).1;
        assert_eq!(got, "embeddings answer: indexes are not 0..n", "{text}");
    }
    assert_eq!(
        upstream(read_http(r#"{"data":[]}"#, 1, "m", None)).1,
        "0 vectors for 1 inputs"
    );
    let b64 = r#"{"data":[{"index":0,"embedding":"AAAAAA=="}]}"#;
    assert_eq!(
        upstream(read_http(b64, 1, "m", None)).0,
        FailureKind::Malformed
    );
}

#[test]
fn tokens_are_reported_or_estimated_and_never_output() {
    let u = |p: Option<u64>, t: Option<u64>| Usage {
        prompt_tokens: p,
        total_tokens: t,
        ..Usage::default()
    };
    let r = |prompt, total, estimated| TokenReport {
        prompt,
        total,
        estimated,
        ..TokenReport::default()
    };
    let cases: &[(Option<Usage>, TokenReport)] = &[
        (None, r(9, 9, true)),
        (Some(u(Some(4), Some(4))), r(4, 4, false)),
        (Some(u(None, Some(6))), r(6, 6, false)),
        (Some(u(Some(5), None)), r(5, 5, false)),
    ];
    for (usage, expected) in cases {
        assert_eq!(batch_tokens(*usage, 9), *expected, "{usage:?}");
    }
}

#[test]
fn failures_follow_the_chain_rules_for_one_model() {
    let f = failure(
        "@cf/nope",
        AttemptFailure::from_binding("5007: No such model"),
    );
    assert_eq!(f.status_and_code(), (404, "model_not_found"));
    assert_eq!(f.client_message(), "the model `@cf/nope` does not exist");
    let f = failure(
        "m",
        AttemptFailure::from_binding("3006: Request is too large"),
    );
    assert_eq!(f.status_and_code(), (413, "input_too_large"));
    let f = failure(
        "m",
        AttemptFailure::from_binding("3040: Capacity temporarily exceeded"),
    );
    assert_eq!(f.status_and_code(), (502, "ai_error"));
    assert_eq!(
        f.client_message(),
        "every model failed: m (out of capacity)"
    );
    assert_eq!(
        failure("m", AttemptFailure::timeout(5)).status_and_code(),
        (504, "ai_timeout")
    );
}

/// Standard base64 decoding, to check what the encoder writes.
fn unbase64(s: &str) -> Vec<u8> {
    let value = |c: u8| BASE64.iter().position(|&b| b == c).unwrap() as u32;
    let clean: Vec<u8> = s.bytes().filter(|&b| b != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0, |n, (i, &c)| n | value(c) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[test]
fn base64_is_little_endian_f32() {
    let cases: &[(&[f32], &str)] = &[
        (&[], ""),
        (&[0.0], "AAAAAA=="),
        (&[1.0], "AACAPw=="),
        (&[1.0, -2.0], "AACAPwAAAMA="),
        (&[1.0, -2.0, 0.5], "AACAPwAAAMAAAAA/"),
    ];
    for &(v, expected) in cases {
        assert_eq!(base64_f32(v), expected, "{v:?}");
        let back: Vec<f32> = unbase64(expected)
            .chunks(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(back, v);
    }
    let v: Vec<f32> = (0..768).map(|i| (i as f32 * 0.37).sin()).collect();
    let bytes = unbase64(&base64_f32(&v));
    assert_eq!(bytes.len(), 768 * 4);
    assert_eq!(
        f32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        v[1]
    );
}

#[test]
fn answers_are_openai_lists() {
    let usage = TokenReport {
        prompt: 3,
        total: 3,
        estimated: true,
        cost: Cost::Known(1),
        ..TokenReport::default()
    };
    let vectors = vec![vec![0.5, -0.25], vec![1.0, 0.1]];
    let float: Value =
        serde_json::from_slice(&answer_body(&vectors, Encoding::Float, "@cf/m", &usage)).unwrap();
    assert_eq!(
        float,
        serde_json::json!({"object":"list","data":[
            {"object":"embedding","index":0,"embedding":[0.5,-0.25]},
            {"object":"embedding","index":1,"embedding":[1.0,0.1]}],
            "model":"@cf/m","usage":{"prompt_tokens":3,"total_tokens":3}})
    );
    let text = String::from_utf8(answer_body(&vectors, Encoding::Float, "m", &usage)).unwrap();
    assert!(text.contains("[1.0,0.1]"), "f32 written shortest: {text}");
    let b64: Value =
        serde_json::from_slice(&answer_body(&vectors, Encoding::Base64, "a\"b", &usage)).unwrap();
    assert_eq!(b64["data"][0]["embedding"], base64_f32(&vectors[0]));
    assert_eq!(b64["model"], "a\"b");
    let empty: Value =
        serde_json::from_slice(&answer_body(&[], Encoding::Float, "m", &usage)).unwrap();
    assert_eq!(empty["data"], serde_json::json!([]));
}
