use serde_json::json;

use super::*;

fn scope() -> VectorScope {
    VectorScope::new("acme", &KbName::parse("help").unwrap())
}

fn doc() -> DocId {
    DocId::parse("guide").unwrap()
}

const TEXT: &str =
    "# Guide\n\nFirst paragraph about budgets.\n\n## Keys\n\nSecond paragraph about keys.";

#[test]
fn jobs_round_trip_and_bad_ones_are_refused() {
    let job = Job {
        kb: KbName::parse("help").unwrap(),
        doc_id: doc(),
        version: 3,
        attempt: 2,
    };
    assert_eq!(Job::parse(&job.to_json()), Ok(job.clone()));
    assert_eq!(job.next().attempt, 3);
    assert_eq!(job.next().version, 3, "the same version");
    let first = json!({"kb": "help", "docId": "guide", "version": 1});
    assert_eq!(
        Job::parse(&first).map(|j| j.attempt),
        Ok(1),
        "no attempt: the first"
    );
    for bad in [
        json!({}),
        json!({"kb": "help", "docId": "guide"}),
        json!({"kb": "help", "docId": "guide", "version": 0}),
        json!({"kb": "help", "version": 1}),
        json!({"docId": "guide", "version": 1}),
        json!({"kb": "help", "docId": "a b", "version": 1}),
        json!({"kb": "Help Me", "docId": "guide", "version": 1}),
        json!({"kb": "help", "docId": "guide", "version": 1, "attempt": 0}),
        json!({"kb": "help", "docId": "guide", "version": 1, "attempt": "2"}),
    ] {
        assert!(Job::parse(&bad).is_err(), "{bad}");
    }
}

#[test]
fn a_first_run_writes_every_chunk_and_removes_nothing() {
    let spec = ChunkSpec::new(64, 8).unwrap();
    let p = plan(&scope(), &doc(), TEXT, spec, None, &Indexed::default()).unwrap();
    assert!(!p.chunks.is_empty());
    assert_eq!(
        p.placements.len(),
        p.chunks.len(),
        "one vector per chunk for everyone"
    );
    assert!(p.stale.is_empty());
}

#[test]
fn a_shorter_or_narrower_document_removes_exactly_the_vectors_it_no_longer_has() {
    let spec = ChunkSpec::new(64, 8).unwrap();
    let staff = Audience::parse(&["staff"]).unwrap();
    let was = Indexed {
        chunks: 5,
        audience: None,
    };
    let p = plan(&scope(), &doc(), "One short paragraph.", spec, None, &was).unwrap();
    assert_eq!(p.chunks.len(), 1);
    let kept: Vec<&str> = p.placements.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(p.stale.len(), 4, "chunks 1..=4 are gone");
    assert!(p.stale.iter().all(|id| !kept.contains(&id.as_str())));
    // Everyone -> staff: every old "everyone" id is stale (the new ones carry a slot).
    let p = plan(
        &scope(),
        &doc(),
        "One short paragraph.",
        spec,
        Some(&staff),
        &Indexed {
            chunks: 1,
            audience: None,
        },
    )
    .unwrap();
    assert_eq!(p.stale.len(), 1);
    assert!(p.placements[0].id.ends_with("@0"));
    // The same shape again: nothing stale.
    let again = Indexed {
        chunks: 1,
        audience: Some(staff.clone()),
    };
    assert!(plan(
        &scope(),
        &doc(),
        "One short paragraph.",
        spec,
        Some(&staff),
        &again
    )
    .unwrap()
    .stale
    .is_empty());
    // Deleting: every indexed id.
    assert_eq!(stale_ids(&scope(), &doc(), &was, &[]).unwrap().len(), 5);
}

#[test]
fn retries_back_off_then_stop() {
    let delays: Vec<Option<u32>> = (1..=6).map(retry_delay_secs).collect();
    assert_eq!(
        delays,
        vec![Some(10), Some(20), Some(40), Some(80), None, None]
    );
    assert_eq!(retry_delay_secs(0), Some(10));
}
