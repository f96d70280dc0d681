//! Budget leases: an isolate holds a block of a ledger's budget and admits requests from it
//! locally, reporting what they used, so most requests need no call to the ledger.
//!
//! Exactness holds because a lease is held like a reservation: the ledger admits a lease or a
//! reservation only if everything used, every open reservation and every lease's unused part
//! fit under the limit, and an isolate admits from a lease only while its reservations fit in
//! it. A lease is granted only when it is a small part of what remains (`lease_size`), so near
//! the limit every request goes back to a plain reservation. A lease expires after its TTL: an
//! isolate that dies holding one makes at most that lease unavailable until then, and loses
//! the usage it had not reported yet.

use serde::{Deserialize, Serialize};

use crate::amount::{Amount, Limits, Remaining, UNLIMITED};
pub use crate::ledger::Lease;
use crate::ledger::{External, UsageLedger};

/// How long a lease lives.
pub const LEASE_TTL_MS: i64 = 60_000;
/// A lease is granted only when what remains is at least this many requests of the size asked.
pub const LEASE_MIN_REQUESTS_LEFT: u64 = 1024;
/// A lease holds at most this many requests of the size asked.
pub const LEASE_MAX_REQUESTS: u64 = 32;

/// The size of one unit of a lease for requests of `amount` when `remaining` is left: enough
/// for `LEASE_MAX_REQUESTS` requests, at most a 64th of what remains; `None` near the limit.
fn unit_size(remaining: u64, amount: u64) -> Option<u64> {
    let full = amount.saturating_mul(LEASE_MAX_REQUESTS);
    if remaining == UNLIMITED {
        return Some(full);
    }
    if remaining / amount.max(1) < LEASE_MIN_REQUESTS_LEFT {
        return None;
    }
    Some((remaining / 64).min(full))
}

/// The size of a lease for requests reserving `amount` when `remaining` is left (the room of
/// both windows): nothing when any unit is near its limit.
pub fn lease_size(remaining: Amount, amount: Amount) -> Option<Amount> {
    Some(Amount {
        tokens: unit_size(remaining.tokens, amount.tokens)?,
        micros: unit_size(remaining.micros, amount.micros)?,
    })
}

/// A lease granted: its size, expiry, and what remains outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseGrant {
    pub granted: Amount,
    pub expires_at_ms: i64,
    pub remaining: Remaining,
}

impl UsageLedger {
    /// Grants lease `id` for requests reserving `amount`, if the budget is far from its limit.
    pub fn grant_lease(
        &mut self,
        now_ms: i64,
        id: &str,
        amount: Amount,
        limits: Limits,
        external: External,
    ) -> Option<LeaseGrant> {
        self.roll(now_ms);
        let size = lease_size(self.remaining(limits, external).room(), amount)?;
        if size.tokens == 0 && size.micros == 0 {
            return None;
        }
        let expires_at_ms = now_ms + LEASE_TTL_MS;
        self.leases.push(Lease {
            id: id.to_string(),
            granted: size.tokens,
            used: 0,
            granted_micros: size.micros,
            used_micros: 0,
            expires_at_ms,
        });
        Some(LeaseGrant {
            granted: size,
            expires_at_ms,
            remaining: self.remaining(limits, external),
        })
    }

    /// Counts `used` spent under lease `id` (also when the lease has expired: what was spent is
    /// never lost) and, with `release`, gives back what it did not use.
    pub fn report_lease(
        &mut self,
        now_ms: i64,
        id: &str,
        used: Amount,
        release: bool,
        limits: Limits,
        external: External,
    ) -> Remaining {
        self.roll(now_ms);
        self.count(used);
        if let Some(l) = self.leases.iter_mut().find(|l| l.id == id) {
            l.used = l.used.saturating_add(used.tokens);
            l.used_micros = l.used_micros.saturating_add(used.micros);
        }
        if release {
            self.leases.retain(|l| l.id != id);
        }
        self.remaining(limits, external)
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
