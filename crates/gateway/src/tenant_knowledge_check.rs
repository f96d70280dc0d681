//! The rules of `knowledge.<kb>` and `presets.<name>` (the types and their reading are in
//! `tenant_knowledge`): every broken rule is reported with its path.

use std::collections::BTreeMap;

use knowledge::{ChunkSpec, KbName};

use crate::provider_config::ProviderConfig;
use crate::tenant_knowledge::{
    KnowledgeBase, MinScore, Preset, RawKnowledgeBase, RawPreset, DEFAULT_DATABASE, DEFAULT_INDEX,
    DEFAULT_MAX_CONTEXT_TOKENS, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_QUEUE, DEFAULT_TOP_K,
    EMBEDDING_MODELS, MAX_CONTEXT_TOKENS, MAX_DIMENSIONS, MAX_DOCUMENT_BYTES, MAX_SYSTEM_CHARS,
    MAX_TOP_K,
};

/// Bindings and vars the gateway names for itself; a knowledge binding may not take them.
const RESERVED_BINDINGS: &[&str] = &[
    "AI",
    "TENANT",
    "MODEL_ID",
    "AUTH_KV",
    "BUDGET_KV",
    "BUDGET_LEDGER",
    "SESSIONS",
    "USAGE_HISTORY",
    "USAGE_ANALYTICS",
    "KEY_RATE_LIMITER",
    "USER_RATE_LIMITER",
    "IP_RATE_LIMITER",
    "AUTH_FAILURE_LIMITER",
    "ADMIN_TOKEN",
    "CLIENT_TOKEN_SECRET",
    "CLIENT_TOKEN_SECRET_PREVIOUS",
    "ASSETS",
];

/// What the rest of the config tells these rules.
pub(crate) struct Context<'a> {
    pub providers: &'a BTreeMap<String, ProviderConfig>,
    pub is_tier: &'a dyn Fn(&str) -> bool,
}

/// Checks `knowledge` and `presets`, reporting every broken rule through `bad(path, message)`.
/// A preset's model is checked by the caller with the other model refs (provider, allow-list).
pub(crate) fn check(
    raw_kbs: Vec<(String, RawKnowledgeBase)>,
    raw_presets: Vec<(String, RawPreset)>,
    cx: &Context<'_>,
    bad: &mut dyn FnMut(&str, String),
) -> (BTreeMap<String, KnowledgeBase>, BTreeMap<String, Preset>) {
    let mut kbs = BTreeMap::new();
    // Each binding name with the kind and path it was first given as; each index with the
    // first kb on it and its dimension.
    let mut bindings: Vec<(String, &str, String)> = Vec::new();
    let mut indexes: Vec<(String, String, u32)> = Vec::new();
    for (name, raw) in &raw_kbs {
        let at = |field: &str| format!("knowledge.{name}.{field}");
        let kb_name = KbName::parse(name)
            .map_err(|e| bad(&format!("knowledge.{name}"), e.to_string()))
            .ok();
        let dimensions = check_model(raw, cx.providers, &at, bad);
        let chunk = check_chunk(raw.chunk, &at, bad);
        let mut number = |field: &str, v: Option<i64>, default: u32, min: u32, max: u32| match v {
            None => default,
            Some(v) => match u32::try_from(v).ok().filter(|v| (min..=max).contains(v)) {
                Some(v) => v,
                None => {
                    bad(&at(field), format!("must be between {min} and {max}"));
                    default
                }
            },
        };
        let top_k = number("topK", raw.top_k, DEFAULT_TOP_K, 1, MAX_TOP_K);
        let max_context_tokens = number(
            "maxContextTokens",
            raw.max_context_tokens,
            DEFAULT_MAX_CONTEXT_TOKENS,
            1,
            MAX_CONTEXT_TOKENS,
        );
        let max_document_bytes = number(
            "maxDocumentBytes",
            raw.max_document_bytes,
            DEFAULT_MAX_DOCUMENT_BYTES,
            1,
            MAX_DOCUMENT_BYTES,
        );
        let min_score = match raw.min_score {
            None => MinScore::new(0.0),
            Some(s) => MinScore::new(s).or_else(|| {
                bad(&at("minScore"), "must be between 0 and 1".into());
                None
            }),
        };
        let mut binding = |field: &str, kind: &'static str, v: &Option<String>, default: &str| {
            let value = v.clone().unwrap_or_else(|| default.to_string());
            if let Err(m) = check_binding(&value) {
                bad(&at(field), m);
            } else if let Some((_, other, first)) = bindings.iter().find(|(b, _, _)| *b == value) {
                if *other != kind {
                    bad(
                        &at(field),
                        format!("`{value}` is already {first} ({other}): a binding has one kind"),
                    );
                }
            } else {
                bindings.push((value.clone(), kind, at(field)));
            }
            value
        };
        let index = binding("index", "a Vectorize index", &raw.index, DEFAULT_INDEX);
        let database = binding("database", "a D1 database", &raw.database, DEFAULT_DATABASE);
        let queue = binding("queue", "a queue producer", &raw.queue, DEFAULT_QUEUE);
        if let Some(dims) = dimensions {
            match indexes.iter().find(|(i, _, _)| *i == index) {
                Some((_, first, d)) if *d != dims => bad(
                    &at("dimensions"),
                    format!("{dims} differs from knowledge.{first} ({d}), which shares the index `{index}`: one index has one dimension"),
                ),
                Some(_) => {}
                None => indexes.push((index.clone(), name.clone(), dims)),
            }
        }
        if let (Some(kb_name), Some(dimensions), Some(chunk), Some(min_score)) =
            (kb_name, dimensions, chunk, min_score)
        {
            let kb = KnowledgeBase {
                name: kb_name,
                embedding_model: raw.embedding_model.clone(),
                dimensions,
                chunk,
                top_k,
                min_score,
                max_context_tokens,
                max_document_bytes,
                index,
                database,
                queue,
            };
            kbs.insert(name.clone(), kb);
        }
    }
    let presets = check_presets(
        raw_presets,
        &|kb| raw_kbs.iter().any(|(n, _)| n == kb),
        cx,
        bad,
    );
    (kbs, presets)
}

/// Checks `presets`: names, the knowledge base each names, the system prompt.
fn check_presets(
    raw_presets: Vec<(String, RawPreset)>,
    is_kb: &dyn Fn(&str) -> bool,
    cx: &Context<'_>,
    bad: &mut dyn FnMut(&str, String),
) -> BTreeMap<String, Preset> {
    let mut presets = BTreeMap::new();
    for (name, raw) in raw_presets {
        let at = |field: &str| format!("presets.{name}.{field}");
        if name.starts_with('@') || name.contains('/') {
            bad(
                &format!("presets.{name}"),
                "a preset name must not look like a model ref (`@...`, `<provider>/<model>`)"
                    .into(),
            );
        } else if !is_slug(&name) {
            bad(
                &format!("presets.{name}"),
                "a preset name is 1-63 letters, digits, `-` or `_`".into(),
            );
        } else if (cx.is_tier)(&name) {
            bad(
                &format!("presets.{name}"),
                format!("`{name}` is already a tier (models.tiers.{name}): a name clients send as `model` means one thing"),
            );
        }
        if !is_kb(&raw.knowledge) {
            bad(
                &at("knowledge"),
                format!(
                    "`{}` names no knowledge base: define [vars.TENANT.knowledge.{}]",
                    raw.knowledge, raw.knowledge
                ),
            );
        }
        match raw
            .system
            .as_deref()
            .map(|s| (s.trim().is_empty(), s.chars().count()))
        {
            Some((true, _)) => bad(
                &at("system"),
                "must not be empty (leave it out for none)".into(),
            ),
            Some((_, n)) if n > MAX_SYSTEM_CHARS => bad(
                &at("system"),
                format!("must be at most {MAX_SYSTEM_CHARS} characters, got {n}"),
            ),
            _ => {}
        }
        let preset = Preset {
            model: raw.model,
            knowledge: raw.knowledge,
            system: raw.system,
            required: raw.required.unwrap_or(false),
        };
        presets.insert(name, preset);
    }
    presets
}

/// The embedding model's vector size: a known Workers AI model's own (`dimensions`, when
/// given, must equal it), or a provider model's `dimensions` (required, 1..=1536).
fn check_model(
    raw: &RawKnowledgeBase,
    providers: &BTreeMap<String, ProviderConfig>,
    at: &dyn Fn(&str) -> String,
    bad: &mut dyn FnMut(&str, String),
) -> Option<u32> {
    let model = raw.embedding_model.as_str();
    let known = || {
        let list: Vec<String> = EMBEDDING_MODELS
            .iter()
            .map(|(m, d)| format!("`{m}` ({d})"))
            .collect();
        list.join(", ")
    };
    if model.starts_with('@') {
        let Some(&(_, own)) = EMBEDDING_MODELS.iter().find(|(m, _)| *m == model) else {
            bad(
                &at("embeddingModel"),
                format!("`{model}` is not a Workers AI embedding model the gateway knows: use one of {} or `<provider>/<model>`", known()),
            );
            return None;
        };
        return match raw.dimensions {
            Some(d) if d != i64::from(own) => {
                bad(
                    &at("dimensions"),
                    format!(
                        "`{model}` makes {own}-dimension vectors, not {d} (leave dimensions out)"
                    ),
                );
                None
            }
            _ => Some(own),
        };
    }
    let printable = model.len() <= 200 && model.bytes().all(|b| b.is_ascii_graphic());
    let Some((provider, _)) = model
        .split_once('/')
        .filter(|(p, m)| !p.is_empty() && !m.is_empty() && printable)
    else {
        bad(
            &at("embeddingModel"),
            format!(
                "`{model}` is neither a Workers AI embedding model ({}) nor `<provider>/<model>`",
                known()
            ),
        );
        return None;
    };
    if !providers.contains_key(provider) {
        bad(
            &at("embeddingModel"),
            format!("`{model}` names no provider `{provider}`: define [vars.TENANT.providers.{provider}] or use a Workers AI embedding model"),
        );
    }
    match raw.dimensions {
        None => {
            bad(
                &at("dimensions"),
                format!("is required for a provider's model (`{model}`): the size of its vectors, 1 to {MAX_DIMENSIONS}"),
            );
            None
        }
        Some(d) => match u32::try_from(d)
            .ok()
            .filter(|d| (1..=MAX_DIMENSIONS).contains(d))
        {
            Some(d) => Some(d),
            None => {
                bad(
                    &at("dimensions"),
                    format!("must be between 1 and {MAX_DIMENSIONS} (Vectorize's largest vector)"),
                );
                None
            }
        },
    }
}

/// `chunk = {maxTokens, overlapTokens}`: `ChunkSpec`'s bounds; the overlap defaults to an
/// eighth of `maxTokens` (64 of the default 512).
fn check_chunk(
    (max, overlap): (Option<i64>, Option<i64>),
    at: &dyn Fn(&str) -> String,
    bad: &mut dyn FnMut(&str, String),
) -> Option<ChunkSpec> {
    let bounds = ChunkSpec::MIN_MAX_TOKENS..=ChunkSpec::MAX_MAX_TOKENS;
    let max = match max {
        None => ChunkSpec::default().max_tokens(),
        Some(v) => match u32::try_from(v).ok().filter(|v| bounds.contains(v)) {
            Some(v) => v,
            None => {
                bad(
                    &at("chunk.maxTokens"),
                    format!("must be between {} and {}", bounds.start(), bounds.end()),
                );
                return None;
            }
        },
    };
    let overlap = match overlap {
        None => Some(max / 8),
        Some(v) => u32::try_from(v).ok(),
    };
    match overlap.map(|o| ChunkSpec::new(max, o)) {
        Some(Ok(spec)) => Some(spec),
        _ => {
            bad(
                &at("chunk.overlapTokens"),
                format!("must be at least 0 and less than half of chunk.maxTokens ({max})"),
            );
            None
        }
    }
}

/// A binding name: 1-64 of `A-Z`, `0-9`, `_`, starting with a letter, not one of the gateway's own.
fn check_binding(name: &str) -> Result<(), String> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(format!(
            "`{name}` is not a binding name (1-64 of A-Z, 0-9, _, starting with a letter)"
        ));
    }
    if RESERVED_BINDINGS.contains(&name) {
        return Err(format!(
            "`{name}` is a binding the gateway uses for itself; name another"
        ));
    }
    Ok(())
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
