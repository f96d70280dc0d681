//! Budget leases on the isolate side: requests are admitted from a block of a Durable Object
//! ledger's budget held by this isolate, and their usage is reported in the background, so the
//! exact ledger is off the hot path (`budget::lease` has the rules and why they stay exact).

use std::cell::RefCell;
use std::collections::HashMap;

use budget::lease::LEASE_MIN_REQUESTS_LEFT;
use budget::{Limits, Remaining};
use std::time::Duration;

use worker::{Delay, Env};

use crate::budget_store::DoLedger;
use crate::clock::now_ms;

/// How long a report waits for more usage to carry.
const REPORT_GATHER_MS: u64 = 50;

/// A lease stops admitting this long before it expires, so its reports arrive in time.
const EXPIRY_MARGIN_MS: u64 = 10_000;

/// A new lease is asked for (in the background) once the current one is this far used or
/// this close to its margin, so requests rarely find no lease and fall back to the ledger.
const RENEW_AT_PERCENT: u64 = 50;
const RENEW_BEFORE_MARGIN_MS: u64 = 10_000;

struct LocalLease {
    id: String,
    granted: u64,
    /// Reserved by requests in flight plus used by finished ones.
    committed: u64,
    /// What remained outside the lease when it was granted.
    outside: Remaining,
    expires_at_ms: u64,
    /// Whether its successor was asked for already (once per lease: a refusal near the limit
    /// must not turn every request into a ledger call).
    renewing: bool,
}

#[derive(Default)]
struct LedgerState {
    lease: Option<LocalLease>,
    /// Usage per lease id not yet reported.
    pending: HashMap<String, u64>,
    /// Requests admitted from each lease and not settled yet.
    in_flight: HashMap<String, u32>,
    /// Leases replaced or expired here, given back once their requests have settled: until
    /// then the ledger still holds them, so a request in flight keeps its reservation.
    retiring: Vec<String>,
    /// Leases to give back now, with their unreported usage.
    to_release: Vec<String>,
    reporting: bool,
    acquiring: bool,
}

thread_local! {
    static LEDGERS: RefCell<HashMap<String, LedgerState>> = RefCell::new(HashMap::new());
}

fn with<T>(name: &str, f: impl FnOnce(&mut LedgerState) -> T) -> T {
    LEDGERS.with(|l| f(l.borrow_mut().entry(name.to_string()).or_default()))
}

/// Sets the flag `flag` picks and says whether this caller set it (single flight per isolate).
fn claim(name: &str, flag: fn(&mut LedgerState) -> &mut bool) -> bool {
    with(name, |s| !std::mem::replace(flag(s), true))
}

fn estimate(l: &LocalLease) -> Remaining {
    let inside = l.granted.saturating_sub(l.committed);
    Remaining {
        daily: l.outside.daily + inside,
        monthly: l.outside.monthly + inside,
    }
}

/// A request admitted from a lease.
pub struct Admitted {
    pub lease_id: String,
    /// An estimate of what remains.
    pub remaining: Remaining,
    /// The lease is running out: ask for the next one now (`acquire`, in the background).
    pub renew: bool,
}

/// Admits `amount` from this isolate's lease on ledger `name`, if it has room.
pub fn admit(name: &str, amount: u64) -> Option<Admitted> {
    let now = now_ms();
    with(name, |s| {
        let l = s.lease.as_mut()?;
        let stop_at = l.expires_at_ms.saturating_sub(EXPIRY_MARGIN_MS);
        if stop_at <= now || l.committed + amount > l.granted {
            return None;
        }
        l.committed += amount;
        let running_out = l.committed * 100 >= l.granted * RENEW_AT_PERCENT
            || stop_at.saturating_sub(now) <= RENEW_BEFORE_MARGIN_MS;
        let renew = running_out && !l.renewing && !s.acquiring;
        l.renewing |= renew;
        let admitted = Admitted {
            lease_id: l.id.clone(),
            remaining: estimate(l),
            renew,
        };
        *s.in_flight.entry(admitted.lease_id.clone()).or_default() += 1;
        Some(admitted)
    })
}

/// Settles a request admitted from lease `lease_id`: its reservation becomes its usage.
pub fn settle(name: &str, lease_id: &str, reserved: u64, actual: u64) -> Option<Remaining> {
    with(name, |s| {
        *s.pending.entry(lease_id.to_string()).or_default() += actual;
        if let Some(n) = s.in_flight.get_mut(lease_id) {
            *n = n.saturating_sub(1);
        }
        let l = s.lease.as_mut().filter(|l| l.id == lease_id)?;
        l.committed = (l.committed + actual).saturating_sub(reserved);
        Some(estimate(l))
    })
}

/// Whether a lease is worth asking for after a plain reservation left `remaining`.
pub fn worth_leasing(name: &str, remaining: Remaining, amount: u64) -> bool {
    let far = remaining.daily.min(remaining.monthly) / amount.max(1) >= LEASE_MIN_REQUESTS_LEFT;
    far && with(name, |s| !s.acquiring)
}

/// Gets a new lease for ledger `name` (the old one, if any, is given back with its usage).
/// Runs in the background (`waitUntil`); concurrent calls in one isolate ask once.
pub async fn acquire(env: &Env, name: &str, amount: u64, limits: Limits) {
    if !claim(name, |s| &mut s.acquiring) {
        return;
    }
    let Ok(ledger) = DoLedger::open(env, name) else {
        with(name, |s| s.acquiring = false);
        return;
    };
    let id = uuid::Uuid::new_v4().to_string();
    let grant = ledger.lease(now_ms() as i64, &id, amount, limits).await;
    with(name, |s| {
        s.acquiring = false;
        if let Ok(Some(g)) = grant {
            if let Some(old) = s.lease.take() {
                s.retiring.push(old.id);
            }
            s.lease = Some(LocalLease {
                id,
                granted: g.granted,
                committed: 0,
                outside: g.remaining,
                expires_at_ms: u64::try_from(g.expires_at_ms).unwrap_or(0),
                renewing: false,
            });
        }
    });
    report(env, name, limits).await;
}

/// Reports pending usage and gives back replaced leases. One reporter per ledger and isolate
/// at a time; usage settled meanwhile goes with its next round.
pub async fn report(env: &Env, name: &str, limits: Limits) {
    if !claim(name, |s| &mut s.reporting) {
        return;
    }
    let Ok(ledger) = DoLedger::open(env, name) else {
        with(name, |s| s.reporting = false);
        return;
    };
    // Let the usage of requests finishing around now join this report: one ledger call for
    // many requests.
    Delay::from(Duration::from_millis(REPORT_GATHER_MS)).await;
    loop {
        // A lease past its TTL is given back too (its usage still counts).
        let now = now_ms();
        let work: Vec<(String, u64, bool)> = with(name, |s| {
            if s.lease.as_ref().is_some_and(|l| l.expires_at_ms <= now) {
                if let Some(old) = s.lease.take() {
                    s.retiring.push(old.id);
                }
            }
            // A retiring lease is given back once its last request has settled.
            let (drained, busy): (Vec<String>, Vec<String>) = std::mem::take(&mut s.retiring)
                .into_iter()
                .partition(|id| s.in_flight.get(id).is_none_or(|n| *n == 0));
            s.retiring = busy;
            for id in &drained {
                s.in_flight.remove(id);
            }
            s.to_release.extend(drained);
            let release: Vec<String> = std::mem::take(&mut s.to_release);
            let mut work: Vec<(String, u64, bool)> = s
                .pending
                .drain()
                .map(|(id, used)| {
                    let rel = release.contains(&id);
                    (id, used, rel)
                })
                .collect();
            for id in release {
                if !work.iter().any(|(w, _, _)| *w == id) {
                    work.push((id, 0, true));
                }
            }
            work
        });
        if work.is_empty() {
            with(name, |s| s.reporting = false);
            return;
        }
        for (id, used, release) in work {
            if ledger
                .report(now as i64, &id, used, release, limits)
                .await
                .is_err()
            {
                // Keep the usage for the next round rather than lose it.
                with(name, |s| *s.pending.entry(id).or_default() += used);
                with(name, |s| s.reporting = false);
                return;
            }
        }
    }
}
