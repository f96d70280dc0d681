//! OAuth2 client credentials (RFC 6749 section 4.4), the pure parts: the token request body,
//! HTTP Basic client authentication, and reading the token response.

use serde::Deserialize;

/// Seconds before `expires_in` at which a cached token is treated as expired.
pub const EXPIRY_MARGIN_S: u64 = 30;

/// An access token and when the gateway stops using it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub value: String,
    pub use_until_ms: u64,
}

/// `application/x-www-form-urlencoded` escaping (RFC 6749 appendix B).
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The token request body: `grant_type=client_credentials`, the optional scope and audience,
/// and for `client_secret_post` the client's id and secret.
pub fn token_request_body(
    scope: Option<&str>,
    audience: Option<&str>,
    post_credentials: Option<(&str, &str)>,
) -> String {
    let mut body = String::from("grant_type=client_credentials");
    for (k, v) in [("scope", scope), ("audience", audience)] {
        if let Some(v) = v {
            body.push_str(&format!("&{k}={}", form_encode(v)));
        }
    }
    if let Some((id, secret)) = post_credentials {
        body.push_str(&format!(
            "&client_id={}&client_secret={}",
            form_encode(id),
            form_encode(secret)
        ));
    }
    body
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (`client_secret_basic`, RFC 6749 2.3.1).
pub fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let pair = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
    format!("Basic {}", base64(pair.as_bytes()))
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
}

/// Reads a token endpoint's answer received at `now_ms`. Errors never quote the body (it may
/// hold a token): only the OAuth2 `error` code, or what is missing.
pub fn parse_token_response(body: &[u8], now_ms: u64) -> Result<AccessToken, String> {
    let r: TokenResponse = serde_json::from_slice(body)
        .map_err(|_| "the token endpoint answered with something that is not JSON".to_string())?;
    if let Some(e) = r.error {
        return Err(format!(
            "the token endpoint refused: {}",
            e.chars().take(64).collect::<String>()
        ));
    }
    let value = r
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the token endpoint answered without access_token".to_string())?;
    // expires_in is RECOMMENDED; some servers send it as a string. Without it, one hour.
    let expires_in = match r.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(serde_json::Value::String(s)) => s.parse().unwrap_or(0),
        _ => 3600,
    };
    // A day at most: a huge or hostile expires_in must not overflow or pin a token for ever.
    let usable_s = expires_in.min(86_400).saturating_sub(EXPIRY_MARGIN_S);
    Ok(AccessToken {
        value,
        use_until_ms: now_ms.saturating_add(usable_s * 1000),
    })
}

/// Where one provider's token stands in an isolate.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Ready {
        value: String,
        use_until_ms: u64,
        issued_ms: u64,
    },
    /// A request of this isolate is asking the token endpoint.
    Fetching { since_ms: u64 },
    /// The last token request failed.
    Failed { at_ms: u64, error: String },
}

/// How long a waiter trusts another request's token fetch before asking itself.
pub const FETCH_PATIENCE_MS: u64 = 30_000;

/// What a request should do for its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Use this token.
    Use(String),
    /// Ask the token endpoint (this request owns the fetch; report with `fetched`).
    Fetch,
    /// Another request is fetching: look again shortly.
    Wait,
    /// The fetch that answered while this request waited failed.
    Failed(String),
}

/// One isolate's OAuth2 tokens per provider, and the single-flight rules: a cached token is
/// used until its `use_until`; one request fetches while the others wait; a token fetched
/// while a request waited is used even if it lives no longer than the margin (the waiters
/// share it instead of fetching in turn); a fetch that failed while a request waited fails it
/// too; a fetch older than `FETCH_PATIENCE_MS` is taken over. Time comes in as an argument.
#[derive(Debug, Clone, Default)]
pub struct TokenSlots {
    slots: std::collections::BTreeMap<String, Slot>,
}

impl TokenSlots {
    /// What a request that started waiting at `started_ms` does for `provider` at `now_ms`.
    pub fn claim(&mut self, provider: &str, started_ms: u64, now_ms: u64) -> Claim {
        match self.slots.get(provider) {
            Some(Slot::Ready {
                value,
                use_until_ms,
                ..
            }) if *use_until_ms > now_ms => Claim::Use(value.clone()),
            Some(Slot::Ready {
                value, issued_ms, ..
            }) if *issued_ms >= started_ms => Claim::Use(value.clone()),
            Some(Slot::Fetching { since_ms })
                if now_ms.saturating_sub(*since_ms) < FETCH_PATIENCE_MS =>
            {
                Claim::Wait
            }
            Some(Slot::Failed { at_ms, error }) if *at_ms >= started_ms => {
                Claim::Failed(error.clone())
            }
            _ => {
                self.slots
                    .insert(provider.to_string(), Slot::Fetching { since_ms: now_ms });
                Claim::Fetch
            }
        }
    }

    /// The owner's fetch ended at `now_ms`.
    pub fn fetched(&mut self, provider: &str, result: &Result<AccessToken, String>, now_ms: u64) {
        let slot = match result {
            Ok(t) => Slot::Ready {
                value: t.value.clone(),
                use_until_ms: t.use_until_ms,
                issued_ms: now_ms,
            },
            Err(e) => Slot::Failed {
                at_ms: now_ms,
                error: e.clone(),
            },
        };
        self.slots.insert(provider.to_string(), slot);
    }

    /// The owner went away mid-fetch: the next request fetches instead of waiting.
    pub fn abandon(&mut self, provider: &str) {
        if matches!(self.slots.get(provider), Some(Slot::Fetching { .. })) {
            self.slots.remove(provider);
        }
    }

    /// The upstream refused `rejected` (401): forget it, so the next claim fetches.
    pub fn invalidate(&mut self, provider: &str, rejected: &str) {
        if matches!(self.slots.get(provider), Some(Slot::Ready { value, .. }) if value == rejected)
        {
            self.slots.remove(provider);
        }
    }

    /// Forgets a ready token (the deep health check must ask the token endpoint).
    pub fn forget(&mut self, provider: &str) {
        if matches!(self.slots.get(provider), Some(Slot::Ready { .. })) {
            self.slots.remove(provider);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str, until: u64) -> Result<AccessToken, String> {
        Ok(AccessToken {
            value: value.into(),
            use_until_ms: until,
        })
    }

    #[test]
    fn one_request_fetches_the_others_wait_and_share_its_token() {
        let mut t = TokenSlots::default();
        assert_eq!(t.claim("p", 0, 0), Claim::Fetch);
        assert_eq!(t.claim("p", 1, 1), Claim::Wait);
        assert_eq!(t.claim("other", 1, 1), Claim::Fetch, "per provider");
        t.fetched("p", &token("tok", 1000), 5);
        assert_eq!(t.claim("p", 1, 6), Claim::Use("tok".into()));
        assert_eq!(t.claim("p", 900, 999), Claim::Use("tok".into()));
        // Past its use-until, a request that started before it was issued fetches anew...
        assert_eq!(t.claim("p", 6, 1000), Claim::Fetch);
        // ...but one that waited for it uses it however short it lives.
        let mut t = TokenSlots::default();
        t.claim("p", 0, 0);
        t.fetched("p", &token("short", 10), 20);
        assert_eq!(t.claim("p", 1, 30), Claim::Use("short".into()));
        assert_eq!(t.claim("p", 21, 30), Claim::Fetch);
    }

    #[test]
    fn a_failed_fetch_fails_its_waiters_but_not_later_requests() {
        let mut t = TokenSlots::default();
        t.claim("p", 0, 0);
        t.fetched("p", &Err("token endpoint: HTTP 500".into()), 10);
        assert_eq!(
            t.claim("p", 5, 11),
            Claim::Failed("token endpoint: HTTP 500".into())
        );
        assert_eq!(
            t.claim("p", 10, 11),
            Claim::Failed("token endpoint: HTTP 500".into())
        );
        assert_eq!(
            t.claim("p", 11, 12),
            Claim::Fetch,
            "a request after the failure tries again"
        );
    }

    #[test]
    fn stale_fetches_abandoned_fetches_refused_and_forgotten_tokens() {
        let mut t = TokenSlots::default();
        t.claim("p", 0, 0);
        assert_eq!(t.claim("p", 1, FETCH_PATIENCE_MS - 1), Claim::Wait);
        assert_eq!(
            t.claim("p", 1, FETCH_PATIENCE_MS),
            Claim::Fetch,
            "taken over"
        );
        t.abandon("p");
        assert_eq!(t.claim("p", 2, FETCH_PATIENCE_MS + 1), Claim::Fetch);
        t.fetched("p", &token("a", u64::MAX), 3);
        t.abandon("p");
        assert_eq!(
            t.claim("p", 4, 5),
            Claim::Use("a".into()),
            "abandon leaves a ready token"
        );
        t.invalidate("p", "other");
        assert_eq!(t.claim("p", 4, 5), Claim::Use("a".into()));
        t.invalidate("p", "a");
        assert_eq!(t.claim("p", 4, 5), Claim::Fetch);
        t.fetched("p", &token("b", u64::MAX), 6);
        t.forget("p");
        assert_eq!(t.claim("p", 7, 7), Claim::Fetch);
        t.forget("p");
        assert_eq!(
            t.claim("p", 8, 8),
            Claim::Wait,
            "forget leaves a fetch under way"
        );
    }

    #[test]
    fn request_bodies_and_basic_auth() {
        assert_eq!(
            token_request_body(None, None, None),
            "grant_type=client_credentials"
        );
        assert_eq!(
            token_request_body(Some("ai.chat read"), Some("https://api"), Some(("id:1", "s&t"))),
            "grant_type=client_credentials&scope=ai.chat+read&audience=https%3A%2F%2Fapi&client_id=id%3A1&client_secret=s%26t"
        );
        // RFC 4648 test vectors through the Basic header.
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(
            basic_authorization("abc", "s3cr3t"),
            "Basic YWJjOnMzY3IzdA=="
        );
    }

    #[test]
    fn token_responses() {
        let ok = parse_token_response(
            br#"{"access_token":"t1","token_type":"Bearer","expires_in":3600}"#,
            1000,
        )
        .unwrap();
        assert_eq!(
            ok,
            AccessToken {
                value: "t1".into(),
                use_until_ms: 1000 + 3570 * 1000
            }
        );
        let short = parse_token_response(br#"{"access_token":"t1","expires_in":"10"}"#, 0).unwrap();
        assert_eq!(
            short.use_until_ms, 0,
            "shorter than the margin: use once, refresh next time"
        );
        assert_eq!(
            parse_token_response(br#"{"access_token":"t"}"#, 0)
                .unwrap()
                .use_until_ms,
            3570 * 1000
        );
        assert_eq!(
            parse_token_response(
                br#"{"error":"invalid_client","error_description":"secret xyz wrong"}"#,
                0
            ),
            Err("the token endpoint refused: invalid_client".into())
        );
        assert_eq!(
            parse_token_response(b"<html>", 0),
            Err("the token endpoint answered with something that is not JSON".into())
        );
        assert_eq!(
            parse_token_response(br#"{"token_type":"Bearer"}"#, 0),
            Err("the token endpoint answered without access_token".into())
        );
    }
}
