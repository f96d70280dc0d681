//! `POST /chat`: the native surface. Parse, answer with the engine, encode natively.

use gateway::surface::native::NativeEncoder;
use gateway::surface::native_request;
use worker::{Context, Env, Response};

use crate::body::read_json_body;
use crate::config::Settings;
use crate::engine::{self, Ask};
use crate::error::ApiError;
use crate::exchange::Exchange;
use crate::incoming::Request;
use crate::sessions;

pub async fn handle(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    ex: &mut Exchange,
) -> Result<Response, ApiError> {
    let body = read_json_body(&mut req, settings.tenant.max_request_bytes).await?;
    let mut conv = native_request::parse(&body)?;
    let session = sessions::prepare(env, settings, ex.principal.as_ref(), &mut conv).await?;
    let ask = Ask {
        conv,
        encoder: NativeEncoder::default(),
        route: "/chat",
        session,
    };
    engine::answer(env, ctx, settings, ex, ask).await
}
