//! HTML to Markdown-like text: headings become `#` lines, blocks and rows become line breaks,
//! list items `- ` lines, `pre` a fenced block; scripts, styles, head, navigation, templates
//! and comments go; entities are decoded and whitespace collapsed.

use std::borrow::Cow;

/// Elements whose content is skipped as raw text up to their closing tag.
const RAW: &[&str] = &[
    "script", "style", "template", "noscript", "textarea", "title",
];

/// Elements that separate paragraphs.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "hr",
    "html",
    "main",
    "nav",
    "ol",
    "p",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "ul",
];

const ENTITIES: &[(&str, &str)] = &[
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("quot", "\""),
    ("apos", "'"),
    ("nbsp", " "),
    ("ensp", " "),
    ("emsp", " "),
    ("thinsp", " "),
    ("shy", ""),
    ("ndash", "–"),
    ("mdash", "—"),
    ("hellip", "…"),
    ("lsquo", "‘"),
    ("rsquo", "’"),
    ("ldquo", "“"),
    ("rdquo", "”"),
    ("laquo", "«"),
    ("raquo", "»"),
    ("copy", "©"),
    ("reg", "®"),
    ("trade", "™"),
    ("deg", "°"),
    ("middot", "·"),
    ("bull", "•"),
    ("times", "×"),
    ("divide", "÷"),
    ("euro", "€"),
    ("pound", "£"),
    ("yen", "¥"),
    ("cent", "¢"),
    ("sect", "§"),
    ("para", "¶"),
    ("larr", "←"),
    ("rarr", "→"),
    ("uarr", "↑"),
    ("darr", "↓"),
];

/// Decodes `&name;` (the common named entities) and `&#n;` / `&#xh;`; anything else stays.
pub(crate) fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let body = rest[1..]
            .split(';')
            .next()
            .filter(|b| b.len() < rest.len() - 1 && b.len() <= 10);
        let decoded = body.and_then(|b| match b.strip_prefix('#') {
            Some(num) => {
                let value = match num.strip_prefix(['x', 'X']) {
                    Some(h) if !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit()) => {
                        u32::from_str_radix(h, 16).ok()
                    }
                    None if !num.is_empty() && num.bytes().all(|c| c.is_ascii_digit()) => {
                        num.parse().ok()
                    }
                    _ => return None,
                };
                let c = value
                    .filter(|v| *v != 0)
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                Some(Cow::Owned(c.to_string()))
            }
            None => ENTITIES
                .iter()
                .find(|(n, _)| *n == b)
                .map(|(_, v)| Cow::Borrowed(*v)),
        });
        match (decoded, body) {
            (Some(value), Some(b)) => {
                out.push_str(&value);
                rest = &rest[b.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The text being written: breaks and prefixes wait for the next visible character, so
/// empty elements leave nothing behind.
#[derive(Default)]
struct Out {
    text: String,
    /// 0: none, 1: line break, 2: paragraph break.
    pending: u8,
    space: bool,
    prefix: Option<String>,
    heading: bool,
    pre: u32,
}

impl Out {
    fn brk(&mut self, level: u8) {
        if self.heading {
            self.space = true;
        } else {
            self.pending = self.pending.max(level);
            self.space = false;
        }
    }

    /// Writes pending breaks, a pending space and a pending prefix before visible text.
    fn flush(&mut self) {
        let at_line_start = self.text.is_empty() || self.text.ends_with('\n');
        if self.pending > 0 && !self.text.is_empty() {
            self.text
                .push_str(if self.pending == 2 { "\n\n" } else { "\n" });
        } else if self.space && !at_line_start {
            self.text.push(' ');
        }
        if self.pending > 0 || self.text.is_empty() || self.text.ends_with('\n') {
            if let Some(prefix) = self.prefix.take() {
                self.text.push_str(&prefix);
            }
        }
        self.pending = 0;
        self.space = false;
    }

    fn raw(&mut self, s: &str) {
        self.flush();
        self.text.push_str(s);
    }

    fn text(&mut self, s: &str) {
        if self.pre > 0 {
            return self.raw(s);
        }
        for c in s.chars() {
            if c.is_whitespace() {
                self.space = true;
            } else {
                self.flush();
                self.text.push(c);
            }
        }
    }
}

/// A tag at the start of `rest` (`<name ...>` or `</name>`): lowercase name, whether it
/// closes, and its length in bytes (to the end of input when its `>` is missing).
fn tag(rest: &str) -> Option<(String, bool, usize)> {
    let after = rest.strip_prefix('<')?;
    let (closing, after) = match after.strip_prefix('/') {
        Some(a) => (true, a),
        None => (false, after),
    };
    if !after.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let name_len = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(after.len());
    let name = after[..name_len].to_ascii_lowercase();
    let mut quote = None;
    let start = rest.len() - after.len() + name_len;
    for (i, c) in rest[start..].char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if q == c => quote = None,
            (None, '>') => return Some((name, closing, start + i + 1)),
            _ => {}
        }
    }
    Some((name, closing, rest.len()))
}

/// Where `</name` starts in `hay`, ASCII case-insensitively.
fn find_closing(hay: &str, name: &str) -> Option<usize> {
    let needle = format!("</{name}");
    let n = needle.len();
    hay.as_bytes()
        .windows(n)
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The text of an HTML document and its `<title>`, if any (decoded, whitespace collapsed).
pub(crate) fn to_text(html: &str) -> (String, Option<String>) {
    let mut out = Out::default();
    let mut title: Option<String> = None;
    let (mut in_head, mut nav, mut cells) = (false, 0u32, 0u32);
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let lt = rest.find('<').unwrap_or(rest.len());
        if lt > 0 || !rest.starts_with('<') {
            if !in_head && nav == 0 {
                out.text(&decode_entities(&rest[..lt]));
            }
            i += lt;
            continue;
        }
        let skip_to = |marker: &str, from: usize| {
            rest[from..]
                .find(marker)
                .map_or(rest.len(), |e| from + e + marker.len())
        };
        if rest.starts_with("<!--") {
            i += skip_to("-->", 4);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") || rest.starts_with("</>") {
            i += skip_to(">", 1);
            continue;
        }
        let Some((name, closing, len)) = tag(rest) else {
            if !in_head && nav == 0 {
                out.text("<");
            }
            i += 1;
            continue;
        };
        i += len;
        let self_closing = rest[..len].ends_with("/>");
        if !closing && !self_closing && RAW.contains(&name.as_str()) {
            let content_end = find_closing(&html[i..], &name).map_or(html.len(), |p| i + p);
            if name == "title" && title.is_none() {
                let t = decode_entities(&html[i..content_end])
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                title = Some(t).filter(|t| !t.is_empty());
            }
            i = html[content_end..]
                .find('>')
                .map_or(html.len(), |e| content_end + e + 1);
            continue;
        }
        match (name.as_str(), closing) {
            ("head", false) => in_head = !self_closing,
            ("head", true) | ("body", false) => in_head = false,
            ("nav", false) if !self_closing => nav += 1,
            ("nav", true) => nav = nav.saturating_sub(1),
            _ => {}
        }
        if in_head || nav > 0 {
            continue;
        }
        let heading =
            name.len() == 2 && name.starts_with('h') && matches!(name.as_bytes()[1], b'1'..=b'6');
        match (name.as_str(), closing) {
            (h, false) if heading => {
                out.brk(2);
                out.prefix = Some(format!(
                    "{} ",
                    "#".repeat(usize::from(h.as_bytes()[1] - b'0'))
                ));
                out.heading = true;
            }
            (_, true) if heading => {
                out.heading = false;
                out.prefix = None;
                out.brk(2);
            }
            ("li", false) => {
                out.brk(1);
                out.prefix = Some("- ".to_string());
            }
            ("li", true) => {
                out.prefix = None;
                out.brk(1);
            }
            ("br", _) if out.pre > 0 => out.raw("\n"),
            ("br", _) => out.brk(1),
            ("tr", _) => {
                out.brk(1);
                cells = 0;
            }
            ("td" | "th", false) => {
                if cells > 0
                    && !out.text.is_empty()
                    && !out.text.ends_with('\n')
                    && out.pending == 0
                {
                    out.text.push_str(" | ");
                    out.space = false;
                }
                cells += 1;
            }
            ("pre", false) => {
                out.brk(2);
                out.raw("```\n");
                out.pre += 1;
                if html[i..].starts_with('\n') {
                    i += 1;
                }
            }
            ("pre", true) if out.pre > 0 => {
                out.pre -= 1;
                if !out.text.ends_with('\n') {
                    out.text.push('\n');
                }
                out.text.push_str("```");
                out.brk(2);
            }
            (block, _) if BLOCKS.contains(&block) => out.brk(2),
            _ => {}
        }
    }
    (out.text, title)
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
