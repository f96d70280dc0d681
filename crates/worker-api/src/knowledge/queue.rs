//! The ingestion queue: a thin producer binding (`send`), and the consumer's view of a
//! message batch (`messages`, each with `body`, `attempts`, `ack`, `retry`).

use serde_json::Value;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::Env;

use crate::js::{js_error_message, value};

#[wasm_bindgen]
extern "C" {
    /// The `env.<binding>` object of a `[[queues.producers]]` binding.
    type QueueBinding;

    #[wasm_bindgen(method, catch)]
    async fn send(this: &QueueBinding, body: JsValue, options: JsValue)
        -> Result<JsValue, JsValue>;

    /// What the runtime hands the `queue` handler.
    pub type MessageBatch;

    #[wasm_bindgen(method, getter)]
    pub fn messages(this: &MessageBatch) -> js_sys::Array;

    /// One message of a batch.
    pub type Message;

    #[wasm_bindgen(method, getter)]
    fn body(this: &Message) -> JsValue;

    /// How many times this message has been delivered, from 1.
    #[wasm_bindgen(method, getter)]
    pub fn attempts(this: &Message) -> Option<u32>;

    #[wasm_bindgen(method)]
    pub fn ack(this: &Message);

    #[wasm_bindgen(method)]
    fn retry(this: &Message, options: JsValue);
}

impl Message {
    /// The body as JSON (`null` when it is not JSON-shaped).
    pub fn json(&self) -> Value {
        js_sys::JSON::stringify(&self.body())
            .ok()
            .and_then(|s| s.as_string())
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null)
    }

    /// Redelivers the message after `delay_secs`.
    pub fn retry_in(&self, delay_secs: u32) {
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"delaySeconds".into(), &JsValue::from(delay_secs));
        self.retry(options.into());
    }
}

/// A queue producer binding.
pub struct Producer {
    inner: QueueBinding,
}

impl Producer {
    pub fn from_env(env: &Env, binding: &str) -> Option<Producer> {
        value(env, binding).map(|v| Producer {
            inner: v.unchecked_into(),
        })
    }

    /// Sends one JSON message (as a plain JS object), delivered after `delay_secs` if given.
    pub async fn send(&self, body: &Value, delay_secs: Option<u32>) -> Result<(), String> {
        let body = js_sys::JSON::parse(&body.to_string()).map_err(|e| js_error_message(&e))?;
        let options = js_sys::Object::new();
        if let Some(secs) = delay_secs {
            let _ = js_sys::Reflect::set(&options, &"delaySeconds".into(), &JsValue::from(secs));
        }
        self.inner
            .send(body, options.into())
            .await
            .map(|_| ())
            .map_err(|e| js_error_message(&e))
    }
}
