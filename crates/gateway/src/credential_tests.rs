//! Tests of API keys and end-user tokens, including forged tokens.

use serde_json::json;

use super::*;

const NOW: u64 = 1_800_000_000;
const SECRET: &[u8] = b"tenant-client-token-secret";

fn jwt(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let h = base64url(header.to_string().as_bytes());
    let p = base64url(claims.to_string().as_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{h}.{p}").as_bytes());
    format!("{h}.{p}.{}", base64url(&mac.finalize().into_bytes()))
}

fn hs256(claims: Value) -> String {
    jwt(&json!({"alg":"HS256","typ":"JWT"}), &claims, SECRET)
}

fn claims() -> Value {
    json!({"sub":"user-7","aud":"acme","exp":NOW + 3600,"budget":5000,"scope":"chat models"})
}

fn verify(token: &str) -> Result<Principal, AuthFailure> {
    verify_user_token(token, &[SECRET], "acme", NOW)
}

fn with(k: &str, v: Value) -> Value {
    let mut c = claims();
    c[k] = v;
    c
}

fn without(k: &str) -> Value {
    let mut c = claims();
    c.as_object_mut().unwrap().remove(k);
    c
}

#[test]
fn a_good_token_names_the_user_its_budget_and_scopes() {
    assert_eq!(
        verify(&hs256(claims())),
        Ok(Principal::User {
            groups: Vec::new(),
            sub: "user-7".into(),
            scopes: vec!["chat".into(), "models".into()],
            daily_budget: Some(5000),
            daily_budget_micros: None,
        })
    );
    let mut c = claims();
    c.as_object_mut().unwrap().remove("scope");
    c["aud"] = json!(["other", "acme"]);
    assert!(
        matches!(verify(&hs256(c)), Ok(Principal::User { ref scopes, .. }) if scopes == &["chat"])
    );
}

#[test]
fn forged_and_stale_tokens_are_refused_with_their_reason() {
    use AuthFailure as F;
    let good = hs256(claims());
    let (h, rest) = good.split_once('.').unwrap();
    let (p, _) = rest.split_once('.').unwrap();
    let cases: Vec<(&str, String, AuthFailure)> = vec![
        (
            "alg none",
            format!("{}.{p}.", base64url(br#"{"alg":"none","typ":"JWT"}"#)),
            F::BadAlgorithm,
        ),
        (
            "alg none with the real signature",
            format!("{}.{rest}", base64url(br#"{"alg":"none"}"#)),
            F::BadAlgorithm,
        ),
        (
            "HS512",
            jwt(&json!({"alg":"HS512"}), &claims(), SECRET),
            F::BadAlgorithm,
        ),
        (
            "wrong secret",
            jwt(&json!({"alg":"HS256"}), &claims(), b"another-secret"),
            F::BadSignature,
        ),
        (
            "tampered claims",
            format!(
                "{h}.{}.{}",
                base64url(with("sub", json!("admin")).to_string().as_bytes()),
                rest.split_once('.').unwrap().1
            ),
            F::BadSignature,
        ),
        (
            "wrong audience",
            hs256(with("aud", json!("globex"))),
            F::WrongAudience,
        ),
        (
            "an audience list without the tenant",
            hs256(with("aud", json!(["other"]))),
            F::WrongAudience,
        ),
        (
            "an audience number",
            hs256(with("aud", json!(7))),
            F::BadClaim,
        ),
        (
            "expired",
            hs256(with("exp", json!(NOW - 1))),
            F::TokenExpired,
        ),
        (
            "expiring now",
            hs256(with("exp", json!(NOW))),
            F::TokenExpired,
        ),
        (
            "more than 24 h ahead",
            hs256(with("exp", json!(NOW + MAX_TOKEN_LIFETIME_S + 1))),
            F::LifetimeTooLong,
        ),
        (
            "not yet valid",
            hs256(with("nbf", json!(NOW + 1))),
            F::NotYetValid,
        ),
        (
            "nbf not a number",
            hs256(with("nbf", json!("0"))),
            F::BadClaim,
        ),
        ("no sub", hs256(without("sub")), F::BadClaim),
        ("empty sub", hs256(with("sub", json!(""))), F::BadClaim),
        (
            "sub of 129 characters",
            hs256(with("sub", json!("é".repeat(129)))),
            F::BadClaim,
        ),
        ("no exp", hs256(without("exp")), F::BadClaim),
        ("no aud", hs256(without("aud")), F::BadClaim),
        (
            "budget not a number",
            hs256(with("budget", json!("5000"))),
            F::BadClaim,
        ),
        (
            "negative budget",
            hs256(with("budget", json!(-1))),
            F::BadClaim,
        ),
        (
            "scope not a string",
            hs256(with("scope", json!(["chat"]))),
            F::BadClaim,
        ),
        ("two parts", format!("{h}.{p}"), F::Malformed),
        ("four parts", format!("{good}.x"), F::Malformed),
        (
            "typ not JWT",
            jwt(&json!({"alg":"HS256","typ":"at+jwt"}), &claims(), SECRET),
            F::BadAlgorithm,
        ),
        ("padded signature", format!("{good}="), F::Malformed),
        ("garbage", "a.b.c".to_string(), F::Malformed),
    ];
    for (name, token, reason) in cases {
        assert_eq!(verify(&token), Err(reason), "{name}");
    }
    assert_eq!(
        verify_user_token(&good, &[b""], "acme", NOW),
        Err(F::NoTokenSecret),
        "an unset secret admits nothing"
    );
    assert_eq!(
        verify_user_token(&good, &[], "acme", NOW),
        Err(F::NoTokenSecret)
    );
}

#[test]
fn claims_at_their_boundaries() {
    // A lifetime of exactly 24 h is allowed; a sub of exactly 128 characters too.
    assert!(verify(&hs256(with("exp", json!(NOW + MAX_TOKEN_LIFETIME_S)))).is_ok());
    assert!(verify(&hs256(with("exp", json!(NOW + 1)))).is_ok());
    assert!(verify(&hs256(with("nbf", json!(NOW)))).is_ok());
    assert!(verify(&hs256(with("sub", json!("é".repeat(128))))).is_ok());
    // `budget: 0` is a budget that admits nothing, never "no budget".
    assert!(matches!(
        verify(&hs256(with("budget", json!(0)))),
        Ok(Principal::User {
            daily_budget: Some(0),
            ..
        })
    ));
    assert!(matches!(
        verify(&hs256(without("budget"))),
        Ok(Principal::User {
            daily_budget: None,
            ..
        })
    ));
    assert!(matches!(
        verify(&hs256(with("budget", Value::Null))),
        Ok(Principal::User {
            daily_budget: None,
            ..
        })
    ));
    // `groups`: knowledge-base audiences; a bad one refuses the token, never guessed.
    let groups = |v: Value| verify(&hs256(with("groups", v))).map(|p| p.groups().to_vec());
    assert_eq!(
        groups(json!(["staff", "eu-support"])),
        Ok(vec!["staff".to_string(), "eu-support".to_string()])
    );
    assert_eq!(groups(Value::Null), Ok(vec![]));
    assert_eq!(
        verify(&hs256(without("groups"))).map(|p| p.groups().len()),
        Ok(0)
    );
    let many: Vec<String> = (0..=MAX_GROUPS).map(|i| format!("g{i}")).collect();
    for bad in [
        json!("staff"),
        json!(["a b"]),
        json!([""]),
        json!([1]),
        json!(many),
    ] {
        assert_eq!(groups(bad.clone()), Err(AuthFailure::BadClaim), "{bad}");
    }
    // `budgetUsd`: dollars per day, as a number or a decimal string.
    for v in [json!(1.25), json!("1.25")] {
        assert!(matches!(
            verify(&hs256(with("budgetUsd", v))),
            Ok(Principal::User {
                daily_budget_micros: Some(1_250_000),
                ..
            })
        ));
    }
    for bad in [json!(-1), json!("lots"), json!(true), json!(0.0000001)] {
        assert_eq!(
            verify(&hs256(with("budgetUsd", bad.clone()))),
            Err(AuthFailure::BadClaim),
            "{bad}"
        );
    }
}

#[test]
fn the_previous_secret_verifies_during_a_rotation() {
    let old = jwt(&json!({"alg":"HS256"}), &claims(), b"old-secret");
    assert!(verify_user_token(&old, &[SECRET, b"old-secret"], "acme", NOW).is_ok());
    assert!(verify_user_token(&old, &[b"", b"old-secret"], "acme", NOW).is_ok());
    assert_eq!(
        verify_user_token(&old, &[SECRET], "acme", NOW),
        Err(AuthFailure::BadSignature)
    );
    let new = hs256(claims());
    assert!(verify_user_token(&new, &[SECRET, b"old-secret"], "acme", NOW).is_ok());
}

#[test]
fn base64url_round_trips_every_symbol() {
    // Bytes whose encoding uses `-` (62) and `_` (63).
    for bytes in [
        &[0xfb, 0xef, 0xbe][..],
        &[0xff, 0xff, 0xff],
        &[0xfa],
        &[0, 1],
    ] {
        let e = base64url(bytes);
        assert_eq!(base64url_decode(&e).as_deref(), Some(bytes), "{e}");
    }
    assert_eq!(base64url(&[0xff, 0xff, 0xff]), "____");
    assert_eq!(base64url(&[0xfb, 0xef, 0xbe]), "----");
    assert_eq!(base64url_decode("_w"), Some(vec![0xff]));
    assert_eq!(base64url_decode("+w"), None);
    assert_eq!(base64url_decode("a"), None);
}

fn record(hash: String) -> KeyRecord {
    KeyRecord {
        groups: Vec::new(),
        id: "00070e151c23".into(),
        name: "ci".into(),
        scopes: vec!["chat".into()],
        budget: None,
        expires_at: Some(NOW + 10),
        rate_limit: None,
        revoked: false,
        created_at: NOW - 10,
        hash,
        previous_hash: None,
        previous_valid_until: None,
        rotated_at: None,
    }
}

#[test]
fn keys_round_trip_and_every_mismatch_is_refused_with_its_reason() {
    use AuthFailure as F;
    let random: [u8; 38] = std::array::from_fn(|i| (i * 7) as u8);
    let (id, key, hash) = new_key(&random);
    assert_eq!(id, "00070e151c23");
    assert!(
        key.starts_with("gwk_00070e151c23_") && key.len() == 4 + 12 + 1 + 43,
        "{key}"
    );
    let presented = parse_key(&key).unwrap();
    let record = record(hash);
    assert_eq!(
        check_key(&presented, &record, NOW),
        Ok(Principal::Key {
            groups: Vec::new(),
            id: id.clone(),
            scopes: vec!["chat".into()],
            budget: None,
            rate_limit: None,
        })
    );
    assert_eq!(check_key(&presented, &record, NOW + 9).map(|_| ()), Ok(()));
    assert_eq!(check_key(&presented, &record, NOW + 10), Err(F::Expired));
    let revoked = KeyRecord {
        revoked: true,
        ..record.clone()
    };
    assert_eq!(check_key(&presented, &revoked, NOW), Err(F::Revoked));
    let other_secret = KeyRecord {
        hash: sha256_hex(b"other"),
        ..record.clone()
    };
    assert_eq!(check_key(&presented, &other_secret, NOW), Err(F::BadSecret));
    let other_id = KeyRecord {
        id: "ffffffffffff".into(),
        ..record
    };
    assert_eq!(check_key(&presented, &other_id, NOW), Err(F::UnknownKey));
    for bad in [
        "",
        "gwk_",
        "sk-abc",
        "gwk_00070e151c23",
        "gwk_XYZ70e151c23_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "gwk_00070e151c2_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "gwk_00070e151c23_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa+",
        &key[..key.len() - 1],
    ] {
        assert_eq!(parse_key(bad), None, "{bad}");
    }
    assert!(parse_key("gwk_00070e151c23_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-_").is_some());
}

#[test]
fn a_rotated_key_accepts_its_old_secret_only_during_the_grace_period() {
    use AuthFailure as F;
    let (_, old_key, old_hash) = new_key(&std::array::from_fn(|i| (i * 7) as u8));
    let (new_key_text, new_hash) = new_secret_for("00070e151c23", &[9; 32]);
    assert!(parse_key(&new_key_text).is_some_and(|k| k.id == "00070e151c23"));
    assert_eq!(
        sha256_hex(parse_key(&new_key_text).unwrap().secret.as_bytes()),
        new_hash
    );
    let mut original = record(old_hash);
    original.expires_at = None;
    let rotated = rotate(&original, new_hash.clone(), NOW, 3600);
    assert_eq!(rotated.hash, new_hash);
    assert_eq!(
        (rotated.previous_valid_until, rotated.rotated_at),
        (Some(NOW + 3600), Some(NOW))
    );
    let old = parse_key(&old_key).unwrap();
    assert!(check_key(&old, &rotated, NOW + 3599).is_ok());
    assert_eq!(check_key(&old, &rotated, NOW + 3600), Err(F::Revoked));
    // No grace: the old secret stops at once (and is named as revoked); rotating again
    // forgets the first secret.
    let at_once = rotate(&original, new_hash.clone(), NOW, 0);
    assert_eq!(check_key(&old, &at_once, NOW), Err(F::Revoked));
    let twice = rotate(&rotated, sha256_hex(b"third"), NOW + 10, 3600);
    assert_eq!(twice.previous_hash.as_deref(), Some(new_hash.as_str()));
    assert_eq!(check_key(&old, &twice, NOW + 20), Err(F::BadSecret));
    // A revoked key refuses its previous secret too.
    let revoked = KeyRecord {
        revoked: true,
        ..rotated
    };
    assert_eq!(check_key(&old, &revoked, NOW), Err(F::Revoked));
}

#[test]
fn every_reason_has_a_distinct_name() {
    use AuthFailure as F;
    let all = [
        F::Missing,
        F::Malformed,
        F::UnknownKey,
        F::BadSecret,
        F::Revoked,
        F::Expired,
        F::TokenInApiKeyHeader,
        F::NoTokenSecret,
        F::BadAlgorithm,
        F::BadSignature,
        F::WrongAudience,
        F::TokenExpired,
        F::LifetimeTooLong,
        F::NotYetValid,
        F::BadClaim,
    ];
    let names: std::collections::BTreeSet<&str> = all.iter().map(|f| f.as_str()).collect();
    assert_eq!(names.len(), all.len());
    for f in all {
        assert_eq!(serde_json::to_value(f).unwrap(), json!(f.as_str()));
    }
}

#[test]
fn principals_scopes_and_labels() {
    let k = Principal::Key {
        groups: Vec::new(),
        id: "abc".into(),
        scopes: vec!["models".into()],
        budget: None,
        rate_limit: None,
    };
    assert!(!k.allows("chat") && k.allows("models"));
    assert_eq!(k.label().as_deref(), Some("key:abc"));
    assert!(Principal::Anonymous {
        ip: "1.2.3.4".into()
    }
    .allows("chat"));
}

#[test]
fn credentials_in_the_query_are_found_however_spelled() {
    let check = |url: &str, want: Option<&str>| {
        assert_eq!(credential_param(url, &[]).as_deref(), want, "{url}")
    };
    check("https://g/chat", None);
    check("https://g/chat?stream=1&model=x", None);
    check("https://g/chat?api_key=k", Some("api_key"));
    check("https://g/chat?api%5Fkey=k", Some("api_key"));
    check("https://g/chat?%6Bey=k", Some("key"));
    check("https://g/chat?x=1;key=k", Some("key"));
    check("https://g/chat?TOKEN=k#frag", Some("token"));
    check("https://g/chat?monkey=1", None);
    // Any name, when the value is a key or a token.
    check(
        "https://g/chat?x-api-key=gwk_0123456789ab_secret",
        Some("x-api-key"),
    );
    check(
        "https://g/chat?bearer=eyJhbGciOi.eyJzdWIi.c2ln",
        Some("bearer"),
    );
    check("https://g/chat?jwt=eyJhbGciOi.eyJzdWIi.", Some("jwt"));
    check("https://g/chat?a=1&b=%67wk_x", Some("b"));
    check("https://g/chat?v=eyJ.x.y.z", None);
    check("https://g/chat?v=eyJhbGci..c2ln", None);
    check("https://g/chat?v=abc.def.ghi", None);
    check("https://g/chat?v=eyJ!.a.b", None);
    check("https://g/chat?model=@cf/meta/llama-3.1-8b", None);
}

#[test]
fn a_route_that_reads_a_name_as_data_still_refuses_credential_values() {
    let history = |url: &str| credential_param(url, &["key"]);
    assert_eq!(history("https://g/h?key=0123456789ab&groupBy=day"), None);
    // Only the exact name is data: a spelling the route does not read is still refused.
    assert_eq!(history("https://g/h?%6Bey=k").as_deref(), Some("key"));
    assert_eq!(history("https://g/h?token=k").as_deref(), Some("token"));
    assert_eq!(
        history("https://g/h?key=gwk_0123456789ab_secret").as_deref(),
        Some("key")
    );
}

#[test]
fn the_lifetime_cap_is_24_hours_and_credentials_at_most_8_kb() {
    // docs/auth.md promises both figures; the constants are what the checks use.
    assert!(verify(&hs256(with("exp", json!(NOW + 86_400)))).is_ok());
    assert_eq!(
        verify(&hs256(with("exp", json!(NOW + 86_401)))),
        Err(AuthFailure::LifetimeTooLong)
    );
    assert_eq!(MAX_CREDENTIAL_BYTES, 8192);
}

#[test]
fn key_budgets_read_and_write_dollars_as_decimal_strings() {
    let b: ClientBudget =
        serde_json::from_value(json!({"daily": 100, "dailyUsd": "1.5", "monthlyUsd": "20"}))
            .unwrap();
    assert_eq!(
        b,
        ClientBudget {
            daily: Some(100),
            monthly: None,
            daily_micros: Some(1_500_000),
            monthly_micros: Some(20_000_000),
        }
    );
    assert_eq!(
        serde_json::to_value(b).unwrap(),
        json!({"daily": 100, "dailyUsd": "1.500000", "monthlyUsd": "20.000000"})
    );
    let none: ClientBudget = serde_json::from_value(json!({"dailyUsd": null})).unwrap();
    assert_eq!(none, ClientBudget::default());
    assert!(serde_json::from_value::<ClientBudget>(json!({"dailyUsd": "lots"})).is_err());
}

#[test]
fn token_shaped_values_may_use_every_base64url_symbol() {
    let check = |url: &str, want: Option<&str>| {
        assert_eq!(credential_param(url, &[]).as_deref(), want, "{url}")
    };
    check("https://g/chat?v=eyJhb_ci.eyJz_dWIi.c2l_n", Some("v"));
    check("https://g/chat?v=eyJhb-ci.eyJz-dWIi.c2l-n", Some("v"));
    check("https://g/chat?v=eyJhb_ci.eyJz+dWIi.c2l_n", None);
}
