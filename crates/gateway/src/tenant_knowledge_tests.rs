//! Tests of `knowledge` and `presets`: defaults, every rule with its path, what can never
//! serve, and presets resolved.
use super::*;
use crate::tenant::TenantConfig;

const BASE: &str = r#"{
    "tenantId": "acme",
    "aiGatewayId": "gw",
    "providers": { "corp": { "kind": "openai-compatible", "baseUrl": "https://x.example/v1", "auth": { "type": "none" } } },
    "models": { "chat": "@cf/a", "tiers": { "fast": "@cf/b" } },
    "knowledge": { "help": { "embeddingModel": "@cf/baai/bge-base-en-v1.5" } },
    "presets": { "support": { "model": "fast", "knowledge": "help" } }
}"#;

/// The base config with `patch` merged in (`null` removes a field).
fn config(patch: &str) -> Result<TenantConfig, Vec<String>> {
    let mut base: Value = serde_json::from_str(BASE).unwrap();
    merge(&mut base, serde_json::from_str(patch).unwrap());
    TenantConfig::check("t", &base.to_string())
        .map_err(|all| all.iter().map(ToString::to_string).collect())
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

/// `patch` is refused with exactly `expected` (`t: ` is prepended), or accepted when it is empty.
fn check(patch: &str, expected: &str) {
    let want = if expected.is_empty() {
        Ok(())
    } else {
        Err(vec![format!("t: {expected}")])
    };
    assert_eq!(config(patch).map(|_| ()), want, "patch {patch}");
}

fn kb(patch: &str) -> KnowledgeBase {
    let c = config(&format!(r#"{{"knowledge": {{"help": {patch}}}}}"#)).unwrap();
    c.knowledge["help"].clone()
}

#[test]
fn a_knowledge_base_has_defaults() {
    let kb = kb("{}");
    assert_eq!(kb.name.as_str(), "help");
    assert_eq!(kb.embedding_model, "@cf/baai/bge-base-en-v1.5");
    assert_eq!(kb.dimensions, 768);
    assert_eq!(kb.chunk, ChunkSpec::default());
    assert_eq!(
        (kb.chunk.max_tokens(), kb.chunk.overlap_tokens()),
        (512, 64)
    );
    assert_eq!((kb.top_k, kb.min_score.get()), (5, 0.0));
    assert_eq!(kb.max_context_tokens, 1500);
    assert_eq!(kb.max_document_bytes, 5 * 1024 * 1024);
    assert_eq!(
        (kb.index.as_str(), kb.database.as_str(), kb.queue.as_str()),
        ("KNOWLEDGE_INDEX", "KNOWLEDGE_DB", "KNOWLEDGE_QUEUE")
    );
    assert_eq!(kb.fuse_spec(), FuseSpec::default());
    let preset = &config("{}").unwrap().presets["support"];
    assert_eq!(
        preset,
        &Preset {
            model: "fast".into(),
            knowledge: "help".into(),
            system: None,
            required: false
        }
    );
    assert!(config(r#"{"knowledge": null, "presets": null}"#)
        .unwrap()
        .knowledge
        .is_empty());
}

#[test]
fn every_field_can_be_set() {
    let all = kb(r#"{"embeddingModel": "corp/embed-3", "dimensions": 1536,
        "chunk": {"maxTokens": 256, "overlapTokens": 0}, "topK": 20, "minScore": 0.35,
        "maxContextTokens": 32768, "maxDocumentBytes": 26214400,
        "index": "HELP_INDEX", "database": "HELP_DB", "queue": "HELP_QUEUE"}"#);
    assert_eq!(
        (all.embedding_model.as_str(), all.dimensions),
        ("corp/embed-3", 1536)
    );
    assert_eq!(
        (all.chunk.max_tokens(), all.chunk.overlap_tokens()),
        (256, 0)
    );
    assert_eq!((all.top_k, all.min_score.get()), (20, 0.35));
    assert_eq!(all.fuse_spec().min_score, 0.35);
    assert_eq!(
        (all.max_context_tokens, all.max_document_bytes),
        (32_768, 26_214_400)
    );
    assert_eq!(
        (
            all.index.as_str(),
            all.database.as_str(),
            all.queue.as_str()
        ),
        ("HELP_INDEX", "HELP_DB", "HELP_QUEUE")
    );
    // The overlap defaults to an eighth of maxTokens.
    assert_eq!(
        kb(r#"{"chunk": {"maxTokens": 32}}"#).chunk.overlap_tokens(),
        4
    );
    assert_eq!(
        kb(r#"{"chunk": {"overlapTokens": 255}}"#)
            .chunk
            .overlap_tokens(),
        255
    );
    assert_eq!(kb(r#"{"minScore": 1}"#).min_score.get(), 1.0);
    for (model, dims) in EMBEDDING_MODELS {
        let m = format!(r#"{{"embeddingModel": "{model}", "dimensions": {dims}}}"#);
        assert_eq!(kb(&m).dimensions, *dims, "{model}");
    }
    let c = config(r#"{"presets": {"support": {"system": "Be brief.", "required": true}, "direct": {"model": "corp/gpt", "knowledge": "help"}}}"#).unwrap();
    assert_eq!(c.presets["support"].system.as_deref(), Some("Be brief."));
    assert!(c.presets["support"].required);
    assert_eq!(c.presets["direct"].model, "corp/gpt");
    let long = "s".repeat(MAX_SYSTEM_CHARS);
    check(
        &format!(r#"{{"presets": {{"support": {{"system": "{long}"}}}}}}"#),
        "",
    );
}

#[test]
fn every_knowledge_rule_names_its_path() {
    let known = "`@cf/baai/bge-small-en-v1.5` (384), `@cf/baai/bge-base-en-v1.5` (768), `@cf/baai/bge-large-en-v1.5` (1024), `@cf/baai/bge-m3` (1024)";
    let cases: &[(&str, String)] = &[
        (r#"{"Help": {"embeddingModel": "@cf/baai/bge-base-en-v1.5"}}"#, "knowledge.Help: knowledge base name must be 1 to 32 characters of a-z 0-9 _ -, got 'H'".into()),
        (r#"{"help": {"embeddingModel": "@cf/meta/llama-3.1-8b-instruct"}}"#, format!("knowledge.help.embeddingModel: `@cf/meta/llama-3.1-8b-instruct` is not a Workers AI embedding model the gateway knows: use one of {known} or `<provider>/<model>`")),
        (r#"{"help": {"embeddingModel": "bge"}}"#, format!("knowledge.help.embeddingModel: `bge` is neither a Workers AI embedding model ({known}) nor `<provider>/<model>`")),
        (r#"{"help": {"embeddingModel": "corp/a b", "dimensions": 8}}"#, format!("knowledge.help.embeddingModel: `corp/a b` is neither a Workers AI embedding model ({known}) nor `<provider>/<model>`")),
        (r#"{"help": {"embeddingModel": "lab/embed", "dimensions": 8}}"#, "knowledge.help.embeddingModel: `lab/embed` names no provider `lab`: define [vars.TENANT.providers.lab] or use a Workers AI embedding model".into()),
        (r#"{"help": {"dimensions": 384}}"#, "knowledge.help.dimensions: `@cf/baai/bge-base-en-v1.5` makes 768-dimension vectors, not 384 (leave dimensions out)".into()),
        (r#"{"help": {"embeddingModel": "corp/embed"}}"#, "knowledge.help.dimensions: is required for a provider's model (`corp/embed`): the size of its vectors, 1 to 1536".into()),
        (r#"{"help": {"embeddingModel": "corp/embed", "dimensions": 1537}}"#, "knowledge.help.dimensions: must be between 1 and 1536 (Vectorize's largest vector)".into()),
        (r#"{"help": {"embeddingModel": "corp/embed", "dimensions": 0}}"#, "knowledge.help.dimensions: must be between 1 and 1536 (Vectorize's largest vector)".into()),
        (r#"{"help": {"chunk": {"maxTokens": 31}}}"#, "knowledge.help.chunk.maxTokens: must be between 32 and 2048".into()),
        (r#"{"help": {"chunk": {"maxTokens": 2049}}}"#, "knowledge.help.chunk.maxTokens: must be between 32 and 2048".into()),
        (r#"{"help": {"chunk": {"overlapTokens": 256}}}"#, "knowledge.help.chunk.overlapTokens: must be at least 0 and less than half of chunk.maxTokens (512)".into()),
        (r#"{"help": {"chunk": {"maxTokens": 100, "overlapTokens": -1}}}"#, "knowledge.help.chunk.overlapTokens: must be at least 0 and less than half of chunk.maxTokens (100)".into()),
        (r#"{"help": {"topK": 0}}"#, "knowledge.help.topK: must be between 1 and 20".into()),
        (r#"{"help": {"topK": 21}}"#, "knowledge.help.topK: must be between 1 and 20".into()),
        (r#"{"help": {"minScore": -0.1}}"#, "knowledge.help.minScore: must be between 0 and 1".into()),
        (r#"{"help": {"minScore": 1.01}}"#, "knowledge.help.minScore: must be between 0 and 1".into()),
        (r#"{"help": {"maxContextTokens": 0}}"#, "knowledge.help.maxContextTokens: must be between 1 and 32768".into()),
        (r#"{"help": {"maxContextTokens": 32769}}"#, "knowledge.help.maxContextTokens: must be between 1 and 32768".into()),
        (r#"{"help": {"maxDocumentBytes": 0}}"#, "knowledge.help.maxDocumentBytes: must be between 1 and 26214400".into()),
        (r#"{"help": {"maxDocumentBytes": 26214401}}"#, "knowledge.help.maxDocumentBytes: must be between 1 and 26214400".into()),
        (r#"{"help": {"index": "help-index"}}"#, "knowledge.help.index: `help-index` is not a binding name (1-64 of A-Z, 0-9, _, starting with a letter)".into()),
        (r#"{"help": {"database": "1DB"}}"#, "knowledge.help.database: `1DB` is not a binding name (1-64 of A-Z, 0-9, _, starting with a letter)".into()),
        (r#"{"help": {"queue": ""}}"#, "knowledge.help.queue: `` is not a binding name (1-64 of A-Z, 0-9, _, starting with a letter)".into()),
        (r#"{"help": {"queue": "AUTH_KV"}}"#, "knowledge.help.queue: `AUTH_KV` is a binding the gateway uses for itself; name another".into()),
        (r#"{"help": {"database": "KNOWLEDGE_INDEX"}}"#, "knowledge.help.database: `KNOWLEDGE_INDEX` is already knowledge.help.index (a Vectorize index): a binding has one kind".into()),
        (r#"{"docs": {"embeddingModel": "@cf/baai/bge-base-en-v1.5", "database": "DOCS_DB", "queue": "KNOWLEDGE_DB"}}"#, "knowledge.help.database: `KNOWLEDGE_DB` is already knowledge.docs.queue (a queue producer): a binding has one kind".into()),
        (r#"{"docs": {"embeddingModel": "@cf/baai/bge-m3"}}"#, "knowledge.help.dimensions: 768 differs from knowledge.docs (1024), which shares the index `KNOWLEDGE_INDEX`: one index has one dimension".into()),
        // Shape errors stop at the first.
        (r#"{"help": 3}"#, "knowledge.help: invalid type: integer `3`, expected a map".into()),
        (r#"{"help": {"embeddingModel": null}}"#, "knowledge.help: missing field `embeddingModel`".into()),
        (r#"{"help": {"topK": "5"}}"#, "knowledge.help.topK: invalid type: string \"5\", expected i64".into()),
        (r#"{"help": {"minScore": "high"}}"#, "knowledge.help.minScore: invalid type: string \"high\", expected f64".into()),
        (r#"{"help": {"topk": 5}}"#, format!("knowledge.help.topk: unknown field `topk`, expected one of {}", KB_FIELDS.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", "))),
        (r#"{"help": {"chunk": {"max": 5}}}"#, "knowledge.help.chunk.max: unknown field `max`, expected `maxTokens` or `overlapTokens`".into()),
        (r#"{"help": {"chunk": 5}}"#, "knowledge.help.chunk: invalid type: integer `5`, expected a map".into()),
    ];
    for (knowledge, expected) in cases {
        check(&format!(r#"{{"knowledge": {knowledge}}}"#), expected);
    }
    // Knowledge bases may share every binding of one kind, at one dimension.
    check(
        r#"{"knowledge": {"docs": {"embeddingModel": "corp/embed", "dimensions": 768}}}"#,
        "",
    );
    check(
        r#"{"knowledge": {"docs": {"embeddingModel": "@cf/baai/bge-m3", "index": "DOCS_INDEX"}}}"#,
        "",
    );
    check(
        r#"{"knowledge": {"help": {"chunk": {"maxTokens": 2048, "overlapTokens": 1023}}}}"#,
        "",
    );
}

#[test]
fn every_preset_rule_names_its_path() {
    let cases: &[(&str, &str)] = &[
        (r#"{"fast": {"model": "@cf/a", "knowledge": "help"}}"#, "presets.fast: `fast` is already a tier (models.tiers.fast): a name clients send as `model` means one thing"),
        (r#"{"corp/x": {"model": "@cf/a", "knowledge": "help"}}"#, "presets.corp/x: a preset name must not look like a model ref (`@...`, `<provider>/<model>`)"),
        (r#"{"@help": {"model": "@cf/a", "knowledge": "help"}}"#, "presets.@help: a preset name must not look like a model ref (`@...`, `<provider>/<model>`)"),
        (r#"{"a b": {"model": "@cf/a", "knowledge": "help"}}"#, "presets.a b: a preset name is 1-63 letters, digits, `-` or `_`"),
        (r#"{"support": {"knowledge": "faq"}}"#, "presets.support.knowledge: `faq` names no knowledge base: define [vars.TENANT.knowledge.faq]"),
        (r#"{"support": {"model": "gpt"}}"#, "presets.support.model: `gpt` is neither a Workers AI id (`@cf/...`, `@hf/...`) nor `<provider>/<model>`"),
        (r#"{"support": {"model": "lab/gpt"}}"#, "presets.support.model: `lab/gpt` names no provider `lab`: define [vars.TENANT.providers.lab] or use a Workers AI id (@cf/...)"),
        (r#"{"support": {"system": ""}}"#, "presets.support.system: must not be empty (leave it out for none)"),
        (r#"{"support": {"system": " \n"}}"#, "presets.support.system: must not be empty (leave it out for none)"),
        (r#"{"support": {"model": null}}"#, "presets.support: missing field `model`"),
        (r#"{"support": {"knowledge": null}}"#, "presets.support: missing field `knowledge`"),
        (r#"{"support": {"required": "yes"}}"#, "presets.support.required: invalid type: string \"yes\", expected a boolean"),
        (r#"{"support": {"temperature": 0}}"#, "presets.support.temperature: unknown field `temperature`, expected one of `model`, `knowledge`, `system`, `required`"),
        (r#"{"support": "fast"}"#, "presets.support: invalid type: string \"fast\", expected a map"),
    ];
    for (presets, expected) in cases {
        check(&format!(r#"{{"presets": {presets}}}"#), expected);
    }
    let long = "s".repeat(MAX_SYSTEM_CHARS + 1);
    check(
        &format!(r#"{{"presets": {{"support": {{"system": "{long}"}}}}}}"#),
        "presets.support.system: must be at most 4000 characters, got 4001",
    );
    // A preset's model is held to the allow-list like a tier's entries; a tier passes as itself.
    let allow = r#""modelAllowList": ["@cf/a", "@cf/b"]"#;
    check(
        &format!(r#"{{{allow}, "presets": {{"support": {{"model": "@cf/c"}}}}}}"#),
        "presets.support.model: `@cf/c` is not in modelAllowList",
    );
    check(
        &format!(r#"{{{allow}, "presets": {{"support": {{"model": "@cf/b"}}}}}}"#),
        "",
    );
    check(&format!(r#"{{{allow}}}"#), "");
}

#[test]
fn every_broken_rule_is_listed_at_once() {
    let all = config(
        r#"{"knowledge": {"help": {"topK": 0, "minScore": 2, "index": "x"}},
            "presets": {"support": {"knowledge": "faq", "model": "gpt"}}}"#,
    )
    .unwrap_err();
    assert_eq!(
        all,
        [
            "t: presets.support.model: `gpt` is neither a Workers AI id (`@cf/...`, `@hf/...`) nor `<provider>/<model>`",
            "t: knowledge.help.topK: must be between 1 and 20",
            "t: knowledge.help.minScore: must be between 0 and 1",
            "t: knowledge.help.index: `x` is not a binding name (1-64 of A-Z, 0-9, _, starting with a letter)",
            "t: presets.support.knowledge: `faq` names no knowledge base: define [vars.TENANT.knowledge.faq]",
        ]
    );
}

#[test]
fn a_request_model_that_names_a_preset_resolves_to_its_grounding() {
    let c = config(
        r#"{"presets": {"strict": {"model": "@cf/a", "knowledge": "help", "system": "Only facts.", "required": true}}}"#,
    )
    .unwrap();
    let check = |requested: Option<&str>, expected: Option<(&str, &str, Option<&str>, bool)>| {
        let got = resolve_preset(&c.presets, &c.knowledge, requested);
        assert_eq!(got, c.preset(requested), "the method is the function");
        let got = got.map(|r| {
            assert_eq!(r.knowledge, &c.knowledge["help"]);
            (r.preset, r.model, r.system, r.required)
        });
        assert_eq!(got, expected, "{requested:?}");
    };
    check(Some("support"), Some(("support", "fast", None, false)));
    check(Some(" support\n"), Some(("support", "fast", None, false)));
    check(
        Some("strict"),
        Some(("strict", "@cf/a", Some("Only facts."), true)),
    );
    check(Some("Support"), None);
    check(Some("fast"), None);
    check(Some("@cf/a"), None);
    check(Some(""), None);
    check(None, None);
}

#[test]
fn a_budget_must_hold_a_grounded_request_and_price_the_embedding_model() {
    let unservable = |patch: &str| -> Vec<String> {
        let c = config(patch).unwrap();
        c.unservable("t").iter().map(ToString::to_string).collect()
    };
    // 8 prompt + 64 output (the shrink-to-fit floor) + 1500 of sources = 1572.
    assert!(unservable(r#"{"budget": {"daily": 1572}}"#).is_empty());
    assert_eq!(
        unservable(r#"{"budget": {"daily": 1571, "monthly": 1571}}"#),
        [
            "t: knowledge.help.maxContextTokens: 1500 does not fit budget.daily (1571): a grounded request reserves its prompt, up to 1500 tokens of sources and its output, at least 1572; lower maxContextTokens or raise the budget",
            "t: knowledge.help.maxContextTokens: 1500 does not fit budget.monthly (1571): a grounded request reserves its prompt, up to 1500 tokens of sources and its output, at least 1572; lower maxContextTokens or raise the budget",
        ]
    );
    assert!(unservable(
        r#"{"budget": {"daily": 1000}, "knowledge": {"help": {"maxContextTokens": 900}}}"#
    )
    .is_empty());
    // A cost budget: built-in embedding models are priced; a provider's needs a price.
    let priced = r#""pricing": {"@cf/a": {"input": 1}, "@cf/b": {"input": 1}}"#;
    assert!(unservable(&format!(r#"{{"budget": {{"dailyUsd": 5}}, {priced}}}"#)).is_empty());
    let provider = r#""knowledge": {"help": {"embeddingModel": "corp/embed", "dimensions": 8}}"#;
    assert_eq!(
        unservable(&format!(r#"{{"budget": {{"monthlyUsd": 5}}, {priced}, {provider}}}"#)),
        ["t: knowledge.help.embeddingModel: a cost budget needs a price for every model; `corp/embed` has none: add it to pricing"]
    );
    let embed_priced = r#""pricing": {"@cf/a": {"input": 1}, "@cf/b": {"input": 1}, "corp/embed": {"input": 0.02}}"#;
    assert!(unservable(&format!(
        r#"{{"budget": {{"monthlyUsd": 5}}, {embed_priced}, {provider}}}"#
    ))
    .is_empty());
    // Token budgets need no prices; no budget needs nothing.
    assert!(unservable(&format!(r#"{{"budget": {{"daily": 5000}}, {provider}}}"#)).is_empty());
    assert!(unservable(&format!("{{{provider}}}")).is_empty());
    // A preset's own model (not a tier) is a chat model a cost budget must price.
    let c =
        config(r#"{"presets": {"direct": {"model": "corp/gpt", "knowledge": "help"}}}"#).unwrap();
    assert_eq!(c.models_named(), ["@cf/a", "@cf/b", "corp/gpt"]);
    assert_eq!(
        unservable(&format!(r#"{{"budget": {{"dailyUsd": 5}}, {priced}, "presets": {{"direct": {{"model": "corp/gpt", "knowledge": "help"}}}}}}"#)),
        ["t: budget.dailyUsd: a cost budget needs a price for every model; `corp/gpt` has none: add it to pricing"]
    );
}

#[test]
fn presets_are_listed_after_tiers_as_the_tenant_s_models() {
    let tenant = config("{}").unwrap();
    let listed = crate::model::listed_models(&tenant, None);
    let ids: Vec<&str> = listed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids[..3], ["fast", "support", "@cf/a"]);
    assert_eq!(listed[1].owned_by, "acme");
}

#[test]
fn embedding_models_have_their_input_limits() {
    assert_eq!(embedding_input_tokens("@cf/baai/bge-small-en-v1.5"), 512);
    assert_eq!(embedding_input_tokens("@cf/baai/bge-m3"), 8192);
    assert_eq!(
        embedding_input_tokens("corp/text-embedding-3-small"),
        u32::MAX
    );
    for (model, _) in EMBEDDING_MODELS {
        assert!(embedding_input_tokens(model) < u32::MAX, "{model}");
    }
}
