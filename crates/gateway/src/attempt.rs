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

    /// Reads the Workers AI binding's error: `"<code>: <description>"` (after an optional
    /// `InferenceUpstreamError: `), or the runtime's own words (a binding that only runs
    /// remotely, a failed fetch). The binding reports failures only as such text.
    pub fn from_binding_message(message: &str) -> Self {
        let m = message.trim();
        if m.contains("run remotely") {
            return Self::Unavailable;
        }
        let m = m
            .strip_prefix("InferenceUpstreamError:")
            .unwrap_or(m)
            .trim_start();
        match leading_number(m) {
            Some(code) => Self::from_code(code).unwrap_or(Self::ServerError),
            None if m.contains("network") || m.contains("connection") || m.contains("fetch") => {
                Self::Network
            }
            None => Self::ServerError,
        }
    }

    /// An HTTP answer's status, unless its error carries a Workers AI code, which wins.
    pub fn from_http(status: u16, code: Option<&str>) -> Self {
        if let Some(kind) = code.and_then(leading_number).and_then(Self::from_code) {
            return kind;
        }
        match status {
            401 | 403 => Self::AuthFailed,
            404 => Self::ModelNotFound,
            413 => Self::InputTooLarge,
            400 | 422 => Self::InvalidInput,
            429 => Self::RateLimited,
            408 | 504 => Self::Timeout,
            _ => Self::ServerError,
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

/// The number a message starts with, when it is followed by `:` or a space or nothing.
fn leading_number(s: &str) -> Option<u32> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = s.as_bytes().get(digits);
    (digits > 0 && matches!(rest, Some(b':' | b' ') | None))
        .then(|| s[..digits].parse().ok())
        .flatten()
}

/// How one attempt failed, as a value made where it happened: the kind, what the provider
/// answered (status, error code, `Retry-After`), and a short detail for the log (never model
/// text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptFailure {
    pub kind: FailureKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    pub detail: String,
}

impl AttemptFailure {
    /// A failure of `kind` with a detail for the log.
    pub fn of_kind(kind: FailureKind, detail: &str) -> Self {
        Self {
            kind,
            status: None,
            code: None,
            retry_after_s: None,
            detail: detail.chars().take(200).collect(),
        }
    }

    pub fn timeout(after_ms: u64) -> Self {
        Self::of_kind(
            FailureKind::Timeout,
            &format!("no output within {after_ms} ms"),
        )
    }

    /// The provider's credentials could not be had or were refused.
    pub fn auth(detail: &str) -> Self {
        Self::of_kind(FailureKind::AuthFailed, detail)
    }

    /// No answer at all (DNS, connection, TLS, a stream that broke).
    pub fn network(detail: &str) -> Self {
        Self::of_kind(FailureKind::Network, detail)
    }

    /// An answer that could not be read.
    pub fn malformed(detail: &str) -> Self {
        Self::of_kind(FailureKind::Malformed, detail)
    }

    /// What the Workers AI binding threw (its error text is all it gives).
    pub fn from_binding(message: &str) -> Self {
        let kind = FailureKind::from_binding_message(message);
        let m = message.trim();
        let m = m
            .strip_prefix("InferenceUpstreamError:")
            .unwrap_or(m)
            .trim_start();
        let code = leading_number(m).map(|c| c.to_string());
        Self {
            code,
            ..Self::of_kind(kind, message)
        }
    }

    /// An HTTP answer with an error status; `code` is the provider's error code (a Workers AI
    /// code, or OpenAI's `error.code` / `error.type`), never its message.
    pub fn http(status: u16, code: Option<String>, retry_after_s: Option<u64>) -> Self {
        let kind = FailureKind::from_http(status, code.as_deref());
        let mut detail = format!("HTTP {status}");
        if let Some(c) = &code {
            detail.push_str(&format!(" ({c})"));
        }
        if let Some(s) = retry_after_s {
            detail.push_str(&format!(", retry after {s} s"));
        }
        Self {
            status: Some(status),
            code,
            retry_after_s,
            ..Self::of_kind(kind, &detail)
        }
    }

    pub fn from_decode(e: &DecodeError) -> Self {
        match e {
            DecodeError::Upstream { message } => Self::from_binding(message),
            DecodeError::Truncated => Self::network(&e.to_string()),
            _ => Self::malformed(&e.to_string()),
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
