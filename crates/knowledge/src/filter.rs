//! A request's filter on document metadata (`knowledgeFilter`): equality on top-level keys of
//! the `metadata` object uploaded with each document, as an SQL condition over the documents
//! row `d` that the keyword search and the chunk read both apply.

use serde_json::{Map, Value};

use crate::error::KnowledgeError;

/// At most this many keys in one filter.
pub const MAX_FILTER_KEYS: usize = 8;
/// The longest key.
pub const MAX_KEY_CHARS: usize = 64;

/// One value a metadata key must equal: a string, a whole number or a boolean (stored JSON
/// `true`/`false` read back by SQLite as 1/0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Text(String),
    Int(i64),
}

/// A checked filter: keys in order, each with the value it must equal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataFilter(Vec<(String, FilterValue)>);

fn invalid(message: String) -> KnowledgeError {
    KnowledgeError::InvalidField {
        field: "knowledgeFilter",
        message,
    }
}

impl MetadataFilter {
    /// Reads `{"key": value, ...}`: 1 to 8 keys of 1 to 64 characters of `A-Z a-z 0-9 _ -`,
    /// each a string, a whole number or a boolean.
    pub fn parse(v: &Value) -> Result<MetadataFilter, KnowledgeError> {
        let Value::Object(map) = v else {
            return Err(invalid(
                "knowledgeFilter must be an object of metadata keys and the values they must equal"
                    .into(),
            ));
        };
        Self::from_map(map)
    }

    fn from_map(map: &Map<String, Value>) -> Result<MetadataFilter, KnowledgeError> {
        if map.is_empty() || map.len() > MAX_FILTER_KEYS {
            return Err(invalid(format!(
                "knowledgeFilter must have 1 to {MAX_FILTER_KEYS} keys, got {}",
                map.len()
            )));
        }
        let mut out = Vec::new();
        for (key, value) in map {
            let ok_key = !key.is_empty()
                && key.chars().count() <= MAX_KEY_CHARS
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok_key {
                return Err(invalid(format!(
                    "knowledgeFilter key {key:?} must be 1 to {MAX_KEY_CHARS} characters of A-Z a-z 0-9 _ -"
                )));
            }
            let value = match value {
                Value::String(s) => FilterValue::Text(s.clone()),
                Value::Bool(b) => FilterValue::Int(i64::from(*b)),
                Value::Number(n) if n.is_i64() => FilterValue::Int(n.as_i64().unwrap_or_default()),
                _ => {
                    return Err(invalid(format!(
                        "knowledgeFilter.{key} must be a string, a whole number or a boolean"
                    )))
                }
            };
            out.push((key.clone(), value));
        }
        Ok(MetadataFilter(out))
    }

    /// The condition (`AND`-joined, one `?` per key) and its values in order. Keys are checked
    /// to plain characters, so they are written into the JSON path as they are.
    pub fn sql(&self) -> (String, Vec<FilterValue>) {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, _)| format!("json_extract(d.metadata, '$.{k}') = ?"))
            .collect();
        (
            parts.join(" AND "),
            self.0.iter().map(|(_, v)| v.clone()).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn filters_become_one_equality_per_key() {
        let f = MetadataFilter::parse(&json!({"lang": "de", "tier": 2, "public": true})).unwrap();
        let (sql, values) = f.sql();
        assert_eq!(
            sql,
            "json_extract(d.metadata, '$.lang') = ? AND json_extract(d.metadata, '$.public') = ? AND json_extract(d.metadata, '$.tier') = ?"
        );
        assert_eq!(
            values,
            vec![
                FilterValue::Text("de".into()),
                FilterValue::Int(1),
                FilterValue::Int(2)
            ]
        );
        let off = MetadataFilter::parse(&json!({"public": false})).unwrap();
        assert_eq!(off.sql().1, vec![FilterValue::Int(0)]);
    }

    #[test]
    fn bad_filters_are_refused_naming_the_problem() {
        let eight: Map<String, Value> = (0..MAX_FILTER_KEYS)
            .map(|i| (format!("k{i}"), json!(1)))
            .collect();
        assert!(MetadataFilter::parse(&Value::Object(eight.clone())).is_ok());
        let mut nine = eight;
        nine.insert("k9".into(), json!(1));
        let long = "k".repeat(MAX_KEY_CHARS);
        assert!(MetadataFilter::parse(&json!({ long.clone(): 1 })).is_ok());
        assert!(
            MetadataFilter::parse(&json!({"doc_type": "faq", "team-name": "ops", "Rev2": 2}))
                .is_ok()
        );
        for bad in [
            json!("lang=de"),
            json!([]),
            json!({}),
            Value::Object(nine),
            json!({ format!("{long}k"): 1 }),
            json!({"a.b": 1}),
            json!({"it's": 1}),
            json!({"": 1}),
            json!({"x": 1.5}),
            json!({"x": null}),
            json!({"x": [1]}),
            json!({"x": {"y": 1}}),
        ] {
            let e = MetadataFilter::parse(&bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    KnowledgeError::InvalidField {
                        field: "knowledgeFilter",
                        ..
                    }
                ),
                "{bad}: {e:?}"
            );
        }
    }
}
