//! Tenant configuration: the raw shape read from `[vars.TENANT]`, checked into `TenantConfig`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::access::{check_auth, AuthConfig, OriginPattern, RawAuth};
use crate::error::ConfigError;
use crate::provider_config::{check_provider, ProviderConfig, RawProvider};
use crate::session::{check_sessions, RawSessions, SessionConfig};

/// Default for `limits.maxRequestBytes` when a tenant does not set it.
pub const DEFAULT_MAX_REQUEST_BYTES: u32 = 64 * 1024;
/// Default for `limits.maxOutputTokens`.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u32 = 1024;
/// Default for `limits.attemptTimeoutMs`: how long one model may take to its first token.
pub const DEFAULT_ATTEMPT_TIMEOUT_MS: u32 = 30_000;
/// Default for `budget.minOutputTokens`: the smallest output cap a request is shrunk to when
/// its budget cannot take the whole cap (shrink-to-fit, docs/budgets.md).
pub const DEFAULT_MIN_OUTPUT_TOKENS: u32 = 64;

/// Estimated prompt tokens of the smallest request (one one-token message).
pub const MIN_PROMPT_TOKENS: u64 = 8;
/// Bytes of the smallest valid request body, `{"message":"x"}`.
pub const MIN_REQUEST_BYTES: u32 = 15;

/// The tenant config exactly as written, before any rule is checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTenantConfig {
    pub tenant_id: String,
    pub ai_gateway_id: String,
    pub models: RawModels,
    #[serde(default)]
    pub model_allow_list: Vec<String>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub cors: RawCors,
    #[serde(default)]
    pub budget: Option<RawBudget>,
    #[serde(default)]
    pub providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    pub auth: RawAuth,
    #[serde(default)]
    pub sessions: Option<RawSessions>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawModels {
    pub chat: String,
    #[serde(default)]
    pub fallbacks: Vec<String>,
    #[serde(default)]
    pub tiers: BTreeMap<String, RawTier>,
}

/// A tier alias: one model ref, or an ordered preference list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawTier {
    One(String),
    Many(Vec<String>),
}

/// A checked tier: its model refs in order of preference (never empty). Serialized as a
/// string when it has one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier(pub Vec<String>);

impl Tier {
    /// The first preference.
    pub fn first(&self) -> &str {
        self.0.first().map_or("", String::as_str)
    }
}

impl Serialize for Tier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawLimits {
    pub max_request_bytes: Option<i64>,
    pub max_output_tokens: Option<i64>,
    pub attempt_timeout_ms: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCors {
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub allow_credentials: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawBudget {
    pub daily: i64,
    pub monthly: i64,
    #[serde(default)]
    pub store: Option<String>,
    pub min_output_tokens: Option<i64>,
}

/// A tenant id: lowercase letters, digits and `-`, 1 to 63 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantId(String);

impl TenantId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a tenant's budget counters live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BudgetStoreKind {
    /// One SQLite-backed Durable Object per tenant: exact under concurrency.
    DurableObject,
    /// Workers KV: cheap, eventually consistent, can overshoot (see docs/budgets.md).
    Kv,
}

/// A checked token budget: both limits are > 0 and daily <= monthly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetConfig {
    pub daily: u64,
    pub monthly: u64,
    pub store: BudgetStoreKind,
}

/// A tenant config whose every rule holds; the rest of the gateway trusts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantConfig {
    pub tenant_id: TenantId,
    pub ai_gateway_id: String,
    pub chat_model: String,
    pub fallback_models: Vec<String>,
    pub tiers: BTreeMap<String, Tier>,
    pub model_allow_list: Vec<String>,
    pub max_request_bytes: u32,
    pub max_output_tokens: u32,
    /// The smallest output cap shrink-to-fit admits a request with (`budget.minOutputTokens`).
    pub min_output_tokens: u32,
    pub attempt_timeout_ms: u32,
    pub allowed_origins: Vec<OriginPattern>,
    /// Sends `access-control-allow-credentials: true` to granted origins.
    pub allow_credentials: bool,
    pub budget: Option<BudgetConfig>,
    pub auth: AuthConfig,
    /// Server-side conversation sessions; `None` when off.
    pub sessions: Option<SessionConfig>,
    /// HTTP providers by name; model refs `<name>/<model>` go to them.
    pub providers: BTreeMap<String, ProviderConfig>,
}

impl TenantConfig {
    /// Parses and checks a tenant config from JSON. `source` names where it came from
    /// (`tenants/acme` or `TENANT`) and starts every error message.
    pub fn from_json(source: &str, json: &str) -> Result<Self, ConfigError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let raw: RawTenantConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let message = strip_position(&e.into_inner().to_string());
            ConfigError::new(
                source,
                if path == "." { String::new() } else { path },
                message,
            )
        })?;
        Self::try_from_raw(source, raw)
    }

    /// Applies every rule to a raw config; the first broken rule is the error.
    pub fn try_from_raw(source: &str, raw: RawTenantConfig) -> Result<Self, ConfigError> {
        let err = |path: &str, message: String| ConfigError::new(source, path, message);

        let tenant_id = check_tenant_id(&raw.tenant_id).map_err(|m| err("tenantId", m))?;
        check_slug(&raw.ai_gateway_id).map_err(|m| err("aiGatewayId", m))?;
        check_model_id(&raw.models.chat).map_err(|m| err("models.chat", m))?;

        for (i, model) in raw.models.fallbacks.iter().enumerate() {
            let path = format!("models.fallbacks[{i}]");
            check_model_id(model).map_err(|m| err(&path, m))?;
            if *model == raw.models.chat {
                return Err(err(&path, format!("`{model}` is already the chat model")));
            }
            if raw.models.fallbacks[..i].contains(model) {
                return Err(err(&path, format!("`{model}` is listed twice")));
            }
        }
        let mut providers = BTreeMap::new();
        for (name, p) in raw.providers {
            providers.insert(name.clone(), check_provider(source, &name, p)?);
        }
        let mut tiers = BTreeMap::new();
        for (tier, models) in raw.models.tiers {
            let path = format!("models.tiers.{tier}");
            check_slug(&tier).map_err(|m| err(&path, format!("tier name {m}")))?;
            let list = match models {
                RawTier::One(m) => vec![m],
                RawTier::Many(list) if !list.is_empty() => list,
                RawTier::Many(_) => return Err(err(&path, "must name at least one model".into())),
            };
            for (i, model) in list.iter().enumerate() {
                let path = if list.len() == 1 {
                    path.clone()
                } else {
                    format!("{path}[{i}]")
                };
                check_model_id(model).map_err(|m| err(&path, m))?;
            }
            tiers.insert(tier, Tier(list));
        }
        // Every model ref that names a provider must name a configured one.
        let refs =
            std::iter::once(("models.chat".to_string(), &raw.models.chat))
                .chain(
                    raw.models
                        .fallbacks
                        .iter()
                        .enumerate()
                        .map(|(i, m)| (format!("models.fallbacks[{i}]"), m)),
                )
                .chain(tiers.iter().flat_map(|(t, list)| {
                    list.0.iter().map(move |m| (format!("models.tiers.{t}"), m))
                }))
                .chain(
                    raw.model_allow_list
                        .iter()
                        .enumerate()
                        .map(|(i, m)| (format!("modelAllowList[{i}]"), m)),
                );
        for (path, model) in refs {
            if let Some((p, _)) = model.split_once('/').filter(|_| !model.starts_with('@')) {
                if !providers.contains_key(p) {
                    return Err(err(&path, format!(
                        "`{model}` names no provider `{p}`: define [vars.TENANT.providers.{p}] or use a Workers AI id (@cf/...)"
                    )));
                }
            }
        }
        for (i, model) in raw.model_allow_list.iter().enumerate() {
            check_model_id(model).map_err(|m| err(&format!("modelAllowList[{i}]"), m))?;
        }
        if !raw.model_allow_list.is_empty() {
            let configured = std::iter::once(("models.chat".to_string(), &raw.models.chat))
                .chain(
                    raw.models
                        .fallbacks
                        .iter()
                        .enumerate()
                        .map(|(i, m)| (format!("models.fallbacks[{i}]"), m)),
                )
                .chain(tiers.iter().flat_map(|(t, list)| {
                    list.0.iter().map(move |m| (format!("models.tiers.{t}"), m))
                }));
            for (path, model) in configured {
                if !raw.model_allow_list.contains(model) {
                    return Err(err(&path, format!("`{model}` is not in modelAllowList")));
                }
            }
        }

        let limits = &raw.limits;
        let max_request_bytes = positive(
            limits.max_request_bytes,
            DEFAULT_MAX_REQUEST_BYTES,
            10 * 1024 * 1024,
        )
        .map_err(|m| err("limits.maxRequestBytes", m))?;
        let max_output_tokens = positive(
            limits.max_output_tokens,
            DEFAULT_MAX_OUTPUT_TOKENS,
            1_000_000,
        )
        .map_err(|m| err("limits.maxOutputTokens", m))?;
        let attempt_timeout_ms = positive(
            limits.attempt_timeout_ms,
            DEFAULT_ATTEMPT_TIMEOUT_MS,
            300_000,
        )
        .map_err(|m| err("limits.attemptTimeoutMs", m))?;

        let mut allowed_origins = Vec::new();
        for (i, origin) in raw.cors.allowed_origins.iter().enumerate() {
            let path = format!("cors.allowedOrigins[{i}]");
            let pattern =
                OriginPattern::parse(origin).map_err(|m| err(&path, format!("`{origin}` {m}")))?;
            if pattern.is_any() && raw.cors.allow_credentials {
                return Err(err(
                    &path,
                    "`*` cannot be used with cors.allowCredentials: browsers refuse it".into(),
                ));
            }
            allowed_origins.push(pattern);
        }
        let auth = check_auth(raw.auth).map_err(|(p, m)| err(&p, m))?;
        let sessions = match raw.sessions {
            Some(s) => check_sessions(s).map_err(|(p, m)| err(&p, m))?,
            None => None,
        };

        let min_output_tokens = positive(
            raw.budget.as_ref().and_then(|b| b.min_output_tokens),
            DEFAULT_MIN_OUTPUT_TOKENS,
            1_000_000,
        )
        .map_err(|m| err("budget.minOutputTokens", m))?;
        let budget = raw.budget.map(|b| check_budget(source, b)).transpose()?;

        Ok(Self {
            tenant_id,
            ai_gateway_id: raw.ai_gateway_id,
            chat_model: raw.models.chat,
            fallback_models: raw.models.fallbacks,
            tiers,
            model_allow_list: raw.model_allow_list,
            max_request_bytes,
            max_output_tokens,
            min_output_tokens,
            attempt_timeout_ms,
            allowed_origins,
            allow_credentials: raw.cors.allow_credentials,
            budget,
            auth,
            sessions,
            providers,
        })
    }

    /// Settings that parse but can never serve a request, such as a budget too small for one
    /// request at the default output cap. tenant-check refuses them; the worker reports
    /// them in `/health`.
    pub fn unservable(&self, source: &str) -> Vec<ConfigError> {
        let mut found = Vec::new();
        // The smallest request reserves the smallest prompt plus the least output it may be
        // shrunk to (the output cap, when that is smaller).
        let need = MIN_PROMPT_TOKENS + u64::from(self.smallest_output_cap());
        if let Some(b) = &self.budget {
            for (path, limit) in [("budget.daily", b.daily), ("budget.monthly", b.monthly)] {
                if limit < need {
                    found.push(ConfigError::new(
                        source,
                        path,
                        format!(
                            "{limit} cannot admit a single request: one reserves its prompt plus at \
                             least budget.minOutputTokens ({}), at least {need}; raise the budget or \
                             lower budget.minOutputTokens",
                            self.smallest_output_cap()
                        ),
                    ));
                }
            }
        }
        if self.max_request_bytes < MIN_REQUEST_BYTES {
            found.push(ConfigError::new(
                source,
                "limits.maxRequestBytes",
                format!(
                    "{} is smaller than the smallest request ({MIN_REQUEST_BYTES} bytes)",
                    self.max_request_bytes
                ),
            ));
        }
        found
    }

    /// The least output a request is ever admitted with: `budget.minOutputTokens`, or
    /// `limits.maxOutputTokens` when that is smaller.
    pub fn smallest_output_cap(&self) -> u32 {
        self.min_output_tokens.min(self.max_output_tokens)
    }

    /// Whether `origin` may receive a CORS grant (an exact entry, a `*.domain` pattern, or `*`).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o.matches(origin))
    }
}

fn check_budget(source: &str, raw: RawBudget) -> Result<BudgetConfig, ConfigError> {
    let err = |path: &str, message: String| ConfigError::new(source, path, message);
    let daily = u64::try_from(raw.daily)
        .ok()
        .filter(|d| *d > 0)
        .ok_or_else(|| err("budget.daily", "must be > 0".into()))?;
    let monthly = u64::try_from(raw.monthly)
        .ok()
        .filter(|m| *m > 0)
        .ok_or_else(|| err("budget.monthly", "must be > 0".into()))?;
    if daily > monthly {
        return Err(err(
            "budget.daily",
            format!("{daily} must not exceed budget.monthly ({monthly})"),
        ));
    }
    let store = match raw.store.as_deref() {
        None | Some("durable-object") => BudgetStoreKind::DurableObject,
        Some("kv") => BudgetStoreKind::Kv,
        Some(other) => {
            return Err(err(
                "budget.store",
                format!("`{other}` is not one of `durable-object`, `kv`"),
            ));
        }
    };
    Ok(BudgetConfig {
        daily,
        monthly,
        store,
    })
}

fn positive(value: Option<i64>, default: u32, max: u32) -> Result<u32, String> {
    match value {
        None => Ok(default),
        Some(v) if v <= 0 => Err("must be > 0".into()),
        Some(v) => u32::try_from(v)
            .ok()
            .filter(|v| *v <= max)
            .ok_or_else(|| format!("must be <= {max}")),
    }
}

fn check_tenant_id(id: &str) -> Result<TenantId, String> {
    check_slug(id)?;
    if id.bytes().any(|b| b.is_ascii_uppercase() || b == b'_') {
        return Err(format!(
            "`{id}` must use lowercase letters, digits and `-` only"
        ));
    }
    Ok(TenantId(id.to_string()))
}

/// A slug: 1 to 63 ASCII letters, digits, `-` or `_`.
fn check_slug(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > 63
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("`{s}` must be 1-63 letters, digits, `-` or `_`"));
    }
    Ok(())
}

/// A model id such as `@cf/meta/llama-3.1-8b-instruct`: non-empty, printable, no spaces.
pub(crate) fn check_model_id(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > 200 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "`{s}` is not a model id (printable ASCII, no spaces, <= 200 chars)"
        ));
    }
    Ok(())
}

/// serde_json appends "at line L column C"; the path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
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
        let c = with(r#"{"budget":{"daily":72,"monthly":72},"limits":{"maxOutputTokens":1024}}"#)
            .unwrap();
        assert!(c.unservable("t").is_empty());
        let c = with(r#"{"budget":{"daily":71,"monthly":72},"limits":{"maxOutputTokens":1024}}"#)
            .unwrap();
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
        assert_eq!(
            c.budget,
            Some(BudgetConfig {
                daily: 10,
                monthly: 100,
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
        check_err(
            r#"{"tenantId": "Acme"}"#,
            "tenants/acme: tenantId: `Acme` must use lowercase letters, digits and `-` only",
        );
        check_err(
            r#"{"tenantId": ""}"#,
            "tenants/acme: tenantId: must not be empty",
        );
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
}
