//! Reading `[vars.TENANT]` (JSON) into the raw config with typed reads whose errors name the
//! field's path in serde's words (`budget.daily: invalid type: string "ten", expected i64`),
//! without per-type deserializer code in the module.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::access::{RawAuth, RawRateLimits};
use crate::error::{ConfigError, Error};
use crate::json::{describe, Obj};
use crate::pricing::PriceTable;
use crate::provider_config::RawProvider;
use crate::session::RawSessions;
use crate::tenant_budget::RawBudget;
use crate::tenant_knowledge::{RawKnowledgeBase, RawPreset};

/// A config error at `path` from a JSON read error (`"<path>: <message>"`).
fn config_error(source: &str, e: Error) -> ConfigError {
    match e {
        Error::InvalidRequest {
            field: Some(path),
            message,
        } => {
            let message = message
                .strip_prefix(&format!("{path}: "))
                .unwrap_or(&message)
                .to_string();
            ConfigError::new(source, path, message)
        }
        Error::InvalidJson { message } => ConfigError::new(source, "", message),
        other => ConfigError::new(source, "", other.to_string()),
    }
}

/// serde's `missing field` error, at the object's own path.
fn missing(o: &Obj<'_>, path: &str, key: &str) -> Error {
    let _ = o;
    Error::InvalidRequest {
        message: format!("{path}: missing field `{key}`"),
        field: Some(path.to_string()),
    }
}

/// A map value at `path` (serde's words for anything else).
fn map_at<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Error> {
    match v {
        Value::Object(m) => Ok(m),
        v => Err(crate::json::invalid(
            path,
            format!("invalid type: {}, expected a map", describe(v)),
        )),
    }
}

/// Parses the tenant config JSON (a string or an object) into its raw shape.
pub fn read(source: &str, json: &str) -> Result<RawTenantConfig, ConfigError> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| ConfigError::new(source, "", strip_position(&e.to_string())))?;
    let map = map_at(&value, ".").map_err(|_| {
        ConfigError::new(
            source,
            "",
            format!("invalid type: {}, expected a map", describe(&value)),
        )
    })?;
    raw_tenant(map).map_err(|e| config_error(source, e))
}

fn raw_tenant(map: &Map<String, Value>) -> Result<RawTenantConfig, Error> {
    let o = Obj::new(map, "");
    o.known(&[
        "tenantId",
        "aiGatewayId",
        "models",
        "modelAllowList",
        "limits",
        "cors",
        "budget",
        "providers",
        "auth",
        "sessions",
        "compat",
        "pricing",
        "usageHistory",
        "knowledge",
        "presets",
    ])?;
    let models = match o.object("models")? {
        Some(m) => raw_models(m)?,
        None => return Err(missing_top("models")),
    };
    let providers = match o.object("providers")? {
        None => BTreeMap::new(),
        Some(p) => p
            .iter()
            .map(|(name, v)| {
                let path = format!("providers.{name}");
                Ok((name.clone(), raw_provider(map_at(v, &path)?, &path)?))
            })
            .collect::<Result<_, Error>>()?,
    };
    Ok(RawTenantConfig {
        tenant_id: o
            .str("tenantId")?
            .ok_or_else(|| missing_top("tenantId"))?
            .to_string(),
        ai_gateway_id: o
            .str("aiGatewayId")?
            .ok_or_else(|| missing_top("aiGatewayId"))?
            .to_string(),
        models,
        model_allow_list: o.strings("modelAllowList")?.unwrap_or_default(),
        limits: match o.object("limits")? {
            None => RawLimits::default(),
            Some(l) => {
                let l = Obj::new(l, "limits");
                l.known(&[
                    "maxRequestBytes",
                    "maxOutputTokens",
                    "attemptTimeoutMs",
                    "keepAliveSeconds",
                    "trustWorkersAiMaxTokens",
                ])?;
                RawLimits {
                    max_request_bytes: l.i64("maxRequestBytes")?,
                    max_output_tokens: l.i64("maxOutputTokens")?,
                    attempt_timeout_ms: l.i64("attemptTimeoutMs")?,
                    keep_alive_seconds: l.i64("keepAliveSeconds")?,
                    trust_workers_ai_max_tokens: l.bool("trustWorkersAiMaxTokens")?,
                }
            }
        },
        cors: match o.object("cors")? {
            None => RawCors::default(),
            Some(c) => {
                let c = Obj::new(c, "cors");
                c.known(&["allowedOrigins", "allowCredentials"])?;
                RawCors {
                    allowed_origins: c.strings("allowedOrigins")?.unwrap_or_default(),
                    allow_credentials: c.bool("allowCredentials")?.unwrap_or(false),
                }
            }
        },
        budget: match o.object("budget")? {
            None => None,
            Some(b) => {
                let b = Obj::new(b, "budget");
                b.known(&[
                    "daily",
                    "monthly",
                    "dailyUsd",
                    "monthlyUsd",
                    "store",
                    "minOutputTokens",
                ])?;
                let usd = |k: &str| {
                    b.get(k)
                        .map(|v| crate::pricing::micros(v, &b.path_of(k)))
                        .transpose()
                };
                Some(RawBudget {
                    daily: b.i64("daily")?,
                    monthly: b.i64("monthly")?,
                    daily_micros: usd("dailyUsd")?,
                    monthly_micros: usd("monthlyUsd")?,
                    store: b.string("store")?,
                    min_output_tokens: b.i64("minOutputTokens")?,
                })
            }
        },
        providers,
        auth: match o.object("auth")? {
            None => RawAuth::default(),
            Some(a) => raw_auth(a)?,
        },
        sessions: match o.object("sessions")? {
            None => None,
            Some(s) => {
                let s = Obj::new(s, "sessions");
                s.known(&[
                    "enabled",
                    "ttlDays",
                    "ttlSeconds",
                    "maxHistoryTokens",
                    "maxMessages",
                ])?;
                Some(RawSessions {
                    enabled: s.bool("enabled")?,
                    ttl_days: s.i64("ttlDays")?,
                    ttl_seconds: s.i64("ttlSeconds")?,
                    max_history_tokens: s.i64("maxHistoryTokens")?,
                    max_messages: s.i64("maxMessages")?,
                })
            }
        },
        compat: match o.object("compat")? {
            None => RawCompat::default(),
            Some(c) => {
                let c = Obj::new(c, "compat");
                c.known(&["dropUnsupported"])?;
                RawCompat {
                    drop_unsupported: c.bool("dropUnsupported")?.unwrap_or(false),
                }
            }
        },
        usage_history: match o.object("usageHistory")? {
            None => (None, None),
            Some(h) => {
                let h = Obj::new(h, "usageHistory");
                h.known(&["dailyDays", "hourlyDays"])?;
                (h.i64("dailyDays")?, h.i64("hourlyDays")?)
            }
        },
        pricing: match o.object("pricing")? {
            None => crate::pricing::PriceTable::default(),
            Some(p) => crate::pricing::PriceTable::read(p)?,
        },
        knowledge: match o.object("knowledge")? {
            None => Vec::new(),
            Some(k) => crate::tenant_knowledge::read_knowledge(k)?,
        },
        presets: match o.object("presets")? {
            None => Vec::new(),
            Some(p) => crate::tenant_knowledge::read_presets(p)?,
        },
    })
}

/// serde's `missing field` error for a top-level field (no path).
fn missing_top(key: &str) -> Error {
    Error::InvalidRequest {
        field: None,
        message: format!("missing field `{key}`"),
    }
}

fn raw_models(m: &Map<String, Value>) -> Result<RawModels, Error> {
    let o = Obj::new(m, "models");
    o.known(&["chat", "fallbacks", "tiers"])?;
    let tiers = match o.object("tiers")? {
        None => BTreeMap::new(),
        Some(t) => t
            .iter()
            .map(|(name, v)| {
                let path = format!("models.tiers.{name}");
                let tier = match v {
                    Value::String(s) => RawTier::One(s.clone()),
                    Value::Array(items) => RawTier::Many(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, v)| match v {
                                Value::String(s) => Ok(s.clone()),
                                v => Err(crate::json::invalid(
                                    format!("{path}[{i}]"),
                                    format!("invalid type: {}, expected a string", describe(v)),
                                )),
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    v => {
                        return Err(crate::json::invalid(
                            &path,
                            format!(
                                "invalid type: {}, expected a model id or a list of them",
                                describe(v)
                            ),
                        ))
                    }
                };
                Ok((name.clone(), tier))
            })
            .collect::<Result<_, Error>>()?,
    };
    Ok(RawModels {
        chat: o
            .str("chat")?
            .ok_or_else(|| missing(&o, "models", "chat"))?
            .to_string(),
        fallbacks: o.strings("fallbacks")?.unwrap_or_default(),
        tiers,
    })
}

fn raw_auth(a: &Map<String, Value>) -> Result<RawAuth, Error> {
    let o = Obj::new(a, "auth");
    o.known(&["mode", "keyCacheSeconds", "rateLimits"])?;
    let rate_limits = match o.object("rateLimits")? {
        None => RawRateLimits::default(),
        Some(r) => {
            let r = Obj::new(r, "auth.rateLimits");
            r.known(&["perKey", "perUser", "perIp", "failuresPerIp"])?;
            RawRateLimits {
                per_key: r.i64("perKey")?,
                per_user: r.i64("perUser")?,
                per_ip: r.i64("perIp")?,
                failures_per_ip: r.i64("failuresPerIp")?,
            }
        }
    };
    Ok(RawAuth {
        mode: o.string("mode")?,
        key_cache_seconds: o.i64("keyCacheSeconds")?,
        rate_limits,
    })
}

pub(crate) fn raw_provider(p: &Map<String, Value>, path: &str) -> Result<RawProvider, Error> {
    let o = Obj::new(p, path);
    o.known(&[
        "kind",
        "baseUrl",
        "auth",
        "headers",
        "maxTokensField",
        "trustMaxTokens",
        "timeoutMs",
        "modelsTtlSeconds",
        "accountId",
        "gatewayId",
        "token",
        "gatewayToken",
        "cacheTtl",
        "skipCache",
        "requestTimeoutMs",
        "maxAttempts",
        "collectLog",
    ])?;
    let headers = match o.object("headers")? {
        None => BTreeMap::new(),
        Some(h) => h
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                v => Err(crate::json::invalid(
                    format!("{path}.headers.{k}"),
                    format!("invalid type: {}, expected a string", describe(v)),
                )),
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(RawProvider {
        kind: o
            .str("kind")?
            .ok_or_else(|| missing(&o, path, "kind"))?
            .to_string(),
        base_url: o.string("baseUrl")?,
        auth: o.get("auth").cloned(),
        headers,
        max_tokens_field: o.string("maxTokensField")?,
        trust_max_tokens: o.bool("trustMaxTokens")?,
        timeout_ms: o.i64("timeoutMs")?,
        models_ttl_seconds: o.i64("modelsTtlSeconds")?,
        account_id: o.string("accountId")?,
        gateway_id: o.string("gatewayId")?,
        token: o.get("token").cloned(),
        gateway_token: o.get("gatewayToken").cloned(),
        cache_ttl: o.i64("cacheTtl")?,
        skip_cache: o.bool("skipCache")?,
        request_timeout_ms: o.i64("requestTimeoutMs")?,
        max_attempts: o.i64("maxAttempts")?,
        collect_log: o.bool("collectLog")?,
    })
}

/// The tenant config exactly as written, before any rule is checked.
#[derive(Debug, Clone)]
pub struct RawTenantConfig {
    pub tenant_id: String,
    pub ai_gateway_id: String,
    pub models: RawModels,
    pub model_allow_list: Vec<String>,
    pub limits: RawLimits,
    pub cors: RawCors,
    pub budget: Option<RawBudget>,
    pub providers: BTreeMap<String, RawProvider>,
    pub auth: RawAuth,
    pub sessions: Option<RawSessions>,
    pub compat: RawCompat,
    pub pricing: PriceTable,
    /// `usageHistory`: days of daily and hourly rows kept.
    pub usage_history: (Option<i64>, Option<i64>),
    /// `knowledge.<kb>` tables, by name.
    pub knowledge: Vec<(String, RawKnowledgeBase)>,
    /// `presets.<name>` tables, by name.
    pub presets: Vec<(String, RawPreset)>,
}

/// `[vars.TENANT.compat]`: how strict the OpenAI surface is.
#[derive(Debug, Clone, Default)]
pub struct RawCompat {
    /// Drop (and list in `x-dropped-params`) parameters `/v1` would refuse.
    pub drop_unsupported: bool,
}

#[derive(Debug, Clone)]
pub struct RawModels {
    pub chat: String,
    pub fallbacks: Vec<String>,
    pub tiers: BTreeMap<String, RawTier>,
}

/// A tier alias: one model ref, or an ordered preference list.
#[derive(Debug, Clone)]
pub enum RawTier {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Default)]
pub struct RawLimits {
    pub max_request_bytes: Option<i64>,
    pub max_output_tokens: Option<i64>,
    pub attempt_timeout_ms: Option<i64>,
    pub keep_alive_seconds: Option<i64>,
    pub trust_workers_ai_max_tokens: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct RawCors {
    pub allowed_origins: Vec<String>,
    pub allow_credentials: bool,
}

/// serde_json appends "at line L column C"; the path already says where.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
