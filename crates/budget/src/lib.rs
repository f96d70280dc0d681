//! Pure budget logic: UTC windows, ledgers counting tokens and micro-dollars, reservations with
//! shrink-to-fit, settlement, leases (ledger side and isolate side), over a storage trait.

pub mod amount;
pub mod book;
pub mod lease;
pub mod ledger;
pub mod window;

pub use amount::{Amount, Demand, Limits, Price, Remaining, Unit, UNLIMITED};
pub use ledger::{Admitted, External, Refusal, Reservation, UsageLedger};
pub use window::{BudgetWindow, Windows};

/// How long an unsettled reservation holds budget before it expires (the isolate died).
/// Longer than any stream the worker pumps (`waitUntil` lives ~30 s past the response).
pub const RESERVATION_TTL_MS: i64 = 10 * 60 * 1000;

/// The one error enum of the `budget` crate: the store could not be reached or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("budget store: {0}")]
    Store(String),
}

/// The outcome of a reservation: admitted (with its output cap and what remains) or refused.
pub type Admission = Result<Admitted, Refusal>;

/// Where a ledger lives. Implemented in `worker-api` by a Durable Object (exact) and by KV
/// (approximate); see docs/budgets.md.
#[allow(async_fn_in_trait)] // Workers are single-threaded: futures need not be Send.
pub trait BudgetStore {
    /// Reserves what `demand` needs for request `id` (shrunk to fit, at least its floor), or refuses.
    async fn reserve(
        &self,
        now_ms: i64,
        id: &str,
        demand: Demand,
        limits: Limits,
    ) -> Result<Admission, Error>;
    /// Replaces reservation `id` with what was `actual`ly used.
    async fn settle(
        &self,
        now_ms: i64,
        id: &str,
        actual: Amount,
        limits: Limits,
    ) -> Result<Remaining, Error>;
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unsettled_reservation_outlives_any_relayed_stream() {
        // waitUntil lives about 30 s past the response; a stream may idle 300 s at most per
        // attempt (limits.attemptTimeoutMs); ten minutes covers both.
        assert_eq!(super::RESERVATION_TTL_MS, 600_000);
    }
}
