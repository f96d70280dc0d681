//! What `/v1/embeddings` calls answer: the vectors read back and checked, the tokens billed, a failed call's status, and the answer written (floats or base64).

use serde_json::Value;

use crate::attempt::{Attempt, AttemptFailure, Attempts, ChainFailure};
use crate::error::Error;
use crate::json::invalid;
use crate::surface::embeddings::{wrong_dimensions, Encoding};
use crate::usage::{TokenReport, Usage};

/// The vectors of one call, in input order, and the usage the provider reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub vectors: Vec<Vec<f32>>,
    pub usage: Option<Usage>,
}

/// Why an answer cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum Unusable {
    /// The client's mistake: a model that is not an embedding model, a `dimensions` it does
    /// not give.
    Client(Error),
    /// The provider's: an answer that cannot be read, or holds the wrong number of vectors.
    Upstream(AttemptFailure),
}

fn malformed(detail: &str) -> Unusable {
    Unusable::Upstream(AttemptFailure::malformed(detail))
}

/// Reads an answer's JSON (one parser for every body: no per-type deserializer code).
fn json(text: &str) -> Result<Value, Unusable> {
    serde_json::from_str(text).map_err(|e| malformed(&format!("embeddings answer unreadable: {e}")))
}

/// A JSON array of numbers as a float32 vector.
fn vector(v: &Value) -> Option<Vec<f32>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_f64().map(|f| f as f32))
        .collect()
}

/// A Workers AI answer, `{shape, data: number[][]}` (usage, if any, read too), for `expected`
/// texts.
pub fn read_binding(
    text: &str,
    expected: usize,
    model: &str,
    dimensions: Option<usize>,
) -> Result<Batch, Unusable> {
    let answer = json(text)?;
    let Some(data) = answer.get("data") else {
        return Err(Unusable::Client(invalid(
            "model",
            format!("`{model}` answered without vectors: it is not an embedding model"),
        )));
    };
    let vectors = data
        .as_array()
        .and_then(|rows| rows.iter().map(vector).collect::<Option<Vec<_>>>())
        .ok_or_else(|| malformed("embeddings answer: `data` is not an array of number arrays"))?;
    let usage = answer.get("usage").and_then(Usage::from_json);
    checked(Batch { vectors, usage }, expected, model, dimensions)
}

/// An OpenAI-compatible answer, `{data: [{index, embedding}], usage}`, in index order.
pub fn read_http(
    text: &str,
    expected: usize,
    model: &str,
    dimensions: Option<usize>,
) -> Result<Batch, Unusable> {
    let answer = json(text)?;
    let unreadable =
        || malformed("embeddings answer: `data` is not a list of {index, embedding: number[]}");
    let items = answer
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(unreadable)?;
    // Each vector goes where its `index` says (its position when it has none): no sort.
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; items.len()];
    for (position, d) in items.iter().enumerate() {
        let at = match d.get("index") {
            None => Some(position),
            Some(i) => i.as_u64().and_then(|i| usize::try_from(i).ok()),
        };
        let slot = at.and_then(|at| slots.get_mut(at)).filter(|s| s.is_none());
        let Some(slot) = slot else {
            return Err(malformed("embeddings answer: indexes are not 0..n"));
        };
        *slot = Some(d.get("embedding").and_then(vector).ok_or_else(unreadable)?);
    }
    let usage = answer.get("usage").and_then(Usage::from_json);
    // Every slot is filled: n distinct indexes below n.
    let vectors = slots.into_iter().flatten().collect();
    checked(Batch { vectors, usage }, expected, model, dimensions)
}

/// One vector per text, all of one non-zero size (the requested one, if any).
fn checked(
    batch: Batch,
    expected: usize,
    model: &str,
    dimensions: Option<usize>,
) -> Result<Batch, Unusable> {
    if batch.vectors.len() != expected {
        let n = batch.vectors.len();
        return Err(malformed(&format!("{n} vectors for {expected} inputs")));
    }
    let size = batch.vectors.first().map_or(0, Vec::len);
    if size == 0 || batch.vectors.iter().any(|v| v.len() != size) {
        return Err(malformed("vectors of different or zero sizes"));
    }
    match dimensions {
        Some(d) if d != size => Err(Unusable::Client(wrong_dimensions(model, size))),
        _ => Ok(batch),
    }
}

/// The tokens one call bills: what the provider reported, else the estimate of its inputs.
/// Embeddings have no output tokens.
pub fn batch_tokens(usage: Option<Usage>, estimate: u64) -> TokenReport {
    let usage = Usage {
        completion_tokens: Some(0),
        ..usage.unwrap_or_default()
    };
    TokenReport::from_usage(Some(usage), estimate, 0)
}

/// The failure of a request whose call to `model` failed: the chain's status and message
/// rules (`ChainFailure`), for a chain of one model.
pub fn failure(model: &str, f: AttemptFailure) -> ChainFailure {
    let kind = f.kind;
    ChainFailure {
        attempts: Attempts(vec![Attempt {
            model: model.to_string(),
            failure: f,
        }]),
        terminal: (!kind.retryable()).then_some(kind),
    }
}

/// The answer body: `{"object":"list","data":[{"object":"embedding","index","embedding"}],
/// "model","usage":{"prompt_tokens","total_tokens"}}`, written directly (no JSON tree of
/// every number).
pub fn answer_body(
    vectors: &[Vec<f32>],
    encoding: Encoding,
    model: &str,
    usage: &TokenReport,
) -> Vec<u8> {
    let per_vector = vectors.first().map_or(0, |v| v.len() * 12);
    let mut out = Vec::with_capacity(64 + vectors.len() * (per_vector + 48));
    out.extend_from_slice(br#"{"object":"list","data":["#);
    for (i, v) in vectors.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            format!(r#"{{"object":"embedding","index":{i},"embedding":"#).as_bytes(),
        );
        match encoding {
            Encoding::Float => super::write_json(&mut out, v),
            Encoding::Base64 => {
                out.push(b'"');
                out.extend_from_slice(base64_f32(v).as_bytes());
                out.push(b'"');
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(br#"],"model":"#);
    super::write_json(&mut out, &model);
    out.extend_from_slice(
        format!(
            r#","usage":{{"prompt_tokens":{},"total_tokens":{}}}}}"#,
            usage.prompt, usage.total
        )
        .as_bytes(),
    );
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A vector as OpenAI's `base64` encoding writes it: its little-endian `f32` bytes in standard
/// base64 with padding.
pub fn base64_f32(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(BASE64[(n >> shift) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "embeddings_answer_tests.rs"]
mod tests;
