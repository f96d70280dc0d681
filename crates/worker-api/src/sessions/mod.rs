//! Server-side sessions: load and trim the stored history before the model call, store the
//! completed turn after it. Names put tenant and owner first, so owners never meet.

pub mod routes;
pub mod store;

use gateway::answer::Answer;
use gateway::conversation::{Conversation, Message, Role};
use gateway::credential::Principal;
use gateway::session::{compose, new_session_id, StoredMessage};
use gateway::turn::{merge, next_ordinal, source_id};

use self::store::{SessionOp, SessionState, Summary};
use crate::access::keys::random_bytes;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::http::error::ApiError;
use worker::Env;

/// The object names of an owner's index and of one of its sessions.
pub fn names(settings: &Settings, principal: Option<&Principal>, id: &str) -> (String, String) {
    // Escaped (`%`, `/`): an end-user id containing `/` cannot name another owner's objects.
    let owner = gateway::budgets::escape_owner(
        &principal
            .and_then(Principal::label)
            .unwrap_or_else(|| "anonymous".into()),
    );
    let tenant = settings.tenant.tenant_id.as_str();
    (
        format!("{tenant}/{owner}"),
        format!("{tenant}/{owner}/{id}"),
    )
}

/// A fresh session id (`s-` + 24 hex).
pub fn fresh_id() -> Result<String, ApiError> {
    Ok(new_session_id(
        &random_bytes::<12>().map_err(ApiError::Internal)?,
    ))
}

/// What a surface asks of the session store for one turn.
pub struct SessionRequest {
    /// The session the turn is stored in.
    pub id: String,
    /// The session whose history the turn continues, when not `id` itself (a Responses
    /// `previous_response_id`); it must exist.
    pub from: Option<String>,
    /// The source id of each request message (AI SDK UI): those the history holds are not
    /// sent twice. Empty: every request message is new.
    pub sources: Vec<Option<String>>,
    /// Answer again: without sources, the stored answer after the last user message is
    /// dropped; with sources, the client's history says what stays.
    pub regenerate: bool,
    /// The UI message id the answer belongs to: it is stored with that message's next
    /// ordinal as its source.
    pub answer_ui_id: Option<String>,
    /// List the session in the owner's index (`GET /sessions`).
    pub index: bool,
    /// Store the turn (a Responses request with `store: false` only reads its history).
    pub persist: bool,
}

/// A turn of a session in progress: what to store once the answer is complete.
pub struct SessionTurn {
    pub id: String,
    index: Option<String>,
    object: String,
    new: Vec<StoredMessage>,
    /// Stored messages from this index on are replaced (a regenerate), or none.
    replace_from: Option<usize>,
    answer_source: Option<String>,
    persist: bool,
    ttl_ms: u64,
    keep: usize,
    /// How many stored messages were sent along with the request.
    pub history_sent: usize,
}

/// With sessions on and a `sessionId` on `/chat`: resolves `"new"`, loads the history and puts
/// the trimmed history in front of the request's messages.
pub async fn prepare(
    env: &Env,
    settings: &Settings,
    principal: Option<&Principal>,
    conv: &mut Conversation,
) -> Result<Option<SessionTurn>, ApiError> {
    let (Some(_), Some(requested)) = (settings.tenant.sessions, conv.session_id.clone()) else {
        return Ok(None);
    };
    let id = if requested == "new" {
        fresh_id()?
    } else {
        requested
    };
    let request = SessionRequest {
        id,
        from: None,
        sources: Vec::new(),
        regenerate: false,
        answer_ui_id: None,
        index: true,
        persist: true,
    };
    prepare_with(env, settings, principal, conv, request).await
}

/// Loads the history `request` names, merges the request's messages into it (only those it
/// does not hold), trims it to the limits and puts it in front of them.
pub async fn prepare_with(
    env: &Env,
    settings: &Settings,
    principal: Option<&Principal>,
    conv: &mut Conversation,
    request: SessionRequest,
) -> Result<Option<SessionTurn>, ApiError> {
    let Some(cfg) = settings.tenant.sessions else {
        return Ok(None);
    };
    conv.session_id = Some(request.id.clone());
    let (index, object) = names(settings, principal, &request.id);
    let load = match &request.from {
        Some(from) => names(settings, principal, from).1,
        None => object.clone(),
    };
    let stored: Option<SessionState> = store::call(env, &load, &SessionOp::Get)
        .await
        .map_err(|e| ApiError::SessionStore(e.to_string()))?;
    if let (Some(from), None) = (&request.from, &stored) {
        return Err(ApiError::InvalidRequest {
            field: Some("previous_response_id".into()),
            message: format!("previous_response_id: no stored response `{from}` for this caller"),
        });
    }
    let stored: Vec<StoredMessage> = stored.map(|s| s.messages).unwrap_or_default();
    let request_messages = std::mem::take(&mut conv.messages);
    let sources: Vec<Option<String>> = if request.sources.is_empty() {
        vec![None; request_messages.len()]
    } else {
        request.sources.clone()
    };
    let merged = merge(&stored, &request_messages, &sources, request.regenerate);
    let aligned = sources.iter().any(Option::is_some);
    if aligned && merged.new.is_empty() && !request.regenerate {
        return Err(ApiError::InvalidRequest {
            field: Some("messages".into()),
            message:
                "messages: the session already holds every message sent; add one or regenerate"
                    .into(),
        });
    }
    let history: Vec<Message> = stored[..merged.keep].iter().map(Message::from).collect();
    let new: Vec<(Message, Option<String>)> = merged
        .new
        .iter()
        .filter_map(|&i| Some((request_messages.get(i)?.clone(), sources.get(i).cloned()?)))
        .collect();
    let new_messages: Vec<Message> = new.iter().map(|(m, _)| m.clone()).collect();
    let (messages, history_sent) = compose(
        &history,
        &new_messages,
        cfg.max_history_tokens,
        cfg.max_messages,
    );
    conv.messages = messages;
    // A continued response starts a session of its own holding the whole conversation.
    let copied: Vec<StoredMessage> = match &request.from {
        Some(_) => stored[..merged.keep].to_vec(),
        None => Vec::new(),
    };
    let new_stored: Vec<StoredMessage> = copied
        .into_iter()
        .chain(new.iter().map(|(m, source)| StoredMessage {
            source: source.clone(),
            ..StoredMessage::from(m)
        }))
        .collect();
    Ok(Some(SessionTurn {
        id: request.id,
        index: request.index.then_some(index),
        object,
        new: new_stored,
        replace_from: (merged.replace && request.from.is_none()).then_some(merged.keep),
        answer_source: request.answer_ui_id.as_deref().map(|ui| {
            let held = stored[..merged.keep]
                .iter()
                .filter_map(|m| m.source.as_deref());
            let sent = new.iter().filter_map(|(_, s)| s.as_deref());
            source_id(ui, next_ordinal(held.chain(sent), ui))
        }),
        persist: request.persist,
        ttl_ms: cfg.ttl_ms,
        keep: cfg.max_messages,
        history_sent,
    }))
}

/// Stores the request's new messages and the assistant's answer as one unit, and updates the
/// owner's index. Only complete answers come here.
pub async fn record(env: &Env, turn: &SessionTurn, answer: &Answer) -> Result<(), String> {
    if !turn.persist {
        return Ok(());
    }
    let mut reply = Message::text(Role::Assistant, answer.text.clone());
    reply.tool_calls.clone_from(&answer.tool_calls);
    let messages: Vec<StoredMessage> = turn
        .new
        .iter()
        .cloned()
        .chain(std::iter::once(StoredMessage {
            source: turn.answer_source.clone(),
            ..StoredMessage::from(&reply)
        }))
        .collect();
    let now = now_ms();
    let op = SessionOp::Append {
        now_ms: now,
        ttl_ms: turn.ttl_ms,
        messages,
        keep: turn.keep,
        replace_from: turn.replace_from,
    };
    let summary: Summary = store::call(env, &turn.object, &op)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("session store refused the append")?;
    let Some(index) = &turn.index else {
        return Ok(());
    };
    let expires_at = summary.expires_at;
    let op = SessionOp::IndexPut {
        summary: Summary {
            id: turn.id.clone(),
            ..summary
        },
        expires_at,
    };
    store::call::<serde_json::Value>(env, index, &op)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
