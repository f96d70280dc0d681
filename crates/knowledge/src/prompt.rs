//! The grounding block a model reads before answering, and the `[n]` citations parsed out of
//! its answer.

use crate::rank::Source;

/// What the model is told before the sources.
pub const INSTRUCTION: &str = "Answer using the numbered sources below. Cite the sources you use by their numbers in square brackets, like [1] or [1, 2]. If the sources do not contain the answer, say so plainly instead of guessing.";

/// What the model is told when retrieval found nothing.
pub const NO_SOURCES: &str = "No sources were found in the knowledge base for this question. Say that you could not find the answer there instead of guessing.";

/// `text` on one line: whitespace runs (line breaks included) become one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The system block for these sources: [`INSTRUCTION`], then each source as
/// `[n] title (url)` and its text, separated by blank lines. The title falls back to the
/// document id; a missing URL leaves out the parentheses; titles and URLs are kept on their
/// line. Deterministic: the same sources give the same bytes.
pub fn system_block(sources: &[Source]) -> String {
    if sources.is_empty() {
        return NO_SOURCES.to_string();
    }
    let mut out = INSTRUCTION.to_string();
    for s in sources {
        let title = s.title.as_deref().map(one_line).filter(|t| !t.is_empty());
        let title = title.unwrap_or_else(|| s.doc_id.to_string());
        out.push_str(&format!("\n\n[{}] {title}", s.n));
        if let Some(url) = s.url.as_deref().map(one_line).filter(|u| !u.is_empty()) {
            out.push_str(&format!(" ({url})"));
        }
        out.push('\n');
        out.push_str(s.text.trim());
    }
    out
}

/// The numbers in a bracketed list of positive integers (`1`, `1, 2`), or `None`.
fn citation_list(inside: &str) -> Option<Vec<u32>> {
    inside
        .split(',')
        .map(|part| {
            let part = part.trim();
            let digits =
                !part.is_empty() && part.len() <= 9 && part.bytes().all(|b| b.is_ascii_digit());
            part.parse::<u32>().ok().filter(|n| digits && *n > 0)
        })
        .collect()
}

/// The source numbers an answer cites, in order of first citation, each once: `[n]`,
/// `[n, m]`, `[n][m]`. Brackets holding anything else (`[0]`, `[a]`, `[1-3]`, `[^1]`) are
/// not citations. Numbers are not checked against the sources given.
pub fn cited(answer: &str) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    let mut rest = answer;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else {
            break;
        };
        if let Some(numbers) = citation_list(&rest[..close]) {
            for n in numbers {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DocId;

    fn source(n: u32, title: Option<&str>, url: Option<&str>, text: &str) -> Source {
        Source {
            n,
            doc_id: DocId::parse("budgets.md").unwrap(),
            title: title.map(str::to_string),
            url: url.map(str::to_string),
            chunk: 0,
            score: 0.0,
            vector_score: None,
            snippet: String::new(),
            text: text.to_string(),
        }
    }

    #[test]
    fn the_block_numbers_every_source_under_the_instruction() {
        let sources = [
            source(
                1,
                Some("Budgets"),
                Some("https://x.test/budgets"),
                "Budgets cap spending.\n",
            ),
            source(2, None, None, "  Leases are per isolate."),
            source(3, Some(" Two\nlines "), Some(""), "Text."),
            source(4, Some("  "), Some("https://x.test/a b\n"), "More."),
        ];
        let expected = format!(
            "{INSTRUCTION}\n\n[1] Budgets (https://x.test/budgets)\nBudgets cap spending.\n\n[2] budgets.md\nLeases are per isolate.\n\n[3] Two lines\nText.\n\n[4] budgets.md (https://x.test/a b)\nMore."
        );
        assert_eq!(system_block(&sources), expected);
        assert_eq!(system_block(&sources), system_block(&sources));
        assert_eq!(system_block(&[]), NO_SOURCES);
        assert!(INSTRUCTION.contains("[1]") && INSTRUCTION.contains("do not contain the answer"));
    }

    #[test]
    fn citations_are_read_in_order_each_once() {
        let check =
            |answer: &str, expected: &[u32]| assert_eq!(cited(answer), expected, "{answer:?}");
        check("Budgets reset daily [2]. Leases too [1, 3].", &[2, 1, 3]);
        check("[1][2] and [2] again, [ 4 ,5 ]", &[1, 2, 4, 5]);
        check("[[3]] nested", &[3]);
        check("none here", &[]);
        check("[0] [a] [1-3] [^1] [1,] [,1] [] [1 2] [-1] [+1]", &[]);
        check("[1, 0]", &[]);
        check("[999999999] [1000000000]", &[999_999_999]);
        check("[4294967296]", &[]);
        check("unclosed [1", &[]);
        check("[text](url) then [7]", &[7]);
        check("[007]", &[7]);
        check("[١]", &[]);
    }
}
