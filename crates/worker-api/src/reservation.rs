//! A request's holds on its token budgets, nested: the tenant's, and the calling key's or end
//! user's. Reserved before any model call (all must admit), settled on every outcome.

use budget::{BudgetStore, Limits, Remaining};
use gateway::credential::Principal;
use gateway::log::RequestLog;
use gateway::tenant::BudgetStoreKind;
use worker::{Context, Env, Response};

use crate::budget_store::TenantBudget;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::error::ApiError;
use crate::lease_client;

/// Tokens reserved for one request in one budget: a reservation in the ledger, or a part of
/// this isolate's lease on it.
pub struct Held {
    kind: HoldKind,
    name: String,
    limits: Limits,
    amount: u64,
    pub remaining: Remaining,
}

enum HoldKind {
    Ledger { store: TenantBudget, id: String },
    Leased { lease_id: String },
}

/// Every hold of one request (possibly none).
#[derive(Default)]
pub struct Holds(Vec<Held>);

impl Holds {
    /// What is left in the tightest budget, for the `x-budget-remaining-*` headers.
    pub fn remaining(&self) -> Option<Remaining> {
        self.0.iter().map(|h| h.remaining).reduce(|a, b| Remaining {
            daily: a.daily.min(b.daily),
            monthly: a.monthly.min(b.monthly),
        })
    }
}

fn now_i64() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}

/// The budgets a request of `principal` must fit: `(scope, ledger name, store, limits)`.
pub fn budgets_of(
    settings: &Settings,
    principal: Option<&Principal>,
) -> Vec<(&'static str, String, BudgetStoreKind, Limits)> {
    let t = &settings.tenant;
    let tenant = t.tenant_id.as_str();
    // Key and user ledgers live where the tenant's do; the exact store when it has none.
    let kind = t
        .budget
        .as_ref()
        .map_or(BudgetStoreKind::DurableObject, |b| b.store);
    let mut out = Vec::new();
    if let Some(b) = &t.budget {
        out.push((
            "tenant",
            tenant.to_string(),
            b.store,
            Limits {
                daily: b.daily,
                monthly: b.monthly,
            },
        ));
    }
    match principal {
        Some(Principal::Key {
            id,
            budget: Some(b),
            ..
        }) => {
            out.push((
                "key",
                format!("{tenant}/key/{id}"),
                kind,
                Limits {
                    daily: b.daily,
                    monthly: b.monthly,
                },
            ));
        }
        Some(Principal::User {
            sub,
            daily_budget: Some(d),
            ..
        }) => {
            let sub = sub.replace('%', "%25").replace('/', "%2F");
            // A user's budget is per day; the month allows every day of it.
            out.push((
                "user",
                format!("{tenant}/user/{sub}"),
                kind,
                Limits {
                    daily: *d,
                    monthly: d.saturating_mul(31),
                },
            ));
        }
        _ => {}
    }
    out
}

/// Reserves `amount` (the worst case: estimated prompt plus output cap) in every budget the
/// request must fit; refuses with 429 naming the budget that would overrun, after releasing
/// what it had already reserved.
pub async fn reserve(
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    principal: Option<&Principal>,
    amount: u64,
) -> Result<Holds, ApiError> {
    let mut holds = Holds::default();
    for (scope, name, kind, limits) in budgets_of(settings, principal) {
        if kind == BudgetStoreKind::DurableObject {
            if let Some(a) = lease_client::admit(&name, amount) {
                if a.renew {
                    let (env, name) = (env.clone(), name.clone());
                    ctx.wait_until(async move {
                        lease_client::acquire(&env, &name, amount, limits).await
                    });
                }
                holds.0.push(Held {
                    kind: HoldKind::Leased {
                        lease_id: a.lease_id,
                    },
                    name,
                    limits,
                    amount,
                    remaining: a.remaining,
                });
                continue;
            }
        }
        let outcome = async {
            let store = TenantBudget::open(env, &name, kind)
                .map_err(|e| ApiError::BudgetStore(e.to_string()))?;
            // A fresh id: client trace ids need not be unique.
            let id = uuid::Uuid::new_v4().to_string();
            match store.reserve(now_i64(), &id, amount, limits).await {
                Err(e) => Err(ApiError::BudgetStore(e.to_string())),
                Ok(Err(refusal)) => Err(ApiError::BudgetExceeded { refusal, scope }),
                Ok(Ok(remaining)) => Ok((store, id, remaining)),
            }
        }
        .await;
        match outcome {
            Ok((store, id, remaining)) => {
                // Far from the limit, a lease takes the next requests off the ledger's path.
                if kind == BudgetStoreKind::DurableObject
                    && lease_client::worth_leasing(&name, remaining, amount)
                {
                    let (env, name) = (env.clone(), name.clone());
                    ctx.wait_until(async move {
                        lease_client::acquire(&env, &name, amount, limits).await
                    });
                }
                holds.0.push(Held {
                    kind: HoldKind::Ledger { store, id },
                    name,
                    limits,
                    amount,
                    remaining,
                });
            }
            Err(e) => {
                settle(env, holds, 0, &mut RequestLog::default(), Some(ctx)).await;
                return Err(e);
            }
        }
    }
    Ok(holds)
}

/// Replaces every reservation with the tokens actually billed. Every outcome comes here. The
/// stores' background work goes to `ctx.waitUntil` when given, else it is awaited (a stream's
/// relay already runs in `waitUntil`). Leased holds settle locally; their usage is reported
/// in the background.
pub async fn settle(
    env: &Env,
    holds: Holds,
    actual: u64,
    log: &mut RequestLog,
    ctx: Option<&Context>,
) -> Option<Remaining> {
    let mut remaining: Option<Remaining> = None;
    for held in holds.0 {
        let result = match held.kind {
            HoldKind::Ledger { store, id } => {
                let r = store.settle(now_i64(), &id, actual, held.limits).await;
                match ctx {
                    Some(ctx) => ctx.wait_until(store.after_settle()),
                    None => store.after_settle().await,
                }
                r
            }
            HoldKind::Leased { lease_id } => {
                let r = lease_client::settle(&held.name, &lease_id, held.amount, actual);
                let (env, name, limits) = (env.clone(), held.name.clone(), held.limits);
                match ctx {
                    Some(ctx) => ctx
                        .wait_until(async move { lease_client::report(&env, &name, limits).await }),
                    None => lease_client::report(&env, &name, limits).await,
                }
                Ok(r.unwrap_or(held.remaining))
            }
        };
        match result {
            Ok(r) => {
                remaining = Some(match remaining {
                    None => r,
                    Some(p) => Remaining {
                        daily: p.daily.min(r.daily),
                        monthly: p.monthly.min(r.monthly),
                    },
                });
            }
            Err(e) => log.budget_error = Some(e.to_string()),
        }
    }
    remaining
}

/// `x-budget-remaining-daily` / `-monthly`.
pub fn set_remaining(resp: &mut Response, remaining: Option<Remaining>) -> worker::Result<()> {
    if let Some(r) = remaining {
        resp.headers_mut()
            .set("x-budget-remaining-daily", &r.daily.to_string())?;
        resp.headers_mut()
            .set("x-budget-remaining-monthly", &r.monthly.to_string())?;
    }
    Ok(())
}
