//! What every answer reports besides its body: the `x-` headers, and what it costs a budget.

use budget::Amount;
use gateway::surface::AnswerMeta;
use gateway::usage::TokenReport;
use worker::Response;

/// What an answer's usage costs a budget: its tokens, and its cost where known (a request
/// under a cost budget always has a known cost: unpriced models are refused before).
pub fn spent(usage: TokenReport) -> Amount {
    Amount {
        tokens: usage.total,
        micros: usage.cost.micros().unwrap_or(0),
    }
}

/// The gateway's facts about an answer, as `x-` headers (token counts when known).
pub fn answer_headers(
    resp: &mut Response,
    meta: &AnswerMeta<'_>,
    usage: Option<&TokenReport>,
) -> worker::Result<()> {
    let h = resp.headers_mut();
    h.set("x-model-id", meta.model)?;
    if let (Some(id), Some(_)) = (meta.session_id, meta.history_messages) {
        h.set("x-session-id", id)?;
    }
    h.set("x-fallback", if meta.fallback { "true" } else { "false" })?;
    if let Some(n) = meta.max_tokens_reduced {
        h.set("x-max-tokens-reduced", &n.to_string())?;
    }
    if let Some(u) = usage {
        h.set("x-tokens-prompt", &u.prompt.to_string())?;
        h.set("x-tokens-completion", &u.completion.to_string())?;
        h.set("x-tokens-used", &u.total.to_string())?;
        h.set(
            "x-tokens-estimated",
            if u.estimated { "true" } else { "false" },
        )?;
        h.set("x-cost-usd", &u.cost.header())?;
        h.set("x-latency-ms", &meta.latency_ms.to_string())?;
    }
    Ok(())
}
