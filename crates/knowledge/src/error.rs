//! The one error enum of the `knowledge` crate, each variant with a stable code for the shell.

/// Everything the knowledge logic can refuse. [`KnowledgeError::code`] is stable; the shell
/// maps codes to HTTP statuses (suggested in each variant's doc) and shows the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KnowledgeError {
    /// A content type (or charset) the extractor does not read. Suggested status: 415.
    #[error("{message}")]
    UnsupportedMediaType { message: String },
    /// The bytes contain NUL or too many control characters. Suggested status: 422.
    #[error("the document looks binary (NUL bytes or control characters): send UTF-8 text, Markdown or HTML")]
    BinaryDocument,
    /// The bytes are not UTF-8; `offset` is the first bad byte. Suggested status: 422.
    #[error("the document is not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 { offset: usize },
    /// Nothing but whitespace (or markup) is left after extraction. Suggested status: 422.
    #[error("the document has no text after extraction")]
    EmptyDocument,
    /// A document id outside the allowed form. Suggested status: 400.
    #[error("{message}")]
    InvalidDocId { message: String },
    /// A knowledge-base name outside the allowed form. Suggested status: 400 (404 on a route).
    #[error("{message}")]
    InvalidKbName { message: String },
    /// A group name outside the allowed form. Suggested status: 400.
    #[error("{message}")]
    InvalidGroup { message: String },
    /// An audience or a caller's group set that cannot be used (empty, too many). Suggested status: 400.
    #[error("{message}")]
    InvalidAudience { message: String },
    /// A chunking config outside its bounds (a config error: `tenant-check` reports it).
    #[error("{message}")]
    InvalidChunkSpec { message: String },
    /// An upload option (`title`, `url`, `audience`, `metadata`) or a job that cannot be
    /// read; `field` names it. Suggested status: 400.
    #[error("{message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    /// The document would need more chunks than vector ids can number. Suggested status: 413.
    #[error("the document makes {count} chunks; at most {max} are allowed")]
    TooManyChunks { count: usize, max: u32 },
}

impl KnowledgeError {
    /// The stable, machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::BinaryDocument => "binary_document",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::EmptyDocument => "empty_document",
            Self::InvalidDocId { .. } => "invalid_doc_id",
            Self::InvalidKbName { .. } => "invalid_kb_name",
            Self::InvalidGroup { .. } => "invalid_group",
            Self::InvalidAudience { .. } => "invalid_audience",
            Self::InvalidChunkSpec { .. } => "invalid_chunk_spec",
            Self::InvalidField { .. } => "invalid_request",
            Self::TooManyChunks { .. } => "too_many_chunks",
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::KnowledgeError as E;

    #[test]
    fn every_variant_has_its_own_stable_code_and_a_message() {
        let m = || "m".to_string();
        let cases = [
            (E::UnsupportedMediaType { message: m() }, "unsupported_media_type", "m"),
            (E::BinaryDocument, "binary_document", "the document looks binary (NUL bytes or control characters): send UTF-8 text, Markdown or HTML"),
            (E::InvalidUtf8 { offset: 7 }, "invalid_utf8", "the document is not valid UTF-8 (first bad byte at offset 7)"),
            (E::EmptyDocument, "empty_document", "the document has no text after extraction"),
            (E::InvalidDocId { message: m() }, "invalid_doc_id", "m"),
            (E::InvalidKbName { message: m() }, "invalid_kb_name", "m"),
            (E::InvalidGroup { message: m() }, "invalid_group", "m"),
            (E::InvalidAudience { message: m() }, "invalid_audience", "m"),
            (E::InvalidChunkSpec { message: m() }, "invalid_chunk_spec", "m"),
            (E::InvalidField { field: "url", message: m() }, "invalid_request", "m"),
            (E::TooManyChunks { count: 7, max: 5 }, "too_many_chunks", "the document makes 7 chunks; at most 5 are allowed"),
        ];
        for (error, code, message) in cases {
            assert_eq!((error.code(), error.to_string().as_str()), (code, message));
        }
    }
}
