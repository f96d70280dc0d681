//! Who may call a tenant: its auth mode, request rate limits, and CORS origin patterns.

use serde::Serialize;

/// `[vars.TENANT.auth]` as written.
#[derive(Debug, Clone, Default)]
pub struct RawAuth {
    pub mode: Option<String>,
    pub key_cache_seconds: Option<i64>,
    pub rate_limits: RawRateLimits,
}

#[derive(Debug, Clone, Default)]
pub struct RawRateLimits {
    pub per_key: Option<i64>,
    pub per_user: Option<i64>,
    pub per_ip: Option<i64>,
    pub failures_per_ip: Option<i64>,
}

/// How clients prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// Every chat request needs an API key or an end-user token.
    ApiKeys,
    /// Anyone who knows the URL may spend the budget (limited per client IP).
    Open,
}

/// Requests per minute per key, per end user, and (open mode) per client IP; and failed
/// authentications per minute per client IP (past it, the address is refused for a minute).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimits {
    pub per_key: Option<u32>,
    pub per_user: Option<u32>,
    pub per_ip: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures_per_ip: Option<u32>,
}

/// The checked auth settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthConfig {
    pub mode: AuthMode,
    /// How long an isolate may cache a key record (the longest a revoked key still works).
    pub key_cache_s: u32,
    pub rate_limits: RateLimits,
}

/// The longest an isolate may cache a key record.
pub const MAX_KEY_CACHE_S: u32 = 60;

/// The defaults: API keys or end-user tokens required, records cached up to 60 s, no limits.
impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::ApiKeys,
            key_cache_s: MAX_KEY_CACHE_S,
            rate_limits: RateLimits::default(),
        }
    }
}

/// Checks `auth`; errors are `(path, message)`.
pub fn check_auth(raw: RawAuth) -> Result<AuthConfig, (String, String)> {
    let err = |p: &str, m: &str| (p.to_string(), m.to_string());
    let mode = match raw.mode.as_deref() {
        None | Some("api-keys") => AuthMode::ApiKeys,
        Some("open") => AuthMode::Open,
        Some(_) => return Err(err("auth.mode", "must be `api-keys` or `open`")),
    };
    let key_cache_s = match raw.key_cache_seconds {
        None => MAX_KEY_CACHE_S,
        Some(n) if (1..=i64::from(MAX_KEY_CACHE_S)).contains(&n) => n as u32,
        Some(_) => return Err(err("auth.keyCacheSeconds", "must be between 1 and 60")),
    };
    let rpm = |v: Option<i64>, p: &str| match v {
        None => Ok(None),
        Some(n) if (1..=100_000).contains(&n) => Ok(Some(n as u32)),
        Some(_) => Err(err(p, "must be between 1 and 100000 requests per minute")),
    };
    let r = raw.rate_limits;
    Ok(AuthConfig {
        mode,
        key_cache_s,
        rate_limits: RateLimits {
            per_key: rpm(r.per_key, "auth.rateLimits.perKey")?,
            per_user: rpm(r.per_user, "auth.rateLimits.perUser")?,
            per_ip: rpm(r.per_ip, "auth.rateLimits.perIp")?,
            failures_per_ip: rpm(r.failures_per_ip, "auth.rateLimits.failuresPerIp")?,
        },
    })
}

/// A normalised allowed origin: exact, or `scheme://*.domain` (any subdomain, not the domain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct OriginPattern(String);

impl OriginPattern {
    /// Normalises (lowercase, no trailing slash) and checks an entry: `*`, `scheme://host[:port]`
    /// or `scheme://*.domain[:port]`; refuses paths, queries, spaces and bare wildcards.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let e = entry.trim().trim_end_matches('/').to_ascii_lowercase();
        if e == "*" {
            return Ok(Self(e));
        }
        let Some((scheme, host)) = e.split_once("://") else {
            return Err("must be `*` or `scheme://host[:port]` (a wildcard may lead: `https://*.example.com`)".into());
        };
        if !matches!(scheme, "http" | "https") {
            return Err("the scheme must be http or https".into());
        }
        if host.is_empty() || host.contains(['/', '?', '#', ' ', '@']) {
            return Err("must be an origin, without path, query, spaces or credentials".into());
        }
        let name = host.strip_prefix("*.").unwrap_or(host);
        if name.contains('*') || name.is_empty() || !name.contains('.') && host.starts_with("*.") {
            return Err("a wildcard may only be the first label of a domain with at least two labels (`*.example.com`)".into());
        }
        Ok(Self(e))
    }

    /// Whether a browser's `Origin` header matches.
    pub fn matches(&self, origin: &str) -> bool {
        let o = origin.trim().to_ascii_lowercase();
        if self.0 == "*" || self.0 == o {
            return true;
        }
        match self.0.split_once("://*.") {
            Some((scheme, domain)) => o
                .strip_prefix(scheme)
                .and_then(|r| r.strip_prefix("://"))
                .and_then(|host| host.strip_suffix(domain))
                .is_some_and(|sub| {
                    sub.len() > 1
                        && sub.ends_with('.')
                        && !sub[..sub.len() - 1].contains(['/', ':'])
                }),
            None => false,
        }
    }

    pub fn is_any(&self) -> bool {
        self.0 == "*"
    }
}

/// Request headers a granted browser origin may send: the credential and content headers, the
/// trace id, and the headers the official OpenAI and Anthropic SDKs add in a browser.
pub const ALLOWED_REQUEST_HEADERS: &[&str] = &[
    "content-type",
    "authorization",
    "x-api-key",
    "x-trace-id",
    "anthropic-version",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
];

/// SDK telemetry headers (`x-stainless-os`, `x-stainless-retry-count`, ...) are allowed by prefix.
pub const ALLOWED_REQUEST_HEADER_PREFIX: &str = "x-stainless-";

/// The `Access-Control-Allow-Headers` answer to a preflight: the requested headers that are on
/// the allow-list (lowercased, in the order asked), or the whole fixed list when none was asked
/// for. Headers off the list are never echoed back.
pub fn preflight_allowed_headers(requested: Option<&str>) -> String {
    let asked: Vec<String> = requested
        .unwrap_or("")
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if asked.is_empty() {
        return ALLOWED_REQUEST_HEADERS.join(", ");
    }
    let mut out: Vec<String> = Vec::new();
    for h in asked {
        let allowed = ALLOWED_REQUEST_HEADERS.contains(&h.as_str())
            || (h.len() > ALLOWED_REQUEST_HEADER_PREFIX.len()
                && h.starts_with(ALLOWED_REQUEST_HEADER_PREFIX)
                && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if allowed && !out.contains(&h) {
            out.push(h);
        }
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflights_allow_only_the_documented_headers() {
        let check = |asked: Option<&str>, want: &str| {
            assert_eq!(preflight_allowed_headers(asked), want, "{asked:?}")
        };
        check(
            None,
            "content-type, authorization, x-api-key, x-trace-id, anthropic-version, anthropic-beta, anthropic-dangerous-direct-browser-access",
        );
        check(Some("  "), &preflight_allowed_headers(None));
        check(Some("x-evil-header, cookie, x-forwarded-for"), "");
        check(
            Some("Content-Type, X-Evil, authorization, content-type"),
            "content-type, authorization",
        );
        check(
            Some("x-stainless-os, x-stainless-retry-count, x-stainless-"),
            "x-stainless-os, x-stainless-retry-count",
        );
        check(Some("x-stainless-a b"), "");
    }

    #[test]
    fn origin_patterns() {
        let p = |s: &str| OriginPattern::parse(s).unwrap();
        assert_eq!(
            p("HTTPS://App.Acme.Example/"),
            OriginPattern("https://app.acme.example".into())
        );
        assert!(p("https://app.acme.example").matches("https://APP.acme.example"));
        let pages = p("https://*.pages.dev");
        assert!(pages.matches("https://x.pages.dev"));
        assert!(pages.matches("https://a.b.pages.dev"));
        assert!(!pages.matches("https://pages.dev"));
        assert!(!pages.matches("http://x.pages.dev"));
        assert!(!pages.matches("https://x.pages.dev.evil.example"));
        assert!(!pages.matches("https://evilpages.dev"));
        assert!(p("*").matches("https://anything.example"));
        for bad in [
            "https://a.example/path",
            "https://a .example",
            "ftp://a.example",
            "a.example",
            "https://*",
            "https://*.com",
            "https://a.*.example",
            "https://a.example?x=1",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auth_defaults_and_rules() {
        let a = check_auth(RawAuth::default()).unwrap();
        assert_eq!(a, AuthConfig::default());
        assert_eq!(
            (a.mode, a.key_cache_s, a.rate_limits),
            (AuthMode::ApiKeys, 60, RateLimits::default())
        );
        let open = RawAuth {
            mode: Some("open".into()),
            ..Default::default()
        };
        assert_eq!(check_auth(open).unwrap().mode, AuthMode::Open);
        let bad = RawAuth {
            key_cache_seconds: Some(61),
            ..Default::default()
        };
        assert_eq!(check_auth(bad).unwrap_err().0, "auth.keyCacheSeconds");
        let bad = RawAuth {
            mode: Some("jwt".into()),
            ..Default::default()
        };
        assert_eq!(check_auth(bad).unwrap_err().0, "auth.mode");
    }

    #[test]
    fn key_cache_and_rate_limits_take_their_whole_range_and_nothing_outside() {
        let cache = |n| {
            check_auth(RawAuth {
                key_cache_seconds: Some(n),
                ..Default::default()
            })
        };
        assert_eq!(cache(1).unwrap().key_cache_s, 1);
        assert_eq!(cache(30).unwrap().key_cache_s, 30);
        assert_eq!(cache(60).unwrap().key_cache_s, 60);
        assert_eq!(cache(0).unwrap_err().0, "auth.keyCacheSeconds");
        let all = |n| {
            check_auth(RawAuth {
                rate_limits: RawRateLimits {
                    per_key: Some(n),
                    per_user: Some(n + 1),
                    per_ip: Some(n + 2),
                    failures_per_ip: Some(n + 3),
                },
                ..Default::default()
            })
        };
        assert_eq!(
            all(1).unwrap().rate_limits,
            RateLimits {
                per_key: Some(1),
                per_user: Some(2),
                per_ip: Some(3),
                failures_per_ip: Some(4),
            }
        );
        assert_eq!(
            all(99_997).unwrap().rate_limits.failures_per_ip,
            Some(100_000)
        );
        let one = |field: &str, n: i64| {
            let mut r = RawRateLimits::default();
            match field {
                "perKey" => r.per_key = Some(n),
                "perUser" => r.per_user = Some(n),
                "perIp" => r.per_ip = Some(n),
                _ => r.failures_per_ip = Some(n),
            }
            check_auth(RawAuth {
                rate_limits: r,
                ..Default::default()
            })
        };
        for field in ["perKey", "perUser", "perIp", "failuresPerIp"] {
            for bad in [0, -1, 100_001] {
                assert_eq!(
                    one(field, bad).unwrap_err().0,
                    format!("auth.rateLimits.{field}"),
                    "{field} = {bad}"
                );
            }
        }
    }

    #[test]
    fn a_wildcard_needs_a_real_subdomain_and_only_star_is_any() {
        let pages = OriginPattern::parse("https://*.pages.dev").unwrap();
        assert!(!pages.matches("https://.pages.dev"));
        assert!(pages.matches("https://a.pages.dev"));
        assert!(!pages.is_any());
        assert!(!OriginPattern::parse("https://app.example")
            .unwrap()
            .is_any());
        assert!(OriginPattern::parse("*").unwrap().is_any());
    }
}
