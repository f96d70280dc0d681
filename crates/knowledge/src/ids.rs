//! Identifiers: document ids, knowledge-base and group names, and the Vectorize vector ids of
//! chunks, with their reverse parse.
//!
//! A vector id is `{scope}:{docId}#{n}` for a chunk everyone may see, and
//! `{scope}:{docId}#{n}@{slot}` for its copy for one audience group, where `scope` is 12 hex
//! digits naming the tenant and knowledge base (Vectorize ids are unique per index, across
//! namespaces: `deleteByIds` takes no namespace), `n` the chunk index in decimal and `slot`
//! one hex digit, the group's position in the document's sorted audience (the group itself
//! is in the vector's `aud` metadata). The limits below make the longest id exactly 64
//! bytes, Vectorize's maximum.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::KnowledgeError;

/// At most this many chunks per document: chunk indexes take at most five digits.
pub const MAX_CHUNKS: u32 = 100_000;

/// At most this many groups in one document's audience: a slot is one hex digit.
pub const MAX_AUDIENCE_GROUPS: usize = 16;

const SCOPE_HEX: usize = 12;

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `value` against a length bound and a character class; the message names `what`.
fn check(
    what: &str,
    value: &str,
    max: usize,
    allowed: fn(char) -> bool,
    class: &str,
) -> Result<(), String> {
    let len = value.chars().count();
    if len == 0 || len > max {
        return Err(format!(
            "{what} must be 1 to {max} characters of {class}, got {len}"
        ));
    }
    match value.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(format!(
            "{what} must be 1 to {max} characters of {class}, got {c:?}"
        )),
        None => Ok(()),
    }
}

/// A document id: 1 to [`DocId::MAX_LEN`] characters of `A-Z a-z 0-9 . _ : -`, not only dots.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId(String);

impl DocId {
    /// 64 bytes of vector id minus the scope and `:` (13), `#99999` (6) and `@f` (2).
    pub const MAX_LEN: usize = 43;

    pub fn parse(value: &str) -> Result<DocId, KnowledgeError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        let checked = check(
            "doc id",
            value,
            Self::MAX_LEN,
            allowed,
            "A-Z a-z 0-9 . _ : -",
        );
        let message = match checked {
            Ok(()) if value.chars().all(|c| c == '.') => "doc id must not be only dots".to_string(),
            Ok(()) => return Ok(DocId(value.to_string())),
            Err(message) => message,
        };
        Err(KnowledgeError::InvalidDocId { message })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A knowledge-base name: 1 to 32 characters of `a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KbName(String);

impl KbName {
    pub fn parse(value: &str) -> Result<KbName, KnowledgeError> {
        let allowed =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-');
        check("knowledge base name", value, 32, allowed, "a-z 0-9 _ -")
            .map(|()| KbName(value.to_string()))
            .map_err(|message| KnowledgeError::InvalidKbName { message })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An audience group: 1 to 32 characters of `A-Z a-z 0-9 . _ -` (never `*`, which marks
/// vectors everyone may see).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(value: &str) -> Result<GroupName, KnowledgeError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        check("group", value, 32, allowed, "A-Z a-z 0-9 . _ -")
            .map(|()| GroupName(value.to_string()))
            .map_err(|message| KnowledgeError::InvalidGroup { message })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display_as_str!(DocId, KbName, GroupName, VectorScope);

/// The first part of every vector id of one tenant's knowledge base: 12 hex digits of
/// SHA-256 over the tenant id and the kb name, so that two tenants (or two kbs) sharing an
/// index never overwrite each other's vectors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VectorScope(String);

impl VectorScope {
    pub fn new(tenant: &str, kb: &KbName) -> VectorScope {
        // Length-prefixed, so no (tenant, kb) pair can spell another.
        let input = format!("knowledge-vector-scope\n{}:{tenant}\n{kb}", tenant.len());
        let digest = Sha256::digest(input.as_bytes());
        VectorScope(hex(&digest[..SCOPE_HEX / 2]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The vector id of chunk `n` of `doc`: the everyone copy (`slot` `None`) or the copy for the
/// audience group at `slot` (below [`MAX_AUDIENCE_GROUPS`]).
pub(crate) fn vector_id(scope: &VectorScope, doc: &DocId, n: u32, slot: Option<usize>) -> String {
    match slot {
        None => format!("{scope}:{doc}#{n}"),
        Some(slot) => format!("{scope}:{doc}#{n}@{slot:x}"),
    }
}

/// The document and chunk index a vector id stands for, or `None` when it is not one of
/// ours (wrong shape, non-canonical number, index past [`MAX_CHUNKS`]).
pub fn chunk_of(vector_id: &str) -> Option<(DocId, u32)> {
    let (scope, rest) = vector_id.split_at_checked(SCOPE_HEX)?;
    if !scope
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let (doc, rest) = rest.strip_prefix(':')?.split_once('#')?;
    let (n, slot) = match rest.split_once('@') {
        Some((n, slot)) => (n, Some(slot)),
        None => (rest, None),
    };
    let slot_ok = slot
        .is_none_or(|s| s.len() == 1 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    let canonical =
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'));
    let n: u32 = n
        .parse()
        .ok()
        .filter(|n| canonical && slot_ok && *n < MAX_CHUNKS)?;
    Some((DocId::parse(doc).ok()?, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_are_checked() {
        let check = |value: &str, expected: Result<(), &str>| {
            let got = DocId::parse(value).map(|d| assert_eq!(d.as_str(), value));
            assert_eq!(
                got.map_err(|e| (e.code(), e.to_string())),
                expected.map_err(|m| ("invalid_doc_id", m.to_string())),
                "{value:?}"
            );
        };
        check("budgets.md", Ok(()));
        check("a", Ok(()));
        check("A-Z_09:x.y", Ok(()));
        check(&"x".repeat(43), Ok(()));
        check(
            &"x".repeat(44),
            Err("doc id must be 1 to 43 characters of A-Z a-z 0-9 . _ : -, got 44"),
        );
        check(
            "",
            Err("doc id must be 1 to 43 characters of A-Z a-z 0-9 . _ : -, got 0"),
        );
        check(
            "docs/a",
            Err("doc id must be 1 to 43 characters of A-Z a-z 0-9 . _ : -, got '/'"),
        );
        check(
            "a#1",
            Err("doc id must be 1 to 43 characters of A-Z a-z 0-9 . _ : -, got '#'"),
        );
        check(
            "a@b",
            Err("doc id must be 1 to 43 characters of A-Z a-z 0-9 . _ : -, got '@'"),
        );
        check(
            "é",
            Err("doc id must be 1 to 43 characters of A-Z a-z 0-9 . _ : -, got 'é'"),
        );
        check(
            "a b",
            Err("doc id must be 1 to 43 characters of A-Z a-z 0-9 . _ : -, got ' '"),
        );
        check("..", Err("doc id must not be only dots"));
        check(".", Err("doc id must not be only dots"));
        check("..a", Ok(()));
    }

    #[test]
    fn kb_and_group_names_are_checked() {
        let kb = |v: &str| {
            KbName::parse(v)
                .map(|k| k.to_string())
                .map_err(|e| (e.code(), e.to_string()))
        };
        assert_eq!(kb("help-center_2"), Ok("help-center_2".into()));
        assert_eq!(kb(&"k".repeat(32)), Ok("k".repeat(32)));
        assert_eq!(
            kb(&"k".repeat(33)),
            Err((
                "invalid_kb_name",
                "knowledge base name must be 1 to 32 characters of a-z 0-9 _ -, got 33".into()
            ))
        );
        assert_eq!(
            kb("Help"),
            Err((
                "invalid_kb_name",
                "knowledge base name must be 1 to 32 characters of a-z 0-9 _ -, got 'H'".into()
            ))
        );
        assert_eq!(kb("a.b").unwrap_err().0, "invalid_kb_name");
        assert_eq!(kb("").unwrap_err().0, "invalid_kb_name");
        let group = |v: &str| {
            GroupName::parse(v)
                .map(|g| g.to_string())
                .map_err(|e| (e.code(), e.to_string()))
        };
        assert_eq!(group("Support.EU_1-a"), Ok("Support.EU_1-a".into()));
        assert_eq!(group(&"g".repeat(32)), Ok("g".repeat(32)));
        assert_eq!(
            group(&"g".repeat(33)),
            Err((
                "invalid_group",
                "group must be 1 to 32 characters of A-Z a-z 0-9 . _ -, got 33".into()
            ))
        );
        assert_eq!(
            group("*"),
            Err((
                "invalid_group",
                "group must be 1 to 32 characters of A-Z a-z 0-9 . _ -, got '*'".into()
            ))
        );
        assert_eq!(group("a:b").unwrap_err().0, "invalid_group");
        assert_eq!(group("").unwrap_err().0, "invalid_group");
    }

    fn scope() -> VectorScope {
        VectorScope::new("acme", &KbName::parse("help").unwrap())
    }

    #[test]
    fn scopes_are_fixed_length_and_keep_tenants_and_kbs_apart() {
        let kb = |k: &str| KbName::parse(k).unwrap();
        let s = scope();
        assert_eq!(s.as_str().len(), 12);
        assert!(s
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(s, scope(), "deterministic");
        assert_ne!(s, VectorScope::new("acme", &kb("help2")));
        assert_ne!(s, VectorScope::new("acme2", &kb("help")));
        // Length prefixing: moving a character between tenant and kb changes the scope.
        assert_ne!(
            VectorScope::new("ab", &kb("c")),
            VectorScope::new("a", &kb("bc"))
        );
    }

    #[test]
    fn the_longest_vector_id_is_exactly_64_bytes_and_parses_back() {
        let doc = DocId::parse(&"d".repeat(DocId::MAX_LEN)).unwrap();
        let id = vector_id(
            &scope(),
            &doc,
            MAX_CHUNKS - 1,
            Some(MAX_AUDIENCE_GROUPS - 1),
        );
        assert_eq!(id.len(), 64);
        assert!(id.ends_with("#99999@f"));
        assert_eq!(chunk_of(&id), Some((doc, 99_999)));
    }

    #[test]
    fn vector_ids_parse_back_and_foreign_ids_do_not() {
        let s = scope();
        let doc = DocId::parse("faq.md").unwrap();
        let everyone = vector_id(&s, &doc, 0, None);
        assert_eq!(everyone, format!("{s}:faq.md#0"));
        assert_eq!(
            vector_id(&s, &doc, 12, Some(10)),
            format!("{s}:faq.md#12@a")
        );
        assert_eq!(chunk_of(&everyone), Some((doc.clone(), 0)));
        assert_eq!(
            chunk_of(&format!("{s}:faq.md#12@a")),
            Some((doc.clone(), 12))
        );
        assert_eq!(
            chunk_of(&format!("{s}:a:b#3@0")),
            Some((DocId::parse("a:b").unwrap(), 3))
        );
        for bad in [
            "".to_string(),
            "faq.md#0".to_string(),
            format!("{s}faq.md#0"),
            format!("{s}:faq.md"),
            format!("{s}:faq.md#"),
            format!("{s}:faq.md#01"),
            format!("{s}:faq.md#-1"),
            format!("{s}:faq.md#+1"),
            format!("{s}:faq.md#1x"),
            format!("{s}:faq.md#100000"),
            format!("{s}:faq.md#99999999999"),
            format!("{s}:faq.md#1@"),
            format!("{s}:faq.md#1@g"),
            format!("{s}:faq.md#1@A"),
            format!("{s}:faq.md#1@10"),
            format!("{s}:faq.md#1@a@b"),
            format!("{s}:#1"),
            format!("{s}:a/b#1"),
            format!("{}:faq.md#1", s.as_str().to_uppercase()),
            format!("{}:faq.md#1", &s.as_str()[..11]),
            "zzzzzzzzzzzz:faq.md#1".to_string(),
            "é".repeat(6) + ":faq.md#1",
        ] {
            assert_eq!(chunk_of(&bad), None, "{bad:?}");
        }
        assert_eq!(
            chunk_of(&format!("{s}:faq.md#99999")).map(|c| c.1),
            Some(99_999)
        );
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
