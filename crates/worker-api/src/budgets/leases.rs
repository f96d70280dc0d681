//! Budget leases on the isolate side: one `budget::book::LeaseBook` per Durable Object ledger
//! (the rules: admission, renewal, draining), and the I/O it asks for (acquire, report).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use budget::book::{Admitted, LeaseBook};
use budget::{Amount, Limits, Remaining};
use worker::{Delay, Env};

use crate::budgets::store::DoLedger;
use crate::clock::now_ms;

/// How long a report waits for more usage to carry: one ledger call for many requests.
const REPORT_GATHER_MS: u64 = 50;

/// The most ledgers an isolate keeps books for (key and user ledgers come and go).
const MAX_BOOKS: usize = 10_000;

thread_local! {
    static BOOKS: RefCell<HashMap<String, LeaseBook>> = RefCell::new(HashMap::new());
}

fn with<T>(name: &str, f: impl FnOnce(&mut LeaseBook) -> T) -> T {
    BOOKS.with(|b| {
        let mut books = b.borrow_mut();
        if books.len() >= MAX_BOOKS && !books.contains_key(name) {
            // An idle book holds nothing that must be reported or given back.
            books.retain(|_, book| !book.is_idle());
        }
        f(books.entry(name.to_string()).or_default())
    })
}

fn now_i64() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}

/// What admitting from a lease came to.
pub enum FromLease {
    Admitted(Admitted),
    /// No lease, or no room in it: reserve in the ledger.
    NoRoom,
    /// The request's limits are tighter than those the lease was sized for: the lease was
    /// retired (report it, so the ledger gets it back once drained); reserve in the ledger.
    Retired,
}

/// Admits `amount` under `limits` from this isolate's lease on ledger `name`, if it has room.
pub fn admit(name: &str, now_ms: i64, amount: Amount, limits: Limits) -> FromLease {
    with(name, |b| {
        let had = b.lease_id().is_some();
        match b.admit(now_ms, amount, limits) {
            Some(a) => FromLease::Admitted(a),
            None if had && b.lease_id().is_none() => FromLease::Retired,
            None => FromLease::NoRoom,
        }
    })
}

/// Settles a request admitted from lease `lease_id`.
pub fn settle(name: &str, lease_id: &str, reserved: Amount, actual: Amount) -> Option<Remaining> {
    with(name, |b| b.settle(lease_id, reserved, actual))
}

/// Whether a lease is worth asking for after a plain reservation left `remaining`.
pub fn worth_leasing(name: &str, remaining: Remaining, amount: Amount) -> bool {
    with(name, |b| b.worth_leasing(remaining, amount))
}

/// Gets a new lease for ledger `name` (the old one retires and is given back once drained).
/// Runs in the background (`waitUntil`); concurrent calls in one isolate ask once.
pub async fn acquire(env: &Env, name: &str, amount: Amount, limits: Limits) {
    if !with(name, LeaseBook::start_acquire) {
        return;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let grant = match DoLedger::open(env, name) {
        Ok(ledger) => ledger
            .lease(now_i64(), &id, amount, limits)
            .await
            .ok()
            .flatten(),
        Err(_) => None,
    };
    with(name, |b| b.finish_acquire(id, grant, limits));
    report(env, name, limits).await;
}

/// Reports pending usage and gives back drained leases. One reporter per ledger and isolate
/// at a time; usage settled meanwhile goes with its next round.
pub async fn report(env: &Env, name: &str, limits: Limits) {
    if !with(name, LeaseBook::start_report) {
        return;
    }
    let Ok(ledger) = DoLedger::open(env, name) else {
        with(name, |b| {
            for r in b.take_reports(now_i64()) {
                b.report_failed(r);
            }
        });
        return;
    };
    loop {
        // Every round gathers for the same time, not only the first: without this wait, a
        // busy isolate sent a report per ledger round trip (57 to 83 per 1,000 requests in
        // bench/run.mjs, now 10), each a load and save of the ledger.
        Delay::from(Duration::from_millis(REPORT_GATHER_MS)).await;
        let round = with(name, |b| b.take_reports(now_i64()));
        if round.is_empty() {
            return;
        }
        let mut unsent = round.into_iter();
        while let Some(r) = unsent.next() {
            let sent = ledger
                .report(now_i64(), &r.lease_id, r.used, r.release, limits)
                .await;
            if sent.is_err() {
                // Keep this and every later report of the round for the next one.
                with(name, |b| {
                    b.report_failed(r);
                    unsent.for_each(|rest| b.report_failed(rest));
                });
                return;
            }
        }
    }
}
