//! Table tests of provider config checks and model refs.

use serde_json::json;

use super::*;

fn check_json(v: serde_json::Value) -> Result<ProviderConfig, String> {
    let map = v.as_object().ok_or("not an object")?;
    let raw: RawProvider =
        crate::tenant_raw::raw_provider(map, "providers.corp").map_err(|e| e.to_string())?;
    check_provider("t", "corp", raw).map_err(|e| e.to_string())
}

fn oauth() -> serde_json::Value {
    json!({"kind":"openai-compatible","baseUrl":"https://ai.example.com/v1/",
           "auth":{"type":"oauth2","tokenUrl":"https://login.example.com/token","clientId":"abc",
                   "clientSecret":{"secret":"CORP_CLIENT_SECRET"},"scope":"ai.chat","method":"post"},
           "headers":{"x-team":"support"},"maxTokensField":"max_completion_tokens","timeoutMs":20000})
}

fn with(patch: serde_json::Value) -> serde_json::Value {
    let mut v = oauth();
    for (k, x) in patch.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

#[test]
fn a_full_oauth2_provider() {
    let p = check_json(oauth()).unwrap();
    assert_eq!(p.base_url, "https://ai.example.com/v1");
    assert_eq!(p.max_tokens_field, "max_completion_tokens");
    assert_eq!(p.timeout_ms, Some(20000));
    assert_eq!(p.models_ttl_s, DEFAULT_MODELS_TTL_S);
    assert_eq!(p.kind(), "openai-compatible");
    assert!(
        matches!(p.auth, ProviderAuth::OAuth2 { basic: false, ref client_secret, .. } if client_secret.0 == "CORP_CLIENT_SECRET")
    );
}

#[test]
fn cloudflare_defaults_to_the_rest_api() {
    let p = check_json(json!({"kind":"cloudflare-ai-gateway","accountId":"abc123","gatewayId":"gw",
        "token":{"secret":"CF_API_TOKEN"},"gatewayToken":{"secret":"CF_AIG_TOKEN"},"cacheTtl":60,"maxAttempts":2}))
    .unwrap();
    assert_eq!(
        p.base_url,
        "https://api.cloudflare.com/client/v4/accounts/abc123/ai/v1"
    );
    assert_eq!(
        p.auth,
        ProviderAuth::Bearer {
            key: SecretRef("CF_API_TOKEN".into())
        }
    );
    let cf = p.cloudflare.unwrap();
    assert_eq!(
        (cf.gateway_id.as_str(), cf.cache_ttl, cf.max_attempts),
        ("gw", Some(60), Some(2))
    );
}

#[test]
fn every_broken_rule_names_its_path() {
    let err = |v| check_json(v).unwrap_err();
    assert_eq!(
        err(with(json!({"auth":{"type":"oauth2","tokenUrl":"https://x/t","clientId":"a","clientSecret":"hunter2"}}))),
        "t: providers.corp.auth.clientSecret: must name a secret, not hold one: { secret = \"NAME\" }, set with `wrangler secret put NAME`"
    );
    assert_eq!(
        err(with(json!({"headers":{"authorization":"Bearer abc"}}))),
        "t: providers.corp.headers.authorization: looks like a credential: put credentials in `auth` as a named secret"
    );
    assert_eq!(
        err(with(json!({"headers":{"x-team":"sk-live-0123456789abcdefghij0123456789"}}))),
        "t: providers.corp.headers.x-team: looks like a credential: put credentials in `auth` as a named secret"
    );
    assert_eq!(
        err(with(json!({"baseUrl":"ftp://x"}))),
        "t: providers.corp.baseUrl: must be an http(s) URL"
    );
    assert_eq!(err(with(json!({"baseUrl":"http://ai.example.com/v1"}))), "t: providers.corp.baseUrl: must be https:// (http:// only for loopback hosts): credentials travel with every call");
    assert_eq!(
        err(with(json!({"baseUrl":"https://u:p@ai.example.com/v1"}))),
        "t: providers.corp.baseUrl: must not carry credentials or a query: name secrets in `auth`"
    );
    assert_eq!(
        err(with(json!({"baseUrl":"https://ai.example.com/v1?key=x"}))),
        "t: providers.corp.baseUrl: must not carry credentials or a query: name secrets in `auth`"
    );
    assert!(check_json(with(json!({"baseUrl":"http://127.0.0.1:8080/v1"}))).is_ok());
    assert_eq!(err(with(json!({"auth":{"type":"bearer","key":{"secret":"ADMIN_TOKEN"}}}))), "t: providers.corp.auth.key: names a secret the gateway keeps for itself; use a secret of its own");
    assert_eq!(
        err(with(json!({"kind":"grpc"}))),
        "t: providers.corp.kind: must be `openai-compatible` or `cloudflare-ai-gateway`"
    );
    assert_eq!(
        err(with(json!({"auth":{"type":"magic"}}))),
        "t: providers.corp.auth.type: must be `oauth2`, `bearer` or `none`"
    );
    assert_eq!(
        err(with(
            json!({"auth":{"type":"bearer","key":{"secret":"lower"}}})
        )),
        "t: providers.corp.auth.key: must be { secret = \"NAME\" } with NAME of A-Z, 0-9, _"
    );
    assert_eq!(
        err(with(json!({"auth":{"type":"none","key":{"secret":"X"}}}))),
        "t: providers.corp.auth.key: unknown field"
    );
    assert_eq!(
        err(with(json!({"maxTokensField":"tokens"}))),
        "t: providers.corp.maxTokensField: must be `max_tokens` or `max_completion_tokens`"
    );
    assert_eq!(
        err(with(json!({"accountId":"x"}))),
        "t: providers.corp.accountId: is only for kind = \"cloudflare-ai-gateway\""
    );
    assert_eq!(
        err(json!({"kind":"cloudflare-ai-gateway","accountId":"a","gatewayId":"g"})),
        "t: providers.corp.token: is required: { secret = \"NAME\" }"
    );
}

#[test]
fn model_refs() {
    let mut providers = BTreeMap::new();
    providers.insert("corp".to_string(), check_json(oauth()).unwrap());
    assert_eq!(
        ModelRef::parse("corp/gpt-5.1", &providers),
        ModelRef::Provider {
            provider: "corp",
            model: "gpt-5.1"
        }
    );
    assert_eq!(
        ModelRef::parse("corp/org/model", &providers),
        ModelRef::Provider {
            provider: "corp",
            model: "org/model"
        }
    );
    assert_eq!(
        ModelRef::parse("@cf/meta/llama", &providers),
        ModelRef::Binding("@cf/meta/llama")
    );
    assert_eq!(
        ModelRef::parse("other/x", &providers),
        ModelRef::Binding("other/x")
    );
    assert_eq!(
        ModelRef::parse("gpt-4", &providers),
        ModelRef::Binding("gpt-4")
    );
}

#[test]
fn trust_max_tokens_is_off_unless_set() {
    assert!(!check_json(oauth()).unwrap().trust_max_tokens);
    assert!(
        check_json(with(json!({"trustMaxTokens": true})))
            .unwrap()
            .trust_max_tokens
    );
    assert!(
        !check_json(with(json!({"trustMaxTokens": false})))
            .unwrap()
            .trust_max_tokens
    );
    assert_eq!(
        check_json(with(json!({"trustMaxTokens": "yes"}))).unwrap_err(),
        "providers.corp.trustMaxTokens: invalid type: string \"yes\", expected a boolean"
    );
}
