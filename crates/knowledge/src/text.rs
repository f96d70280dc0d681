//! Turning an uploaded document into clean text: content type, UTF-8, binary detection,
//! normalisation, Markdown front matter and titles; HTML goes through `html`.
//!
//! Normalised text has `\n` line endings, no control characters but tabs, no trailing
//! whitespace on lines, at most one blank line in a row and none at either end.

use sha2::{Digest, Sha256};

use crate::error::KnowledgeError;
use crate::html;
use crate::ids::hex;
use crate::markdown::{heading, Fence};

/// A document's clean text (Markdown structure kept) and the title found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub text: String,
    pub title: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Plain,
    Markdown,
    Html,
}

/// Reads an uploaded document by its `content-type`: `text/plain`, `text/markdown` (or
/// `text/x-markdown`) and `text/html`, with an optional `charset` that must be UTF-8.
///
/// Plain text is normalised; Markdown too, its YAML front matter removed (its `title:` is
/// the title, else the first `# ` heading); HTML becomes Markdown-like text (see the
/// `html` module) whose `<title>` is the title, else its first `# ` heading.
pub fn extract(content_type: &str, bytes: &[u8]) -> Result<Extracted, KnowledgeError> {
    let format = format_of(content_type)?;
    let raw = decode(bytes)?;
    let extracted = match format {
        Format::Plain => Extracted {
            text: normalise(raw),
            title: None,
        },
        Format::Markdown => markdown(&normalise(raw)),
        Format::Html => {
            let (text, title) = html::to_text(raw);
            let text = normalise(&text);
            let title = title.or_else(|| first_h1(&text));
            Extracted { text, title }
        }
    };
    if extracted.text.is_empty() {
        return Err(KnowledgeError::EmptyDocument);
    }
    Ok(extracted)
}

/// SHA-256 of `text` in lowercase hex: equal for equal extracted text, so a re-upload of the
/// same content can be recognised.
pub fn content_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn format_of(content_type: &str) -> Result<Format, KnowledgeError> {
    let unsupported = |message: String| KnowledgeError::UnsupportedMediaType { message };
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let format = match media.as_str() {
        "text/plain" => Format::Plain,
        "text/markdown" | "text/x-markdown" => Format::Markdown,
        "text/html" => Format::Html,
        "" => {
            return Err(unsupported(
                "a content type is required: send text/plain, text/markdown or text/html".into(),
            ))
        }
        other => {
            return Err(unsupported(format!(
            "content type `{other}` is not supported: send text/plain, text/markdown or text/html"
        )))
        }
    };
    for (key, value) in parts.filter_map(|p| p.split_once('=')) {
        let value = value.trim().trim_matches('"').to_ascii_lowercase();
        if key.trim().eq_ignore_ascii_case("charset") && value != "utf-8" && value != "utf8" {
            return Err(unsupported(format!(
                "charset `{value}` is not supported: send the document as UTF-8"
            )));
        }
    }
    Ok(format)
}

/// Control characters that have no place in text (tab, line feed, carriage return and
/// form feed do).
fn stray_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c')
}

/// The bytes as text: refused when they hold NUL or when stray control characters are more
/// than one in a hundred characters (binary), or when they are not UTF-8. A BOM is dropped.
fn decode(bytes: &[u8]) -> Result<&str, KnowledgeError> {
    if bytes.contains(&0) {
        return Err(KnowledgeError::BinaryDocument);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| KnowledgeError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let controls = text.chars().filter(|c| stray_control(*c)).count();
    if controls * 100 > text.chars().count() {
        return Err(KnowledgeError::BinaryDocument);
    }
    Ok(text)
}

/// Line endings and form feeds to `\n`, stray controls out, trailing whitespace off every
/// line, runs of blank lines to one, blank lines at both ends off.
fn normalise(text: &str) -> String {
    let unified: String = text
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| !stray_control(*c))
        .map(|c| if matches!(c, '\r' | '\x0c') { '\n' } else { c })
        .collect();
    let mut out = String::with_capacity(unified.len());
    let mut blank = false;
    for line in unified.split('\n').map(str::trim_end) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        out.push_str(line);
        blank = false;
    }
    out
}

/// The first level-one ATX heading outside fenced code, if it has a title.
fn first_h1(text: &str) -> Option<String> {
    let mut fence: Option<Fence> = None;
    for line in text.lines() {
        match fence {
            Some(f) if f.closes(line) => fence = None,
            Some(_) => {}
            None => {
                fence = Fence::open(line);
                if let Some((1, title)) = heading(line).filter(|_| fence.is_none()) {
                    if !title.is_empty() {
                        return Some(title.to_string());
                    }
                }
            }
        }
    }
    None
}

/// A YAML scalar without its matching quotes.
fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

/// Normalised Markdown without its front matter (`---` to `---` or `...` at the very start).
fn markdown(text: &str) -> Extracted {
    let mut front_title = None;
    let mut body = text;
    if let Some(rest) = text.strip_prefix("---\n") {
        let mut at = 0;
        for line in rest.split_inclusive('\n') {
            let bare = line.trim_end_matches('\n');
            if bare == "---" || bare == "..." {
                let front = &rest[..at];
                let title = front.lines().find_map(|l| l.strip_prefix("title:"));
                front_title = title
                    .map(|t| unquote(t.trim()).trim().to_string())
                    .filter(|t| !t.is_empty());
                body = rest[at + line.len()..].trim_start_matches('\n');
                break;
            }
            at += line.len();
        }
    }
    let title = front_title.or_else(|| first_h1(body));
    Extracted {
        text: body.to_string(),
        title,
    }
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
