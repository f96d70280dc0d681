//! The Cloudflare Worker: the only crate that touches HTTP, Env, KV, Durable Objects, the AI binding and the clock.

mod access;
mod budgets;
mod clock;
mod config;
mod engine;
mod exchange;
mod http;
mod js;
mod knowledge;
mod ops;
mod providers;
mod router;
mod sessions;
mod surfaces;

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
        let _ = tx.send(router::serve(http::incoming::Request::new(req), env, inner).await);
    });
    rx.await
        .map_err(|_| worker::Error::RustError("the request was dropped before its answer".into()))
}

/// The `queue` handler (worker-build's shim calls an export named `queue` with the batch,
/// `env` and `ctx`): knowledge-base ingestion, `knowledge::ingest`.
#[wasm_bindgen::prelude::wasm_bindgen(js_name = queue)]
pub async fn queue_handler(
    batch: crate::knowledge::queue::MessageBatch,
    env: Env,
    ctx: worker::worker_sys::Context,
) {
    crate::knowledge::ingest::consume(batch, env, Context::new(ctx)).await;
}
