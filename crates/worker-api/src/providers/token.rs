//! OAuth2 access tokens per provider, cached in the isolate until `expires_in` minus a margin;
//! concurrent requests on a cold cache share one token request (single flight).

use std::cell::RefCell;
use std::time::Duration;

use gateway::oauth::{
    basic_authorization, parse_token_response, token_request_body, AccessToken, Claim, TokenSlots,
};
use wasm_bindgen::JsValue;
use worker::{Delay, Fetch, Headers, Method, Request, RequestInit};

use crate::clock::now_ms;
use crate::http;

thread_local! {
    static TOKENS: RefCell<TokenSlots> = RefCell::new(TokenSlots::default());
}

/// How often a waiter looks for the shared answer.
const WAIT_STEP_MS: u64 = 15;

/// What an owned token request needs; owned, because it outlives the borrow of the config.
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

/// A valid access token for the provider: the cached one, the one another request of this
/// isolate is fetching (single flight), or a new one (`gateway::oauth::TokenSlots` decides).
///
/// Only the request that starts a token fetch touches its I/O objects: workerd forbids I/O
/// across requests. Others wait on their own timers for the answer to land in the cache.
pub async fn access_token(req: &TokenRequest) -> Result<String, String> {
    let started = now_ms();
    loop {
        let now = now_ms();
        match TOKENS.with(|t| t.borrow_mut().claim(&req.provider, started, now)) {
            Claim::Use(v) => return Ok(v),
            Claim::Failed(e) => return Err(e),
            Claim::Wait => Delay::from(Duration::from_millis(WAIT_STEP_MS)).await,
            Claim::Fetch => {
                // If this request is dropped mid-fetch (its attempt timed out), the guard
                // clears the slot so the next request fetches instead of waiting.
                let guard = FetchGuard(&req.provider);
                let fetch = fetch_token(req.clone());
                let result = match crate::providers::within(now + FETCH_TIMEOUT_MS, fetch).await {
                    Some(r) => r,
                    None => Err(format!(
                        "token endpoint of `{}`: no answer within {FETCH_TIMEOUT_MS} ms",
                        req.provider
                    )),
                };
                std::mem::forget(guard);
                TOKENS.with(|t| t.borrow_mut().fetched(&req.provider, &result, now_ms()));
                return result.map(|t| t.value);
            }
        }
    }
}

/// Clears a fetch whose owner went away before its answer.
struct FetchGuard<'a>(&'a str);

impl Drop for FetchGuard<'_> {
    fn drop(&mut self) {
        TOKENS.with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                t.abandon(self.0);
            }
        });
    }
}

/// The longest a token request may take.
const FETCH_TIMEOUT_MS: u64 = 10_000;

/// Forgets `rejected` (the upstream answered 401 with it), so the next call fetches a new one.
pub fn invalidate(provider: &str, rejected: &str) {
    TOKENS.with(|t| t.borrow_mut().invalidate(provider, rejected));
}

/// Forgets the cached token (for the deep health check, which must ask the token endpoint).
pub fn forget(provider: &str) {
    TOKENS.with(|t| t.borrow_mut().forget(provider));
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
    let resp = Fetch::Request(request)
        .send()
        .await
        .map_err(|_| fail("unreachable"))?;
    let status = resp.status_code();
    let text = http::body_text(&resp)
        .await
        .map_err(|_| fail("the answer could not be read"))?;
    let parsed = parse_token_response(text.as_bytes(), now_ms());
    match (status, parsed) {
        (200..=299, Ok(tok)) => Ok(tok),
        (200..=299, Err(e)) => Err(fail(&e)),
        (s, Err(e)) if e.starts_with("the token endpoint refused") => {
            Err(fail(&format!("HTTP {s}, {e}")))
        }
        (s, _) => Err(fail(&format!("HTTP {s}"))),
    }
}
