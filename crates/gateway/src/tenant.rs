//! Tenant configuration: the raw shape read from `[vars.TENANT]`, checked into `TenantConfig`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::access::{check_auth, AuthConfig, OriginPattern};
use crate::error::ConfigError;
use crate::history::Retention;
use crate::pricing::PriceTable;
use crate::provider_config::{check_provider, ProviderConfig};
use crate::session::{check_sessions, SessionConfig};
pub use crate::tenant_budget::{check_budget, BudgetConfig, BudgetStoreKind, RawBudget};
pub use crate::tenant_knowledge::{
    embedding_input_tokens, resolve_preset, KnowledgeBase, MinScore, Preset, PresetRoute,
    RawKnowledgeBase, RawPreset, EMBEDDING_MODELS,
};
pub use crate::tenant_raw::{RawCompat, RawCors, RawLimits, RawModels, RawTenantConfig, RawTier};

/// Default for `limits.maxRequestBytes` when a tenant does not set it.
pub const DEFAULT_MAX_REQUEST_BYTES: u32 = 64 * 1024;
/// Default for `limits.maxOutputTokens`.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u32 = 1024;
/// Default for `limits.attemptTimeoutMs`: how long one model may take to its first token.
pub const DEFAULT_ATTEMPT_TIMEOUT_MS: u32 = 30_000;
/// Default for `limits.keepAliveSeconds`: the SSE comment gap while a stream waits.
pub const DEFAULT_KEEP_ALIVE_S: u64 = 15;
/// Default for `budget.minOutputTokens`: the smallest output cap a request is shrunk to when
/// its budget cannot take the whole cap (shrink-to-fit, docs/budgets.md).
pub const DEFAULT_MIN_OUTPUT_TOKENS: u32 = 64;

/// Estimated prompt tokens of the smallest request (one one-token message).
pub const MIN_PROMPT_TOKENS: u64 = 8;
/// Bytes of the smallest valid request body, `{"message":"x"}`.
pub const MIN_REQUEST_BYTES: u32 = 15;

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
    /// A stream's SSE keep-alive gap (`limits.keepAliveSeconds`, in ms; 0: none).
    pub keep_alive_ms: u64,
    /// `limits.trustWorkersAiMaxTokens`: the binding's whole answers are asked for non-streamed.
    pub trust_workers_ai_max_tokens: bool,
    pub allowed_origins: Vec<OriginPattern>,
    /// Sends `access-control-allow-credentials: true` to granted origins.
    pub allow_credentials: bool,
    pub budget: Option<BudgetConfig>,
    pub auth: AuthConfig,
    /// Server-side conversation sessions; `None` when off.
    pub sessions: Option<SessionConfig>,
    /// HTTP providers by name; model refs `<name>/<model>` go to them.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// `compat.dropUnsupported`: `/v1` drops what it would refuse, and says so.
    pub drop_unsupported: bool,
    /// Prices: the tenant's `pricing` entries over the built-in ones.
    pub pricing: PriceTable,
    /// How long usage history rows are kept (`usageHistory`).
    pub usage_history: Retention,
    /// Knowledge bases by name (`knowledge.<kb>`).
    pub knowledge: BTreeMap<String, KnowledgeBase>,
    /// Presets by name (`presets.<name>`): names clients send as `model` for grounded answers.
    pub presets: BTreeMap<String, Preset>,
}

impl TenantConfig {
    /// Parses and checks a tenant config from JSON. `source` names where it came from
    /// (`tenants/acme` or `TENANT`) and starts every error message. The first broken rule is
    /// the error; `check` lists them all.
    pub fn from_json(source: &str, json: &str) -> Result<Self, ConfigError> {
        Self::check(source, json).map_err(|mut all| all.swap_remove(0))
    }

    /// Parses a tenant config and applies every rule, returning every broken one (a JSON shape
    /// error stops at the first, as parsing cannot go on past it).
    pub fn check(source: &str, json: &str) -> Result<Self, Vec<ConfigError>> {
        let raw = crate::tenant_raw::read(source, json).map_err(|e| vec![e])?;
        Self::try_from_raw(source, raw)
    }

    /// Applies every rule to a raw config; every broken rule is reported, in order.
    pub fn try_from_raw(source: &str, raw: RawTenantConfig) -> Result<Self, Vec<ConfigError>> {
        let mut errors: Vec<ConfigError> = Vec::new();
        let mut bad = |path: &str, message: String| {
            errors.push(ConfigError::new(source, path, message));
        };

        let tenant_id = check_tenant_id(&raw.tenant_id).unwrap_or_else(|m| {
            bad("tenantId", m);
            TenantId(String::new())
        });
        if let Err(m) = check_slug(&raw.ai_gateway_id) {
            bad("aiGatewayId", m);
        }
        if let Err(m) = check_model_ref(&raw.models.chat) {
            bad("models.chat", m);
        }
        for (i, model) in raw.models.fallbacks.iter().enumerate() {
            let path = format!("models.fallbacks[{i}]");
            if let Err(m) = check_model_ref(model) {
                bad(&path, m);
            } else if *model == raw.models.chat {
                bad(&path, format!("`{model}` is already the chat model"));
            } else if raw.models.fallbacks[..i].contains(model) {
                bad(&path, format!("`{model}` is listed twice"));
            }
        }
        let mut providers = BTreeMap::new();
        for (name, p) in raw.providers {
            match check_provider(source, &name, p) {
                Ok(cfg) => {
                    providers.insert(name.clone(), cfg);
                }
                Err(e) => bad(&e.path, e.message),
            }
        }
        let mut tiers = BTreeMap::new();
        for (tier, models) in raw.models.tiers {
            let path = format!("models.tiers.{tier}");
            if let Err(m) = check_slug(&tier) {
                bad(&path, format!("tier name {m}"));
            }
            let list = match models {
                RawTier::One(m) => vec![m],
                RawTier::Many(list) if !list.is_empty() => list,
                RawTier::Many(_) => {
                    bad(&path, "must name at least one model".into());
                    continue;
                }
            };
            for (i, model) in list.iter().enumerate() {
                let path = if list.len() == 1 {
                    path.clone()
                } else {
                    format!("{path}[{i}]")
                };
                if let Err(m) = check_model_ref(model) {
                    bad(&path, m);
                }
            }
            tiers.insert(tier, Tier(list));
        }
        // A preset's model that is no tier is a model ref, checked like a tier's entries.
        let preset_refs: Vec<(String, &String)> = raw
            .presets
            .iter()
            .filter(|(_, p)| !tiers.contains_key(&p.model))
            .map(|(name, p)| (format!("presets.{name}.model"), &p.model))
            .collect();
        for (path, model) in &preset_refs {
            if let Err(m) = check_model_ref(model) {
                bad(path, m);
            }
        }
        let configured: Vec<(String, &String)> =
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
                .chain(preset_refs)
                .collect();
        for (i, model) in raw.model_allow_list.iter().enumerate() {
            if let Err(m) = check_model_ref(model) {
                bad(&format!("modelAllowList[{i}]"), m);
            }
        }
        // Every model ref that names a provider must name a configured one.
        let allow_list = raw
            .model_allow_list
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("modelAllowList[{i}]"), m));
        for (path, model) in configured.iter().cloned().chain(allow_list) {
            if let Some((p, _)) = model.split_once('/').filter(|_| !model.starts_with('@')) {
                if !providers.contains_key(p) {
                    bad(&path, format!(
                        "`{model}` names no provider `{p}`: define [vars.TENANT.providers.{p}] or use a Workers AI id (@cf/...)"
                    ));
                }
            }
        }
        if !raw.model_allow_list.is_empty() {
            for (path, model) in &configured {
                if !raw.model_allow_list.contains(model) {
                    bad(path, format!("`{model}` is not in modelAllowList"));
                }
            }
        }

        let limits = &raw.limits;
        let mut number = |path: &str, v: Option<i64>, default: u32, max: u32| {
            positive(v, default, max).unwrap_or_else(|m| {
                bad(path, m);
                default
            })
        };
        let defaults = Retention::default();
        let usage_history = Retention {
            daily_days: number(
                "usageHistory.dailyDays",
                raw.usage_history.0,
                defaults.daily_days,
                3650,
            ),
            hourly_days: number(
                "usageHistory.hourlyDays",
                raw.usage_history.1,
                defaults.hourly_days,
                90,
            ),
        };
        let max_request_bytes = number(
            "limits.maxRequestBytes",
            limits.max_request_bytes,
            DEFAULT_MAX_REQUEST_BYTES,
            10 * 1024 * 1024,
        );
        let max_output_tokens = number(
            "limits.maxOutputTokens",
            limits.max_output_tokens,
            DEFAULT_MAX_OUTPUT_TOKENS,
            1_000_000,
        );
        let attempt_timeout_ms = number(
            "limits.attemptTimeoutMs",
            limits.attempt_timeout_ms,
            DEFAULT_ATTEMPT_TIMEOUT_MS,
            300_000,
        );
        let min_output_tokens = number(
            "budget.minOutputTokens",
            raw.budget.as_ref().and_then(|b| b.min_output_tokens),
            DEFAULT_MIN_OUTPUT_TOKENS,
            1_000_000,
        );
        let keep_alive_ms = match limits.keep_alive_seconds {
            None => DEFAULT_KEEP_ALIVE_S * 1000,
            Some(s) if (0..=300).contains(&s) => s.unsigned_abs() * 1000,
            Some(_) => {
                bad(
                    "limits.keepAliveSeconds",
                    "must be between 0 (off) and 300".into(),
                );
                0
            }
        };

        let mut allowed_origins = Vec::new();
        for (i, origin) in raw.cors.allowed_origins.iter().enumerate() {
            let path = format!("cors.allowedOrigins[{i}]");
            match OriginPattern::parse(origin) {
                Err(m) => bad(&path, format!("`{origin}` {m}")),
                Ok(p) if p.is_any() && raw.cors.allow_credentials => bad(
                    &path,
                    "`*` cannot be used with cors.allowCredentials: browsers refuse it".into(),
                ),
                Ok(p) => allowed_origins.push(p),
            }
        }
        let auth = check_auth(raw.auth).unwrap_or_else(|(p, m)| {
            bad(&p, m);
            AuthConfig::default()
        });
        let sessions = match raw.sessions {
            Some(s) => check_sessions(s).unwrap_or_else(|(p, m)| {
                bad(&p, m);
                None
            }),
            None => None,
        };
        let budget = match raw.budget.map(|b| check_budget(source, b)) {
            Some(Err(e)) => {
                bad(&e.path, e.message);
                None
            }
            Some(Ok(b)) => Some(b),
            None => None,
        };
        let cx = crate::tenant_knowledge_check::Context {
            providers: &providers,
            is_tier: &|t| tiers.contains_key(t),
        };
        let (knowledge, presets) =
            crate::tenant_knowledge_check::check(raw.knowledge, raw.presets, &cx, &mut bad);
        if !errors.is_empty() {
            return Err(errors);
        }
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
            keep_alive_ms,
            trust_workers_ai_max_tokens: limits.trust_workers_ai_max_tokens.unwrap_or(false),
            allowed_origins,
            allow_credentials: raw.cors.allow_credentials,
            budget,
            auth,
            sessions,
            providers,
            drop_unsupported: raw.compat.drop_unsupported,
            pricing: raw.pricing,
            usage_history,
            knowledge,
            presets,
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
            let limits = [("budget.daily", b.daily), ("budget.monthly", b.monthly)];
            for (path, limit) in limits.into_iter().filter_map(|(p, l)| Some((p, l?))) {
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
        if let Some(b) = self.budget.as_ref().filter(|b| b.limits_cost()) {
            let path = if b.daily_micros.is_some() {
                "budget.dailyUsd"
            } else {
                "budget.monthlyUsd"
            };
            for model in self.models_named() {
                if self.pricing.price(model).is_none() {
                    found.push(ConfigError::new(
                        source,
                        path,
                        format!(
                            "a cost budget needs a price for every model; `{model}` has none: add \
                             it to pricing"
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
        found.extend(crate::tenant_knowledge::unservable(
            source,
            &self.knowledge,
            self.budget.as_ref(),
            &self.pricing,
            need,
        ));
        found
    }

    /// Every chat model the config names (chat, fallbacks, tiers, presets' models that are
    /// no tier), once each, in that order.
    pub fn models_named(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let presets = self.presets.values().map(|p| p.model.as_str());
        let named = std::iter::once(self.chat_model.as_str())
            .chain(self.fallback_models.iter().map(String::as_str))
            .chain(
                self.tiers
                    .values()
                    .flat_map(|t| t.0.iter().map(String::as_str)),
            )
            .chain(presets.filter(|m| !self.tiers.contains_key(*m)));
        for m in named {
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    /// The least output a request is ever admitted with: `budget.minOutputTokens`, or
    /// `limits.maxOutputTokens` when that is smaller.
    pub fn smallest_output_cap(&self) -> u32 {
        self.min_output_tokens.min(self.max_output_tokens)
    }

    /// The preset a request's `model` names, if any (`resolve_preset`).
    pub fn preset(&self, requested: Option<&str>) -> Option<PresetRoute<'_>> {
        resolve_preset(&self.presets, &self.knowledge, requested)
    }

    /// Whether `origin` may receive a CORS grant (an exact entry, a `*.domain` pattern, or `*`).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o.matches(origin))
    }
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

/// A tenant id: 1-63 of `a-z`, `0-9` and `-` (it names ledgers, sessions and AI Gateway metadata).
fn check_tenant_id(id: &str) -> Result<TenantId, String> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(format!("`{id}` must be 1-63 of `a-z`, `0-9` and `-`"));
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

/// A model ref in a tenant config: a Workers AI id (`@cf/...`, `@hf/...`) or `<provider>/<model>`
/// (whether the provider exists is checked against `providers`).
fn check_model_ref(s: &str) -> Result<(), String> {
    check_model_id(s)?;
    let workers_ai = s.starts_with("@cf/") || s.starts_with("@hf/");
    let provider = !s.starts_with('@')
        && s.split_once('/')
            .is_some_and(|(p, m)| !p.is_empty() && !m.is_empty());
    if !workers_ai && !provider {
        return Err(format!(
            "`{s}` is neither a Workers AI id (`@cf/...`, `@hf/...`) nor `<provider>/<model>`"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "tenant_tests.rs"]
mod tests;
