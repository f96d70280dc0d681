//! The attempt state machine: which model to call next, when a model is committed, and what
//! each failure means. The worker's loop feeds it what happened and does what it decides.
//!
//! Policy (docs/ai-gateway-fallbacks.md): a model is committed once its first output reaches
//! the client; before that, a retryable failure (timeout, capacity, rate limit, 5xx, network,
//! a broken stream) moves to the next model, and a terminal one (no such model, input too
//! large or invalid, AI binding unavailable) ends the request with its own client error.
//! After the commit a failure ends the stream with an error; the model never changes.

use serde::Serialize;

use crate::sse::DecodeError;

/// What kind of failure an attempt ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    Timeout,
    Capacity,
    RateLimited,
    ServerError,
    Network,
    /// The answer could not be decoded (malformed, truncated, not UTF-8).
    Malformed,
    /// The provider's credentials could not be obtained (token endpoint failed) or were refused.
    AuthFailed,
    ModelNotFound,
    InputTooLarge,
    InvalidInput,
    /// The AI binding cannot run here (e.g. `wrangler dev --local`).
    Unavailable,
}

impl FailureKind {
    /// Whether another model may succeed where this one failed.
    pub fn retryable(self) -> bool {
        !matches!(
            self,
            Self::ModelNotFound | Self::InputTooLarge | Self::InvalidInput | Self::Unavailable
        )
    }

    /// Reads a provider's error: Workers AI's `"<code>: <description>"` (after an optional
    /// `InferenceUpstreamError: `), an HTTP status (`"HTTP 429: ..."`, where a Workers AI code
    /// in the message wins over the status), or the binding's own words.
    pub fn classify(message: &str) -> Self {
        let m = message.trim();
        if m.contains("run remotely") {
            return Self::Unavailable;
        }
        let m = m
            .strip_prefix("InferenceUpstreamError:")
            .unwrap_or(m)
            .trim_start();
        if let Some(rest) = m.strip_prefix("HTTP ") {
            let inner = rest.split_once(": ").map(|(_, r)| r);
            if let Some(kind) = inner.and_then(leading_number).and_then(Self::from_code) {
                return kind;
            }
            return match leading_number(rest) {
                Some(401 | 403) => Self::AuthFailed,
                Some(404) => Self::ModelNotFound,
                Some(413) => Self::InputTooLarge,
                Some(400 | 422) => Self::InvalidInput,
                Some(429) => Self::RateLimited,
                Some(408 | 504) => Self::Timeout,
                _ => Self::ServerError,
            };
        }
        match leading_number(m) {
            Some(code) => Self::from_code(code).unwrap_or(Self::ServerError),
            None if m.contains("network") || m.contains("connection") || m.contains("fetch") => {
                Self::Network
            }
            None => Self::ServerError,
        }
    }

    /// A Workers AI error code (developers.cloudflare.com/workers-ai/platform/errors).
    fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            5007 | 3042 => Self::ModelNotFound,
            3006 => Self::InputTooLarge,
            3003 | 3010 | 5006 => Self::InvalidInput,
            3040 => Self::Capacity,
            3036 | 429 => Self::RateLimited,
            3007 | 3008 | 408 => Self::Timeout,
            3043 => Self::Network,
            1000..=9999 => Self::ServerError,
            _ => return None,
        })
    }
}

/// The number a message starts with, when it is followed by `:` or a space.
fn leading_number(s: &str) -> Option<u32> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = s.as_bytes().get(digits);
    (digits > 0 && matches!(rest, Some(b':' | b' ') | None))
        .then(|| s[..digits].parse().ok())
        .flatten()
}

/// How one attempt failed; `detail` is for the log (never model text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptFailure {
    pub kind: FailureKind,
    pub detail: String,
}

impl AttemptFailure {
    pub fn timeout(after_ms: u64) -> Self {
        Self {
            kind: FailureKind::Timeout,
            detail: format!("no output within {after_ms} ms"),
        }
    }

    /// The provider's credentials could not be had or were refused.
    pub fn auth(detail: &str) -> Self {
        Self {
            kind: FailureKind::AuthFailed,
            detail: detail.chars().take(200).collect(),
        }
    }

    /// A provider's error message, classified and shortened.
    pub fn from_message(message: &str) -> Self {
        Self {
            kind: FailureKind::classify(message),
            detail: message.chars().take(200).collect(),
        }
    }

    pub fn from_decode(e: &DecodeError) -> Self {
        match e {
            DecodeError::Upstream { message } => Self::from_message(message),
            DecodeError::Truncated => Self {
                kind: FailureKind::Network,
                detail: e.to_string(),
            },
            _ => Self {
                kind: FailureKind::Malformed,
                detail: e.to_string(),
            },
        }
    }
}

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub model: String,
    #[serde(flatten)]
    pub failure: AttemptFailure,
}

/// Every failed attempt of one request, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Attempts(pub Vec<Attempt>);

impl Attempts {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn record(&mut self, model: &str, failure: AttemptFailure) {
        self.0.push(Attempt {
            model: model.to_string(),
            failure,
        });
    }

    /// Which models were tried and how each failed, in words a client may read.
    pub fn client_summary(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|a| format!("{} ({})", a.model, client_words(a.failure.kind)))
            .collect();
        format!("every model failed: {}", parts.join(", "))
    }
}

fn client_words(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Timeout => "timed out",
        FailureKind::Capacity => "out of capacity",
        FailureKind::RateLimited => "rate limited",
        FailureKind::Network => "connection failed",
        FailureKind::Malformed => "unreadable answer",
        FailureKind::ModelNotFound => "no such model",
        FailureKind::InputTooLarge => "input too large",
        FailureKind::InvalidInput => "input rejected",
        FailureKind::Unavailable => "AI binding unavailable",
        FailureKind::AuthFailed => "provider authentication failed",
        FailureKind::ServerError => "upstream error",
    }
}

/// Why a request got no answer at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFailure {
    pub attempts: Attempts,
    /// The terminal failure that stopped the chain early, if one did.
    pub terminal: Option<FailureKind>,
}

impl ChainFailure {
    /// HTTP status and stable error code.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self.terminal {
            Some(FailureKind::ModelNotFound) => (404, "model_not_found"),
            Some(FailureKind::InputTooLarge) => (413, "input_too_large"),
            Some(FailureKind::InvalidInput) => (400, "model_rejected_input"),
            Some(FailureKind::Unavailable) => (503, "ai_unavailable"),
            _ if self.all_timed_out() => (504, "ai_timeout"),
            _ if self.ended_on(FailureKind::AuthFailed) => (502, "upstream_auth_failed"),
            _ => (502, "ai_error"),
        }
    }

    fn ended_on(&self, kind: FailureKind) -> bool {
        self.attempts
            .0
            .last()
            .is_some_and(|a| a.failure.kind == kind)
    }

    fn all_timed_out(&self) -> bool {
        !self.attempts.is_empty()
            && self
                .attempts
                .0
                .iter()
                .all(|a| a.failure.kind == FailureKind::Timeout)
    }

    /// The message the client reads.
    pub fn client_message(&self) -> String {
        let model = self.attempts.0.last().map_or("", |a| a.model.as_str());
        match self.terminal {
            Some(FailureKind::ModelNotFound) => format!("the model `{model}` does not exist"),
            Some(FailureKind::InputTooLarge) => format!("the input is too large for `{model}`"),
            Some(FailureKind::InvalidInput) => format!("`{model}` rejected the input as invalid"),
            _ if self.ended_on(FailureKind::AuthFailed) => {
                let provider = model.split_once('/').map_or(model, |(p, _)| p);
                format!(
                    "provider `{provider}` could not be authenticated (its token endpoint failed or refused \
                     the gateway's credentials); {}",
                    self.attempts.client_summary()
                )
            }
            Some(FailureKind::Unavailable) => "the Workers AI binding is not available here: it only runs \
                remotely (`wrangler login` and `wrangler dev` without --local); for offline work run \
                `bash scripts/dev.sh`, which binds a local stand-in"
                .to_string(),
            _ => self.attempts.client_summary(),
        }
    }
}

/// What the loop feeds the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The current attempt failed (before or after its first output).
    Failed(AttemptFailure),
    /// The current attempt's first output is about to reach the client.
    FirstOutput,
}

/// What the machine tells the loop to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Call this model.
    Call(String),
    /// Relay this model's answer; it is the only one from now on.
    Commit { model: String, fallback: bool },
    /// No model answered.
    GiveUp(ChainFailure),
    /// The committed model failed: end the stream with this error code.
    EndStream { code: &'static str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Trying,
    Committed,
    Over,
}

/// The attempts of one request over its model chain (primary first).
#[derive(Debug, Clone)]
pub struct AttemptPlan {
    chain: Vec<String>,
    current: usize,
    attempts: Attempts,
    phase: Phase,
}

impl AttemptPlan {
    pub fn new(chain: Vec<String>) -> Self {
        Self {
            chain,
            current: 0,
            attempts: Attempts::default(),
            phase: Phase::Trying,
        }
    }

    /// The first decision: call the primary.
    pub fn start(&mut self) -> Decision {
        match self.chain.first() {
            Some(m) => Decision::Call(m.clone()),
            None => self.give_up(None),
        }
    }

    /// The failed attempts so far.
    pub fn attempts(&self) -> &Attempts {
        &self.attempts
    }

    fn give_up(&mut self, terminal: Option<FailureKind>) -> Decision {
        self.phase = Phase::Over;
        Decision::GiveUp(ChainFailure {
            attempts: self.attempts.clone(),
            terminal,
        })
    }

    pub fn on(&mut self, input: Input) -> Decision {
        let model = self.chain.get(self.current).cloned().unwrap_or_default();
        match (self.phase, input) {
            (Phase::Trying, Input::FirstOutput) => {
                self.phase = Phase::Committed;
                Decision::Commit {
                    model,
                    fallback: self.current > 0,
                }
            }
            (Phase::Trying, Input::Failed(f)) => {
                let kind = f.kind;
                self.attempts.record(&model, f);
                // A missing fallback model is the tenant's config problem, not the client's:
                // only the model the request resolved to ends the chain with 404.
                let terminal =
                    !kind.retryable() && (kind != FailureKind::ModelNotFound || self.current == 0);
                if terminal {
                    return self.give_up(Some(kind));
                }
                self.current += 1;
                match self.chain.get(self.current) {
                    Some(next) => Decision::Call(next.clone()),
                    None => self.give_up(None),
                }
            }
            (Phase::Committed, Input::Failed(f)) => {
                self.phase = Phase::Over;
                let code = if f.kind == FailureKind::Timeout {
                    "ai_timeout"
                } else {
                    "ai_error"
                };
                self.attempts.record(&model, f);
                Decision::EndStream { code }
            }
            (Phase::Committed, Input::FirstOutput) => Decision::Commit {
                model,
                fallback: self.current > 0,
            },
            // Nothing may happen after the end: it stays over.
            (Phase::Over, _) => self.give_up(None),
        }
    }
}

#[cfg(test)]
#[path = "attempt_tests.rs"]
mod tests;
