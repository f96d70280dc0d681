//! Pure token-budget logic: UTC windows, reservations and settlement over a storage trait.

pub mod lease;
pub mod ledger;
pub mod window;

pub use ledger::{External, Limits, Refusal, Remaining, Reservation, UsageLedger};
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

/// The outcome of a reservation: admitted (with what remains) or refused.
pub type Admission = Result<Remaining, Refusal>;

/// Where a tenant's ledger lives. Implemented in `worker-api` by a Durable Object (exact) and
/// by KV (approximate); see docs/budgets.md.
#[allow(async_fn_in_trait)] // Workers are single-threaded: futures need not be Send.
pub trait BudgetStore {
    /// Reserves `amount` tokens for request `id`, or refuses.
    async fn reserve(
        &self,
        now_ms: i64,
        id: &str,
        amount: u64,
        limits: Limits,
    ) -> Result<Admission, Error>;
    /// Replaces reservation `id` with the `actual` tokens used.
    async fn settle(
        &self,
        now_ms: i64,
        id: &str,
        actual: u64,
        limits: Limits,
    ) -> Result<Remaining, Error>;
}

/// The reservation for a request: its estimated prompt plus the most it may generate.
pub fn reservation_amount(prompt_estimate: u64, max_output_tokens: u64) -> u64 {
    prompt_estimate + max_output_tokens
}
