//! The clock: the only place the worker reads the time.

/// Milliseconds since the Unix epoch. In Workers it advances across I/O, not during CPU work.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}
