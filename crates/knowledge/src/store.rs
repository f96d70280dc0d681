//! The D1 schema of knowledge bases and every statement the shell runs on it, as text with
//! plain `?` placeholders (bind in order). Rows are scoped by `kb`, the kb's [`VectorScope`]
//! (tenant and kb hashed), so one database may serve several tenants and kbs.
//!
//! [`VectorScope`]: crate::ids::VectorScope

/// Creates what is missing; safe to run on every cold start (`IF NOT EXISTS`).
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS documents (kb TEXT NOT NULL, doc_id TEXT NOT NULL, kb_name TEXT NOT NULL, title TEXT, url TEXT, audience TEXT, has_audience INTEGER NOT NULL DEFAULT 0 CHECK (has_audience IN (0, 1)), metadata TEXT, content_type TEXT NOT NULL, bytes INTEGER NOT NULL, content_hash TEXT NOT NULL, index_settings TEXT NOT NULL, state TEXT NOT NULL, reason TEXT, chunks INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL, embedding_tokens INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, indexed_chunks INTEGER NOT NULL DEFAULT 0, indexed_audience TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, indexed_at TEXT, PRIMARY KEY (kb, doc_id))",
    "CREATE TABLE IF NOT EXISTS doc_audience (kb TEXT NOT NULL, doc_id TEXT NOT NULL, grp TEXT NOT NULL, PRIMARY KEY (kb, doc_id, grp))",
    "CREATE TABLE IF NOT EXISTS doc_text (kb TEXT NOT NULL, doc_id TEXT NOT NULL, part INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kb, doc_id, part))",
    "CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, kb TEXT NOT NULL, doc_id TEXT NOT NULL, n INTEGER NOT NULL, heading TEXT NOT NULL, text TEXT NOT NULL, UNIQUE (kb, doc_id, n))",
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(heading, text, content='chunks', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN INSERT INTO chunks_fts(chunks_fts, rowid, heading, text) VALUES ('delete', old.id, old.heading, old.text); END",
];

/// Every column of a document row, as [`crate::upload::document_json`] reads them.
const DOC_COLUMNS: &str = "doc_id, kb_name, title, url, audience, metadata, content_type, bytes, content_hash, index_settings, state, reason, chunks, version, embedding_tokens, attempts, indexed_chunks, indexed_audience, created_at, updated_at, indexed_at";

/// One document: `kb`, `doc_id`.
pub fn select_document() -> String {
    format!("SELECT {DOC_COLUMNS} FROM documents WHERE kb = ? AND doc_id = ?")
}

/// A page of documents after a cursor: `kb`, `cursor` (`""` for the first page), `limit`.
pub fn list_documents() -> String {
    format!(
        "SELECT {DOC_COLUMNS} FROM documents WHERE kb = ? AND doc_id > ? ORDER BY doc_id LIMIT ?"
    )
}

/// Creates or replaces a document's row for a new version, state `queued`: `kb`, `doc_id`,
/// `kb_name`, `title`, `url`, `audience`, `has_audience`, `metadata`, `content_type`, `bytes`,
/// `content_hash`, `index_settings`, `now` (created_at, kept on replace), `now` (updated_at). The version goes
/// up by one; what is in the index (`indexed_*`) is kept so the next ingestion can remove it.
pub const UPSERT_DOCUMENT: &str = "INSERT INTO documents (kb, doc_id, kb_name, title, url, audience, has_audience, metadata, content_type, bytes, content_hash, index_settings, state, reason, chunks, version, embedding_tokens, attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', NULL, 0, 1, 0, 0, ?, ?) ON CONFLICT (kb, doc_id) DO UPDATE SET kb_name = excluded.kb_name, title = excluded.title, url = excluded.url, audience = excluded.audience, has_audience = excluded.has_audience, metadata = excluded.metadata, content_type = excluded.content_type, bytes = excluded.bytes, content_hash = excluded.content_hash, index_settings = excluded.index_settings, state = 'queued', reason = NULL, chunks = 0, version = documents.version + 1, embedding_tokens = 0, attempts = 0, updated_at = excluded.updated_at";

/// Removes a document's audience rows: `kb`, `doc_id`.
pub const DELETE_AUDIENCE: &str = "DELETE FROM doc_audience WHERE kb = ? AND doc_id = ?";
/// One audience group: `kb`, `doc_id`, `grp`.
pub const INSERT_AUDIENCE: &str = "INSERT INTO doc_audience (kb, doc_id, grp) VALUES (?, ?, ?)";
/// Removes a document's stored text: `kb`, `doc_id`.
pub const DELETE_TEXT: &str = "DELETE FROM doc_text WHERE kb = ? AND doc_id = ?";
/// One part of a document's text: `kb`, `doc_id`, `part`, `body`.
pub const INSERT_TEXT: &str = "INSERT INTO doc_text (kb, doc_id, part, body) VALUES (?, ?, ?, ?)";
/// A document's text, part by part: `kb`, `doc_id`.
pub const SELECT_TEXT: &str = "SELECT body FROM doc_text WHERE kb = ? AND doc_id = ? ORDER BY part";
/// Removes a document's chunks (the trigger removes them from the keyword index): `kb`, `doc_id`.
pub const DELETE_CHUNKS: &str = "DELETE FROM chunks WHERE kb = ? AND doc_id = ?";
/// One chunk: `kb`, `doc_id`, `n`, `heading`, `text`.
pub const INSERT_CHUNK: &str =
    "INSERT INTO chunks (kb, doc_id, n, heading, text) VALUES (?, ?, ?, ?, ?)";
/// Removes a document's row: `kb`, `doc_id`.
pub const DELETE_DOCUMENT: &str = "DELETE FROM documents WHERE kb = ? AND doc_id = ?";

/// The ingestion of `version` starts (only if it is still the current one): `now`, `kb`,
/// `doc_id`, `version`.
pub const MARK_INDEXING: &str = "UPDATE documents SET state = 'indexing', attempts = attempts + 1, updated_at = ? WHERE kb = ? AND doc_id = ? AND version = ?";

/// The ingestion of `version` is done: `chunks`, `embedding_tokens`, `indexed_chunks`,
/// `indexed_audience`, `now` (updated_at), `now` (indexed_at), `kb`, `doc_id`, `version`.
pub const MARK_READY: &str = "UPDATE documents SET state = 'ready', reason = NULL, chunks = ?, embedding_tokens = ?, indexed_chunks = ?, indexed_audience = ?, updated_at = ?, indexed_at = ? WHERE kb = ? AND doc_id = ? AND version = ?";

/// The ingestion of `version` failed for good: `reason`, `indexed_chunks`,
/// `indexed_audience`, `now`, `kb`, `doc_id`, `version`.
pub const MARK_FAILED: &str = "UPDATE documents SET state = 'failed', reason = ?, chunks = 0, indexed_chunks = ?, indexed_audience = ?, updated_at = ? WHERE kb = ? AND doc_id = ? AND version = ?";

/// A failed attempt that will be retried: `reason`, `now`, `kb`, `doc_id`, `version`.
pub const MARK_RETRY: &str = "UPDATE documents SET state = 'queued', reason = ?, updated_at = ? WHERE kb = ? AND doc_id = ? AND version = ?";

/// How much a term in a chunk's heading path counts against one in its text (BM25 column
/// weights): a question's words in a section's headings say more than in its prose.
pub const HEADING_WEIGHT: f64 = 4.0;

/// Keyword hits, best BM25 first (headings weighted [`HEADING_WEIGHT`]): `match`
/// ([`crate::audience::keyword_query`]), `kb`, then the audience values of `aud_sql`
/// ([`crate::audience::audience_sql`]), then `limit`.
pub fn keyword_search(aud_sql: &str) -> String {
    format!(
        "SELECT c.doc_id AS doc_id, c.n AS n FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.kb = c.kb AND d.doc_id = c.doc_id WHERE chunks_fts MATCH ? AND c.kb = ? AND {aud_sql} ORDER BY bm25(chunks_fts, {HEADING_WEIGHT:.1}, 1.0) LIMIT ?"
    )
}

/// The stored text of chosen chunks with their document's title and URL: `kb`, the
/// audience values of `aud_sql`, then a JSON array of `[doc_id, n]` pairs ([`wanted_json`]).
/// The audience condition is checked here too, so a chunk reached by a stale vector of a
/// document whose audience has narrowed is not read.
pub fn chunk_texts(aud_sql: &str) -> String {
    format!(
        "SELECT c.doc_id AS doc_id, c.n AS n, c.text AS text, d.title AS title, d.url AS url FROM json_each(?) j JOIN chunks c ON c.kb = ? AND c.doc_id = json_extract(j.value, '$[0]') AND c.n = json_extract(j.value, '$[1]') JOIN documents d ON d.kb = c.kb AND d.doc_id = c.doc_id WHERE {aud_sql}"
    )
}

/// `[[doc_id, n], ...]` for [`chunk_texts`].
pub fn wanted_json(chunks: &[crate::rank::ChunkRef]) -> String {
    let pairs: Vec<serde_json::Value> = chunks
        .iter()
        .map(|c| serde_json::json!([c.doc_id.as_str(), c.chunk]))
        .collect();
    serde_json::Value::Array(pairs).to_string()
}

/// D1 stores a string of at most 2,000,000 bytes: a document's text is kept in parts of at
/// most this many bytes.
pub const TEXT_PART_BYTES: usize = 1_000_000;

/// `text` cut into parts of at most [`TEXT_PART_BYTES`] bytes, each on a character boundary.
pub fn text_parts(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(TEXT_PART_BYTES);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        parts.push(head);
        rest = tail;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DocId;
    use crate::rank::ChunkRef;

    #[test]
    fn text_parts_cut_on_character_boundaries_and_join_back() {
        let text = format!("{}é{}", "a".repeat(TEXT_PART_BYTES - 1), "b".repeat(10));
        let parts = text_parts(&text);
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].len(),
            TEXT_PART_BYTES - 1,
            "é does not fit: cut before it"
        );
        assert_eq!(parts.concat(), text);
        assert!(text_parts("").is_empty());
        assert_eq!(text_parts("short"), vec!["short"]);
        let exact = "x".repeat(TEXT_PART_BYTES * 2);
        assert_eq!(
            text_parts(&exact)
                .iter()
                .map(|p| p.len())
                .collect::<Vec<_>>(),
            vec![TEXT_PART_BYTES; 2]
        );
    }

    #[test]
    fn wanted_json_is_pairs_of_doc_id_and_chunk() {
        let c = |d: &str, n| ChunkRef {
            doc_id: DocId::parse(d).unwrap(),
            chunk: n,
        };
        assert_eq!(
            wanted_json(&[c("a", 0), c("b.md", 12)]),
            r#"[["a",0],["b.md",12]]"#
        );
        assert_eq!(wanted_json(&[]), "[]");
    }

    #[test]
    fn statements_bind_as_many_values_as_their_docs_say() {
        let marks = |s: &str| s.matches('?').count();
        assert_eq!(marks(&select_document()), 2);
        assert_eq!(marks(&list_documents()), 3);
        assert_eq!(marks(UPSERT_DOCUMENT), 14);
        assert_eq!(marks(MARK_INDEXING), 4);
        assert_eq!(marks(MARK_READY), 9);
        assert_eq!(marks(MARK_FAILED), 7);
        assert_eq!(marks(MARK_RETRY), 5);
        assert_eq!(marks(INSERT_CHUNK), 5);
        assert_eq!(marks(INSERT_TEXT), 4);
        assert_eq!(marks(&keyword_search("d.has_audience = 0")), 3);
        assert_eq!(marks(&chunk_texts("d.has_audience = 0")), 2);
        assert!(keyword_search("AUD").contains("AND AUD ORDER BY bm25(chunks_fts, 4.0, 1.0)"));
        assert!(chunk_texts("AUD").ends_with("WHERE AUD"));
    }
}
