//! Which budgets a request must fit, nested: the tenant's, and the calling key's or end user's.
//! Each is a ledger named with the tenant first, so no tenant or owner can name another's.

use budget::Limits;

use crate::credential::Principal;
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
            limits: Limits::tokens(b.daily, b.monthly),
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
            limits: Limits::tokens(b.daily, b.monthly),
        }),
        Some(Principal::User {
            sub,
            daily_budget: Some(d),
            ..
        }) => out.push(BudgetScope {
            scope: Scope::User,
            ledger: format!("{id}/user/{}", escape_owner(sub)),
            store,
            limits: Limits::tokens(*d, d.saturating_mul(31)),
        }),
        _ => {}
    }
    out
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
            id: "k1".into(),
            scopes: vec![],
            budget,
            rate_limit: None,
        }
    }

    fn user(sub: &str, daily_budget: Option<u64>) -> Principal {
        Principal::User {
            sub: sub.into(),
            scopes: vec![],
            daily_budget,
        }
    }

    #[test]
    fn budgets_nest_tenant_then_caller() {
        let t = tenant(r#","budget":{"daily":100,"monthly":1000,"store":"kv"}"#);
        let got = budgets_of(
            &t,
            Some(&key(Some(ClientBudget {
                daily: 5,
                monthly: 50,
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
}
