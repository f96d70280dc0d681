//! Client authentication (API keys, end-user tokens, or open mode) and request rate limits.

use std::cell::RefCell;
use std::collections::HashMap;

use gateway::access::AuthMode;
use gateway::credential::{
    check_key, looks_like_credential, parse_key, verify_user_token, AuthFailure, Principal,
    KEY_PREFIX, MAX_CREDENTIAL_BYTES,
};
use gateway::secret::{bearer, constant_time_eq};
use worker::Env;

use crate::access::keys;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::http::error::ApiError;
use crate::http::incoming::Request;

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

/// Who is calling. Every way of failing is the same `401 unauthorized` to the client; the
/// reason goes to the log. API keys come as `Authorization: Bearer` or `x-api-key`; end-user
/// tokens only as `Authorization: Bearer`.
pub async fn authenticate(
    req: &Request,
    env: &Env,
    settings: &Settings,
) -> Result<Principal, ApiError> {
    let header = |n: &str| req.headers().get(n).ok().flatten();
    let t = &settings.tenant;
    if t.auth.mode == AuthMode::Open {
        return Ok(Principal::Anonymous { ip: client_ip(req) });
    }
    let authorization = header("authorization");
    let (credential, from_api_key_header) = match bearer(authorization.as_deref()) {
        Some(c) => (c.to_string(), false),
        None => match header("x-api-key") {
            Some(k) => (k.trim().to_string(), true),
            None => return Err(ApiError::Unauthorized(AuthFailure::Missing)),
        },
    };
    if credential.len() > MAX_CREDENTIAL_BYTES {
        return Err(ApiError::CredentialTooLarge {
            size: credential.len(),
        });
    }
    let now_s = now_ms() / 1000;
    if credential.starts_with(KEY_PREFIX) {
        let presented =
            parse_key(&credential).ok_or(ApiError::Unauthorized(AuthFailure::Malformed))?;
        let tenant = t.tenant_id.as_str();
        let lookup = |ttl_s| keys::lookup(env, tenant, presented.id, ttl_s);
        let record = lookup(t.auth.key_cache_s)
            .await
            .map_err(ApiError::AuthStore)?
            .ok_or(ApiError::Unauthorized(AuthFailure::UnknownKey))?;
        return match check_key(&presented, &record, now_s) {
            // A secret rotated since this isolate cached the record: read it again, at most
            // once per ROTATION_RECHECK_S per key, so bad secrets cannot flood the key store.
            Err(AuthFailure::BadSecret) => match lookup(ROTATION_RECHECK_S).await {
                Ok(Some(fresh)) if fresh != record => check_key(&presented, &fresh, now_s),
                _ => Err(AuthFailure::BadSecret),
            },
            outcome => outcome,
        }
        .map_err(ApiError::Unauthorized);
    }
    if from_api_key_header {
        let reason = if looks_like_credential(&credential) {
            AuthFailure::TokenInApiKeyHeader
        } else {
            AuthFailure::Malformed
        };
        return Err(ApiError::Unauthorized(reason));
    }
    let secret = |name: &str| env.var(name).map(|v| v.to_string()).unwrap_or_default();
    let (current, previous) = (
        secret("CLIENT_TOKEN_SECRET"),
        secret("CLIENT_TOKEN_SECRET_PREVIOUS"),
    );
    verify_user_token(
        &credential,
        &[current.as_bytes(), previous.as_bytes()],
        t.tenant_id.as_str(),
        now_s,
    )
    .map_err(ApiError::Unauthorized)
}

/// How old a cached key record may be before a secret it refuses makes it read again.
const ROTATION_RECHECK_S: u32 = 5;

/// The client's address as Cloudflare reports it (`unknown` outside Cloudflare).
pub fn client_ip(req: &Request) -> String {
    req.headers()
        .get("cf-connecting-ip")
        .ok()
        .flatten()
        .unwrap_or_else(|| "unknown".into())
}

/// The binding that counts failed authentications per client address.
pub const AUTH_FAILURE_LIMITER: &str = "AUTH_FAILURE_LIMITER";

thread_local! {
    /// Addresses over their failed-authentication limit, until when (ms), in this isolate.
    static THROTTLED: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
}

/// Refuses an address that failed authentication too often in the last minute (seen by this
/// isolate), before its credential is even read.
pub fn check_throttled(settings: &Settings, ip: &str) -> Result<(), ApiError> {
    let Some(limit) = settings.tenant.auth.rate_limits.failures_per_ip else {
        return Ok(());
    };
    let now = now_ms();
    let blocked = THROTTLED.with(|t| t.borrow().get(ip).is_some_and(|until| *until > now));
    if blocked {
        return Err(ApiError::AuthThrottled { limit });
    }
    Ok(())
}

/// Counts a failed authentication of `ip` in the `AUTH_FAILURE_LIMITER` binding (shared by the
/// isolates of a location). Past the limit the address is refused for a minute: this failure
/// becomes `429`, and so does every request from it in this isolate until then.
pub async fn count_failure(env: &Env, settings: &Settings, ip: &str) -> Option<ApiError> {
    let limit = settings.tenant.auth.rate_limits.failures_per_ip?;
    let limiter = env.rate_limiter(AUTH_FAILURE_LIMITER).ok()?;
    let key = format!("{}/auth-failure/{ip}", settings.tenant.tenant_id);
    let outcome = limiter.limit(key).await.ok()?;
    if outcome.success {
        return None;
    }
    let until = now_ms() + 60_000;
    THROTTLED.with(|t| {
        let mut t = t.borrow_mut();
        if t.len() >= 10_000 {
            let now = now_ms();
            t.retain(|_, u| *u > now);
        }
        t.insert(ip.to_string(), until);
    });
    Some(ApiError::AuthThrottled { limit })
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
        (AUTH_FAILURE_LIMITER, r.failures_per_ip),
    ]
    .into_iter()
    .filter_map(|(b, l)| l.map(|_| b))
    .collect()
}
