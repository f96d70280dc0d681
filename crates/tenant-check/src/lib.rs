//! Tenant validation: a tenant's `wrangler.toml` and its `[vars.TENANT]` config, every error path-prefixed.

use std::path::Path;

use gateway::access::AuthMode;
use gateway::tenant::{BudgetStoreKind, TenantConfig};
use gateway::ConfigError;
use serde_json::Value;

mod knowledge;

/// Newest `compatibility_date` the pinned workerd (2026-04-26) accepts.
pub const MAX_COMPATIBILITY_DATE: &str = "2026-05-03";

/// Checks the tenant in `dir` (which holds `wrangler.toml`); `source` names it in messages
/// (`tenants/acme`). Returns the checked tenant config and its worker name, or every problem.
pub fn check_tenant_dir(dir: &Path, source: &str) -> Result<Checked, Vec<ConfigError>> {
    let file = dir.join("wrangler.toml");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        vec![ConfigError::new(
            source,
            "wrangler.toml",
            format!("cannot read: {e}"),
        )]
    })?;
    // A folder whose name starts with `_` is a template: its placeholders are expected.
    let template = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('_'));
    check_wrangler_toml(&text, source, template, |main| dir.join(main).exists())
}

/// A tenant that passed every check.
#[derive(Debug)]
pub struct Checked {
    pub tenant: TenantConfig,
    /// The worker's `name` (two tenants may not share one).
    pub name: String,
}

/// Line and column (1-based) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// What a config value is, for a message (never Rust debug text).
fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "it is missing".to_string(), |s| format!("got \"{s}\""))
}

/// Values that a copy of the template still carries.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("name", "chat-gateway-example"),
    ("vars.TENANT.tenantId", "example"),
    ("vars.TENANT.aiGatewayId", "example-gateway"),
];

/// Checks one tenant's wrangler config text and reports every problem. `template` allows the
/// template's placeholders; `main_exists` says whether `main` points at a file.
pub fn check_wrangler_toml(
    text: &str,
    source: &str,
    template: bool,
    main_exists: impl Fn(&str) -> bool,
) -> Result<Checked, Vec<ConfigError>> {
    let mut errors: Vec<ConfigError> = Vec::new();
    let wr =
        |path: &str, msg: String| ConfigError::new(source, format!("wrangler.toml: {path}"), msg);
    let doc: toml::Table = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| line_col(text, s.start));
        let path = match at {
            Some((l, c)) => format!("line {l}, column {c}"),
            None => String::new(),
        };
        vec![wr(&path, e.message().trim().to_string())]
    })?;
    let doc = serde_json::to_value(doc).map_err(|e| vec![wr("", e.to_string())])?;
    let get = |path: &str| path.split('.').try_fold(&doc, |v, k| v.get(k));
    let string = |path: &str| get(path).and_then(Value::as_str);

    let name = string("name").unwrap_or_default().to_string();
    if name.is_empty() {
        errors.push(wr("name", "must be set (the worker's name)".into()));
    }
    match string("main") {
        Some(m) if m.ends_with("build/index.js") => {
            if !main_exists(m) {
                errors.push(wr(
                    "main",
                    format!("`{m}` does not exist: run scripts/build.sh first"),
                ));
            }
        }
        other => errors.push(wr(
            "main",
            format!(
                "must point at the shared build (…/build/index.js), {}",
                shown(other)
            ),
        )),
    }
    match string("compatibility_date") {
        Some(d) if d.len() == 10 && d <= MAX_COMPATIBILITY_DATE => {}
        other => errors.push(wr(
            "compatibility_date",
            format!(
                "must be a YYYY-MM-DD date <= {MAX_COMPATIBILITY_DATE} (the pinned workerd), {}",
                shown(other)
            ),
        )),
    }
    if string("ai.binding") != Some("AI") {
        errors.push(wr(
            "ai.binding",
            "must be \"AI\" (every model call goes through it)".into(),
        ));
    }
    if get("vars.MODEL_ID").is_some_and(|m| !m.is_string()) {
        errors.push(wr("vars.MODEL_ID", "must be a string".into()));
    }
    if !template {
        for (path, placeholder) in PLACEHOLDERS {
            if string(path) == Some(placeholder) {
                errors.push(wr(
                    path,
                    format!("is still the template's placeholder `{placeholder}`: EDIT it"),
                ));
            }
        }
        for (n, line) in text.lines().enumerate() {
            if let Some(col) = line.find("REPLACE-WITH-") {
                let col = line[..col].chars().count() + 1;
                errors.push(wr(
                    &format!("line {}, column {col}", n + 1),
                    "is still a placeholder (`REPLACE-WITH-...`): put the real value there".into(),
                ));
            }
        }
    }

    let Some(tenant_json) = get("vars.TENANT") else {
        errors.push(wr(
            "vars.TENANT",
            "is missing: the tenant config lives there".into(),
        ));
        return Err(errors);
    };
    let tenant = match TenantConfig::check(source, &tenant_json.to_string()) {
        Ok(t) => t,
        Err(all) => {
            errors.extend(all);
            return Err(errors);
        }
    };
    errors.extend(tenant.unservable(source));
    if let Some(m) = string("vars.MODEL_ID").filter(|m| !m.trim().is_empty()) {
        if let Err(e) = gateway::model::resolve_model(None, Some(m), &tenant) {
            errors.push(wr("vars.MODEL_ID", e.to_string()));
        }
    }
    if let Some(budget) = &tenant.budget {
        match budget.store {
            BudgetStoreKind::DurableObject => {
                if !binds_durable_object(&doc, "BUDGET_LEDGER", "BudgetLedger") {
                    errors.push(wr("durable_objects.bindings", "budget.store is durable-object: bind name = \"BUDGET_LEDGER\", class_name = \"BudgetLedger\"".into()));
                }
                if !migrates(&doc, "BudgetLedger") {
                    errors.push(wr("migrations", "budget.store is durable-object: add a migration with new_sqlite_classes = [\"BudgetLedger\"]".into()));
                }
            }
            BudgetStoreKind::Kv => {
                if !binds_kv(&doc, "BUDGET_KV", true) {
                    errors.push(wr(
                        "kv_namespaces",
                        "budget.store is kv: bind binding = \"BUDGET_KV\" with the namespace id"
                            .into(),
                    ));
                }
            }
        }
    }
    // Usage history is on with its binding; a retention setting without one would do nothing.
    let history_bound = binds_durable_object(&doc, "USAGE_HISTORY", "UsageHistory");
    let history_set = tenant_json.get("usageHistory").is_some();
    if (history_bound || history_set) && !(history_bound && migrates(&doc, "UsageHistory")) {
        errors.push(wr(
            "durable_objects.bindings",
            "usage history needs name = \"USAGE_HISTORY\", class_name = \"UsageHistory\" and a migration with new_sqlite_classes = [\"UsageHistory\"]".into(),
        ));
    }
    check_auth_bindings(&tenant, &doc, &wr, &mut errors);
    knowledge::check_knowledge_bindings(&tenant, &doc, &wr, &mut errors);
    if errors.is_empty() {
        Ok(Checked { tenant, name })
    } else {
        Err(errors)
    }
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
    errors: &mut Vec<ConfigError>,
) {
    let get = |k: &str| doc.get(k);
    if tenant.auth.mode == AuthMode::ApiKeys {
        let bound = binds_kv(doc, "AUTH_KV", false);
        if !bound {
            errors.push(wr(
                "kv_namespaces",
                "auth.mode is api-keys: bind binding = \"AUTH_KV\" (key records) with the namespace id".into(),
            ));
        }
    }
    if tenant.sessions.is_some() {
        let bound = binds_durable_object(doc, "SESSIONS", "ChatSession");
        let migrated = migrates(doc, "ChatSession");
        if !bound || !migrated {
            errors.push(wr(
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
        ("AUTH_FAILURE_LIMITER", "failuresPerIp", r.failures_per_ip),
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
            errors.push(wr(
                "ratelimits",
                format!("auth.rateLimits.{field} = {limit}: add [[ratelimits]] name = \"{binding}\", namespace_id = \"...\", simple = {{ limit = {limit}, period = 60 }}"),
            ));
        }
    }
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

    fn check_all(edit: impl Fn(&str) -> String, template: bool) -> Result<(), Vec<String>> {
        let text = edit(GOOD);
        check_wrangler_toml(&text, "tenants/acme", template, |_| true)
            .map(|_| ())
            .map_err(|all| all.iter().map(ToString::to_string).collect())
    }

    fn check(edit: impl Fn(&str) -> String, expected: &str) {
        let got = check_all(&edit, false);
        let want = if expected.is_empty() {
            Ok(())
        } else {
            Err(vec![expected.to_string()])
        };
        assert_eq!(got, want, "{}", edit(GOOD));
    }

    #[test]
    fn table() {
        check(|s| s.to_string(), "");
        let history = "usage history needs name = \"USAGE_HISTORY\", class_name = \"UsageHistory\" and a migration with new_sqlite_classes = [\"UsageHistory\"]";
        check(
            |s| {
                s.replace(
                    "[vars.TENANT]\n",
                    "[vars.TENANT]\nusageHistory = { dailyDays = 30 }\n",
                )
            },
            &format!("tenants/acme: wrangler.toml: durable_objects.bindings: {history}"),
        );
        check(
            |s| {
                format!("{s}\n[[durable_objects.bindings]]\nname = \"USAGE_HISTORY\"\nclass_name = \"UsageHistory\"\n")
            },
            &format!("tenants/acme: wrangler.toml: durable_objects.bindings: {history}"),
        );
        check(
            |s| {
                format!("{s}\n[[durable_objects.bindings]]\nname = \"USAGE_HISTORY\"\nclass_name = \"UsageHistory\"\n\n[[migrations]]\ntag = \"v9\"\nnew_sqlite_classes = [\"UsageHistory\"]\n")
            },
            "",
        );
        check(
            |s| {
                s.replace(
                    "[vars.TENANT]\n",
                    "[vars.TENANT]\nusageHistory = { hourlyDays = 91 }\n",
                )
            },
            "tenants/acme: usageHistory.hourlyDays: must be <= 90",
        );
        check(
            |s| s.replace("daily = 2000", "daily = 0"),
            "tenants/acme: budget.daily: must be > 0",
        );
        check(
            |s| s.replace("fallbacks = [\"@cf/b\"]", "fallbacks = [\"@cf/a\"]"),
            "tenants/acme: models.fallbacks[0]: `@cf/a` is already the chat model",
        );
        check(|s| s.replace("[ai]\nbinding = \"AI\"", ""), "tenants/acme: wrangler.toml: ai.binding: must be \"AI\" (every model call goes through it)");
        check(|s| s.replace("2026-04-26", "2026-11-01"), "tenants/acme: wrangler.toml: compatibility_date: must be a YYYY-MM-DD date <= 2026-05-03 (the pinned workerd), got \"2026-11-01\"");
        check(|s| s.replace("compatibility_date = \"2026-04-26\"\n", ""), "tenants/acme: wrangler.toml: compatibility_date: must be a YYYY-MM-DD date <= 2026-05-03 (the pinned workerd), it is missing");
        check(|s| s.replace("MODEL_ID = \"\"", "MODEL_ID = \"@cf/z\"").replace("[vars.TENANT]\n", "[vars.TENANT]\nmodelAllowList = [\"@cf/a\", \"@cf/b\"]\n"),
            "tenants/acme: wrangler.toml: vars.MODEL_ID: model `@cf/z` is not allowed for this tenant");
        check(|s| s.replace("new_sqlite_classes", "new_classes"), "tenants/acme: wrangler.toml: migrations: budget.store is durable-object: add a migration with new_sqlite_classes = [\"BudgetLedger\"]");
        check(|s| s.replace("monthly = 10000", "monthly = 10000\nstore = \"kv\""), "tenants/acme: wrangler.toml: kv_namespaces: budget.store is kv: bind binding = \"BUDGET_KV\" with the namespace id");
        check(|s| s.replace("tenantId = \"acme\"\n", "tenantId = \"acme\"\ncolour = 1\n"), "tenants/acme: colour: unknown field `colour`, expected one of `tenantId`, `aiGatewayId`, `models`, `modelAllowList`, `limits`, `cors`, `budget`, `providers`, `auth`, `sessions`, `compat`, `pricing`, `usageHistory`, `knowledge`, `presets`");
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
            |s| s.replace("rateLimits = { perKey = 60 }", "rateLimits = { perKey = 60, failuresPerIp = 20 }"),
            "tenants/acme: wrangler.toml: ratelimits: auth.rateLimits.failuresPerIp = 20: add [[ratelimits]] name = \"AUTH_FAILURE_LIMITER\", namespace_id = \"...\", simple = { limit = 20, period = 60 }",
        );
        check(
            |s| s.replace("[vars.TENANT.auth]", "[vars.TENANT.sessions]\nttlDays = 7\n[vars.TENANT.auth]"),
            "tenants/acme: wrangler.toml: durable_objects.bindings: sessions are enabled: bind name = \"SESSIONS\", class_name = \"ChatSession\" and add a migration with new_sqlite_classes = [\"ChatSession\"]",
        );
        check(
            |s| s.replace("daily = 2000", "daily = 60"),
            "tenants/acme: budget.daily: 60 cannot admit a single request: one reserves its prompt plus at least budget.minOutputTokens (64), at least 72; raise the budget or lower budget.minOutputTokens",
        );
        check(
            |s| s.replace("name = \"gw-acme\"\n", ""),
            "tenants/acme: wrangler.toml: name: must be set (the worker's name)",
        );
        check(
            |s| s.replace("chat = \"@cf/a\"", "chat = \"llama-3.1-8b-instruct\""),
            "tenants/acme: models.chat: `llama-3.1-8b-instruct` is neither a Workers AI id (`@cf/...`, `@hf/...`) nor `<provider>/<model>`",
        );
        check(
            |s| {
                s.replace(
                    "compatibility_date = \"2026-04-26\"",
                    "compatibility_date = \"2026-04-26",
                )
            },
            "tenants/acme: wrangler.toml: line 4, column 33: invalid basic string, expected `\"`",
        );
    }

    #[test]
    fn every_problem_is_reported_in_one_run() {
        let got = check_all(
            |s| {
                s.replace("2026-04-26", "2026-11-01")
                    .replace("daily = 2000", "daily = 0")
                    .replace("binding = \"AUTH_KV\"", "binding = \"OTHER\"")
                    .replace("fallbacks = [\"@cf/b\"]", "fallbacks = [\"gpt\"]")
            },
            false,
        )
        .unwrap_err();
        assert_eq!(got.len(), 3, "{got:#?}");
        assert!(got[0].contains("compatibility_date"));
        assert!(got[1].contains("models.fallbacks[0]"));
        assert!(got[2].contains("budget.daily"));
        // Binding problems and unservable budgets come together with the rest.
        let got = check_all(
            |s| {
                s.replace("daily = 2000", "daily = 60")
                    .replace("binding = \"AUTH_KV\"", "binding = \"OTHER\"")
            },
            false,
        )
        .unwrap_err();
        assert_eq!(got.len(), 2, "{got:#?}");
    }

    #[test]
    fn template_placeholders_are_flagged_outside_the_template() {
        let copy = |s: &str| {
            s.replace("name = \"gw-acme\"", "name = \"chat-gateway-example\"")
                .replace("tenantId = \"acme\"", "tenantId = \"example\"")
                .replace("id = \"auth\"", "id = \"REPLACE-WITH-AUTH-KV-ID\"")
        };
        let got = check_all(copy, false).unwrap_err();
        assert_eq!(
            got,
            [
                "tenants/acme: wrangler.toml: name: is still the template's placeholder `chat-gateway-example`: EDIT it",
                "tenants/acme: wrangler.toml: vars.TENANT.tenantId: is still the template's placeholder `example`: EDIT it",
                "tenants/acme: wrangler.toml: line 28, column 7: is still a placeholder (`REPLACE-WITH-...`): put the real value there",
            ]
        );
        assert_eq!(
            check_all(copy, true),
            Ok(()),
            "the template itself may hold them"
        );
    }

    #[test]
    fn positions_are_lines_and_columns() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 3), (2, 1));
        assert_eq!(line_col("ab\ncé", 6), (2, 3));
        assert_eq!(
            line_col("ab\ncé", 5),
            (2, 2),
            "inside a character: its start"
        );
        assert_eq!(shown(None), "it is missing");
        assert_eq!(shown(Some("x")), "got \"x\"");
    }
}
