//! A turn of a stored session for clients that resend their history with message ids (the AI
//! SDK UI): which request messages the session does not hold yet, and what a regenerate drops.

use crate::conversation::Role;
use crate::session::StoredMessage;

/// How a request's messages meet a stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    /// How many stored messages stay (a regenerate drops the answer it redoes).
    pub keep: usize,
    /// The indexes of the request messages the kept history does not hold.
    pub new: Vec<usize>,
}

/// Merges request messages (with their source ids, in order) into a stored session. Messages
/// whose source the kept history holds are not new; a regenerate keeps the stored history up
/// to and including its last user message, dropping the answer after it. A request message
/// without a source is always new.
pub fn merge(stored: &[StoredMessage], sources: &[Option<String>], regenerate: bool) -> Merge {
    let keep = if regenerate {
        stored
            .iter()
            .rposition(|m| m.role == Role::User)
            .map_or(0, |i| i + 1)
    } else {
        stored.len()
    };
    let held: Vec<&str> = stored[..keep]
        .iter()
        .filter_map(|m| m.source.as_deref())
        .collect();
    let new = sources
        .iter()
        .enumerate()
        .filter(|(_, s)| s.as_deref().is_none_or(|s| !held.contains(&s)))
        .map(|(i, _)| i)
        .collect();
    Merge { keep, new }
}

/// The source id of the `ordinal`th message made from UI message `ui_id`.
pub fn source_id(ui_id: &str, ordinal: u32) -> String {
    format!("{ui_id}#{ordinal}")
}

/// The next ordinal of UI message `ui_id` in the stored history (0 when it holds none).
pub fn next_ordinal(stored: &[StoredMessage], ui_id: &str) -> u32 {
    let prefix = format!("{ui_id}#");
    stored
        .iter()
        .filter_map(|m| {
            m.source
                .as_deref()?
                .strip_prefix(prefix.as_str())?
                .parse::<u32>()
                .ok()
        })
        .max()
        .map_or(0, |n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(role: Role, source: Option<&str>) -> StoredMessage {
        StoredMessage {
            role,
            content: "x".into(),
            tool_calls: vec![],
            tool_call_id: None,
            name: None,
            source: source.map(Into::into),
        }
    }

    fn src(s: &[Option<&str>]) -> Vec<Option<String>> {
        s.iter().map(|x| x.map(Into::into)).collect()
    }

    #[test]
    fn a_resent_history_adds_only_what_is_new() {
        let s = [
            stored(Role::User, Some("u1#0")),
            stored(Role::Assistant, Some("a1#0")),
        ];
        let m = merge(&s, &src(&[Some("u1#0"), Some("a1#0"), Some("u2#0")]), false);
        assert_eq!(
            m,
            Merge {
                keep: 2,
                new: vec![2]
            }
        );
        // A tool output added to a1 is a new ordinal of it.
        let m = merge(&s, &src(&[Some("u1#0"), Some("a1#0"), Some("a1#1")]), false);
        assert_eq!(m.new, vec![2]);
        // Messages without a source are always new; an empty session holds nothing.
        assert_eq!(merge(&s, &src(&[None, Some("u1#0")]), false).new, vec![0]);
        assert_eq!(
            merge(&[], &src(&[Some("u1#0"), None]), false),
            Merge {
                keep: 0,
                new: vec![0, 1]
            }
        );
    }

    #[test]
    fn a_regenerate_drops_the_stored_answer_after_the_last_user_message() {
        let s = [
            stored(Role::System, None),
            stored(Role::User, Some("u1#0")),
            stored(Role::Assistant, Some("a1#0")),
            stored(Role::Tool, Some("a1#1")),
            stored(Role::Assistant, Some("a1#2")),
        ];
        let m = merge(&s, &src(&[Some("u1#0")]), true);
        assert_eq!(
            m,
            Merge {
                keep: 2,
                new: vec![]
            }
        );
        // The dropped answer's sources count as new if the client still sends them.
        assert_eq!(
            merge(&s, &src(&[Some("u1#0"), Some("a1#0")]), true).new,
            vec![1]
        );
        // No user message stored: nothing stays.
        assert_eq!(merge(&s[2..], &src(&[]), true).keep, 0);
    }

    #[test]
    fn ordinals_continue_where_the_history_left_off() {
        let s = [
            stored(Role::Assistant, Some("a1#0")),
            stored(Role::Tool, Some("a1#1")),
            stored(Role::User, Some("u1#0")),
            stored(Role::Assistant, Some("a10#7")),
            stored(Role::Assistant, Some("a1#bad")),
        ];
        assert_eq!(next_ordinal(&s, "a1"), 2);
        assert_eq!(next_ordinal(&s, "a10"), 8);
        assert_eq!(next_ordinal(&s, "u2"), 0);
        assert_eq!(source_id("a1", 3), "a1#3");
    }
}
