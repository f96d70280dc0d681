//! The tenant's `budget` table: token and cost limits per day and month, and where the counters live.

use budget::{Amount, Limits, UNLIMITED};
use serde::Serialize;

use crate::error::ConfigError;

/// `budget` exactly as written (USD amounts already read as micro-dollars).
#[derive(Debug, Clone, Default)]
pub struct RawBudget {
    pub daily: Option<i64>,
    pub monthly: Option<i64>,
    pub daily_micros: Option<u64>,
    pub monthly_micros: Option<u64>,
    pub store: Option<String>,
    pub min_output_tokens: Option<i64>,
}

/// Where a tenant's budget counters live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BudgetStoreKind {
    /// One SQLite-backed Durable Object per tenant: exact under concurrency.
    DurableObject,
    /// Workers KV: cheap, eventually consistent, can overshoot (see docs/budgets.md).
    Kv,
}

/// A checked budget: at least one limit, every limit > 0, daily <= monthly in each unit.
/// A limit left out does not limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetConfig {
    pub daily: Option<u64>,
    pub monthly: Option<u64>,
    /// `budget.dailyUsd` in micro-dollars.
    pub daily_micros: Option<u64>,
    /// `budget.monthlyUsd` in micro-dollars.
    pub monthly_micros: Option<u64>,
    pub store: BudgetStoreKind,
}

impl BudgetConfig {
    /// The ledger limits (`UNLIMITED` where no limit is set).
    pub fn limits(&self) -> Limits {
        limits(
            self.daily,
            self.monthly,
            self.daily_micros,
            self.monthly_micros,
        )
    }

    /// Whether a cost limit is set (every model the tenant uses then needs a price).
    pub fn limits_cost(&self) -> bool {
        self.daily_micros.is_some() || self.monthly_micros.is_some()
    }
}

/// Ledger limits from optional limits per window and unit.
pub fn limits(
    daily: Option<u64>,
    monthly: Option<u64>,
    daily_micros: Option<u64>,
    monthly_micros: Option<u64>,
) -> Limits {
    let or = |v: Option<u64>| v.unwrap_or(UNLIMITED);
    Limits {
        daily: Amount {
            tokens: or(daily),
            micros: or(daily_micros),
        },
        monthly: Amount {
            tokens: or(monthly),
            micros: or(monthly_micros),
        },
    }
}

/// Checks `budget`; errors name the field.
pub fn check_budget(source: &str, raw: RawBudget) -> Result<BudgetConfig, ConfigError> {
    let err = |path: &str, message: String| ConfigError::new(source, path, message);
    let positive = |path: &str, v: Option<i64>| -> Result<Option<u64>, ConfigError> {
        match v {
            None => Ok(None),
            Some(n) => u64::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| err(path, "must be > 0".into())),
        }
    };
    let daily = positive("budget.daily", raw.daily)?;
    let monthly = positive("budget.monthly", raw.monthly)?;
    for (path, v) in [
        ("budget.dailyUsd", raw.daily_micros),
        ("budget.monthlyUsd", raw.monthly_micros),
    ] {
        if v == Some(0) {
            return Err(err(path, "must be > 0".into()));
        }
    }
    if daily.is_none()
        && monthly.is_none()
        && raw.daily_micros.is_none()
        && raw.monthly_micros.is_none()
    {
        return Err(err(
            "budget",
            "needs at least one limit: daily, monthly (tokens), dailyUsd or monthlyUsd".into(),
        ));
    }
    if let (Some(d), Some(m)) = (daily, monthly) {
        if d > m {
            return Err(err(
                "budget.daily",
                format!("{d} must not exceed budget.monthly ({m})"),
            ));
        }
    }
    if let (Some(d), Some(m)) = (raw.daily_micros, raw.monthly_micros) {
        if d > m {
            return Err(err(
                "budget.dailyUsd",
                format!(
                    "{} must not exceed budget.monthlyUsd ({})",
                    crate::pricing::usd(d),
                    crate::pricing::usd(m)
                ),
            ));
        }
    }
    let store = match raw.store.as_deref() {
        None | Some("durable-object") => BudgetStoreKind::DurableObject,
        Some("kv") => BudgetStoreKind::Kv,
        Some(other) => {
            return Err(err(
                "budget.store",
                format!("`{other}` is not one of `durable-object`, `kv`"),
            ));
        }
    };
    Ok(BudgetConfig {
        daily,
        monthly,
        daily_micros: raw.daily_micros,
        monthly_micros: raw.monthly_micros,
        store,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: RawBudget) -> Result<BudgetConfig, String> {
        check_budget("t", raw).map_err(|e| e.to_string())
    }

    #[test]
    fn any_limit_may_be_left_out_and_does_not_limit() {
        let b = check(RawBudget {
            daily_micros: Some(5_000_000),
            ..RawBudget::default()
        })
        .unwrap();
        assert!(b.limits_cost());
        assert_eq!(
            b.limits(),
            Limits {
                daily: Amount {
                    tokens: UNLIMITED,
                    micros: 5_000_000
                },
                monthly: Amount {
                    tokens: UNLIMITED,
                    micros: UNLIMITED
                },
            }
        );
        let b = check(RawBudget {
            daily: Some(10),
            monthly: Some(10),
            store: Some("kv".into()),
            ..RawBudget::default()
        })
        .unwrap();
        assert!(!b.limits_cost());
        assert_eq!(b.limits(), Limits::tokens(10, 10));
        assert_eq!(b.store, BudgetStoreKind::Kv);
        let b = check(RawBudget {
            monthly_micros: Some(1),
            ..RawBudget::default()
        })
        .unwrap();
        assert!(b.limits_cost());
        assert_eq!(b.store, BudgetStoreKind::DurableObject);
    }

    #[test]
    fn broken_budgets_name_the_field() {
        let cases = [
            (RawBudget::default(), "t: budget: needs at least one limit: daily, monthly (tokens), dailyUsd or monthlyUsd"),
            (RawBudget { daily: Some(0), ..RawBudget::default() }, "t: budget.daily: must be > 0"),
            (RawBudget { monthly: Some(-3), ..RawBudget::default() }, "t: budget.monthly: must be > 0"),
            (RawBudget { daily_micros: Some(0), ..RawBudget::default() }, "t: budget.dailyUsd: must be > 0"),
            (RawBudget { monthly_micros: Some(0), daily: Some(1), ..RawBudget::default() }, "t: budget.monthlyUsd: must be > 0"),
            (RawBudget { daily: Some(11), monthly: Some(10), ..RawBudget::default() }, "t: budget.daily: 11 must not exceed budget.monthly (10)"),
            (
                RawBudget { daily_micros: Some(2_000_001), monthly_micros: Some(2_000_000), ..RawBudget::default() },
                "t: budget.dailyUsd: 2.000001 must not exceed budget.monthlyUsd (2.000000)",
            ),
            (RawBudget { daily: Some(1), store: Some("redis".into()), ..RawBudget::default() }, "t: budget.store: `redis` is not one of `durable-object`, `kv`"),
        ];
        for (raw, want) in cases {
            assert_eq!(check(raw.clone()).unwrap_err(), want, "{raw:?}");
        }
        // Equal daily and monthly limits are fine in both units.
        assert!(check(RawBudget {
            daily_micros: Some(7),
            monthly_micros: Some(7),
            ..RawBudget::default()
        })
        .is_ok());
    }
}
