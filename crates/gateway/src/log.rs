//! The one structured log line written per request. It never holds prompt or answer text.

use serde::Serialize;

use crate::attempt::Attempts;
use crate::usage::TokenReport;

/// Everything worth knowing about one request, as one JSON line.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestLog {
    pub tenant_id: String,
    pub trace_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The calling key's id or end user's id (never the key, the token or a hash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Why a credential was refused (`unknown_key`, `bad_signature`, ...), never the credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_failure: Option<&'static str>,
    pub method: String,
    pub route: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub fallback: bool,
    #[serde(skip_serializing_if = "Attempts::is_empty")]
    pub failed_attempts: Attempts,
    pub stream: bool,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenReport>,
    /// Shrink-to-fit lowered the output cap to this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens_reduced: Option<u64>,
    /// How the answer ended: `stop`, `length`, `tool_calls`, `content_filter` or `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Internal detail for operators (a config error's path, an upstream message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<String>,
    pub client_disconnected: bool,
    /// Set when settling the budget failed (the answer itself may have succeeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_error: Option<String>,
    /// A grounded request's retrieval: ids and counts, never chunk text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knowledge: Option<KnowledgeLog>,
}

/// What the log line says of a grounded request's retrieval.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnowledgeLog {
    pub kb: String,
    pub sources: usize,
    /// `docId#chunk` of each source, in order.
    pub doc_ids: Vec<String>,
    pub retrieval_ms: u64,
    /// Retrieval failed and the answer went on without sources.
    pub unavailable: bool,
    /// The question's embedding: tokens and cost (billed to the caller's budgets, and a usage
    /// history row of its own under `/knowledge/query`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<TokenReport>,
}

impl RequestLog {
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
