//! Table tests of `kb_problems`: each finding, and the quiet case.
use super::*;
use crate::tenant::TenantConfig;

fn kb() -> KnowledgeBase {
    let cfg = r#"{
        "tenantId": "acme", "aiGatewayId": "gw", "models": { "chat": "@cf/a" },
        "knowledge": { "help": { "embeddingModel": "@cf/baai/bge-small-en-v1.5" } }
    }"#;
    let t = TenantConfig::check("t", cfg).unwrap_or_else(|e| panic!("{e:?}"));
    t.knowledge["help"].clone()
}

fn found(index: IndexFound, database: bool, queue: bool) -> KbFound {
    KbFound {
        index,
        database,
        queue,
    }
}

#[test]
fn table() {
    use IndexFound::*;
    let cases: &[(KbFound, &[&[&str]])] = &[
        (found(Dimensions(384), true, true), &[]),
        (
            found(Missing, true, true),
            &[&["knowledge.help", "`KNOWLEDGE_INDEX` Vectorize binding"]],
        ),
        (
            found(Dimensions(384), false, true),
            &[&["knowledge.help", "`KNOWLEDGE_DB` D1 binding"]],
        ),
        (
            found(Dimensions(384), true, false),
            &[&["knowledge.help", "`KNOWLEDGE_QUEUE` queue producer binding"]],
        ),
        (
            found(Dimensions(768), true, true),
            &[&[
                "knowledge.help.dimensions",
                "`KNOWLEDGE_INDEX`",
                "768",
                "384",
            ]],
        ),
        (
            found(Failed("boom".into()), true, true),
            &[&["knowledge.help", "`KNOWLEDGE_INDEX`", "boom"]],
        ),
        (
            found(Missing, false, false),
            &[
                &["KNOWLEDGE_INDEX"],
                &["KNOWLEDGE_DB"],
                &["KNOWLEDGE_QUEUE"],
            ],
        ),
    ];
    let kb = kb();
    assert_eq!(kb.dimensions, 384);
    for (f, want) in cases {
        let mut got = Vec::new();
        kb_problems("help", &kb, f, &mut got);
        assert_eq!(got.len(), want.len(), "{f:?}: {got:?}");
        for (g, parts) in got.iter().zip(want.iter()) {
            for p in *parts {
                assert!(g.contains(p), "{f:?}: `{g}` lacks `{p}`");
            }
        }
    }
}
