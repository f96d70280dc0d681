//! Route patterns: `/sessions/{id}` matches one path segment, `/v1/models/{id*}` the rest of the
//! path. The log names a request by its pattern, or by a bounded path when none matched.

/// The longest path a log line carries for a request that matched no route.
pub const MAX_LOGGED_PATH: usize = 96;

/// Matches `path` against `pattern`; the captured parameters in order, or `None`.
pub fn capture<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut params = Vec::new();
    let mut rest = path.strip_prefix('/')?;
    let mut segments = pattern.strip_prefix('/')?.split('/').peekable();
    while let Some(seg) = segments.next() {
        if seg.starts_with('{') && seg.ends_with("*}") {
            if rest.is_empty() || segments.peek().is_some() {
                return None;
            }
            params.push(rest);
            return Some(params);
        }
        let (head, tail) = match rest.split_once('/') {
            Some((h, t)) => (h, Some(t)),
            None => (rest, None),
        };
        if seg.starts_with('{') && seg.ends_with('}') {
            if head.is_empty() {
                return None;
            }
            params.push(head);
        } else if seg != head {
            return None;
        }
        match (tail, segments.peek()) {
            (None, None) => return Some(params),
            (Some(t), Some(_)) => rest = t,
            _ => return None,
        }
    }
    None
}

/// What the log line calls a request: its route's pattern, or the path cut to
/// `MAX_LOGGED_PATH` characters (with `…`) when no route matched.
pub fn log_name(pattern: Option<&str>, path: &str) -> String {
    match pattern {
        Some(p) => p.to_string(),
        None if path.chars().count() <= MAX_LOGGED_PATH => path.to_string(),
        None => {
            let mut cut: String = path.chars().take(MAX_LOGGED_PATH).collect();
            cut.push('…');
            cut
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, path: &str, want: Option<&[&str]>) {
        assert_eq!(capture(pattern, path).as_deref(), want, "{pattern} {path}");
    }

    #[test]
    fn patterns_capture_segments_and_tails() {
        check("/chat", "/chat", Some(&[]));
        check("/chat", "/chat/", None);
        check("/chat", "/chats", None);
        check("/chat", "/", None);
        check("/sessions/{id}", "/sessions/s-1", Some(&["s-1"]));
        check("/sessions/{id}", "/sessions/", None);
        check("/sessions/{id}", "/sessions/a/b", None);
        check("/sessions/{id}", "/sessions", None);
        check(
            "/admin/keys/{id}/rotate",
            "/admin/keys/abc/rotate",
            Some(&["abc"]),
        );
        check("/admin/keys/{id}/rotate", "/admin/keys/abc", None);
        check("/admin/keys/{id}", "/admin/keys/abc/rotate", None);
        check(
            "/v1/models/{id*}",
            "/v1/models/@cf/meta/llama",
            Some(&["@cf/meta/llama"]),
        );
        check("/v1/models/{id*}", "/v1/models/", None);
        check("/v1/models/{id*}", "/v1/models", None);
        check("/a/{x}/{y}", "/a/1/2", Some(&["1", "2"]));
        check("/a/{x}/{y}", "/a/1", None);
        check("/a", "a", None);
    }

    #[test]
    fn unmatched_paths_are_logged_bounded() {
        assert_eq!(
            log_name(Some("/sessions/{id}"), "/sessions/x"),
            "/sessions/{id}"
        );
        assert_eq!(log_name(None, "/nope"), "/nope");
        let long = "/".to_string() + &"é".repeat(60_000);
        let logged = log_name(None, &long);
        assert_eq!(logged.chars().count(), MAX_LOGGED_PATH + 1);
        assert!(logged.ends_with('…'));
        let exact = "/".to_string() + &"a".repeat(MAX_LOGGED_PATH - 1);
        assert_eq!(log_name(None, &exact), exact);
    }
}
