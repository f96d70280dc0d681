//! Client authentication (API keys, end-user tokens, or open mode) and request rate limits.

use std::cell::RefCell;
use std::collections::HashMap;

use gateway::access::AuthMode;
use gateway::credential::{check_key, parse_key, verify_user_token, Principal};
use gateway::secret::{bearer, constant_time_eq};
use worker::Env;

use crate::clock::now_ms;
use crate::config::Settings;
use crate::error::ApiError;
use crate::incoming::Request;
use crate::keys;

/// Whether the request carries the `ADMIN_TOKEN` secret as its bearer token (never when the
/// secret is unset); compared in constant time.
pub fn is_admin(req: &Request, env: &Env) -> bool {
    let admin = env
        .var("ADMIN_TOKEN")
        .ok()
        .map(|v| v.to_string())
        .filter(|s| !s.is_empty());
    let header = req.headers().get("authorization").ok().flatten();
    match (admin, bearer(header.as_deref())) {
        (Some(a), Some(given)) => constant_time_eq(a.as_bytes(), given.as_bytes()),
        _ => false,
    }
}

/// Who is calling. Every way of failing is the same `Unauthorized`.
pub async fn authenticate(
    req: &Request,
    env: &Env,
    settings: &Settings,
) -> Result<Principal, ApiError> {
    let header = |n: &str| req.headers().get(n).ok().flatten();
    let t = &settings.tenant;
    if t.auth.mode == AuthMode::Open {
        let ip = header("cf-connecting-ip").unwrap_or_else(|| "unknown".into());
        return Ok(Principal::Anonymous { ip });
    }
    let authorization = header("authorization");
    let credential = bearer(authorization.as_deref())
        .map(str::to_owned)
        .or_else(|| header("x-api-key").map(|k| k.trim().to_string()))
        .ok_or(ApiError::Unauthorized)?;
    let now_s = now_ms() / 1000;
    if let Some(presented) = parse_key(&credential) {
        let record = keys::lookup(env, t.tenant_id.as_str(), presented.id, t.auth.key_cache_s)
            .await
            .map_err(ApiError::AuthStore)?;
        return record
            .and_then(|r| check_key(&presented, &r, now_s))
            .ok_or(ApiError::Unauthorized);
    }
    let secret = env
        .var("CLIENT_TOKEN_SECRET")
        .map(|v| v.to_string())
        .unwrap_or_default();
    verify_user_token(&credential, secret.as_bytes(), t.tenant_id.as_str(), now_s)
        .ok_or(ApiError::Unauthorized)
}

thread_local! {
    /// Requests seen per caller in the current minute, for an estimate of what is left.
    static SEEN: RefCell<HashMap<String, (u64, u32)>> = RefCell::new(HashMap::new());
}

/// Applies the caller's request rate limit with its Rate Limiting binding. Returns the limit and
/// an estimate of what is left of it this minute (per isolate; the binding is approximate per
/// location anyway), or 429 `rate_limited`.
pub async fn rate_limit(
    env: &Env,
    settings: &Settings,
    p: &Principal,
) -> Result<Option<(u32, u32)>, ApiError> {
    let r = settings.tenant.auth.rate_limits;
    let (binding, limit, key, own) = match p {
        Principal::Key { id, rate_limit, .. } => (
            "KEY_RATE_LIMITER",
            r.per_key,
            format!("key:{id}"),
            *rate_limit,
        ),
        Principal::User { sub, .. } => {
            ("USER_RATE_LIMITER", r.per_user, format!("user:{sub}"), None)
        }
        Principal::Anonymous { ip } => ("IP_RATE_LIMITER", r.per_ip, format!("ip:{ip}"), None),
    };
    if limit.is_none() && own.is_none() {
        return Ok(None);
    }
    let scoped = format!("{}/{key}", settings.tenant.tenant_id);
    // The tenant-wide limit: the Rate Limiting binding (its limit is fixed per namespace in
    // wrangler.toml). A missing binding is reported by /health; requests are not refused for it.
    if let (Some(limit), Ok(limiter)) = (limit, env.rate_limiter(binding)) {
        let outcome = limiter
            .limit(scoped.clone())
            .await
            .map_err(|e| ApiError::Internal(format!("rate limiter: {e}")))?;
        if !outcome.success {
            return Err(ApiError::RateLimited { limit });
        }
    }
    let minute = now_ms() / 60_000;
    let used = SEEN.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= 10_000 {
            s.retain(|_, (m, _)| *m == minute);
        }
        let e = s.entry(scoped).or_insert((minute, 0));
        if e.0 != minute {
            *e = (minute, 0);
        }
        e.1 += 1;
        e.1
    });
    // A key's own limit (its record's `rateLimit`), counted per isolate and calendar minute:
    // like the binding, approximate across locations (docs/auth.md).
    if let Some(own) = own {
        if used > own {
            return Err(ApiError::RateLimited { limit: own });
        }
    }
    let effective = match (limit, own) {
        (Some(l), Some(o)) => l.min(o),
        (l, o) => l.or(o).unwrap_or(0),
    };
    Ok(Some((effective, effective.saturating_sub(used))))
}

/// The rate limiter binding each limit needs.
pub fn rate_limiter_bindings(settings: &Settings) -> Vec<&'static str> {
    let r = settings.tenant.auth.rate_limits;
    [
        ("KEY_RATE_LIMITER", r.per_key),
        ("USER_RATE_LIMITER", r.per_user),
        ("IP_RATE_LIMITER", r.per_ip),
    ]
    .into_iter()
    .filter_map(|(b, l)| l.map(|_| b))
    .collect()
}
