//! OAuth2 access tokens per provider, cached in the isolate until `expires_in` minus a margin;
//! concurrent requests on a cold cache share one token request (single flight).

use std::cell::RefCell;
use std::collections::HashMap;

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use gateway::oauth::{basic_authorization, parse_token_response, token_request_body, AccessToken};
use wasm_bindgen::JsValue;
use worker::{Fetch, Headers, Method, Request, RequestInit};

use crate::clock::now_ms;

type Pending = Shared<LocalBoxFuture<'static, Result<AccessToken, String>>>;

enum Slot {
    Ready(AccessToken),
    Fetching(Pending),
}

thread_local! {
    static TOKENS: RefCell<HashMap<String, Slot>> = RefCell::new(HashMap::new());
}

/// What a token request needs; owned, because the request outlives the caller that started it.
#[derive(Clone)]
pub struct TokenRequest {
    pub provider: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub basic: bool,
}

/// A valid access token for the provider: the cached one, the one being fetched, or a new one.
pub async fn access_token(req: &TokenRequest) -> Result<String, String> {
    let now = now_ms();
    let pending = TOKENS.with(|t| {
        let mut t = t.borrow_mut();
        match t.get(&req.provider) {
            Some(Slot::Ready(tok)) if tok.use_until_ms > now => return Ok(tok.value.clone()),
            Some(Slot::Fetching(f)) => return Err(f.clone()),
            _ => {}
        }
        let f: Pending = fetch_token(req.clone()).boxed_local().shared();
        t.insert(req.provider.clone(), Slot::Fetching(f.clone()));
        Err(f)
    });
    let pending = match pending {
        Ok(cached) => return Ok(cached),
        Err(f) => f,
    };
    let result = pending.await;
    TOKENS.with(|t| {
        let mut t = t.borrow_mut();
        let still_fetching = matches!(t.get(&req.provider), Some(Slot::Fetching(_)));
        match &result {
            Ok(tok) if still_fetching => {
                t.insert(req.provider.clone(), Slot::Ready(tok.clone()));
            }
            Err(_) if still_fetching => {
                t.remove(&req.provider);
            }
            _ => {}
        }
    });
    result.map(|t| t.value)
}

/// Forgets `rejected` (the upstream answered 401 with it), so the next call fetches a new one.
pub fn invalidate(provider: &str, rejected: &str) {
    TOKENS.with(|t| {
        let mut t = t.borrow_mut();
        if matches!(t.get(provider), Some(Slot::Ready(tok)) if tok.value == rejected) {
            t.remove(provider);
        }
    });
}

/// Forgets every token (for the deep health check, which must ask the token endpoint).
pub fn forget(provider: &str) {
    TOKENS.with(|t| {
        if matches!(t.borrow().get(provider), Some(Slot::Ready(_))) {
            t.borrow_mut().remove(provider);
        }
    });
}

async fn fetch_token(req: TokenRequest) -> Result<AccessToken, String> {
    let fail = |what: &str| format!("token endpoint of `{}`: {what}", req.provider);
    let body = token_request_body(
        req.scope.as_deref(),
        req.audience.as_deref(),
        (!req.basic).then_some((req.client_id.as_str(), req.client_secret.as_str())),
    );
    let headers = Headers::new();
    let set = |k: &str, v: &str| {
        headers
            .set(k, v)
            .map_err(|_| fail("could not build the request"))
    };
    set("content-type", "application/x-www-form-urlencoded")?;
    set("accept", "application/json")?;
    if req.basic {
        set(
            "authorization",
            &basic_authorization(&req.client_id, &req.client_secret),
        )?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from_str(&body)));
    let request =
        Request::new_with_init(&req.token_url, &init).map_err(|_| fail("invalid token URL"))?;
    let mut resp = Fetch::Request(request)
        .send()
        .await
        .map_err(|_| fail("unreachable"))?;
    let status = resp.status_code();
    let bytes = resp
        .bytes()
        .await
        .map_err(|_| fail("the answer could not be read"))?;
    let parsed = parse_token_response(&bytes, now_ms());
    match (status, parsed) {
        (200..=299, Ok(tok)) => Ok(tok),
        (200..=299, Err(e)) => Err(fail(&e)),
        (s, Err(e)) if e.starts_with("the token endpoint refused") => {
            Err(fail(&format!("HTTP {s}, {e}")))
        }
        (s, _) => Err(fail(&format!("HTTP {s}"))),
    }
}
