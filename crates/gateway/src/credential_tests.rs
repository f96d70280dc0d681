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

fn verify(token: &str) -> Option<Principal> {
    verify_user_token(token, SECRET, "acme", NOW)
}

#[test]
fn a_good_token_names_the_user_its_budget_and_scopes() {
    assert_eq!(
        verify(&hs256(claims())),
        Some(Principal::User {
            sub: "user-7".into(),
            scopes: vec!["chat".into(), "models".into()],
            daily_budget: Some(5000)
        })
    );
    let mut c = claims();
    c.as_object_mut().unwrap().remove("scope");
    c["aud"] = json!(["other", "acme"]);
    assert!(
        matches!(verify(&hs256(c)), Some(Principal::User { ref scopes, .. }) if scopes == &["chat"])
    );
}

#[test]
fn forged_and_stale_tokens_are_refused() {
    let with = |k: &str, v: Value| {
        let mut c = claims();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let good = hs256(claims());
    let (h, rest) = good.split_once('.').unwrap();
    let (p, _) = rest.split_once('.').unwrap();
    let cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!("{}.{p}.", base64url(br#"{"alg":"none","typ":"JWT"}"#)),
        ),
        (
            "alg none with the real signature",
            format!("{}.{rest}", base64url(br#"{"alg":"none"}"#)),
        ),
        ("HS512", jwt(&json!({"alg":"HS512"}), &claims(), SECRET)),
        (
            "wrong secret",
            jwt(&json!({"alg":"HS256"}), &claims(), b"another-secret"),
        ),
        (
            "tampered claims",
            format!(
                "{h}.{}.{}",
                base64url(with("sub", json!("admin")).to_string().as_bytes()),
                rest.split_once('.').unwrap().1
            ),
        ),
        ("wrong audience", hs256(with("aud", json!("globex")))),
        ("expired", hs256(with("exp", json!(NOW - 1)))),
        (
            "more than 24 h ahead",
            hs256(with("exp", json!(NOW + MAX_TOKEN_LIFETIME_S + 1))),
        ),
        ("not yet valid", hs256(with("nbf", json!(NOW + 60)))),
        ("no sub", hs256(without("sub"))),
        ("no exp", hs256(without("exp"))),
        ("no aud", hs256(without("aud"))),
        ("two parts", format!("{h}.{p}")),
        (
            "typ not JWT",
            jwt(&json!({"alg":"HS256","typ":"at+jwt"}), &claims(), SECRET),
        ),
        ("padded signature", format!("{good}=")),
        ("garbage", "a.b.c".to_string()),
    ];
    for (name, token) in cases {
        assert_eq!(verify(&token), None, "{name}");
    }
    assert_eq!(
        verify_user_token(&good, b"", "acme", NOW),
        None,
        "an unset secret admits nothing"
    );
}

#[test]
fn keys_round_trip_and_every_mismatch_is_refused() {
    let random: [u8; 38] = std::array::from_fn(|i| (i * 7) as u8);
    let (id, key, hash) = new_key(&random);
    assert_eq!(id, "00070e151c23");
    assert!(
        key.starts_with("gwk_00070e151c23_") && key.len() == 4 + 12 + 1 + 43,
        "{key}"
    );
    let presented = parse_key(&key).unwrap();
    let record = KeyRecord {
        id: id.clone(),
        name: "ci".into(),
        scopes: vec!["chat".into()],
        budget: None,
        expires_at: Some(NOW + 10),
        rate_limit: None,
        revoked: false,
        created_at: NOW - 10,
        hash,
    };
    assert_eq!(
        check_key(&presented, &record, NOW),
        Some(Principal::Key {
            id: id.clone(),
            scopes: vec!["chat".into()],
            budget: None,
            rate_limit: None,
        })
    );
    assert_eq!(check_key(&presented, &record, NOW + 10), None, "expired");
    assert_eq!(
        check_key(
            &presented,
            &KeyRecord {
                revoked: true,
                ..record.clone()
            },
            NOW
        ),
        None,
        "revoked"
    );
    assert_eq!(
        check_key(
            &presented,
            &KeyRecord {
                hash: sha256_hex(b"other"),
                ..record.clone()
            },
            NOW
        ),
        None,
        "wrong secret"
    );
    assert_eq!(
        check_key(
            &presented,
            &KeyRecord {
                id: "ffffffffffff".into(),
                ..record
            },
            NOW
        ),
        None,
        "another key's record"
    );
    for bad in [
        "",
        "gwk_",
        "sk-abc",
        "gwk_00070e151c23",
        "gwk_XYZ70e151c23_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &key[..key.len() - 1],
    ] {
        assert_eq!(parse_key(bad), None, "{bad}");
    }
    assert_eq!(
        base64url_decode(&base64url(b"any bytes \xff\x00")),
        Some(b"any bytes \xff\x00".to_vec())
    );
}

#[test]
fn principals_scopes_and_labels() {
    let k = Principal::Key {
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
