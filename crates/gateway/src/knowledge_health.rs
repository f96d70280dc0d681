//! What `/health` says about a tenant's knowledge bases, from what the worker found of their
//! bindings: every missing binding, an index that cannot describe itself, a dimension mismatch.

use crate::tenant::KnowledgeBase;

/// What the worker found of a kb's Vectorize index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexFound {
    Missing,
    /// `describe()` answered with this dimension.
    Dimensions(u32),
    /// `describe()` failed or answered without a dimension (the error's words).
    Failed(String),
}

/// What the worker found of a kb's bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbFound {
    pub index: IndexFound,
    pub database: bool,
    pub queue: bool,
}

/// Adds to `out` the problems of `kb` (named `name`), each naming the binding and the kb.
pub fn kb_problems(name: &str, kb: &KnowledgeBase, found: &KbFound, out: &mut Vec<String>) {
    let bindings = [
        (
            "Vectorize",
            &kb.index,
            !matches!(found.index, IndexFound::Missing),
        ),
        ("D1", &kb.database, found.database),
        ("queue producer", &kb.queue, found.queue),
    ];
    for (what, binding, there) in bindings {
        if !there {
            out.push(format!(
                "knowledge.{name}: the `{binding}` {what} binding is missing"
            ));
        }
    }
    let index = &kb.index;
    match &found.index {
        IndexFound::Dimensions(d) if *d != kb.dimensions => out.push(format!(
            "knowledge.{name}.dimensions is {}, but the `{index}` index has {d}",
            kb.dimensions
        )),
        IndexFound::Failed(e) => out.push(format!(
            "knowledge.{name}: the `{index}` index failed describe(): {e}"
        )),
        _ => {}
    }
}

#[cfg(test)]
#[path = "knowledge_health_tests.rs"]
mod tests;
