//! Model discovery: each HTTP provider's `GET /models`, cached per isolate for the provider's
//! TTL; when a provider is down its last list is served marked stale.

use std::cell::RefCell;
use std::collections::HashMap;

use gateway::provider_config::ProviderConfig;
use worker::Env;

use crate::clock::now_ms;
use crate::providers::http::{HttpProvider, SendError};
use crate::providers::within;

/// How long a provider without its own `timeoutMs` may take to list its models.
const DISCOVERY_TIMEOUT_MS: u32 = 5_000;

struct Listing {
    fetched_ms: u64,
    ids: Vec<String>,
}

thread_local! {
    static LISTINGS: RefCell<HashMap<String, Listing>> = RefCell::new(HashMap::new());
}

/// A provider's models as far as the gateway knows.
pub struct Discovered {
    pub ids: Vec<String>,
    /// The provider could not be asked just now; this is its last answer.
    pub stale: bool,
}

/// The provider's models: cached while fresh, else asked; `None` when it never answered.
pub async fn models(cfg: &ProviderConfig, env: &Env) -> Option<Discovered> {
    let now = now_ms();
    let ttl_ms = u64::from(cfg.models_ttl_s) * 1000;
    let cached = LISTINGS.with(|l| {
        l.borrow()
            .get(&cfg.name)
            .map(|x| (now.saturating_sub(x.fetched_ms) < ttl_ms, x.ids.clone()))
    });
    if let Some((true, ids)) = cached {
        return Some(Discovered { ids, stale: false });
    }
    // A provider that does not answer counts as down: the listing and model choice go on.
    let timeout_ms = u64::from(cfg.timeout_ms.unwrap_or(DISCOVERY_TIMEOUT_MS));
    let asked = within(now + timeout_ms, (HttpProvider { cfg, env }).list_models()).await;
    match asked.unwrap_or_else(|| Err(SendError::Network("no answer".into()))) {
        Ok(ids) => {
            LISTINGS.with(|l| {
                l.borrow_mut().insert(
                    cfg.name.clone(),
                    Listing {
                        fetched_ms: now,
                        ids: ids.clone(),
                    },
                );
            });
            Some(Discovered { ids, stale: false })
        }
        Err(_) => cached.map(|(_, ids)| Discovered { ids, stale: true }),
    }
}
