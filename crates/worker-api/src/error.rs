//! `ApiError`, the one error enum of the worker, and the one place errors become responses.

use gateway::fallback::Attempts;
use gateway::ConfigError;
use serde_json::{json, Map, Value};

/// Everything a request can fail with, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no route for {path}")]
    NotFound { path: String },
    #[error("method {method} is not allowed on {path}; allowed: {allow}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: &'static str,
    },
    #[error(
        "the tenant configuration is invalid; the worker log has the details under this trace id"
    )]
    Config(ConfigError),
    #[error("{0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidRequest {
        field: Option<String>,
        message: String,
    },
    #[error("request body is {size} bytes; this tenant accepts at most {limit}")]
    PayloadTooLarge { size: u64, limit: u32 },
    #[error("content-type must be application/json, got `{got}`")]
    UnsupportedMediaType { got: String },
    #[error("origin `{origin}` is not allowed for this tenant")]
    OriginNotAllowed { origin: String },
    #[error("model `{model}` is not allowed for this tenant")]
    ModelNotAllowed { model: String },
    #[error("{}", attempts.client_summary())]
    AllModelsFailed { attempts: Attempts },
    #[error("token budget exceeded: the {} limit is {} tokens, {} are used or held, this request needs {}; it resets at {}",
        refusal.window, refusal.limit, refusal.used, refusal.requested, refusal.resets_at)]
    BudgetExceeded { refusal: budget::Refusal },
    #[error("the budget store is unavailable; try again shortly")]
    BudgetStore(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// HTTP status and stable error code. Exhaustive: a new variant must choose both.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            Self::NotFound { .. } => (404, "not_found"),
            Self::MethodNotAllowed { .. } => (405, "method_not_allowed"),
            Self::Config(_) => (500, "config_error"),
            Self::InvalidJson(_) => (400, "invalid_json"),
            Self::InvalidRequest { .. } => (400, "invalid_request"),
            Self::PayloadTooLarge { .. } => (413, "payload_too_large"),
            Self::UnsupportedMediaType { .. } => (415, "unsupported_media_type"),
            Self::OriginNotAllowed { .. } => (403, "origin_not_allowed"),
            Self::ModelNotAllowed { .. } => (403, "model_not_allowed"),
            Self::AllModelsFailed { attempts } if attempts.all_timed_out() => (504, "ai_timeout"),
            Self::AllModelsFailed { .. } => (502, "ai_error"),
            Self::BudgetExceeded { .. } => (429, "budget_exceeded"),
            Self::BudgetStore(_) => (503, "budget_unavailable"),
            Self::Internal(_) => (500, "internal_error"),
        }
    }

    /// Operator detail for the log line; never sent to the client.
    pub fn log_detail(&self) -> Option<String> {
        match self {
            Self::Config(e) => Some(e.to_string()),
            Self::AllModelsFailed { attempts } => serde_json::to_string(attempts).ok(),
            Self::BudgetStore(m) | Self::Internal(m) => Some(m.clone()),
            _ => None,
        }
    }

    /// The JSON error body: `{ "error": { code, message, traceId, ... } }`.
    pub fn body(&self, trace_id: &str) -> Value {
        let (_, code) = self.status_and_code();
        let mut e = Map::new();
        e.insert("code".into(), code.into());
        e.insert("message".into(), self.to_string().into());
        e.insert("traceId".into(), trace_id.into());
        match self {
            Self::InvalidRequest { field: Some(f), .. } => {
                e.insert("field".into(), f.clone().into());
            }
            Self::ModelNotAllowed { model } => {
                e.insert("model".into(), model.clone().into());
            }
            Self::PayloadTooLarge { limit, .. } => {
                e.insert("limitBytes".into(), (*limit).into());
            }
            Self::BudgetExceeded { refusal } => {
                e.insert("budget".into(), json!(refusal));
            }
            _ => {}
        }
        json!({ "error": e })
    }
}

impl From<gateway::Error> for ApiError {
    fn from(e: gateway::Error) -> Self {
        match e {
            gateway::Error::Config(c) => Self::Config(c),
            gateway::Error::InvalidJson { message } => Self::InvalidJson(message),
            gateway::Error::InvalidRequest { field, message } => {
                Self::InvalidRequest { field, message }
            }
            gateway::Error::ModelNotAllowed { model } => Self::ModelNotAllowed { model },
            gateway::Error::Decode(d) => Self::Internal(d.to_string()),
        }
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        Self::Internal(e.to_string())
    }
}
