//! Which budgets a request must fit, nested: the tenant's, and the calling key's or end user's.
//! Each is a ledger named with the tenant first, so no tenant or owner can name another's.

use budget::{Amount, Limits, Price, Refusal, Unit, UNLIMITED};
use serde_json::{json, Map, Value};

use crate::credential::Principal;
use crate::pricing::{usd, PriceTable};
use crate::tenant::{BudgetStoreKind, TenantConfig};

/// Who a budget belongs to, as refusals name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Tenant,
    Key,
    User,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Key => "key",
            Self::User => "user",
        }
    }
}

/// One budget a request must fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetScope {
    pub scope: Scope,
    /// The ledger's name: `<tenant>`, `<tenant>/key/<id>` or `<tenant>/user/<sub escaped>`.
    pub ledger: String,
    pub store: BudgetStoreKind,
    pub limits: Limits,
}

/// The ledger name of an owner: `%` and `/` escaped, so an end-user id containing `/` cannot
/// name another owner's ledger.
pub fn escape_owner(owner: &str) -> String {
    owner.replace('%', "%25").replace('/', "%2F")
}

/// The budgets a request of `principal` must fit, outermost first. Key and user ledgers live
/// where the tenant's do (the exact store when the tenant has no budget). A user's budget is
/// per day; its month allows every day of it.
pub fn budgets_of(tenant: &TenantConfig, principal: Option<&Principal>) -> Vec<BudgetScope> {
    let id = tenant.tenant_id.as_str();
    let store = tenant
        .budget
        .as_ref()
        .map_or(BudgetStoreKind::DurableObject, |b| b.store);
    let mut out = Vec::new();
    if let Some(b) = &tenant.budget {
        out.push(BudgetScope {
            scope: Scope::Tenant,
            ledger: id.to_string(),
            store: b.store,
            limits: b.limits(),
        });
    }
    match principal {
        Some(Principal::Key {
            id: key,
            budget: Some(b),
            ..
        }) => out.push(BudgetScope {
            scope: Scope::Key,
            ledger: format!("{id}/key/{}", escape_owner(key)),
            store,
            limits: b.limits(),
        }),
        Some(Principal::User {
            sub,
            daily_budget,
            daily_budget_micros,
            ..
        }) if daily_budget.is_some() || daily_budget_micros.is_some() => {
            let month = |d: &Option<u64>| d.map(|d| d.saturating_mul(31));
            out.push(BudgetScope {
                scope: Scope::User,
                ledger: format!("{id}/user/{}", escape_owner(sub)),
                store,
                limits: crate::tenant_budget::limits(
                    *daily_budget,
                    month(daily_budget),
                    *daily_budget_micros,
                    month(daily_budget_micros),
                ),
            });
        }
        _ => {}
    }
    out
}

/// The worst-case price of a chain (each side the most any of its models charges), or the
/// first model without a price.
pub fn chain_price(chain: &[String], pricing: &PriceTable) -> Result<Price, String> {
    chain.iter().try_fold(Price::default(), |worst, m| {
        pricing
            .price(m)
            .map(|p| worst.max(p.reserve()))
            .ok_or_else(|| m.clone())
    })
}

/// The price a request over `chain` reserves at in `scopes`: the chain's dearest, or nothing
/// when a model has no price and no scope limits cost (tokens alone are held then). `Err` names
/// the unpriced model when a scope limits cost: such a request cannot be held exactly.
pub fn reserve_price(
    chain: &[String],
    pricing: &PriceTable,
    scopes: &[BudgetScope],
) -> Result<Price, String> {
    match chain_price(chain, pricing) {
        Err(model) if limits_cost(scopes) => Err(model),
        Err(_) => Ok(Price::default()),
        ok => ok,
    }
}

/// Whether any of `scopes` limits cost.
pub fn limits_cost(scopes: &[BudgetScope]) -> bool {
    scopes
        .iter()
        .any(|s| s.limits.daily.micros != UNLIMITED || s.limits.monthly.micros != UNLIMITED)
}

/// One ledger's limited windows for `GET /admin/usage`: `daily`, `monthly` (tokens) and
/// `dailyUsd`, `monthlyUsd` (decimal strings of dollars), each `{used, limit, remaining}`, only
/// those with a limit. `used` (and `remaining`) are null when the store cannot say (KV).
pub fn budget_windows(limits: Limits, used: Option<(Amount, Amount)>) -> Value {
    let mut out = Map::new();
    let windows = [
        ("daily", "dailyUsd", limits.daily, used.map(|u| u.0)),
        ("monthly", "monthlyUsd", limits.monthly, used.map(|u| u.1)),
    ];
    for (tokens_key, usd_key, limit, used) in windows {
        if limit.tokens != UNLIMITED {
            let used = used.map(|u| u.tokens);
            out.insert(
                tokens_key.into(),
                json!({"used": used, "limit": limit.tokens,
                       "remaining": used.map(|u| limit.tokens.saturating_sub(u))}),
            );
        }
        if limit.micros != UNLIMITED {
            let used = used.map(|u| u.micros);
            out.insert(
                usd_key.into(),
                json!({"used": used.map(usd), "limit": usd(limit.micros),
                       "remaining": used.map(|u| usd(limit.micros.saturating_sub(u)))}),
            );
        }
    }
    Value::Object(out)
}

/// A budget refusal in words, in its unit (tokens, or dollars for a cost limit).
pub fn refusal_message(r: &Refusal, scope: &str) -> String {
    let (what, amount): (&str, fn(u64) -> String) = match r.unit {
        Unit::Tokens => ("token", |n| format!("{n} tokens")),
        Unit::Usd => ("cost", |m| format!("${}", usd(m))),
    };
    format!(
        "{what} budget exceeded: the {scope}'s {} limit is {}, {} used or held, this request needs {}; it resets at {}",
        r.window,
        amount(r.limit),
        amount(r.used),
        amount(r.requested),
        r.resets_at
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::ClientBudget;

    fn tenant(budget: &str) -> TenantConfig {
        let json = format!(
            r#"{{"tenantId":"acme","aiGatewayId":"gw","models":{{"chat":"@cf/a"}}{budget}}}"#
        );
        TenantConfig::from_json("t", &json).unwrap()
    }

    fn key(budget: Option<ClientBudget>) -> Principal {
        Principal::Key {
            groups: Vec::new(),
            id: "k1".into(),
            scopes: vec![],
            budget,
            rate_limit: None,
        }
    }

    fn user(sub: &str, daily_budget: Option<u64>) -> Principal {
        Principal::User {
            groups: Vec::new(),
            sub: sub.into(),
            scopes: vec![],
            daily_budget,
            daily_budget_micros: None,
        }
    }

    #[test]
    fn budgets_nest_tenant_then_caller() {
        let t = tenant(r#","budget":{"daily":100,"monthly":1000,"store":"kv"}"#);
        let got = budgets_of(
            &t,
            Some(&key(Some(ClientBudget {
                daily: Some(5),
                monthly: Some(50),
                ..ClientBudget::default()
            }))),
        );
        assert_eq!(
            got,
            vec![
                BudgetScope {
                    scope: Scope::Tenant,
                    ledger: "acme".into(),
                    store: BudgetStoreKind::Kv,
                    limits: Limits::tokens(100, 1000)
                },
                BudgetScope {
                    scope: Scope::Key,
                    ledger: "acme/key/k1".into(),
                    store: BudgetStoreKind::Kv,
                    limits: Limits::tokens(5, 50)
                }
            ]
        );
        assert_eq!(budgets_of(&t, Some(&key(None))).len(), 1);
        assert_eq!(budgets_of(&t, None).len(), 1);
        let anon = Principal::Anonymous {
            ip: "1.2.3.4".into(),
        };
        assert_eq!(budgets_of(&t, Some(&anon)).len(), 1);
    }

    #[test]
    fn a_caller_budget_without_a_tenant_budget_uses_the_exact_store() {
        let t = tenant("");
        let got = budgets_of(&t, Some(&user("a/b%c", Some(10))));
        assert_eq!(
            got,
            vec![BudgetScope {
                scope: Scope::User,
                ledger: "acme/user/a%2Fb%25c".into(),
                store: BudgetStoreKind::DurableObject,
                limits: Limits::tokens(10, 310)
            }]
        );
        assert!(budgets_of(&t, Some(&user("u", None))).is_empty());
        // A dollar budget alone is a budget too; its month allows every day of it.
        let dollars = Principal::User {
            groups: Vec::new(),
            sub: "u".into(),
            scopes: vec![],
            daily_budget: None,
            daily_budget_micros: Some(2_000_000),
        };
        assert_eq!(
            budgets_of(&t, Some(&dollars))[0].limits,
            crate::tenant_budget::limits(None, None, Some(2_000_000), Some(62_000_000))
        );
        let key_usd = key(Some(ClientBudget {
            monthly_micros: Some(9),
            ..ClientBudget::default()
        }));
        assert_eq!(
            budgets_of(&t, Some(&key_usd))[0].limits,
            crate::tenant_budget::limits(None, None, None, Some(9))
        );
        assert_eq!(
            budgets_of(&t, Some(&user("u", Some(u64::MAX))))[0].limits,
            Limits::tokens(u64::MAX, u64::MAX)
        );
        assert_eq!(Scope::User.as_str(), "user");
        assert_eq!(
            (Scope::Tenant.as_str(), Scope::Key.as_str()),
            ("tenant", "key")
        );
    }

    #[test]
    fn a_chain_reserves_at_its_dearest_model_and_names_an_unpriced_one() {
        let pricing = PriceTable::default();
        let chain = |m: &[&str]| m.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            chain_price(
                &chain(&[
                    "@cf/meta/llama-3.1-8b-instruct",
                    "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
                ]),
                &pricing
            ),
            Ok(Price {
                input: 293_000,
                output: 2_253_000
            })
        );
        assert_eq!(
            chain_price(
                &chain(&["@cf/meta/llama-3.2-1b-instruct", "@cf/x", "@cf/y"]),
                &pricing
            ),
            Err("@cf/x".to_string())
        );
        assert_eq!(chain_price(&[], &pricing), Ok(Price::default()));
    }

    #[test]
    fn cost_limits_are_found_in_either_window() {
        let scope = |limits| BudgetScope {
            scope: Scope::Key,
            ledger: "l".into(),
            store: BudgetStoreKind::DurableObject,
            limits,
        };
        assert!(!limits_cost(&[scope(Limits::tokens(1, 2))]));
        assert!(!limits_cost(&[]));
        let l = crate::tenant_budget::limits;
        assert!(limits_cost(&[
            scope(Limits::tokens(1, 2)),
            scope(l(None, None, Some(1), None))
        ]));
        assert!(limits_cost(&[scope(l(None, None, None, Some(1)))]));
    }

    #[test]
    fn an_unpriced_chain_is_refused_only_under_a_cost_limit() {
        let pricing = PriceTable::default();
        let scope = |limits| BudgetScope {
            scope: Scope::Key,
            ledger: "l".into(),
            store: BudgetStoreKind::DurableObject,
            limits,
        };
        let unpriced = ["@cf/x".to_string()];
        let priced = ["@cf/meta/llama-3.1-8b-instruct".to_string()];
        let tokens = [scope(Limits::tokens(1, 2))];
        let cost = [scope(crate::tenant_budget::limits(
            None,
            None,
            Some(1),
            None,
        ))];
        assert_eq!(
            reserve_price(&unpriced, &pricing, &tokens),
            Ok(Price::default())
        );
        assert_eq!(
            reserve_price(&unpriced, &pricing, &[]),
            Ok(Price::default())
        );
        assert_eq!(
            reserve_price(&unpriced, &pricing, &cost),
            Err("@cf/x".into())
        );
        assert_eq!(
            reserve_price(&priced, &pricing, &cost),
            chain_price(&priced, &pricing)
        );
        assert_ne!(reserve_price(&priced, &pricing, &[]), Ok(Price::default()));
    }

    #[test]
    fn refusals_speak_in_their_unit() {
        let r = Refusal {
            window: budget::BudgetWindow::Daily,
            unit: Unit::Usd,
            limit: 5_000_000,
            used: 4_999_000,
            requested: 2_000,
            resets_at: "2026-12-05T00:00:00Z".into(),
            retry_after_secs: 10,
        };
        assert_eq!(
            refusal_message(&r, "key"),
            "cost budget exceeded: the key's daily limit is $5.000000, $4.999000 used or held, this request needs $0.002000; it resets at 2026-12-05T00:00:00Z"
        );
        let t = Refusal {
            unit: Unit::Tokens,
            window: budget::BudgetWindow::Monthly,
            limit: 100,
            used: 90,
            requested: 20,
            ..r
        };
        assert_eq!(
            refusal_message(&t, "tenant"),
            "token budget exceeded: the tenant's monthly limit is 100 tokens, 90 tokens used or held, this request needs 20 tokens; it resets at 2026-12-05T00:00:00Z"
        );
    }

    #[test]
    fn usage_windows_show_only_what_is_limited() {
        let l = crate::tenant_budget::limits(Some(100), None, Some(5_000_000), Some(9_000_000));
        let used = (
            Amount {
                tokens: 30,
                micros: 1_250_000,
            },
            Amount {
                tokens: 90,
                micros: 9_500_000,
            },
        );
        assert_eq!(
            budget_windows(l, Some(used)),
            serde_json::json!({
                "daily": {"used": 30, "limit": 100, "remaining": 70},
                "dailyUsd": {"used": "1.250000", "limit": "5.000000", "remaining": "3.750000"},
                "monthlyUsd": {"used": "9.500000", "limit": "9.000000", "remaining": "0.000000"},
            })
        );
        assert_eq!(
            budget_windows(Limits::tokens(1, 2), None),
            serde_json::json!({
                "daily": {"used": null, "limit": 1, "remaining": null},
                "monthly": {"used": null, "limit": 2, "remaining": null},
            })
        );
    }
}
