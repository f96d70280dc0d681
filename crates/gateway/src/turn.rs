//! A turn of a stored session for clients that resend their history with message ids (the AI
//! SDK UI): which request messages the session does not hold yet, and what stored tail an edit
//! or a regenerate replaces.

use crate::conversation::{Message, Role};
use crate::session::StoredMessage;

/// How a request's messages meet a stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    /// How many stored messages stay.
    pub keep: usize,
    /// The indexes of the request messages the kept history does not hold.
    pub new: Vec<usize>,
    /// The stored messages after `keep` are dropped (an edit, a regenerate).
    pub replace: bool,
}

/// Merges request messages (with their source ids, in order) into a stored session.
///
/// Without any source (`/chat`), every request message is new and follows the whole history; a
/// regenerate keeps the history up to and including its last user message, dropping the
/// answer after it.
///
/// With sources (the AI SDK UI resends its whole conversation), the client's history is the
/// truth: the stored messages stay as long as they line up with the request's (same source and
/// role, the same text for user and system messages, from where the stored window starts); the
/// first one that does not (an edited message, the answer a regenerate redoes, a message the
/// client removed) and all after it are replaced by the request's messages from that point on.
/// An answer's text is not compared: a client that stopped reading holds only part of it, and
/// the session keeps the whole answer the model gave.
pub fn merge(
    stored: &[StoredMessage],
    request: &[Message],
    sources: &[Option<String>],
    regenerate: bool,
) -> Merge {
    if sources.iter().all(Option::is_none) {
        let keep = if regenerate {
            stored
                .iter()
                .rposition(|m| m.role == Role::User)
                .map_or(0, |i| i + 1)
        } else {
            stored.len()
        };
        return Merge {
            keep,
            new: (0..request.len()).collect(),
            replace: regenerate,
        };
    }
    // The stored window may start later than the client's history (old messages trimmed).
    let offset = stored
        .first()
        .and_then(|first| first.source.as_ref())
        .and_then(|first| sources.iter().position(|s| s.as_ref() == Some(first)))
        .unwrap_or(0);
    let keep = stored
        .iter()
        .zip(request.iter().zip(sources).skip(offset))
        .take_while(|(held, (sent, source))| lines_up(held, sent, source.as_deref()))
        .count();
    Merge {
        keep,
        new: (offset + keep..request.len()).collect(),
        replace: keep < stored.len(),
    }
}

/// Whether a stored message is the request's message at the same place.
fn lines_up(held: &StoredMessage, sent: &Message, source: Option<&str>) -> bool {
    source.is_some()
        && held.source.as_deref() == source
        && held.role == sent.role
        && (held.content == sent.content || matches!(held.role, Role::Assistant | Role::Tool))
        && held.tool_call_id == sent.tool_call_id
}

/// The source id of the `ordinal`th message made from UI message `ui_id`.
pub fn source_id(ui_id: &str, ordinal: u32) -> String {
    format!("{ui_id}#{ordinal}")
}

/// The next ordinal of UI message `ui_id` after the given sources (0 when none is of it): the
/// kept history and the request's new messages together.
pub fn next_ordinal<'a>(sources: impl IntoIterator<Item = &'a str>, ui_id: &str) -> u32 {
    let prefix = format!("{ui_id}#");
    sources
        .into_iter()
        .filter_map(|s| s.strip_prefix(prefix.as_str())?.parse::<u32>().ok())
        .max()
        .map_or(0, |n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(role: Role, text: &str, source: Option<&str>) -> StoredMessage {
        StoredMessage {
            role,
            content: text.into(),
            tool_calls: vec![],
            tool_call_id: None,
            name: None,
            source: source.map(Into::into),
        }
    }

    /// Request messages with their sources.
    fn sent(items: &[(Role, &str, Option<&str>)]) -> (Vec<Message>, Vec<Option<String>>) {
        items
            .iter()
            .map(|(r, t, s)| (Message::text(*r, *t), s.map(Into::into)))
            .unzip()
    }

    fn merged(s: &[StoredMessage], items: &[(Role, &str, Option<&str>)], regen: bool) -> Merge {
        let (m, src) = sent(items);
        merge(s, &m, &src, regen)
    }

    use Role::{Assistant as A, Tool as T, User as U};

    fn two_turns() -> Vec<StoredMessage> {
        vec![
            stored(U, "One", Some("u1#0")),
            stored(A, "1", Some("a1#0")),
            stored(U, "Two", Some("u2#0")),
            stored(A, "2", Some("a2#0")),
        ]
    }

    #[test]
    fn a_resent_history_adds_only_what_is_new() {
        let s = &two_turns()[..2];
        let m = merged(
            s,
            &[
                (U, "One", Some("u1#0")),
                (A, "1", Some("a1#0")),
                (U, "Two", Some("u2#0")),
            ],
            false,
        );
        assert_eq!(
            m,
            Merge {
                keep: 2,
                new: vec![2],
                replace: false
            }
        );
        // A tool output added to a1 is a new ordinal of it.
        let m = merged(
            s,
            &[
                (U, "One", Some("u1#0")),
                (A, "1", Some("a1#0")),
                (T, "{}", Some("a1#1")),
            ],
            false,
        );
        assert_eq!(m.new, vec![2]);
        // An empty session holds nothing.
        let m = merged(&[], &[(U, "One", Some("u1#0"))], false);
        assert_eq!(
            m,
            Merge {
                keep: 0,
                new: vec![0],
                replace: false
            }
        );
    }

    #[test]
    fn without_sources_every_message_is_new_after_the_whole_history() {
        let s = two_turns();
        let m = merged(&s, &[(U, "Three", None)], false);
        assert_eq!(
            m,
            Merge {
                keep: 4,
                new: vec![0],
                replace: false
            }
        );
        // A regenerate drops the answer after the last user message.
        let m = merged(&s, &[], true);
        assert_eq!(
            m,
            Merge {
                keep: 3,
                new: vec![],
                replace: true
            }
        );
        // No user message stored: nothing stays.
        assert_eq!(merged(&s[1..2], &[], true).keep, 0);
    }

    #[test]
    fn an_edited_message_replaces_it_and_everything_after_it() {
        let s = two_turns();
        let m = merged(
            &s,
            &[
                (U, "One", Some("u1#0")),
                (A, "1", Some("a1#0")),
                (U, "Two, edited", Some("u2#0")),
            ],
            false,
        );
        assert_eq!(
            m,
            Merge {
                keep: 2,
                new: vec![2],
                replace: true
            }
        );
        // A stopped answer the client holds only part of still lines up.
        let m = merged(
            &s,
            &[(U, "One", Some("u1#0")), (A, "", Some("a1#0"))],
            false,
        );
        assert_eq!(
            m,
            Merge {
                keep: 2,
                new: vec![],
                replace: true
            }
        );
        // The role and the tool call answered count too.
        let m = merged(
            &s,
            &[(U, "One", Some("u1#0")), (U, "1", Some("a1#0"))],
            false,
        );
        assert_eq!(m.keep, 1);
        let mut tool = Message::text(T, "1");
        tool.tool_call_id = Some("c1".into());
        let held = [stored(T, "other", Some("a1#1"))];
        let m = merge(&held, &[tool.clone()], &[Some("a1#1".into())], false);
        assert_eq!((m.keep, m.replace), (0, true));
        let mut held = held;
        held[0].tool_call_id = Some("c1".into());
        assert_eq!(merge(&held, &[tool], &[Some("a1#1".into())], false).keep, 1);
    }

    #[test]
    fn a_regenerate_of_an_earlier_answer_keeps_only_what_the_client_sent() {
        let s = two_turns();
        let m = merged(&s, &[(U, "One", Some("u1#0"))], true);
        assert_eq!(
            m,
            Merge {
                keep: 1,
                new: vec![],
                replace: true
            }
        );
        // Of the last answer.
        let m = merged(
            &s,
            &[
                (U, "One", Some("u1#0")),
                (A, "1", Some("a1#0")),
                (U, "Two", Some("u2#0")),
            ],
            true,
        );
        assert_eq!(
            m,
            Merge {
                keep: 3,
                new: vec![],
                replace: true
            }
        );
    }

    #[test]
    fn a_trimmed_window_lines_up_where_it_starts_in_the_client_history() {
        let s = &two_turns()[2..];
        let m = merged(
            s,
            &[
                (U, "One", Some("u1#0")),
                (A, "1", Some("a1#0")),
                (U, "Two", Some("u2#0")),
                (A, "2", Some("a2#0")),
                (U, "Three", Some("u3#0")),
            ],
            false,
        );
        assert_eq!(
            m,
            Merge {
                keep: 2,
                new: vec![4],
                replace: false
            }
        );
        // A client that shares nothing with the session replaces it.
        let m = merged(s, &[(U, "Other", Some("x#0"))], false);
        assert_eq!(
            m,
            Merge {
                keep: 0,
                new: vec![0],
                replace: true
            }
        );
        // A message without a source never lines up.
        let (mut msgs, mut src) = sent(&[(U, "Two", Some("u2#0")), (A, "2", None)]);
        msgs.push(Message::text(U, "x"));
        src.push(Some("u3#0".into()));
        assert_eq!(merge(s, &msgs, &src, false).keep, 1);
    }

    #[test]
    fn ordinals_continue_where_the_sources_left_off() {
        let s = ["a1#0", "a1#1", "u1#0", "a10#7", "a1#bad"];
        assert_eq!(next_ordinal(s, "a1"), 2);
        assert_eq!(next_ordinal(s, "a10"), 8);
        assert_eq!(next_ordinal(s, "u2"), 0);
        assert_eq!(source_id("a1", 3), "a1#3");
    }
}
