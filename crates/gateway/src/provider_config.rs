//! HTTP providers in a tenant config (`[vars.TENANT.providers.<name>]`): raw shape, checks, and model refs.
//!
//! Secrets are never inline: a config names a worker secret (`{ secret = "NAME" }`, set with
//! `wrangler secret put NAME`), and values that look like credentials are refused.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::error::ConfigError;

/// Default time a discovered model list is kept.
pub const DEFAULT_MODELS_TTL_S: u32 = 300;
/// Cloudflare's REST API for AI Gateway (developers.cloudflare.com/changelog/post/2026-05-21-rest-api/).
pub const CLOUDFLARE_API: &str = "https://api.cloudflare.com/client/v4/accounts";

#[derive(Debug, Clone)]
pub struct RawProvider {
    pub kind: String,
    pub base_url: Option<String>,
    pub auth: Option<Value>,
    pub headers: BTreeMap<String, String>,
    pub max_tokens_field: Option<String>,
    pub trust_max_tokens: Option<bool>,
    pub timeout_ms: Option<i64>,
    pub models_ttl_seconds: Option<i64>,
    // cloudflare-ai-gateway
    pub account_id: Option<String>,
    pub gateway_id: Option<String>,
    pub token: Option<Value>,
    pub gateway_token: Option<Value>,
    pub cache_ttl: Option<i64>,
    pub skip_cache: Option<bool>,
    pub request_timeout_ms: Option<i64>,
    pub max_attempts: Option<i64>,
    pub collect_log: Option<bool>,
}

/// The name of a worker secret holding a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef(pub String);

/// How the gateway authenticates to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderAuth {
    None,
    Bearer {
        key: SecretRef,
    },
    /// RFC 6749 section 4.4 client credentials.
    OAuth2 {
        token_url: String,
        client_id: String,
        client_secret: SecretRef,
        scope: Option<String>,
        audience: Option<String>,
        /// `client_secret_basic` (true) or `client_secret_post`.
        basic: bool,
    },
}

/// Cloudflare AI Gateway options sent as `cf-aig-*` headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayHeaders {
    pub gateway_id: String,
    pub gateway_token: Option<SecretRef>,
    pub cache_ttl: Option<u32>,
    pub skip_cache: Option<bool>,
    pub request_timeout_ms: Option<u32>,
    pub max_attempts: Option<u32>,
    pub collect_log: Option<bool>,
}

/// A checked HTTP provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub name: String,
    /// `.../v1`: chat is `{base}/chat/completions`, models `{base}/models`.
    pub base_url: String,
    pub auth: ProviderAuth,
    pub headers: BTreeMap<String, String>,
    pub max_tokens_field: String,
    /// The provider stops at `max_tokens`: whole answers are asked for non-streamed.
    pub trust_max_tokens: bool,
    pub timeout_ms: Option<u32>,
    pub models_ttl_s: u32,
    /// Set for `kind = "cloudflare-ai-gateway"`.
    pub cloudflare: Option<GatewayHeaders>,
}

impl ProviderConfig {
    pub fn kind(&self) -> &'static str {
        if self.cloudflare.is_some() {
            "cloudflare-ai-gateway"
        } else {
            "openai-compatible"
        }
    }
}

/// Which backend a model reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelRef<'a> {
    /// `@cf/...`, `@hf/...`, or anything that names no provider: the Workers AI binding.
    Binding(&'a str),
    /// `<provider>/<model>`.
    Provider { provider: &'a str, model: &'a str },
}

impl<'a> ModelRef<'a> {
    pub fn parse(reference: &'a str, providers: &BTreeMap<String, ProviderConfig>) -> Self {
        match reference.split_once('/') {
            Some((p, m)) if !reference.starts_with('@') && providers.contains_key(p) => {
                Self::Provider {
                    provider: p,
                    model: m,
                }
            }
            _ => Self::Binding(reference),
        }
    }

    /// Who serves it, as usage history names it: `workers-ai`, or the provider's name.
    pub fn provider_name(&self) -> &'a str {
        match self {
            Self::Binding(_) => "workers-ai",
            Self::Provider { provider, .. } => provider,
        }
    }
}

type Check<T> = Result<T, (String, String)>;

/// Secrets that must never be sent to a provider.
const RESERVED_SECRETS: &[&str] = &["ADMIN_TOKEN", "CLIENT_TOKEN_SECRET"];

fn at(path: &str, message: impl Into<String>) -> (String, String) {
    (path.to_string(), message.into())
}

/// `{ "secret": "NAME" }`; a plain string is an inline credential and refused.
fn secret_ref(v: Option<&Value>, path: &str) -> Check<SecretRef> {
    let name = match v {
        Some(Value::Object(o)) if o.len() == 1 => o.get("secret").and_then(Value::as_str),
        Some(Value::String(_)) => {
            return Err(at(
                path,
                "must name a secret, not hold one: { secret = \"NAME\" }, set with `wrangler secret put NAME`",
            ))
        }
        None => return Err(at(path, "is required: { secret = \"NAME\" }")),
        _ => None,
    };
    if name.is_some_and(|n| RESERVED_SECRETS.contains(&n)) {
        return Err(at(
            path,
            "names a secret the gateway keeps for itself; use a secret of its own",
        ));
    }
    match name {
        Some(n)
            if !n.is_empty()
                && n.len() <= 64
                && n.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
        {
            Ok(SecretRef(n.to_string()))
        }
        _ => Err(at(
            path,
            "must be { secret = \"NAME\" } with NAME of A-Z, 0-9, _",
        )),
    }
}

/// An upstream URL: `https://`, or `http://` only on loopback (local servers and tests),
/// without credentials or a query (credentials are named secrets, never part of a URL).
fn url(s: Option<&str>, path: &str) -> Check<String> {
    let Some(u) = s else {
        return Err(at(path, "is required"));
    };
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    let Some(rest) = rest.filter(|_| !u.contains(' ')) else {
        return Err(at(path, "must be an http(s) URL"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.contains('@') || u.contains('?') || u.contains('#') {
        return Err(at(
            path,
            "must not carry credentials or a query: name secrets in `auth`",
        ));
    }
    let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let loopback =
        matches!(hostname, "localhost" | "127.0.0.1" | "[::1]") || hostname.starts_with("127.");
    if u.starts_with("http://") && !loopback {
        return Err(at(path, "must be https:// (http:// only for loopback hosts): credentials travel with every call"));
    }
    Ok(u.trim_end_matches('/').to_string())
}

/// Whether a static header would carry a credential (those belong in `auth`, as secrets).
fn looks_like_secret(name: &str, value: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let credential_header = matches!(
        name.as_str(),
        "authorization"
            | "x-api-key"
            | "api-key"
            | "cookie"
            | "proxy-authorization"
            | "cf-aig-authorization"
    );
    let v = value.trim();
    let key_like = v.len() >= 32
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_alphabetic());
    credential_header || v.starts_with("Bearer ") || v.starts_with("sk-") || key_like
}

fn positive(v: Option<i64>, path: &str, max: i64) -> Check<Option<u32>> {
    match v {
        None => Ok(None),
        Some(n) if (1..=max).contains(&n) => Ok(u32::try_from(n).ok()),
        Some(_) => Err(at(path, format!("must be between 1 and {max}"))),
    }
}

fn check_auth(v: Option<&Value>) -> Check<ProviderAuth> {
    let Some(v) = v else {
        return Err(at(
            "auth",
            "is required: { type = \"oauth2\" | \"bearer\" | \"none\", ... }",
        ));
    };
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let allowed: &[&str] = match field("type").as_deref() {
        Some("none") => &["type"],
        Some("bearer") => &["type", "key"],
        Some("oauth2") => &[
            "type",
            "tokenUrl",
            "clientId",
            "clientSecret",
            "scope",
            "audience",
            "method",
        ],
        _ => return Err(at("auth.type", "must be `oauth2`, `bearer` or `none`")),
    };
    if let Some(k) = v
        .as_object()
        .and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str())))
    {
        return Err(at(&format!("auth.{k}"), "unknown field"));
    }
    Ok(match field("type").as_deref() {
        Some("bearer") => ProviderAuth::Bearer {
            key: secret_ref(v.get("key"), "auth.key")?,
        },
        Some("oauth2") => ProviderAuth::OAuth2 {
            token_url: url(field("tokenUrl").as_deref(), "auth.tokenUrl")?,
            client_id: field("clientId")
                .filter(|c| !c.is_empty())
                .ok_or_else(|| at("auth.clientId", "is required"))?,
            client_secret: secret_ref(v.get("clientSecret"), "auth.clientSecret")?,
            scope: field("scope"),
            audience: field("audience"),
            basic: match field("method").as_deref() {
                None | Some("basic") => true,
                Some("post") => false,
                Some(_) => return Err(at("auth.method", "must be `basic` or `post`")),
            },
        },
        _ => ProviderAuth::None,
    })
}

/// Checks one provider; errors are `providers.<name>.<field>: message`.
pub fn check_provider(
    source: &str,
    name: &str,
    raw: RawProvider,
) -> Result<ProviderConfig, ConfigError> {
    let prefix = format!("providers.{name}");
    check(name, raw)
        .map_err(|(path, message)| ConfigError::new(source, format!("{prefix}.{path}"), message))
}

fn check(name: &str, raw: RawProvider) -> Check<ProviderConfig> {
    let ok_name = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok_name {
        return Err(at("", "provider names are 1-32 of a-z, 0-9, `-`"));
    }
    for (h, v) in &raw.headers {
        if looks_like_secret(h, v) {
            return Err(at(
                &format!("headers.{h}"),
                "looks like a credential: put credentials in `auth` as a named secret",
            ));
        }
    }
    let max_tokens_field = match raw.max_tokens_field.as_deref() {
        None | Some("max_tokens") => "max_tokens",
        Some("max_completion_tokens") => "max_completion_tokens",
        Some(_) => {
            return Err(at(
                "maxTokensField",
                "must be `max_tokens` or `max_completion_tokens`",
            ))
        }
    };
    let timeout_ms = positive(raw.timeout_ms, "timeoutMs", 300_000)?;
    let models_ttl_s = positive(raw.models_ttl_seconds, "modelsTtlSeconds", 86_400)?
        .unwrap_or(DEFAULT_MODELS_TTL_S);
    let cf_only = [
        ("accountId", raw.account_id.is_some()),
        ("gatewayId", raw.gateway_id.is_some()),
        ("token", raw.token.is_some()),
        ("gatewayToken", raw.gateway_token.is_some()),
        ("cacheTtl", raw.cache_ttl.is_some()),
        ("skipCache", raw.skip_cache.is_some()),
        ("requestTimeoutMs", raw.request_timeout_ms.is_some()),
        ("maxAttempts", raw.max_attempts.is_some()),
        ("collectLog", raw.collect_log.is_some()),
    ];
    let (base_url, auth, cloudflare) = match raw.kind.as_str() {
        "openai-compatible" => {
            if let Some((f, _)) = cf_only.iter().find(|(_, set)| *set) {
                return Err(at(f, "is only for kind = \"cloudflare-ai-gateway\""));
            }
            (
                url(raw.base_url.as_deref(), "baseUrl")?,
                check_auth(raw.auth.as_ref())?,
                None,
            )
        }
        "cloudflare-ai-gateway" => {
            if raw.auth.is_some() {
                return Err(at(
                    "auth",
                    "is not used by cloudflare-ai-gateway: set `token` (and `gatewayToken`)",
                ));
            }
            let account = raw
                .account_id
                .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric()))
                .ok_or_else(|| at("accountId", "is required (letters and digits)"))?;
            let gateway_id = raw
                .gateway_id
                .filter(|g| !g.is_empty())
                .ok_or_else(|| at("gatewayId", "is required"))?;
            let base = match raw.base_url.as_deref() {
                Some(b) => url(Some(b), "baseUrl")?,
                None => format!("{CLOUDFLARE_API}/{account}/ai/v1"),
            };
            let cf = GatewayHeaders {
                gateway_id,
                gateway_token: raw
                    .gateway_token
                    .as_ref()
                    .map(|t| secret_ref(Some(t), "gatewayToken"))
                    .transpose()?,
                cache_ttl: positive(raw.cache_ttl, "cacheTtl", 2_592_000)?,
                skip_cache: raw.skip_cache,
                request_timeout_ms: positive(raw.request_timeout_ms, "requestTimeoutMs", 300_000)?,
                max_attempts: positive(raw.max_attempts, "maxAttempts", 5)?,
                collect_log: raw.collect_log,
            };
            let key = secret_ref(raw.token.as_ref(), "token")?;
            (base, ProviderAuth::Bearer { key }, Some(cf))
        }
        _ => {
            return Err(at(
                "kind",
                "must be `openai-compatible` or `cloudflare-ai-gateway`",
            ))
        }
    };
    Ok(ProviderConfig {
        name: name.to_string(),
        base_url,
        auth,
        headers: raw.headers,
        max_tokens_field: max_tokens_field.to_string(),
        trust_max_tokens: raw.trust_max_tokens.unwrap_or(false),
        timeout_ms,
        models_ttl_s,
        cloudflare,
    })
}

#[cfg(test)]
#[path = "provider_config_tests.rs"]
mod tests;
