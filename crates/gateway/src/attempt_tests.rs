//! Table tests of failure classification and of the attempt state machine.

use super::*;

#[test]
fn binding_errors_are_classified_by_their_code() {
    let check = |message: &str, kind: FailureKind| {
        assert_eq!(
            FailureKind::from_binding_message(message),
            kind,
            "{message}"
        );
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
    check("3003: bad input", FailureKind::InvalidInput);
    check("3010: bad input", FailureKind::InvalidInput);
    check("5006: Error: invalid input", FailureKind::InvalidInput);
    check(
        "InferenceUpstreamError: 3040: Capacity temporarily exceeded",
        FailureKind::Capacity,
    );
    check("3036: daily free allocation used", FailureKind::RateLimited);
    check("429: too many", FailureKind::RateLimited);
    check("3007: Request timeout", FailureKind::Timeout);
    check("3008: aborted", FailureKind::Timeout);
    check("408 timeout", FailureKind::Timeout);
    check("3043: stand-in stream aborted", FailureKind::Network);
    check("3099: something new", FailureKind::ServerError);
    check("1000", FailureKind::ServerError);
    check("9999: last code", FailureKind::ServerError);
    check("999: not a code", FailureKind::ServerError);
    check("10000: not a code", FailureKind::ServerError);
    check(
        "Error: Binding AI needs to be run remotely",
        FailureKind::Unavailable,
    );
    check("TypeError: fetch failed", FailureKind::Network);
    check("network lost", FailureKind::Network);
    check("connection reset", FailureKind::Network);
    check("something odd", FailureKind::ServerError);
    check("12345 is not a code:", FailureKind::ServerError);
    check("3040x: glued", FailureKind::ServerError);
}

#[test]
fn http_answers_are_classified_by_status_unless_a_workers_ai_code_says_more() {
    let check = |status: u16, code: Option<&str>, kind: FailureKind| {
        assert_eq!(
            FailureKind::from_http(status, code),
            kind,
            "{status} {code:?}"
        );
    };
    check(429, None, FailureKind::RateLimited);
    check(429, Some("rate_limit_exceeded"), FailureKind::RateLimited);
    check(404, Some("model_not_found"), FailureKind::ModelNotFound);
    check(400, None, FailureKind::InvalidInput);
    check(422, None, FailureKind::InvalidInput);
    check(400, Some("5007"), FailureKind::ModelNotFound);
    check(429, Some("3040"), FailureKind::Capacity);
    check(413, None, FailureKind::InputTooLarge);
    check(503, None, FailureKind::ServerError);
    check(500, None, FailureKind::ServerError);
    check(401, None, FailureKind::AuthFailed);
    check(403, Some("permission_denied"), FailureKind::AuthFailed);
    check(504, None, FailureKind::Timeout);
    check(408, None, FailureKind::Timeout);
    check(418, None, FailureKind::ServerError);
}

#[test]
fn failures_are_values_made_where_they_happen() {
    let f = AttemptFailure::http(429, Some("rate_limit_exceeded".into()), Some(7));
    assert_eq!(
        (f.kind, f.status, f.code.as_deref(), f.retry_after_s),
        (
            FailureKind::RateLimited,
            Some(429),
            Some("rate_limit_exceeded"),
            Some(7)
        )
    );
    assert_eq!(f.detail, "HTTP 429 (rate_limit_exceeded), retry after 7 s");
    assert_eq!(AttemptFailure::http(500, None, None).detail, "HTTP 500");
    let b = AttemptFailure::from_binding("InferenceUpstreamError: 3040: Capacity exceeded");
    assert_eq!(
        (b.kind, b.code.as_deref(), b.status),
        (FailureKind::Capacity, Some("3040"), None)
    );
    assert_eq!(AttemptFailure::from_binding("odd").code, None);
    assert_eq!(AttemptFailure::network("x").kind, FailureKind::Network);
    assert_eq!(AttemptFailure::malformed("x").kind, FailureKind::Malformed);
    assert_eq!(AttemptFailure::auth("x").kind, FailureKind::AuthFailed);
    assert_eq!(AttemptFailure::auth(&"d".repeat(300)).detail.len(), 200);
    let upstream = AttemptFailure::from_decode(&DecodeError::upstream("3040: mid-stream"));
    assert_eq!(upstream.kind, FailureKind::Capacity);
    assert_eq!(
        AttemptFailure::from_decode(&DecodeError::Truncated).kind,
        FailureKind::Network
    );
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        serde_json::json!({"kind":"rate_limited","status":429,"code":"rate_limit_exceeded","retryAfterS":7,
            "detail":"HTTP 429 (rate_limit_exceeded), retry after 7 s"})
    );
}

#[test]
fn which_failures_may_fall_back() {
    use FailureKind as K;
    for k in [
        K::Timeout,
        K::Capacity,
        K::RateLimited,
        K::ServerError,
        K::Network,
        K::Malformed,
        K::AuthFailed,
    ] {
        assert!(k.retryable(), "{k:?}");
    }
    for k in [
        K::ModelNotFound,
        K::InputTooLarge,
        K::InvalidInput,
        K::Unavailable,
    ] {
        assert!(!k.retryable(), "{k:?}");
    }
}

fn fail(message: &str) -> Input {
    Input::Failed(AttemptFailure::from_binding(message))
}

fn http(status: u16) -> Input {
    Input::Failed(AttemptFailure::http(status, None, None))
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
        vec![http(500), timeout(), fail("3040: c")],
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
        vec![http(502), Input::FirstOutput, timeout()],
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
        vec![http(500), Input::FirstOutput],
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
            {"model":"m2","kind":"capacity","code":"3040","detail":"InferenceUpstreamError: 3040: out of capacity"}
        ])
    );
    let malformed = AttemptFailure::from_decode(&DecodeError::malformed(
        b"secret",
        "syntax error at column 3",
    ));
    assert_eq!(malformed.kind, FailureKind::Malformed);
    assert!(!malformed.detail.contains("secret"));
}

#[test]
fn every_way_a_chain_fails_has_its_status_code_and_words() {
    let one = |model: &str, f: AttemptFailure| {
        let mut plan = AttemptPlan::new(vec![model.into()]);
        plan.start();
        match plan.on(Input::Failed(f)) {
            Decision::GiveUp(c) => (c.status_and_code(), c.client_message()),
            d => panic!("expected give up, got {d:?}"),
        }
    };
    let b = |m: &str| AttemptFailure::from_binding(m);
    assert_eq!(
        one("@cf/x", b("5007: none")),
        (
            (404, "model_not_found"),
            "the model `@cf/x` does not exist".into()
        )
    );
    assert_eq!(
        one("@cf/x", b("3006: big")),
        (
            (413, "input_too_large"),
            "the input is too large for `@cf/x`".into()
        )
    );
    assert_eq!(
        one("@cf/x", b("5006: bad")),
        (
            (400, "model_rejected_input"),
            "`@cf/x` rejected the input as invalid".into()
        )
    );
    let (status, words) = one("corp/gpt", AttemptFailure::auth("token endpoint: HTTP 500"));
    assert_eq!(status, (502, "upstream_auth_failed"));
    assert!(
        words.starts_with("provider `corp` could not be authenticated")
            && words.ends_with("every model failed: corp/gpt (provider authentication failed)"),
        "{words}"
    );
    let (status, words) = one("@cf/x", b("Binding AI needs to be run remotely"));
    assert_eq!(status, (503, "ai_unavailable"));
    assert!(words.contains("bash scripts/dev.sh"), "{words}");
    assert_eq!(
        one("@cf/x", AttemptFailure::timeout(5)),
        (
            (504, "ai_timeout"),
            "every model failed: @cf/x (timed out)".into()
        )
    );
    let words = |k: FailureKind| client_words(k);
    assert_eq!(words(FailureKind::RateLimited), "rate limited");
    assert_eq!(words(FailureKind::Network), "connection failed");
    assert_eq!(words(FailureKind::Malformed), "unreadable answer");
    assert_eq!(words(FailureKind::ServerError), "upstream error");
    assert_eq!(words(FailureKind::InputTooLarge), "input too large");
    assert_eq!(words(FailureKind::InvalidInput), "input rejected");
    assert_eq!(words(FailureKind::ModelNotFound), "no such model");
    assert_eq!(words(FailureKind::Unavailable), "AI binding unavailable");
    // After a commit: the stream ends with ai_timeout or ai_error, and nothing more happens.
    let mut plan = AttemptPlan::new(vec!["a".into()]);
    plan.start();
    plan.on(Input::FirstOutput);
    assert_eq!(
        plan.on(Input::Failed(AttemptFailure::timeout(1))),
        Decision::EndStream { code: "ai_timeout" }
    );
    assert!(matches!(plan.on(Input::FirstOutput), Decision::GiveUp(_)));
}

#[test]
fn any_workers_ai_code_wins_over_the_http_status() {
    // A code the table does not name is still a Workers AI code: a server error, whatever
    // the status says.
    assert_eq!(
        FailureKind::from_http(429, Some("5000")),
        FailureKind::ServerError
    );
    assert_eq!(
        FailureKind::from_http(404, Some("1000: oops")),
        FailureKind::ServerError
    );
    // Not a Workers AI code: the status decides.
    assert_eq!(
        FailureKind::from_http(429, Some("10000")),
        FailureKind::RateLimited
    );
}

#[test]
fn a_repeated_first_output_keeps_the_commit_and_the_plan_keeps_its_attempts() {
    let mut p = AttemptPlan::new(vec!["a".into(), "b".into()]);
    assert_eq!(p.start(), call("a"));
    assert_eq!(p.on(Input::FirstOutput), commit("a", false));
    assert_eq!(p.on(Input::FirstOutput), commit("a", false));
    assert!(p.attempts().is_empty());

    let mut p = AttemptPlan::new(vec!["a".into(), "b".into()]);
    p.start();
    assert_eq!(p.on(http(503)), call("b"));
    assert_eq!(p.attempts().0.len(), 1);
    assert_eq!(p.attempts().0[0].model, "a");
    assert_eq!(p.attempts().0[0].failure.status, Some(503));
    assert_eq!(p.on(Input::FirstOutput), commit("b", true));
    assert_eq!(p.on(Input::FirstOutput), commit("b", true));
}
