//! A thin Vectorize binding over `JsValue` (workers-rs has none): the index object from `Env`
//! by name, its methods declared as JS methods taking and answering plain JS objects. Only
//! `describe` for now; `query`/`upsert` are more `#[wasm_bindgen(method)]` lines.

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
}
