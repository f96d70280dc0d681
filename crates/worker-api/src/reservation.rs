//! A request's hold on its tenant's token budget: reserved before any model call, settled on every outcome.

use budget::{BudgetStore, Limits, Remaining};
use gateway::log::RequestLog;
use worker::{Context, Env, Response};

use crate::budget_store::TenantBudget;
use crate::clock::now_ms;
use crate::config::Settings;
use crate::error::ApiError;

/// Tokens reserved for one request in its tenant's budget store.
pub struct Held {
    store: TenantBudget,
    limits: Limits,
    id: String,
    pub remaining: Remaining,
}

fn now_i64() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}

/// Reserves `amount` (the request's worst case: estimated prompt plus output cap) before any
/// model call; refuses with 429 when a window would overrun. `None` for tenants without a
/// budget.
pub async fn reserve(
    env: &Env,
    settings: &Settings,
    amount: u64,
) -> Result<Option<Held>, ApiError> {
    let tenant = &settings.tenant;
    let Some(cfg) = &tenant.budget else {
        return Ok(None);
    };
    let store = TenantBudget::open(env, tenant, cfg.store)
        .map_err(|e| ApiError::BudgetStore(e.to_string()))?;
    let limits = Limits {
        daily: cfg.daily,
        monthly: cfg.monthly,
    };
    // A fresh id: client trace ids need not be unique.
    let id = uuid::Uuid::new_v4().to_string();
    match store.reserve(now_i64(), &id, amount, limits).await {
        Err(e) => Err(ApiError::BudgetStore(e.to_string())),
        Ok(Err(refusal)) => Err(ApiError::BudgetExceeded { refusal }),
        Ok(Ok(remaining)) => Ok(Some(Held {
            store,
            limits,
            id,
            remaining,
        })),
    }
}

/// Replaces the reservation with the tokens actually billed. Every outcome comes here. The
/// store's background work goes to `ctx.waitUntil` when given, else it is awaited (a stream's
/// relay already runs in `waitUntil`).
pub async fn settle(
    held: Option<Held>,
    actual: u64,
    log: &mut RequestLog,
    ctx: Option<&Context>,
) -> Option<Remaining> {
    let held = held?;
    let result = held
        .store
        .settle(now_i64(), &held.id, actual, held.limits)
        .await;
    match ctx {
        Some(ctx) => ctx.wait_until(held.store.after_settle()),
        None => held.store.after_settle().await,
    }
    match result {
        Ok(r) => Some(r),
        Err(e) => {
            log.budget_error = Some(e.to_string());
            None
        }
    }
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
