//! Token usage: what the model reported (each field optional), estimation, and the fold over a stream.
//!
//! "Not reported" is not zero: `Usage` keeps every count optional. `TokenReport` is what the
//! gateway bills and returns: every count filled in, with `estimated: true` when any of them
//! had to be estimated.
//!
//! Estimation (documented in docs/streaming.md): a text costs one token per 4 ASCII
//! characters (rounded up) plus one token per non-ASCII character. This over-counts most
//! scripts a little, which is the safe side for budgets. A prompt costs the estimate of
//! every message's content, plus 4 per message for the role and separators, plus 3.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chat::Message;
use crate::sse::AiEvent;

/// Token counts as the model reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
}

impl Usage {
    /// Reads a `usage` object; `None` when it is absent, null or carries no count.
    pub fn from_json(v: &Value) -> Option<Self> {
        let count = |k: &str| v.get(k).and_then(Value::as_u64);
        let u = Self {
            prompt_tokens: count("prompt_tokens"),
            completion_tokens: count("completion_tokens"),
            total_tokens: count("total_tokens"),
        };
        (u != Self::default()).then_some(u)
    }

    /// Later reports refine earlier ones field by field.
    pub fn refine(self, later: Self) -> Self {
        Self {
            prompt_tokens: later.prompt_tokens.or(self.prompt_tokens),
            completion_tokens: later.completion_tokens.or(self.completion_tokens),
            total_tokens: later.total_tokens.or(self.total_tokens),
        }
    }
}

/// The counts the gateway bills and reports: always complete, flagged when estimated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenReport {
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    pub estimated: bool,
}

impl TokenReport {
    /// Fills what the model did not report with estimates. A reported total wins over the
    /// sum only when both parts were reported too.
    pub fn from_usage(
        usage: Option<Usage>,
        prompt_estimate: u64,
        completion_estimate: u64,
    ) -> Self {
        let u = usage.unwrap_or_default();
        let prompt = u.prompt_tokens.or_else(|| {
            u.total_tokens
                .zip(u.completion_tokens)
                .map(|(t, c)| t.saturating_sub(c))
        });
        let completion = u.completion_tokens.or_else(|| {
            u.total_tokens
                .zip(u.prompt_tokens)
                .map(|(t, p)| t.saturating_sub(p))
        });
        let estimated = prompt.is_none() || completion.is_none();
        let prompt = prompt.unwrap_or(prompt_estimate);
        let completion = completion.unwrap_or(completion_estimate);
        let total = match u.total_tokens {
            Some(t) if !estimated => t,
            _ => prompt + completion,
        };
        Self {
            prompt,
            completion,
            total,
            estimated,
        }
    }

    /// Adds another attempt's tokens (every fallback attempt is billed).
    pub fn plus(self, other: Self) -> Self {
        Self {
            prompt: self.prompt + other.prompt,
            completion: self.completion + other.completion,
            total: self.total + other.total,
            estimated: self.estimated || other.estimated,
        }
    }
}

/// Estimated tokens of a text: ceil(ASCII chars / 4) + one per non-ASCII char.
pub fn estimate_text_tokens(text: &str) -> u64 {
    let (ascii, other) = text.chars().fold((0u64, 0u64), |(a, o), c| {
        if c.is_ascii() {
            (a + 1, o)
        } else {
            (a, o + 1)
        }
    });
    ascii.div_ceil(4) + other
}

/// Estimated prompt tokens of a conversation.
pub fn estimate_prompt_tokens(messages: &[Message]) -> u64 {
    3 + messages
        .iter()
        .map(|m| 4 + estimate_text_tokens(&m.content))
        .sum::<u64>()
}

/// The fold over a stream's events: text seen and the latest usage report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamTally {
    completion_tokens_estimate: u64,
    pending_ascii: u64,
    usage: Option<Usage>,
    tokens_seen: u64,
}

impl StreamTally {
    pub fn apply(&mut self, event: &AiEvent) {
        match event {
            AiEvent::Token(t) | AiEvent::Reasoning(t) => {
                self.tokens_seen += u64::from(matches!(event, AiEvent::Token(_)));
                self.add_text(t);
            }
            AiEvent::ToolCall(v) => self.add_text(&v.to_string()),
            AiEvent::Usage(u) => self.usage = Some(self.usage.unwrap_or_default().refine(*u)),
            AiEvent::Done => {}
        }
    }

    /// Text deltas are counted as if they had been one string, so splitting cannot inflate
    /// the estimate.
    fn add_text(&mut self, t: &str) {
        for c in t.chars() {
            if c.is_ascii() {
                self.pending_ascii += 1;
            } else {
                self.completion_tokens_estimate += 1;
            }
        }
    }

    /// The latest usage the model reported, if any.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// How many answer-text deltas arrived.
    pub fn token_events(&self) -> u64 {
        self.tokens_seen
    }

    pub fn report(&self, prompt_estimate: u64) -> TokenReport {
        let completion = self.completion_tokens_estimate + self.pending_ascii.div_ceil(4);
        TokenReport::from_usage(self.usage, prompt_estimate, completion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Role;

    fn check(usage: Option<Usage>, expected: TokenReport) {
        assert_eq!(
            TokenReport::from_usage(usage, 100, 50),
            expected,
            "{usage:?}"
        );
    }

    fn u(p: Option<u64>, c: Option<u64>, t: Option<u64>) -> Option<Usage> {
        Some(Usage {
            prompt_tokens: p,
            completion_tokens: c,
            total_tokens: t,
        })
    }

    fn r(prompt: u64, completion: u64, total: u64, estimated: bool) -> TokenReport {
        TokenReport {
            prompt,
            completion,
            total,
            estimated,
        }
    }

    #[test]
    fn reported_usage_wins_and_gaps_are_estimated() {
        check(u(Some(10), Some(5), Some(15)), r(10, 5, 15, false));
        check(None, r(100, 50, 150, true));
        check(u(Some(10), None, None), r(10, 50, 60, true));
        check(u(None, Some(5), Some(15)), r(10, 5, 15, false));
        check(u(Some(10), None, Some(15)), r(10, 5, 15, false));
        check(u(None, None, Some(15)), r(100, 50, 150, true));
    }

    #[test]
    fn estimates() {
        assert_eq!(estimate_text_tokens(""), 0);
        assert_eq!(estimate_text_tokens("abcd"), 1);
        assert_eq!(estimate_text_tokens("abcde"), 2);
        assert_eq!(estimate_text_tokens("日本語"), 3);
        let m = |c: &str| Message {
            role: Role::User,
            content: c.into(),
            name: None,
            tool_call_id: None,
        };
        assert_eq!(
            estimate_prompt_tokens(&[m("abcd"), m("日本")]),
            3 + (4 + 1) + (4 + 2)
        );
    }

    #[test]
    fn tally_does_not_depend_on_how_text_was_split() {
        let mut one = StreamTally::default();
        one.apply(&AiEvent::Token("abcdefgh".into()));
        let mut many = StreamTally::default();
        for c in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            many.apply(&AiEvent::Token(c.into()));
        }
        assert_eq!(one.report(0).completion, 2);
        assert_eq!(many.report(0).completion, 2);
        assert_eq!(many.token_events(), 8);
    }

    #[test]
    fn tally_takes_the_latest_usage_field_by_field() {
        let mut t = StreamTally::default();
        t.apply(&AiEvent::Token("hello".into()));
        t.apply(&AiEvent::Usage(Usage {
            prompt_tokens: Some(7),
            completion_tokens: None,
            total_tokens: None,
        }));
        assert_eq!(t.report(99), r(7, 2, 9, true));
        t.apply(&AiEvent::Usage(Usage {
            prompt_tokens: None,
            completion_tokens: Some(3),
            total_tokens: Some(10),
        }));
        assert_eq!(t.report(99), r(7, 3, 10, false));
    }

    #[test]
    fn attempts_add_up() {
        assert_eq!(
            r(1, 2, 3, false).plus(r(10, 20, 30, true)),
            r(11, 22, 33, true)
        );
    }
}
