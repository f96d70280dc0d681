//! The bindings a tenant's knowledge bases need in its wrangler config: the Vectorize index,
//! the D1 database, the ingestion queue's producer and this worker as its consumer.

use std::collections::BTreeSet;

use gateway::tenant::TenantConfig;
use gateway::ConfigError;
use serde_json::Value;

/// The entry of the `[[<table>]]` array at `pointer` whose `key` is `value`.
fn entry<'a>(doc: &'a Value, pointer: &str, key: &str, value: &str) -> Option<&'a Value> {
    doc.pointer(pointer)
        .and_then(Value::as_array)?
        .iter()
        .find(|e| e.get(key).and_then(Value::as_str) == Some(value))
}

/// A non-empty string field of `entry`.
fn field<'a>(entry: Option<&'a Value>, key: &str) -> Option<&'a str> {
    entry?.get(key)?.as_str().filter(|s| !s.is_empty())
}

/// Every knowledge base's bindings; a binding several kbs share is reported once, under the
/// first kb that names it.
pub(crate) fn check_knowledge_bindings(
    tenant: &TenantConfig,
    doc: &Value,
    wr: &dyn Fn(&str, String) -> ConfigError,
    errors: &mut Vec<ConfigError>,
) {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (name, kb) in &tenant.knowledge {
        let at = format!("knowledge.{name}");
        if seen.insert(&kb.index) {
            let bound = entry(doc, "/vectorize", "binding", &kb.index);
            if field(bound, "index_name").is_none() {
                errors.push(wr(
                    "vectorize",
                    format!(
                        "{at}.index is \"{index}\": add [[vectorize]] binding = \"{index}\", index_name = \"...\" (an index made with `npx wrangler vectorize create <name> --dimensions={dims} --metric=cosine`)",
                        index = kb.index,
                        dims = kb.dimensions
                    ),
                ));
            }
        }
        if seen.insert(&kb.database)
            && entry(doc, "/d1_databases", "binding", &kb.database).is_none()
        {
            errors.push(wr(
                "d1_databases",
                format!(
                    "{at}.database is \"{db}\": add [[d1_databases]] binding = \"{db}\", database_name = \"...\", database_id = \"...\" (documents and chunk text)",
                    db = kb.database
                ),
            ));
        }
        if !seen.insert(&kb.queue) {
            continue;
        }
        let producer = entry(doc, "/queues/producers", "binding", &kb.queue);
        let Some(queue) = field(producer, "queue") else {
            errors.push(wr(
                "queues.producers",
                format!(
                    "{at}.queue is \"{q}\": add [[queues.producers]] binding = \"{q}\", queue = \"...\" (ingestion)",
                    q = kb.queue
                ),
            ));
            continue;
        };
        if entry(doc, "/queues/consumers", "queue", queue).is_none() {
            errors.push(wr(
                "queues.consumers",
                format!(
                    "{at}.queue \"{q}\" sends to queue \"{queue}\": add [[queues.consumers]] queue = \"{queue}\" (this worker ingests what it sends)",
                    q = kb.queue
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check_wrangler_toml;

    const GOOD: &str = r#"
name = "gw-acme"
main = "../../build/index.js"
compatibility_date = "2026-04-26"
[ai]
binding = "AI"
[vars.TENANT]
tenantId = "acme"
aiGatewayId = "acme-gw"
auth = { mode = "open" }
[vars.TENANT.models]
chat = "@cf/a"
[vars.TENANT.knowledge.help]
embeddingModel = "@cf/baai/bge-base-en-v1.5"
[vars.TENANT.knowledge.docs]
embeddingModel = "@cf/baai/bge-small-en-v1.5"
index = "DOCS_INDEX"
[vars.TENANT.presets.support]
model = "@cf/a"
knowledge = "help"
[[vectorize]]
binding = "KNOWLEDGE_INDEX"
index_name = "acme-help"
[[vectorize]]
binding = "DOCS_INDEX"
index_name = "acme-docs"
[[d1_databases]]
binding = "KNOWLEDGE_DB"
database_name = "acme-knowledge"
database_id = "d1"
[[queues.producers]]
binding = "KNOWLEDGE_QUEUE"
queue = "acme-knowledge"
[[queues.consumers]]
queue = "acme-knowledge"
"#;

    fn check(edit: impl Fn(&str) -> String, expected: &[&str]) {
        let text = edit(GOOD);
        let got = check_wrangler_toml(&text, "tenants/acme", false, |_| true)
            .map(|_| ())
            .map_err(|all| all.iter().map(ToString::to_string).collect::<Vec<_>>());
        let want = if expected.is_empty() {
            Ok(())
        } else {
            Err(expected.iter().map(ToString::to_string).collect())
        };
        assert_eq!(got, want, "{text}");
    }

    #[test]
    fn every_knowledge_base_needs_its_index_database_queue_and_consumer() {
        let w = "tenants/acme: wrangler.toml";
        let help_index = format!("{w}: vectorize: knowledge.help.index is \"KNOWLEDGE_INDEX\": add [[vectorize]] binding = \"KNOWLEDGE_INDEX\", index_name = \"...\" (an index made with `npx wrangler vectorize create <name> --dimensions=768 --metric=cosine`)");
        let db = format!("{w}: d1_databases: knowledge.docs.database is \"KNOWLEDGE_DB\": add [[d1_databases]] binding = \"KNOWLEDGE_DB\", database_name = \"...\", database_id = \"...\" (documents and chunk text)");
        let producer = format!("{w}: queues.producers: knowledge.docs.queue is \"KNOWLEDGE_QUEUE\": add [[queues.producers]] binding = \"KNOWLEDGE_QUEUE\", queue = \"...\" (ingestion)");
        let consumer = format!("{w}: queues.consumers: knowledge.docs.queue \"KNOWLEDGE_QUEUE\" sends to queue \"acme-knowledge\": add [[queues.consumers]] queue = \"acme-knowledge\" (this worker ingests what it sends)");
        check(|s| s.to_string(), &[]);
        check(
            |s| s.replace("binding = \"KNOWLEDGE_INDEX\"", "binding = \"OTHER\""),
            &[&help_index],
        );
        check(
            |s| s.replace("index_name = \"acme-help\"\n", ""),
            &[&help_index],
        );
        check(
            |s| s.replace("binding = \"DOCS_INDEX\"", "binding = \"OTHER\""),
            &[&format!("{w}: vectorize: knowledge.docs.index is \"DOCS_INDEX\": add [[vectorize]] binding = \"DOCS_INDEX\", index_name = \"...\" (an index made with `npx wrangler vectorize create <name> --dimensions=384 --metric=cosine`)")],
        );
        // Shared by both kbs: reported once, under the first (`docs` sorts first).
        check(
            |s| s.replace("binding = \"KNOWLEDGE_DB\"", "binding = \"OTHER\""),
            &[&db],
        );
        check(
            |s| s.replace("binding = \"KNOWLEDGE_QUEUE\"", "binding = \"OTHER\""),
            &[&producer],
        );
        check(
            |s| {
                s.replace(
                    "queue = \"acme-knowledge\"\n[[queues.consumers]]",
                    "[[queues.consumers]]",
                )
            },
            &[&producer],
        );
        check(
            |s| s.replace("[[queues.consumers]]\nqueue = \"acme-knowledge\"", ""),
            &[&consumer],
        );
        check(
            |s| {
                s.replace(
                    "[[queues.consumers]]\nqueue = \"acme-knowledge\"",
                    "[[queues.consumers]]\nqueue = \"other-queue\"",
                )
            },
            &[&consumer],
        );
        // Every missing binding at once, after the config's own problems.
        check(
            |s| {
                let mut s = s.to_string();
                for table in ["vectorize", "d1_databases", "queues.producers", "queues.consumers"] {
                    s = s.replace(&format!("[[{table}]]"), "[[unused]]");
                }
                s
            },
            &[
                &format!("{w}: vectorize: knowledge.docs.index is \"DOCS_INDEX\": add [[vectorize]] binding = \"DOCS_INDEX\", index_name = \"...\" (an index made with `npx wrangler vectorize create <name> --dimensions=384 --metric=cosine`)"),
                &db,
                &producer,
                &help_index,
            ],
        );
        // A config error in a kb is reported as such (no binding checks on a broken config).
        check(
            |s| s.replace("index = \"DOCS_INDEX\"", "index = \"docs\""),
            &["tenants/acme: knowledge.docs.index: `docs` is not a binding name (1-64 of A-Z, 0-9, _, starting with a letter)"],
        );
        // Without knowledge bases, no bindings are needed.
        check(
            |s| {
                let cut = s.find("[vars.TENANT.knowledge.help]").unwrap();
                s[..cut].to_string()
            },
            &[],
        );
    }
}
