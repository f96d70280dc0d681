//! Table tests of `/v1/embeddings` requests: parsing, the model, its batches and calls.

use super::*;
use crate::model::resolve_model;
use crate::tenant::TenantConfig;

fn ok(body: &str) -> EmbeddingsRequest {
    parse(body.as_bytes(), false).unwrap_or_else(|e| panic!("{body}: {e:?}"))
}

/// `(code, field, message)` of a refused body.
fn refusal(e: Error) -> (&'static str, String, String) {
    match e {
        Error::InvalidRequest { field, message } => {
            ("invalid_request", field.unwrap_or_default(), message)
        }
        Error::UnsupportedParameter { param, message } => ("unsupported_parameter", param, message),
        Error::InvalidJson { message } => ("invalid_json", String::new(), message),
        e => panic!("unexpected {e:?}"),
    }
}

fn check_err(body: &str, expected: (&str, &str, &str)) {
    let got = match parse(body.as_bytes(), false) {
        Ok(r) => panic!("expected an error for {body}, got {r:?}"),
        Err(e) => refusal(e),
    };
    assert_eq!((got.0, got.1.as_str(), got.2.as_str()), expected, "{body}");
}

#[test]
fn requests_are_read() {
    let r = ok(r#"{"model":"@cf/baai/bge-small-en-v1.5","input":"hello"}"#);
    assert_eq!(
        r,
        EmbeddingsRequest {
            model: "@cf/baai/bge-small-en-v1.5".into(),
            inputs: vec!["hello".into()],
            encoding: Encoding::Float,
            dimensions: None,
            user: None,
            dropped: vec![],
        }
    );
    let r = ok(
        r#"{"model":"embed","input":["a","bb"],"encoding_format":"base64","dimensions":384,"user":"u-1"}"#,
    );
    assert_eq!(r.inputs, ["a", "bb"]);
    assert_eq!(r.encoding, Encoding::Base64);
    assert_eq!((r.dimensions, r.user.as_deref()), (Some(384), Some("u-1")));
    let r = ok(r#"{"model":"m","input":"x","encoding_format":null,"dimensions":null,"user":null}"#);
    assert_eq!(
        (r.encoding, r.dimensions, r.user),
        (Encoding::Float, None, None)
    );
    // An unknown field is dropped and listed under compat.dropUnsupported.
    let r = parse(br#"{"model":"m","input":"x","extra":1}"#, true).unwrap();
    assert_eq!(r.dropped, ["extra"]);
}

#[test]
fn bad_requests_name_their_field() {
    let many = format!(
        r#"{{"model":"m","input":[{}]}}"#,
        vec![r#""x""#; 2049].join(",")
    );
    let cases: &[(&str, (&str, &str, &str))] = &[
        (r#"{"input":"x"}"#, ("invalid_request", "model", "model: is required")),
        (r#"{"model":"","input":"x"}"#, ("invalid_request", "model", "model: must not be empty")),
        (r#"{"model":"m"}"#, ("invalid_request", "input", "input: is required")),
        (r#"{"model":"m","input":""}"#, ("invalid_request", "input", "input: must not be empty")),
        (r#"{"model":"m","input":[]}"#, ("invalid_request", "input", "input: must not be an empty array")),
        (r#"{"model":"m","input":["a",""]}"#, ("invalid_request", "input[1]", "input[1]: must not be empty")),
        (r#"{"model":"m","input":["a",3]}"#, ("invalid_request", "input[1]", "input[1]: invalid type: integer `3`, expected a string")),
        (r#"{"model":"m","input":{"a":1}}"#, ("invalid_request", "input", "input: invalid type: map, expected a string or an array of strings")),
        (r#"{"model":"m","input":[1,2,3]}"#, ("unsupported_parameter", "input", "input: token arrays are not supported: send the text (a string or an array of strings)")),
        (r#"{"model":"m","input":[[1,2],[3]]}"#, ("unsupported_parameter", "input", "input: token arrays are not supported: send the text (a string or an array of strings)")),
        (r#"{"model":"m","input":"x","encoding_format":"int8"}"#, ("invalid_request", "encoding_format", "encoding_format: must be `float` or `base64`")),
        (r#"{"model":"m","input":"x","dimensions":0}"#, ("invalid_request", "dimensions", "dimensions: must be between 1 and 65536")),
        (r#"{"model":"m","input":"x","dimensions":"8"}"#, ("invalid_request", "dimensions", "dimensions: invalid type: string \"8\", expected i64")),
        (r#"{"model":"m","input":"x","stream":true}"#, ("unsupported_parameter", "stream", "stream: unknown field `stream`, expected one of `model`, `input`, `encoding_format`, `dimensions`, `user`")),
        (r#"[1]"#, ("invalid_request", "", "body must be a JSON object")),
    ];
    for (body, expected) in cases {
        check_err(body, *expected);
    }
    check_err(
        &many,
        (
            "invalid_request",
            "input",
            "input: holds 2049 inputs; at most 2048 are accepted",
        ),
    );
    let long_user = format!(
        r#"{{"model":"m","input":"x","user":"{}"}}"#,
        "u".repeat(257)
    );
    check_err(
        &long_user,
        ("invalid_request", "user", "user: must be at most 256 bytes"),
    );
}

#[test]
fn estimates_count_every_input() {
    let r = ok(r#"{"model":"m","input":["abcd","abcde","日本"]}"#);
    assert_eq!(r.prompt_estimate(), 1 + 2 + 2);
    assert_eq!(r.estimate(1..3), 4);
    assert_eq!(r.estimate(5..9), 0, "out of range counts nothing");
}

fn tenant() -> TenantConfig {
    let json = serde_json::json!({
        "tenantId": "acme", "aiGatewayId": "gw",
        "providers": { "corp": { "kind": "openai-compatible", "baseUrl": "https://x.example/v1", "auth": { "type": "none" } } },
        "models": { "chat": "@cf/chat", "fallbacks": ["@cf/fb"],
                    "tiers": { "embed": ["@cf/baai/bge-base-en-v1.5", "@cf/baai/bge-m3"] } },
    });
    TenantConfig::from_json("t", &json.to_string()).unwrap()
}

#[test]
fn the_model_is_the_plans_primary_without_fallbacks() {
    let t = tenant();
    let plan = resolve_model(Some("embed"), None, &t).unwrap();
    assert_eq!(plan.chain.len(), 4, "a chat chain would fall back");
    assert_eq!(model_of(&plan), "@cf/baai/bge-base-en-v1.5");
    let plan = resolve_model(Some("corp/text-embedding-3-small"), None, &t).unwrap();
    assert_eq!(model_of(&plan), "corp/text-embedding-3-small");
}

#[test]
fn specs_dimensions_and_batches() {
    let p = tenant().providers;
    let spec = |m| model_spec(m, &p);
    let cases: &[(&str, usize, Option<usize>)] = &[
        ("@cf/baai/bge-small-en-v1.5", 100, Some(384)),
        ("@cf/baai/bge-base-en-v1.5", 100, Some(768)),
        ("@cf/baai/bge-large-en-v1.5", 100, Some(1024)),
        ("@cf/baai/bge-m3", 100, Some(1024)),
        ("@cf/new/embedder", 100, None),
        ("corp/text-embedding-3-small", 2048, None),
    ];
    for &(m, max_batch, dims) in cases {
        assert_eq!(spec(m), ModelSpec { max_batch, dims }, "{m}");
    }
    let base = spec("@cf/baai/bge-base-en-v1.5");
    assert_eq!(check_dimensions(None, "b", base), Ok(()));
    assert_eq!(check_dimensions(Some(768), "b", base), Ok(()));
    let (code, field, message) = refusal(check_dimensions(Some(256), "b", base).unwrap_err());
    assert_eq!(
        (code, field.as_str()),
        ("unsupported_parameter", "dimensions")
    );
    assert!(message.contains("768 dimensions"), "{message}");
    assert_eq!(
        check_dimensions(Some(256), "c", spec("corp/x")),
        Ok(()),
        "passed on"
    );

    type Case = (usize, usize, &'static [(usize, usize)]);
    let cases: &[Case] = &[
        (0, 100, &[]),
        (1, 100, &[(0, 1)]),
        (100, 100, &[(0, 100)]),
        (150, 100, &[(0, 100), (100, 150)]),
        (201, 100, &[(0, 100), (100, 200), (200, 201)]),
        (3, 0, &[(0, 1), (1, 2), (2, 3)]),
    ];
    for &(n, max, expected) in cases {
        let got: Vec<(usize, usize)> = batches(n, max).iter().map(|r| (r.start, r.end)).collect();
        assert_eq!(got, expected, "{n} by {max}");
    }
}

#[test]
fn calls_are_written() {
    let texts = vec!["a".to_string(), "b\"c".to_string()];
    assert_eq!(binding_inputs(&texts), r#"{"text":["a","b\"c"]}"#);
    assert_eq!(
        http_body("text-embedding-3-small", &texts, None, None),
        r#"{"model":"text-embedding-3-small","input":["a","b\"c"],"encoding_format":"float"}"#
    );
    assert_eq!(
        http_body("m", &texts[..1], Some(256), Some("u")),
        r#"{"model":"m","input":["a"],"encoding_format":"float","dimensions":256,"user":"u"}"#
    );
}
