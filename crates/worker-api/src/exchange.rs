//! `Exchange`: what the worker knows about one request while serving it, and its log line.

use gateway::credential::Principal;
use gateway::log::RequestLog;
use worker::web_sys::AbortSignal;

pub struct Exchange {
    /// Aborted when the client resets its connection (`enable_request_signal`).
    pub client_signal: AbortSignal,
    pub trace_id: String,
    pub started_ms: u64,
    pub log: RequestLog,
    /// Set by a streaming handler that writes the log line itself when the stream ends.
    pub log_in_background: bool,
    /// Who is calling, once authenticated (chat and model routes).
    pub principal: Option<Principal>,
    /// The caller's request rate limit and an estimate of what is left of it.
    pub rate: Option<(u32, u32)>,
}

/// A request's grounding in a knowledge base: the kb, the sources put before the model, and
/// whether retrieval failed (then the answer goes on without sources).
#[derive(Debug, Clone)]
pub struct Grounding {
    pub kb: String,
    pub sources: Vec<knowledge::Source>,
    pub unavailable: bool,
}

impl Grounding {
    /// The sources an answer reports (`None` when retrieval failed).
    pub fn reported(grounding: Option<&Grounding>) -> Option<&[knowledge::Source]> {
        grounding
            .filter(|g| !g.unavailable)
            .map(|g| g.sources.as_slice())
    }

    /// `x-knowledge`: `<kb>; sources=<n>`, or `unavailable`.
    pub fn header(&self) -> String {
        if self.unavailable {
            "unavailable".to_string()
        } else {
            format!("{}; sources={}", self.kb, self.sources.len())
        }
    }
}

impl Exchange {
    /// A fresh exchange for a request that arrived at `started_ms`.
    pub fn new(client_signal: AbortSignal, trace_id: String, started_ms: u64) -> Self {
        let mut log = RequestLog::default();
        log.trace_id.clone_from(&trace_id);
        Self {
            client_signal,
            trace_id,
            started_ms,
            log,
            log_in_background: false,
            principal: None,
            rate: None,
        }
    }
}
