//! Reading JS values the runtime hands over: a thrown error's words, whether a method or a
//! value (a binding on `Env`) exists.

use wasm_bindgen::JsValue;

/// `"Name: message"` of a thrown JS value, as the AI binding rejects with
/// `InferenceUpstreamError("<code>: <description>")`.
pub fn js_error_message(v: &JsValue) -> String {
    let get = |k: &str| {
        js_sys::Reflect::get(v, &JsValue::from_str(k))
            .ok()
            .and_then(|x| x.as_string())
    };
    match (get("name"), get("message")) {
        (Some(n), Some(m)) => format!("{n}: {m}"),
        (None, Some(m)) => m,
        _ => v.as_string().unwrap_or_else(|| format!("{v:?}")),
    }
}

/// Whether `v` has a callable `name`.
pub fn has_fn(v: &JsValue, name: &str) -> bool {
    js_sys::Reflect::get(v, &JsValue::from_str(name))
        .map(|f| f.is_function())
        .unwrap_or(false)
}

/// `v[name]` unless it is `undefined` or `null` (a binding on `Env`).
pub fn value(v: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(v, &JsValue::from_str(name))
        .ok()
        .filter(|x| !x.is_undefined() && !x.is_null())
}

/// Whether `v` has a `name` that is neither `undefined` nor `null`.
pub fn has_value(v: &JsValue, name: &str) -> bool {
    value(v, name).is_some()
}
