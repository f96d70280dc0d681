//! A thin Vectorize binding over `JsValue` (workers-rs has none): the index object from `Env`
//! by name, its methods declared as JS methods taking and answering plain JS objects (made
//! with `JSON.parse`, never `Map`s): `describe`, `query`, `upsert`, `deleteByIds`.

use serde_json::Value;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::Env;

use crate::js::{js_error_message, value};

#[wasm_bindgen]
extern "C" {
    /// The `env.<binding>` object of a `[[vectorize]]` binding (V2).
    type IndexBinding;

    /// Answers an `IndexInfo`.
    #[wasm_bindgen(method, catch)]
    async fn describe(this: &IndexBinding) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    async fn query(
        this: &IndexBinding,
        vector: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    async fn upsert(this: &IndexBinding, vectors: JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = deleteByIds)]
    async fn delete_by_ids(this: &IndexBinding, ids: JsValue) -> Result<JsValue, JsValue>;

    /// What `describe()` answers (V2): `{dimensions, vectorCount, processedUpToDatetime,
    /// processedUpToMutation}`.
    type IndexInfo;

    #[wasm_bindgen(method, getter)]
    fn dimensions(this: &IndexInfo) -> Option<u32>;
}

/// A Vectorize index binding (`[[vectorize]] binding = "<name>"`).
pub struct VectorizeIndex {
    inner: IndexBinding,
}

fn js(v: &Value) -> Result<JsValue, String> {
    js_sys::JSON::parse(&v.to_string()).map_err(|e| js_error_message(&e))
}

fn json(v: &JsValue) -> Result<Value, String> {
    let text = js_sys::JSON::stringify(v)
        .map_err(|e| js_error_message(&e))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| format!("Vectorize answered what is not JSON: {e}"))
}

impl VectorizeIndex {
    /// The binding named `binding`, or `None` when the worker has none by that name.
    pub fn from_env(env: &Env, binding: &str) -> Option<VectorizeIndex> {
        value(env, binding).map(|v| VectorizeIndex {
            inner: v.unchecked_into(),
        })
    }

    /// The index's dimension, from `describe()`; a throw or rejection as its words.
    pub async fn dimensions(&self) -> Result<u32, String> {
        let info = self
            .inner
            .describe()
            .await
            .map_err(|e| js_error_message(&e))?;
        info.unchecked_into::<IndexInfo>()
            .dimensions()
            .ok_or_else(|| "describe() answered without dimensions".to_string())
    }

    /// `query(vector, options)`: the matches' ids and scores, best first.
    pub async fn query(
        &self,
        vector: &[f32],
        options: &Value,
    ) -> Result<Vec<(String, f64)>, String> {
        let values: js_sys::Array = vector
            .iter()
            .map(|x| JsValue::from_f64(f64::from(*x)))
            .collect();
        let answer = self
            .inner
            .query(values.into(), js(options)?)
            .await
            .map_err(|e| js_error_message(&e))?;
        let answer = json(&answer)?;
        let matches = answer
            .get("matches")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(matches
            .iter()
            .filter_map(|m| {
                Some((
                    m.get("id")?.as_str()?.to_string(),
                    m.get("score")?.as_f64()?,
                ))
            })
            .collect())
    }

    /// `upsert(vectors)`: `[{id, values, namespace, metadata}]`.
    pub async fn upsert(&self, vectors: &Value) -> Result<(), String> {
        self.inner
            .upsert(js(vectors)?)
            .await
            .map(|_| ())
            .map_err(|e| js_error_message(&e))
    }

    /// Deletes vectors by id, in batches the binding takes.
    pub async fn remove(&self, ids: &[String]) -> Result<(), String> {
        for batch in ids.chunks(knowledge::ingest::DELETE_BATCH) {
            self.delete_by_ids(batch).await?;
        }
        Ok(())
    }

    /// `deleteByIds(ids)`.
    async fn delete_by_ids(&self, ids: &[String]) -> Result<(), String> {
        let ids: js_sys::Array = ids.iter().map(|s| JsValue::from_str(s)).collect();
        self.inner
            .delete_by_ids(ids.into())
            .await
            .map(|_| ())
            .map_err(|e| js_error_message(&e))
    }
}
