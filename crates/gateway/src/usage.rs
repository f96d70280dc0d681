//! Token usage: what the model reported (each field optional), estimation, and the fold over a stream.
//!
//! "Not reported" is not zero: `Usage` keeps every count optional. `TokenReport` is what the
//! gateway bills and returns: every count filled in, with `estimated: true` when any of them
//! had to be estimated.
//!
//! Estimation (documented in docs/streaming.md): a text costs one token per 4 ASCII
//! characters (rounded up) plus one token per non-ASCII character. This over-counts most
//! scripts a little, which is the safe side for budgets. A prompt costs the estimate of
//! everything sent (`Conversation::prompt_estimate`).

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::pricing::{usd, ModelPrice, Tokens};

/// Token counts as the model reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    /// Prompt tokens served from the provider's cache (`prompt_tokens_details.cached_tokens`).
    pub cached_tokens: Option<u64>,
}

impl Usage {
    /// Reads a `usage` object; `None` when it is absent, null or carries no count.
    pub fn from_json(v: &Value) -> Option<Self> {
        let count = |k: &str| v.get(k).and_then(Value::as_u64);
        let u = Self {
            prompt_tokens: count("prompt_tokens"),
            completion_tokens: count("completion_tokens"),
            total_tokens: count("total_tokens"),
            cached_tokens: v
                .pointer("/prompt_tokens_details/cached_tokens")
                .and_then(Value::as_u64),
        };
        (u != Self::default()).then_some(u)
    }

    /// Later reports refine earlier ones field by field.
    pub fn refine(self, later: Self) -> Self {
        Self {
            prompt_tokens: later.prompt_tokens.or(self.prompt_tokens),
            completion_tokens: later.completion_tokens.or(self.completion_tokens),
            total_tokens: later.total_tokens.or(self.total_tokens),
            cached_tokens: later.cached_tokens.or(self.cached_tokens),
        }
    }
}

/// What an answer cost: micro-dollars, or unknown because a model that took part has no price.
/// Nothing billed costs nothing (`Known(0)`); unknown is never shown as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    Known(u64),
    Unknown,
}

impl Default for Cost {
    fn default() -> Self {
        Self::Known(0)
    }
}

impl Cost {
    /// Micro-dollars, when known.
    pub fn micros(self) -> Option<u64> {
        match self {
            Self::Known(m) => Some(m),
            Self::Unknown => None,
        }
    }

    /// As `x-cost-usd` says it: dollars with 6 decimals, or `unknown`.
    pub fn header(self) -> String {
        self.micros().map_or_else(|| "unknown".into(), usd)
    }

    pub fn plus(self, o: Self) -> Self {
        match (self, o) {
            (Self::Known(a), Self::Known(b)) => Self::Known(a.saturating_add(b)),
            _ => Self::Unknown,
        }
    }
}

/// `costUsd`: a decimal string, or `null` when unknown.
fn cost_usd<S: Serializer>(cost: &Cost, s: S) -> Result<S::Ok, S::Error> {
    match cost.micros() {
        Some(m) => s.serialize_str(&usd(m)),
        None => s.serialize_none(),
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The counts the gateway bills and reports: always complete, flagged when estimated, with
/// what they cost (estimated counts give an estimated cost).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenReport {
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    pub estimated: bool,
    /// Prompt tokens the provider served from its cache (part of `prompt`).
    #[serde(skip_serializing_if = "is_zero")]
    pub cached: u64,
    #[serde(rename = "costUsd", serialize_with = "cost_usd")]
    pub cost: Cost,
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
            cached: u.cached_tokens.unwrap_or(0).min(prompt),
            cost: Cost::Known(0),
        }
    }

    /// The counts a price applies to.
    pub fn tokens(&self) -> Tokens {
        Tokens {
            prompt: self.prompt,
            cached: self.cached,
            completion: self.completion,
        }
    }

    /// The same counts with their cost at `price` (`Unknown` without a price).
    pub fn priced(self, price: Option<ModelPrice>) -> Self {
        Self {
            cost: price.map_or(Cost::Unknown, |p| Cost::Known(p.cost(self.tokens()))),
            ..self
        }
    }

    /// Adds another attempt's tokens and cost (every fallback attempt is billed).
    pub fn plus(self, other: Self) -> Self {
        Self {
            prompt: self.prompt + other.prompt,
            completion: self.completion + other.completion,
            total: self.total + other.total,
            estimated: self.estimated || other.estimated,
            cached: self.cached + other.cached,
            cost: self.cost.plus(other.cost),
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

/// The running estimate of output text, counted as if every piece had been one string (so
/// splitting cannot inflate it), with a cap: text past the cap is cut off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputEstimate {
    ascii: u64,
    other: u64,
}

impl OutputEstimate {
    pub fn tokens(&self) -> u64 {
        self.other + self.ascii.div_ceil(4)
    }

    /// Counts `text`; when counting all of it would pass `cap` tokens, counts only the
    /// longest prefix that fits and returns its length in bytes.
    pub fn add_capped(&mut self, text: &str, cap: u64) -> Option<usize> {
        for (i, c) in text.char_indices() {
            let (ascii, other) = if c.is_ascii() {
                (self.ascii + 1, self.other)
            } else {
                (self.ascii, self.other + 1)
            };
            if other + ascii.div_ceil(4) > cap {
                return Some(i);
            }
            (self.ascii, self.other) = (ascii, other);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            cached_tokens: None,
        })
    }

    fn r(prompt: u64, completion: u64, total: u64, estimated: bool) -> TokenReport {
        TokenReport {
            prompt,
            completion,
            total,
            estimated,
            ..TokenReport::default()
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
        // A reported total wins even when it is not the sum of the reported parts.
        check(u(Some(10), Some(5), Some(20)), r(10, 5, 20, false));
    }

    #[test]
    fn estimates() {
        assert_eq!(estimate_text_tokens(""), 0);
        assert_eq!(estimate_text_tokens("abcd"), 1);
        assert_eq!(estimate_text_tokens("abcde"), 2);
        assert_eq!(estimate_text_tokens("日本語"), 3);
    }

    #[test]
    fn the_output_estimate_does_not_depend_on_splitting_and_stops_at_the_cap() {
        let mut one = OutputEstimate::default();
        assert_eq!(one.add_capped("abcdefgh", 100), None);
        let mut many = OutputEstimate::default();
        for c in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            assert_eq!(many.add_capped(c, 100), None);
        }
        assert_eq!((one.tokens(), many.tokens()), (2, 2));
        // Cap 3: 12 ASCII chars fit, the 13th would make 4 tokens.
        let mut e = OutputEstimate::default();
        assert_eq!(e.add_capped("abcdefghij", 3), None);
        assert_eq!(e.add_capped("klmnop", 3), Some(2));
        assert_eq!(e.tokens(), 3);
        // Non-ASCII counts one each.
        let mut e = OutputEstimate::default();
        assert_eq!(e.add_capped("日本語", 2), Some("日本".len()));
        assert_eq!(e.tokens(), 2);
    }

    #[test]
    fn attempts_add_up() {
        assert_eq!(
            r(1, 2, 3, false).plus(r(10, 20, 30, true)),
            r(11, 22, 33, true)
        );
        let price = ModelPrice {
            input: 1_000_000,
            output: 2_000_000,
            cached_input: None,
        };
        let a = r(1, 2, 3, false).priced(Some(price));
        assert_eq!(a.cost, Cost::Known(5));
        assert_eq!(
            a.plus(r(10, 0, 10, false).priced(Some(price))).cost,
            Cost::Known(15)
        );
        // One unpriced attempt makes the whole cost unknown, never zero.
        assert_eq!(a.plus(r(1, 1, 2, false).priced(None)).cost, Cost::Unknown);
        assert_eq!(r(0, 0, 0, false).priced(None).plus(a).cost, Cost::Unknown);
        let cached = |n| TokenReport {
            cached: n,
            ..r(10, 1, 11, false)
        };
        assert_eq!(cached(2).plus(cached(3)).cached, 5);
        // Nothing billed costs nothing.
        assert_eq!(TokenReport::default().plus(a).cost, Cost::Known(5));
    }

    #[test]
    fn cached_tokens_are_read_and_capped_at_the_prompt() {
        let v = serde_json::json!({"prompt_tokens": 10, "completion_tokens": 2,
            "prompt_tokens_details": {"cached_tokens": 4}});
        let u = Usage::from_json(&v).unwrap();
        assert_eq!(u.cached_tokens, Some(4));
        assert_eq!(TokenReport::from_usage(Some(u), 0, 0).cached, 4);
        let over = Usage {
            cached_tokens: Some(40),
            ..u
        };
        assert_eq!(TokenReport::from_usage(Some(over), 0, 0).cached, 10);
        assert_eq!(u.refine(Usage::default()).cached_tokens, Some(4));
        assert_eq!(Usage::default().refine(u).cached_tokens, Some(4));
    }

    #[test]
    fn costs_serialize_as_decimal_strings_or_null() {
        let mut t = r(1, 2, 3, true);
        t.cost = Cost::Known(1234);
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            serde_json::json!({"prompt":1,"completion":2,"total":3,"estimated":true,"costUsd":"0.001234"})
        );
        t.cost = Cost::Unknown;
        t.cached = 1;
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            serde_json::json!({"prompt":1,"completion":2,"total":3,"estimated":true,"cached":1,"costUsd":null})
        );
        assert_eq!(Cost::Known(5_000_000).header(), "5.000000");
        assert_eq!(Cost::Unknown.header(), "unknown");
    }
}
