//! Table tests of audiences, vector placements and filters, the audience SQL and keyword queries.

use super::*;
use serde_json::json;

fn scope() -> VectorScope {
    VectorScope::new("acme", &KbName::parse("help").unwrap())
}

fn doc() -> DocId {
    DocId::parse("faq.md").unwrap()
}

fn viewer(groups: &[&str]) -> Viewer {
    Viewer::parse(groups).unwrap()
}

fn audience(groups: &[&str]) -> Audience {
    Audience::parse(groups).unwrap()
}

#[test]
fn audiences_are_sorted_distinct_and_bounded() {
    let names = |a: &Audience| a.groups().iter().map(|g| g.to_string()).collect::<Vec<_>>();
    assert_eq!(
        names(&audience(&["sales", "eng", "sales"])),
        ["eng", "sales"]
    );
    let sixteen: Vec<String> = (0..16).map(|i| format!("g{i:02}")).collect();
    assert_eq!(Audience::parse(&sixteen).unwrap().groups().len(), 16);
    let seventeen: Vec<String> = (0..17).map(|i| format!("g{i:02}")).collect();
    let e = Audience::parse(&seventeen).unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (
            "invalid_audience",
            "audience has 17 groups; at most 16 are allowed"
        )
    );
    // Seventeen names that are sixteen distinct groups are fine.
    let mut repeated = sixteen.clone();
    repeated.push("g00".into());
    assert!(Audience::parse(&repeated).is_ok());
    let e = Audience::parse::<&str>(&[]).unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (
            "invalid_audience",
            "audience must list at least one group (omit it for everyone)"
        )
    );
    assert_eq!(Audience::parse(&["*"]).unwrap_err().code(), "invalid_group");
}

#[test]
fn viewers_are_bounded_and_see_what_intersects() {
    let v = viewer(&["sales", "eng", "eng"]);
    assert_eq!(
        v.groups().iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        ["eng", "sales"]
    );
    let check = |v: &Viewer, a: Option<&[&str]>, visible: bool| {
        let a = a.map(audience);
        assert_eq!(v.can_see(a.as_ref()), visible, "{v:?} {a:?}");
    };
    check(&v, None, true);
    check(&v, Some(&["eng"]), true);
    check(&v, Some(&["hr", "sales"]), true);
    check(&v, Some(&["hr"]), false);
    check(&v, Some(&["Eng"]), false);
    check(&Viewer::default(), None, true);
    check(&Viewer::default(), Some(&["eng"]), false);
    let many: Vec<String> = (0..32).map(|i| format!("g{i}")).collect();
    assert_eq!(Viewer::parse(&many).unwrap().groups().len(), 32);
    let too_many: Vec<String> = (0..33).map(|i| format!("g{i}")).collect();
    let e = Viewer::parse(&too_many).unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (
            "invalid_audience",
            "a caller may have at most 32 groups, got 33"
        )
    );
    assert_eq!(
        Viewer::parse(&["ok", "no way"]).unwrap_err().code(),
        "invalid_group"
    );
}

#[test]
fn a_chunk_is_stored_once_per_group_or_once_for_everyone() {
    let s = scope();
    let ids = vector_ids(&s, &doc(), 2, None).unwrap();
    assert_eq!(ids, [format!("{s}:faq.md#0"), format!("{s}:faq.md#1")]);
    let a = audience(&["sales", "eng"]);
    let placed = placements(&s, &doc(), 2, Some(&a)).unwrap();
    let got: Vec<(String, u32, &str)> = placed
        .iter()
        .map(|p| (p.id.clone(), p.chunk, p.aud.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (format!("{s}:faq.md#0@0"), 0, "eng"),
            (format!("{s}:faq.md#0@1"), 0, "sales"),
            (format!("{s}:faq.md#1@0"), 1, "eng"),
            (format!("{s}:faq.md#1@1"), 1, "sales"),
        ]
    );
    for p in &placed {
        assert_eq!(chunk_of(&p.id), Some((doc(), p.chunk)));
    }
    let kb = KbName::parse("help").unwrap();
    assert_eq!(
        placed[1].metadata(&kb),
        json!({"kb": "help", "aud": "sales", "doc": "faq.md", "chunk": 0})
    );
    let everyone = placements(&s, &doc(), 1, None).unwrap();
    assert_eq!(
        everyone[0].metadata(&kb),
        json!({"kb": "help", "aud": "*", "doc": "faq.md", "chunk": 0})
    );
    assert!(vector_ids(&s, &doc(), 0, Some(&a)).unwrap().is_empty());
}

#[test]
fn chunk_counts_past_the_id_space_are_refused() {
    let s = scope();
    let last = vector_ids(&s, &doc(), 100_000, None).unwrap();
    assert_eq!(
        (last.len(), last[99_999].clone()),
        (100_000, format!("{s}:faq.md#99999"))
    );
    let e = vector_ids(&s, &doc(), 100_001, None).unwrap_err();
    assert_eq!(
        e,
        KnowledgeError::TooManyChunks {
            count: 100_001,
            max: 100_000
        }
    );
    let huge = usize::try_from(u64::from(u32::MAX) + 1).unwrap_or(usize::MAX);
    assert_eq!(
        placements(&s, &doc(), huge, None).unwrap_err().code(),
        "too_many_chunks"
    );
}

#[test]
fn the_vector_filter_names_the_kb_and_every_group_plus_everyone() {
    let kb = KbName::parse("help").unwrap();
    assert_eq!(
        vector_filter(&kb, &viewer(&["sales", "eng"])),
        json!({"kb": {"$eq": "help"}, "aud": {"$in": ["eng", "sales", "*"]}})
    );
    assert_eq!(
        vector_filter(&kb, &Viewer::default()),
        json!({"kb": {"$eq": "help"}, "aud": {"$in": ["*"]}})
    );
}

#[test]
fn the_audience_sql_binds_every_group() {
    assert_eq!(
        audience_sql(&Viewer::default()),
        ("d.has_audience = 0".to_string(), vec![])
    );
    assert_eq!(
        audience_sql(&viewer(&["sales", "eng"])),
        (
            "(d.has_audience = 0 OR EXISTS (SELECT 1 FROM doc_audience da WHERE da.kb = d.kb AND da.doc_id = d.doc_id AND da.grp IN (?, ?)))".to_string(),
            vec!["eng".to_string(), "sales".to_string()]
        )
    );
    let (sql, params) = audience_sql(&viewer(&["one"]));
    assert!(sql.ends_with("da.grp IN (?)))"), "{sql}");
    assert_eq!(params, ["one"]);
}

#[test]
fn keyword_queries_quote_plain_words_only() {
    let check = |question: &str, expected: Option<&str>| {
        assert_eq!(keyword_query(question).as_deref(), expected, "{question:?}");
    };
    check("How do budgets work?", Some(r#""budgets" OR "work""#));
    check("Budgets, BUDGETS and budgets!", Some(r#""budgets""#));
    check("what is the", None);
    check("", None);
    check("  ?!  ", None);
    check(
        "réseau naïve 日本語 x2",
        Some(r#""réseau" OR "naïve" OR "日本語" OR "x2""#),
    );
    // FTS5 syntax is only ever a separator.
    check(r#"leases" OR "x"#, Some(r#""leases" OR "x""#));
    check("budget*", Some(r#""budget""#));
    check(
        "NEAR(lease token, 3)",
        Some(r#""near" OR "lease" OR "token" OR "3""#),
    );
    check(
        "lease AND token NOT key",
        Some(r#""lease" OR "token" OR "key""#),
    );
    check(
        "-lease +token ^start",
        Some(r#""lease" OR "token" OR "start""#),
    );
    check(
        "title:secret {col1 col2}: x",
        Some(r#""title" OR "secret" OR "col1" OR "col2" OR "x""#),
    );
    check(r#"""""#, None);
    check("don't", Some(r#""don" OR "t""#));
    check("İstanbul", Some(r#""istanbul""#));
    let long = "w".repeat(64);
    check(
        &format!("{long} {long}x ok"),
        Some(&format!("\"{long}\" OR \"ok\"")),
    );
    let many: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    let expected: Vec<String> = (0..16).map(|i| format!("\"t{i}\"")).collect();
    check(&many.join(" "), Some(&expected.join(" OR ")));
    // Repeats and stopwords do not use up the sixteen terms.
    let padded = format!("the t0 t0 {} the", many.join(" the "));
    check(&padded, Some(&expected.join(" OR ")));
}

#[test]
fn hostile_questions_never_produce_fts_syntax() {
    // Every output is `"word"` terms joined by ` OR `, whatever the input.
    let alphabet: Vec<char> = "\"'*^:(){}[]-+ ANDORNEAR a1é\u{0}\n\t,.;".chars().collect();
    let mut state = 0x1234_5678_u64;
    for _ in 0..2000 {
        let len = (state % 40) as usize;
        let question: String = (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                alphabet[((state >> 33) % alphabet.len() as u64) as usize]
            })
            .collect();
        let Some(query) = keyword_query(&question) else {
            continue;
        };
        for term in query.split(" OR ") {
            let inner = term
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap();
            assert!(
                !inner.is_empty() && inner.chars().all(char::is_alphanumeric),
                "{question:?} -> {query:?}"
            );
        }
    }
}

#[test]
fn stopwords_are_sorted_and_lowercase() {
    assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    assert!(STOPWORDS
        .iter()
        .all(|w| w.chars().all(|c| c.is_ascii_lowercase())));
}
