//! Client credentials, the pure parts: API keys (`gwk_<id>_<secret>`, stored as SHA-256 of the
//! secret) and end-user tokens (HS256 JWTs signed with the tenant's secret), checked into a
//! `Principal`. Time comes in as an argument.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::secret::constant_time_eq;

/// The prefix every API key starts with.
pub const KEY_PREFIX: &str = "gwk_";
/// The longest an end-user token may be valid ahead of now.
pub const MAX_TOKEN_LIFETIME_S: u64 = 24 * 3600;
/// Scopes a key gets when none are asked for.
pub const DEFAULT_SCOPES: &[&str] = &["chat", "models"];
/// Every scope there is.
pub const SCOPES: &[&str] = &["chat", "models"];

/// Per-window token limits of one key or user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientBudget {
    pub daily: u64,
    pub monthly: u64,
}

/// A key as stored (KV `key/<tenant>/<id>`). `hash` is the hex SHA-256 of the key's secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<ClientBudget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// This key's own requests per minute (on top of the tenant's `auth.rateLimits.perKey`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    #[serde(default)]
    pub revoked: bool,
    pub created_at: u64,
    pub hash: String,
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `auth.mode = "open"`: anyone; limited per client IP.
    Anonymous { ip: String },
    Key {
        id: String,
        scopes: Vec<String>,
        budget: Option<ClientBudget>,
        rate_limit: Option<u32>,
    },
    User {
        sub: String,
        scopes: Vec<String>,
        daily_budget: Option<u64>,
    },
}

impl Principal {
    pub fn allows(&self, scope: &str) -> bool {
        match self {
            Self::Anonymous { .. } => true,
            Self::Key { scopes, .. } | Self::User { scopes, .. } => {
                scopes.iter().any(|s| s == scope)
            }
        }
    }

    /// `key:<id>` or `user:<sub>`: how logs and AI Gateway metadata name the caller.
    pub fn label(&self) -> Option<String> {
        match self {
            Self::Anonymous { .. } => None,
            Self::Key { id, .. } => Some(format!("key:{id}")),
            Self::User { sub, .. } => Some(format!("user:{sub}")),
        }
    }
}

/// A presented API key, split (the secret is not checked yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedKey<'a> {
    pub id: &'a str,
    pub secret: &'a str,
}

/// Splits `gwk_<12 hex>_<43 base64url>`; `None` for anything else.
pub fn parse_key(key: &str) -> Option<PresentedKey<'_>> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id_ok = id.len() == 12
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && secret_ok).then_some(PresentedKey { id, secret })
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new key from 38 random bytes (6 for the id, 32 for the secret): `(id, key, hash)`.
pub fn new_key(random: &[u8; 38]) -> (String, String, String) {
    let id: String = random[..6].iter().map(|b| format!("{b:02x}")).collect();
    let secret = base64url(&random[6..]);
    let hash = sha256_hex(secret.as_bytes());
    (id.clone(), format!("{KEY_PREFIX}{id}_{secret}"), hash)
}

/// Checks a presented key against its stored record at `now_s`.
pub fn check_key(
    presented: &PresentedKey<'_>,
    record: &KeyRecord,
    now_s: u64,
) -> Option<Principal> {
    let hash = sha256_hex(presented.secret.as_bytes());
    let ok = constant_time_eq(hash.as_bytes(), record.hash.as_bytes())
        && record.id == presented.id
        && !record.revoked
        && record.expires_at.is_none_or(|e| now_s < e);
    ok.then(|| Principal::Key {
        id: record.id.clone(),
        scopes: record.scopes.clone(),
        budget: record.budget,
        rate_limit: record.rate_limit,
    })
}

fn base64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[derive(Deserialize)]
struct JwtHeader {
    alg: String,
    typ: Option<String>,
}

/// Verifies an end-user token for `tenant_id` at `now_s`: HS256 only, a valid signature, `sub`,
/// `aud` equal to the tenant, `exp` in the future but at most 24 h ahead, `nbf` passed.
/// Every failure is the same `None`: the client learns nothing about which check failed.
pub fn verify_user_token(
    token: &str,
    secret: &[u8],
    tenant_id: &str,
    now_s: u64,
) -> Option<Principal> {
    let mut parts = token.split('.');
    let (h, p, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || secret.is_empty() {
        return None;
    }
    let header: JwtHeader = serde_json::from_slice(&base64url_decode(h)?).ok()?;
    if header.alg != "HS256" || header.typ.is_some_and(|t| !t.eq_ignore_ascii_case("JWT")) {
        return None;
    }
    // Only the canonical encoding of a signature counts, so a token has one spelling.
    let signature = base64url_decode(sig)?;
    if base64url(&signature) != sig {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&signature).ok()?;
    let claims: Value = serde_json::from_slice(&base64url_decode(p)?).ok()?;
    let sub = claims
        .get("sub")?
        .as_str()
        .filter(|s| !s.is_empty() && s.chars().count() <= 128)?;
    let aud_ok = match claims.get("aud")? {
        Value::String(a) => a == tenant_id,
        Value::Array(list) => list.iter().any(|a| a.as_str() == Some(tenant_id)),
        _ => false,
    };
    let exp = claims.get("exp")?.as_u64()?;
    let nbf_ok = claims
        .get("nbf")
        .is_none_or(|n| n.as_u64().is_some_and(|n| n <= now_s));
    if !aud_ok || exp <= now_s || exp > now_s + MAX_TOKEN_LIFETIME_S || !nbf_ok {
        return None;
    }
    let scopes = claims.get("scope").and_then(Value::as_str).map_or_else(
        || vec!["chat".to_string()],
        |s| s.split_whitespace().map(str::to_owned).collect(),
    );
    let daily_budget = claims
        .get("budget")
        .and_then(Value::as_u64)
        .filter(|b| *b > 0);
    Some(Principal::User {
        sub: sub.to_string(),
        scopes,
        daily_budget,
    })
}

#[cfg(test)]
#[path = "credential_tests.rs"]
mod tests;
