//! Retrieval for a grounded answer: embed the question (under the caller's budgets), query
//! Vectorize and the D1 keyword index with the caller's audience filter inside both, fuse,
//! read the chosen chunks and assemble numbered sources (`knowledge::rank` decides).

use budget::{Demand, Price};
use futures::future::join;
use gateway::call::GatewayRoute;
use gateway::credential::Principal;
use gateway::tenant::KnowledgeBase;
use knowledge::audience::{audience_sql, keyword_query, vector_filter};
use knowledge::rank::{assemble, fuse};
use knowledge::store as sql;
use knowledge::{estimate_tokens, ChunkRef, DocId, Source, StoredChunk, VectorHit, Viewer};
use serde_json::{json, Value};
use worker::{Context, Env};

use super::d1::{Param, Query};
use super::store::{unavailable, KbStore};
use super::vectorize::VectorizeIndex;
use crate::budgets;
use crate::config::Settings;
use crate::engine::answered::spent;
use crate::exchange::Exchange;
use crate::http::error::ApiError;
use crate::providers::embeddings::embed;

/// Candidates read per retriever: a few times `topK`, so fusion has something to choose from
/// (Vectorize answers at most 100 ids without metadata).
fn candidates(kb: &KnowledgeBase) -> u32 {
    (kb.top_k * 4).clamp(10, 100)
}

/// The sources for `question` in `kb`, as this caller may see them. A failure of the index,
/// the database or the embedding model is `KnowledgeUnavailable`; a budget refusal is the
/// request's own.
pub async fn sources(
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    ex: &mut Exchange,
    kb: &KnowledgeBase,
    question: &str,
) -> Result<Vec<Source>, ApiError> {
    let groups = ex.principal.as_ref().map_or(&[][..], Principal::groups);
    let viewer = Viewer::parse(groups).unwrap_or_default();
    let store = KbStore::open(env, settings.tenant.tenant_id.as_str(), kb).await?;
    let index = VectorizeIndex::from_env(env, &kb.index).ok_or_else(|| {
        unavailable(
            &format!("knowledge.{}", kb.name),
            format!("no Vectorize binding `{}`", kb.index),
        )
    })?;
    let (aud, aud_values) = audience_sql(&viewer);
    let keyword = async {
        let Some(terms) = keyword_query(question) else {
            return Ok(Vec::new());
        };
        let mut params: Vec<Param> = vec![terms.into(), store.scope.as_str().into()];
        params.extend(aud_values.iter().map(|g| Param::from(g.as_str())));
        params.push(i64::from(candidates(kb)).into());
        let rows = store
            .db
            .all(Query::new(sql::keyword_search(&aud), params))
            .await
            .map_err(|e| unavailable("keyword search", e))?;
        Ok::<_, ApiError>(rows.iter().filter_map(chunk_ref).collect::<Vec<_>>())
    };
    let vector = async {
        let v = embed_question(env, ctx, settings, ex, kb, question).await?;
        let options = json!({
            "topK": candidates(kb),
            "namespace": store.scope.as_str(),
            "filter": vector_filter(&kb.name, &viewer),
            "returnValues": false,
            "returnMetadata": "none",
        });
        let hits = index
            .query(&v, &options)
            .await
            .map_err(|e| unavailable("vector search", e))?;
        Ok::<_, ApiError>(
            hits.into_iter()
                .map(|(id, score)| VectorHit { id, score })
                .collect::<Vec<_>>(),
        )
    };
    let (keyword, vector) = join(keyword, vector).await;
    let fused = fuse(&vector?, &keyword?, kb.fuse_spec());
    let wanted: Vec<ChunkRef> = fused
        .iter()
        .take(candidates(kb) as usize)
        .map(|f| f.chunk.clone())
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut params: Vec<Param> = vec![
        sql::wanted_json(&wanted).into(),
        store.scope.as_str().into(),
    ];
    params.extend(aud_values.iter().map(|g| Param::from(g.as_str())));
    let rows = store
        .db
        .all(Query::new(sql::chunk_texts(&aud), params))
        .await
        .map_err(|e| unavailable("reading chunks", e))?;
    let stored: Vec<(ChunkRef, StoredChunk)> = rows
        .iter()
        .filter_map(|r| {
            let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            Some((
                chunk_ref(r)?,
                StoredChunk {
                    title: text("title"),
                    url: text("url"),
                    text: text("text")?,
                },
            ))
        })
        .collect();
    let lookup = |c: &ChunkRef| stored.iter().find(|(r, _)| r == c).map(|(_, s)| s);
    Ok(assemble(
        &fused,
        lookup,
        kb.max_context_tokens,
        kb.top_k as usize,
    ))
}

/// `{doc_id, n}` of a row.
fn chunk_ref(row: &Value) -> Option<ChunkRef> {
    let doc_id = DocId::parse(row.get("doc_id")?.as_str()?).ok()?;
    let chunk = u32::try_from(row.get("n")?.as_u64()?).ok()?;
    Some(ChunkRef { doc_id, chunk })
}

/// The question's vector, its tokens reserved and settled in the caller's budgets.
async fn embed_question(
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    ex: &Exchange,
    kb: &KnowledgeBase,
    question: &str,
) -> Result<Vec<f32>, ApiError> {
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
        route: "/knowledge/query",
    };
    let (vectors, tokens) = embed(env, settings, model, vec![question.to_string()], route).await;
    let mut log = gateway::log::RequestLog::default();
    budgets::settle(env, held, spent(tokens), &mut log, Some(ctx)).await;
    let mut v = vectors.map_err(|e| unavailable("embedding the question", e))?;
    v.pop()
        .ok_or_else(|| unavailable("embedding the question", "no vector"))
}
