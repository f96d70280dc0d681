//! The Cloudflare Worker: the only crate that touches HTTP, Env, KV, Durable Objects, the AI binding and the clock.

mod ai;
mod body;
mod budget_store;
mod clock;
mod config;
mod engine;
mod error;
mod exchange;
mod http;
mod provider;
mod relay;
mod reservation;
mod router;
mod routes;

use worker::{event, Context, Env, Request, Response};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    Ok(router::serve(req, env, ctx).await)
}
