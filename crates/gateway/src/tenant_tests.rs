//! Tests of the tenant config: defaults, every rule with its path, and what can never serve.
use super::*;

const VALID: &str = r#"{
    "tenantId": "acme",
    "aiGatewayId": "acme-gw",
    "models": { "chat": "@cf/a", "fallbacks": ["@cf/b"], "tiers": { "fast": "@cf/b" } },
    "modelAllowList": ["@cf/a", "@cf/b"],
    "budget": { "daily": 10, "monthly": 100 }
}"#;

fn with(patch: &str) -> Result<TenantConfig, ConfigError> {
    let mut base: serde_json::Value = serde_json::from_str(VALID).unwrap();
    let patch: serde_json::Value = serde_json::from_str(patch).unwrap();
    merge(&mut base, patch);
    TenantConfig::from_json("tenants/acme", &base.to_string())
}

fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

fn check_err(patch: &str, expected: &str) {
    let err = with(patch).unwrap_err().to_string();
    assert_eq!(err, expected, "patch {patch}");
}

#[test]
fn configs_that_can_never_serve_are_found() {
    let c = with(
        r#"{"budget":{"daily":500,"monthly":100000,"minOutputTokens":600},"limits":{"maxOutputTokens":1024}}"#,
    )
    .unwrap();
    let found: Vec<String> = c.unservable("t").iter().map(ToString::to_string).collect();
    assert_eq!(found, vec!["t: budget.daily: 500 cannot admit a single request: one reserves its prompt plus at least budget.minOutputTokens (600), at least 608; raise the budget or lower budget.minOutputTokens".to_string()]);
    // Shrink-to-fit: a budget only needs the smallest prompt plus the floor (default 64).
    let c =
        with(r#"{"budget":{"daily":72,"monthly":72},"limits":{"maxOutputTokens":1024}}"#).unwrap();
    assert!(c.unservable("t").is_empty());
    let c =
        with(r#"{"budget":{"daily":71,"monthly":72},"limits":{"maxOutputTokens":1024}}"#).unwrap();
    assert_eq!(c.unservable("t").len(), 1);
    // A floor above the output cap is the cap.
    let c = with(r#"{"budget":{"daily":40,"monthly":40,"minOutputTokens":64},"limits":{"maxOutputTokens":32}}"#)
        .unwrap();
    assert_eq!((c.smallest_output_cap(), c.unservable("t").len()), (32, 0));
    let c = with(r#"{"budget":{"daily":1032,"monthly":1032},"limits":{"maxOutputTokens":1024,"maxRequestBytes":14}}"#).unwrap();
    let found: Vec<String> = c.unservable("t").iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        vec![
            "t: limits.maxRequestBytes: 14 is smaller than the smallest request (15 bytes)"
                .to_string()
        ]
    );
    assert!(with(r#"{"budget":{"daily":2000,"monthly":2000}}"#)
        .unwrap()
        .unservable("t")
        .is_empty());
}

#[test]
fn valid_config_has_defaults() {
    let c = with("{}").unwrap();
    assert_eq!(c.tenant_id.as_str(), "acme");
    assert_eq!(c.max_request_bytes, DEFAULT_MAX_REQUEST_BYTES);
    assert_eq!(c.max_output_tokens, DEFAULT_MAX_OUTPUT_TOKENS);
    assert_eq!(c.min_output_tokens, DEFAULT_MIN_OUTPUT_TOKENS);
    assert_eq!(c.keep_alive_ms, 15_000);
    assert!(!c.drop_unsupported);
    assert!(
        with(r#"{"compat": {"dropUnsupported": true}}"#)
            .unwrap()
            .drop_unsupported
    );
    assert_eq!(
        with(r#"{"limits": {"keepAliveSeconds": 0}}"#)
            .unwrap()
            .keep_alive_ms,
        0
    );
    assert_eq!(
        with(r#"{"limits": {"keepAliveSeconds": 300}}"#)
            .unwrap()
            .keep_alive_ms,
        300_000
    );
    for bad in ["-1", "301"] {
        check_err(
            &format!(r#"{{"limits": {{"keepAliveSeconds": {bad}}}}}"#),
            "tenants/acme: limits.keepAliveSeconds: must be between 0 (off) and 300",
        );
    }
    assert_eq!(
        c.budget,
        Some(BudgetConfig {
            daily: Some(10),
            monthly: Some(100),
            daily_micros: None,
            monthly_micros: None,
            store: BudgetStoreKind::DurableObject
        })
    );
    assert!(!c.allows_origin("https://x.example"));
}

#[test]
fn every_broken_rule_names_its_path() {
    check_err(
        r#"{"budget": {"daily": 0}}"#,
        "tenants/acme: budget.daily: must be > 0",
    );
    check_err(
        r#"{"budget": {"minOutputTokens": 0}}"#,
        "tenants/acme: budget.minOutputTokens: must be > 0",
    );
    check_err(
        r#"{"budget": {"monthly": -1}}"#,
        "tenants/acme: budget.monthly: must be > 0",
    );
    check_err(
        r#"{"budget": {"daily": 1000}}"#,
        "tenants/acme: budget.daily: 1000 must not exceed budget.monthly (100)",
    );
    check_err(
        r#"{"budget": {"store": "redis"}}"#,
        "tenants/acme: budget.store: `redis` is not one of `durable-object`, `kv`",
    );
    for bad in ["Acme", "", "ac_me", "a b", &"a".repeat(64)] {
        check_err(
            &format!(r#"{{"tenantId": "{bad}"}}"#),
            &format!("tenants/acme: tenantId: `{bad}` must be 1-63 of `a-z`, `0-9` and `-`"),
        );
    }
    assert!(with(&format!(r#"{{"tenantId": "{}"}}"#, "a-9".repeat(21))).is_ok());
    for bad in ["llama-3.1-8b-instruct", "@cf", "@xx/model", "/m", "p/"] {
        check_err(
            &format!(r#"{{"models": {{"chat": "{bad}"}}, "modelAllowList": []}}"#),
            &format!("tenants/acme: models.chat: `{bad}` is neither a Workers AI id (`@cf/...`, `@hf/...`) nor `<provider>/<model>`"),
        );
    }
    assert!(with(r#"{"models": {"chat": "@hf/thebloke/x"}, "modelAllowList": []}"#).is_ok());
    check_err(
        r#"{"aiGatewayId": "a b"}"#,
        "tenants/acme: aiGatewayId: `a b` must be 1-63 letters, digits, `-` or `_`",
    );
    check_err(
        r#"{"models": {"fallbacks": ["@cf/a"]}}"#,
        "tenants/acme: models.fallbacks[0]: `@cf/a` is already the chat model",
    );
    check_err(
        r#"{"models": {"fallbacks": ["@cf/b", "@cf/b"]}}"#,
        "tenants/acme: models.fallbacks[1]: `@cf/b` is listed twice",
    );
    check_err(
        r#"{"models": {"tiers": {"premium": "@cf/z"}}}"#,
        "tenants/acme: models.tiers.premium: `@cf/z` is not in modelAllowList",
    );
    check_err(
        r#"{"modelAllowList": ["@cf/a"]}"#,
        "tenants/acme: models.fallbacks[0]: `@cf/b` is not in modelAllowList",
    );
    check_err(
        r#"{"limits": {"maxOutputTokens": 0}}"#,
        "tenants/acme: limits.maxOutputTokens: must be > 0",
    );
    check_err(
        r#"{"limits": {"maxRequestBytes": 99999999999}}"#,
        "tenants/acme: limits.maxRequestBytes: must be <= 10485760",
    );
    check_err(r#"{"cors": {"allowedOrigins": ["https://a.example/path"]}}"#,
        "tenants/acme: cors.allowedOrigins[0]: `https://a.example/path` must be an origin, without path, query, spaces or credentials");
    check_err(r#"{"cors": {"allowedOrigins": ["*"], "allowCredentials": true}}"#,
        "tenants/acme: cors.allowedOrigins[0]: `*` cannot be used with cors.allowCredentials: browsers refuse it");
}

#[test]
fn every_broken_rule_is_listed_at_once() {
    let mut base: serde_json::Value = serde_json::from_str(VALID).unwrap();
    merge(
        &mut base,
        serde_json::json!({
            "tenantId": "Acme", "models": {"fallbacks": ["gpt", "@cf/a"]},
            "limits": {"maxOutputTokens": 0, "attemptTimeoutMs": -5},
            "budget": {"daily": 0}, "cors": {"allowedOrigins": ["ftp://x.example"]},
            "auth": {"mode": "jwt"},
        }),
    );
    let all: Vec<String> = TenantConfig::check("t", &base.to_string())
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        all,
        [
            "t: tenantId: `Acme` must be 1-63 of `a-z`, `0-9` and `-`",
            "t: models.fallbacks[0]: `gpt` is neither a Workers AI id (`@cf/...`, `@hf/...`) nor `<provider>/<model>`",
            "t: models.fallbacks[1]: `@cf/a` is already the chat model",
            "t: models.fallbacks[0]: `gpt` is not in modelAllowList",
            "t: limits.maxOutputTokens: must be > 0",
            "t: limits.attemptTimeoutMs: must be > 0",
            "t: cors.allowedOrigins[0]: `ftp://x.example` the scheme must be http or https",
            "t: auth.mode: must be `api-keys` or `open`",
            "t: budget.daily: must be > 0",
        ]
    );
    // The worker reads only the first.
    assert_eq!(
        TenantConfig::from_json("t", &base.to_string())
            .unwrap_err()
            .to_string(),
        all[0]
    );
}

#[test]
fn shape_errors_name_the_field() {
    check_err(
        r#"{"budget": {"daily": "ten"}}"#,
        "tenants/acme: budget.daily: invalid type: string \"ten\", expected i64",
    );
    let err = with(r#"{"modelz": 1}"#).unwrap_err().to_string();
    assert!(
        err.starts_with("tenants/acme: modelz: unknown field `modelz`"),
        "{err}"
    );
    let err = with(r#"{"models": {"chat": null}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("tenants/acme: models: missing field `chat`"),
        "{err}"
    );
}

#[test]
fn no_budget_means_unlimited_and_kv_is_selectable() {
    assert_eq!(with(r#"{"budget": null}"#).unwrap().budget, None);
    assert_eq!(
        with(r#"{"budget": {"store": "kv"}}"#)
            .unwrap()
            .budget
            .unwrap()
            .store,
        BudgetStoreKind::Kv
    );
}

#[test]
fn cors_wildcard_and_exact() {
    let c = with(r#"{"cors": {"allowedOrigins": ["https://app.acme.example"]}}"#).unwrap();
    assert!(c.allows_origin("https://app.acme.example"));
    assert!(!c.allows_origin("https://evil.example"));
    assert!(with(r#"{"cors": {"allowedOrigins": ["*"]}}"#)
        .unwrap()
        .allows_origin("https://any.example"));
}

#[test]
fn a_cost_budget_needs_a_price_for_every_model_named() {
    let c = with(r#"{"budget": {"daily": null, "monthly": null, "dailyUsd": 5}}"#).unwrap();
    let found: Vec<String> = c.unservable("t").iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        vec![
            "t: budget.dailyUsd: a cost budget needs a price for every model; `@cf/a` has none: add it to pricing",
            "t: budget.dailyUsd: a cost budget needs a price for every model; `@cf/b` has none: add it to pricing",
        ]
    );
    assert_eq!(c.models_named(), vec!["@cf/a", "@cf/b"]);
    let c = with(
        r#"{"budget": {"daily": null, "monthly": null, "monthlyUsd": "20"}, "pricing": {"@cf/a": {"input": 0.1, "output": 0.2},
            "@cf/b": {"input": 0.3}}}"#,
    )
    .unwrap();
    assert!(c.unservable("t").is_empty());
    assert_eq!(
        c.budget.as_ref().map(|b| b.monthly_micros),
        Some(Some(20_000_000))
    );
    assert_eq!(
        c.pricing.price("@cf/b").map(|p| (p.input, p.output)),
        Some((300_000, 0))
    );
    // Token budgets need no prices.
    let c = with(r#"{"budget": {"daily": 100, "monthly": 1000}}"#).unwrap();
    assert!(c.unservable("t").is_empty());
    check_err(
        r#"{"budget": {"dailyUsd": "five"}}"#,
        "tenants/acme: budget.dailyUsd: `five` is not an amount of USD (a decimal like 0.25, at most 6 decimals, not negative)",
    );
    check_err(
        r#"{"pricing": {"@cf/a": {"output": 1}}}"#,
        "tenants/acme: pricing.@cf/a.input: is required",
    );
}

#[test]
fn the_binding_is_trusted_with_max_tokens_only_when_asked() {
    assert!(!with("{}").unwrap().trust_workers_ai_max_tokens);
    assert!(
        with(r#"{"limits":{"trustWorkersAiMaxTokens":true}}"#)
            .unwrap()
            .trust_workers_ai_max_tokens
    );
    check_err(
        r#"{"limits":{"trustWorkersAiMaxTokens":1}}"#,
        "tenants/acme: limits.trustWorkersAiMaxTokens: invalid type: integer `1`, expected a boolean",
    );
}
