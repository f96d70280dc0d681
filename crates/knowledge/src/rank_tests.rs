//! Table tests of reciprocal-rank fusion, source assembly and snippets.

use std::collections::HashMap;

use super::*;
use crate::ids::{KbName, VectorScope};
use serde_json::json;

fn scope() -> String {
    VectorScope::new("acme", &KbName::parse("help").unwrap()).to_string()
}

fn c(doc: &str, chunk: u32) -> ChunkRef {
    ChunkRef {
        doc_id: DocId::parse(doc).unwrap(),
        chunk,
    }
}

/// A vector hit on `doc#n` (with `@slot` when given).
fn v(id: &str, score: f64) -> VectorHit {
    VectorHit {
        id: format!("{}:{id}", scope()),
        score,
    }
}

fn rrf(rank: u32) -> f64 {
    1.0 / (60.0 + f64::from(rank))
}

type Row = (ChunkRef, f64, Option<u32>, Option<f64>, Option<u32>);

fn rows(fused: &[Fused]) -> Vec<Row> {
    fused
        .iter()
        .map(|f| {
            (
                f.chunk.clone(),
                f.score,
                f.vector_rank,
                f.vector_score,
                f.keyword_rank,
            )
        })
        .collect()
}

#[test]
fn both_lists_add_up_and_rank_one_scores_one_over_k_plus_one() {
    let fused = fuse(
        &[v("a#0", 0.9), v("b#0", 0.8)],
        &[c("b", 0), c("c", 0)],
        FuseSpec::default(),
    );
    assert_eq!(
        rows(&fused),
        [
            (c("b", 0), rrf(2) + rrf(1), Some(2), Some(0.8), Some(1)),
            (c("a", 0), rrf(1), Some(1), Some(0.9), None),
            (c("c", 0), rrf(2), None, None, Some(2)),
        ]
    );
    let k0 = FuseSpec {
        k: 0,
        min_score: 0.0,
    };
    let scores: Vec<f64> = fuse(&[v("a#0", 0.9), v("b#0", 0.8)], &[], k0)
        .iter()
        .map(|f| f.score)
        .collect();
    assert_eq!(scores, [1.0, 0.5]);
    assert_eq!(
        FuseSpec::default(),
        FuseSpec {
            k: 60,
            min_score: 0.0
        }
    );
    assert!(fuse(&[], &[], FuseSpec::default()).is_empty());
}

#[test]
fn low_and_foreign_vector_hits_are_dropped_before_ranking() {
    let spec = FuseSpec {
        k: 60,
        min_score: 0.5,
    };
    let hits = [
        v("a#0", 0.9),
        VectorHit {
            id: "not-ours".into(),
            score: 0.85,
        },
        v("b#0", 0.5),
        v("c#0", 0.4999),
        v("d#0", f64::NAN),
    ];
    assert_eq!(
        rows(&fuse(&hits, &[], spec)),
        [
            (c("a", 0), rrf(1), Some(1), Some(0.9), None),
            (c("b", 0), rrf(2), Some(2), Some(0.5), None)
        ]
    );
    // Negative cosine scores pass a negative floor.
    let spec = FuseSpec {
        k: 60,
        min_score: -1.0,
    };
    assert_eq!(fuse(&[v("a#0", -0.3)], &[], spec).len(), 1);
}

#[test]
fn a_chunk_reached_through_several_groups_counts_once_at_its_best_rank() {
    let hits = [
        v("a#0@1", 0.7),
        v("a#0@0", 0.9),
        v("b#3@0", 0.8),
        v("b#3", 0.6),
    ];
    assert_eq!(
        rows(&fuse(
            &hits,
            &[c("a", 0), c("a", 0), c("b", 3)],
            FuseSpec::default()
        )),
        [
            (c("a", 0), rrf(1) + rrf(1), Some(1), Some(0.9), Some(1)),
            (c("b", 3), rrf(2) + rrf(2), Some(2), Some(0.8), Some(2)),
        ]
    );
}

#[test]
fn equal_scores_are_ordered_by_document_then_chunk_number() {
    let fused = fuse(
        &[v("b#0", 0.9), v("a#10", 0.9)],
        &[c("a", 2), c("c", 0)],
        FuseSpec::default(),
    );
    let order: Vec<ChunkRef> = fused.into_iter().map(|f| f.chunk).collect();
    // Scores: b#0 and a#2 rank 1 (tie: a before b); a#10 and c#0 rank 2 (tie: a before c);
    // chunk 2 before chunk 10 although "10" < "2" as text.
    assert_eq!(order, [c("a", 2), c("b", 0), c("a", 10), c("c", 0)]);
}

fn stored(title: Option<&str>, text: &str) -> StoredChunk {
    StoredChunk {
        title: title.map(str::to_string),
        url: title.map(|t| format!("https://example.com/{t}")),
        text: text.to_string(),
    }
}

fn fused(chunks: &[ChunkRef]) -> Vec<Fused> {
    let ranks: Vec<ChunkRef> = chunks.to_vec();
    fuse(&[], &ranks, FuseSpec::default())
}

#[test]
fn sources_are_packed_within_the_budget_and_numbered_from_one() {
    let forty = "x".repeat(160); // 40 tokens
    let twenty = "y".repeat(80); // 20 tokens
    let mut store = HashMap::new();
    store.insert(c("a", 0), stored(Some("A"), &forty));
    store.insert(c("b", 0), stored(None, &forty));
    store.insert(c("c", 0), stored(Some("C"), &twenty));
    store.insert(c("d", 0), stored(Some("D"), " \n "));
    store.insert(c("e", 0), stored(Some("E"), &twenty));
    let order = fused(&[
        c("a", 0),
        c("missing", 0),
        c("d", 0),
        c("b", 0),
        c("c", 0),
        c("e", 0),
    ]);
    let lookup = |r: &ChunkRef| store.get(r);
    let pick = |budget: u32, top_k: usize| -> Vec<(u32, String)> {
        assemble(&order, lookup, budget, top_k)
            .iter()
            .map(|s| (s.n, s.doc_id.to_string()))
            .collect()
    };
    let ids = |list: &[(u32, &str)]| -> Vec<(u32, String)> {
        list.iter().map(|(n, d)| (*n, d.to_string())).collect()
    };
    // 40 + 40 = 80 leaves 20: c fits exactly, e does not.
    assert_eq!(pick(100, 10), ids(&[(1, "a"), (2, "b"), (3, "c")]));
    assert_eq!(
        pick(120, 10),
        ids(&[(1, "a"), (2, "b"), (3, "c"), (4, "e")])
    );
    assert_eq!(pick(119, 10), ids(&[(1, "a"), (2, "b"), (3, "c")]));
    // b (40) does not fit after a in 60: the smaller c after it does.
    assert_eq!(pick(60, 10), ids(&[(1, "a"), (2, "c")]));
    assert_eq!(pick(40, 10), ids(&[(1, "a")]));
    assert_eq!(pick(39, 10), ids(&[(1, "c")]));
    assert_eq!(pick(100, 2), ids(&[(1, "a"), (2, "b")]));
    assert_eq!(pick(100, 0), ids(&[]));
    assert_eq!(pick(0, 10), ids(&[]));
    let sources = assemble(&order, lookup, 100, 1);
    let s = &sources[0];
    assert_eq!(
        (
            s.title.as_deref(),
            s.url.as_deref(),
            s.chunk,
            s.score,
            s.vector_score,
            s.text.as_str()
        ),
        (
            Some("A"),
            Some("https://example.com/A"),
            0,
            rrf(1),
            None,
            forty.as_str()
        )
    );
    assert_eq!(s.snippet, forty);
}

#[test]
fn a_source_has_a_public_json_shape() {
    let source = Source {
        n: 2,
        doc_id: DocId::parse("faq.md").unwrap(),
        title: Some("FAQ".into()),
        url: None,
        chunk: 3,
        score: 0.5,
        vector_score: Some(0.8),
        snippet: "Hello".into(),
        text: "Hello".into(),
    };
    assert_eq!(
        source.to_json(),
        json!({"n": 2, "docId": "faq.md", "title": "FAQ", "url": null, "chunk": 3, "score": 0.5, "snippet": "Hello"})
    );
}

#[test]
fn snippets_cut_at_a_word_boundary() {
    let check = |text: &str, expected: &str| assert_eq!(snippet(text), expected, "{text:?}");
    check("Short\n\n  text\there.", "Short text here.");
    check("", "");
    let exactly = "abcd ".repeat(40); // 200 characters with its last space
    check(&exactly, exactly.trim_end());
    let word = "w".repeat(199);
    check(&format!("{word} next"), &format!("{word}…"));
    check(&format!("{word}x next"), &format!("{word}x…"));
    check(&format!("{word}xy next"), &format!("{word}x…"));
    check(&format!("a {word}xy"), "a…");
    check(&"é".repeat(250), &format!("{}…", "é".repeat(200)));
}
