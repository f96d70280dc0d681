//! Model resolution: request > env > tenant, tier aliases, the allow-list and the fallback chain.

use serde::Serialize;

use crate::error::Error;
use crate::provider_config::ModelRef;
use crate::tenant::TenantConfig;

/// Which setting chose the primary model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelSource {
    /// The request's `modelId`.
    Request,
    /// The worker's `MODEL_ID` variable.
    Env,
    /// The tenant's `models.chat`.
    Tenant,
}

/// The models to try for one request, in order: the primary first, then its fallbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelPlan {
    pub source: ModelSource,
    pub chain: Vec<String>,
}

impl ModelPlan {
    pub fn primary(&self) -> &str {
        self.chain.first().map_or("", String::as_str)
    }

    pub fn fallbacks(&self) -> &[String] {
        self.chain.get(1..).unwrap_or(&[])
    }
}

/// Resolves the model for one request, assuming every model is available.
pub fn resolve_model(
    request: Option<&str>,
    env: Option<&str>,
    tenant: &TenantConfig,
) -> Result<ModelPlan, Error> {
    resolve_model_with(request, env, tenant, &|_| true)
}

/// Resolves the model for one request.
///
/// Precedence: the request's model, then the worker's `MODEL_ID`, then the tenant's chat
/// model. A value that names one of the tenant's tiers (`fast`, `premium`, ...) stands for
/// that tier: the first of its models that `available` accepts (what its provider currently
/// lists; the first one when none is), followed by the tier's other models in order. Empty
/// strings count as unset. The primary must be in a non-empty allow-list. The chain then
/// continues with the tenant's chat model and fallbacks, each model once, each allowed.
pub fn resolve_model_with(
    request: Option<&str>,
    env: Option<&str>,
    tenant: &TenantConfig,
    available: &dyn Fn(&str) -> bool,
) -> Result<ModelPlan, Error> {
    let (source, chosen) = chosen(request, env, tenant);
    let preferred: Vec<&str> = match tenant.tiers.get(chosen) {
        Some(tier) => {
            let first = tier.0.iter().position(|m| available(m)).unwrap_or(0);
            let mut list: Vec<&str> = tier.0.iter().map(String::as_str).collect();
            let primary = list.remove(first);
            std::iter::once(primary).chain(list).collect()
        }
        None => vec![chosen],
    };
    let primary = preferred.first().copied().unwrap_or(chosen);

    let allowed = |m: &str| allowed(tenant, m);
    if !allowed(primary) {
        return Err(Error::ModelNotAllowed {
            model: primary.to_string(),
        });
    }

    let mut chain: Vec<String> = Vec::new();
    let rest = std::iter::once(tenant.chat_model.as_str())
        .chain(tenant.fallback_models.iter().map(String::as_str));
    for m in preferred.into_iter().chain(rest) {
        if allowed(m) && !chain.iter().any(|c| c == m) {
            chain.push(m.to_string());
        }
    }
    Ok(ModelPlan { source, chain })
}

/// The precedence of model choice: the request's model, then the worker's `MODEL_ID`, then the
/// tenant's chat model; empty strings count as unset.
pub fn chosen<'a>(
    request: Option<&'a str>,
    env: Option<&'a str>,
    tenant: &'a TenantConfig,
) -> (ModelSource, &'a str) {
    fn set(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|s| !s.is_empty())
    }
    match (set(request), set(env)) {
        (Some(r), _) => (ModelSource::Request, r),
        (None, Some(e)) => (ModelSource::Env, e),
        (None, None) => (ModelSource::Tenant, tenant.chat_model.as_str()),
    }
}

/// Whether the tenant's allow-list lets a client use `model` (an empty list allows any).
pub fn allowed(tenant: &TenantConfig, model: &str) -> bool {
    tenant.model_allow_list.is_empty() || tenant.model_allow_list.iter().any(|a| a == model)
}

/// The HTTP providers whose model lists decide which model of the chosen tier leads: those
/// named in a tier preference list (a tier of several models), each once, in order.
pub fn providers_to_ask<'a>(
    request: Option<&'a str>,
    env: Option<&'a str>,
    tenant: &'a TenantConfig,
) -> Vec<&'a str> {
    let (_, chosen) = chosen(request, env, tenant);
    let mut out: Vec<&str> = Vec::new();
    if let Some(tier) = tenant.tiers.get(chosen).filter(|t| t.0.len() > 1) {
        for m in &tier.0 {
            if let ModelRef::Provider { provider, .. } = ModelRef::parse(m, &tenant.providers) {
                if !out.contains(&provider) {
                    out.push(provider);
                }
            }
        }
    }
    out
}

/// Whether `model` is served, given what the asked providers listed (`None`: not known): a
/// Workers AI model always is; a provider's model when its provider listed it.
pub fn is_listed(
    tenant: &TenantConfig,
    model: &str,
    listed: &[(&str, Option<Vec<String>>)],
) -> bool {
    match ModelRef::parse(model, &tenant.providers) {
        ModelRef::Binding(_) => true,
        ModelRef::Provider { provider, model } => listed.iter().any(|(p, ids)| {
            *p == provider
                && ids
                    .as_ref()
                    .is_some_and(|ids| ids.iter().any(|i| i == model))
        }),
    }
}

/// One model a tenant's clients may name (`GET /v1/models`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedModel {
    pub id: String,
    /// The tenant id for tier aliases, the provider's name for its models, `workers-ai` for
    /// Workers AI ids.
    pub owned_by: String,
}

/// The models a tenant's clients may name: tier aliases, presets, the default chat model
/// (after `MODEL_ID`), fallbacks and allow-list entries, each once, in that order.
pub fn listed_models(tenant: &TenantConfig, env: Option<&str>) -> Vec<ListedModel> {
    let owner = tenant.tenant_id.as_str();
    let mut out: Vec<ListedModel> = Vec::new();
    let mut push = |id: &str, owned_by: &str| {
        if !out.iter().any(|m| m.id == id) {
            out.push(ListedModel {
                id: id.to_string(),
                owned_by: owned_by.to_string(),
            });
        }
    };
    let allowed = |m: &str| allowed(tenant, m);
    for (alias, tier) in &tenant.tiers {
        if tier.0.iter().any(|m| allowed(m)) {
            push(alias, owner);
        }
    }
    // Presets: names that ask for grounded answers (knowledge bases).
    for name in tenant.presets.keys() {
        push(name, owner);
    }
    let owner_of = |m: &str| match ModelRef::parse(m, &tenant.providers) {
        ModelRef::Provider { provider, .. } => provider.to_string(),
        ModelRef::Binding(_) => "workers-ai".to_string(),
    };
    if let Ok(plan) = resolve_model(None, env, tenant) {
        for m in &plan.chain {
            push(m, &owner_of(m));
        }
    }
    for m in &tenant.model_allow_list {
        push(m, &owner_of(m));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(allow: &[&str]) -> TenantConfig {
        let json = serde_json::json!({
            "tenantId": "acme", "aiGatewayId": "gw",
            "models": { "chat": "@cf/chat", "fallbacks": ["@cf/fb1", "@cf/fb2"],
                        "tiers": { "fast": "@cf/fb1", "premium": "@cf/big" } },
            "modelAllowList": allow,
        });
        TenantConfig::from_json("t", &json.to_string()).unwrap()
    }

    fn check(
        request: Option<&str>,
        env: Option<&str>,
        allow: &[&str],
        expected: Result<(ModelSource, &[&str]), &str>,
    ) {
        let got = resolve_model(request, env, &tenant(allow));
        match expected {
            Ok((source, chain)) => {
                let plan = got.unwrap();
                assert_eq!(plan.source, source, "{request:?} {env:?}");
                assert_eq!(plan.chain, chain, "{request:?} {env:?}");
            }
            Err(model) => assert_eq!(
                got,
                Err(Error::ModelNotAllowed {
                    model: model.into()
                })
            ),
        }
    }

    #[test]
    fn which_providers_are_asked_and_what_counts_as_listed() {
        let json = serde_json::json!({
            "tenantId": "acme", "aiGatewayId": "gw",
            "providers": {
                "corp": { "kind": "openai-compatible", "baseUrl": "https://x.example/v1", "auth": { "type": "none" } },
                "lab": { "kind": "openai-compatible", "baseUrl": "https://y.example/v1", "auth": { "type": "none" } },
            },
            "models": { "chat": "@cf/chat",
                        "tiers": { "premium": ["corp/a", "lab/b", "corp/c", "@cf/d"], "one": "corp/a" } },
        });
        let t = TenantConfig::from_json("t", &json.to_string()).unwrap();
        assert_eq!(providers_to_ask(Some("premium"), None, &t), ["corp", "lab"]);
        assert_eq!(providers_to_ask(None, Some("premium"), &t), ["corp", "lab"]);
        assert!(
            providers_to_ask(Some("one"), None, &t).is_empty(),
            "one model: nothing to choose"
        );
        assert!(providers_to_ask(Some("@cf/x"), Some("premium"), &t).is_empty());
        let listed = [("corp", Some(vec!["a".to_string()])), ("lab", None)];
        assert!(is_listed(&t, "@cf/anything", &listed));
        assert!(is_listed(&t, "corp/a", &listed));
        assert!(!is_listed(&t, "corp/c", &listed));
        assert!(
            !is_listed(&t, "lab/b", &listed),
            "a provider that could not be asked lists nothing"
        );
        assert_eq!(
            chosen(Some(" "), Some(""), &t),
            (ModelSource::Tenant, "@cf/chat")
        );
        assert_eq!(chosen(None, Some("one"), &t), (ModelSource::Env, "one"));
        assert_eq!(
            chosen(Some("x"), Some("one"), &t),
            (ModelSource::Request, "x")
        );
        assert!(allowed(&t, "anything"));
        let strict = TenantConfig::from_json(
            "t",
            &serde_json::json!({"tenantId":"a","aiGatewayId":"g","models":{"chat":"@cf/a"},"modelAllowList":["@cf/a"]}).to_string(),
        )
        .unwrap();
        assert!(allowed(&strict, "@cf/a") && !allowed(&strict, "@cf/b"));
    }

    #[test]
    fn a_tier_preference_list_starts_with_its_first_available_model() {
        let json = serde_json::json!({
            "tenantId": "acme", "aiGatewayId": "gw",
            "providers": { "corp": { "kind": "openai-compatible", "baseUrl": "https://x.example/v1", "auth": { "type": "none" } } },
            "models": { "chat": "@cf/chat", "fallbacks": ["@cf/fb1"],
                        "tiers": { "premium": ["corp/gpt-5.1", "corp/gpt-5", "@cf/big"] } },
        });
        let t = TenantConfig::from_json("t", &json.to_string()).unwrap();
        let chain = |available: &dyn Fn(&str) -> bool| {
            resolve_model_with(Some("premium"), None, &t, available)
                .unwrap()
                .chain
        };
        assert_eq!(
            chain(&|_| true),
            [
                "corp/gpt-5.1",
                "corp/gpt-5",
                "@cf/big",
                "@cf/chat",
                "@cf/fb1"
            ]
        );
        assert_eq!(
            chain(&|m| m != "corp/gpt-5.1"),
            [
                "corp/gpt-5",
                "corp/gpt-5.1",
                "@cf/big",
                "@cf/chat",
                "@cf/fb1"
            ]
        );
        assert_eq!(
            chain(&|m| m.starts_with('@')),
            [
                "@cf/big",
                "corp/gpt-5.1",
                "corp/gpt-5",
                "@cf/chat",
                "@cf/fb1"
            ]
        );
        assert_eq!(
            chain(&|_| false),
            [
                "corp/gpt-5.1",
                "corp/gpt-5",
                "@cf/big",
                "@cf/chat",
                "@cf/fb1"
            ]
        );
    }

    #[test]
    fn the_listing_has_aliases_models_and_allowed_entries_once() {
        let ids = |allow: &[&str], env: Option<&str>| -> Vec<String> {
            listed_models(&tenant(allow), env)
                .into_iter()
                .map(|m| m.id)
                .collect()
        };
        assert_eq!(
            ids(&[], None),
            ["fast", "premium", "@cf/chat", "@cf/fb1", "@cf/fb2"]
        );
        assert_eq!(
            ids(&[], Some("premium")),
            ["fast", "premium", "@cf/big", "@cf/chat", "@cf/fb1", "@cf/fb2"]
        );
        // Allow-list entries are listed too.
        assert_eq!(
            ids(
                &["@cf/chat", "@cf/fb1", "@cf/fb2", "@cf/big", "@cf/other"],
                None
            ),
            [
                "fast",
                "premium",
                "@cf/chat",
                "@cf/fb1",
                "@cf/fb2",
                "@cf/big",
                "@cf/other"
            ]
        );
        let owners: Vec<String> = listed_models(&tenant(&[]), None)
            .into_iter()
            .map(|m| m.owned_by)
            .collect();
        assert_eq!(owners[..3], ["acme", "acme", "workers-ai"]);
    }

    const ALL: &[&str] = &["@cf/chat", "@cf/fb1", "@cf/fb2", "@cf/big"];

    #[test]
    fn precedence_request_over_env_over_tenant() {
        check(
            None,
            None,
            &[],
            Ok((ModelSource::Tenant, &["@cf/chat", "@cf/fb1", "@cf/fb2"])),
        );
        check(
            None,
            Some("@cf/env"),
            &[],
            Ok((
                ModelSource::Env,
                &["@cf/env", "@cf/chat", "@cf/fb1", "@cf/fb2"],
            )),
        );
        check(
            Some("@cf/req"),
            Some("@cf/env"),
            &[],
            Ok((
                ModelSource::Request,
                &["@cf/req", "@cf/chat", "@cf/fb1", "@cf/fb2"],
            )),
        );
        check(
            Some(""),
            Some(" "),
            &[],
            Ok((ModelSource::Tenant, &["@cf/chat", "@cf/fb1", "@cf/fb2"])),
        );
    }

    #[test]
    fn tier_aliases_resolve_through_the_tenant() {
        check(
            Some("fast"),
            None,
            &[],
            Ok((ModelSource::Request, &["@cf/fb1", "@cf/chat", "@cf/fb2"])),
        );
        check(
            None,
            Some("premium"),
            ALL,
            Ok((
                ModelSource::Env,
                &["@cf/big", "@cf/chat", "@cf/fb1", "@cf/fb2"],
            )),
        );
        check(
            Some("@cf/fb2"),
            None,
            ALL,
            Ok((ModelSource::Request, &["@cf/fb2", "@cf/chat", "@cf/fb1"])),
        );
    }

    #[test]
    fn allow_list_refuses_before_any_call() {
        check(Some("@cf/other"), None, ALL, Err("@cf/other"));
        check(None, Some("@cf/env"), ALL, Err("@cf/env"));
        check(
            Some("@cf/other"),
            None,
            &[],
            Ok((
                ModelSource::Request,
                &["@cf/other", "@cf/chat", "@cf/fb1", "@cf/fb2"],
            )),
        );
    }
}
