//! The Cloudflare Worker: the only crate that touches HTTP, Env, KV, Durable Objects, the AI binding and the clock.

mod ai;
mod auth;
mod backend;
mod body;
mod budget_store;
mod clock;
mod config;
mod discovery;
mod engine;
mod error;
mod exchange;
mod http;
mod http_provider;
mod incoming;
mod keys;
mod lease_client;
mod provider;
mod pump;
mod relay;
mod reservation;
mod router;
mod routes;
mod session_store;
mod sessions;
mod token;

use futures::channel::oneshot;
use wasm_bindgen::JsCast;
use worker::{event, web_sys, Context, Env, Response};

/// Serves the request inside `waitUntil` and hands the response over: when a client resets
/// its connection the runtime cancels this handler, but the request still finishes its
/// books (budget settlement, the log line with `clientDisconnected`).
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let (tx, rx) = oneshot::channel();
    let raw: &wasm_bindgen::JsValue = ctx.as_ref().as_ref();
    let inner = Context::new(raw.clone().unchecked_into());
    ctx.wait_until(async move {
        let _ = tx.send(router::serve(incoming::Request::new(req), env, inner).await);
    });
    rx.await
        .map_err(|_| worker::Error::RustError("the request was dropped before its answer".into()))
}
