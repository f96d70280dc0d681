//! Response building (JSON bodies, the trace header, CORS grants and preflights) and reading a fetched body.

pub mod body;
pub mod error;
pub mod incoming;

use serde_json::Value;
use wasm_bindgen_futures::JsFuture;
use worker::{web_sys, Headers, Response, ResponseBody};

use crate::http::error::ApiError;

/// Response headers a browser client may read.
const EXPOSED_HEADERS: &str =
    "x-trace-id, x-model-id, x-fallback, x-tokens-prompt, x-tokens-completion, \
x-tokens-used, x-tokens-estimated, x-cost-usd, x-latency-ms, x-budget-remaining-daily, \
x-budget-remaining-monthly, x-ratelimit-limit, x-ratelimit-remaining, x-session-id, retry-after, \
x-max-tokens-reduced, x-dropped-params, x-vercel-ai-ui-message-stream, x-request-id, request-id, \
x-knowledge";

/// The whole body of a fetched response (an upstream, a Durable Object) as text, read by the
/// runtime in one call. `worker::Response::text` reads it chunk by chunk through JS, which
/// costs a read and a `releaseLock` per chunk (docs/performance.md). Bytes that are not UTF-8
/// become U+FFFD, as `Response.text()` does.
pub async fn body_text(resp: &Response) -> Result<String, String> {
    let js = |e: wasm_bindgen::JsValue| e.as_string().unwrap_or_else(|| format!("{e:?}"));
    match resp.body() {
        ResponseBody::Stream(stream) => {
            let whole =
                web_sys::Response::new_with_opt_readable_stream(Some(stream)).map_err(js)?;
            response_text(&whole).await.map_err(js)
        }
        ResponseBody::Body(bytes) => Ok(String::from_utf8_lossy(bytes).into_owned()),
        ResponseBody::Empty => Ok(String::new()),
    }
}

/// `response.text()` of a runtime `Response`; the error is what it threw.
pub async fn response_text(resp: &web_sys::Response) -> Result<String, wasm_bindgen::JsValue> {
    let text = JsFuture::from(resp.text()?).await?;
    Ok(text.as_string().unwrap_or_default())
}

/// POSTs `body` (JSON) to a Durable Object and reads its answer whole: (status, text).
pub async fn call_object(
    stub: &worker::Stub,
    url: &str,
    body: &str,
) -> Result<(u16, String), String> {
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(wasm_bindgen::JsValue::from_str(body)));
    let req = worker::Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| e.to_string())?;
    let text = body_text(&resp).await?;
    Ok((resp.status_code(), text))
}

/// A JSON response with the given status.
pub fn json(status: u16, body: &Value) -> worker::Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

/// A surface's error format: the body of a problem (each surface owns one).
pub type ErrorFormat = fn(&gateway::problem::Problem, &str) -> Value;

/// The error response for `err` in `format`, with `Allow` on a 405 and `Retry-After` on a 429.
pub fn error(err: &ApiError, trace_id: &str, format: ErrorFormat) -> Response {
    let problem = err.problem();
    let status = problem.status;
    let body = format(&problem, trace_id);
    let mut resp = match json(status, &body) {
        Ok(r) => r,
        Err(_) => Response::empty()
            .map(|r| r.with_status(status))
            .unwrap_or_else(|_| plain_500()),
    };
    match err {
        ApiError::MethodNotAllowed { allow, .. } => {
            let _ = resp.headers_mut().set("allow", allow);
        }
        ApiError::Unauthorized(_) => {
            let _ = resp.headers_mut().set("www-authenticate", "Bearer");
        }
        ApiError::RateLimited { limit } | ApiError::AuthThrottled { limit } => {
            let h = resp.headers_mut();
            let _ = h.set("retry-after", "60");
            let _ = h.set("x-ratelimit-limit", &limit.to_string());
            let _ = h.set("x-ratelimit-remaining", "0");
        }
        ApiError::BudgetExceeded { refusal, .. } => {
            let _ = resp
                .headers_mut()
                .set("retry-after", &refusal.retry_after_secs.to_string());
            // SDKs retry 429s; a spent budget does not come back in seconds.
            let _ = resp.headers_mut().set("x-should-retry", "false");
        }
        _ => {}
    }
    resp
}

fn plain_500() -> Response {
    // Only reached if even an empty response cannot be built.
    Response::error("internal error", 500)
        .unwrap_or_else(|_| Response::builder().with_status(500).empty())
}

/// Sets the trace id (also as `x-request-id` and `request-id`, where the OpenAI and Anthropic
/// SDKs read a request's id), `Vary: Origin` (every answer depends on the origin, granted or not)
/// and, when `origin` is granted, the CORS headers.
pub fn finish(resp: &mut Response, trace_id: &str, cors_origin: Option<&str>, credentials: bool) {
    let h: &mut Headers = resp.headers_mut();
    let _ = h.set("x-trace-id", trace_id);
    let _ = h.set("x-request-id", trace_id);
    let _ = h.set("request-id", trace_id);
    let _ = h.append("vary", "Origin");
    if let Some(origin) = cors_origin {
        let _ = h.set("access-control-allow-origin", origin);
        let _ = h.set("access-control-expose-headers", EXPOSED_HEADERS);
        if credentials {
            let _ = h.set("access-control-allow-credentials", "true");
        }
    }
}

/// A `204` answer to a granted preflight; `requested` is its `Access-Control-Request-Headers`.
pub fn preflight(allow_methods: &str, requested: Option<&str>) -> worker::Result<Response> {
    let mut resp = Response::empty()?.with_status(204);
    let h = resp.headers_mut();
    h.set("access-control-allow-methods", allow_methods)?;
    // Only headers on the documented allow-list: a requested header off it is not echoed, so
    // the browser refuses to send it.
    let headers = gateway::access::preflight_allowed_headers(requested);
    if !headers.is_empty() {
        h.set("access-control-allow-headers", &headers)?;
    }
    h.set("access-control-max-age", "600")?;
    Ok(resp)
}
