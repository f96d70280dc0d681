//! A request's holds on its budgets, nested: the tenant's, and the calling key's or end user's.
//! Reserved before any model call (all must admit; each may shrink the output cap to fit),
//! settled on every outcome.

pub mod leases;
pub mod store;

use budget::{Amount, BudgetStore, Demand, Limits, Remaining};
use gateway::budgets::{budgets_of, reserve_price, BudgetScope};
use gateway::credential::Principal;
use gateway::log::RequestLog;
use gateway::tenant::BudgetStoreKind;
use worker::{Context, Env, Response};

use self::leases::FromLease;
use crate::budgets::store::TenantBudget;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::http::error::ApiError;

/// What one request holds in one budget: a reservation in the ledger, or a part of this
/// isolate's lease on it.
pub struct Held {
    kind: HoldKind,
    name: String,
    limits: Limits,
    amount: Amount,
    pub remaining: Remaining,
}

enum HoldKind {
    Ledger { store: TenantBudget, id: String },
    Leased { lease_id: String },
}

/// Every hold of one request (possibly none) and the output cap they admit.
pub struct Holds {
    held: Vec<Held>,
    /// The output cap every budget admitted (the demand's, or less after shrink-to-fit).
    pub output: u64,
}

impl Holds {
    /// What is left in the tightest budget, for the `x-budget-remaining-*` headers.
    pub fn remaining(&self) -> Option<Remaining> {
        self.held.iter().map(|h| h.remaining).reduce(Remaining::min)
    }
}

fn now_i64() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}

/// Reserves what `demand` needs in every budget the request must fit, at the price of
/// `chain` (`demand.price` is set here; 400 `model_unpriced` when a cost budget applies and a
/// model of the chain has no price). A budget that cannot take the whole output cap but can
/// take at least its floor shrinks it, and the budgets after it are asked for the smaller cap.
/// Refuses with 429 naming the budget that cannot take even the floor, after releasing what it
/// had already reserved.
pub async fn reserve(
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    principal: Option<&Principal>,
    chain: &[String],
    demand: Demand,
) -> Result<Holds, ApiError> {
    let scopes = budgets_of(&settings.tenant, principal);
    let price = reserve_price(chain, &settings.tenant.pricing, &scopes)
        .map_err(|model| ApiError::ModelUnpriced { model })?;
    let demand = Demand { price, ..demand };
    let mut holds = Holds {
        held: Vec::new(),
        output: demand.output,
    };
    for BudgetScope {
        scope,
        ledger: name,
        store: kind,
        limits,
    } in scopes
    {
        let demand = demand.capped(holds.output);
        let amount = demand.full();
        if kind == BudgetStoreKind::DurableObject {
            let from_lease = leases::admit(&name, now_i64(), amount, limits);
            if let FromLease::Retired = from_lease {
                let (env, name) = (env.clone(), name.clone());
                ctx.wait_until(async move { leases::report(&env, &name, limits).await });
            }
            if let FromLease::Admitted(a) = from_lease {
                if a.renew {
                    let (env, name) = (env.clone(), name.clone());
                    ctx.wait_until(
                        async move { leases::acquire(&env, &name, amount, limits).await },
                    );
                }
                holds.held.push(Held {
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
            match store.reserve(now_i64(), &id, demand, limits).await {
                Err(e) => Err(ApiError::BudgetStore(e.to_string())),
                Ok(Err(refusal)) => Err(ApiError::BudgetExceeded {
                    refusal,
                    scope: scope.as_str(),
                }),
                Ok(Ok(admitted)) => Ok((store, id, admitted)),
            }
        }
        .await;
        match outcome {
            Ok((store, id, admitted)) => {
                // Far from the limit, a lease takes the next requests off the ledger's path.
                if kind == BudgetStoreKind::DurableObject
                    && admitted.output == demand.output
                    && leases::worth_leasing(&name, admitted.remaining, amount)
                {
                    let (env, name) = (env.clone(), name.clone());
                    ctx.wait_until(
                        async move { leases::acquire(&env, &name, amount, limits).await },
                    );
                }
                holds.output = holds.output.min(admitted.output);
                holds.held.push(Held {
                    kind: HoldKind::Ledger { store, id },
                    name,
                    limits,
                    amount: admitted.amount,
                    remaining: admitted.remaining,
                });
            }
            Err(e) => {
                settle(
                    env,
                    holds,
                    Amount::ZERO,
                    &mut RequestLog::default(),
                    Some(ctx),
                )
                .await;
                return Err(e);
            }
        }
    }
    Ok(holds)
}

/// Replaces every reservation with what was actually used. Every outcome comes here. The
/// stores' background work goes to `ctx.waitUntil` when given, else it is awaited (a stream's
/// relay already runs in `waitUntil`). Leased holds settle locally; their usage is reported
/// in the background.
pub async fn settle(
    env: &Env,
    holds: Holds,
    actual: Amount,
    log: &mut RequestLog,
    ctx: Option<&Context>,
) -> Option<Remaining> {
    let mut remaining: Option<Remaining> = None;
    for held in holds.held {
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
                let r = leases::settle(&held.name, &lease_id, held.amount, actual);
                let (env, name, limits) = (env.clone(), held.name.clone(), held.limits);
                match ctx {
                    Some(ctx) => {
                        ctx.wait_until(async move { leases::report(&env, &name, limits).await })
                    }
                    None => leases::report(&env, &name, limits).await,
                }
                Ok(r.unwrap_or(held.remaining))
            }
        };
        match result {
            Ok(r) => remaining = Some(remaining.map_or(r, |p| p.min(r))),
            Err(e) => log.budget_error = Some(e.to_string()),
        }
    }
    remaining
}

/// `x-budget-remaining-daily` / `-monthly` (tokens), when a token limit applies.
pub fn set_remaining(resp: &mut Response, remaining: Option<Remaining>) -> worker::Result<()> {
    let Some(r) = remaining else { return Ok(()) };
    for (name, value) in [
        ("x-budget-remaining-daily", r.daily.tokens),
        ("x-budget-remaining-monthly", r.monthly.tokens),
    ] {
        if let Some(v) = budget::amount::shown(value) {
            resp.headers_mut().set(name, &v.to_string())?;
        }
    }
    Ok(())
}
