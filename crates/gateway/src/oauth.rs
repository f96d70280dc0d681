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

#[cfg(test)]
mod tests {
    use super::*;

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
