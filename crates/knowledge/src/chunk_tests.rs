//! Table tests of chunking, and a property test over generated documents (fixed seeds).

use super::*;

fn spec(max: u32, overlap: u32) -> ChunkSpec {
    ChunkSpec::new(max, overlap).unwrap()
}

fn texts(input: &str, spec: ChunkSpec) -> Vec<String> {
    chunk(input, spec).into_iter().map(|c| c.text).collect()
}

/// Sentence `k`: 31 ASCII characters, so four of them joined by spaces make 127 (32 tokens).
fn s(k: u32) -> String {
    format!("Sen{k}x aaaa bbbb cccc dddd eeee.")
}

fn sentences_of(ks: std::ops::RangeInclusive<u32>) -> String {
    ks.map(s).collect::<Vec<_>>().join(" ")
}

#[test]
fn the_estimate_is_the_gateways() {
    let check = |text: &str, tokens: u32| assert_eq!(estimate_tokens(text), tokens, "{text:?}");
    check("", 0);
    check("abcd", 1);
    check("abcde", 2);
    check("日本語", 3);
    check("a日", 2);
    check("abcd日本", 3);
}

#[test]
fn specs_are_checked_at_both_bounds() {
    let ok =
        |max: u32, overlap: u32| assert!(ChunkSpec::new(max, overlap).is_ok(), "{max}/{overlap}");
    let bad = |max: u32, overlap: u32| {
        let e = ChunkSpec::new(max, overlap).unwrap_err();
        assert_eq!(e.code(), "invalid_chunk_spec", "{max}/{overlap}");
    };
    ok(32, 0);
    ok(32, 15);
    ok(33, 16);
    ok(2048, 1023);
    bad(31, 0);
    bad(2049, 0);
    bad(32, 16);
    bad(33, 17);
    bad(0, 0);
    bad(2048, u32::MAX);
    assert_eq!(
        ChunkSpec::new(16, 0).unwrap_err().to_string(),
        "chunk.maxTokens must be between 32 and 2048, got 16"
    );
    assert_eq!(
        ChunkSpec::new(64, 32).unwrap_err().to_string(),
        "chunk.overlapTokens must be less than half of maxTokens (64), got 32"
    );
    let s = spec(100, 7);
    assert_eq!((s.max_tokens(), s.overlap_tokens()), (100, 7));
    let d = ChunkSpec::default();
    assert_eq!((d.max_tokens(), d.overlap_tokens()), (512, 64));
}

#[test]
fn sections_carry_their_heading_path_and_empty_ones_make_nothing() {
    let doc = "Intro text.\n\n# Budgets\n\nBudgets cap spending.\n\n## Leases\nLeases are per isolate.\n\n## Empty\n\n#\nNo title.\n# Other ##\n### Deep\nDeep words.\n## Mid\nMid words.";
    let chunks = chunk(doc, ChunkSpec::default());
    let got: Vec<(u32, &str, Vec<&str>, u32)> = chunks
        .iter()
        .map(|c| {
            let path = c.heading_path.iter().map(String::as_str).collect();
            (c.index, c.text.as_str(), path, c.tokens)
        })
        .collect();
    assert_eq!(
        got,
        [
            (0, "Intro text.", vec![], 3),
            (1, "Budgets cap spending.", vec!["Budgets"], 6),
            (2, "Leases are per isolate.", vec!["Budgets", "Leases"], 6),
            (3, "No title.", vec![], 3),
            (4, "Deep words.", vec!["Other", "Deep"], 3),
            (5, "Mid words.", vec!["Other", "Mid"], 3),
        ]
    );
    assert_eq!(
        chunks[2].embedding_text(),
        "Budgets > Leases\nLeases are per isolate."
    );
    assert_eq!(chunks[0].embedding_text(), "Intro text.");
    assert!(chunk("", ChunkSpec::default()).is_empty());
    assert!(chunk(" \n\n\t\n", ChunkSpec::default()).is_empty());
    assert!(chunk("# Only\n\n## Headings\n", ChunkSpec::default()).is_empty());
}

#[test]
fn fenced_code_is_never_a_heading_and_stays_whole_when_it_fits() {
    let doc = "# Code\n\nRun it:\n```sh\n# not a heading\n\necho hi\n```\nAfter.\n\n~~~\n## also not\n~~~";
    let chunks = chunk(doc, ChunkSpec::default());
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].heading_path, ["Code"]);
    assert_eq!(chunks[0].text, &doc["# Code\n\n".len()..]);
    // An unclosed fence runs to the end: the heading inside it is text.
    let open = "# A\n```\n# B\ntext";
    let chunks = chunk(open, ChunkSpec::default());
    assert_eq!(
        (chunks.len(), chunks[0].heading_path.clone()),
        (1, vec!["A".to_string()])
    );
}

#[test]
fn pieces_pack_up_to_exactly_max_tokens() {
    let doc = sentences_of(1..=8);
    assert_eq!(
        texts(&doc, spec(32, 0)),
        [sentences_of(1..=4), sentences_of(5..=8)]
    );
    let tokens: Vec<u32> = chunk(&doc, spec(32, 0)).iter().map(|c| c.tokens).collect();
    assert_eq!(tokens, [32, 32]);
    // 128 characters are exactly 32 tokens; 129 are 33, and the fourth sentence moves on.
    let first = |extra: &str| format!("Sen1x{extra} aaaa bbbb cccc dddd eeee.");
    let doc = format!("{} {}", first("y"), sentences_of(2..=4));
    assert_eq!(texts(&doc, spec(32, 0)), vec![doc.clone()]);
    let doc = format!("{} {}", first("yz"), sentences_of(2..=4));
    assert_eq!(
        texts(&doc, spec(32, 0)),
        [format!("{} {}", first("yz"), sentences_of(2..=3)), s(4)]
    );
    // Paragraphs join with their blank line when they fit together.
    let doc = format!(
        "{}\n\n{}\n\n{}",
        sentences_of(1..=2),
        s(3),
        sentences_of(4..=5)
    );
    assert_eq!(
        texts(&doc, spec(32, 0)),
        [
            format!("{}\n\n{}", sentences_of(1..=2), s(3)),
            sentences_of(4..=5)
        ]
    );
}

#[test]
fn overlap_takes_whole_sentences_else_words_from_the_previous_chunk() {
    let doc = sentences_of(1..=8);
    assert_eq!(
        texts(&doc, spec(32, 8)),
        [
            sentences_of(1..=4),
            sentences_of(4..=7),
            sentences_of(7..=8)
        ]
    );
    // Seven tokens hold no whole sentence (eight each): the longest word tail that fits.
    let tail = "aaaa bbbb cccc dddd eeee.";
    assert_eq!(
        texts(&doc, spec(32, 7)),
        [
            sentences_of(1..=4),
            format!("{tail} {}", sentences_of(5..=7)),
            format!("{tail} {}", s(8))
        ]
    );
    // The overlap shrinks so that the next chunk's first piece still fits.
    let wide = format!("{}end.", "wide ".repeat(23));
    let doc = format!("{} {wide}", s(1));
    assert_eq!(texts(&doc, spec(32, 15)), [s(1), format!("eeee. {wide}")]);
}

#[test]
fn code_and_tables_take_no_overlap_and_split_by_lines() {
    let para = "Para one is here and it is long enough to matter a lot.";
    let code = format!("```\n{}\n```", "let x = 1; // ".repeat(6).trim_end());
    let doc = format!("{para}\n\n{code}\n\n{para}");
    assert_eq!(
        texts(&doc, spec(32, 8)),
        [para.to_string(), code.clone(), para.to_string()]
    );
    let line = |k: u32| format!("line {k} {}", "z".repeat(32));
    let big = format!(
        "```\n{}\n{}\n{}\n{}\n```",
        line(1),
        line(2),
        line(3),
        line(4)
    );
    assert_eq!(
        texts(&big, spec(32, 8)),
        [
            format!("```\n{}\n{}\n{}", line(1), line(2), line(3)),
            format!("{}\n```", line(4))
        ]
    );
    let row = |k: u32| format!("| row {k}. has a dot | {} |", "v".repeat(40));
    let table = format!("| a | b |\n|---|---|\n{}\n{}\n{}", row(1), row(2), row(3));
    assert_eq!(
        texts(&table, spec(32, 8)),
        [
            format!("| a | b |\n|---|---|\n{}", row(1)),
            format!("{}\n{}", row(2), row(3))
        ]
    );
}

#[test]
fn words_and_then_characters_are_the_last_resort() {
    let giant = "x".repeat(300);
    assert_eq!(
        texts(&giant, spec(32, 8)),
        ["x".repeat(128), "x".repeat(128), "x".repeat(44)]
    );
    let cjk = "日".repeat(40);
    assert_eq!(texts(&cjk, spec(32, 0)), ["日".repeat(32), "日".repeat(8)]);
    let long_sentence = format!("{}stop.", "word ".repeat(30));
    let chunks = texts(&long_sentence, spec(32, 0));
    assert_eq!(
        chunks,
        [
            format!("{}word", "word ".repeat(24)),
            "word word word word word stop.".to_string()
        ]
    );
}

#[test]
fn sentences_and_words_are_cut_where_readers_expect() {
    let check = |text: &str, expected: &[&str]| {
        let got: Vec<&str> = sentences(text, 0, text.len())
            .iter()
            .map(|&(s, e)| &text[s..e])
            .collect();
        assert_eq!(got, expected, "{text:?}");
    };
    check("One. Two! Three? Four", &["One.", "Two!", "Three?", "Four"]);
    check("Pi is 3.14 here.", &["Pi is 3.14 here."]);
    check(
        "He said \"hi.\" Then left",
        &["He said \"hi.\"", "Then left"],
    );
    check("Wait... what", &["Wait...", "what"]);
    check("(see above.) Next", &["(see above.)", "Next"]);
    check("a\nb\n\n  c  ", &["a", "b", "c"]);
    check("end.x", &["end.x"]);
    check("", &[]);
    check("Ünïcode. ok", &["Ünïcode.", "ok"]);
    let text = "  a bb\tc\n";
    let got: Vec<&str> = words(text, 0, text.len())
        .iter()
        .map(|&(s, e)| &text[s..e])
        .collect();
    assert_eq!(got, ["a", "bb", "c"]);
}

#[test]
fn embedding_text_fits_the_model_s_input() {
    let c = Chunk {
        index: 0,
        text: "abcd".repeat(10),
        heading_path: vec!["Guide".into(), "Keys".into()],
        tokens: 10,
    };
    assert_eq!(
        c.embedding_text(),
        format!("Guide > Keys\n{}", "abcd".repeat(10))
    );
    // Fits: unchanged (13 + 40 characters = 14 tokens).
    assert_eq!(c.embedding_text_within(14), c.embedding_text());
    // The heading line goes first.
    assert_eq!(c.embedding_text_within(13), "abcd".repeat(10));
    assert_eq!(c.embedding_text_within(10), "abcd".repeat(10));
    // Then the text is cut: 9 tokens are 36 ASCII characters.
    assert_eq!(c.embedding_text_within(9), "abcd".repeat(9));
    // Other characters count one each, and are never split.
    let wide = Chunk {
        text: "éééé".into(),
        heading_path: vec![],
        ..c.clone()
    };
    assert_eq!(wide.embedding_text_within(2), "éé");
    assert_eq!(wide.embedding_text_within(0), "");
    for limit in 0..20 {
        assert!(
            estimate_tokens(&c.embedding_text_within(limit)) <= limit,
            "{limit}"
        );
    }
}
