//! `AnswerFold`: the one fold over a model's events. It assembles text and tool calls,
//! refines usage, and enforces the output cap: output past the cap is cut off, so a stream
//! never bills more than its reservation (docs/budgets.md).

use crate::conversation::ToolCall;
use crate::events::{FinishReason, ModelEvent, ToolCallDelta};
use crate::pricing::ModelPrice;
use crate::usage::{OutputEstimate, TokenReport, Usage};

/// A finished answer, for surfaces that answer with one JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub text: String,
    /// What the model reasoned before answering (surfaces that show reasoning use it).
    pub reasoning: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish: FinishReason,
    pub usage: TokenReport,
}

/// The fold. `cap` is the most output tokens the answer may have. With `cut`, output is
/// counted (estimated) as it arrives and cut off at the cap, for streams; without, whole
/// answers arrive complete and are billed as reported.
#[derive(Debug, Clone)]
pub struct AnswerFold {
    prompt_estimate: u64,
    cap: u64,
    cut: bool,
    text: String,
    reasoning: String,
    calls: Vec<ToolCall>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    estimate: OutputEstimate,
    capped: bool,
    output_seen: bool,
    /// The answering model's price (`None`: unpriced, the cost is unknown).
    price: Option<ModelPrice>,
}

impl AnswerFold {
    pub fn new(prompt_estimate: u64, cap: u64, cut: bool) -> Self {
        Self {
            prompt_estimate,
            cap,
            cut,
            text: String::new(),
            reasoning: String::new(),
            calls: Vec::new(),
            usage: None,
            finish: None,
            estimate: OutputEstimate::default(),
            capped: false,
            output_seen: false,
            price: None,
        }
    }

    /// The same fold, billing its tokens at `price` (`None`: the cost is unknown).
    pub fn priced(self, price: Option<ModelPrice>) -> Self {
        Self { price, ..self }
    }

    /// Counts `s` against the cap; returns how much of it may pass.
    fn count<'s>(&mut self, s: &'s str) -> &'s str {
        if self.capped {
            return "";
        }
        let cap = if self.cut { self.cap } else { u64::MAX };
        match self.estimate.add_capped(s, cap) {
            None => s,
            Some(cut) => {
                self.capped = true;
                &s[..cut]
            }
        }
    }

    /// Folds one event in and returns what the client may see of it: the event itself, text
    /// or reasoning cut at the cap, or `None` (usage, finish and anything after the cap).
    /// Reasoning counts against the cap; encoders that do not show it skip it.
    pub fn apply(&mut self, event: ModelEvent) -> Option<ModelEvent> {
        if self.capped {
            return None;
        }
        self.output_seen |= event.is_output();
        match event {
            ModelEvent::Text(t) => {
                let keep = self.count(&t).len();
                let t = if keep == t.len() {
                    t
                } else {
                    t[..keep].to_owned()
                };
                self.text.push_str(&t);
                (!t.is_empty()).then_some(ModelEvent::Text(t))
            }
            ModelEvent::Reasoning(t) => {
                let keep = self.count(&t).len();
                let t = if keep == t.len() {
                    t
                } else {
                    t[..keep].to_owned()
                };
                self.reasoning.push_str(&t);
                (!t.is_empty()).then_some(ModelEvent::Reasoning(t))
            }
            ModelEvent::ToolCall(d) => {
                let name = d.name.map(|n| self.count(&n).to_owned());
                let arguments = self.count(&d.arguments).to_owned();
                let d = ToolCallDelta {
                    name,
                    arguments,
                    ..d
                };
                d.apply_to(&mut self.calls);
                Some(ModelEvent::ToolCall(d))
            }
            ModelEvent::Usage(u) => {
                self.usage = Some(self.usage.unwrap_or_default().refine(u));
                None
            }
            ModelEvent::Finish(f) => {
                self.finish = Some(f);
                None
            }
            ModelEvent::Done => Some(ModelEvent::Done),
        }
    }

    /// Whether the cap cut the answer off: the stream must end now, with `Length`.
    pub fn capped(&self) -> bool {
        self.capped
    }

    /// Whether anything the client sees (text, a tool call, the end) has arrived.
    pub fn has_output(&self) -> bool {
        self.output_seen
    }

    /// Why the answer ended: the cap, the model's reason, a reported output count that
    /// reached the cap (models that do not say why they stopped), or tool calls / stop.
    pub fn finish_reason(&self) -> FinishReason {
        if self.capped {
            return FinishReason::Length;
        }
        if let Some(f) = self.finish {
            return f;
        }
        let reported = self.usage.and_then(|u| u.completion_tokens);
        if reported.is_some_and(|n| n >= self.cap) {
            FinishReason::Length
        } else if self.calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        }
    }

    /// The tokens to bill, with their cost: the model's report, estimates for what it did not
    /// report. A capped answer bills the estimate of what was kept (the model's own count, if
    /// any, covered output that was never relayed).
    pub fn report(&self) -> TokenReport {
        let completion = self.estimate.tokens();
        if self.capped {
            let prompt = self.usage.and_then(|u| u.prompt_tokens);
            let capped = TokenReport {
                prompt: prompt.unwrap_or(self.prompt_estimate),
                completion,
                total: prompt.unwrap_or(self.prompt_estimate) + completion,
                estimated: true,
                ..TokenReport::default()
            };
            return capped.priced(self.price);
        }
        TokenReport::from_usage(self.usage, self.prompt_estimate, completion).priced(self.price)
    }

    /// The whole answer (tool calls in index order; calls without an id are `call_<index>`).
    pub fn into_answer(self) -> Answer {
        let finish = self.finish_reason();
        let usage = self.report();
        Answer {
            text: self.text,
            reasoning: self.reasoning,
            tool_calls: self.calls,
            finish,
            usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> ModelEvent {
        ModelEvent::Text(s.into())
    }

    #[test]
    fn text_past_the_cap_is_cut_and_the_answer_ends_with_length() {
        let mut f = AnswerFold::new(10, 2, true);
        assert_eq!(f.apply(text("abcd")), Some(text("abcd")));
        assert_eq!(f.apply(text("efghij")), Some(text("efgh")));
        assert!(f.capped());
        assert_eq!(f.apply(text("more")), None);
        assert_eq!(f.apply(ModelEvent::Done), None);
        assert_eq!(f.finish_reason(), FinishReason::Length);
        let r = f.report();
        assert_eq!(
            (r.prompt, r.completion, r.total, r.estimated),
            (10, 2, 12, true)
        );
        assert_eq!(f.into_answer().text, "abcdefgh");
    }

    #[test]
    fn reported_usage_wins_when_not_capped() {
        let mut f = AnswerFold::new(10, 100, true);
        f.apply(text("hello"));
        f.apply(ModelEvent::Usage(Usage {
            prompt_tokens: Some(7),
            completion_tokens: Some(1),
            total_tokens: Some(8),
            cached_tokens: None,
        }));
        assert_eq!(f.apply(ModelEvent::Done), Some(ModelEvent::Done));
        let r = f.report();
        assert_eq!(
            (r.prompt, r.completion, r.total, r.estimated),
            (7, 1, 8, false)
        );
        assert_eq!(f.finish_reason(), FinishReason::Stop);
    }

    #[test]
    fn a_whole_answer_is_not_cut_but_a_reported_count_at_the_cap_means_length() {
        let mut f = AnswerFold::new(10, 3, false);
        assert_eq!(f.apply(text("a long answer")), Some(text("a long answer")));
        assert!(!f.capped());
        assert_eq!(f.finish_reason(), FinishReason::Stop);
        f.apply(ModelEvent::Usage(Usage {
            prompt_tokens: Some(5),
            completion_tokens: Some(3),
            total_tokens: Some(8),
            cached_tokens: None,
        }));
        assert_eq!(f.finish_reason(), FinishReason::Length);
        assert_eq!(f.report().total, 8);
    }

    #[test]
    fn tool_call_deltas_assemble_in_index_order() {
        let mut f = AnswerFold::new(0, 1000, false);
        let d = |index, id: Option<&str>, name: Option<&str>, args: &str| {
            ModelEvent::ToolCall(ToolCallDelta {
                index,
                id: id.map(Into::into),
                name: name.map(Into::into),
                arguments: args.into(),
            })
        };
        assert!(!f.has_output());
        f.apply(ModelEvent::Reasoning("hmm".into()));
        assert!(!f.has_output(), "reasoning is not output");
        f.apply(d(1, None, Some("g"), "{}"));
        f.apply(d(0, Some("c0"), Some("f"), "{\"x\""));
        f.apply(d(0, None, None, ":1}"));
        assert!(f.has_output());
        let a = f.into_answer();
        assert_eq!(a.finish, FinishReason::ToolCalls);
        assert_eq!(
            a.tool_calls,
            vec![
                ToolCall {
                    id: "c0".into(),
                    name: "f".into(),
                    arguments: "{\"x\":1}".into()
                },
                ToolCall {
                    id: "call_1".into(),
                    name: "g".into(),
                    arguments: "{}".into()
                },
            ]
        );
        // Reasoning is billed as output.
        assert_eq!(a.usage.completion, 1 + 2 + 1);
    }

    #[test]
    fn reasoning_counts_against_the_cap_and_is_kept() {
        let mut f = AnswerFold::new(0, 1, true);
        assert_eq!(
            f.apply(ModelEvent::Reasoning("thinking hard".into())),
            Some(ModelEvent::Reasoning("thin".into()))
        );
        assert!(f.capped());
        assert_eq!(f.report().completion, 1);
        assert_eq!(f.into_answer().reasoning, "thin");
    }

    #[test]
    fn the_cap_cuts_tool_call_names_and_arguments_too() {
        let mut f = AnswerFold::new(0, 3, true);
        let call = |name: Option<&str>, args: &str| {
            ModelEvent::ToolCall(ToolCallDelta {
                index: 0,
                id: Some("c".into()),
                name: name.map(Into::into),
                arguments: args.into(),
            })
        };
        // Counted as one text: "get" plus 9 characters of arguments are 12 ASCII, 3 tokens.
        let first = f.apply(call(Some("get"), "{\"a\":12345678}"));
        assert_eq!(first, Some(call(Some("get"), "{\"a\":1234")));
        assert!(f.capped());
        assert_eq!(f.apply(call(None, "more")), None);
        let a = f.into_answer();
        assert_eq!(a.tool_calls[0].arguments, "{\"a\":1234");
        assert_eq!(a.finish, FinishReason::Length);
    }

    #[test]
    fn a_priced_fold_bills_its_tokens_and_an_unpriced_one_is_unknown() {
        let price = ModelPrice {
            input: 1_000_000,
            output: 2_000_000,
            cached_input: None,
        };
        let mut f = AnswerFold::new(10, 100, true).priced(Some(price));
        f.apply(text("abcd"));
        let r = f.report();
        assert_eq!((r.prompt, r.completion), (10, 1));
        assert_eq!(r.cost, crate::usage::Cost::Known(10 + 2));
        let mut f = AnswerFold::new(10, 100, true);
        f.apply(text("abcd"));
        assert_eq!(f.report().cost, crate::usage::Cost::Unknown);
    }
}
