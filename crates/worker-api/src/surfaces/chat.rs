//! `POST /chat`: the native surface. Parse, answer with the engine, encode natively.

use gateway::surface::native::NativeEncoder;
use gateway::surface::native_request;
use worker::Response;

use crate::engine::{self, Ask};
use crate::http::body::read_json_body;
use crate::http::error::ApiError;
use crate::router::Call;
use crate::sessions;

/// `POST /chat`.
pub async fn handle(c: Call<'_>) -> Result<Response, ApiError> {
    let Call {
        mut req,
        env,
        ctx,
        settings,
        ex,
        ..
    } = c;
    let body = read_json_body(&mut req, settings.tenant.max_request_bytes).await?;
    let mut conv = native_request::parse(&body)?;
    let session = sessions::prepare(env, &settings, ex.principal.as_ref(), &mut conv).await?;
    let ask = Ask {
        conv,
        encoder: Box::new(NativeEncoder::default()),
        route: "/chat",
        session,
    };
    engine::answer(env, ctx, &settings, ex, ask).await
}
