//! The tenant's knowledge bases (`knowledge.<kb>`) and presets (`presets.<name>`): read from the
//! config, checked (every error names its path), and the preset a request's `model` names
//! resolved into what the engine grounds the answer with.

use std::collections::BTreeMap;

use knowledge::{ChunkSpec, FuseSpec, KbName};
use serde_json::{Map, Value};

use crate::error::{ConfigError, Error};
use crate::json::{describe, invalid, Obj};
use crate::pricing::PriceTable;
use crate::tenant_budget::BudgetConfig;

/// Workers AI embedding models a knowledge base may use, with the size of their vectors
/// (developers.cloudflare.com/workers-ai/models/).
pub const EMBEDDING_MODELS: &[(&str, u32)] = &[
    ("@cf/baai/bge-small-en-v1.5", 384),
    ("@cf/baai/bge-base-en-v1.5", 768),
    ("@cf/baai/bge-large-en-v1.5", 1024),
    ("@cf/baai/bge-m3", 1024),
];
/// The largest input (tokens) of each Workers AI embedding model (its model page's "Maximum
/// Input Tokens"; bge-m3's page gives only its context window, so 8,192 is assumed).
pub const EMBEDDING_INPUT_TOKENS: &[(&str, u32)] = &[
    ("@cf/baai/bge-small-en-v1.5", 512),
    ("@cf/baai/bge-base-en-v1.5", 512),
    ("@cf/baai/bge-large-en-v1.5", 512),
    ("@cf/baai/bge-m3", 8192),
];

/// The largest input of `model` in estimated tokens (no limit known: `u32::MAX`, the
/// provider's own limit applies).
pub fn embedding_input_tokens(model: &str) -> u32 {
    EMBEDDING_INPUT_TOKENS
        .iter()
        .find(|(m, _)| *m == model)
        .map_or(u32::MAX, |&(_, n)| n)
}

/// Vectorize's largest vector (its index dimension limit).
pub const MAX_DIMENSIONS: u32 = 1536;
/// Default for `topK`.
pub const DEFAULT_TOP_K: u32 = 5;
/// Vectorize returns at most 20 matches with metadata.
pub const MAX_TOP_K: u32 = 20;
/// Default for `maxContextTokens`: the sources' share of the prompt.
pub const DEFAULT_MAX_CONTEXT_TOKENS: u32 = 1500;
/// The largest `maxContextTokens`.
pub const MAX_CONTEXT_TOKENS: u32 = 32_768;
/// Default for `maxDocumentBytes` (5 MB).
pub const DEFAULT_MAX_DOCUMENT_BYTES: u32 = 5 * 1024 * 1024;
/// The largest `maxDocumentBytes` (25 MB).
pub const MAX_DOCUMENT_BYTES: u32 = 25 * 1024 * 1024;
/// Default binding names (`index`, `database`, `queue`).
pub const DEFAULT_INDEX: &str = "KNOWLEDGE_INDEX";
pub const DEFAULT_DATABASE: &str = "KNOWLEDGE_DB";
pub const DEFAULT_QUEUE: &str = "KNOWLEDGE_QUEUE";
/// The longest preset `system` prompt, in characters.
pub const MAX_SYSTEM_CHARS: usize = 4000;

const KB_FIELDS: &[&str] = &[
    "embeddingModel",
    "dimensions",
    "chunk",
    "topK",
    "minScore",
    "maxContextTokens",
    "maxDocumentBytes",
    "index",
    "database",
    "queue",
];

/// `knowledge.<kb>` exactly as written.
#[derive(Debug, Clone, Default)]
pub struct RawKnowledgeBase {
    pub embedding_model: String,
    pub dimensions: Option<i64>,
    /// `chunk.maxTokens`, `chunk.overlapTokens`.
    pub chunk: (Option<i64>, Option<i64>),
    pub top_k: Option<i64>,
    pub min_score: Option<f64>,
    pub max_context_tokens: Option<i64>,
    pub max_document_bytes: Option<i64>,
    pub index: Option<String>,
    pub database: Option<String>,
    pub queue: Option<String>,
}

/// `presets.<name>` exactly as written.
#[derive(Debug, Clone, Default)]
pub struct RawPreset {
    pub model: String,
    pub knowledge: String,
    pub system: Option<String>,
    pub required: Option<bool>,
}

/// A lowest vector score in 0..=1 (never NaN, hence `Eq`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct MinScore(f64);

impl Eq for MinScore {}

impl MinScore {
    /// A score in 0..=1, or `None`.
    pub fn new(score: f64) -> Option<MinScore> {
        (0.0..=1.0).contains(&score).then_some(MinScore(score))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// A checked knowledge base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeBase {
    pub name: KbName,
    /// A Workers AI embedding model (`@cf/...`) or `<provider>/<model>`.
    pub embedding_model: String,
    /// The size of the model's vectors: the Vectorize index's dimension.
    pub dimensions: u32,
    pub chunk: ChunkSpec,
    pub top_k: u32,
    pub min_score: MinScore,
    /// The most estimated tokens of sources put before the model.
    pub max_context_tokens: u32,
    pub max_document_bytes: u32,
    /// Binding names: the Vectorize index, the D1 database, the ingestion queue's producer.
    pub index: String,
    pub database: String,
    pub queue: String,
}

impl KnowledgeBase {
    /// The fusion settings of this kb (`minScore`, the usual RRF constant).
    pub fn fuse_spec(&self) -> FuseSpec {
        FuseSpec {
            min_score: self.min_score.get(),
            ..FuseSpec::default()
        }
    }
}

/// A checked preset: a name clients send as `model` to get grounded answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// A model ref or a tier name (resolved like a request's model).
    pub model: String,
    /// The knowledge base's name (a key of `TenantConfig::knowledge`).
    pub knowledge: String,
    pub system: Option<String>,
    /// `true`: without retrieval the request fails (`503 knowledge_unavailable`); `false`: it
    /// is answered without sources.
    pub required: bool,
}

/// What a request that names a preset asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresetRoute<'a> {
    pub preset: &'a str,
    /// The model ref or tier to resolve the chain from (as a request's own model).
    pub model: &'a str,
    pub knowledge: &'a KnowledgeBase,
    pub system: Option<&'a str>,
    pub required: bool,
}

/// The preset a request's `model` names (trimmed, exact match), with its knowledge base;
/// `None` when it names none (then it is a model ref or tier as usual).
pub fn resolve_preset<'a>(
    presets: &'a BTreeMap<String, Preset>,
    knowledge: &'a BTreeMap<String, KnowledgeBase>,
    requested: Option<&str>,
) -> Option<PresetRoute<'a>> {
    let (name, preset) = presets.get_key_value(requested?.trim())?;
    Some(PresetRoute {
        preset: name,
        model: &preset.model,
        knowledge: knowledge.get(&preset.knowledge)?,
        system: preset.system.as_deref(),
        required: preset.required,
    })
}

fn object_at<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Error> {
    match v {
        Value::Object(m) => Ok(m),
        v => Err(invalid(
            path,
            format!("invalid type: {}, expected a map", describe(v)),
        )),
    }
}

fn required_str(o: &Obj<'_>, path: &str, key: &str) -> Result<String, Error> {
    o.string(key)?
        .ok_or_else(|| invalid(path, format!("missing field `{key}`")))
}

/// Reads the `knowledge` table: `{"<kb>": {...}}`.
pub(crate) fn read_knowledge(
    map: &Map<String, Value>,
) -> Result<Vec<(String, RawKnowledgeBase)>, Error> {
    let mut out = Vec::new();
    for (name, v) in map {
        let path = format!("knowledge.{name}");
        let o = Obj::new(object_at(v, &path)?, &path);
        o.known(KB_FIELDS)?;
        let chunk_path = o.path_of("chunk");
        let chunk = match o.object("chunk")? {
            None => (None, None),
            Some(c) => {
                let c = Obj::new(c, &chunk_path);
                c.known(&["maxTokens", "overlapTokens"])?;
                (c.i64("maxTokens")?, c.i64("overlapTokens")?)
            }
        };
        let raw = RawKnowledgeBase {
            embedding_model: required_str(&o, &path, "embeddingModel")?,
            dimensions: o.i64("dimensions")?,
            chunk,
            top_k: o.i64("topK")?,
            min_score: o.f64("minScore")?,
            max_context_tokens: o.i64("maxContextTokens")?,
            max_document_bytes: o.i64("maxDocumentBytes")?,
            index: o.string("index")?,
            database: o.string("database")?,
            queue: o.string("queue")?,
        };
        out.push((name.clone(), raw));
    }
    Ok(out)
}

/// Reads the `presets` table: `{"<name>": {"model", "knowledge", "system", "required"}}`.
pub(crate) fn read_presets(map: &Map<String, Value>) -> Result<Vec<(String, RawPreset)>, Error> {
    let mut out = Vec::new();
    for (name, v) in map {
        let path = format!("presets.{name}");
        let o = Obj::new(object_at(v, &path)?, &path);
        o.known(&["model", "knowledge", "system", "required"])?;
        let raw = RawPreset {
            model: required_str(&o, &path, "model")?,
            knowledge: required_str(&o, &path, "knowledge")?,
            system: o.string("system")?,
            required: o.bool("required")?,
        };
        out.push((name.clone(), raw));
    }
    Ok(out)
}

/// Knowledge settings that parse but can never serve: a token budget too small for one
/// grounded request (`need` tokens plus a full context), and, under a cost budget, an
/// embedding model without a price.
pub(crate) fn unservable(
    source: &str,
    kbs: &BTreeMap<String, KnowledgeBase>,
    budget: Option<&BudgetConfig>,
    pricing: &PriceTable,
    need: u64,
) -> Vec<ConfigError> {
    let mut found = Vec::new();
    let Some(b) = budget else {
        return found;
    };
    for (name, kb) in kbs {
        let grounded = need + u64::from(kb.max_context_tokens);
        let limits = [("budget.daily", b.daily), ("budget.monthly", b.monthly)];
        for (path, limit) in limits.into_iter().filter_map(|(p, l)| Some((p, l?))) {
            if limit < grounded {
                found.push(ConfigError::new(
                    source,
                    format!("knowledge.{name}.maxContextTokens"),
                    format!(
                        "{} does not fit {path} ({limit}): a grounded request reserves its prompt, \
                         up to {} tokens of sources and its output, at least {grounded}; lower \
                         maxContextTokens or raise the budget",
                        kb.max_context_tokens, kb.max_context_tokens
                    ),
                ));
            }
        }
        if b.limits_cost() && pricing.price(&kb.embedding_model).is_none() {
            found.push(ConfigError::new(
                source,
                format!("knowledge.{name}.embeddingModel"),
                format!(
                    "a cost budget needs a price for every model; `{}` has none: add it to pricing",
                    kb.embedding_model
                ),
            ));
        }
    }
    found
}

#[cfg(test)]
#[path = "tenant_knowledge_tests.rs"]
mod tests;
