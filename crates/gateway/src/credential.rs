//! Client credentials, the pure parts: API keys (`gwk_<id>_<secret>`, stored as SHA-256 of the
//! secret) and end-user tokens (HS256 JWTs signed with the tenant's secret), checked into a
//! `Principal`. Time comes in as an argument.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::percent::percent_decode;
use crate::secret::constant_time_eq;

/// The prefix every API key starts with.
pub const KEY_PREFIX: &str = "gwk_";
/// The longest an end-user token may be valid ahead of now.
pub const MAX_TOKEN_LIFETIME_S: u64 = 24 * 3600;
/// Scopes a key gets when none are asked for.
pub const DEFAULT_SCOPES: &[&str] = &["chat", "models"];
/// Every scope there is.
pub const SCOPES: &[&str] = &["chat", "models"];

/// Per-window limits of one key, in tokens and in micro-dollars (`dailyUsd`, `monthlyUsd`:
/// decimal strings of dollars in JSON); a limit left out does not limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientBudget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly: Option<u64>,
    #[serde(
        default,
        rename = "dailyUsd",
        skip_serializing_if = "Option::is_none",
        with = "usd_field"
    )]
    pub daily_micros: Option<u64>,
    #[serde(
        default,
        rename = "monthlyUsd",
        skip_serializing_if = "Option::is_none",
        with = "usd_field"
    )]
    pub monthly_micros: Option<u64>,
}

impl ClientBudget {
    /// The ledger limits.
    pub fn limits(&self) -> budget::Limits {
        crate::tenant_budget::limits(
            self.daily,
            self.monthly,
            self.daily_micros,
            self.monthly_micros,
        )
    }
}

/// Micro-dollars as a decimal string of dollars in JSON (`"1.500000"`).
mod usd_field {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(m) => s.serialize_str(&crate::pricing::usd(*m)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(t) => crate::pricing::parse_micros(&t)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("not an amount of USD")),
        }
    }
}

/// The longest credential (key or end-user token) the gateway reads; longer ones are refused
/// before any parsing (`431`), so a client cannot make it hash or decode megabytes.
pub const MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

/// Why a credential was refused: logged (never the credential itself); the client always gets
/// the same `401 unauthorized`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthFailure {
    /// No `Authorization: Bearer` or `x-api-key` header.
    Missing,
    /// Neither a well-formed key nor a well-formed token.
    Malformed,
    /// A key id with no record.
    UnknownKey,
    /// The key's secret does not match its record.
    BadSecret,
    /// The key was revoked, or it is a rotated-out secret past its grace period.
    Revoked,
    /// The key's `expiresAt` has passed.
    Expired,
    /// An end-user token in `x-api-key` (tokens go in `Authorization: Bearer`).
    TokenInApiKeyHeader,
    /// No `CLIENT_TOKEN_SECRET` is set, so no token can be checked.
    NoTokenSecret,
    /// An algorithm other than HS256 (`none` included) or a `typ` other than JWT.
    BadAlgorithm,
    BadSignature,
    WrongAudience,
    /// `exp` has passed.
    TokenExpired,
    /// `exp` is more than 24 h ahead.
    LifetimeTooLong,
    /// `nbf` is in the future.
    NotYetValid,
    /// A required claim is missing or of the wrong type (`sub`, `aud`, `exp`, `budget`, ...).
    BadClaim,
}

impl AuthFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::UnknownKey => "unknown_key",
            Self::BadSecret => "bad_secret",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::TokenInApiKeyHeader => "token_in_api_key_header",
            Self::NoTokenSecret => "no_token_secret",
            Self::BadAlgorithm => "bad_algorithm",
            Self::BadSignature => "bad_signature",
            Self::WrongAudience => "wrong_audience",
            Self::TokenExpired => "token_expired",
            Self::LifetimeTooLong => "lifetime_too_long",
            Self::NotYetValid => "not_yet_valid",
            Self::BadClaim => "bad_claim",
        }
    }
}

/// A key as stored (KV `key/<tenant>/<id>`). `hash` is the hex SHA-256 of the key's secret.
/// After a rotation, `previousHash` is the old secret's hash, accepted until `previousValidUntil`.
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
    /// Knowledge-base groups: the key retrieves documents whose audience names one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default)]
    pub revoked: bool,
    pub created_at: u64,
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
    /// Unix seconds; the old secret is refused from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<u64>,
    /// When the key was last rotated (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<u64>,
}

/// At most this many `groups` in a token or key (knowledge retrieval binds one value each).
pub const MAX_GROUPS: usize = 32;

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
        /// The key record's `groups` (knowledge-base audiences).
        groups: Vec<String>,
    },
    User {
        sub: String,
        scopes: Vec<String>,
        /// The `groups` claim (knowledge-base audiences).
        groups: Vec<String>,
        /// The `budget` claim: tokens per day.
        daily_budget: Option<u64>,
        /// The `budgetUsd` claim: micro-dollars per day.
        daily_budget_micros: Option<u64>,
    },
}

impl Principal {
    /// The caller's knowledge-base groups (none for anonymous callers).
    pub fn groups(&self) -> &[String] {
        match self {
            Self::Anonymous { .. } => &[],
            Self::Key { groups, .. } | Self::User { groups, .. } => groups,
        }
    }

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

/// A new secret for the existing key `id`, from 32 random bytes: `(key, hash)`.
pub fn new_secret_for(id: &str, random: &[u8; 32]) -> (String, String) {
    let secret = base64url(random);
    let hash = sha256_hex(secret.as_bytes());
    (format!("{KEY_PREFIX}{id}_{secret}"), hash)
}

/// Checks a presented key against its stored record at `now_s`: the current secret, or the
/// previous one within its grace period after a rotation. Both hashes are always compared, in
/// constant time.
pub fn check_key(
    presented: &PresentedKey<'_>,
    record: &KeyRecord,
    now_s: u64,
) -> Result<Principal, AuthFailure> {
    let hash = sha256_hex(presented.secret.as_bytes());
    let current = constant_time_eq(hash.as_bytes(), record.hash.as_bytes());
    let previous = record
        .previous_hash
        .as_ref()
        .is_some_and(|p| constant_time_eq(hash.as_bytes(), p.as_bytes()));
    if record.id != presented.id {
        return Err(AuthFailure::UnknownKey);
    }
    if !current && !previous {
        return Err(AuthFailure::BadSecret);
    }
    let in_grace = record.previous_valid_until.is_some_and(|t| now_s < t);
    if record.revoked || (!current && !in_grace) {
        return Err(AuthFailure::Revoked);
    }
    if record.expires_at.is_some_and(|e| now_s >= e) {
        return Err(AuthFailure::Expired);
    }
    Ok(Principal::Key {
        id: record.id.clone(),
        scopes: record.scopes.clone(),
        budget: record.budget,
        rate_limit: record.rate_limit,
        groups: record.groups.clone(),
    })
}

/// The record after rotating its secret to `new_hash` at `now_s`: the old secret keeps working
/// for `grace_s` seconds (0: not at all; it is still recognised, so its refusal says `revoked`).
/// Budgets, limits and usage stay with the key id.
pub fn rotate(record: &KeyRecord, new_hash: String, now_s: u64, grace_s: u64) -> KeyRecord {
    KeyRecord {
        previous_hash: Some(record.hash.clone()),
        previous_valid_until: Some(now_s + grace_s),
        rotated_at: Some(now_s),
        hash: new_hash,
        ..record.clone()
    }
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

/// Verifies an end-user token for `tenant_id` at `now_s` against the current secret and, during
/// a secret rotation, the previous one (`secrets`, current first; empty ones are skipped):
/// HS256 only, a valid signature, `sub`, `aud` equal to the tenant, `exp` in the future but at
/// most 24 h ahead, `nbf` passed, `budget`, when present, a whole number of tokens per day
/// (`0` admits nothing), and `budgetUsd` a decimal amount of dollars per day. The client learns nothing about which check failed; the log gets the reason.
pub fn verify_user_token(
    token: &str,
    secrets: &[&[u8]],
    tenant_id: &str,
    now_s: u64,
) -> Result<Principal, AuthFailure> {
    use AuthFailure as F;
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(F::Malformed);
    };
    let secrets: Vec<&[u8]> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    if secrets.is_empty() {
        return Err(F::NoTokenSecret);
    }
    let header: JwtHeader = base64url_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(F::Malformed)?;
    if header.alg != "HS256" || header.typ.is_some_and(|t| !t.eq_ignore_ascii_case("JWT")) {
        return Err(F::BadAlgorithm);
    }
    // Only the canonical encoding of a signature counts, so a token has one spelling.
    let signature = base64url_decode(sig).ok_or(F::Malformed)?;
    if base64url(&signature) != sig {
        return Err(F::Malformed);
    }
    let signed = format!("{h}.{p}");
    let verified = secrets.iter().any(|secret| {
        Hmac::<Sha256>::new_from_slice(secret).is_ok_and(|mut mac| {
            mac.update(signed.as_bytes());
            mac.verify_slice(&signature).is_ok()
        })
    });
    if !verified {
        return Err(F::BadSignature);
    }
    let claims: Value = base64url_decode(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(F::Malformed)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.chars().count() <= 128)
        .ok_or(F::BadClaim)?;
    let aud_ok = match claims.get("aud").ok_or(F::BadClaim)? {
        Value::String(a) => a == tenant_id,
        Value::Array(list) => list.iter().any(|a| a.as_str() == Some(tenant_id)),
        _ => return Err(F::BadClaim),
    };
    if !aud_ok {
        return Err(F::WrongAudience);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or(F::BadClaim)?;
    if exp <= now_s {
        return Err(F::TokenExpired);
    }
    if exp > now_s + MAX_TOKEN_LIFETIME_S {
        return Err(F::LifetimeTooLong);
    }
    match claims.get("nbf") {
        None => {}
        Some(n) => match n.as_u64() {
            Some(n) if n <= now_s => {}
            Some(_) => return Err(F::NotYetValid),
            None => return Err(F::BadClaim),
        },
    }
    let scopes = match claims.get("scope") {
        None => vec!["chat".to_string()],
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(_) => return Err(F::BadClaim),
    };
    let daily_budget = match claims.get("budget") {
        None | Some(Value::Null) => None,
        Some(b) => Some(b.as_u64().ok_or(F::BadClaim)?),
    };
    let daily_budget_micros = match claims.get("budgetUsd") {
        None | Some(Value::Null) => None,
        Some(b) => Some(crate::pricing::micros(b, "budgetUsd").map_err(|_| F::BadClaim)?),
    };
    let groups = match claims.get("groups") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.len() <= MAX_GROUPS => list
            .iter()
            .map(|g| {
                g.as_str()
                    .filter(|s| knowledge::GroupName::parse(s).is_ok())
                    .map(str::to_owned)
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(F::BadClaim)?,
        Some(_) => return Err(F::BadClaim),
    };
    Ok(Principal::User {
        sub: sub.to_string(),
        scopes,
        groups,
        daily_budget,
        daily_budget_micros,
    })
}

/// Query parameters that would carry a credential (refused: URLs end up in logs and caches).
const CREDENTIAL_PARAMS: &[&str] = &[
    "key",
    "api_key",
    "apikey",
    "api-key",
    "token",
    "access_token",
    "auth",
    "authorization",
];

/// Whether a value is shaped like a credential: a gateway API key (`gwk_...`) or a JWT (three
/// base64url segments, the first a JSON object: `eyJ...`).
pub fn looks_like_credential(value: &str) -> bool {
    let v = value.trim();
    if v.starts_with(KEY_PREFIX) {
        return true;
    }
    let mut parts = v.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let b64 = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    h.starts_with("eyJ") && !p.is_empty() && b64(h) && b64(p) && b64(sig)
}

/// The first query parameter of a URL that would carry a credential: its (percent-decoded,
/// lowercased) name is one of the usual names, or its value is shaped like a gateway key or a
/// JWT, whatever its name. Pairs are split on `&` and `;`. `data_names` are names the route
/// reads as data (`key` is a key id filter on `/admin/usage/history`): only their values are
/// judged.
pub fn credential_param(url: &str, data_names: &[&str]) -> Option<String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query.split(['&', ';']).find_map(|pair| {
        let (raw, value) = pair.split_once('=').unwrap_or((pair, ""));
        // In a query, `+` is a space.
        let name = percent_decode(&raw.replace('+', " ")).to_ascii_lowercase();
        let value = percent_decode(&value.replace('+', " "));
        let name_says = CREDENTIAL_PARAMS.contains(&name.trim()) && !data_names.contains(&raw);
        (name_says || looks_like_credential(&value)).then_some(name)
    })
}

#[cfg(test)]
#[path = "credential_tests.rs"]
mod tests;
