//! `POST /ui/chat`: the AI SDK UI message stream (`useChat` with `DefaultChatTransport`). With
//! sessions on, the chat `id` names the session: the stored conversation is the history and
//! only messages it does not hold yet are added; a regenerate replaces the last answer.

use gateway::surface::ui::{self, UiEncoder, STREAM_HEADER};
use gateway::surface::ui_request::{self, Trigger};
use gateway::turn::source_id;
use worker::Response;

use crate::engine::{self, Ask};
use crate::http::body::read_json_body;
use crate::http::error::ApiError;
use crate::router::Call;
use crate::sessions::{self, SessionRequest};

/// `POST /ui/chat`.
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
    let ui = ui_request::parse(&body)?;
    let mut conv = ui.conv;
    // The answer continues the client's assistant message (after tool outputs) or starts one.
    let assistant = ui
        .continues
        .clone()
        .unwrap_or_else(|| ui::message_id(&ex.trace_id));
    let request = SessionRequest {
        id: ui.chat_id,
        from: None,
        sources: ui
            .message_ids
            .iter()
            .map(|m| Some(source_id(&m.ui_id, m.ordinal)))
            .collect(),
        regenerate: ui.trigger == Trigger::RegenerateMessage,
        answer_ui_id: Some(assistant.clone()),
        index: true,
        persist: true,
    };
    let session =
        sessions::prepare_with(env, &settings, ex.principal.as_ref(), &mut conv, request).await?;
    let ask = Ask {
        conv,
        encoder: Box::new(UiEncoder::new(assistant)),
        route: "/ui/chat",
        session,
    };
    let mut resp = engine::answer(env, ctx, &settings, ex, ask).await?;
    resp.headers_mut().set(STREAM_HEADER.0, STREAM_HEADER.1)?;
    Ok(resp)
}
