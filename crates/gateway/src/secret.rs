//! Comparing secrets without leaking where they differ, and reading bearer credentials.

use crate::percent::percent_decode;

/// Whether `a == b`, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The credential of an `Authorization: Bearer <credential>` header.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let v = authorization?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|c| !c.is_empty())
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
    if v.starts_with(crate::credential::KEY_PREFIX) {
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
/// JWT, whatever its name. Pairs are split on `&` and `;`.
pub fn credential_param(url: &str) -> Option<String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query.split(['&', ';']).find_map(|pair| {
        let (raw, value) = pair.split_once('=').unwrap_or((pair, ""));
        // In a query, `+` is a space.
        let name = percent_decode(&raw.replace('+', " ")).to_ascii_lowercase();
        let value = percent_decode(&value.replace('+', " "));
        (CREDENTIAL_PARAMS.contains(&name.trim()) || looks_like_credential(&value)).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_query_are_found_however_spelled() {
        let check = |url: &str, want: Option<&str>| {
            assert_eq!(credential_param(url).as_deref(), want, "{url}")
        };
        check("https://g/chat", None);
        check("https://g/chat?stream=1&model=x", None);
        check("https://g/chat?api_key=k", Some("api_key"));
        check("https://g/chat?api%5Fkey=k", Some("api_key"));
        check("https://g/chat?%6Bey=k", Some("key"));
        check("https://g/chat?x=1;key=k", Some("key"));
        check("https://g/chat?TOKEN=k#frag", Some("token"));
        check("https://g/chat?monkey=1", None);
        // Any name, when the value is a key or a token.
        check(
            "https://g/chat?x-api-key=gwk_0123456789ab_secret",
            Some("x-api-key"),
        );
        check(
            "https://g/chat?bearer=eyJhbGciOi.eyJzdWIi.c2ln",
            Some("bearer"),
        );
        check("https://g/chat?jwt=eyJhbGciOi.eyJzdWIi.", Some("jwt"));
        check("https://g/chat?a=1&b=%67wk_x", Some("b"));
        check("https://g/chat?v=eyJ.x.y.z", None);
        check("https://g/chat?v=eyJhbGci..c2ln", None);
        check("https://g/chat?v=abc.def.ghi", None);
        check("https://g/chat?v=eyJ!.a.b", None);
        check("https://g/chat?model=@cf/meta/llama-3.1-8b", None);
    }

    #[test]
    fn equality_and_bearer() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert_eq!(bearer(Some("Bearer t0k")), Some("t0k"));
        assert_eq!(bearer(Some("bearer  t0k ")), Some("t0k"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }
}
