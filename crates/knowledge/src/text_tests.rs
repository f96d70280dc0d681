//! Table tests of content types, decoding, normalisation, titles and hashes.

use super::*;

fn extracted(text: &str, title: Option<&str>) -> Result<Extracted, KnowledgeError> {
    Ok(Extracted {
        text: text.to_string(),
        title: title.map(str::to_string),
    })
}

#[test]
fn content_types_decide_the_format_and_charset_must_be_utf8() {
    let check = |content_type: &str, expected: Result<Format, &str>| {
        let got = format_of(content_type).map_err(|e| {
            assert_eq!(e.code(), "unsupported_media_type");
            e.to_string()
        });
        assert_eq!(got, expected.map_err(str::to_string), "{content_type:?}");
    };
    check("text/plain", Ok(Format::Plain));
    check(" Text/Markdown ; charset=UTF-8", Ok(Format::Markdown));
    check("text/x-markdown", Ok(Format::Markdown));
    check("text/html;charset=\"utf-8\"", Ok(Format::Html));
    check("text/plain; charset=utf8", Ok(Format::Plain));
    check("text/plain; format=flowed; novalue", Ok(Format::Plain));
    check(
        "text/plain; charset=iso-8859-1",
        Err("charset `iso-8859-1` is not supported: send the document as UTF-8"),
    );
    check(
        "text/html; CHARSET=Latin1",
        Err("charset `latin1` is not supported: send the document as UTF-8"),
    );
    check(
        "text/plain; charset=",
        Err("charset `` is not supported: send the document as UTF-8"),
    );
    check("application/pdf", Err("content type `application/pdf` is not supported: send text/plain, text/markdown or text/html"));
    check(
        "text/csv",
        Err(
            "content type `text/csv` is not supported: send text/plain, text/markdown or text/html",
        ),
    );
    check("text/plain2", Err("content type `text/plain2` is not supported: send text/plain, text/markdown or text/html"));
    check(
        "",
        Err("a content type is required: send text/plain, text/markdown or text/html"),
    );
    check(
        " ; charset=utf-8",
        Err("a content type is required: send text/plain, text/markdown or text/html"),
    );
}

#[test]
fn binary_and_invalid_bytes_get_their_own_errors() {
    let plain = |bytes: &[u8]| extract("text/plain", bytes);
    assert_eq!(plain(b"text\0more"), Err(KnowledgeError::BinaryDocument));
    assert_eq!(
        plain(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
        Err(KnowledgeError::BinaryDocument)
    );
    assert_eq!(
        plain(b"ab\xffcd"),
        Err(KnowledgeError::InvalidUtf8 { offset: 2 })
    );
    assert_eq!(
        plain(b"\xc3"),
        Err(KnowledgeError::InvalidUtf8 { offset: 0 })
    );
    // One stray control character in 100 is dropped; one in 99 makes the document binary.
    let ok = format!("\x1b{}", "a".repeat(99));
    assert_eq!(plain(ok.as_bytes()), extracted(&"a".repeat(99), None));
    let binary = format!("\x1b{}", "a".repeat(98));
    assert_eq!(
        plain(binary.as_bytes()),
        Err(KnowledgeError::BinaryDocument)
    );
    let del = format!("\x7f\u{85}{}", "a".repeat(200));
    assert_eq!(plain(del.as_bytes()), extracted(&"a".repeat(200), None));
    assert_eq!(plain("\u{feff}hi".as_bytes()), extracted("hi", None));
    assert_eq!(plain(b"\tkeeps\ttabs"), extracted("\tkeeps\ttabs", None));
}

#[test]
fn text_is_normalised() {
    let check = |raw: &str, text: &str| assert_eq!(normalise(raw), text, "{raw:?}");
    check("a\r\nb\rc\x0cd", "a\nb\nc\nd");
    check("  \n\n  a  \n\n\n\nb\t \n\n", "  a\n\nb");
    check("a\n \t\nb", "a\n\nb");
    check("a\r\n\r\n\r\nb", "a\n\nb");
    check("", "");
    check("\n\n", "");
}

#[test]
fn empty_documents_are_refused_after_extraction() {
    let empty = Err(KnowledgeError::EmptyDocument);
    assert_eq!(extract("text/plain", b""), empty);
    assert_eq!(extract("text/plain", b" \r\n\t\n"), empty);
    assert_eq!(
        extract(
            "text/html",
            b"<html><head><title>T</title></head><script>x</script></html>"
        ),
        empty
    );
    assert_eq!(
        extract("text/markdown", b"---\ntitle: Only\n---\n\n"),
        empty
    );
}

#[test]
fn markdown_titles_come_from_front_matter_else_the_first_h1() {
    let md = |s: &str| extract("text/markdown", s.as_bytes());
    assert_eq!(
        md("---\ntitle: \"Budgets\"\ntags: [a]\n---\n\n# Heading\nBody"),
        extracted("# Heading\nBody", Some("Budgets"))
    );
    assert_eq!(
        md("---\ntitle: 'Leases'\n...\nBody"),
        extracted("Body", Some("Leases"))
    );
    assert_eq!(
        md("---\ntitle:   Plain title  \n---\nBody"),
        extracted("Body", Some("Plain title"))
    );
    assert_eq!(
        md("---\ntitle: \"\"\n---\n# H1\nBody"),
        extracted("# H1\nBody", Some("H1"))
    );
    assert_eq!(
        md("---\n  title: nested\n---\nBody"),
        extracted("Body", None)
    );
    // No closing line: not front matter, the text stays.
    assert_eq!(
        md("---\ntitle: x\nBody"),
        extracted("---\ntitle: x\nBody", None)
    );
    assert_eq!(
        md("Intro\n## Two\n```\n# In code\n```\n#\n# Real title #\n# Later"),
        extracted(
            "Intro\n## Two\n```\n# In code\n```\n#\n# Real title #\n# Later",
            Some("Real title")
        )
    );
    assert_eq!(
        md("text\r\n\r\n\r\nmore  "),
        extracted("text\n\nmore", None)
    );
    assert_eq!(
        extract("text/plain", b"# Not a title for plain text"),
        extracted("# Not a title for plain text", None)
    );
}

#[test]
fn html_becomes_markdown_with_its_title() {
    let html = |s: &str| extract("text/html; charset=utf-8", s.as_bytes());
    assert_eq!(
        html("<html><head><title>Help &amp; FAQ</title></head><body><h1>Welcome</h1><p>Hello\n  world.</p></body></html>"),
        extracted("# Welcome\n\nHello world.", Some("Help & FAQ"))
    );
    assert_eq!(
        html("<h2>Sub</h2><h1>Main</h1><p>x</p>"),
        extracted("## Sub\n\n# Main\n\nx", Some("Main"))
    );
    assert_eq!(html("<p>no title</p>"), extracted("no title", None));
}

#[test]
fn content_hashes_are_sha256_hex() {
    assert_eq!(
        content_hash(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        content_hash("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let a = extract("text/plain", b"same\r\ntext  ").unwrap();
    let b = extract("text/plain", b"same\ntext").unwrap();
    assert_eq!(content_hash(&a.text), content_hash(&b.text));
}
