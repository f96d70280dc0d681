//! `LeaseBook`: one isolate's leases on one ledger, the rules of admitting from them, renewing
//! them and giving them back. The worker keeps one per ledger and does the I/O it asks for.
//!
//! - A request is admitted from the current lease only while its reservation fits in what the
//!   lease has not committed, the lease is not within `EXPIRY_MARGIN_MS` of its expiry, and the
//!   request's limits are at least those the lease was granted under: a request whose limits
//!   are tighter (a lowered budget claim) goes to the ledger, and the lease is retired.
//! - At half use (or near its margin) the successor is asked for, once per lease.
//! - A replaced or expired lease is given back only after the last request admitted from it
//!   has settled, so a request in flight keeps its reservation in the ledger.

use std::collections::BTreeMap;

use crate::amount::{Amount, Limits, Remaining};
use crate::lease::{LeaseGrant, LEASE_MIN_REQUESTS_LEFT};

/// A lease stops admitting this long before it expires, so its reports arrive in time.
pub const EXPIRY_MARGIN_MS: i64 = 10_000;
/// The successor is asked for once the lease is this far used...
pub const RENEW_AT_PERCENT: u64 = 50;
/// ...or this close to its margin.
pub const RENEW_BEFORE_MARGIN_MS: i64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct HeldLease {
    id: String,
    granted: Amount,
    /// Reserved by requests in flight plus used by finished ones.
    committed: Amount,
    /// What remained outside the lease when it was granted.
    outside: Remaining,
    expires_at_ms: i64,
    /// The limits it was sized for.
    limits: Limits,
    /// Whether its successor was asked for already.
    renewing: bool,
}

impl HeldLease {
    fn estimate(&self) -> Remaining {
        let inside = self.granted.minus(self.committed);
        Remaining {
            daily: self.outside.daily.plus(inside),
            monthly: self.outside.monthly.plus(inside),
        }
    }
}

/// A request admitted from a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub lease_id: String,
    /// An estimate of what remains.
    pub remaining: Remaining,
    /// The lease is running out: ask for the next one now (in the background).
    pub renew: bool,
}

/// Usage to report for one lease, and whether to give the lease back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub lease_id: String,
    pub used: Amount,
    pub release: bool,
}

/// One isolate's leases on one ledger.
#[derive(Debug, Default, Clone)]
pub struct LeaseBook {
    lease: Option<HeldLease>,
    /// Usage per lease id not yet reported.
    pending: BTreeMap<String, Amount>,
    /// Requests admitted from each lease and not settled yet.
    in_flight: BTreeMap<String, u32>,
    /// Leases replaced, expired or retired here, given back once their requests settled.
    retiring: Vec<String>,
    reporting: bool,
    acquiring: bool,
}

impl LeaseBook {
    /// Admits `amount` under `limits` from the current lease, if it has room.
    pub fn admit(&mut self, now_ms: i64, amount: Amount, limits: Limits) -> Option<Admitted> {
        let l = self.lease.as_mut()?;
        if !limits.at_least(l.limits) {
            // Sized for looser limits: retire it, so the ledger gets it back once drained.
            if let Some(old) = self.lease.take() {
                self.retiring.push(old.id);
            }
            return None;
        }
        let stop_at = l.expires_at_ms.saturating_sub(EXPIRY_MARGIN_MS);
        if stop_at <= now_ms || !l.committed.plus(amount).fits_in(l.granted) {
            return None;
        }
        l.committed = l.committed.plus(amount);
        let half =
            |c: u64, g: u64| u128::from(c) * 100 >= u128::from(g) * u128::from(RENEW_AT_PERCENT);
        let running_out = (l.granted.tokens > 0 && half(l.committed.tokens, l.granted.tokens))
            || (l.granted.micros > 0 && half(l.committed.micros, l.granted.micros))
            || stop_at.saturating_sub(now_ms) <= RENEW_BEFORE_MARGIN_MS;
        let renew = running_out && !l.renewing && !self.acquiring;
        l.renewing |= renew;
        let admitted = Admitted {
            lease_id: l.id.clone(),
            remaining: l.estimate(),
            renew,
        };
        *self.in_flight.entry(admitted.lease_id.clone()).or_default() += 1;
        Some(admitted)
    }

    /// Settles a request admitted from `lease_id`: its reservation becomes its usage. The
    /// estimate of what remains, while that lease is still the current one.
    pub fn settle(
        &mut self,
        lease_id: &str,
        reserved: Amount,
        actual: Amount,
    ) -> Option<Remaining> {
        let pending = self.pending.entry(lease_id.to_string()).or_default();
        *pending = pending.plus(actual);
        if let Some(n) = self.in_flight.get_mut(lease_id) {
            *n = n.saturating_sub(1);
        }
        let l = self.lease.as_mut().filter(|l| l.id == lease_id)?;
        l.committed = l.committed.plus(actual).minus(reserved);
        Some(l.estimate())
    }

    /// Whether a lease is worth asking for after a plain reservation left `remaining`.
    pub fn worth_leasing(&self, remaining: Remaining, amount: Amount) -> bool {
        let room = remaining.room();
        let far = |left: u64, each: u64| each == 0 || left / each >= LEASE_MIN_REQUESTS_LEFT;
        far(room.tokens, amount.tokens) && far(room.micros, amount.micros) && !self.acquiring
    }

    /// Claims the one acquisition this isolate may run for the ledger; `false` when one runs.
    pub fn start_acquire(&mut self) -> bool {
        !std::mem::replace(&mut self.acquiring, true)
    }

    /// Ends an acquisition: a granted lease replaces the current one, which retires.
    pub fn finish_acquire(&mut self, id: String, grant: Option<LeaseGrant>, limits: Limits) {
        self.acquiring = false;
        let Some(g) = grant else { return };
        if let Some(old) = self.lease.take() {
            self.retiring.push(old.id);
        }
        self.lease = Some(HeldLease {
            id,
            granted: g.granted,
            committed: Amount::ZERO,
            outside: g.remaining,
            expires_at_ms: g.expires_at_ms,
            limits,
            renewing: false,
        });
    }

    /// Claims the one reporter this isolate may run for the ledger; `false` when one runs.
    pub fn start_report(&mut self) -> bool {
        !std::mem::replace(&mut self.reporting, true)
    }

    /// The next round of reports: pending usage, and the leases to give back (replaced,
    /// expired or retired ones whose requests have all settled). Empty ends the reporter.
    pub fn take_reports(&mut self, now_ms: i64) -> Vec<Report> {
        if self
            .lease
            .as_ref()
            .is_some_and(|l| l.expires_at_ms <= now_ms)
        {
            if let Some(old) = self.lease.take() {
                self.retiring.push(old.id);
            }
        }
        let in_flight = &self.in_flight;
        let (drained, busy): (Vec<String>, Vec<String>) = std::mem::take(&mut self.retiring)
            .into_iter()
            .partition(|id| in_flight.get(id).is_none_or(|n| *n == 0));
        self.retiring = busy;
        for id in &drained {
            self.in_flight.remove(id);
        }
        let mut reports: Vec<Report> = std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(lease_id, used)| Report {
                release: drained.contains(&lease_id),
                lease_id,
                used,
            })
            .collect();
        for id in drained {
            if !reports.iter().any(|r| r.lease_id == id) {
                reports.push(Report {
                    lease_id: id,
                    used: Amount::ZERO,
                    release: true,
                });
            }
        }
        if reports.is_empty() {
            self.reporting = false;
        }
        reports
    }

    /// A report that failed: its usage waits for the next round (a release is retried then
    /// too), and the reporter ends.
    pub fn report_failed(&mut self, failed: Report) {
        let pending = self.pending.entry(failed.lease_id.clone()).or_default();
        *pending = pending.plus(failed.used);
        if failed.release {
            self.retiring.push(failed.lease_id);
        }
        self.reporting = false;
    }

    /// The current lease's id, if any.
    pub fn lease_id(&self) -> Option<&str> {
        self.lease.as_ref().map(|l| l.id.as_str())
    }

    /// Whether the book holds nothing (no lease, nothing to report or give back, no work
    /// running): an isolate may forget it.
    pub fn is_idle(&self) -> bool {
        self.lease.is_none()
            && self.pending.is_empty()
            && self.retiring.is_empty()
            && self.in_flight.values().all(|n| *n == 0)
            && !self.reporting
            && !self.acquiring
    }
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
