//! Lease rules, and a property-style check that leases and reservations together never admit
//! more than the limit.

use super::*;
use crate::amount::Demand;

const NONE: External = External {
    daily: Amount::ZERO,
    monthly: Amount::ZERO,
};

fn t(n: u64) -> Amount {
    Amount::tokens(n)
}

fn size(remaining: u64, amount: u64) -> u64 {
    lease_size(
        Amount {
            tokens: remaining,
            micros: UNLIMITED,
        },
        t(amount),
    )
    .map_or(0, |a| a.tokens)
}
/// 2026-11-22T12:00:00Z
const NOON: i64 = 1_795_348_800_000;

#[test]
fn leases_shrink_to_nothing_near_the_limit() {
    assert_eq!(size(1_000_000_000, 264), 264 * 32);
    assert_eq!(size(264 * 2048, 264), 264 * 32);
    assert_eq!(
        size(264 * 1024, 264),
        264 * 1024 / 64,
        "a 64th of what remains"
    );
    assert_eq!(
        size(264 * 1023, 264),
        0,
        "too close to the limit: plain reservations"
    );
    assert_eq!(size(560, 28), 0);
    assert_eq!(
        size(UNLIMITED, 10),
        320,
        "an unlimited unit: the full lease"
    );
    // Near the limit in either unit: no lease at all.
    let near_cost = Amount {
        tokens: 1_000_000_000,
        micros: 500,
    };
    assert_eq!(
        lease_size(
            near_cost,
            Amount {
                tokens: 10,
                micros: 1
            }
        ),
        None
    );
    let far = Amount {
        tokens: 1_000_000_000,
        micros: 1_000_000,
    };
    assert_eq!(
        lease_size(
            far,
            Amount {
                tokens: 10,
                micros: 3
            }
        ),
        Some(Amount {
            tokens: 320,
            micros: 96
        })
    );
}

#[test]
fn a_lease_is_held_like_a_reservation_and_released_with_its_usage() {
    let limits = Limits::tokens(10_000_000, 100_000_000);
    let mut l = UsageLedger::default();
    let g = l.grant_lease(NOON, "L1", t(100), limits, NONE).unwrap();
    assert_eq!(g.granted.tokens, 3200);
    assert_eq!(g.remaining.daily.tokens, 10_000_000 - 3200);
    assert_eq!(l.held(), t(3200));
    l.report_lease(NOON, "L1", t(250), false, limits, NONE);
    assert_eq!((l.day_used, l.held()), (250, t(2950)));
    let r = l.report_lease(NOON, "L1", t(50), true, limits, NONE);
    assert_eq!(
        (l.day_used, l.held(), r.daily.tokens),
        (300, Amount::ZERO, 10_000_000 - 300)
    );
    // Usage reported after expiry still counts; the expired lease holds nothing.
    let g = l.grant_lease(NOON, "L2", t(100), limits, NONE).unwrap();
    assert_eq!(g.expires_at_ms, NOON + LEASE_TTL_MS);
    l.roll(NOON + LEASE_TTL_MS - 1);
    assert_eq!(l.held(), t(3200), "held until its TTL");
    l.roll(NOON + LEASE_TTL_MS);
    assert_eq!(l.held(), Amount::ZERO);
    l.report_lease(NOON + LEASE_TTL_MS, "L2", t(10), true, limits, NONE);
    assert_eq!((l.day_used, l.month_used), (310, 310));
    // Near the limit no lease is granted.
    let tight = Limits::tokens(1000, 1000);
    assert_eq!(l.grant_lease(NOON, "L3", t(100), tight, NONE), None);
}

/// A tiny deterministic generator, so the property test needs no crate.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn leases_and_reservations_never_admit_past_the_limit() {
    for seed in 0..200u64 {
        let mut rng = Lcg(seed);
        let limit = 50_000 + rng.next(5_000_000);
        let limits = Limits::tokens(limit, limit);
        let mut ledger = UsageLedger::default();
        // Isolates: (lease id, granted, committed) — committed is what they admitted locally.
        let mut isolates: Vec<Option<(String, u64, u64)>> = vec![None; 4];
        let mut admitted_outside_leases = 0u64;
        for step in 0..400 {
            let i = rng.next(4) as usize;
            let amount = 1 + rng.next(300);
            let id = format!("s{seed}-{step}");
            match rng.next(4) {
                0 => {
                    if let Some(g) = ledger.grant_lease(NOON, &id, t(amount), limits, NONE) {
                        if let Some((old, _, committed)) = isolates[i].take() {
                            ledger.report_lease(NOON, &old, t(committed), true, limits, NONE);
                        }
                        isolates[i] = Some((id, g.granted.tokens, 0));
                    }
                }
                1 => {
                    if let Some((_, granted, committed)) = isolates[i].as_mut() {
                        if *committed + amount <= *granted {
                            *committed += amount;
                        }
                    }
                }
                2 => {
                    let ask = Demand {
                        prompt: amount / 2,
                        output: amount - amount / 2,
                        min_output: 1.min(amount - amount / 2),
                        price: Default::default(),
                    };
                    if let Ok(a) = ledger.reserve(NOON, &id, ask, 600_000, limits, NONE) {
                        ledger.settle(NOON, &id, a.amount, limits, NONE);
                        admitted_outside_leases += a.amount.tokens;
                    }
                }
                _ => {
                    if let Some((lid, _, committed)) = isolates[i].take() {
                        ledger.report_lease(NOON, &lid, t(committed), true, limits, NONE);
                    }
                }
            }
            // Everything admitted (reported, in open leases' commitments, held) fits the limit.
            let committed_in_leases: u64 = isolates.iter().flatten().map(|(_, _, c)| c).sum();
            let bound = ledger.day_used + ledger.held().tokens;
            assert!(
                bound <= limit,
                "seed {seed} step {step}: used+held {bound} > {limit}"
            );
            assert!(
                ledger.day_used + committed_in_leases <= limit,
                "seed {seed}: admitted past the limit"
            );
        }
        let _ = admitted_outside_leases;
    }
}

#[test]
fn a_lease_for_cost_only_requests_is_granted_in_micro_dollars() {
    // A token-unlimited budget: the lease holds no tokens, only micro-dollars.
    let limits = Limits {
        daily: Amount {
            tokens: UNLIMITED,
            micros: 1_000_000,
        },
        monthly: Amount::UNLIMITED,
    };
    let each = Amount {
        tokens: 0,
        micros: 10,
    };
    let mut l = UsageLedger::default();
    let g = l.grant_lease(NOON, "L1", each, limits, NONE).unwrap();
    assert_eq!(
        g.granted,
        Amount {
            tokens: 0,
            micros: 320
        }
    );
    assert_eq!(l.held().micros, 320);
}
