//! Sessions on `/chat`: load and trim the stored history before the model call, store the
//! completed turn after it. Names put tenant and owner first, so owners never meet.

pub mod routes;
pub mod store;

use gateway::answer::Answer;
use gateway::conversation::{Conversation, Message, Role};
use gateway::credential::Principal;
use gateway::session::{compose, new_session_id, StoredMessage};

use self::store::{SessionOp, SessionState, Summary};
use crate::access::keys::random_bytes;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::http::error::ApiError;
use worker::Env;

/// The object names of an owner's index and of one of its sessions.
pub fn names(settings: &Settings, principal: Option<&Principal>, id: &str) -> (String, String) {
    // Escaped (`%`, `/`): an end-user id containing `/` cannot name another owner's objects.
    let owner = principal
        .and_then(Principal::label)
        .unwrap_or_else(|| "anonymous".into())
        .replace('%', "%25")
        .replace('/', "%2F");
    let tenant = settings.tenant.tenant_id.as_str();
    (
        format!("{tenant}/{owner}"),
        format!("{tenant}/{owner}/{id}"),
    )
}

/// A turn of a session in progress: what to store once the answer is complete.
pub struct SessionTurn {
    pub id: String,
    index: String,
    object: String,
    new: Vec<Message>,
    ttl_ms: u64,
    keep: usize,
    /// How many stored messages were sent along with the request.
    pub history_sent: usize,
}

/// With sessions on and a `sessionId`: resolves `"new"`, loads the history and puts the
/// trimmed history in front of the request's messages.
pub async fn prepare(
    env: &Env,
    settings: &Settings,
    principal: Option<&Principal>,
    conv: &mut Conversation,
) -> Result<Option<SessionTurn>, ApiError> {
    let (Some(cfg), Some(requested)) = (settings.tenant.sessions, conv.session_id.clone()) else {
        return Ok(None);
    };
    let id = if requested == "new" {
        new_session_id(&random_bytes::<12>().map_err(ApiError::Internal)?)
    } else {
        requested
    };
    conv.session_id = Some(id.clone());
    let (index, object) = names(settings, principal, &id);
    let stored: Option<SessionState> = store::call(env, &object, &SessionOp::Get)
        .await
        .map_err(|e| ApiError::SessionStore(e.to_string()))?;
    let history: Vec<Message> = stored
        .iter()
        .flat_map(|s| s.messages.iter().map(Message::from))
        .collect();
    let new = std::mem::take(&mut conv.messages);
    let (messages, history_sent) =
        compose(&history, &new, cfg.max_history_tokens, cfg.max_messages);
    conv.messages = messages;
    Ok(Some(SessionTurn {
        id,
        index,
        object,
        new,
        ttl_ms: cfg.ttl_ms,
        keep: cfg.max_messages,
        history_sent,
    }))
}

/// Stores the request's messages and the assistant's answer as one unit, and updates the
/// owner's index. Only complete answers come here.
pub async fn record(env: &Env, turn: &SessionTurn, answer: &Answer) -> Result<(), String> {
    let mut reply = Message::text(Role::Assistant, answer.text.clone());
    reply.tool_calls.clone_from(&answer.tool_calls);
    let messages: Vec<Message> = turn
        .new
        .iter()
        .cloned()
        .chain(std::iter::once(reply))
        .collect();
    let now = now_ms();
    let op = SessionOp::Append {
        now_ms: now,
        ttl_ms: turn.ttl_ms,
        messages: messages.iter().map(StoredMessage::from).collect(),
        keep: turn.keep,
    };
    let summary: Summary = store::call(env, &turn.object, &op)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("session store refused the append")?;
    let expires_at = summary.expires_at;
    let op = SessionOp::IndexPut {
        summary: Summary {
            id: turn.id.clone(),
            ..summary
        },
        expires_at,
    };
    store::call::<serde_json::Value>(env, &turn.index, &op)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
