//! What `/health` finds of the tenant's knowledge bindings (I/O only; the verdicts are
//! `gateway::knowledge_health`'s).

use std::collections::BTreeMap;

use gateway::knowledge_health::{kb_problems, IndexFound, KbFound};
use gateway::tenant::KnowledgeBase;
use worker::Env;

use super::vectorize::VectorizeIndex;
use crate::js::has_value;

/// Adds to `out` the problems of every knowledge base in `kbs` (none looked at when empty).
pub async fn problems(env: &Env, kbs: &BTreeMap<String, KnowledgeBase>, out: &mut Vec<String>) {
    for (name, kb) in kbs {
        let index = match VectorizeIndex::from_env(env, &kb.index) {
            None => IndexFound::Missing,
            Some(ix) => match ix.dimensions().await {
                Ok(d) => IndexFound::Dimensions(d),
                Err(e) => IndexFound::Failed(e),
            },
        };
        let found = KbFound {
            index,
            database: has_value(env, &kb.database),
            queue: has_value(env, &kb.queue),
        };
        kb_problems(name, kb, &found, out);
    }
}
