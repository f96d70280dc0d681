use serde_json::json;

use super::*;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn every_option_is_read_and_blank_ones_are_absent() {
    let meta = UploadMeta::parse(&pairs(&[
        ("title", "  Budgets \n and  limits "),
        ("url", "https://example.com/budgets"),
        ("audience", "staff, admins,staff"),
        ("metadata", r#"{"lang":"en"}"#),
    ]))
    .unwrap();
    assert_eq!(meta.title.as_deref(), Some("Budgets and limits"));
    assert_eq!(meta.url.as_deref(), Some("https://example.com/budgets"));
    assert_eq!(
        meta.audience_json().as_deref(),
        Some(r#"["admins","staff"]"#)
    );
    assert_eq!(meta.metadata_json().as_deref(), Some(r#"{"lang":"en"}"#));
    let blank = UploadMeta::parse(&pairs(&[("title", " "), ("audience", "")])).unwrap();
    assert_eq!(blank, UploadMeta::default());
}

#[test]
fn bad_options_name_their_field() {
    let field = |list: &[(&str, &str)]| match UploadMeta::parse(&pairs(list)) {
        Err(KnowledgeError::InvalidField { field, .. }) => field.to_string(),
        Err(other) => other.code().to_string(),
        Ok(m) => panic!("accepted {m:?}"),
    };
    assert_eq!(field(&[("titel", "x")]), "query");
    assert_eq!(field(&[("title", "a"), ("title", "b")]), "title");
    assert_eq!(
        field(&[("title", &"x".repeat(MAX_TITLE_CHARS + 1))]),
        "title"
    );
    assert_eq!(field(&[("url", "ftp://example.com")]), "url");
    assert_eq!(field(&[("url", "https://")]), "url");
    assert_eq!(field(&[("url", "https:///path")]), "url");
    assert_eq!(field(&[("url", "https://a.example/x y")]), "url");
    assert_eq!(
        field(&[(
            "url",
            &format!("https://a.example/{}", "x".repeat(MAX_URL_CHARS))
        )]),
        "url"
    );
    assert_eq!(field(&[("metadata", "[1]")]), "metadata");
    assert_eq!(field(&[("metadata", "{")]), "metadata");
    assert_eq!(
        field(&[(
            "metadata",
            &format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_METADATA_BYTES))
        )]),
        "metadata"
    );
    assert_eq!(field(&[("audience", "a b")]), "invalid_group");
    assert_eq!(field(&[("audience", ",")]), "invalid_group");
    let title = "x".repeat(MAX_TITLE_CHARS);
    assert_eq!(
        UploadMeta::parse(&pairs(&[("title", &title)]))
            .unwrap()
            .title,
        Some(title)
    );
    assert!(UploadMeta::parse(&pairs(&[("url", "http://a.example")])).is_ok());
    // Exactly at the limits is fine.
    let url = format!(
        "https://a.example/{}",
        "x".repeat(MAX_URL_CHARS - "https://a.example/".len())
    );
    assert_eq!(url.chars().count(), MAX_URL_CHARS);
    assert!(UploadMeta::parse(&pairs(&[("url", &url)])).is_ok());
    let metadata = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_METADATA_BYTES - 8));
    assert_eq!(metadata.len(), MAX_METADATA_BYTES);
    assert!(UploadMeta::parse(&pairs(&[("metadata", &metadata)])).is_ok());
}

#[test]
fn stored_audiences_round_trip() {
    let a = Audience::parse(&["b", "a"]).unwrap();
    assert_eq!(audience_from_json(Some(&audience_json(&a))), Some(a));
    assert_eq!(audience_from_json(None), None);
    assert_eq!(audience_from_json(Some("not json")), None);
    assert_eq!(audience_from_json(Some("[]")), None);
}

fn row() -> Value {
    json!({
        "doc_id": "budgets", "state": "ready", "reason": null, "title": "Budgets",
        "url": null, "audience": r#"["staff"]"#, "metadata": r#"{"lang":"en"}"#,
        "content_type": "text/markdown", "bytes": 120, "content_hash": "abc", "chunks": 3,
        "version": 2, "embedding_tokens": 90, "created_at": "t0", "updated_at": "t1",
        "indexed_at": "t2"
    })
}

#[test]
fn the_document_object_has_every_public_field() {
    let kb = KbName::parse("help").unwrap();
    assert_eq!(
        document_json(&kb, &row()),
        json!({
            "kb": "help", "docId": "budgets", "state": "ready", "reason": null,
            "title": "Budgets", "url": null, "audience": ["staff"], "metadata": {"lang": "en"},
            "contentType": "text/markdown", "bytes": 120, "contentHash": "abc", "chunks": 3,
            "version": 2, "embeddingTokens": 90, "createdAt": "t0", "updatedAt": "t1",
            "indexedAt": "t2"
        })
    );
}

const SETTINGS: &str = "@cf/baai/bge-small-en-v1.5|384|512|64";

#[test]
fn index_settings_name_the_model_dimensions_and_chunking() {
    let spec = ChunkSpec::new(512, 64).unwrap();
    assert_eq!(
        index_settings("@cf/baai/bge-small-en-v1.5", 384, spec),
        SETTINGS
    );
    assert_ne!(
        index_settings(
            "@cf/baai/bge-small-en-v1.5",
            384,
            ChunkSpec::new(512, 32).unwrap()
        ),
        SETTINGS
    );
}

#[test]
fn only_the_same_document_is_left_alone_and_a_queued_one_is_queued_again() {
    let meta = UploadMeta::parse(&pairs(&[
        ("title", "Budgets"),
        ("audience", "staff"),
        ("metadata", r#"{"lang":"en"}"#),
    ]))
    .unwrap();
    let with = |state: &str| {
        let mut r = row();
        r["state"] = json!(state);
        r["index_settings"] = json!(SETTINGS);
        r
    };
    let decide = |r: &Value, hash: &str, settings: &str, m: &UploadMeta| {
        reupload(Some(r), hash, settings, m)
    };
    assert_eq!(
        decide(&with("ready"), "abc", SETTINGS, &meta),
        Reupload::Unchanged
    );
    assert_eq!(
        decide(&with("indexing"), "abc", SETTINGS, &meta),
        Reupload::Unchanged
    );
    assert_eq!(
        decide(&with("queued"), "abc", SETTINGS, &meta),
        Reupload::Requeue,
        "never run: its job may be lost"
    );
    let mut waiting = with("queued");
    waiting["attempts"] = json!(2);
    assert_eq!(
        decide(&waiting, "abc", SETTINGS, &meta),
        Reupload::Unchanged,
        "a retry is scheduled: no second chain"
    );
    waiting["attempts"] = json!(0);
    assert_eq!(decide(&waiting, "abc", SETTINGS, &meta), Reupload::Requeue);
    assert_eq!(
        decide(&with("failed"), "abc", SETTINGS, &meta),
        Reupload::New,
        "failed: tried again"
    );
    assert_eq!(
        decide(&with("ready"), "abd", SETTINGS, &meta),
        Reupload::New,
        "other text"
    );
    assert_eq!(
        decide(&with("queued"), "abd", SETTINGS, &meta),
        Reupload::New,
        "other text, queued"
    );
    assert_eq!(
        decide(&with("ready"), "abc", "other|384|512|64", &meta),
        Reupload::New,
        "new index settings"
    );
    for (k, v) in [
        ("title", "Other"),
        ("url", "https://a.example"),
        ("audience", "admins"),
        ("metadata", "{}"),
    ] {
        let mut m = meta.clone();
        let other = UploadMeta::parse(&pairs(&[(k, v)])).unwrap();
        match k {
            "title" => m.title = other.title,
            "url" => m.url = other.url,
            "audience" => m.audience = other.audience,
            _ => m.metadata = other.metadata,
        }
        assert_eq!(
            decide(&with("ready"), "abc", SETTINGS, &m),
            Reupload::New,
            "{k} changed"
        );
    }
    assert_eq!(
        reupload(None, "abc", SETTINGS, &meta),
        Reupload::New,
        "no row"
    );
    assert_eq!(
        reupload(Some(&json!({})), "abc", SETTINGS, &meta),
        Reupload::New,
        "no state"
    );
}
