//! `ApiError`, the one error enum of the worker: its status, stable code and log detail, and the `Problem` each surface renders in its own error body.

use gateway::attempt::ChainFailure;
use gateway::problem::Problem;
use gateway::ConfigError;

/// Everything a request can fail with, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no route for {}", gateway::route::log_name(None, path))]
    NotFound { path: String },
    #[error("method {method} is not allowed on {path}; allowed: {allow}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: String,
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
    #[error("{message}")]
    UnsupportedParameter { param: String, message: String },
    #[error("{message}")]
    UnsupportedContent { field: String, message: String },
    #[error("request body is {size} bytes; this tenant accepts at most {limit}")]
    PayloadTooLarge { size: u64, limit: u32 },
    #[error("content-type must be application/json, got `{got}`")]
    UnsupportedMediaType { got: String },
    #[error("origin `{origin}` is not allowed for this tenant")]
    OriginNotAllowed { origin: String },
    #[error("model `{model}` is not allowed for this tenant")]
    ModelNotAllowed { model: String },
    #[error("the model `{model}` is not available to this tenant")]
    ModelNotListed { model: String },
    #[error("{}", failure.client_message())]
    AllModelsFailed { failure: ChainFailure },
    #[error("the AI binding is missing: add [ai] binding = \"AI\" to wrangler.toml")]
    AiMissing(String),
    #[error("{}", gateway::budgets::refusal_message(refusal, scope))]
    BudgetExceeded {
        refusal: budget::Refusal,
        /// Which budget refused: `tenant`, `key` or `user`.
        scope: &'static str,
    },
    #[error("the model `{model}` has no price and a cost budget applies to this request: pick a priced model, or the operator adds its price to the tenant's pricing table")]
    ModelUnpriced { model: String },
    #[error("a valid API key or end-user token is required")]
    Unauthorized(gateway::credential::AuthFailure),
    #[error("the credential is {size} bytes; at most 8192 are accepted")]
    CredentialTooLarge { size: usize },
    #[error("too many failed authentications from this address (at most {limit} a minute); try again in a minute")]
    AuthThrottled { limit: u32 },
    #[error("this credential does not have the `{scope}` scope")]
    InsufficientScope { scope: &'static str },
    #[error("credentials are not accepted in the query string (`{param}`): send `Authorization: Bearer <key>` or `x-api-key`")]
    CredentialsInQuery { param: String },
    #[error("too many requests: at most {limit} per minute for this caller")]
    RateLimited { limit: u32 },
    #[error("the key store is unavailable; try again shortly")]
    AuthStore(String),
    #[error("no session `{id}` for this caller")]
    SessionNotFound { id: String },
    #[error("the session store is unavailable; try again shortly")]
    SessionStore(String),
    #[error("usage history is off: this worker has no USAGE_HISTORY Durable Object binding (docs/usage.md)")]
    HistoryOff,
    #[error("the usage history store is unavailable; try again shortly")]
    HistoryStore(String),
    #[error("the budget store is unavailable; try again shortly")]
    BudgetStore(String),
    #[error("the client closed the connection before its request body arrived")]
    ClientClosed(String),
    #[error("no knowledge base `{kb}` in this tenant")]
    KnowledgeBaseNotFound { kb: String },
    #[error("no knowledge base `{kb}` in this tenant (`knowledge` must name one of the tenant's knowledge bases)")]
    UnknownKnowledge { kb: String },
    #[error("{0}")]
    Document(knowledge::KnowledgeError),
    #[error("the document is {size} bytes; this knowledge base accepts at most {limit}")]
    DocumentTooLarge { size: u64, limit: u32 },
    #[error("no document `{doc_id}` in this knowledge base")]
    DocumentNotFound { doc_id: String },
    #[error("the knowledge base is unavailable; try again shortly (the log has details under this trace id)")]
    KnowledgeUnavailable(String),
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
            Self::UnsupportedParameter { .. } => (400, "unsupported_parameter"),
            Self::UnsupportedContent { .. } => (400, "unsupported_content"),
            Self::PayloadTooLarge { .. } => (413, "payload_too_large"),
            Self::UnsupportedMediaType { .. } => (415, "unsupported_media_type"),
            Self::OriginNotAllowed { .. } => (403, "origin_not_allowed"),
            Self::ModelNotAllowed { .. } => (403, "model_not_allowed"),
            Self::ModelNotListed { .. } => (404, "model_not_found"),
            Self::AllModelsFailed { failure } => failure.status_and_code(),
            Self::AiMissing(_) => (503, "ai_unavailable"),
            Self::BudgetExceeded { .. } => (429, "budget_exceeded"),
            Self::ModelUnpriced { .. } => (400, "model_unpriced"),
            Self::Unauthorized(_) => (401, "unauthorized"),
            Self::CredentialTooLarge { .. } => (431, "credential_too_large"),
            Self::AuthThrottled { .. } => (429, "rate_limited"),
            Self::InsufficientScope { .. } => (403, "insufficient_scope"),
            Self::CredentialsInQuery { .. } => (400, "credentials_in_query"),
            Self::RateLimited { .. } => (429, "rate_limited"),
            Self::AuthStore(_) => (503, "auth_unavailable"),
            Self::SessionNotFound { .. } => (404, "session_not_found"),
            Self::SessionStore(_) => (503, "session_unavailable"),
            Self::BudgetStore(_) => (503, "budget_unavailable"),
            Self::HistoryOff => (501, "history_off"),
            Self::HistoryStore(_) => (503, "history_unavailable"),
            Self::ClientClosed(_) => (499, "client_closed"),
            Self::KnowledgeBaseNotFound { .. } => (404, "unknown_knowledge_base"),
            Self::UnknownKnowledge { .. } => (400, "unknown_knowledge_base"),
            Self::Document(e) => document_error(e),
            Self::DocumentTooLarge { .. } => (413, "document_too_large"),
            Self::DocumentNotFound { .. } => (404, "document_not_found"),
            Self::KnowledgeUnavailable(_) => (503, "knowledge_unavailable"),
            Self::Internal(_) => (500, "internal_error"),
        }
    }

    /// Operator detail for the log line; never sent to the client, never model text.
    pub fn log_detail(&self) -> Option<String> {
        match self {
            Self::Config(e) => Some(e.to_string()),
            Self::AllModelsFailed { failure } => serde_json::to_string(&failure.attempts).ok(),
            Self::BudgetStore(m)
            | Self::HistoryStore(m)
            | Self::Internal(m)
            | Self::KnowledgeUnavailable(m)
            | Self::AiMissing(m)
            | Self::ClientClosed(m) => Some(m.clone()),
            _ => None,
        }
    }

    /// What the client is told, for the surface's error format to write.
    pub fn problem(&self) -> Problem {
        let (status, code) = self.status_and_code();
        let mut p = Problem::new(status, code, self.to_string());
        match self {
            Self::InvalidRequest { field, .. } => p.field.clone_from(field),
            Self::UnsupportedParameter { param: f, .. }
            | Self::UnsupportedContent { field: f, .. }
            | Self::CredentialsInQuery { param: f } => p.field = Some(f.clone()),
            Self::ModelNotAllowed { model }
            | Self::ModelNotListed { model }
            | Self::ModelUnpriced { model } => {
                p.model = Some(model.clone());
            }
            Self::PayloadTooLarge { limit, .. } | Self::DocumentTooLarge { limit, .. } => {
                p.limit_bytes = Some(*limit);
            }
            Self::Document(e) => p.field = document_field(e).map(str::to_string),
            Self::BudgetExceeded { refusal, scope } => p.budget = Some((refusal.clone(), scope)),
            _ => {}
        }
        p
    }
}

/// The status and code of a document the knowledge logic refused: its own code for what is
/// wrong with the document, the API's usual `invalid_request` (naming the field) for a bad
/// id or option.
fn document_error(e: &knowledge::KnowledgeError) -> (u16, &'static str) {
    use knowledge::KnowledgeError as K;
    match e {
        K::UnsupportedMediaType { .. } => (415, "unsupported_media_type"),
        K::BinaryDocument => (422, "binary_document"),
        K::InvalidUtf8 { .. } => (422, "invalid_utf8"),
        K::EmptyDocument => (422, "empty_document"),
        K::TooManyChunks { .. } => (413, "too_many_chunks"),
        K::InvalidChunkSpec { .. } => (500, "config_error"),
        K::InvalidDocId { .. }
        | K::InvalidKbName { .. }
        | K::InvalidGroup { .. }
        | K::InvalidAudience { .. }
        | K::InvalidField { .. } => (400, "invalid_request"),
    }
}

/// The request field a refused document's error is about.
fn document_field(e: &knowledge::KnowledgeError) -> Option<&'static str> {
    use knowledge::KnowledgeError as K;
    match e {
        K::InvalidDocId { .. } => Some("docId"),
        K::InvalidGroup { .. } | K::InvalidAudience { .. } => Some("audience"),
        K::InvalidField { field, .. } => Some(field),
        _ => None,
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
            gateway::Error::UnsupportedParameter { param, message } => {
                Self::UnsupportedParameter { param, message }
            }
            gateway::Error::UnsupportedContent { field, message } => {
                Self::UnsupportedContent { field, message }
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
