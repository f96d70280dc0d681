//! Markdown structure shared by extraction and chunking: ATX headings, code fences, sections
//! (the body under each heading) and blocks (paragraphs, fenced code, tables).

/// An open fenced code block: its fence character and length (CommonMark: the closing fence
/// uses the same character, at least as many times, and nothing else on its line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    marker: char,
    len: usize,
}

/// A line's content after up to three spaces of indentation, or `None` when indented more
/// (four spaces make an indented code line, never a heading or a fence).
fn unindented(line: &str) -> Option<&str> {
    let trimmed = line.trim_start_matches(' ');
    (line.len() - trimmed.len() <= 3).then_some(trimmed)
}

impl Fence {
    /// The fence this line opens (```` ``` ```` or `~~~`, three or more), if it opens one.
    pub fn open(line: &str) -> Option<Fence> {
        let rest = unindented(line)?;
        let marker = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let len = rest.chars().take_while(|c| *c == marker).count();
        // A backtick fence's info string may not contain backticks.
        let info = &rest[len..];
        (len >= 3 && !(marker == '`' && info.contains('`'))).then_some(Fence { marker, len })
    }

    /// Whether this line closes the fence.
    pub fn closes(&self, line: &str) -> bool {
        let Some(rest) = unindented(line) else {
            return false;
        };
        let run = rest.chars().take_while(|c| *c == self.marker).count();
        run >= self.len && rest[run..].trim().is_empty()
    }
}

/// An ATX heading (`## Title ##`): its level (1-6) and title, closing `#`s removed.
/// The caller must know that the line is outside a fenced code block.
pub fn heading(line: &str) -> Option<(usize, &str)> {
    let rest = unindented(line)?;
    let level = rest.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let after = &rest[level..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    let title = after.trim();
    // An optional closing sequence: `#`s preceded by a space (or making up the whole title).
    let without = title.trim_end_matches('#');
    let title = if without.is_empty() || without.ends_with([' ', '\t']) {
        without.trim_end()
    } else {
        title
    };
    Some((level, title))
}

/// A section: the headings above it and the byte range of its body (heading line excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub path: Vec<String>,
    pub start: usize,
    pub end: usize,
}

/// What a block is: cut prose by sentences, code and tables by lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Prose,
    Code,
    Table,
}

/// Lines with their start offset, without their line ending, and where the next one starts.
pub fn lines(text: &str, start: usize, end: usize) -> impl Iterator<Item = (usize, &str, usize)> {
    let mut pos = start;
    text[start..end].split_inclusive('\n').map(move |raw| {
        let at = pos;
        pos += raw.len();
        (at, raw.trim_end_matches(['\n', '\r']), pos)
    })
}

pub fn sections(text: &str) -> Vec<Section> {
    let path = |stack: &[(usize, String)]| -> Vec<String> {
        let titles = stack.iter().map(|(_, t)| t.clone());
        titles.filter(|t| !t.is_empty()).collect()
    };
    let mut out = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut fence: Option<Fence> = None;
    let mut body_start = 0;
    for (at, line, next) in lines(text, 0, text.len()) {
        if let Some(open) = fence {
            if open.closes(line) {
                fence = None;
            }
        } else if let Some(open) = Fence::open(line) {
            fence = Some(open);
        } else if let Some((level, title)) = heading(line) {
            let (start, end) = (body_start, at);
            out.push(Section {
                path: path(&stack),
                start,
                end,
            });
            while stack.last().is_some_and(|(l, _)| *l >= level) {
                stack.pop();
            }
            stack.push((level, title.to_string()));
            body_start = next;
        }
    }
    let (start, end) = (body_start, text.len());
    out.push(Section {
        path: path(&stack),
        start,
        end,
    });
    out
}

/// `start..end` without surrounding whitespace (empty when blank).
pub fn trimmed(text: &str, start: usize, end: usize) -> (usize, usize) {
    let head = text[start..end].trim_start();
    let s = end - head.len();
    (s, s + head.trim_end().len())
}

fn is_table(block: &str) -> bool {
    let rows: Vec<&str> = block.lines().collect();
    let delimiter = |row: &str| {
        row.contains('-')
            && row
                .chars()
                .all(|c| matches!(c, '|' | ':' | '-' | ' ' | '\t'))
    };
    rows.len() >= 2 && rows.iter().all(|r| r.contains('|')) && delimiter(rows[1].trim())
}

/// Paragraphs (blank-line separated), fenced code blocks (whole, blank lines included) and tables.
pub fn blocks(text: &str, start: usize, end: usize) -> Vec<(usize, usize, Kind)> {
    let mut out = Vec::new();
    let mut close = |open: &mut Option<(usize, usize, Kind)>| {
        if let Some((s, e, kind)) = open.take() {
            let (s, e) = trimmed(text, s, e);
            let table = kind == Kind::Prose && is_table(&text[s..e]);
            if s < e {
                out.push((s, e, if table { Kind::Table } else { kind }));
            }
        }
    };
    let mut open: Option<(usize, usize, Kind)> = None;
    let mut fence: Option<Fence> = None;
    for (at, line, _) in lines(text, start, end) {
        let line_end = at + line.len();
        if let Some(f) = fence {
            if let Some(block) = open.as_mut() {
                block.1 = line_end;
            }
            if f.closes(line) {
                fence = None;
                close(&mut open);
            }
        } else if let Some(f) = Fence::open(line) {
            close(&mut open);
            fence = Some(f);
            open = Some((at, line_end, Kind::Code));
        } else if line.trim().is_empty() {
            close(&mut open);
        } else if let Some(block) = open.as_mut() {
            block.1 = line_end;
        } else {
            open = Some((at, line_end, Kind::Prose));
        }
    }
    close(&mut open);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atx_headings_follow_commonmark() {
        let check = |line: &str, expected: Option<(usize, &str)>| {
            assert_eq!(heading(line), expected, "{line:?}");
        };
        check("# Budgets", Some((1, "Budgets")));
        check("###### Six", Some((6, "Six")));
        check("####### Seven", None);
        check("#Budgets", None);
        check("#", Some((1, "")));
        check("## Leases ##", Some((2, "Leases")));
        check("## C# ##", Some((2, "C#")));
        check("## C#", Some((2, "C#")));
        check("## ###", Some((2, "")));
        check("#\tTab", Some((1, "Tab")));
        check("   # three spaces", Some((1, "three spaces")));
        check("    # four spaces", None);
        check("text # not", None);
        check("", None);
    }

    #[test]
    fn fences_open_and_close_with_the_same_marker_and_length() {
        assert_eq!(
            Fence::open("```rust"),
            Some(Fence {
                marker: '`',
                len: 3
            })
        );
        assert_eq!(
            Fence::open("~~~~"),
            Some(Fence {
                marker: '~',
                len: 4
            })
        );
        assert_eq!(
            Fence::open("   ```"),
            Some(Fence {
                marker: '`',
                len: 3
            })
        );
        assert_eq!(Fence::open("    ```"), None);
        assert_eq!(Fence::open("``"), None);
        assert_eq!(Fence::open("``` a`b"), None);
        assert_eq!(
            Fence::open("~~~ a`b"),
            Some(Fence {
                marker: '~',
                len: 3
            })
        );
        assert_eq!(Fence::open("text"), None);
        let f = Fence {
            marker: '`',
            len: 4,
        };
        assert!(f.closes("````"));
        assert!(f.closes("`````  "));
        assert!(f.closes("   ````"));
        assert!(!f.closes("    ````"));
        assert!(!f.closes("```"));
        assert!(!f.closes("~~~~"));
        assert!(!f.closes("```` x"));
    }
}
