//! The one error enum of the `gateway` crate, and the config error it carries.

use std::fmt;

/// A broken tenant config: where it came from, the field path, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub source: String,
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(source: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            source: source.to_string(),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}: {}: {}", self.source, self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Everything the gateway's pure logic can refuse or fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The request body is not JSON at all.
    #[error("{message}")]
    InvalidJson { message: String },
    /// The client's request is malformed; `field` is its JSON path when one is known.
    #[error("{message}")]
    InvalidRequest {
        field: Option<String>,
        message: String,
    },
    /// A parameter the gateway cannot honour (it would change the answer).
    #[error("{message}")]
    UnsupportedParameter { param: String, message: String },
    /// Content parts no provider supports yet (images, audio, files).
    #[error("{message}")]
    UnsupportedContent { field: String, message: String },
    /// The resolved model is outside the tenant's non-empty allow-list.
    #[error("model `{model}` is not allowed for this tenant")]
    ModelNotAllowed { model: String },
    /// The AI's stream or response could not be understood.
    #[error("{0}")]
    Decode(#[from] crate::sse::DecodeError),
}
