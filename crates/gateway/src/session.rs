//! Server-side sessions, the pure parts: config, the stored message shape, history trimming
//! and session ids.

use serde::{Deserialize, Serialize};

use crate::conversation::{Message, Role, ToolCall};
use crate::usage::estimate_text_tokens;

/// `[vars.TENANT.sessions]` as written.
#[derive(Debug, Clone, Default)]
pub struct RawSessions {
    pub enabled: Option<bool>,
    pub ttl_days: Option<i64>,
    /// A testing aid: expiry in seconds instead of days.
    pub ttl_seconds: Option<i64>,
    pub max_history_tokens: Option<i64>,
    pub max_messages: Option<i64>,
}

/// Checked session settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionConfig {
    pub ttl_ms: u64,
    pub max_history_tokens: u64,
    pub max_messages: usize,
}

/// Checks `sessions`: `None` when sessions are off.
pub fn check_sessions(raw: RawSessions) -> Result<Option<SessionConfig>, (String, String)> {
    let err = |p: &str, m: &str| (format!("sessions.{p}"), m.to_string());
    if raw.enabled == Some(false) {
        return Ok(None);
    }
    let range = |v: Option<i64>, default: i64, max: i64, p: &str| match v {
        None => Ok(default as u64),
        Some(n) if (1..=max).contains(&n) => Ok(n as u64),
        Some(_) => Err(err(p, &format!("must be between 1 and {max}"))),
    };
    let ttl_ms = match raw.ttl_seconds {
        Some(_) => range(raw.ttl_seconds, 0, 31_536_000, "ttlSeconds")? * 1000,
        None => range(raw.ttl_days, 30, 365, "ttlDays")? * 86_400_000,
    };
    Ok(Some(SessionConfig {
        ttl_ms,
        max_history_tokens: range(raw.max_history_tokens, 4000, 1_000_000, "maxHistoryTokens")?,
        max_messages: range(raw.max_messages, 100, 10_000, "maxMessages")? as usize,
    }))
}

/// A message as a session stores and shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMessage {
    pub role: Role,
    pub content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<StoredToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the message came from, for clients that name their messages (the AI SDK UI:
    /// `<ui message id>#<ordinal>`), so a request that resends them is not stored twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

impl From<&Message> for StoredMessage {
    fn from(m: &Message) -> Self {
        Self {
            role: m.role,
            content: m.content.clone(),
            tool_calls: m
                .tool_calls
                .iter()
                .map(|c| StoredToolCall {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: c.arguments.clone(),
                })
                .collect(),
            tool_call_id: m.tool_call_id.clone(),
            name: m.name.clone(),
            source: None,
        }
    }
}

impl From<&StoredMessage> for Message {
    fn from(m: &StoredMessage) -> Self {
        Self {
            role: m.role,
            content: m.content.clone(),
            name: m.name.clone(),
            tool_call_id: m.tool_call_id.clone(),
            tool_calls: m
                .tool_calls
                .iter()
                .map(|c| ToolCall {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: c.arguments.clone(),
                })
                .collect(),
        }
    }
}

/// Estimated tokens of one message (as `Conversation::prompt_estimate` counts it).
pub fn message_tokens(m: &Message) -> u64 {
    4 + estimate_text_tokens(&m.content)
        + m.tool_calls
            .iter()
            .map(|c| {
                4 + estimate_text_tokens(&c.id)
                    + estimate_text_tokens(&c.name)
                    + estimate_text_tokens(&c.arguments)
            })
            .sum::<u64>()
        + m.tool_call_id.as_deref().map_or(0, estimate_text_tokens)
}

/// The history to send with `new` (the request's own messages, always sent): system messages
/// are kept; the oldest other messages are dropped first until the whole fits `max_tokens` and
/// `max_messages`, and tool results whose call was dropped go with it. Returns the messages to
/// send and how many of them came from the history.
pub fn compose(
    history: &[Message],
    new: &[Message],
    max_tokens: u64,
    max_messages: usize,
) -> (Vec<Message>, usize) {
    let mut keep: Vec<bool> = vec![true; history.len()];
    // Running totals: one pass over the history, whatever its length.
    let mut tokens: u64 = history.iter().chain(new).map(message_tokens).sum();
    let mut count = history.len() + new.len();
    for (i, m) in history.iter().enumerate() {
        if tokens <= max_tokens && count <= max_messages {
            break;
        }
        if m.role != Role::System {
            keep[i] = false;
            tokens -= message_tokens(m);
            count -= 1;
        }
    }
    // A tool result whose call was dropped would be an orphan, which providers refuse. A
    // result belongs to the closest earlier assistant message that made a call with its id
    // (ids can repeat across turns), and goes when that message went.
    let mut open_calls: Vec<&str> = Vec::new();
    for (m, k) in history.iter().zip(keep.iter_mut()) {
        match m.role {
            Role::Assistant if !m.tool_calls.is_empty() => {
                open_calls = if *k {
                    m.tool_calls.iter().map(|c| c.id.as_str()).collect()
                } else {
                    Vec::new()
                };
            }
            Role::Tool => {
                let owned = m
                    .tool_call_id
                    .as_deref()
                    .is_some_and(|id| open_calls.contains(&id));
                if !owned {
                    *k = false;
                }
            }
            _ => {}
        }
    }
    let sent: Vec<Message> = history
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(m, _)| m.clone())
        .collect();
    let from_history = sent.len();
    (
        sent.into_iter().chain(new.iter().cloned()).collect(),
        from_history,
    )
}

/// What a session keeps after appending: every system message and the newest
/// `max_messages` others (older ones would never be sent again).
pub fn keep_newest(messages: &mut Vec<StoredMessage>, max_messages: usize) {
    let others = messages.iter().filter(|m| m.role != Role::System).count();
    let mut drop = others.saturating_sub(max_messages);
    messages.retain(|m| {
        if drop > 0 && m.role != Role::System {
            drop -= 1;
            false
        } else {
            true
        }
    });
}

/// A session id made by the gateway from 12 random bytes: `s-` and 24 hex digits.
pub fn new_session_id(random: &[u8; 12]) -> String {
    format!(
        "s-{}",
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(role: Role, text: &str) -> Message {
        Message::text(role, text)
    }

    #[test]
    fn history_is_trimmed_oldest_first_keeping_system_and_the_new_turn() {
        let history = vec![
            m(Role::System, "be brief"),
            m(Role::User, "one"),
            m(Role::Assistant, "reply one"),
            m(Role::User, "two"),
            m(Role::Assistant, "reply two"),
        ];
        let new = vec![m(Role::User, "three")];
        let (sent, n) = compose(&history, &new, 10_000, 100);
        assert_eq!((sent.len(), n), (6, 5));
        // Room for the system prompt, the new turn and two more messages.
        let budget: u64 = [&history[0], &history[3], &history[4], &new[0]]
            .iter()
            .map(|x| message_tokens(x))
            .sum();
        let (sent, n) = compose(&history, &new, budget, 100);
        let texts: Vec<&str> = sent.iter().map(|x| x.content.as_str()).collect();
        assert_eq!(
            (texts, n),
            (vec!["be brief", "two", "reply two", "three"], 3)
        );
        let (sent, _) = compose(&history, &new, 10_000, 3);
        let texts: Vec<&str> = sent.iter().map(|x| x.content.as_str()).collect();
        assert_eq!(texts, vec!["be brief", "reply two", "three"]);
        // A new turn that alone is too big is still sent whole.
        let (sent, n) = compose(&history, &new, 1, 1);
        assert_eq!(
            (sent.last().unwrap().content.as_str(), n),
            ("three", 1),
            "only the system prompt stays"
        );
    }

    #[test]
    fn a_tool_result_never_outlives_its_call() {
        let mut call = m(Role::Assistant, "");
        call.tool_calls.push(ToolCall {
            id: "c1".into(),
            name: "f".into(),
            arguments: "{}".into(),
        });
        let mut result = m(Role::Tool, "sunny");
        result.tool_call_id = Some("c1".into());
        let history = vec![
            m(Role::User, "weather?"),
            call,
            result,
            m(Role::Assistant, "it is sunny"),
        ];
        let (sent, n) = compose(&history, &[m(Role::User, "thanks")], 10_000, 3);
        let roles: Vec<Role> = sent.iter().map(|x| x.role).collect();
        assert_eq!((roles, n), (vec![Role::Assistant, Role::User], 1));
    }

    #[test]
    fn repeated_call_ids_do_not_keep_an_orphan() {
        let call = |text: &str| {
            let mut c = m(Role::Assistant, text);
            c.tool_calls.push(ToolCall {
                id: "call_0".into(),
                name: "f".into(),
                arguments: "{}".into(),
            });
            c
        };
        let result = || {
            let mut r = m(Role::Tool, "r");
            r.tool_call_id = Some("call_0".into());
            r
        };
        let history = vec![
            m(Role::User, "q1"),
            call("a"),
            result(),
            m(Role::Assistant, "ok1"),
            m(Role::User, "q2"),
            call("b"),
            result(),
            m(Role::Assistant, "ok2"),
        ];
        // Room for 7: the cut falls between the first call and its result, whose id the kept
        // second call repeats; the first result must still go.
        let (sent, _) = compose(&history, &[m(Role::User, "q3")], 10_000, 7);
        let texts: Vec<&str> = sent.iter().map(|x| x.content.as_str()).collect();
        assert_eq!(texts, vec!["ok1", "q2", "b", "r", "ok2", "q3"]);
    }

    #[test]
    fn a_session_keeps_its_system_prompt_and_newest_messages() {
        let mut stored: Vec<StoredMessage> = [
            m(Role::System, "sys"),
            m(Role::User, "1"),
            m(Role::Assistant, "2"),
            m(Role::User, "3"),
        ]
        .iter()
        .map(StoredMessage::from)
        .collect();
        keep_newest(&mut stored, 2);
        let texts: Vec<&str> = stored.iter().map(|x| x.content.as_str()).collect();
        assert_eq!(texts, vec!["sys", "2", "3"]);
    }

    #[test]
    fn config_and_ids() {
        assert_eq!(
            check_sessions(RawSessions {
                enabled: Some(false),
                ..Default::default()
            }),
            Ok(None)
        );
        let c = check_sessions(RawSessions::default()).unwrap().unwrap();
        assert_eq!(
            (c.ttl_ms, c.max_history_tokens, c.max_messages),
            (30 * 86_400_000, 4000, 100)
        );
        let c = check_sessions(RawSessions {
            ttl_seconds: Some(2),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(c.ttl_ms, 2000);
        assert_eq!(
            check_sessions(RawSessions {
                ttl_days: Some(0),
                ..Default::default()
            })
            .unwrap_err()
            .0,
            "sessions.ttlDays"
        );
        assert_eq!(new_session_id(&[0xab; 12]), "s-abababababababababababab");
        let stored = StoredMessage::from(&Message {
            tool_calls: vec![ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }],
            ..m(Role::Assistant, "")
        });
        assert_eq!(
            serde_json::to_value(&stored).unwrap(),
            serde_json::json!({"role":"assistant","content":"","toolCalls":[{"id":"c","name":"f","arguments":"{}"}]})
        );
        assert_eq!(Message::from(&stored).tool_calls[0].name, "f");
    }
}
