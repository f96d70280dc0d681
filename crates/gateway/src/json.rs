//! Reading request bodies as JSON trees with typed accessors whose errors name the field's
//! path (`messages[0].role`), in serde's words (`invalid type: string "x", expected u32`).
//!
//! Surfaces read their bodies with this instead of `#[derive(Deserialize)]` plus path
//! tracking: one JSON parser for every body, and no per-type deserializer code in the module
//! (docs/performance.md, the size table).

use serde_json::{Map, Value};

use crate::error::Error;

/// An invalid request naming `path`: `"{path}: {message}"`.
pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
    let field = path.into();
    let message = message.into();
    Error::InvalidRequest {
        message: format!("{field}: {message}"),
        field: Some(field),
    }
}

/// Parses a request body that must be one JSON object (whitespace around it, nothing else).
pub fn object_body(body: &[u8]) -> Result<Map<String, Value>, Error> {
    let syntax = |e: serde_json::Error| Error::InvalidJson {
        message: format!("body is not valid JSON: {e}"),
    };
    let value: Value = serde_json::from_slice(body).map_err(syntax)?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Error::InvalidRequest {
            field: None,
            message: "body must be a JSON object".into(),
        }),
    }
}

/// How serde describes a value it did not expect.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        Value::String(s) => format!("string {}", Value::String(s.clone())),
        Value::Array(_) => "sequence".into(),
        Value::Object(_) => "map".into(),
    }
}

/// A JSON object at a path, with typed reads of its fields. A field that is `null` reads as
/// absent, as `Option` fields do with serde.
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Obj<'a> {
    /// The object `map` at `path` (`""` for the body itself).
    pub fn new(map: &'a Map<String, Value>, path: &'a str) -> Self {
        Self { map, path }
    }

    /// The path of field `key`.
    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The raw value of `key`, `null` included.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// The value of `key` unless absent or `null`.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Refuses the first field not in `known`, in serde's words.
    pub fn known(&self, known: &[&str]) -> Result<(), Error> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => Err(invalid(self.path_of(k), unknown_field(k, known))),
        }
    }

    /// The first field not in `known`, if any (for surfaces that accept and report extras).
    pub fn unknown<'k>(&'k self, known: &[&str]) -> impl Iterator<Item = &'a String> + 'k {
        let known: Vec<String> = known.iter().map(|k| (*k).to_string()).collect();
        self.map.keys().filter(move |k| !known.contains(k))
    }

    fn wrong(&self, key: &str, v: &Value, expected: &str) -> Error {
        invalid(
            self.path_of(key),
            format!("invalid type: {}, expected {expected}", describe(v)),
        )
    }

    /// A field that must be present (and not `null`): `o.required("model", o.str("model")?)?`.
    pub fn required<T>(&self, key: &str, got: Option<T>) -> Result<T, Error> {
        got.ok_or_else(|| invalid(self.path_of(key), "is required"))
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(key, v, "a string")),
        }
    }

    pub fn string(&self, key: &str) -> Result<Option<String>, Error> {
        Ok(self.str(key)?.map(str::to_owned))
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, v, "a boolean")),
        }
    }

    /// An integer (any JSON integer that fits `i64`).
    pub fn i64(&self, key: &str) -> Result<Option<i64>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, v, "i64")),
        }
    }

    /// Any JSON number.
    pub fn f64(&self, key: &str) -> Result<Option<f64>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, v, "f64")),
        }
    }

    pub fn object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(self.wrong(key, v, "a map")),
        }
    }

    pub fn array(&self, key: &str) -> Result<Option<&'a [Value]>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong(key, v, "a sequence")),
        }
    }

    /// An array of strings.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>, Error> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                v => Err(invalid(
                    format!("{}[{i}]", self.path_of(key)),
                    format!("invalid type: {}, expected a string", describe(v)),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// serde's message for an unknown field.
pub fn unknown_field(key: &str, known: &[&str]) -> String {
    match known {
        [] => format!("unknown field `{key}`, there are no fields"),
        [one] => format!("unknown field `{key}`, expected `{one}`"),
        [a, b] => format!("unknown field `{key}`, expected `{a}` or `{b}`"),
        many => {
            let list: Vec<String> = many.iter().map(|k| format!("`{k}`")).collect();
            format!("unknown field `{key}`, expected one of {}", list.join(", "))
        }
    }
}

/// The object at `items[i]` of the array at `path`, or a type error naming it.
pub fn item_object<'a>(
    v: &'a Value,
    path: &str,
    i: usize,
) -> Result<&'a Map<String, Value>, Error> {
    match v {
        Value::Object(m) => Ok(m),
        v => Err(invalid(
            format!("{path}[{i}]"),
            format!("invalid type: {}, expected a map", describe(v)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: &Value) -> Obj<'_> {
        Obj::new(v.as_object().unwrap(), "")
    }

    fn err(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn bodies_are_one_object_and_nothing_else() {
        assert!(object_body(br#" {"a":1} "#).is_ok());
        assert_eq!(
            err(object_body(b"[1]").unwrap_err()),
            "body must be a JSON object"
        );
        assert_eq!(
            err(object_body(br#"{"a":1}x"#).unwrap_err()),
            "body is not valid JSON: trailing characters at line 1 column 8"
        );
        assert_eq!(
            err(object_body(b"{").unwrap_err()),
            "body is not valid JSON: EOF while parsing an object at line 1 column 1"
        );
    }

    #[test]
    fn reads_are_typed_and_errors_name_the_path_in_serdes_words() {
        let v = json!({"s":"x","n":5,"f":1.5,"b":true,"a":[1],"o":{"k":1},"z":null,"neg":-3});
        let o = obj(&v);
        assert_eq!(o.str("s").unwrap(), Some("x"));
        assert_eq!(o.str("z").unwrap(), None, "null reads as absent");
        assert_eq!(o.str("missing").unwrap(), None);
        assert_eq!(o.i64("n").unwrap(), Some(5));
        assert_eq!(o.i64("neg").unwrap(), Some(-3));
        assert_eq!(o.f64("n").unwrap(), Some(5.0));
        assert_eq!(o.bool("b").unwrap(), Some(true));
        assert_eq!(o.array("a").unwrap().map(<[Value]>::len), Some(1));
        assert!(o.object("o").unwrap().is_some());
        assert_eq!(
            err(o.str("n").unwrap_err()),
            "n: invalid type: integer `5`, expected a string"
        );
        assert_eq!(
            err(o.i64("s").unwrap_err()),
            "s: invalid type: string \"x\", expected i64"
        );
        assert_eq!(
            err(o.i64("f").unwrap_err()),
            "f: invalid type: floating point `1.5`, expected i64"
        );
        assert_eq!(
            err(o.bool("a").unwrap_err()),
            "a: invalid type: sequence, expected a boolean"
        );
        assert_eq!(
            err(o.array("o").unwrap_err()),
            "o: invalid type: map, expected a sequence"
        );
        assert_eq!(
            err(o.object("b").unwrap_err()),
            "b: invalid type: boolean `true`, expected a map"
        );
        assert_eq!(
            err(o.f64("s").unwrap_err()),
            "s: invalid type: string \"x\", expected f64"
        );
        assert_eq!(
            err(o
                .required("missing", o.str("missing").unwrap())
                .unwrap_err()),
            "missing: is required"
        );
        assert_eq!(o.required("s", o.str("s").unwrap()).unwrap(), "x");
        let inner = json!({"k": {"deep": 1}});
        let o = Obj::new(inner.as_object().unwrap(), "messages[2]");
        assert_eq!(o.path_of("k"), "messages[2].k");
        assert_eq!(
            err(o.str("k").unwrap_err()),
            "messages[2].k: invalid type: map, expected a string"
        );
        let strings = json!({"l": ["a", 1]});
        assert_eq!(
            err(obj(&strings).strings("l").unwrap_err()),
            "l[1]: invalid type: integer `1`, expected a string"
        );
        assert_eq!(
            err(item_object(&json!("x"), "messages", 3).unwrap_err()),
            "messages[3]: invalid type: string \"x\", expected a map"
        );
    }

    #[test]
    fn unknown_fields_are_named_like_serde_does() {
        let v = json!({"a":1,"zz":2});
        assert_eq!(
            err(obj(&v).known(&["a", "b", "c"]).unwrap_err()),
            "zz: unknown field `zz`, expected one of `a`, `b`, `c`"
        );
        assert_eq!(
            unknown_field("x", &["a"]),
            "unknown field `x`, expected `a`"
        );
        assert_eq!(
            unknown_field("x", &["a", "b"]),
            "unknown field `x`, expected `a` or `b`"
        );
        assert_eq!(
            unknown_field("x", &[]),
            "unknown field `x`, there are no fields"
        );
        assert!(obj(&v).known(&["a", "zz"]).is_ok());
        assert_eq!(obj(&v).unknown(&["a"]).collect::<Vec<_>>(), ["zz"]);
    }
}
