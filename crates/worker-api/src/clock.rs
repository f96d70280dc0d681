//! The clock: the only place the worker reads the time.

/// Milliseconds since the Unix epoch. In Workers it advances across I/O, not during CPU work.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Today's UTC day, in days since 1970-01-01 (how usage history names days).
pub fn today() -> i64 {
    i64::try_from(now_ms() / 86_400_000).unwrap_or(i64::MAX)
}

/// Now as an ISO 8601 UTC timestamp (`2026-12-05T08:00:00.000Z`), how stored rows date things.
pub fn now_iso() -> String {
    js_sys::Date::new_0().to_iso_string().into()
}
