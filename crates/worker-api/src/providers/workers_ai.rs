//! `WorkersAi`: the `env.AI` binding called with `run(model, inputs, { gateway })`.
//!
//! `worker::Ai::run` has no options argument, so the binding is declared here with the
//! three-argument `run` and reached through `Reflect` (never `dyn_into`: the binding's class
//! is not a global the runtime can check against).

use gateway::attempt::AttemptFailure;
use gateway::call::{GatewayRoute, ModelCall};
use gateway::wire::openai_http::error_code;
use gateway::wire::workers_ai::{whole_answer, StreamDecoder};
use gateway::wire::Decode;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use worker::web_sys::ReadableStream;
use worker::Env;

use crate::engine::pump::ModelBytes;
use crate::http;
use crate::js::{has_fn, js_error_message};
use crate::providers::{ChatProvider, ModelOutput};

#[wasm_bindgen]
extern "C" {
    /// The Workers AI binding object.
    #[wasm_bindgen(extends = js_sys::Object)]
    pub type AiBinding;

    #[wasm_bindgen(structural, method, catch)]
    fn run(
        this: &AiBinding,
        model: &str,
        inputs: JsValue,
        options: JsValue,
    ) -> Result<js_sys::Promise, JsValue>;
}

/// The name of the Workers AI binding.
pub const AI_BINDING: &str = "AI";

/// What this isolate has learnt about its AI binding: nothing yet, that it runs, or that it
/// only runs remotely (`wrangler dev --local`: every call rejects at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingState {
    Unknown,
    Runs,
    RemoteOnly,
}

thread_local! {
    static STATE: std::cell::Cell<BindingState> = const { std::cell::Cell::new(BindingState::Unknown) };
}

/// Remembers what a call of the binding showed.
fn note(outcome: &Result<ModelOutput, AttemptFailure>) {
    let state = match outcome {
        Err(f) if f.kind == gateway::attempt::FailureKind::Unavailable => BindingState::RemoteOnly,
        _ => BindingState::Runs,
    };
    STATE.with(|s| s.set(state));
}

/// The model a health probe names: no such model exists, so where the binding runs the call
/// ends at once with Workers AI's `5007` (no inference, nothing billed); where it cannot run it
/// rejects with "needs to be run remotely".
const PROBE_MODEL: &str = "@cf/gateway-health/probe";

/// Whether the binding can run here, from earlier calls or, the first time, a probe call.
pub async fn binding_state(binding: &WorkersAi) -> BindingState {
    let known = STATE.with(std::cell::Cell::get);
    if known != BindingState::Unknown {
        return known;
    }
    let inputs = js_sys::Object::new();
    let outcome = match binding
        .binding
        .run(PROBE_MODEL, inputs.into(), JsValue::UNDEFINED)
    {
        Err(e) => Err(e),
        Ok(p) => crate::providers::within(crate::clock::now_ms() + 3000, JsFuture::from(p))
            .await
            .unwrap_or(Ok(JsValue::NULL)),
    };
    let state = match outcome {
        Err(e)
            if gateway::attempt::FailureKind::from_binding_message(&js_error_message(&e))
                == gateway::attempt::FailureKind::Unavailable =>
        {
            BindingState::RemoteOnly
        }
        _ => BindingState::Runs,
    };
    STATE.with(|s| s.set(state));
    state
}

/// Workers AI through the `AI` binding.
pub struct WorkersAi {
    binding: AiBinding,
}

impl WorkersAi {
    pub fn from_env(env: &Env, name: &str) -> worker::Result<Self> {
        let v = js_sys::Reflect::get(env, &JsValue::from_str(name)).map_err(worker::Error::from)?;
        if v.is_undefined() || v.is_null() {
            return Err(worker::Error::RustError(format!(
                "the `{name}` binding is missing: add [ai] binding = \"{name}\""
            )));
        }
        Ok(Self {
            binding: v.unchecked_into(),
        })
    }

    /// Runs a model whose answer is one JSON object (embeddings) with `inputs` (JSON text),
    /// and returns that answer as JSON text.
    pub async fn run_json(
        &self,
        model: &str,
        inputs: &str,
        route: &GatewayRoute<'_>,
    ) -> Result<String, AttemptFailure> {
        let upstream = |v: JsValue| AttemptFailure::from_binding(&js_error_message(&v));
        let inputs = js_sys::JSON::parse(inputs)
            .map_err(|e| AttemptFailure::malformed(&js_error_message(&e)))?;
        let options = to_js(&route.run_options())?;
        let promise = self.binding.run(model, inputs, options).map_err(upstream)?;
        let out = JsFuture::from(promise).await.map_err(upstream)?;
        if has_fn(&out, "arrayBuffer") {
            let resp: worker::web_sys::Response = out.unchecked_into();
            let text = http::response_text(&resp)
                .await
                .map_err(|e| AttemptFailure::network(&js_error_message(&e)))?;
            if !resp.ok() {
                return Err(AttemptFailure::http(resp.status(), error_code(&text), None));
            }
            return Ok(text);
        }
        Ok(js_sys::JSON::stringify(&out)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default())
    }
}

/// The call's inputs as a JS object: one `JSON.parse` of the serialized value, which costs less
/// than building the object field by field across the wasm boundary.
fn to_js(v: &Value) -> Result<JsValue, AttemptFailure> {
    let failed = |e: &dyn std::fmt::Display| {
        AttemptFailure::malformed(&format!("could not encode the call: {e}"))
    };
    let text = serde_json::to_string(v).map_err(|e| failed(&e))?;
    js_sys::JSON::parse(&text).map_err(|e| failed(&js_error_message(&e)))
}

impl ChatProvider for WorkersAi {
    async fn run(
        &self,
        call: &ModelCall<'_>,
        route: &GatewayRoute<'_>,
    ) -> Result<ModelOutput, AttemptFailure> {
        let upstream = |v: JsValue| AttemptFailure::from_binding(&js_error_message(&v));
        let promise = match self.binding.run(
            call.model,
            to_js(&call.inputs())?,
            to_js(&route.run_options())?,
        ) {
            Ok(p) => p,
            Err(e) => {
                let failed = Err(upstream(e));
                note(&failed);
                return failed;
            }
        };
        let outcome = match JsFuture::from(promise).await {
            Ok(out) => into_output(out).await,
            Err(e) => Err(upstream(e)),
        };
        note(&outcome);
        outcome
    }
}

/// A binding's answer may be a JSON object, a `ReadableStream` of SSE, or a `Response`.
async fn into_output(out: JsValue) -> Result<ModelOutput, AttemptFailure> {
    let unreadable = |v: JsValue| AttemptFailure::network(&js_error_message(&v));
    let decoder = || -> Box<dyn Decode> { Box::new(StreamDecoder::new()) };
    if has_fn(&out, "getReader") {
        let bytes = ModelBytes::open(out.unchecked_ref::<ReadableStream>()).map_err(unreadable)?;
        return Ok(ModelOutput::stream(bytes, decoder()));
    }
    if has_fn(&out, "arrayBuffer")
        && js_sys::Reflect::has(&out, &JsValue::from_str("status")).unwrap_or(false)
    {
        let resp: worker::web_sys::Response = out.unchecked_into();
        if !resp.ok() {
            let text = http::response_text(&resp).await.unwrap_or_default();
            return Err(AttemptFailure::http(resp.status(), error_code(&text), None));
        }
        let is_sse = resp
            .headers()
            .get("content-type")
            .ok()
            .flatten()
            .is_some_and(|c| c.contains("text/event-stream"));
        if is_sse {
            return match resp.body() {
                Some(body) => ModelBytes::open(&body)
                    .map(|bytes| ModelOutput::stream(bytes, decoder()))
                    .map_err(unreadable),
                None => Err(AttemptFailure::network("an empty stream response")),
            };
        }
        let text = http::response_text(&resp).await.map_err(unreadable)?;
        return whole_answer_text(&text);
    }
    from_js_json(&out)
}

fn from_js_json(v: &JsValue) -> Result<ModelOutput, AttemptFailure> {
    let text = js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    whole_answer_text(&text)
}

/// A whole answer's JSON text, decoded; text that is not JSON is a malformed answer.
pub fn whole_answer_text(text: &str) -> Result<ModelOutput, AttemptFailure> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        AttemptFailure::from_decode(&gateway::sse::DecodeError::json(text.as_bytes(), &e))
    })?;
    whole_answer(&value)
        .map(|events| ModelOutput::Whole(Some(events)))
        .map_err(|e| AttemptFailure::from_decode(&e))
}

#[cfg(all(test, target_arch = "wasm32"))]
#[allow(clippy::unwrap_used, clippy::panic)] // wasm_bindgen_test fns are tests, which clippy cannot see
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;
    use worker::web_sys;

    use super::*;

    fn js(json: &str) -> JsValue {
        js_sys::JSON::parse(json).unwrap()
    }

    #[wasm_bindgen_test]
    fn thrown_errors_keep_name_and_message() {
        let e = js_sys::Error::new("3040: Capacity temporarily exceeded");
        e.set_name("InferenceUpstreamError");
        assert_eq!(
            js_error_message(&e.into()),
            "InferenceUpstreamError: 3040: Capacity temporarily exceeded"
        );
        assert_eq!(js_error_message(&JsValue::from_str("plain")), "plain");
    }

    #[wasm_bindgen_test]
    async fn a_plain_object_is_a_whole_answer() {
        match into_output(js(r#"{"response":"hi","usage":{"prompt_tokens":1}}"#)).await {
            Ok(ModelOutput::Whole(Some(events))) => {
                assert_eq!(events[0], gateway::events::ModelEvent::Text("hi".into()))
            }
            _ => panic!("expected a whole answer"),
        }
    }

    #[wasm_bindgen_test]
    async fn a_readable_stream_is_read_as_bytes() {
        let body = "data: {\"response\":\"a\"}\n\ndata: [DONE]\n\n";
        let stream = web_sys::Response::new_with_opt_str(Some(body))
            .unwrap()
            .body()
            .unwrap();
        let Ok(ModelOutput::Stream { bytes: mut s, .. }) = into_output(stream.into()).await else {
            panic!("expected a stream")
        };
        let mut got = Vec::new();
        loop {
            match s.next().await {
                crate::engine::pump::Chunk::Bytes(b) => got.extend(b),
                crate::engine::pump::Chunk::End => break,
                crate::engine::pump::Chunk::Failed(e) => panic!("read failed: {e:?}"),
            }
        }
        assert_eq!(String::from_utf8(got).unwrap(), body);
    }

    #[wasm_bindgen_test]
    async fn responses_are_read_by_status_and_content_type() {
        let init = web_sys::ResponseInit::new();
        init.set_status(500);
        let failed =
            web_sys::Response::new_with_opt_str_and_init(Some("the prompt echoed"), &init).unwrap();
        match into_output(failed.into()).await {
            Err(f) => assert_eq!((f.detail.as_str(), f.status), ("HTTP 500", Some(500))),
            _ => panic!("expected an upstream failure"),
        }
        let init = web_sys::ResponseInit::new();
        init.set_status(400);
        let failed = web_sys::Response::new_with_opt_str_and_init(
            Some(r#"{"errors":[{"message":"5007: No such model"}]}"#),
            &init,
        )
        .unwrap();
        match into_output(failed.into()).await {
            Err(f) => assert_eq!(
                (f.detail.as_str(), f.kind),
                (
                    "HTTP 400 (5007)",
                    gateway::attempt::FailureKind::ModelNotFound
                )
            ),
            _ => panic!("expected an upstream failure"),
        }
        let ok = web_sys::Response::new_with_opt_str(Some(
            r#"{"choices":[{"message":{"content":"x"}}]}"#,
        ))
        .unwrap();
        assert!(matches!(
            into_output(ok.into()).await,
            Ok(ModelOutput::Whole(_))
        ));
        let headers = web_sys::Headers::new().unwrap();
        headers.set("content-type", "text/event-stream").unwrap();
        let init = web_sys::ResponseInit::new();
        init.set_headers(&headers);
        let sse =
            web_sys::Response::new_with_opt_str_and_init(Some("data: [DONE]\n\n"), &init).unwrap();
        assert!(matches!(
            into_output(sse.into()).await,
            Ok(ModelOutput::Stream { .. })
        ));
    }

    #[wasm_bindgen_test]
    async fn text_that_is_not_json_is_an_upstream_failure() {
        let ok = web_sys::Response::new_with_opt_str(Some("<html>")).unwrap();
        assert!(matches!(
            into_output(ok.into()).await,
            Err(f) if f.kind == gateway::attempt::FailureKind::Malformed
        ));
    }
}
