//! `POST /v1/messages`: Anthropic's Messages API, stateless, for the official Anthropic SDKs.

use gateway::surface::anthropic::{message_id, AnthropicEncoder};
use gateway::surface::anthropic_request;
use worker::Response;

use crate::engine::{self, Ask};
use crate::http::body::read_json_body;
use crate::http::error::ApiError;
use crate::router::Call;

/// `POST /v1/messages`.
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
    let r = anthropic_request::parse(&body)?;
    let ask = Ask {
        conv: r.conv,
        encoder: Box::new(AnthropicEncoder::new(message_id(&ex.trace_id))),
        route: "/v1/messages",
        session: None,
    };
    engine::answer(env, ctx, &settings, ex, ask).await
}
