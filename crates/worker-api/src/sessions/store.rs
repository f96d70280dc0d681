//! `ChatSession`: one SQLite-backed Durable Object per session (its messages, expiring by
//! alarm) and, with the same class, one per owner indexing that owner's sessions.

use gateway::conversation::Message;
use gateway::session::{keep_newest, message_tokens, StoredMessage};
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, ListOptions, Request, Response, State, Stub};

use crate::http;

/// The Durable Object binding of sessions.
pub const SESSIONS_BINDING: &str = "SESSIONS";

/// One session's stored conversation.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionState {
    pub created_at: u64,
    pub updated_at: u64,
    pub messages: Vec<StoredMessage>,
    pub tokens: u64,
}

/// What an owner's index knows of one session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub id: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub messages: usize,
    pub tokens: u64,
    /// When the session expires unless it is used again (unix ms).
    #[serde(default)]
    pub expires_at: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SessionOp {
    Get,
    Append {
        now_ms: u64,
        ttl_ms: u64,
        messages: Vec<StoredMessage>,
        /// The session keeps its system messages and this many newest others.
        keep: usize,
        /// Stored messages from this index on are dropped first (a regenerated answer).
        #[serde(default)]
        replace_from: Option<usize>,
    },
    Delete,
    IndexPut {
        summary: Summary,
        expires_at: u64,
    },
    IndexDel {
        id: String,
    },
    IndexList {
        now_ms: u64,
    },
}

/// The client side: one object by name.
pub struct SessionObject(Stub);

impl SessionObject {
    pub fn open(env: &Env, name: &str) -> worker::Result<Self> {
        Ok(Self(
            env.durable_object(SESSIONS_BINDING)?.get_by_name(name)?,
        ))
    }

    /// Sends `op`; `Ok(None)` when the object answers 404 (no such session).
    pub async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        op: &SessionOp,
    ) -> worker::Result<Option<T>> {
        let body =
            serde_json::to_string(op).map_err(|e| worker::Error::RustError(e.to_string()))?;
        let (status, text) = http::call_object(&self.0, "https://chat-session/op", &body)
            .await
            .map_err(worker::Error::RustError)?;
        match status {
            404 => Ok(None),
            200 => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| worker::Error::RustError(e.to_string())),
            s => Err(worker::Error::RustError(format!(
                "session store answered {s}"
            ))),
        }
    }
}

/// Sends `op` to the object `name`; `None` when it holds no session.
pub async fn call<T: for<'de> Deserialize<'de>>(
    env: &Env,
    name: &str,
    op: &SessionOp,
) -> worker::Result<Option<T>> {
    SessionObject::open(env, name)?.call(op).await
}

#[durable_object]
pub struct ChatSession {
    state: State,
}

impl ChatSession {
    async fn apply(&self, op: SessionOp) -> worker::Result<Response> {
        let storage = self.state.storage();
        match op {
            SessionOp::Get => match storage.get::<SessionState>("session").await? {
                Some(s) => Response::from_json(&s),
                None => Response::error("no such session", 404),
            },
            SessionOp::Append {
                now_ms,
                ttl_ms,
                messages,
                keep,
                replace_from,
            } => {
                // get and put hold the object's input gate: concurrent appends apply one by one.
                let mut s = storage
                    .get::<SessionState>("session")
                    .await?
                    .unwrap_or_default();
                if s.messages.is_empty() {
                    s.created_at = now_ms;
                }
                s.updated_at = now_ms;
                if let Some(n) = replace_from {
                    s.messages.truncate(n);
                }
                s.messages.extend(messages);
                keep_newest(&mut s.messages, keep);
                s.tokens = s
                    .messages
                    .iter()
                    .map(|m| message_tokens(&Message::from(m)))
                    .sum();
                storage.put("session", &s).await?;
                storage
                    .set_alarm(i64::try_from(ttl_ms).unwrap_or(i64::MAX))
                    .await?;
                Response::from_json(&Summary {
                    id: String::new(),
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                    messages: s.messages.len(),
                    tokens: s.tokens,
                    expires_at: now_ms + ttl_ms,
                })
            }
            SessionOp::Delete => {
                if storage.get::<SessionState>("session").await?.is_none() {
                    return Response::error("no such session", 404);
                }
                storage.delete_all().await?;
                storage.delete_alarm().await?;
                Response::from_json(&serde_json::json!({ "deleted": true }))
            }
            // The index keeps one storage key per session, so a turn rewrites one small
            // value, however many sessions the owner has.
            SessionOp::IndexPut {
                mut summary,
                expires_at,
            } => {
                summary.expires_at = expires_at;
                let key = format!("s:{}", summary.id);
                // Concurrent turns may report out of order: the newest summary wins.
                let newer = storage
                    .get::<Summary>(&key)
                    .await?
                    .is_none_or(|old| old.updated_at <= summary.updated_at);
                if newer {
                    storage.put(&key, &summary).await?;
                }
                Response::from_json(&serde_json::json!({ "ok": true }))
            }
            SessionOp::IndexDel { id } => {
                storage.delete(&format!("s:{id}")).await?;
                Response::from_json(&serde_json::json!({ "ok": true }))
            }
            SessionOp::IndexList { now_ms } => {
                let map = storage
                    .list_with_options(ListOptions::new().prefix("s:"))
                    .await?;
                let mut list: Vec<Summary> = Vec::new();
                for value in map.values() {
                    let Ok(value) = value else { continue };
                    let Ok(s) = serde_wasm_bindgen::from_value::<Summary>(value) else {
                        continue;
                    };
                    // Sessions past their expiry were deleted by their own alarm.
                    if s.expires_at > now_ms {
                        list.push(s);
                    } else {
                        storage.delete(&format!("s:{}", s.id)).await?;
                    }
                }
                Response::from_json(&list)
            }
        }
    }
}

impl DurableObject for ChatSession {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op: SessionOp = req.json().await?;
        self.apply(op).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        // The session was idle for its TTL: its messages go.
        self.state.storage().delete_all().await?;
        Response::empty()
    }
}
