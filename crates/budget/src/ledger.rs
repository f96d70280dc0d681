//! `UsageLedger`: tokens used in the current day and month plus open reservations; reserve and settle.
//!
//! Admission is by reservation: a request may start only if everything already used, plus
//! every open reservation, plus its own reservation fits under both limits. Settlement
//! replaces the reservation with the real usage. A reservation that is never settled expires
//! after its TTL and stops holding budget.

use serde::{Deserialize, Serialize};

use crate::window::{iso8601, seconds_until, BudgetWindow, Windows};

/// A tenant's limits, both > 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub daily: u64,
    pub monthly: u64,
}

/// Tokens counted elsewhere (other isolates' shards in the KV store) in the current windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct External {
    pub daily: u64,
    pub monthly: u64,
}

/// An open reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: String,
    pub amount: u64,
    pub expires_at_ms: i64,
}

/// What is left in each window (never negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remaining {
    pub daily: u64,
    pub monthly: u64,
}

/// Why a reservation was refused: the first window it would overrun.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub window: BudgetWindow,
    pub limit: u64,
    /// Used plus held by open reservations, in that window.
    pub used: u64,
    pub requested: u64,
    pub resets_at: String,
    pub retry_after_secs: u64,
}

/// The ledger of one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageLedger {
    pub day: i64,
    pub day_used: u64,
    pub month: i64,
    pub month_used: u64,
    pub reservations: Vec<Reservation>,
    /// Blocks of budget isolates admit requests from locally (`lease.rs`).
    #[serde(default)]
    pub leases: Vec<crate::lease::Lease>,
}

impl UsageLedger {
    /// Moves to the windows of `now_ms` (a new day or month starts at zero) and drops
    /// expired reservations.
    pub fn roll(&mut self, now_ms: i64) {
        let w = Windows::at(now_ms);
        if w.month != self.month {
            self.month = w.month;
            self.month_used = 0;
        }
        if w.day != self.day {
            self.day = w.day;
            self.day_used = 0;
        }
        self.reservations.retain(|r| r.expires_at_ms > now_ms);
        // An expired lease stops holding budget; what it reported is already counted.
        self.leases.retain(|l| l.expires_at_ms > now_ms);
    }

    /// Tokens held by open reservations.
    pub fn held(&self) -> u64 {
        self.reservations.iter().map(|r| r.amount).sum::<u64>()
            + self
                .leases
                .iter()
                .map(crate::lease::Lease::unused)
                .sum::<u64>()
    }

    pub fn remaining(&self, limits: Limits, external: External) -> Remaining {
        let held = self.held();
        Remaining {
            daily: limits
                .daily
                .saturating_sub(self.day_used + external.daily + held),
            monthly: limits
                .monthly
                .saturating_sub(self.month_used + external.monthly + held),
        }
    }

    /// Reserves `amount` for request `id` until `now_ms + ttl_ms`, or refuses.
    pub fn reserve(
        &mut self,
        now_ms: i64,
        id: &str,
        amount: u64,
        ttl_ms: i64,
        limits: Limits,
        external: External,
    ) -> Result<Remaining, Refusal> {
        self.roll(now_ms);
        let held = self.held();
        let w = Windows::at(now_ms);
        let checks = [
            (
                BudgetWindow::Daily,
                limits.daily,
                self.day_used + external.daily + held,
            ),
            (
                BudgetWindow::Monthly,
                limits.monthly,
                self.month_used + external.monthly + held,
            ),
        ];
        for (window, limit, used) in checks {
            if used + amount > limit {
                let reset = w.resets_at_ms(window);
                return Err(Refusal {
                    window,
                    limit,
                    used,
                    requested: amount,
                    resets_at: iso8601(reset),
                    retry_after_secs: seconds_until(now_ms, reset),
                });
            }
        }
        self.reservations.push(Reservation {
            id: id.to_string(),
            amount,
            expires_at_ms: now_ms + ttl_ms,
        });
        Ok(self.remaining(limits, external))
    }

    /// Replaces reservation `id` with the `actual` tokens used. Usage is counted even when the
    /// reservation has expired or never existed: tokens spent are never lost.
    pub fn settle(
        &mut self,
        now_ms: i64,
        id: &str,
        actual: u64,
        limits: Limits,
        external: External,
    ) -> Remaining {
        self.roll(now_ms);
        self.reservations.retain(|r| r.id != id);
        self.day_used += actual;
        self.month_used += actual;
        self.remaining(limits, external)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        daily: 100,
        monthly: 250,
    };
    const NONE: External = External {
        daily: 0,
        monthly: 0,
    };
    const TTL: i64 = 60_000;
    /// 2026-11-22T12:00:00Z
    const NOON: i64 = 1_795_348_800_000;
    const DAY: i64 = 86_400_000;

    #[test]
    fn reserve_then_settle_replaces_the_estimate() {
        let mut l = UsageLedger::default();
        assert_eq!(
            l.reserve(NOON, "a", 40, TTL, LIMITS, NONE),
            Ok(Remaining {
                daily: 60,
                monthly: 210
            })
        );
        assert_eq!(l.held(), 40);
        assert_eq!(
            l.settle(NOON, "a", 25, LIMITS, NONE),
            Remaining {
                daily: 75,
                monthly: 225
            }
        );
        assert_eq!(l.held(), 0);
        assert_eq!((l.day_used, l.month_used), (25, 25));
    }

    #[test]
    fn refusal_names_the_window_the_figures_and_the_reset() {
        let mut l = UsageLedger::default();
        l.reserve(NOON, "a", 60, TTL, LIMITS, NONE).unwrap();
        let r = l.reserve(NOON, "b", 41, TTL, LIMITS, NONE).unwrap_err();
        assert_eq!(
            r,
            Refusal {
                window: BudgetWindow::Daily,
                limit: 100,
                used: 60,
                requested: 41,
                resets_at: "2026-11-23T00:00:00Z".into(),
                retry_after_secs: 12 * 3600,
            }
        );
        // Exactly at the limit is allowed.
        assert!(l.reserve(NOON, "c", 40, TTL, LIMITS, NONE).is_ok());
        assert_eq!(l.remaining(LIMITS, NONE).daily, 0);
    }

    #[test]
    fn monthly_limit_refuses_across_days() {
        let mut l = UsageLedger::default();
        for d in 0..2 {
            l.reserve(NOON + d * DAY, "x", 100, TTL, LIMITS, NONE)
                .unwrap();
            l.settle(NOON + d * DAY, "x", 100, LIMITS, NONE);
        }
        let r = l
            .reserve(NOON + 2 * DAY, "y", 60, TTL, LIMITS, NONE)
            .unwrap_err();
        assert_eq!(
            (r.window, r.used, r.resets_at.as_str()),
            (BudgetWindow::Monthly, 200, "2026-12-01T00:00:00Z")
        );
        assert!(l
            .reserve(NOON + 2 * DAY, "z", 50, TTL, LIMITS, NONE)
            .is_ok());
    }

    #[test]
    fn a_new_day_and_month_start_at_zero() {
        let mut l = UsageLedger::default();
        l.reserve(NOON, "a", 100, TTL, LIMITS, NONE).unwrap();
        l.settle(NOON, "a", 100, LIMITS, NONE);
        assert!(l.reserve(NOON, "b", 1, TTL, LIMITS, NONE).is_err());
        assert!(l.reserve(NOON + DAY, "b", 100, TTL, LIMITS, NONE).is_ok());
        let next_month = NOON + 9 * DAY; // 2026-12-01
        l.settle(next_month, "b", 100, LIMITS, NONE);
        assert_eq!((l.day_used, l.month_used), (100, 100));
    }

    #[test]
    fn stale_reservations_expire() {
        let mut l = UsageLedger::default();
        l.reserve(NOON, "lost", 100, TTL, LIMITS, NONE).unwrap();
        assert!(
            l.reserve(NOON + TTL - 1, "b", 1, TTL, LIMITS, NONE)
                .is_err(),
            "still held just before expiry"
        );
        assert!(
            l.reserve(NOON + TTL, "b", 1, TTL, LIMITS, NONE).is_ok(),
            "released at expiry"
        );
        // Settling an expired reservation still counts the usage.
        l.settle(NOON + 2 * TTL, "lost", 30, LIMITS, NONE);
        assert_eq!(l.day_used, 30);
    }

    #[test]
    fn usage_beyond_the_reservation_is_counted_and_remaining_never_negative() {
        let mut l = UsageLedger::default();
        l.reserve(NOON, "a", 90, TTL, LIMITS, NONE).unwrap();
        assert_eq!(
            l.settle(NOON, "a", 130, LIMITS, NONE),
            Remaining {
                daily: 0,
                monthly: 120
            }
        );
        assert_eq!(l.day_used, 130);
    }

    #[test]
    fn external_usage_counts_against_the_limits() {
        let mut l = UsageLedger::default();
        let ext = External {
            daily: 70,
            monthly: 70,
        };
        let r = l.reserve(NOON, "a", 31, TTL, LIMITS, ext).unwrap_err();
        assert_eq!(r.used, 70);
        assert_eq!(
            l.reserve(NOON, "a", 30, TTL, LIMITS, ext),
            Ok(Remaining {
                daily: 0,
                monthly: 150
            })
        );
    }

    #[test]
    fn concurrent_reservations_never_admit_more_than_the_limit() {
        let mut l = UsageLedger::default();
        let admitted: u64 = (0..50)
            .filter_map(|i| {
                l.reserve(NOON, &i.to_string(), 7, TTL, LIMITS, NONE)
                    .ok()
                    .map(|_| 7)
            })
            .sum();
        assert_eq!(admitted, 98, "14 of 50 fit in 100");
    }

    #[test]
    fn ledger_round_trips_through_json() {
        let mut l = UsageLedger::default();
        l.reserve(NOON, "a", 5, TTL, LIMITS, NONE).unwrap();
        let s = serde_json::to_string(&l).unwrap();
        assert_eq!(serde_json::from_str::<UsageLedger>(&s).unwrap(), l);
    }
}
