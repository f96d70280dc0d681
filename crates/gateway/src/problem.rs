//! `Problem`: what a client is told about a request that failed, whatever the surface. Each
//! surface writes it in its own error format (`surface::*::error_body`).

use budget::Refusal;

/// A failed request as the client sees it: status, stable code, message, and what the code
/// is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// The request field (JSON path or parameter) the problem is about.
    pub field: Option<String>,
    /// The model a `model_not_allowed` / `model_not_found` is about.
    pub model: Option<String>,
    /// The byte limit a `payload_too_large` exceeded.
    pub limit_bytes: Option<u32>,
    /// The budget that refused a `budget_exceeded`, and its scope (`tenant`, `key`, `user`).
    pub budget: Option<(Refusal, &'static str)>,
}

impl Problem {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            model: None,
            limit_bytes: None,
            budget: None,
        }
    }

    /// OpenAI's (and Anthropic's) kind of error for this status.
    pub fn kind(&self) -> ProblemKind {
        match self.status {
            401 => ProblemKind::Authentication,
            403 => ProblemKind::Permission,
            404 => ProblemKind::NotFound,
            413 | 431 => ProblemKind::TooLarge,
            429 => ProblemKind::RateLimit,
            503 | 529 => ProblemKind::Overloaded,
            500.. => ProblemKind::Api,
            _ => ProblemKind::InvalidRequest,
        }
    }
}

/// The coarse kinds the OpenAI and Anthropic error formats name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    TooLarge,
    RateLimit,
    Api,
    Overloaded,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let kind = |s| Problem::new(s, "x", "m").kind();
        assert_eq!(kind(400), ProblemKind::InvalidRequest);
        assert_eq!(kind(415), ProblemKind::InvalidRequest);
        assert_eq!(kind(499), ProblemKind::InvalidRequest);
        assert_eq!(kind(401), ProblemKind::Authentication);
        assert_eq!(kind(403), ProblemKind::Permission);
        assert_eq!(kind(404), ProblemKind::NotFound);
        assert_eq!(kind(413), ProblemKind::TooLarge);
        assert_eq!(kind(431), ProblemKind::TooLarge);
        assert_eq!(kind(429), ProblemKind::RateLimit);
        assert_eq!(kind(500), ProblemKind::Api);
        assert_eq!(kind(502), ProblemKind::Api);
        assert_eq!(kind(504), ProblemKind::Api);
        assert_eq!(kind(503), ProblemKind::Overloaded);
    }
}
