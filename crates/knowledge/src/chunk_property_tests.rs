//! A property test of chunking over generated Markdown documents (fixed seeds, no crates):
//! bounded chunks, no lost text, right heading paths, overlap within its bounds.

use super::*;

fn spec(max: u32, overlap: u32) -> ChunkSpec {
    ChunkSpec::new(max, overlap).unwrap()
}

/// splitmix64: a fixed-seed generator, so every run tests the same documents.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A generated document: its lines, and for each line the heading path it is under and
/// whether it is a heading line (not body text).
struct Generated {
    text: String,
    lines: Vec<(usize, usize, Vec<String>, bool)>,
}

fn word(rng: &mut Rng) -> String {
    const VOCAB: &[&str] = &[
        "budget",
        "lease",
        "token",
        "the",
        "a",
        "of",
        "réseau",
        "日本語",
        "naïve",
        "x",
        "ok,",
        "end.",
        "why?",
        "wow!",
        "3.14",
        "(note)",
        "\"quoted.\"",
        "émoji🙂",
        "C#",
        "a-b",
    ];
    match rng.below(40) {
        0 => "w".repeat(40 + rng.below(600)),
        1 => "語".repeat(10 + rng.below(100)),
        _ => rng.pick(VOCAB).to_string(),
    }
}

fn generate(rng: &mut Rng) -> Generated {
    let mut blocks: Vec<(Vec<String>, bool)> = Vec::new();
    for _ in 0..1 + rng.below(30) {
        match rng.below(10) {
            0 | 1 => {
                let title: Vec<String> = (0..rng.below(4)).map(|_| word(rng)).collect();
                let level = 1 + rng.below(6);
                blocks.push((
                    vec![format!("{} {}", "#".repeat(level), title.join(" "))],
                    true,
                ));
            }
            2 => {
                let mut lines = vec!["```rust".to_string()];
                for _ in 0..rng.below(12) {
                    let words: Vec<String> = (0..rng.below(12)).map(|_| word(rng)).collect();
                    let prefix = rng.pick(&["", "# ", "    ", "## "]);
                    lines.push(format!("{prefix}{}", words.join(" ")));
                }
                lines.push("```".to_string());
                blocks.push((lines, false));
            }
            3 => {
                let mut lines = vec!["| a | b |".to_string(), "|---|---|".to_string()];
                for _ in 0..1 + rng.below(10) {
                    lines.push(format!("| {} | {} |", word(rng), word(rng)));
                }
                blocks.push((lines, false));
            }
            4 => {
                let items = (0..1 + rng.below(6)).map(|_| format!("- {} {}", word(rng), word(rng)));
                blocks.push((items.collect(), false));
            }
            _ => {
                let mut lines = Vec::new();
                for _ in 0..1 + rng.below(4) {
                    let sentence: Vec<String> = (0..1 + rng.below(60)).map(|_| word(rng)).collect();
                    lines.push(format!("{}.", sentence.join(rng.pick(&[" ", "  ", " \t"]))));
                }
                blocks.push((lines, false));
            }
        }
    }
    let mut text = String::new();
    let mut lines = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (block, is_heading) in blocks {
        for line in block {
            if is_heading {
                let (level, title) = crate::markdown::heading(&line).unwrap();
                while stack.last().is_some_and(|(l, _)| *l >= level) {
                    stack.pop();
                }
                stack.push((level, title.to_string()));
            }
            let path = stack
                .iter()
                .map(|(_, t)| t.clone())
                .filter(|t| !t.is_empty())
                .collect();
            lines.push((text.len(), text.len() + line.len(), path, is_heading));
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str(rng.pick(&["\n", "\n\n", "   \n"]));
    }
    Generated { text, lines }
}

/// The whole word of `text` around byte `at` (a non-whitespace byte).
fn word_around(text: &str, at: usize) -> &str {
    let start = text[..at]
        .rfind(char::is_whitespace)
        .map_or(0, |i| i + text[i..].chars().next().unwrap().len_utf8());
    let end = text[at..]
        .find(char::is_whitespace)
        .map_or(text.len(), |i| at + i);
    &text[start..end]
}

#[test]
fn generated_documents_keep_every_promise() {
    let mut rng = Rng(0x5EED);
    let maxes: [u32; 8] = [32, 33, 40, 64, 100, 257, 512, 2048];
    let mut chunks_seen = 0;
    for _ in 0..400 {
        let doc = generate(&mut rng);
        let text = doc.text.as_str();
        let max = maxes[rng.below(maxes.len())];
        let overlap = if rng.below(3) == 0 {
            0
        } else {
            rng.below(max.div_ceil(2) as usize) as u32
        };
        let spec = spec(max, overlap);
        let (_, spans) = spans(text, spec);
        let chunks = chunk(text, spec);
        assert_eq!(chunks, chunk(text, spec), "deterministic");
        assert_eq!(chunks.len(), spans.len());
        chunks_seen += chunks.len();
        let mut covered = vec![false; text.len()];
        let mut in_heading = vec![false; text.len()];
        for (start, end, _, heading) in &doc.lines {
            in_heading[*start..*end]
                .iter_mut()
                .for_each(|b| *b = *heading);
        }
        for (i, (c, span)) in chunks.iter().zip(&spans).enumerate() {
            let context = || format!("max {max} overlap {overlap} chunk {i} in {text:?}");
            assert_eq!(c.index as usize, i);
            assert_eq!(c.text, &text[span.start..span.end], "{}", context());
            assert!(
                c.tokens <= max && c.tokens == estimate_tokens(&c.text),
                "{}",
                context()
            );
            assert!(
                !c.text.is_empty() && c.text.trim() == c.text,
                "{}",
                context()
            );
            assert!(
                span.start <= span.core && span.core < span.end,
                "{}",
                context()
            );
            let line = &doc.lines[doc.lines.partition_point(|l| l.1 <= span.core)];
            assert!(line.0 <= span.core && span.core < line.1, "{}", context());
            assert_eq!(c.heading_path, line.2, "{}", context());
            if i > 0 {
                let prev = spans[i - 1];
                assert!(span.core >= prev.end, "cores in order: {}", context());
                if span.start < span.core {
                    assert!(
                        prev.section == span.section
                            && prev.start <= span.start
                            && span.start < prev.end,
                        "{}",
                        context()
                    );
                    assert!(
                        estimate_tokens(&text[span.start..prev.end]) <= overlap,
                        "{}",
                        context()
                    );
                }
            }
            if overlap == 0 || i == 0 {
                assert_eq!(span.start, span.core, "{}", context());
            }
            let starts_mid = !text[..span.core].ends_with(char::is_whitespace) && span.core > 0;
            let ends_mid =
                !text[span.end..].starts_with(char::is_whitespace) && span.end < text.len();
            let last = span.end - c.text.chars().last().unwrap().len_utf8();
            for (mid, at) in [(starts_mid, span.core), (ends_mid, last)] {
                let w = word_around(text, at);
                assert!(
                    !mid || estimate_tokens(w) > max,
                    "a word that fits was cut: {w:?} {}",
                    context()
                );
            }
            covered[span.core..span.end]
                .iter_mut()
                .for_each(|b| *b = true);
            assert!(
                !in_heading[span.start..span.end].contains(&true),
                "heading line in a chunk: {}",
                context()
            );
        }
        for (start, end, _, heading) in &doc.lines {
            for (i, ch) in text[*start..*end].char_indices() {
                if !heading && !ch.is_whitespace() {
                    assert!(
                        covered[start + i],
                        "lost {ch:?} at {} (max {max} overlap {overlap}) in {text:?}",
                        start + i
                    );
                }
            }
        }
    }
    assert!(
        chunks_seen > 2000,
        "the generator makes real work: {chunks_seen}"
    );
}
