//! The steps of one ingestion run (chunk, embed under the tenant's budget, store chunk text,
//! upsert vectors, delete stale ones), each write after a check that the run's version is
//! still the document's; and how a run fails.

use budget::{Demand, Price};
use gateway::call::GatewayRoute;
use gateway::log::RequestLog;
use gateway::tenant::{embedding_input_tokens, KnowledgeBase};
use gateway::usage::TokenReport;
use knowledge::ingest::{plan, Indexed, Plan, UPSERT_BATCH};
use knowledge::{estimate_tokens, DocId};
use serde_json::{json, Value};
use worker::{Context, Env};

use super::store::KbStore;
use super::vectorize::VectorizeIndex;
use crate::budgets;
use crate::config::Settings;
use crate::engine::answered::spent;
use crate::http::error::ApiError;
use crate::providers::embeddings::embed;

/// How ingestion shows in logs and usage history.
pub const ROUTE: &str = "/knowledge/ingest";

/// A run's failure: whether trying again may help, and the reason the row shows.
pub struct Failure {
    pub transient: bool,
    /// A newer version (or a delete) came while this run worked: it stops, touching nothing
    /// more, and the newer job does the work.
    pub superseded: bool,
    pub reason: String,
    pub detail: Option<String>,
}

pub fn failed(transient: bool, reason: &str, detail: impl std::fmt::Display) -> Failure {
    Failure {
        transient,
        superseded: false,
        reason: reason.to_string(),
        detail: Some(detail.to_string()),
    }
}

/// The steps of one run.
pub struct Steps<'a> {
    pub env: &'a Env,
    pub ctx: &'a Context,
    pub settings: &'a Settings,
    pub kb: &'a KnowledgeBase,
    pub store: &'a KbStore<'a>,
    pub doc: &'a DocId,
    pub version: i64,
    pub log: &'a mut RequestLog,
}

impl Steps<'_> {
    /// Stops the run when its version is no longer the document's (re-uploaded or deleted
    /// meanwhile): checked before each write, so a stale run never overwrites a newer one's
    /// chunks or vectors after the check.
    async fn still_current(&self) -> Result<(), Failure> {
        let row = self
            .store
            .document(self.doc)
            .await
            .map_err(|e| failed(true, "the document could not be read", format!("{e:?}")))?;
        match row.and_then(|r| r.get("version").and_then(Value::as_i64)) {
            Some(v) if v == self.version => Ok(()),
            now => Err(Failure {
                superseded: true,
                ..failed(
                    false,
                    "superseded",
                    format!("version {} superseded by {now:?}", self.version),
                )
            }),
        }
    }

    /// Chunks, embeds, stores and indexes; answers the chunk count and the tokens billed.
    pub async fn run(
        &mut self,
        audience: Option<&knowledge::Audience>,
        indexed: &Indexed,
    ) -> Result<(usize, u64), Failure> {
        let text = self
            .store
            .text(self.doc)
            .await
            .map_err(|e| failed(true, "the document's text could not be read", e))?;
        let plan = plan(
            &self.store.scope,
            self.doc,
            &text,
            self.kb.chunk,
            audience,
            indexed,
        )
        .map_err(|e| failed(false, &e.to_string(), e.code()))?;
        if plan.chunks.is_empty() {
            return Err(failed(
                false,
                "the document has no text to index",
                "no chunks",
            ));
        }
        let vectors = self.embed(&plan).await?;
        self.still_current().await?;
        self.store
            .replace_chunks(self.doc, &plan.chunks)
            .await
            .map_err(|e| failed(true, "the chunks could not be stored", e))?;
        let index = VectorizeIndex::from_env(self.env, &self.kb.index).ok_or_else(|| {
            failed(
                true,
                "the Vectorize index is not bound",
                format!("no binding `{}`", self.kb.index),
            )
        })?;
        let points: Vec<Value> = plan
            .placements
            .iter()
            .map(|p| {
                json!({
                    "id": p.id,
                    "values": vectors.get(p.chunk as usize).cloned().unwrap_or_default(),
                    "namespace": self.store.scope.as_str(),
                    "metadata": p.metadata(&self.kb.name),
                })
            })
            .collect();
        self.still_current().await?;
        for batch in points.chunks(UPSERT_BATCH) {
            index
                .upsert(&Value::Array(batch.to_vec()))
                .await
                .map_err(|e| failed(true, "Vectorize refused the vectors", e))?;
        }
        index
            .remove(&plan.stale)
            .await
            .map_err(|e| failed(true, "Vectorize could not delete stale vectors", e))?;
        let tokens = self.log.tokens.map_or(0, |t| t.total);
        Ok((plan.chunks.len(), tokens))
    }

    /// Embeds every chunk under the tenant's budget (reserved at the estimate, settled at
    /// what the model counted).
    async fn embed(&mut self, plan: &Plan) -> Result<Vec<Vec<f32>>, Failure> {
        // Within the model's input limit (the stored chunk text stays whole).
        let limit = embedding_input_tokens(&self.kb.embedding_model);
        let texts: Vec<String> = plan
            .chunks
            .iter()
            .map(|c| c.embedding_text_within(limit))
            .collect();
        let estimate: u64 = texts.iter().map(|t| u64::from(estimate_tokens(t))).sum();
        let model = self.kb.embedding_model.clone();
        let demand = Demand {
            prompt: estimate,
            output: 0,
            min_output: 0,
            price: Price::default(),
        };
        let chain = [model.clone()];
        let held = budgets::reserve(self.env, self.ctx, self.settings, None, &chain, demand)
            .await
            .map_err(|e| match e {
                ApiError::BudgetExceeded { .. } | ApiError::ModelUnpriced { .. } => failed(
                    false,
                    &format!("the tenant's budget refused the embeddings: {e}"),
                    "budget",
                ),
                e => failed(true, "the budget store is unavailable", e),
            })?;
        let tenant = &self.settings.tenant;
        let route = GatewayRoute {
            gateway_id: &tenant.ai_gateway_id,
            tenant_id: tenant.tenant_id.as_str(),
            trace_id: &self.log.trace_id.clone(),
            session_id: None,
            user: None,
            client: None,
            route: ROUTE,
        };
        let (vectors, tokens): (_, TokenReport) =
            embed(self.env, self.settings, &model, texts, route).await;
        budgets::settle(self.env, held, spent(tokens), self.log, Some(self.ctx)).await;
        if tokens.total > 0 {
            self.log.tokens = Some(tokens);
        }
        // A model that refuses the input (4xx but 429) will refuse it again: no retries.
        let vectors = vectors.map_err(|e| {
            let status = e.status_and_code().0;
            let transient = status == 429 || !(400..500).contains(&status);
            failed(
                transient,
                "the embedding model failed",
                format!("{e}: {:?}", e.log_detail()),
            )
        })?;
        if vectors.len() != plan.chunks.len()
            || vectors
                .iter()
                .any(|v| v.len() != self.kb.dimensions as usize)
        {
            return Err(failed(
                false,
                "the embedding model answered vectors of the wrong size or count",
                format!("{} vectors", vectors.len()),
            ));
        }
        Ok(vectors)
    }
}
