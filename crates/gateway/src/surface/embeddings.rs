//! OpenAI's `POST /v1/embeddings`: the request checked, its model, its batches and the calls that carry them (answers: `embeddings_answer`).
//!
//! The model is the one the request names (a tier alias stands for its first available model),
//! never a fallback: another model's vectors live in another space. Inputs are split into
//! batches of at most what the model takes in one call (`MAX_BATCH_WORKERS_AI` texts for the
//! Workers AI binding, `MAX_BATCH_HTTP` for an HTTP provider) and reassembled in order. Budgets
//! reserve the inputs' estimated tokens (embeddings have no output) and settle what the
//! provider reports, or the estimate when it reports nothing (the Workers AI binding).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::json::{describe, invalid, object_body, unknown_field, Obj};
use crate::model::ModelPlan;
use crate::provider_config::{ModelRef, ProviderConfig};
use crate::tenant::{check_model_id, EMBEDDING_MODELS};
use crate::usage::estimate_text_tokens;

/// Every field the route accepts; anything else is `unsupported_parameter` (or dropped and
/// listed in `x-dropped-params` with `compat.dropUnsupported`).
pub const FIELDS: &[&str] = &["model", "input", "encoding_format", "dimensions", "user"];
/// The most inputs one request may carry (OpenAI's limit).
pub const MAX_INPUTS: usize = 2048;
/// The most texts one Workers AI embedding call takes (the models' `maxItems`).
pub const MAX_BATCH_WORKERS_AI: usize = 100;
/// The most inputs one call to an HTTP provider carries (OpenAI's per-request limit).
pub const MAX_BATCH_HTTP: usize = MAX_INPUTS;
/// How many batch calls run at once.
pub const PARALLEL_CALLS: usize = 4;
const MAX_USER_LEN: usize = 256;
const MAX_DIMENSIONS: i64 = 65_536;

/// How the vectors are written in the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    /// JSON numbers (OpenAI's default).
    #[default]
    Float,
    /// The little-endian `f32` bytes of each vector, base64 (what the `openai` SDKs ask for).
    Base64,
}

/// A checked embeddings request.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub inputs: Vec<String>,
    pub encoding: Encoding,
    pub dimensions: Option<usize>,
    pub user: Option<String>,
    /// Fields dropped under `compat.dropUnsupported` (for `x-dropped-params`).
    pub dropped: Vec<String>,
}

impl EmbeddingsRequest {
    /// The estimated tokens of the inputs in `range` (`usage::estimate_text_tokens`).
    pub fn estimate(&self, range: Range<usize>) -> u64 {
        self.inputs
            .get(range)
            .unwrap_or_default()
            .iter()
            .map(|t| estimate_text_tokens(t))
            .sum()
    }

    /// The estimated tokens of every input: what a budget reserves.
    pub fn prompt_estimate(&self) -> u64 {
        self.estimate(0..self.inputs.len())
    }
}

fn unsupported(param: &str, message: impl Into<String>) -> Error {
    Error::UnsupportedParameter {
        param: param.to_string(),
        message: format!("{param}: {}", message.into()),
    }
}

/// Parses an embeddings body; with `drop_unsupported`, unknown fields are dropped and listed.
pub fn parse(body: &[u8], drop_unsupported: bool) -> Result<EmbeddingsRequest, Error> {
    let map = object_body(body)?;
    let mut dropped = Vec::new();
    for k in map.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        if !drop_unsupported {
            return Err(unsupported(k, unknown_field(k, FIELDS)));
        }
        dropped.push(k.clone());
    }
    let o = Obj::new(&map, "");
    let model = o.required("model", o.string("model")?)?;
    check_model_id(&model).map_err(|e| invalid("model", e))?;
    let encoding = match o.str("encoding_format")? {
        None | Some("float") => Encoding::Float,
        Some("base64") => Encoding::Base64,
        Some(_) => return Err(invalid("encoding_format", "must be `float` or `base64`")),
    };
    let dimensions = match o.i64("dimensions")? {
        None => None,
        Some(n) if (1..=MAX_DIMENSIONS).contains(&n) => usize::try_from(n).ok(),
        Some(_) => {
            return Err(invalid(
                "dimensions",
                format!("must be between 1 and {MAX_DIMENSIONS}"),
            ))
        }
    };
    let user = o.string("user")?;
    if user.as_ref().is_some_and(|u| u.len() > MAX_USER_LEN) {
        return Err(invalid(
            "user",
            format!("must be at most {MAX_USER_LEN} bytes"),
        ));
    }
    Ok(EmbeddingsRequest {
        model,
        inputs: inputs(&map)?,
        encoding,
        dimensions,
        user,
        dropped,
    })
}

/// `input`: a string or an array of strings, none empty; token arrays are refused.
fn inputs(map: &Map<String, Value>) -> Result<Vec<String>, Error> {
    let is_tokens = |v: &Value| match v {
        Value::Number(n) => n.is_u64(),
        Value::Array(a) => !a.is_empty() && a.iter().all(|t| t.as_u64().is_some()),
        _ => false,
    };
    let texts =
        match map.get("input").filter(|v| !v.is_null()) {
            None => return Err(invalid("input", "is required")),
            Some(Value::String(s)) if s.is_empty() => {
                return Err(invalid("input", "must not be empty"))
            }
            Some(Value::String(s)) => return Ok(vec![s.clone()]),
            Some(Value::Array(a)) if a.is_empty() => {
                return Err(invalid("input", "must not be an empty array"))
            }
            Some(Value::Array(a)) if a.iter().all(is_tokens) => return Err(unsupported(
                "input",
                "token arrays are not supported: send the text (a string or an array of strings)",
            )),
            Some(Value::Array(a)) => a,
            Some(v) => {
                return Err(invalid(
                    "input",
                    format!(
                        "invalid type: {}, expected a string or an array of strings",
                        describe(v)
                    ),
                ))
            }
        };
    if texts.len() > MAX_INPUTS {
        return Err(invalid(
            "input",
            format!(
                "holds {} inputs; at most {MAX_INPUTS} are accepted",
                texts.len()
            ),
        ));
    }
    texts
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) if s.is_empty() => {
                Err(invalid(format!("input[{i}]"), "must not be empty"))
            }
            Value::String(s) => Ok(s.clone()),
            v => Err(invalid(
                format!("input[{i}]"),
                format!("invalid type: {}, expected a string", describe(v)),
            )),
        })
        .collect()
}

/// The model an embeddings request runs on: the plan's primary (the request's model, or the
/// first available model of the tier it names, inside the allow-list), without the chain's
/// fallbacks.
pub fn model_of(plan: &ModelPlan) -> &str {
    plan.primary()
}

/// What the gateway knows about an embedding model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// The most texts one call takes.
    pub max_batch: usize,
    /// The size of its vectors, when known.
    pub dims: Option<usize>,
}

/// The spec of `model`: a known Workers AI model, another Workers AI id (batches of 100,
/// size unknown), or an HTTP provider's model (its own limits).
pub fn model_spec(model: &str, providers: &BTreeMap<String, ProviderConfig>) -> ModelSpec {
    match ModelRef::parse(model, providers) {
        ModelRef::Binding(id) => ModelSpec {
            max_batch: MAX_BATCH_WORKERS_AI,
            // The known models (one table with the knowledge config's); other `@cf/` ids are
            // passed on as they are.
            dims: EMBEDDING_MODELS
                .iter()
                .find(|(m, _)| *m == id)
                .map(|&(_, d)| d as usize),
        },
        ModelRef::Provider { .. } => ModelSpec {
            max_batch: MAX_BATCH_HTTP,
            dims: None,
        },
    }
}

pub(crate) fn wrong_dimensions(model: &str, dims: usize) -> Error {
    unsupported(
        "dimensions",
        format!("`{model}` answers vectors of {dims} dimensions and cannot shorten them; leave `dimensions` out or set it to {dims}"),
    )
}

/// Refuses a `dimensions` the model is known not to give (before any call: nothing is spent).
/// HTTP providers get it passed on; other models are checked against their answer.
pub fn check_dimensions(
    requested: Option<usize>,
    model: &str,
    spec: ModelSpec,
) -> Result<(), Error> {
    match (requested, spec.dims) {
        (Some(r), Some(d)) if r != d => Err(wrong_dimensions(model, d)),
        _ => Ok(()),
    }
}

/// The input ranges of the calls for `n` inputs, at most `max_batch` each, in order.
pub fn batches(n: usize, max_batch: usize) -> Vec<Range<usize>> {
    let size = max_batch.max(1);
    (0..n)
        .step_by(size)
        .map(|start| start..(start + size).min(n))
        .collect()
}

#[derive(Serialize)]
struct BindingInputs<'a> {
    text: &'a [String],
}

/// The inputs of a Workers AI call, as JSON text: `{"text": [...]}`.
pub fn binding_inputs(texts: &[String]) -> String {
    serde_json::to_string(&BindingInputs { text: texts }).unwrap_or_default()
}

#[derive(Serialize)]
struct HttpBody<'a> {
    model: &'a str,
    input: &'a [String],
    encoding_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
}

/// The body of an HTTP provider's `POST {baseUrl}/embeddings` for `texts` (floats asked for;
/// `model` is the provider's own id, without the `<provider>/` prefix).
pub fn http_body(
    model: &str,
    texts: &[String],
    dimensions: Option<usize>,
    user: Option<&str>,
) -> String {
    let body = HttpBody {
        model,
        input: texts,
        encoding_format: "float",
        dimensions,
        user,
    };
    serde_json::to_string(&body).unwrap_or_default()
}

#[cfg(test)]
#[path = "embeddings_tests.rs"]
mod tests;
