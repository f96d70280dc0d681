//! `POST /v1/responses`: the OpenAI Responses API. Stateless unless sessions are on: then a
//! response is stored (unless `store: false`) and `previous_response_id` continues it, for its
//! owner only.

use gateway::surface::responses::{response_id, ResponsesEncoder};
use gateway::surface::responses_request;
use worker::Response;

use crate::engine::{self, Ask};
use crate::http::body::read_json_body;
use crate::http::error::ApiError;
use crate::router::Call;
use crate::sessions::{self, SessionRequest};

/// `POST /v1/responses`.
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
    let mut r = responses_request::parse(&body)?;
    let mut conv = r.conv;
    let sessions_on = settings.tenant.sessions.is_some();
    if r.previous_response_id.is_some() && !sessions_on {
        return Err(ApiError::InvalidRequest {
            field: Some("previous_response_id".into()),
            message: "previous_response_id: this gateway keeps no responses (sessions are off \
                      for this tenant); send the whole conversation in `input`"
                .into(),
        });
    }
    let store = sessions_on && r.store != Some(false);
    let id = if store {
        format!("resp_{}", sessions::fresh_id()?.trim_start_matches("s-"))
    } else {
        response_id(&ex.trace_id)
    };
    r.echo.stored = store;
    let session = if store || r.previous_response_id.is_some() {
        // Instructions apply to this request only: they are neither stored nor carried over.
        let instructions = r
            .echo
            .instructions
            .as_deref()
            .is_some_and(|i| !i.is_empty())
            .then(|| conv.messages.remove(0));
        let request = SessionRequest {
            id: id.clone(),
            from: r.previous_response_id,
            sources: Vec::new(),
            regenerate: false,
            answer_ui_id: None,
            index: false,
            persist: store,
        };
        let turn =
            sessions::prepare_with(env, &settings, ex.principal.as_ref(), &mut conv, request)
                .await?;
        if let Some(system) = instructions {
            conv.messages.insert(0, system);
        }
        turn
    } else {
        None
    };
    let ask = Ask {
        conv,
        encoder: Box::new(ResponsesEncoder::new(id, r.echo)),
        route: "/v1/responses",
        session,
    };
    engine::answer(env, ctx, &settings, ex, ask).await
}
