//! Tests of reservations, shrink-to-fit, settlement and refusals, in tokens and micro-dollars.

use super::*;
use crate::amount::{Price, UNLIMITED};

const LIMITS: Limits = Limits::tokens(100, 250);
const NONE: External = External {
    daily: Amount::ZERO,
    monthly: Amount::ZERO,
};
const TTL: i64 = 60_000;
/// 2026-11-22T12:00:00Z
const NOON: i64 = 1_795_348_800_000;
const DAY: i64 = 86_400_000;

/// A request of `n` tokens that takes all of them or nothing (no prompt, no shrinking).
fn exact(n: u64) -> Demand {
    Demand::exact(0, n)
}

fn reserve(l: &mut UsageLedger, now: i64, id: &str, n: u64) -> Result<Remaining, Refusal> {
    l.reserve(now, id, exact(n), TTL, LIMITS, NONE)
        .map(|a| a.remaining)
}

fn tokens(daily: u64, monthly: u64) -> Remaining {
    Remaining {
        daily: Amount {
            tokens: daily,
            micros: UNLIMITED,
        },
        monthly: Amount {
            tokens: monthly,
            micros: UNLIMITED,
        },
    }
}

#[test]
fn reserve_then_settle_replaces_the_estimate() {
    let mut l = UsageLedger::default();
    assert_eq!(reserve(&mut l, NOON, "a", 40), Ok(tokens(60, 210)));
    assert_eq!(l.held(), Amount::tokens(40));
    assert_eq!(
        l.settle(NOON, "a", Amount::tokens(25), LIMITS, NONE),
        tokens(75, 225)
    );
    assert_eq!(l.held(), Amount::ZERO);
    assert_eq!((l.day_used, l.month_used), (25, 25));
}

#[test]
fn refusal_names_the_window_the_unit_the_figures_and_the_reset() {
    let mut l = UsageLedger::default();
    reserve(&mut l, NOON, "a", 60).unwrap();
    let r = reserve(&mut l, NOON, "b", 41).unwrap_err();
    assert_eq!(
        r,
        Refusal {
            window: BudgetWindow::Daily,
            unit: Unit::Tokens,
            limit: 100,
            used: 60,
            requested: 41,
            resets_at: "2026-11-23T00:00:00Z".into(),
            retry_after_secs: 12 * 3600,
        }
    );
    // Exactly at the limit is allowed.
    assert!(reserve(&mut l, NOON, "c", 40).is_ok());
    assert_eq!(l.remaining(LIMITS, NONE).daily.tokens, 0);
}

#[test]
fn monthly_limit_refuses_across_days() {
    let mut l = UsageLedger::default();
    for d in 0..2 {
        reserve(&mut l, NOON + d * DAY, "x", 100).unwrap();
        l.settle(NOON + d * DAY, "x", Amount::tokens(100), LIMITS, NONE);
    }
    let r = reserve(&mut l, NOON + 2 * DAY, "y", 60).unwrap_err();
    assert_eq!(
        (r.window, r.used, r.resets_at.as_str()),
        (BudgetWindow::Monthly, 200, "2026-12-01T00:00:00Z")
    );
    assert!(reserve(&mut l, NOON + 2 * DAY, "z", 50).is_ok());
}

#[test]
fn a_monthly_refusal_counts_what_reservations_hold() {
    // Daily room is plenty; the month is nearly used, and a held reservation tips it over.
    let limits = Limits::tokens(100, 120);
    let mut l = UsageLedger::default();
    l.reserve(NOON, "a", exact(80), TTL, limits, NONE).unwrap();
    l.settle(NOON, "a", Amount::tokens(80), limits, NONE);
    let next_day = NOON + DAY;
    l.reserve(next_day, "held", exact(30), TTL, limits, NONE)
        .unwrap();
    let r = l
        .reserve(next_day, "b", exact(20), TTL, limits, NONE)
        .unwrap_err();
    assert_eq!(
        (r.window, r.unit, r.limit, r.used, r.requested),
        (BudgetWindow::Monthly, Unit::Tokens, 120, 110, 20)
    );
    assert!(l
        .reserve(next_day, "c", exact(10), TTL, limits, NONE)
        .is_ok());
}

#[test]
fn a_new_day_and_month_start_at_zero() {
    let mut l = UsageLedger::default();
    reserve(&mut l, NOON, "a", 100).unwrap();
    l.settle(NOON, "a", Amount::tokens(100), LIMITS, NONE);
    assert!(reserve(&mut l, NOON, "b", 1).is_err());
    assert!(reserve(&mut l, NOON + DAY, "b", 100).is_ok());
    let next_month = NOON + 9 * DAY; // 2026-12-01
    l.settle(
        next_month,
        "b",
        Amount {
            tokens: 100,
            micros: 7,
        },
        LIMITS,
        NONE,
    );
    assert_eq!((l.day_used, l.month_used), (100, 100));
    assert_eq!((l.day_micros, l.month_micros), (7, 7));
}

#[test]
fn stale_reservations_expire() {
    let mut l = UsageLedger::default();
    reserve(&mut l, NOON, "lost", 100).unwrap();
    assert!(
        reserve(&mut l, NOON + TTL - 1, "b", 1).is_err(),
        "still held just before expiry"
    );
    assert!(
        reserve(&mut l, NOON + TTL, "b", 1).is_ok(),
        "released at expiry"
    );
    // Settling an expired reservation still counts the usage.
    l.settle(NOON + 2 * TTL, "lost", Amount::tokens(30), LIMITS, NONE);
    assert_eq!(l.day_used, 30);
}

#[test]
fn usage_beyond_the_reservation_is_counted_and_remaining_never_negative() {
    let mut l = UsageLedger::default();
    reserve(&mut l, NOON, "a", 90).unwrap();
    assert_eq!(
        l.settle(NOON, "a", Amount::tokens(130), LIMITS, NONE),
        tokens(0, 120)
    );
    assert_eq!(l.day_used, 130);
}

#[test]
fn external_usage_counts_against_the_limits() {
    let mut l = UsageLedger::default();
    let ext = External {
        daily: Amount::tokens(70),
        monthly: Amount::tokens(70),
    };
    let r = l
        .reserve(NOON, "a", exact(31), TTL, LIMITS, ext)
        .unwrap_err();
    assert_eq!(r.used, 70);
    assert_eq!(
        l.reserve(NOON, "a", exact(30), TTL, LIMITS, ext)
            .map(|a| a.remaining),
        Ok(tokens(0, 150))
    );
}

#[test]
fn concurrent_reservations_never_admit_more_than_the_limit() {
    let mut l = UsageLedger::default();
    let admitted: u64 = (0..50)
        .filter_map(|i| reserve(&mut l, NOON, &i.to_string(), 7).ok().map(|_| 7))
        .sum();
    assert_eq!(admitted, 98, "14 of 50 fit in 100");
}

#[test]
fn shrink_to_fit_reserves_what_is_left_down_to_the_floor() {
    let limits = Limits::tokens(1100, 100_000);
    let mut l = UsageLedger::default();
    let ask = Demand {
        prompt: 20,
        output: 1024,
        min_output: 64,
        price: Price::default(),
    };
    let a = l.reserve(NOON, "a", ask, TTL, limits, NONE).unwrap();
    assert_eq!((a.output, a.amount.tokens), (1024, 1044));
    l.settle(NOON, "a", Amount::tokens(68), limits, NONE);
    // 1032 left: the whole cap no longer fits; what is left after the prompt does.
    let b = l.reserve(NOON, "b", ask, TTL, limits, NONE).unwrap();
    assert_eq!((b.output, b.amount.tokens), (1012, 1032));
    assert_eq!(b.remaining.daily.tokens, 0);
    l.settle(NOON, "b", Amount::tokens(1000), limits, NONE);
    // 32 left: below prompt + floor (84): refused, naming the least the request needed.
    let r = l.reserve(NOON, "c", ask, TTL, limits, NONE).unwrap_err();
    assert_eq!((r.used, r.requested), (1068, 84));
}

#[test]
fn cost_limits_admit_refuse_and_shrink_in_micro_dollars() {
    let limits = Limits {
        daily: Amount {
            tokens: UNLIMITED,
            micros: 1_000,
        },
        monthly: Amount {
            tokens: UNLIMITED,
            micros: 20_000,
        },
    };
    // $1 per M input tokens, $2 per M output tokens.
    let ask = Demand {
        prompt: 100,
        output: 400,
        min_output: 64,
        price: Price {
            input: 1_000_000,
            output: 2_000_000,
        },
    };
    let mut l = UsageLedger::default();
    let a = l.reserve(NOON, "a", ask, TTL, limits, NONE).unwrap();
    assert_eq!((a.output, a.amount.micros), (400, 900));
    assert_eq!(a.remaining.daily.micros, 100);
    let r = l.reserve(NOON, "b", ask, TTL, limits, NONE).unwrap_err();
    assert_eq!(
        (r.window, r.unit, r.limit, r.used, r.requested),
        (BudgetWindow::Daily, Unit::Usd, 1_000, 900, 228)
    );
    l.settle(
        NOON,
        "a",
        Amount {
            tokens: 150,
            micros: 200,
        },
        limits,
        NONE,
    );
    // 800 micro-dollars left: 100 for the prompt, 350 output tokens for the rest.
    let b = l.reserve(NOON, "b", ask, TTL, limits, NONE).unwrap();
    assert_eq!((b.output, b.amount.micros), (350, 800));
}

#[test]
fn ledgers_stored_before_cost_budgets_still_read() {
    let old = r#"{"day":20414,"day_used":5,"month":670,"month_used":9,
        "reservations":[{"id":"a","amount":3,"expires_at_ms":1}]}"#;
    let l: UsageLedger = serde_json::from_str(old).unwrap();
    assert_eq!((l.day_used, l.day_micros, l.month_used), (5, 0, 9));
    assert_eq!(l.reservations[0].held(), Amount::tokens(3));
    let mut l2 = l.clone();
    l2.reserve(NOON, "b", exact(1), TTL, LIMITS, NONE).unwrap();
    let s = serde_json::to_string(&l2).unwrap();
    assert_eq!(serde_json::from_str::<UsageLedger>(&s).unwrap(), l2);
}

#[test]
fn a_refusal_names_the_unit_that_overruns_not_one_that_fills_exactly() {
    let limits = Limits {
        daily: Amount {
            tokens: 1_000,
            micros: 1_000,
        },
        monthly: Amount::UNLIMITED,
    };
    let ask = Demand {
        prompt: 100,
        output: 400,
        min_output: 400,
        price: Price {
            input: 1_000_000,
            output: 2_000_000,
        },
    };
    let mut l = UsageLedger::default();
    let used = Amount {
        tokens: 500,
        micros: 200,
    };
    l.settle(NOON, "earlier", used, limits, NONE);
    // 500 + 500 tokens fill the daily token limit exactly; 200 + 900 micro-dollars overrun.
    let r = l.reserve(NOON, "a", ask, TTL, limits, NONE).unwrap_err();
    assert_eq!(
        (r.window, r.unit, r.limit, r.used, r.requested),
        (BudgetWindow::Daily, Unit::Usd, 1_000, 200, 900)
    );
}
