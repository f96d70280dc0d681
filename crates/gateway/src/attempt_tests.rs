//! Table tests of failure classification and of the attempt state machine.

use super::*;

#[test]
fn classification_table() {
    let check = |message: &str, kind: FailureKind| {
        assert_eq!(FailureKind::classify(message), kind, "{message}");
    };
    check(
        "InferenceUpstreamError: 5007: No such model @cf/x or task",
        FailureKind::ModelNotFound,
    );
    check("3042: Invalid model ID", FailureKind::ModelNotFound);
    check(
        "InferenceUpstreamError: 3006: Request is too large",
        FailureKind::InputTooLarge,
    );
    check("5006: Error: invalid input", FailureKind::InvalidInput);
    check(
        "InferenceUpstreamError: 3040: Capacity temporarily exceeded",
        FailureKind::Capacity,
    );
    check("3036: daily free allocation used", FailureKind::RateLimited);
    check("3007: Request timeout", FailureKind::Timeout);
    check("3043: stand-in stream aborted", FailureKind::Network);
    check("3099: something new", FailureKind::ServerError);
    check("HTTP 429: slow down", FailureKind::RateLimited);
    check("HTTP 404: not found", FailureKind::ModelNotFound);
    check("HTTP 400: bad", FailureKind::InvalidInput);
    check("HTTP 400: 5007: No such model", FailureKind::ModelNotFound);
    check("HTTP 429: 3040: Capacity", FailureKind::Capacity);
    check("HTTP 413: big", FailureKind::InputTooLarge);
    check("HTTP 503: down", FailureKind::ServerError);
    check("HTTP 403: permission_denied", FailureKind::AuthFailed);
    check("HTTP 504: gateway timeout", FailureKind::Timeout);
    check(
        "Error: Binding AI needs to be run remotely",
        FailureKind::Unavailable,
    );
    check("TypeError: fetch failed", FailureKind::Network);
    check("something odd", FailureKind::ServerError);
    check("12345 is not a code:", FailureKind::ServerError);
}

fn fail(message: &str) -> Input {
    Input::Failed(AttemptFailure::from_message(message))
}

fn timeout() -> Input {
    Input::Failed(AttemptFailure::timeout(100))
}

fn call(m: &str) -> Decision {
    Decision::Call(m.into())
}

fn commit(m: &str, fallback: bool) -> Decision {
    Decision::Commit {
        model: m.into(),
        fallback,
    }
}

/// Runs `inputs` through a plan over `chain` and compares every decision, the first
/// (`start`) included; a `GiveUp` is compared by its status and code.
fn check(chain: &[&str], inputs: Vec<Input>, expected: Vec<Result<Decision, (u16, &str)>>) {
    let mut plan = AttemptPlan::new(chain.iter().map(|s| s.to_string()).collect());
    let mut got = vec![plan.start()];
    got.extend(inputs.into_iter().map(|i| plan.on(i)));
    let got: Vec<Result<Decision, (u16, &str)>> = got
        .into_iter()
        .map(|d| match d {
            Decision::GiveUp(f) => Err(f.status_and_code()),
            d => Ok(d),
        })
        .collect();
    assert_eq!(got, expected, "chain {chain:?}");
}

const ABC: &[&str] = &["a", "b", "c"];

#[test]
fn state_machine_table() {
    // First model answers.
    check(
        ABC,
        vec![Input::FirstOutput],
        vec![Ok(call("a")), Ok(commit("a", false))],
    );
    // Retryable failures move along the chain; the answering model is a fallback.
    check(
        ABC,
        vec![fail("3040: capacity"), timeout(), Input::FirstOutput],
        vec![
            Ok(call("a")),
            Ok(call("b")),
            Ok(call("c")),
            Ok(commit("c", true)),
        ],
    );
    // Every model fails: 502, or 504 when all timed out.
    check(
        ABC,
        vec![fail("HTTP 500: x"), timeout(), fail("3040: c")],
        vec![
            Ok(call("a")),
            Ok(call("b")),
            Ok(call("c")),
            Err((502, "ai_error")),
        ],
    );
    check(
        &["a", "b"],
        vec![timeout(), timeout()],
        vec![Ok(call("a")), Ok(call("b")), Err((504, "ai_timeout"))],
    );
    // A mistyped model is a 404, with no fallback to another model.
    check(
        ABC,
        vec![fail("5007: No such model")],
        vec![Ok(call("a")), Err((404, "model_not_found"))],
    );
    // ... but a missing *fallback* model is skipped (tenant config problem).
    check(
        ABC,
        vec![
            fail("3040: c"),
            fail("5007: No such model"),
            Input::FirstOutput,
        ],
        vec![
            Ok(call("a")),
            Ok(call("b")),
            Ok(call("c")),
            Ok(commit("c", true)),
        ],
    );
    // Input problems are terminal wherever they happen.
    check(
        ABC,
        vec![fail("3006: too large")],
        vec![Ok(call("a")), Err((413, "input_too_large"))],
    );
    check(
        ABC,
        vec![timeout(), fail("5006: invalid input")],
        vec![
            Ok(call("a")),
            Ok(call("b")),
            Err((400, "model_rejected_input")),
        ],
    );
    check(
        ABC,
        vec![fail("Binding AI needs to be run remotely")],
        vec![Ok(call("a")), Err((503, "ai_unavailable"))],
    );
    // After the first output, failures end the stream and never switch models.
    check(
        ABC,
        vec![Input::FirstOutput, fail("3040: capacity")],
        vec![
            Ok(call("a")),
            Ok(commit("a", false)),
            Ok(Decision::EndStream { code: "ai_error" }),
        ],
    );
    check(
        ABC,
        vec![fail("HTTP 502: x"), Input::FirstOutput, timeout()],
        vec![
            Ok(call("a")),
            Ok(call("b")),
            Ok(commit("b", true)),
            Ok(Decision::EndStream { code: "ai_timeout" }),
        ],
    );
    // Nothing happens after the end.
    check(
        &["a"],
        vec![fail("HTTP 500: x"), Input::FirstOutput],
        vec![
            Ok(call("a")),
            Err((502, "ai_error")),
            Err((502, "ai_error")),
        ],
    );
    // A provider whose credentials fail is skipped; if the chain ends on it, the client is told.
    check(
        &["corp/a", "@cf/b"],
        vec![
            Input::Failed(AttemptFailure::auth("token endpoint: HTTP 500")),
            Input::FirstOutput,
        ],
        vec![
            Ok(call("corp/a")),
            Ok(call("@cf/b")),
            Ok(commit("@cf/b", true)),
        ],
    );
    check(
        &["corp/a"],
        vec![Input::Failed(AttemptFailure::auth(
            "token endpoint: HTTP 500",
        ))],
        vec![Ok(call("corp/a")), Err((502, "upstream_auth_failed"))],
    );
    // An empty chain gives up at once.
    check(&[], vec![], vec![Err((502, "ai_error"))]);
}

#[test]
fn the_record_and_the_client_words() {
    let mut plan = AttemptPlan::new(vec!["m1".into(), "m2".into()]);
    plan.start();
    plan.on(timeout());
    let Decision::GiveUp(f) = plan.on(fail("InferenceUpstreamError: 3040: out of capacity")) else {
        panic!("expected give up")
    };
    assert_eq!(
        f.client_message(),
        "every model failed: m1 (timed out), m2 (out of capacity)"
    );
    assert_eq!(
        serde_json::to_value(&f.attempts).unwrap(),
        serde_json::json!([
            {"model":"m1","kind":"timeout","detail":"no output within 100 ms"},
            {"model":"m2","kind":"capacity","detail":"InferenceUpstreamError: 3040: out of capacity"}
        ])
    );
    let malformed = AttemptFailure::from_decode(&DecodeError::malformed(
        b"secret",
        "syntax error at column 3",
    ));
    assert_eq!(malformed.kind, FailureKind::Malformed);
    assert!(!malformed.detail.contains("secret"));
}
