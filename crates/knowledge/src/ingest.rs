//! Ingestion as data: the queue job, what one run of it writes (chunks, vectors) and removes
//! (stale vectors), how embeddings are batched, and when a failed run is retried.

use serde_json::{json, Value};

use crate::audience::{placements, vector_ids, Audience, Placement};
use crate::chunk::{chunk, Chunk, ChunkSpec};
use crate::error::KnowledgeError;
use crate::ids::{DocId, KbName, VectorScope};

/// Texts per embedding call (Workers AI's embedding models take at most 100).
pub const EMBED_BATCH: usize = 100;
/// Vectors per Vectorize `upsert` (the Workers binding takes at most 1,000).
pub const UPSERT_BATCH: usize = 1000;
/// Ids per Vectorize `deleteByIds`.
pub const DELETE_BATCH: usize = 1000;
/// Runs of one version before it is marked `failed`.
pub const MAX_ATTEMPTS: u32 = 5;

/// The queue message: ingest `version` of `doc_id` in `kb` (an older version is skipped).
/// `attempt` counts runs from 1: the consumer schedules retries itself (a new message with a
/// delay and the next attempt), so the queue's own `max_retries` never leaves a document
/// `queued` for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub kb: KbName,
    pub doc_id: DocId,
    pub version: i64,
    pub attempt: u32,
}

impl Job {
    pub fn to_json(&self) -> Value {
        json!({"kb": self.kb.as_str(), "docId": self.doc_id.as_str(), "version": self.version, "attempt": self.attempt})
    }

    /// Reads a queue message body; anything else is an error naming what is wrong.
    pub fn parse(body: &Value) -> Result<Job, KnowledgeError> {
        let bad = |message: &str| KnowledgeError::InvalidField {
            field: "job",
            message: message.to_string(),
        };
        let kb = body
            .get("kb")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("the job has no kb"))?;
        let doc = body
            .get("docId")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("the job has no docId"))?;
        let version = body
            .get("version")
            .and_then(Value::as_i64)
            .filter(|v| *v > 0)
            .ok_or_else(|| bad("the job has no positive version"))?;
        let attempt = match body.get("attempt") {
            None => 1,
            Some(a) => a
                .as_u64()
                .and_then(|a| u32::try_from(a).ok())
                .filter(|a| *a > 0)
                .ok_or_else(|| bad("the job's attempt is not a positive whole number"))?,
        };
        Ok(Job {
            kb: KbName::parse(kb)?,
            doc_id: DocId::parse(doc)?,
            version,
            attempt,
        })
    }

    /// The job for the next run of the same version.
    pub fn next(&self) -> Job {
        Job {
            attempt: self.attempt.saturating_add(1),
            ..self.clone()
        }
    }
}

/// One run's work: the chunks to store and embed, their vectors, and the ids of vectors now
/// in the index that the new ones do not replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub chunks: Vec<Chunk>,
    pub placements: Vec<Placement>,
    pub stale: Vec<String>,
}

/// What is in the index for a document before this run: its chunk count and audience.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Indexed {
    pub chunks: usize,
    pub audience: Option<Audience>,
}

/// Plans a run over the document's text. Refuses a document with too many chunks (the
/// caller marks it failed: retrying cannot help).
pub fn plan(
    scope: &VectorScope,
    doc_id: &DocId,
    text: &str,
    spec: ChunkSpec,
    audience: Option<&Audience>,
    indexed: &Indexed,
) -> Result<Plan, KnowledgeError> {
    let chunks = chunk(text, spec);
    let placements = placements(scope, doc_id, chunks.len(), audience)?;
    let stale = stale_ids(scope, doc_id, indexed, &placements)?;
    Ok(Plan {
        chunks,
        placements,
        stale,
    })
}

/// The ids of `indexed` vectors that `placements` do not overwrite (all of them when
/// `placements` is empty: a deleted document).
pub fn stale_ids(
    scope: &VectorScope,
    doc_id: &DocId,
    indexed: &Indexed,
    placements: &[Placement],
) -> Result<Vec<String>, KnowledgeError> {
    let old = vector_ids(scope, doc_id, indexed.chunks, indexed.audience.as_ref())?;
    Ok(old
        .into_iter()
        .filter(|id| !placements.iter().any(|p| &p.id == id))
        .collect())
}

/// Seconds before run `attempt` (1-based, the one that just failed) is tried again: 10, 20,
/// 40, 80, then at most 600; `None` once [`MAX_ATTEMPTS`] runs have failed.
pub fn retry_delay_secs(attempt: u32) -> Option<u32> {
    (attempt < MAX_ATTEMPTS).then(|| {
        10u32
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(600)
    })
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
