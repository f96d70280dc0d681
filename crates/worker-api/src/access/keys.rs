//! API key records in KV (`AUTH_KV`, `key/<tenant>/<id>`), cached per isolate for at most the
//! tenant's `auth.keyCacheSeconds` (so a revocation takes effect within that time).

use std::cell::RefCell;
use std::collections::HashMap;

use gateway::credential::KeyRecord;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use worker::kv::KvStore;
use worker::Env;

use crate::clock::now_ms;

/// The KV binding holding key records.
pub const AUTH_KV_BINDING: &str = "AUTH_KV";

/// The most key records (known or not) an isolate keeps.
const MAX_CACHED_KEYS: usize = 10_000;

thread_local! {
    static CACHE: RefCell<HashMap<String, (u64, Option<KeyRecord>)>> = RefCell::new(HashMap::new());
}

fn kv(env: &Env) -> Result<KvStore, String> {
    env.kv(AUTH_KV_BINDING)
        .map_err(|_| format!("the `{AUTH_KV_BINDING}` KV binding is missing"))
}

fn name(tenant: &str, id: &str) -> String {
    format!("key/{tenant}/{id}")
}

/// The public part of a record, kept as KV metadata so listing needs no reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub budget: Option<gateway::credential::ClientBudget>,
    pub expires_at: Option<u64>,
    #[serde(default)]
    pub rate_limit: Option<u32>,
    /// Knowledge-base groups (docs/knowledge.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    pub created_at: u64,
    pub revoked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<u64>,
    /// Until when (unix seconds) the secret before the last rotation is still accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<u64>,
}

impl From<&KeyRecord> for KeyInfo {
    fn from(r: &KeyRecord) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            scopes: r.scopes.clone(),
            budget: r.budget,
            expires_at: r.expires_at,
            rate_limit: r.rate_limit,
            groups: r.groups.clone(),
            created_at: r.created_at,
            revoked: r.revoked,
            rotated_at: r.rotated_at,
            previous_valid_until: r.previous_valid_until,
        }
    }
}

/// The record of key `id`, from the isolate cache when younger than `ttl_s`.
pub async fn lookup(
    env: &Env,
    tenant: &str,
    id: &str,
    ttl_s: u32,
) -> Result<Option<KeyRecord>, String> {
    let key = name(tenant, id);
    let now = now_ms();
    let cached = CACHE.with(|c| {
        c.borrow()
            .get(&key)
            .filter(|(at, _)| now.saturating_sub(*at) < u64::from(ttl_s) * 1000)
            .map(|(_, r)| r.clone())
    });
    if let Some(r) = cached {
        return Ok(r);
    }
    let text = kv(env)?
        .get(&key)
        .text()
        .await
        .map_err(|e| format!("key store: {e}"))?;
    let record = text.and_then(|t| serde_json::from_str::<KeyRecord>(&t).ok());
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        // Unknown ids are cached too (a flood of made-up keys must not reach KV each time);
        // the map stays bounded.
        if c.len() >= MAX_CACHED_KEYS {
            c.clear();
        }
        c.insert(key, (now, record.clone()))
    });
    Ok(record)
}

/// Stores `record` (with its public part as metadata) and drops this isolate's cached copy.
pub async fn store(env: &Env, tenant: &str, record: &KeyRecord) -> Result<(), String> {
    let key = name(tenant, &record.id);
    let json = serde_json::to_string(record).map_err(|e| e.to_string())?;
    kv(env)?
        .put(&key, json)
        .map_err(|e| e.to_string())?
        .metadata(KeyInfo::from(record))
        .map_err(|e| e.to_string())?
        .execute()
        .await
        .map_err(|e| format!("key store: {e}"))?;
    CACHE.with(|c| c.borrow_mut().remove(&key));
    Ok(())
}

/// Every key of the tenant, public parts only.
pub async fn list(env: &Env, tenant: &str) -> Result<Vec<KeyInfo>, String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = kv(env)?.list().prefix(format!("key/{tenant}/"));
        if let Some(c) = cursor.take() {
            req = req.cursor(c);
        }
        let page = req.execute().await.map_err(|e| format!("key store: {e}"))?;
        for k in page.keys {
            if let Some(info) = k
                .metadata
                .and_then(|m| serde_json::from_value::<KeyInfo>(m).ok())
            {
                out.push(info);
            }
        }
        match page.cursor {
            Some(c) if !page.list_complete => cursor = Some(c),
            _ => break,
        }
    }
    Ok(out)
}

/// `n` bytes from the runtime's cryptographically secure generator (`crypto.getRandomValues`).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let fail = |_| "crypto.getRandomValues is unavailable".to_string();
    let crypto =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).map_err(fail)?;
    let get = js_sys::Reflect::get(&crypto, &JsValue::from_str("getRandomValues")).map_err(fail)?;
    let array = js_sys::Uint8Array::new_with_length(N as u32);
    get.dyn_into::<js_sys::Function>()
        .map_err(|_| "crypto.getRandomValues is not a function".to_string())?
        .call1(&crypto, &array)
        .map_err(fail)?;
    let mut out = [0u8; N];
    array.copy_to(&mut out);
    Ok(out)
}
