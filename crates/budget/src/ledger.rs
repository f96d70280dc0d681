//! `UsageLedger`: what one budget used in the current day and month (tokens and micro-dollars)
//! plus open reservations and leases; reserve (with shrink-to-fit) and settle.
//!
//! Admission is by reservation: a request may start only if everything already used, plus
//! every open reservation and lease, plus its own reservation fits under every limit. When the
//! whole output cap does not fit but at least the request's `min_output` does, the reservation
//! shrinks to what fits and the request is sent with that smaller cap. Settlement replaces the
//! reservation with the real usage. A reservation never settled expires after its TTL.

use serde::{Deserialize, Serialize};

use crate::amount::{Amount, Demand, Limits, Remaining, Unit};
use crate::window::{iso8601, seconds_until, BudgetWindow, Windows};

/// Usage counted elsewhere (other isolates' shards in the KV store) in the current windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct External {
    pub daily: Amount,
    pub monthly: Amount,
}

/// An open reservation (`amount` in tokens, `micros` in micro-dollars).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: String,
    pub amount: u64,
    #[serde(default)]
    pub micros: u64,
    pub expires_at_ms: i64,
}

impl Reservation {
    pub fn held(&self) -> Amount {
        Amount {
            tokens: self.amount,
            micros: self.micros,
        }
    }
}

/// Why a reservation was refused: the first window and unit it would overrun. `requested` is
/// the least the request needed (its prompt plus its smallest acceptable output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub window: BudgetWindow,
    pub unit: Unit,
    pub limit: u64,
    /// Used plus held by open reservations, in that window and unit.
    pub used: u64,
    pub requested: u64,
    pub resets_at: String,
    pub retry_after_secs: u64,
}

/// An admitted reservation: the output cap it holds (at most the demand's) and its amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admitted {
    pub output: u64,
    pub amount: Amount,
    pub remaining: Remaining,
}

/// A block of budget held by one isolate (`granted`/`used` in tokens, `*_micros` in
/// micro-dollars; ledgers stored before cost budgets read with zero micro-dollars).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub id: String,
    pub granted: u64,
    /// Reported usage (already in the ledger's totals).
    pub used: u64,
    #[serde(default)]
    pub granted_micros: u64,
    #[serde(default)]
    pub used_micros: u64,
    pub expires_at_ms: i64,
}

impl Lease {
    /// What the lease still holds.
    pub fn unused(&self) -> Amount {
        Amount {
            tokens: self.granted.saturating_sub(self.used),
            micros: self.granted_micros.saturating_sub(self.used_micros),
        }
    }
}

/// The ledger of one budget (a tenant, a key, an end user). Token fields keep their original
/// names, so ledgers stored before cost budgets read unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageLedger {
    pub day: i64,
    pub day_used: u64,
    pub month: i64,
    pub month_used: u64,
    #[serde(default)]
    pub day_micros: u64,
    #[serde(default)]
    pub month_micros: u64,
    pub reservations: Vec<Reservation>,
    /// Blocks of budget isolates admit requests from locally (`lease.rs`).
    #[serde(default)]
    pub leases: Vec<Lease>,
}

impl UsageLedger {
    /// Moves to the windows of `now_ms` (a new day or month starts at zero) and drops
    /// expired reservations and leases.
    pub fn roll(&mut self, now_ms: i64) {
        let w = Windows::at(now_ms);
        if w.month != self.month {
            self.month = w.month;
            self.month_used = 0;
            self.month_micros = 0;
        }
        if w.day != self.day {
            self.day = w.day;
            self.day_used = 0;
            self.day_micros = 0;
        }
        self.reservations.retain(|r| r.expires_at_ms > now_ms);
        // An expired lease stops holding budget; what it reported is already counted.
        self.leases.retain(|l| l.expires_at_ms > now_ms);
    }

    /// What the current day has used.
    pub fn used_today(&self) -> Amount {
        Amount {
            tokens: self.day_used,
            micros: self.day_micros,
        }
    }

    /// What the current month has used.
    pub fn used_this_month(&self) -> Amount {
        Amount {
            tokens: self.month_used,
            micros: self.month_micros,
        }
    }

    /// Counts `used` in both windows.
    pub(crate) fn count(&mut self, used: Amount) {
        self.day_used = self.day_used.saturating_add(used.tokens);
        self.month_used = self.month_used.saturating_add(used.tokens);
        self.day_micros = self.day_micros.saturating_add(used.micros);
        self.month_micros = self.month_micros.saturating_add(used.micros);
    }

    /// Held by open reservations and the unused part of leases.
    pub fn held(&self) -> Amount {
        let reserved = self
            .reservations
            .iter()
            .fold(Amount::ZERO, |a, r| a.plus(r.held()));
        self.leases.iter().fold(reserved, |a, l| a.plus(l.unused()))
    }

    /// Used, external and held, per window.
    fn taken(&self, external: External) -> (Amount, Amount) {
        let held = self.held();
        (
            self.used_today().plus(external.daily).plus(held),
            self.used_this_month().plus(external.monthly).plus(held),
        )
    }

    pub fn remaining(&self, limits: Limits, external: External) -> Remaining {
        let (day, month) = self.taken(external);
        Remaining {
            daily: limits.daily.minus(day),
            monthly: limits.monthly.minus(month),
        }
    }

    /// Reserves for request `id` until `now_ms + ttl_ms` the largest output cap of `demand`
    /// that fits (at least its `min_output`), or refuses naming the first window and unit
    /// that cannot take even that.
    pub fn reserve(
        &mut self,
        now_ms: i64,
        id: &str,
        demand: Demand,
        ttl_ms: i64,
        limits: Limits,
        external: External,
    ) -> Result<Admitted, Refusal> {
        self.roll(now_ms);
        let room = self.remaining(limits, external).room();
        let Some(output) = demand.fit(room) else {
            return Err(self.refusal(now_ms, demand.amount(demand.min_output), limits, external));
        };
        let amount = demand.amount(output);
        self.reservations.push(Reservation {
            id: id.to_string(),
            amount: amount.tokens,
            micros: amount.micros,
            expires_at_ms: now_ms + ttl_ms,
        });
        Ok(Admitted {
            output,
            amount,
            remaining: self.remaining(limits, external),
        })
    }

    /// Why `need` does not fit: the first of daily tokens, daily cost, monthly tokens, monthly
    /// cost that it overruns.
    fn refusal(&self, now_ms: i64, need: Amount, limits: Limits, external: External) -> Refusal {
        let (day, month) = self.taken(external);
        let w = Windows::at(now_ms);
        let checks = [
            (BudgetWindow::Daily, limits.daily, day),
            (BudgetWindow::Monthly, limits.monthly, month),
        ];
        let over = checks.iter().find_map(|&(window, limit, taken)| {
            [Unit::Tokens, Unit::Usd].into_iter().find_map(|unit| {
                let (l, t, n) = (limit.get(unit), taken.get(unit), need.get(unit));
                (t.saturating_add(n) > l).then_some((window, unit, l, t, n))
            })
        });
        // `need` did not fit, so one check fails; the daily token figures are a safe default.
        let (window, unit, limit, used, requested) = over.unwrap_or((
            BudgetWindow::Daily,
            Unit::Tokens,
            limits.daily.tokens,
            day.tokens,
            need.tokens,
        ));
        let reset = w.resets_at_ms(window);
        Refusal {
            window,
            unit,
            limit,
            used,
            requested,
            resets_at: iso8601(reset),
            retry_after_secs: seconds_until(now_ms, reset),
        }
    }

    /// Replaces reservation `id` with what was `actual`ly used. Usage is counted even when the
    /// reservation has expired or never existed: what was spent is never lost.
    pub fn settle(
        &mut self,
        now_ms: i64,
        id: &str,
        actual: Amount,
        limits: Limits,
        external: External,
    ) -> Remaining {
        self.roll(now_ms);
        self.reservations.retain(|r| r.id != id);
        self.count(actual);
        self.remaining(limits, external)
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
