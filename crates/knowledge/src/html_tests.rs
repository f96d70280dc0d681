//! Table tests of HTML to text and of entity decoding.

use super::*;

fn check(html: &str, text: &str) {
    assert_eq!(to_text(html).0, text, "{html:?}");
}

#[test]
fn structure_becomes_markdown_lines() {
    check(
        "<h1>Budgets</h1><p>Cap   spending.</p><h3>Leases</h3><p>Per\nisolate.</p>",
        "# Budgets\n\nCap spending.\n\n### Leases\n\nPer isolate.",
    );
    check(
        "<ul><li>one</li><li> two </li><li></li></ul>after",
        "- one\n- two\n\nafter",
    );
    check("a<br>b<br/>c", "a\nb\nc");
    check("<div>a</div><div>b</div>", "a\n\nb");
    check(
        "<table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table>",
        "k | v\na | 1",
    );
    check(
        "<h2>Two<br>lines <div>one</div></h2>x",
        "## Two lines one\n\nx",
    );
    check("<h4></h4><p>after empty heading</p>", "after empty heading");
    check("<h6>6</h6><h7>not</h7>", "###### 6\n\nnot");
    check("<p>x</p><hr><p>y</p>", "x\n\ny");
    check("in<span>line</span> <b>bold</b>", "inline bold");
    check("", "");
}

#[test]
fn pre_keeps_its_lines_in_a_fence() {
    check(
        "<p>Run:</p><pre>\nline 1\n  line &lt;2&gt;\n</pre><p>done</p>",
        "Run:\n\n```\nline 1\n  line <2>\n```\n\ndone",
    );
    check("<pre><code>a<br>b</code></pre>", "```\na\nb\n```");
}

#[test]
fn scripts_styles_head_nav_templates_and_comments_go() {
    let html = "<!DOCTYPE html><html><head><meta charset=utf-8><title> The  &amp; Title </title><style>p{}</style><script>var a = '<p>';</script></head>\
        <body><nav><a href='/'>Home</a><nav>inner</nav>still nav</nav><!-- secret --><template><p>tpl</p></template>\
        <noscript>enable js</noscript><SCRIPT type=\"x\">alert(1)</SCRIPT >Body text<?php echo ?></body></html>";
    assert_eq!(
        to_text(html),
        ("Body text".to_string(), Some("The & Title".to_string()))
    );
    // A head without its closing tag ends at <body>.
    assert_eq!(
        to_text("<head><title>T</title><body>text"),
        ("text".to_string(), Some("T".to_string()))
    );
    assert_eq!(to_text("<title>  </title>x"), ("x".to_string(), None));
    assert_eq!(
        to_text("<title>First</title><title>Second</title>x")
            .1
            .as_deref(),
        Some("First")
    );
    check("a<nav>menu</nav>b", "a\n\nb");
    check("x<!-- unclosed comment", "x");
    check("x<script>unclosed", "x");
    check("x<style/>y", "xy");
}

#[test]
fn tags_with_quotes_and_stray_brackets_are_read_like_browsers_do() {
    check("<a title='a > b' href=\"x>y\">link</a>", "link");
    check("1 < 2 and 3 <4", "1 < 2 and 3 <4");
    check("a </> b", "a b");
    check("x<div class='never closed", "x");
    check("<P CLASS=x>Upper</P><LI>item", "Upper\n\n- item");
}

#[test]
fn entities_are_decoded_once() {
    let d = |s: &str| decode_entities(s).into_owned();
    assert_eq!(
        d("a &amp; b &lt;c&gt; &quot;q&quot; &apos;"),
        "a & b <c> \"q\" '"
    );
    assert_eq!(d("&#65;&#x42;&#X43;&#x1F600;"), "ABC😀");
    assert_eq!(
        d("&#0;&#xD800;&#x110000;&#xFFFFFFFF;"),
        "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"
    );
    assert_eq!(d("&amp;lt;"), "&lt;");
    assert_eq!(
        d("&unknown; &amp &#; &#x; &#12a; & ; &;"),
        "&unknown; &amp &#; &#x; &#12a; & ; &;"
    );
    assert_eq!(d("&mdash;&hellip;&nbsp;&shy;&euro;"), "—… €");
    assert_eq!(d("&averyveryverylongname;"), "&averyveryverylongname;");
    assert!(matches!(decode_entities("plain"), Cow::Borrowed("plain")));
    check("a&nbsp;&nbsp;b &lt;p&gt;", "a b <p>");
}
