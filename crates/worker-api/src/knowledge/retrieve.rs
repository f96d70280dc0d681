//! Retrieval for a grounded answer: embed the question (under the caller's budgets), query
//! Vectorize and the D1 keyword index with the caller's audience filter inside both, fuse,
//! read the chosen chunks and assemble numbered sources (`knowledge::rank` decides).

use std::rc::Rc;

use budget::{Demand, Price};
use futures::future::join;
use gateway::call::GatewayRoute;
use gateway::credential::Principal;
use gateway::log::RequestLog;
use gateway::tenant::KnowledgeBase;
use gateway::usage::TokenReport;
use knowledge::audience::{audience_sql, keyword_query, vector_filter};
use knowledge::filter::{FilterValue, MetadataFilter};
use knowledge::rank::{assemble, fuse};
use knowledge::store as sql;
use knowledge::{estimate_tokens, ChunkRef, DocId, Source, StoredChunk, VectorHit, Viewer};
use serde_json::{json, Value};
use worker::{Context, Env};

use super::d1::{Param, Query};
use super::store::{unavailable, KbStore};
use super::vectorize::VectorizeIndex;
use crate::budgets;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::engine::answered::spent;
use crate::exchange::Exchange;
use crate::http::error::ApiError;
use crate::ops;
use crate::providers::embeddings::embed;

/// How a question's embedding shows in logs and usage history.
pub const QUERY_ROUTE: &str = "/knowledge/query";

/// Candidates read per retriever: a few times `topK`, so fusion has something to choose from
/// (Vectorize answers at most 100 ids without metadata).
fn candidates(kb: &KnowledgeBase) -> u32 {
    (kb.top_k * 4).clamp(10, 100)
}

/// The sources for `question` in `kb` as this caller may see them, and the question's
/// embedding tokens. A failure of the index, the database or the embedding model is
/// `KnowledgeUnavailable`; a budget refusal is the request's own.
pub async fn sources(
    env: &Env,
    ctx: &Context,
    settings: &Rc<Settings>,
    ex: &Exchange,
    kb: &KnowledgeBase,
    filter: Option<&MetadataFilter>,
    question: &str,
) -> Result<(Vec<Source>, TokenReport), ApiError> {
    let groups = ex.principal.as_ref().map_or(&[][..], Principal::groups);
    let viewer = Viewer::parse(groups).unwrap_or_default();
    let store = KbStore::open(env, settings.tenant.tenant_id.as_str(), kb).await?;
    let index = VectorizeIndex::from_env(env, &kb.index).ok_or_else(|| {
        let what = format!("knowledge.{}", kb.name);
        unavailable(&what, format!("no Vectorize binding `{}`", kb.index))
    })?;
    // Who may see a document, and what its metadata must be: inside the keyword search and
    // the chunk read (vector hits of other documents are dropped there).
    let (mut aud, aud_values) = audience_sql(&viewer);
    let mut conditions: Vec<Param> = aud_values.iter().map(|g| Param::from(g.as_str())).collect();
    if let Some(f) = filter {
        let (sql, values) = f.sql();
        aud = format!("{aud} AND {sql}");
        conditions.extend(values.into_iter().map(|v| match v {
            FilterValue::Text(s) => Param::Text(s),
            FilterValue::Int(n) => Param::Int(n),
        }));
    }
    let aud_params = || conditions.iter().cloned();
    let keyword = async {
        let Some(terms) = keyword_query(question) else {
            return Ok(Vec::new());
        };
        let mut params: Vec<Param> = vec![terms.into(), store.scope.as_str().into()];
        params.extend(aud_params());
        params.push(i64::from(candidates(kb)).into());
        let rows = store
            .db
            .all(Query::new(sql::keyword_search(&aud), params))
            .await
            .map_err(|e| unavailable("keyword search", e))?;
        Ok::<_, ApiError>(rows.iter().filter_map(chunk_ref).collect::<Vec<_>>())
    };
    let vector = async {
        let (v, tokens) = embed_question(env, ctx, settings, ex, kb, question).await?;
        // A metadata filter drops vector hits after the query: ask for the most.
        let top_k = if filter.is_some() {
            100
        } else {
            candidates(kb)
        };
        let options = json!({
            "topK": top_k,
            "namespace": store.scope.as_str(),
            "filter": vector_filter(&kb.name, &viewer),
            "returnValues": false,
            "returnMetadata": "none",
        });
        let hits = index
            .query(&v, &options)
            .await
            .map_err(|e| unavailable("vector search", e))?;
        let hits: Vec<VectorHit> = hits
            .into_iter()
            .map(|(id, score)| VectorHit { id, score })
            .collect();
        Ok::<_, ApiError>((hits, tokens))
    };
    let (keyword, vector) = join(keyword, vector).await;
    let (vector, tokens) = vector?;
    let fused = fuse(&vector, &keyword?, kb.fuse_spec());
    // With a metadata filter every candidate is read: the chunk read drops the others.
    let read = if filter.is_some() {
        fused.len()
    } else {
        candidates(kb) as usize
    };
    let wanted: Vec<ChunkRef> = fused.iter().take(read).map(|f| f.chunk.clone()).collect();
    if wanted.is_empty() {
        return Ok((Vec::new(), tokens));
    }
    let mut params: Vec<Param> = vec![
        sql::wanted_json(&wanted).into(),
        store.scope.as_str().into(),
    ];
    params.extend(aud_params());
    let rows = store
        .db
        .all(Query::new(sql::chunk_texts(&aud), params))
        .await
        .map_err(|e| unavailable("reading chunks", e))?;
    let stored: Vec<(ChunkRef, StoredChunk)> = rows.iter().filter_map(stored_chunk).collect();
    let lookup = |c: &ChunkRef| stored.iter().find(|(r, _)| r == c).map(|(_, s)| s);
    let max = kb.max_context_tokens;
    Ok((assemble(&fused, lookup, max, kb.top_k as usize), tokens))
}

/// `{doc_id, n}` of a row.
fn chunk_ref(row: &Value) -> Option<ChunkRef> {
    let doc_id = DocId::parse(row.get("doc_id")?.as_str()?).ok()?;
    let chunk = u32::try_from(row.get("n")?.as_u64()?).ok()?;
    Some(ChunkRef { doc_id, chunk })
}

/// A chunk-text row as what `assemble` reads.
fn stored_chunk(row: &Value) -> Option<(ChunkRef, StoredChunk)> {
    let text = |k: &str| row.get(k).and_then(Value::as_str).map(str::to_string);
    let stored = StoredChunk {
        title: text("title"),
        url: text("url"),
        text: text("text")?,
    };
    Some((chunk_ref(row)?, stored))
}

/// The question's vector and its priced tokens: reserved and settled in the caller's
/// budgets, and noted in usage history (and Analytics Engine) as [`QUERY_ROUTE`].
async fn embed_question(
    env: &Env,
    ctx: &Context,
    settings: &Rc<Settings>,
    ex: &Exchange,
    kb: &KnowledgeBase,
    question: &str,
) -> Result<(Vec<f32>, TokenReport), ApiError> {
    let model = &kb.embedding_model;
    let demand = Demand {
        prompt: u64::from(estimate_tokens(question)).max(1),
        output: 0,
        min_output: 0,
        price: Price::default(),
    };
    let chain = [model.clone()];
    let held = budgets::reserve(env, ctx, settings, ex.principal.as_ref(), &chain, demand).await?;
    let tenant = &settings.tenant;
    let client = ex.principal.as_ref().and_then(|p| p.label());
    let route = GatewayRoute {
        gateway_id: &tenant.ai_gateway_id,
        tenant_id: tenant.tenant_id.as_str(),
        trace_id: &ex.trace_id,
        session_id: None,
        user: None,
        client: client.as_deref(),
        route: QUERY_ROUTE,
    };
    let started = now_ms();
    let (vectors, tokens) = embed(env, settings, model, vec![question.to_string()], route).await;
    let mut log = RequestLog {
        tenant_id: tenant.tenant_id.as_str().to_string(),
        trace_id: ex.trace_id.clone(),
        key_id: ex.log.key_id.clone(),
        user_id: ex.log.user_id.clone(),
        method: "POST".into(),
        route: QUERY_ROUTE.into(),
        status: if vectors.is_ok() { 200 } else { 503 },
        error_code: vectors
            .is_err()
            .then(|| "knowledge_unavailable".to_string()),
        latency_ms: now_ms().saturating_sub(started),
        model: Some(model.clone()),
        tokens: (tokens.total > 0).then_some(tokens),
        ..RequestLog::default()
    };
    budgets::settle(env, held, spent(tokens), &mut log, Some(ctx)).await;
    if log.tokens.is_some() && ops::history::note(env, tenant, &log) {
        let (env, settings) = (env.clone(), Rc::clone(settings));
        ctx.wait_until(async move { ops::history::write_pending(&env, &settings.tenant).await });
    }
    let mut v = vectors.map_err(|e| unavailable("embedding the question", e))?;
    let v = v
        .pop()
        .ok_or_else(|| unavailable("embedding the question", "no vector"))?;
    Ok((v, tokens))
}
