//! Tests of the isolate side of leases: admission, renewal, lowered limits, draining, reports.

use super::*;
use crate::amount::UNLIMITED;

const NOW: i64 = 1_795_348_800_000;
const BIG: Limits = Limits::tokens(1_000_000, 10_000_000);

fn t(n: u64) -> Amount {
    Amount::tokens(n)
}

fn grant(tokens: u64, expires_at_ms: i64) -> LeaseGrant {
    let outside = Amount {
        tokens: 5000,
        micros: UNLIMITED,
    };
    LeaseGrant {
        granted: t(tokens),
        expires_at_ms,
        remaining: Remaining {
            daily: outside,
            monthly: outside,
        },
    }
}

fn book_with(tokens: u64, limits: Limits) -> LeaseBook {
    let mut b = LeaseBook::default();
    assert!(b.start_acquire());
    b.finish_acquire("L1".into(), Some(grant(tokens, NOW + 60_000)), limits);
    b
}

#[test]
fn admits_within_the_lease_and_asks_for_a_successor_once_at_half_use() {
    let mut b = book_with(1000, BIG);
    let a = b.admit(NOW, t(300), BIG).unwrap();
    assert_eq!((a.lease_id.as_str(), a.renew), ("L1", false));
    assert_eq!(a.remaining.daily.tokens, 5000 + 700);
    let a = b.admit(NOW, t(200), BIG).unwrap();
    assert!(a.renew, "500 of 1000: half used");
    let a = b.admit(NOW, t(400), BIG).unwrap();
    assert!(!a.renew, "asked once per lease");
    assert_eq!(b.admit(NOW, t(101), BIG), None, "900 + 101 > 1000");
    assert!(b.admit(NOW, t(100), BIG).is_some(), "exactly full");
}

#[test]
fn a_successor_is_not_asked_for_while_an_acquisition_runs() {
    let mut b = book_with(1000, BIG);
    assert!(b.start_acquire());
    assert!(!b.start_acquire(), "single flight");
    assert!(!b.admit(NOW, t(600), BIG).unwrap().renew);
    assert!(!b.worth_leasing(
        Remaining {
            daily: t(1 << 40),
            monthly: t(1 << 40)
        },
        t(1)
    ));
}

#[test]
fn settling_replaces_the_reservation_with_the_usage() {
    let mut b = book_with(1000, BIG);
    b.admit(NOW, t(300), BIG).unwrap();
    let r = b.settle("L1", t(300), t(120)).unwrap();
    assert_eq!(r.daily.tokens, 5000 + 880);
    assert!(b.admit(NOW, t(880), BIG).is_some());
    // A settlement for a lease that is no longer current counts its usage, estimates nothing.
    assert_eq!(b.settle("old", t(5), t(5)), None);
}

#[test]
fn the_lease_stops_admitting_near_its_expiry_and_renews_before() {
    let mut b = book_with(1000, BIG);
    let expires = NOW + 60_000;
    let near = expires - EXPIRY_MARGIN_MS - RENEW_BEFORE_MARGIN_MS;
    assert!(!b.admit(near - 1, t(1), BIG).unwrap().renew);
    assert!(
        b.admit(near, t(1), BIG).unwrap().renew,
        "close to the margin"
    );
    assert!(b.admit(expires - EXPIRY_MARGIN_MS - 1, t(1), BIG).is_some());
    assert_eq!(b.admit(expires - EXPIRY_MARGIN_MS, t(1), BIG), None);
}

#[test]
fn a_request_with_tighter_limits_retires_the_lease_and_goes_to_the_ledger() {
    let mut b = book_with(1000, BIG);
    let a = b.admit(NOW, t(10), BIG).unwrap();
    let lowered = Limits::tokens(300, 9300);
    assert_eq!(b.admit(NOW, t(10), lowered), None);
    assert_eq!(b.lease_id(), None, "retired");
    assert_eq!(b.admit(NOW, t(10), BIG), None, "no lease any more");
    // Retired, it is given back only once its request has settled.
    assert!(b.start_report());
    assert_eq!(b.take_reports(NOW), vec![]);
    assert!(b.start_report());
    b.settle(&a.lease_id, t(10), t(7));
    assert_eq!(
        b.take_reports(NOW),
        vec![Report {
            lease_id: "L1".into(),
            used: t(7),
            release: true
        }]
    );
    // Looser or equal limits may use a lease sized for tighter ones.
    let mut b = book_with(1000, lowered);
    assert!(b.admit(NOW, t(10), BIG).is_some());
    assert!(b.admit(NOW, t(10), lowered).is_some());
}

#[test]
fn a_replaced_lease_is_given_back_after_its_last_request_settles() {
    let mut b = book_with(1000, BIG);
    let a = b.admit(NOW, t(100), BIG).unwrap();
    assert!(b.start_acquire());
    b.finish_acquire("L2".into(), Some(grant(1000, NOW + 60_000)), BIG);
    assert_eq!(b.lease_id(), Some("L2"));
    assert!(b.start_report());
    assert_eq!(
        b.take_reports(NOW),
        vec![],
        "L1 still has a request in flight"
    );
    assert!(b.start_report());
    assert!(!b.start_report(), "one reporter at a time");
    b.settle(&a.lease_id, t(100), t(40));
    assert_eq!(
        b.take_reports(NOW),
        vec![Report {
            lease_id: "L1".into(),
            used: t(40),
            release: true
        }]
    );
    assert_eq!(
        b.take_reports(NOW),
        vec![],
        "nothing left: the reporter ends"
    );
    assert!(!b.is_idle(), "L2 is current");
    assert!(b.start_report());
    assert_eq!(
        b.take_reports(NOW + 60_000).len(),
        1,
        "L2 expired: given back"
    );
    assert!(!b.is_idle(), "its reporter still runs");
    assert_eq!(b.take_reports(NOW + 60_000), vec![]);
    assert!(b.is_idle());
    assert!(LeaseBook::default().is_idle());
}

#[test]
fn an_expired_lease_is_released_and_a_refused_acquisition_keeps_the_old_one() {
    let mut b = book_with(1000, BIG);
    assert!(b.start_acquire());
    b.finish_acquire("L2".into(), None, BIG);
    assert_eq!(b.lease_id(), Some("L1"));
    assert!(b.start_acquire(), "the acquisition ended");
    b.finish_acquire("L3".into(), None, BIG);
    assert!(b.start_report());
    assert_eq!(
        b.take_reports(NOW + 60_000),
        vec![Report {
            lease_id: "L1".into(),
            used: Amount::ZERO,
            release: true
        }]
    );
    assert_eq!(b.lease_id(), None);
}

#[test]
fn a_failed_report_keeps_its_usage_and_its_release_for_the_next_round() {
    let mut b = book_with(1000, BIG);
    let a = b.admit(NOW, t(100), BIG).unwrap();
    b.settle(&a.lease_id, t(100), t(60));
    assert!(b.start_report());
    let round = b.take_reports(NOW);
    assert_eq!(round.len(), 1);
    b.report_failed(round[0].clone());
    assert!(b.start_report(), "the failed reporter ended");
    let a = b.admit(NOW, t(10), BIG).unwrap();
    b.settle(&a.lease_id, t(10), t(5));
    assert_eq!(
        b.take_reports(NOW),
        vec![Report {
            lease_id: "L1".into(),
            used: t(65),
            release: false
        }]
    );
    let release = Report {
        lease_id: "L0".into(),
        used: t(1),
        release: true,
    };
    b.report_failed(release.clone());
    assert!(b.start_report());
    assert_eq!(b.take_reports(NOW), vec![release]);
}

#[test]
fn leasing_is_worth_it_only_far_from_every_limit() {
    let b = LeaseBook::default();
    let room = |tokens, micros| Remaining {
        daily: Amount { tokens, micros },
        monthly: Amount { tokens, micros },
    };
    assert!(b.worth_leasing(room(1024 * 100, UNLIMITED), t(100)));
    assert!(!b.worth_leasing(room(1024 * 100 - 1, UNLIMITED), t(100)));
    let priced = Amount {
        tokens: 100,
        micros: 10,
    };
    assert!(b.worth_leasing(room(UNLIMITED, 10_240), priced));
    assert!(!b.worth_leasing(room(UNLIMITED, 10_239), priced));
    assert!(
        b.worth_leasing(room(UNLIMITED, 0), t(1)),
        "a free request: no cost part"
    );
}

#[test]
fn cost_leases_admit_within_both_units() {
    let mut b = LeaseBook::default();
    assert!(b.start_acquire());
    let mut g = grant(10_000, NOW + 60_000);
    g.granted.micros = 100;
    b.finish_acquire("L1".into(), Some(g), BIG);
    let ask = Amount {
        tokens: 10,
        micros: 60,
    };
    assert!(
        b.admit(NOW, ask, BIG).unwrap().renew,
        "60 of 100 micro-dollars"
    );
    assert_eq!(b.admit(NOW, ask, BIG), None, "120 > 100 micro-dollars");
}

#[test]
fn a_unit_the_lease_does_not_hold_never_counts_as_running_out() {
    // A lease of micro-dollars only (no tokens granted): 10 % used is not half used.
    let mut b = LeaseBook::default();
    assert!(b.start_acquire());
    let cost_only = Amount {
        tokens: 0,
        micros: 1_000,
    };
    let g = LeaseGrant {
        granted: cost_only,
        ..grant(0, NOW + 60_000)
    };
    b.finish_acquire("L1".into(), Some(g), BIG);
    let a = b
        .admit(
            NOW,
            Amount {
                tokens: 0,
                micros: 100,
            },
            BIG,
        )
        .unwrap();
    assert!(!a.renew);
    let a = b
        .admit(
            NOW,
            Amount {
                tokens: 0,
                micros: 400,
            },
            BIG,
        )
        .unwrap();
    assert!(a.renew, "500 of 1000 micro-dollars: half used");
}
