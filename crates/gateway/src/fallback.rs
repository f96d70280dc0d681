//! The record of a request's model attempts, and what the client hears when all of them fail.

use serde::Serialize;

/// How one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttemptFailure {
    /// No first token within the tenant's `attemptTimeoutMs`.
    Timeout { after_ms: u64 },
    /// The AI rejected the call or its stream failed before the first token.
    Upstream { message: String },
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
    pub fn record(&mut self, model: &str, failure: AttemptFailure) {
        self.0.push(Attempt {
            model: model.to_string(),
            failure,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All attempts failed by timing out: the answer is 504, otherwise 502.
    pub fn all_timed_out(&self) -> bool {
        !self.0.is_empty()
            && self
                .0
                .iter()
                .all(|a| matches!(a.failure, AttemptFailure::Timeout { .. }))
    }

    /// A client-safe summary: which models were tried and how each failed, no upstream text.
    pub fn client_summary(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|a| match a.failure {
                AttemptFailure::Timeout { after_ms } => {
                    format!("{} (timed out after {after_ms} ms)", a.model)
                }
                AttemptFailure::Upstream { .. } => format!("{} (upstream error)", a.model),
            })
            .collect();
        format!("every model failed: {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_status_choice() {
        let mut a = Attempts::default();
        assert!(!a.all_timed_out());
        a.record("m1", AttemptFailure::Timeout { after_ms: 100 });
        assert!(a.all_timed_out());
        a.record(
            "m2",
            AttemptFailure::Upstream {
                message: "3040: out of capacity".into(),
            },
        );
        assert!(!a.all_timed_out());
        assert_eq!(
            a.client_summary(),
            "every model failed: m1 (timed out after 100 ms), m2 (upstream error)"
        );
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!([{"model":"m1","kind":"timeout","after_ms":100},{"model":"m2","kind":"upstream","message":"3040: out of capacity"}])
        );
    }
}
