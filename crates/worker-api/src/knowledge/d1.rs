//! A thin D1 binding over `JsValue` (workers-rs's `d1` feature costs more than these few
//! methods): prepare, bind, `all`, `run` and `batch`, rows read back as JSON.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::Env;

use crate::js::{js_error_message, value};

#[wasm_bindgen]
extern "C" {
    /// The `env.<binding>` object of a `[[d1_databases]]` binding.
    type DatabaseBinding;

    #[wasm_bindgen(method, catch)]
    fn prepare(this: &DatabaseBinding, sql: &str) -> Result<Statement, JsValue>;

    #[wasm_bindgen(method, catch)]
    async fn batch(this: &DatabaseBinding, statements: js_sys::Array) -> Result<JsValue, JsValue>;

    /// A prepared statement (`D1PreparedStatement`).
    #[derive(Clone)]
    type Statement;

    #[wasm_bindgen(method, catch, variadic)]
    fn bind(this: &Statement, values: &js_sys::Array) -> Result<Statement, JsValue>;

    #[wasm_bindgen(method, catch)]
    async fn all(this: &Statement) -> Result<JsValue, JsValue>;
}

/// One bound value.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    Int(i64),
    Null,
}

impl From<&str> for Param {
    fn from(s: &str) -> Self {
        Param::Text(s.to_string())
    }
}

impl From<String> for Param {
    fn from(s: String) -> Self {
        Param::Text(s)
    }
}

impl From<Option<String>> for Param {
    fn from(s: Option<String>) -> Self {
        s.map_or(Param::Null, Param::Text)
    }
}

impl From<i64> for Param {
    fn from(n: i64) -> Self {
        Param::Int(n)
    }
}

impl Param {
    fn to_js(&self) -> JsValue {
        match self {
            Param::Text(s) => JsValue::from_str(s),
            // D1 binds JS numbers; every integer here is far below 2^53.
            Param::Int(n) => JsValue::from_f64(*n as f64),
            Param::Null => JsValue::NULL,
        }
    }
}

/// A statement and its values, for [`Database::batch`].
pub struct Query {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Query {
    pub fn new(sql: impl Into<String>, params: Vec<Param>) -> Query {
        Query {
            sql: sql.into(),
            params,
        }
    }
}

/// A D1 database binding.
pub struct Database {
    inner: DatabaseBinding,
}

impl Database {
    /// The binding named `binding`, or `None` when the worker has none by that name.
    pub fn from_env(env: &Env, binding: &str) -> Option<Database> {
        value(env, binding).map(|v| Database {
            inner: v.unchecked_into(),
        })
    }

    fn statement(&self, q: &Query) -> Result<Statement, String> {
        let stmt = self
            .inner
            .prepare(&q.sql)
            .map_err(|e| js_error_message(&e))?;
        if q.params.is_empty() {
            return Ok(stmt);
        }
        let values: js_sys::Array = q.params.iter().map(Param::to_js).collect();
        stmt.bind(&values).map_err(|e| js_error_message(&e))
    }

    /// The rows of one query, each a JSON object by column name.
    pub async fn all(&self, q: Query) -> Result<Vec<serde_json::Value>, String> {
        let result = self
            .statement(&q)?
            .all()
            .await
            .map_err(|e| js_error_message(&e))?;
        rows(&result)
    }

    /// Runs the statements in one transaction (D1's `batch`): all or nothing.
    pub async fn batch(&self, queries: &[Query]) -> Result<(), String> {
        let statements = js_sys::Array::new();
        for q in queries {
            statements.push(&self.statement(q)?.into());
        }
        self.inner
            .batch(statements)
            .await
            .map(|_| ())
            .map_err(|e| js_error_message(&e))
    }
}

/// `result.results` of a `D1Result`, as JSON.
fn rows(result: &JsValue) -> Result<Vec<serde_json::Value>, String> {
    let results = value(result, "results").unwrap_or_else(|| js_sys::Array::new().into());
    let text = js_sys::JSON::stringify(&results)
        .map_err(|e| js_error_message(&e))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| format!("D1 answered rows that are not JSON: {e}"))
}
