//! Permission-aware retrieval: who may see a document, and the vector filter, vector ids and
//! SQL that apply it inside the queries (never after topK), plus the keyword query.
//!
//! A document has an optional [`Audience`] (none: everyone in the tenant); a caller is a
//! [`Viewer`] with a set of groups. The document is visible iff it has no audience or the two
//! intersect. Vectorize filters on scalar metadata only, so each chunk is stored once per
//! audience group (`aud` = the group) or once for everyone (`aud` = `"*"`).

use serde_json::{json, Value};

use crate::error::KnowledgeError;
pub use crate::ids::chunk_of;
use crate::ids::{
    vector_id, DocId, GroupName, KbName, VectorScope, MAX_AUDIENCE_GROUPS, MAX_CHUNKS,
};

/// The `aud` metadata of vectors everyone in the tenant may see.
pub const EVERYONE: &str = "*";

/// At most this many terms in a keyword query.
pub const MAX_KEYWORD_TERMS: usize = 16;

/// Words longer than this are left out of keyword queries.
pub const MAX_KEYWORD_CHARS: usize = 64;

fn sorted_groups<S: AsRef<str>>(groups: &[S]) -> Result<Vec<GroupName>, KnowledgeError> {
    let mut out = groups
        .iter()
        .map(|g| GroupName::parse(g.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// The groups a document is for: 1 to 16 distinct groups, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(Vec<GroupName>);

impl Audience {
    /// A checked audience (duplicates merged). An empty list is refused rather than read
    /// as "everyone": omit the audience for that.
    pub fn parse<S: AsRef<str>>(groups: &[S]) -> Result<Audience, KnowledgeError> {
        let groups = sorted_groups(groups)?;
        let message = match groups.len() {
            0 => "audience must list at least one group (omit it for everyone)".to_string(),
            n if n > MAX_AUDIENCE_GROUPS => {
                format!("audience has {n} groups; at most {MAX_AUDIENCE_GROUPS} are allowed")
            }
            _ => return Ok(Audience(groups)),
        };
        Err(KnowledgeError::InvalidAudience { message })
    }

    pub fn groups(&self) -> &[GroupName] {
        &self.0
    }
}

/// The caller of a retrieval: the groups of its end-user token or key (possibly none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer(Vec<GroupName>);

impl Viewer {
    /// At most this many groups (the SQL binds one parameter per group; D1 allows 100).
    pub const MAX_GROUPS: usize = 32;

    /// A checked caller (duplicates merged). A group that does not parse refuses the whole
    /// set: the shell should refuse such a token rather than guess.
    pub fn parse<S: AsRef<str>>(groups: &[S]) -> Result<Viewer, KnowledgeError> {
        let groups = sorted_groups(groups)?;
        if groups.len() > Self::MAX_GROUPS {
            let message = format!(
                "a caller may have at most {} groups, got {}",
                Self::MAX_GROUPS,
                groups.len()
            );
            return Err(KnowledgeError::InvalidAudience { message });
        }
        Ok(Viewer(groups))
    }

    pub fn groups(&self) -> &[GroupName] {
        &self.0
    }

    /// Whether a document with this audience is visible to the caller.
    pub fn can_see(&self, audience: Option<&Audience>) -> bool {
        audience.is_none_or(|a| a.0.iter().any(|g| self.0.binary_search(g).is_ok()))
    }
}

/// One vector to upsert for a chunk: its id, the chunk index and its `aud` metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub id: String,
    pub doc_id: DocId,
    pub chunk: u32,
    pub aud: String,
}

impl Placement {
    /// The vector's metadata: `kb` and `aud` are what queries filter on (the index needs
    /// string metadata indexes on both, created before the first insert); `doc` and `chunk`
    /// are for people reading the index.
    pub fn metadata(&self, kb: &KbName) -> Value {
        json!({"kb": kb.as_str(), "aud": self.aud, "doc": self.doc_id.as_str(), "chunk": self.chunk})
    }
}

/// Every vector of a document's `chunk_count` chunks, chunk by chunk, one per audience group
/// (sorted) or one for everyone. Refuses more than [`MAX_CHUNKS`] chunks.
pub fn placements(
    scope: &VectorScope,
    doc_id: &DocId,
    chunk_count: usize,
    audience: Option<&Audience>,
) -> Result<Vec<Placement>, KnowledgeError> {
    let count = u32::try_from(chunk_count)
        .ok()
        .filter(|c| *c <= MAX_CHUNKS)
        .ok_or(KnowledgeError::TooManyChunks {
            count: chunk_count,
            max: MAX_CHUNKS,
        })?;
    let place = |n: u32, slot: Option<usize>, aud: &str| Placement {
        id: vector_id(scope, doc_id, n, slot),
        doc_id: doc_id.clone(),
        chunk: n,
        aud: aud.to_string(),
    };
    let mut out = Vec::new();
    for n in 0..count {
        match audience {
            None => out.push(place(n, None, EVERYONE)),
            Some(a) => out.extend(
                a.0.iter()
                    .enumerate()
                    .map(|(slot, g)| place(n, Some(slot), g.as_str())),
            ),
        }
    }
    Ok(out)
}

/// The ids of [`placements`]: what to delete, exactly, when a document goes or is replaced
/// (delete the old ids that are not among the new ones after upserting the new).
pub fn vector_ids(
    scope: &VectorScope,
    doc_id: &DocId,
    chunk_count: usize,
    audience: Option<&Audience>,
) -> Result<Vec<String>, KnowledgeError> {
    let all = placements(scope, doc_id, chunk_count, audience)?;
    Ok(all.into_iter().map(|p| p.id).collect())
}

/// The Vectorize query filter for `kb` and this caller:
/// `{"kb": {"$eq": kb}, "aud": {"$in": [groups..., "*"]}}` (the namespace is the shell's).
pub fn vector_filter(kb: &KbName, viewer: &Viewer) -> Value {
    let mut aud: Vec<&str> = viewer.0.iter().map(GroupName::as_str).collect();
    aud.push(EVERYONE);
    json!({"kb": {"$eq": kb.as_str()}, "aud": {"$in": aud}})
}

/// A SQL condition limiting chunks to documents the caller may see, with one `?` per group
/// (bind the returned values in order, and use only plain `?` placeholders in the query:
/// SQLite numbers them in textual order). It refers to the documents row as `d`; the
/// schema it assumes is:
///
/// ```sql
/// CREATE TABLE documents (
///   kb TEXT NOT NULL, doc_id TEXT NOT NULL,
///   has_audience INTEGER NOT NULL CHECK (has_audience IN (0, 1)), -- 1 iff it has an audience
///   PRIMARY KEY (kb, doc_id));
/// CREATE TABLE doc_audience (
///   kb TEXT NOT NULL, doc_id TEXT NOT NULL, grp TEXT NOT NULL, -- one row per audience group
///   PRIMARY KEY (kb, doc_id, grp));
/// ```
///
/// used as in `SELECT c.doc_id, c.n FROM chunks_fts JOIN chunks c ON c.rowid =
/// chunks_fts.rowid JOIN documents d ON d.kb = c.kb AND d.doc_id = c.doc_id WHERE
/// chunks_fts MATCH ? AND c.kb = ? AND <condition> ORDER BY bm25(chunks_fts) LIMIT ?`.
pub fn audience_sql(viewer: &Viewer) -> (String, Vec<String>) {
    if viewer.0.is_empty() {
        return ("d.has_audience = 0".to_string(), Vec::new());
    }
    let marks = vec!["?"; viewer.0.len()].join(", ");
    let sql = format!(
        "(d.has_audience = 0 OR EXISTS (SELECT 1 FROM doc_audience da WHERE da.kb = d.kb AND da.doc_id = d.doc_id AND da.grp IN ({marks})))"
    );
    (sql, viewer.0.iter().map(GroupName::to_string).collect())
}

/// Words that carry no meaning in a search (sorted, for binary search).
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
    "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
    "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his",
    "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most",
    "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
    "ours", "out", "over", "own", "please", "same", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
    "yours",
];

/// An SQLite FTS5 `MATCH` expression for a user's question, or `None` when no searchable
/// word is left. Built so that no FTS syntax can get through: words are runs of letters
/// and digits, lowercased, each in double quotes (which they cannot contain), joined with
/// `OR`; stopwords, repeats and words over 64 characters are dropped; at most 16 terms.
/// Bind it as a parameter (`MATCH ?`), never splice it into the SQL.
pub fn keyword_query(question: &str) -> Option<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in question.split(|c: char| !c.is_alphanumeric()) {
        let word: String = word
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        let skip = word.is_empty()
            || word.chars().count() > MAX_KEYWORD_CHARS
            || STOPWORDS.binary_search(&word.as_str()).is_ok()
            || terms.contains(&word);
        if !skip {
            terms.push(word);
        }
        if terms.len() == MAX_KEYWORD_TERMS {
            break;
        }
    }
    let quoted: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    (!quoted.is_empty()).then(|| quoted.join(" OR "))
}

#[cfg(test)]
#[path = "audience_tests.rs"]
mod tests;
