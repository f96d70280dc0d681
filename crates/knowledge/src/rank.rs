//! Hybrid ranking: reciprocal-rank fusion of vector and keyword hits, then the best chunks
//! packed into numbered sources within a context token budget.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::chunk::estimate_tokens;
use crate::ids::{chunk_of, DocId};

/// Snippets hold at most this many characters before their `…`.
pub const SNIPPET_CHARS: usize = 200;

/// A chunk of a document; ordered by document id, then index (the fusion tie-break).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChunkRef {
    pub doc_id: DocId,
    pub chunk: u32,
}

/// A Vectorize match: the vector id and its cosine score.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorHit {
    pub id: String,
    pub score: f64,
}

/// Fusion settings: the RRF constant `k` (60 in the literature) and the lowest vector score
/// that counts (`minScore` in the kb config; a hit at exactly `min_score` counts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FuseSpec {
    pub k: u32,
    pub min_score: f64,
}

impl Default for FuseSpec {
    fn default() -> Self {
        FuseSpec {
            k: 60,
            min_score: 0.0,
        }
    }
}

/// A chunk after fusion: its fused score and where each retriever ranked it (from 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub chunk: ChunkRef,
    pub score: f64,
    pub vector_rank: Option<u32>,
    pub vector_score: Option<f64>,
    pub keyword_rank: Option<u32>,
}

/// Reciprocal-rank fusion: each chunk scores Σ 1/(k + rank) over the lists that hold it.
///
/// Vector hits are taken best score first (ties keep their order); hits below
/// `spec.min_score` (or not a number) and ids that are not chunk vector ids are dropped
/// before ranking. A chunk reached through several vector ids (one per audience group)
/// counts once, at its best rank, and ranks are dense: the next chunk takes the next rank.
/// Keyword hits are in BM25 order, best first, repeats ignored. The result is best first,
/// equal scores ordered by chunk.
pub fn fuse(vector: &[VectorHit], keyword: &[ChunkRef], spec: FuseSpec) -> Vec<Fused> {
    let rrf = |rank: u32| 1.0 / (f64::from(spec.k) + f64::from(rank));
    let mut hits: Vec<&VectorHit> = vector
        .iter()
        .filter(|h| h.score >= spec.min_score)
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut by_chunk: BTreeMap<ChunkRef, Fused> = BTreeMap::new();
    let mut rank = 0;
    for hit in hits {
        let Some((doc_id, chunk)) = chunk_of(&hit.id) else {
            continue;
        };
        let chunk = ChunkRef { doc_id, chunk };
        if by_chunk.contains_key(&chunk) {
            continue;
        }
        rank += 1;
        let fused = Fused {
            chunk: chunk.clone(),
            score: rrf(rank),
            vector_rank: Some(rank),
            vector_score: Some(hit.score),
            keyword_rank: None,
        };
        by_chunk.insert(chunk, fused);
    }
    let mut rank = 0;
    for chunk in keyword {
        let entry = by_chunk.entry(chunk.clone()).or_insert_with(|| Fused {
            chunk: chunk.clone(),
            score: 0.0,
            vector_rank: None,
            vector_score: None,
            keyword_rank: None,
        });
        if entry.keyword_rank.is_none() {
            rank += 1;
            entry.keyword_rank = Some(rank);
            entry.score += rrf(rank);
        }
    }
    let mut out: Vec<Fused> = by_chunk.into_values().collect();
    out.sort_by(by_rank);
    out
}

/// A chunk's stored text and its document's title and URL, as the shell reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChunk {
    pub title: Option<String>,
    pub url: Option<String>,
    pub text: String,
}

/// A numbered source of a grounded answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// 1-based, as cited (`[n]`).
    pub n: u32,
    pub doc_id: DocId,
    pub title: Option<String>,
    pub url: Option<String>,
    pub chunk: u32,
    /// The fused score.
    pub score: f64,
    pub vector_score: Option<f64>,
    /// The start of the text, whitespace collapsed, cut at a word boundary ([`snippet`]).
    pub snippet: String,
    pub text: String,
}

impl Source {
    /// The public shape of a source in answers: `{n, docId, title, url, chunk, score,
    /// snippet}` (no text: clients get a snippet; absent title and url are `null`).
    pub fn to_json(&self) -> Value {
        json!({
            "n": self.n,
            "docId": self.doc_id.as_str(),
            "title": self.title,
            "url": self.url,
            "chunk": self.chunk,
            "score": self.score,
            "snippet": self.snippet,
        })
    }
}

/// The sources of an answer: walks `fused` in order, skips chunks `lookup` does not find
/// (or whose text is blank) and chunks whose text would take the total past
/// `max_context_tokens` (a later, smaller one may still fit), stops at `top_k` sources, and
/// numbers them from 1. Tokens are [`estimate_tokens`] of each chunk's text.
pub fn assemble<'a>(
    fused: &[Fused],
    lookup: impl Fn(&ChunkRef) -> Option<&'a StoredChunk>,
    max_context_tokens: u32,
    top_k: usize,
) -> Vec<Source> {
    let mut out: Vec<Source> = Vec::new();
    let mut used = 0u64;
    for f in fused {
        if out.len() >= top_k {
            break;
        }
        let Some(stored) = lookup(&f.chunk).filter(|s| !s.text.trim().is_empty()) else {
            continue;
        };
        let tokens = u64::from(estimate_tokens(&stored.text));
        if used + tokens > u64::from(max_context_tokens) {
            continue;
        }
        used += tokens;
        out.push(Source {
            n: u32::try_from(out.len() + 1).unwrap_or(u32::MAX),
            doc_id: f.chunk.doc_id.clone(),
            title: stored.title.clone(),
            url: stored.url.clone(),
            chunk: f.chunk.chunk,
            score: f.score,
            vector_score: f.vector_score,
            snippet: snippet(&stored.text),
            text: stored.text.clone(),
        });
    }
    out
}

/// The first [`SNIPPET_CHARS`] characters of `text` with whitespace collapsed, cut back to a
/// word boundary and ended with `…` when anything was cut (a single longer word is cut
/// inside).
pub fn snippet(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let Some((cut, _)) = flat.char_indices().nth(SNIPPET_CHARS) else {
        return flat;
    };
    let head = &flat[..cut];
    let head = match (flat[cut..].starts_with(' '), head.rfind(' ')) {
        (false, Some(space)) => &head[..space],
        _ => head,
    };
    format!("{}…", head.trim_end())
}

/// Best fused score first, equal scores by chunk.
fn by_rank(a: &Fused, b: &Fused) -> Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| a.chunk.cmp(&b.chunk))
}

#[cfg(test)]
#[path = "rank_tests.rs"]
mod tests;
