//! The client's request as the runtime hands it over, read field by field on demand (never `request.cf`).

use wasm_bindgen_futures::JsFuture;
use worker::web_sys;
use worker::Headers;

/// `worker::Request` reads `request.cf` (an object workerd builds on each read) and more when it
/// is made; the gateway needs only the method, the URL, some headers and the body.
pub struct Request {
    inner: web_sys::Request,
    headers: Headers,
    url: String,
    path: String,
}

impl Request {
    pub fn new(inner: web_sys::Request) -> Self {
        let url = inner.url();
        let path = path_of(&url);
        Self {
            headers: Headers(inner.headers()),
            inner,
            url,
            path,
        }
    }

    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The path, without query or fragment.
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// The whole URL as the client sent it.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn inner(&self) -> &web_sys::Request {
        &self.inner
    }

    /// The body; an error carries what the runtime said (a client that stopped sending).
    pub async fn bytes(&mut self) -> Result<Vec<u8>, String> {
        let read = self.inner.array_buffer().map_err(|e| js_text(&e))?;
        JsFuture::from(read)
            .await
            .map(|buf| js_sys::Uint8Array::new(&buf).to_vec())
            .map_err(|e| js_text(&e))
    }
}

fn js_text(e: &wasm_bindgen::JsValue) -> String {
    e.as_string()
        .unwrap_or_else(|| "failed to read the request body".into())
}

/// `/path` of `scheme://host/path?query#fragment` (the runtime always gives an absolute URL).
fn path_of(url: &str) -> String {
    let after_host = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    };
    let path = after_host.split(['?', '#']).next().unwrap_or_default();
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}
