//! Trace ids: an incoming `x-trace-id` is kept when well-formed, otherwise a fresh uuid is used.

/// Keeps `incoming` if it is 8 to 128 characters of letters, digits, `-`, `_`, `.`, `:`.
pub fn accept_trace_id(incoming: Option<&str>) -> Option<String> {
    let id = incoming?.trim();
    let ok = (8..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let check = |input: Option<&str>, expected: Option<&str>| {
            assert_eq!(accept_trace_id(input).as_deref(), expected, "{input:?}")
        };
        check(None, None);
        check(
            Some("0f8e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"),
            Some("0f8e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"),
        );
        check(Some("  req_12345678 "), Some("req_12345678"));
        check(Some("short"), None);
        check(Some("has space inside"), None);
        check(Some("<script>alert(1)</script>"), None);
        check(Some(&"a".repeat(129)), None);
    }
}
