//! Tenant validation: a tenant's `wrangler.toml` and its `[vars.TENANT]` config, every error path-prefixed.

use std::path::Path;

use gateway::access::AuthMode;
use gateway::tenant::{BudgetStoreKind, TenantConfig};
use gateway::ConfigError;
use serde_json::Value;

/// Newest `compatibility_date` the pinned workerd (2026-04-26) accepts.
pub const MAX_COMPATIBILITY_DATE: &str = "2026-05-03";

/// Checks the tenant in `dir` (which holds `wrangler.toml`); `source` names it in messages
/// (`tenants/acme`). Returns the checked tenant config.
pub fn check_tenant_dir(dir: &Path, source: &str) -> Result<TenantConfig, ConfigError> {
    let file = dir.join("wrangler.toml");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| ConfigError::new(source, "wrangler.toml", format!("cannot read: {e}")))?;
    check_wrangler_toml(&text, source, |main| dir.join(main).exists())
}

/// Checks one tenant's wrangler config text. `main_exists` says whether `main` points at a file.
pub fn check_wrangler_toml(
    text: &str,
    source: &str,
    main_exists: impl Fn(&str) -> bool,
) -> Result<TenantConfig, ConfigError> {
    let wr =
        |path: &str, msg: String| ConfigError::new(source, format!("wrangler.toml: {path}"), msg);
    let doc: toml::Table = toml::from_str(text).map_err(|e| wr("", e.message().to_string()))?;
    let doc = serde_json::to_value(doc).map_err(|e| wr("", e.to_string()))?;
    let get = |path: &str| path.split('.').try_fold(&doc, |v, k| v.get(k));
    let string = |path: &str| get(path).and_then(Value::as_str);

    match string("name") {
        Some(n) if !n.is_empty() => {}
        _ => return Err(wr("name", "must be set (the worker's name)".into())),
    }
    match string("main") {
        Some(m) if m.ends_with("build/index.js") => {
            if !main_exists(m) {
                return Err(wr(
                    "main",
                    format!("`{m}` does not exist: run scripts/build.sh first"),
                ));
            }
        }
        other => {
            return Err(wr(
                "main",
                format!("must point at the shared build (…/build/index.js), got {other:?}"),
            ))
        }
    }
    match string("compatibility_date") {
        Some(d) if d.len() == 10 && d <= MAX_COMPATIBILITY_DATE => {}
        other => {
            return Err(wr(
                "compatibility_date",
                format!("must be a YYYY-MM-DD date <= {MAX_COMPATIBILITY_DATE}, got {other:?}"),
            ))
        }
    }
    if string("ai.binding") != Some("AI") {
        return Err(wr(
            "ai.binding",
            "must be \"AI\" (every model call goes through it)".into(),
        ));
    }
    if let Some(m) = get("vars.MODEL_ID") {
        if !m.is_string() {
            return Err(wr("vars.MODEL_ID", "must be a string".into()));
        }
    }

    let tenant_json = get("vars.TENANT").ok_or_else(|| {
        wr(
            "vars.TENANT",
            "is missing: the tenant config lives there".into(),
        )
    })?;
    let tenant = TenantConfig::from_json(source, &tenant_json.to_string())?;
    if let Some(e) = tenant.unservable(source).into_iter().next() {
        return Err(e);
    }
    if let Some(m) = string("vars.MODEL_ID").filter(|m| !m.trim().is_empty()) {
        gateway::model::resolve_model(None, Some(m), &tenant)
            .map_err(|e| wr("vars.MODEL_ID", e.to_string()))?;
    }

    if let Some(budget) = &tenant.budget {
        match budget.store {
            BudgetStoreKind::DurableObject => {
                if !binds_durable_object(&doc, "BUDGET_LEDGER", "BudgetLedger") {
                    return Err(wr("durable_objects.bindings", "budget.store is durable-object: bind name = \"BUDGET_LEDGER\", class_name = \"BudgetLedger\"".into()));
                }
                if !migrates(&doc, "BudgetLedger") {
                    return Err(wr("migrations", "budget.store is durable-object: add a migration with new_sqlite_classes = [\"BudgetLedger\"]".into()));
                }
            }
            BudgetStoreKind::Kv => {
                let bound = binds_kv(&doc, "BUDGET_KV", true);
                if !bound {
                    return Err(wr(
                        "kv_namespaces",
                        "budget.store is kv: bind binding = \"BUDGET_KV\" with the namespace id"
                            .into(),
                    ));
                }
            }
        }
    }
    check_auth_bindings(&tenant, &doc, &wr)?;
    Ok(tenant)
}

/// Whether `[[durable_objects.bindings]]` binds `name` to `class`.
fn binds_durable_object(doc: &Value, name: &str, class: &str) -> bool {
    doc.pointer("/durable_objects/bindings")
        .and_then(Value::as_array)
        .is_some_and(|b| {
            b.iter().any(|d| {
                d.get("name").and_then(Value::as_str) == Some(name)
                    && d.get("class_name").and_then(Value::as_str) == Some(class)
            })
        })
}

/// Whether a `[[migrations]]` entry creates `class` as a SQLite-backed class.
fn migrates(doc: &Value, class: &str) -> bool {
    doc.get("migrations")
        .and_then(Value::as_array)
        .is_some_and(|ms| {
            ms.iter().any(|m| {
                m.get("new_sqlite_classes")
                    .and_then(Value::as_array)
                    .is_some_and(|c| c.iter().any(|c| c == class))
            })
        })
}

/// Whether `[[kv_namespaces]]` binds `binding` (with a non-empty `id` when `with_id`).
fn binds_kv(doc: &Value, binding: &str, with_id: bool) -> bool {
    doc.get("kv_namespaces")
        .and_then(Value::as_array)
        .is_some_and(|ns| {
            ns.iter().any(|k| {
                k.get("binding").and_then(Value::as_str) == Some(binding)
                    && (!with_id
                        || k.get("id")
                            .and_then(Value::as_str)
                            .is_some_and(|id| !id.is_empty()))
            })
        })
}

/// `auth.mode = "api-keys"` needs the `AUTH_KV` namespace, and every configured rate limit
/// its `[[ratelimits]]` binding with the same `simple.limit` and a 60-second period.
fn check_auth_bindings(
    tenant: &TenantConfig,
    doc: &Value,
    wr: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    let get = |k: &str| doc.get(k);
    if tenant.auth.mode == AuthMode::ApiKeys {
        let bound = binds_kv(doc, "AUTH_KV", false);
        if !bound {
            return Err(wr(
                "kv_namespaces",
                "auth.mode is api-keys: bind binding = \"AUTH_KV\" (key records) with the namespace id".into(),
            ));
        }
    }
    if tenant.sessions.is_some() {
        let bound = binds_durable_object(doc, "SESSIONS", "ChatSession");
        let migrated = migrates(doc, "ChatSession");
        if !bound || !migrated {
            return Err(wr(
                "durable_objects.bindings",
                "sessions are enabled: bind name = \"SESSIONS\", class_name = \"ChatSession\" and add a migration with new_sqlite_classes = [\"ChatSession\"]".into(),
            ));
        }
    }
    let r = tenant.auth.rate_limits;
    for (binding, field, limit) in [
        ("KEY_RATE_LIMITER", "perKey", r.per_key),
        ("USER_RATE_LIMITER", "perUser", r.per_user),
        ("IP_RATE_LIMITER", "perIp", r.per_ip),
    ] {
        let Some(limit) = limit else { continue };
        let found = get("ratelimits").and_then(Value::as_array).and_then(|rs| {
            rs.iter()
                .find(|x| x.get("name").and_then(Value::as_str) == Some(binding))
        });
        let simple = found.and_then(|f| f.get("simple"));
        let (l, p) = (
            simple.and_then(|s| s.get("limit")).and_then(Value::as_u64),
            simple.and_then(|s| s.get("period")).and_then(Value::as_u64),
        );
        if l != Some(u64::from(limit)) || p != Some(60) {
            return Err(wr(
                "ratelimits",
                format!("auth.rateLimits.{field} = {limit}: add [[ratelimits]] name = \"{binding}\", namespace_id = \"...\", simple = {{ limit = {limit}, period = 60 }}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "gw-acme"
main = "../../build/index.js"
compatibility_date = "2026-04-26"
[ai]
binding = "AI"
[vars]
MODEL_ID = ""
[vars.TENANT]
tenantId = "acme"
aiGatewayId = "acme-gw"
[vars.TENANT.models]
chat = "@cf/a"
fallbacks = ["@cf/b"]
[vars.TENANT.budget]
daily = 2000
monthly = 10000
[vars.TENANT.auth]
rateLimits = { perKey = 60 }
[[durable_objects.bindings]]
name = "BUDGET_LEDGER"
class_name = "BudgetLedger"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["BudgetLedger"]
[[kv_namespaces]]
binding = "AUTH_KV"
id = "auth"
[[ratelimits]]
name = "KEY_RATE_LIMITER"
namespace_id = "1"
simple = { limit = 60, period = 60 }
"#;

    fn check(edit: impl Fn(&str) -> String, expected: &str) {
        let text = edit(GOOD);
        let got = check_wrangler_toml(&text, "tenants/acme", |_| true)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(
            got,
            if expected.is_empty() {
                Ok(())
            } else {
                Err(expected.to_string())
            },
            "{text}"
        );
    }

    #[test]
    fn table() {
        check(|s| s.to_string(), "");
        check(
            |s| s.replace("daily = 2000", "daily = 0"),
            "tenants/acme: budget.daily: must be > 0",
        );
        check(
            |s| s.replace("fallbacks = [\"@cf/b\"]", "fallbacks = [\"@cf/a\"]"),
            "tenants/acme: models.fallbacks[0]: `@cf/a` is already the chat model",
        );
        check(|s| s.replace("[ai]\nbinding = \"AI\"", ""), "tenants/acme: wrangler.toml: ai.binding: must be \"AI\" (every model call goes through it)");
        check(|s| s.replace("2026-04-26", "2026-11-01"), "tenants/acme: wrangler.toml: compatibility_date: must be a YYYY-MM-DD date <= 2026-05-03, got Some(\"2026-11-01\")");
        check(|s| s.replace("MODEL_ID = \"\"", "MODEL_ID = \"@cf/z\"").replace("[vars.TENANT]\n", "[vars.TENANT]\nmodelAllowList = [\"@cf/a\", \"@cf/b\"]\n"),
            "tenants/acme: wrangler.toml: vars.MODEL_ID: model `@cf/z` is not allowed for this tenant");
        check(|s| s.replace("new_sqlite_classes", "new_classes"), "tenants/acme: wrangler.toml: migrations: budget.store is durable-object: add a migration with new_sqlite_classes = [\"BudgetLedger\"]");
        check(|s| s.replace("monthly = 10000", "monthly = 10000\nstore = \"kv\""), "tenants/acme: wrangler.toml: kv_namespaces: budget.store is kv: bind binding = \"BUDGET_KV\" with the namespace id");
        check(|s| s.replace("tenantId = \"acme\"\n", "tenantId = \"acme\"\ncolour = 1\n"), "tenants/acme: colour: unknown field `colour`, expected one of `tenantId`, `aiGatewayId`, `models`, `modelAllowList`, `limits`, `cors`, `budget`, `providers`, `auth`, `sessions`");
        check(
            |s| {
                s.replace("[vars.TENANT]", "[vars.OTHER]")
                    .replace("[vars.TENANT.", "[vars.OTHER.")
            },
            "tenants/acme: wrangler.toml: vars.TENANT: is missing: the tenant config lives there",
        );
        check(
            |s| s.replace("binding = \"AUTH_KV\"", "binding = \"OTHER\""),
            "tenants/acme: wrangler.toml: kv_namespaces: auth.mode is api-keys: bind binding = \"AUTH_KV\" (key records) with the namespace id",
        );
        check(
            |s| s.replace("limit = 60, period", "limit = 61, period"),
            "tenants/acme: wrangler.toml: ratelimits: auth.rateLimits.perKey = 60: add [[ratelimits]] name = \"KEY_RATE_LIMITER\", namespace_id = \"...\", simple = { limit = 60, period = 60 }",
        );
        check(
            |s| s.replace("[vars.TENANT.auth]", "[vars.TENANT.sessions]\nttlDays = 7\n[vars.TENANT.auth]"),
            "tenants/acme: wrangler.toml: durable_objects.bindings: sessions are enabled: bind name = \"SESSIONS\", class_name = \"ChatSession\" and add a migration with new_sqlite_classes = [\"ChatSession\"]",
        );
        check(
            |s| s.replace("daily = 2000", "daily = 500"),
            "tenants/acme: budget.daily: 500 cannot admit a single request: one reserves its prompt plus up to limits.maxOutputTokens (1024), at least 1032; raise the budget or lower limits.maxOutputTokens",
        );
        check(
            |s| s.replace("name = \"gw-acme\"\n", ""),
            "tenants/acme: wrangler.toml: name: must be set (the worker's name)",
        );
    }
}
