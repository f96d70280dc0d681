//! Structure-aware chunking: Markdown sections, then paragraphs, sentences and words, packed
//! up to a token bound, with overlap between consecutive chunks of one section.
//!
//! Guarantees: no chunk exceeds `max_tokens` (by [`estimate_tokens`]); every non-blank
//! character of a section's body is in some chunk, in order; heading lines are not in chunk
//! text but in [`Chunk::heading_path`]; a section without body text makes no chunk. A chunk's
//! text is one contiguous slice of the input, so stored text reads exactly like the source.

use crate::error::KnowledgeError;
use crate::markdown::{blocks, lines, sections, trimmed, Kind, Section};

/// Estimated tokens of `text`: four ASCII characters per token (rounded up) plus one per
/// other character; the same estimate as `gateway::usage::estimate_text_tokens`, which bills
/// requests, saturating at `u32::MAX`.
pub fn estimate_tokens(text: &str) -> u32 {
    Count::of(text).tokens()
}

/// Characters counted so that the estimate of two adjacent slices adds up exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Count {
    ascii: u64,
    other: u64,
}

impl Count {
    fn of(text: &str) -> Count {
        let ascii = text.bytes().filter(u8::is_ascii).count() as u64;
        let other = text.chars().count() as u64 - ascii;
        Count { ascii, other }
    }

    fn plus(self, o: Count) -> Count {
        Count {
            ascii: self.ascii + o.ascii,
            other: self.other + o.other,
        }
    }

    fn tokens(self) -> u32 {
        u32::try_from(self.ascii.div_ceil(4) + self.other).unwrap_or(u32::MAX)
    }
}

/// How to cut documents: at most `max_tokens` per chunk (32..=2048), and up to
/// `overlap_tokens` (less than half of `max_tokens`) repeated from the previous chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSpec {
    max_tokens: u32,
    overlap_tokens: u32,
}

impl ChunkSpec {
    pub const MIN_MAX_TOKENS: u32 = 32;
    pub const MAX_MAX_TOKENS: u32 = 2048;

    /// A checked spec; messages name the config keys (`maxTokens`, `overlapTokens`).
    pub fn new(max_tokens: u32, overlap_tokens: u32) -> Result<ChunkSpec, KnowledgeError> {
        let bounds = Self::MIN_MAX_TOKENS..=Self::MAX_MAX_TOKENS;
        let message = if !bounds.contains(&max_tokens) {
            format!("chunk.maxTokens must be between 32 and 2048, got {max_tokens}")
        } else if u64::from(overlap_tokens) * 2 >= u64::from(max_tokens) {
            format!("chunk.overlapTokens must be less than half of maxTokens ({max_tokens}), got {overlap_tokens}")
        } else {
            return Ok(ChunkSpec {
                max_tokens,
                overlap_tokens,
            });
        };
        Err(KnowledgeError::InvalidChunkSpec { message })
    }

    pub fn max_tokens(&self) -> u32 {
        self.max_tokens
    }

    pub fn overlap_tokens(&self) -> u32 {
        self.overlap_tokens
    }
}

impl Default for ChunkSpec {
    /// 512 tokens with 64 of overlap: fits every Workers AI embedding model's input.
    fn default() -> Self {
        ChunkSpec {
            max_tokens: 512,
            overlap_tokens: 64,
        }
    }
}

/// One chunk of a document: `text` is what is stored and cited, `heading_path` the headings
/// above it (outermost first), `index` its position in the document from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub index: u32,
    pub text: String,
    pub heading_path: Vec<String>,
    pub tokens: u32,
}

impl Chunk {
    /// What the embedding model sees: the heading path as a first line (`A > B`), then the
    /// text. It may exceed `max_tokens` by that line.
    pub fn embedding_text(&self) -> String {
        if self.heading_path.is_empty() {
            self.text.clone()
        } else {
            format!("{}\n{}", self.heading_path.join(" > "), self.text)
        }
    }

    /// [`Chunk::embedding_text`] within `limit` estimated tokens (an embedding model's
    /// largest input): the heading line goes first, then the text is cut at a character
    /// boundary. The stored and cited text is never cut.
    pub fn embedding_text_within(&self, limit: u32) -> String {
        let full = self.embedding_text();
        if estimate_tokens(&full) <= limit {
            return full;
        }
        let mut used = Count::default();
        let mut end = 0;
        for (i, c) in self.text.char_indices() {
            let next = used.plus(Count::of(c.encode_utf8(&mut [0; 4])));
            if next.tokens() > limit {
                break;
            }
            used = next;
            end = i + c.len_utf8();
        }
        self.text[..end].to_string()
    }
}

/// Cuts `text` (Markdown or plain text, as [`crate::text::extract`] returns it) into chunks.
pub fn chunk(text: &str, spec: ChunkSpec) -> Vec<Chunk> {
    let (sections, spans) = spans(text, spec);
    spans
        .iter()
        .enumerate()
        .map(|(i, span)| {
            let body = &text[span.start..span.end];
            Chunk {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                text: body.to_string(),
                heading_path: sections[span.section].path.clone(),
                tokens: estimate_tokens(body),
            }
        })
        .collect()
}

/// A chunk as a byte range of the input: `start..core` is the overlap taken from the
/// previous chunk, `core..end` the text it adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub core: usize,
    pub end: usize,
    pub section: usize,
}

/// A unit that must not be cut further (it fits `max_tokens`), and whether it is prose.
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: usize,
    end: usize,
    prose: bool,
}

pub(crate) fn spans(text: &str, spec: ChunkSpec) -> (Vec<Section>, Vec<Span>) {
    let sections = sections(text);
    let mut spans = Vec::new();
    for (i, section) in sections.iter().enumerate() {
        let mut pieces = Vec::new();
        for block in blocks(text, section.start, section.end) {
            split_block(text, block, spec.max_tokens, &mut pieces);
        }
        pack(text, i, &pieces, spec, &mut spans);
    }
    (sections, spans)
}

/// Sentences of `start..end`: ends at `.`, `!` or `?` (closing quotes or brackets included)
/// followed by whitespace, and at every line break.
pub(crate) fn sentences(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let slice = &text[start..end];
    let mut out = Vec::new();
    let mut unit: Option<usize> = None;
    let emit = |from: usize, to: usize, out: &mut Vec<(usize, usize)>| {
        let (s, e) = trimmed(text, start + from, start + to);
        if s < e {
            out.push((s, e));
        }
    };
    let mut i = 0;
    while let Some(c) = slice[i..].chars().next() {
        let mut next = i + c.len_utf8();
        if c == '\n' {
            if let Some(from) = unit.take() {
                emit(from, i, &mut out);
            }
        } else if unit.is_none() && !c.is_whitespace() {
            unit = Some(i);
        }
        if let (Some(from), '.' | '!' | '?') = (unit, c) {
            let closers = |c: &char| {
                matches!(
                    c,
                    '.' | '!' | '?' | '"' | '\'' | ')' | ']' | '”' | '’' | '»'
                )
            };
            let run: usize = slice[i..]
                .chars()
                .take_while(closers)
                .map(char::len_utf8)
                .sum();
            let after = i + run;
            if slice[after..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace)
            {
                emit(from, after, &mut out);
                unit = None;
                next = after;
            }
        }
        i = next;
    }
    if let Some(from) = unit {
        emit(from, slice.len(), &mut out);
    }
    out
}

/// Maximal runs of non-whitespace in `start..end`.
pub(crate) fn words(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut word: Option<usize> = None;
    for (i, c) in text[start..end].char_indices() {
        match (word, c.is_whitespace()) {
            (None, false) => word = Some(start + i),
            (Some(s), true) => {
                out.push((s, start + i));
                word = None;
            }
            _ => {}
        }
    }
    out.extend(word.map(|s| (s, end)));
    out
}

/// Cuts a block into pieces that fit: whole if it fits, else sentences (prose) or lines
/// (code, tables), else words, else characters.
fn split_block(text: &str, (s, e, kind): (usize, usize, Kind), max: u32, out: &mut Vec<Piece>) {
    let prose = kind == Kind::Prose;
    let fits = |s: usize, e: usize| Count::of(&text[s..e]).tokens() <= max;
    if fits(s, e) {
        out.push(Piece {
            start: s,
            end: e,
            prose,
        });
        return;
    }
    let units = if prose {
        sentences(text, s, e)
    } else {
        let each = lines(text, s, e).map(|(at, line, _)| trimmed(text, at, at + line.len()));
        each.filter(|(s, e)| s < e).collect()
    };
    for (us, ue) in units {
        if fits(us, ue) {
            out.push(Piece {
                start: us,
                end: ue,
                prose,
            });
            continue;
        }
        for (ws, we) in words(text, us, ue) {
            if fits(ws, we) {
                out.push(Piece {
                    start: ws,
                    end: we,
                    prose,
                });
                continue;
            }
            let mut from = ws;
            let mut count = Count::default();
            for (i, c) in text[ws..we].char_indices() {
                let grown = count.plus(Count::of(c.encode_utf8(&mut [0; 4])));
                if grown.tokens() > max {
                    out.push(Piece {
                        start: from,
                        end: ws + i,
                        prose,
                    });
                    from = ws + i;
                    count = Count::of(c.encode_utf8(&mut [0; 4]));
                } else {
                    count = grown;
                }
            }
            out.push(Piece {
                start: from,
                end: we,
                prose,
            });
        }
    }
}

/// Packs a section's pieces greedily into spans, each new span starting with overlap.
fn pack(text: &str, section: usize, pieces: &[Piece], spec: ChunkSpec, out: &mut Vec<Span>) {
    let mut previous: Option<(usize, usize, bool)> = None;
    let mut i = 0;
    while let Some(first) = pieces.get(i) {
        let start = match previous {
            Some((ps, pe, true)) if first.prose && spec.overlap_tokens > 0 => {
                overlap_start(text, (ps, pe), first.end, spec).unwrap_or(first.start)
            }
            _ => first.start,
        };
        let mut count = Count::of(&text[start..first.end]);
        let (mut end, mut last_prose) = (first.end, first.prose);
        i += 1;
        while let Some(next) = pieces.get(i) {
            let grown = count.plus(Count::of(&text[end..next.end]));
            if grown.tokens() > spec.max_tokens {
                break;
            }
            (count, end, last_prose) = (grown, next.end, next.prose);
            i += 1;
        }
        let core = first.start;
        out.push(Span {
            start,
            core,
            end,
            section,
        });
        previous = Some((start, end, last_prose));
    }
}

/// Where the overlap of the next chunk starts inside the previous chunk `ps..pe`: the
/// earliest sentence start (else word start) whose tail fits `overlap_tokens` and leaves the
/// next chunk's first piece (ending at `first_end`) within `max_tokens`.
fn overlap_start(
    text: &str,
    (ps, pe): (usize, usize),
    first_end: usize,
    spec: ChunkSpec,
) -> Option<usize> {
    let after = Count::of(&text[pe..first_end]);
    let pick = |starts: Vec<(usize, usize)>| {
        let (mut best, mut tail, mut upto) = (None, Count::default(), pe);
        for &(p, _) in starts.iter().rev() {
            tail = tail.plus(Count::of(&text[p..upto]));
            upto = p;
            if tail.tokens() > spec.overlap_tokens || tail.plus(after).tokens() > spec.max_tokens {
                break;
            }
            best = Some(p);
        }
        best
    };
    pick(sentences(text, ps, pe)).or_else(|| pick(words(text, ps, pe)))
}

#[cfg(test)]
#[path = "chunk_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "chunk_property_tests.rs"]
mod property_tests;
