//! `POST /chat`: the native surface. Parse, answer with the engine, encode natively.

use gateway::surface::native::NativeEncoder;
use gateway::surface::native_request;
use worker::{Context, Env, Request, Response};

use crate::body::read_json_body;
use crate::config::Settings;
use crate::engine;
use crate::error::ApiError;
use crate::exchange::Exchange;

pub async fn handle(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    ex: &mut Exchange,
) -> Result<Response, ApiError> {
    let body = read_json_body(&mut req, settings.tenant.max_request_bytes).await?;
    let conv = native_request::parse(&body)?;
    engine::answer(
        env,
        ctx,
        settings,
        ex,
        conv,
        NativeEncoder::default(),
        "/chat",
    )
    .await
}
