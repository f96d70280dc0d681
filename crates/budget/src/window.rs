//! Calendar windows in UTC: the day resets at 00:00 UTC, the month on the 1st at 00:00 UTC.

use serde::{Deserialize, Serialize};

const MS_PER_DAY: i64 = 86_400_000;

/// Which limit a figure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetWindow {
    Daily,
    Monthly,
}

impl std::fmt::Display for BudgetWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Daily => "daily",
            Self::Monthly => "monthly",
        })
    }
}

/// The windows an instant falls in: day and month numbers, and when each resets (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Days since 1970-01-01.
    pub day: i64,
    /// Months since 1970-01 (year * 12 + month - 1 - 1970 * 12).
    pub month: i64,
    pub day_resets_at_ms: i64,
    pub month_resets_at_ms: i64,
}

impl Windows {
    pub fn at(now_ms: i64) -> Self {
        let day = now_ms.div_euclid(MS_PER_DAY);
        let (y, m, _) = civil_from_days(day);
        let month = (y - 1970) * 12 + i64::from(m) - 1;
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        Self {
            day,
            month,
            day_resets_at_ms: (day + 1) * MS_PER_DAY,
            month_resets_at_ms: days_from_civil(ny, nm, 1) * MS_PER_DAY,
        }
    }

    pub fn resets_at_ms(&self, w: BudgetWindow) -> i64 {
        match w {
            BudgetWindow::Daily => self.day_resets_at_ms,
            BudgetWindow::Monthly => self.month_resets_at_ms,
        }
    }
}

/// Whole seconds from `now_ms` until `reset_ms`, rounded up, at least 1 (for `Retry-After`).
pub fn seconds_until(now_ms: i64, reset_ms: i64) -> u64 {
    let ms = (reset_ms - now_ms).max(1);
    u64::try_from((ms + 999) / 1000).unwrap_or(1)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for an instant.
pub fn iso8601(ms: i64) -> String {
    let day = ms.div_euclid(MS_PER_DAY);
    let secs = ms.rem_euclid(MS_PER_DAY) / 1000;
    let (y, m, d) = civil_from_days(day);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `YYYY-MM-DD` of a day (days since 1970-01-01).
pub fn day_string(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The day (days since 1970-01-01) of a `YYYY-MM-DD` date, if it is one (real month and day).
pub fn parse_day(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let day = days_from_civil(i64::from(y), m, d);
    // A day past the month's end would roll over into the next month.
    (civil_from_days(day) == (i64::from(y), m, d)).then_some(day)
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian (H. Hinnant's algorithm).
/// The first day of the month `day` (days since 1970-01-01) is in.
pub fn month_start(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    days_from_civil(y, m, 1)
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month 1-12, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i64, m: u32, d: u32, h: i64, mi: i64, s: i64) -> i64 {
        days_from_civil(y, m, d) * MS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1000
    }

    fn check(now: i64, day_reset: &str, month_reset: &str) {
        let w = Windows::at(now);
        assert_eq!(
            iso8601(w.day_resets_at_ms),
            day_reset,
            "day reset for {}",
            iso8601(now)
        );
        assert_eq!(
            iso8601(w.month_resets_at_ms),
            month_reset,
            "month reset for {}",
            iso8601(now)
        );
    }

    #[test]
    fn boundaries() {
        check(
            ms(2026, 11, 22, 12, 0, 0),
            "2026-11-23T00:00:00Z",
            "2026-12-01T00:00:00Z",
        );
        // The last second of a day, and the first of the next.
        check(
            ms(2026, 11, 22, 23, 59, 59),
            "2026-11-23T00:00:00Z",
            "2026-12-01T00:00:00Z",
        );
        check(
            ms(2026, 11, 23, 0, 0, 0),
            "2026-11-24T00:00:00Z",
            "2026-12-01T00:00:00Z",
        );
        // The last second of a month and of a year.
        check(
            ms(2026, 11, 30, 23, 59, 59),
            "2026-12-01T00:00:00Z",
            "2026-12-01T00:00:00Z",
        );
        check(
            ms(2026, 12, 31, 23, 59, 59),
            "2027-01-01T00:00:00Z",
            "2027-01-01T00:00:00Z",
        );
        check(
            ms(2027, 1, 1, 0, 0, 0),
            "2027-01-02T00:00:00Z",
            "2027-02-01T00:00:00Z",
        );
        // Month lengths and leap years.
        check(
            ms(2028, 2, 28, 23, 59, 59),
            "2028-02-29T00:00:00Z",
            "2028-03-01T00:00:00Z",
        );
        check(
            ms(2028, 2, 29, 10, 0, 0),
            "2028-03-01T00:00:00Z",
            "2028-03-01T00:00:00Z",
        );
        check(
            ms(2027, 2, 28, 23, 59, 59),
            "2027-03-01T00:00:00Z",
            "2027-03-01T00:00:00Z",
        );
        check(
            ms(2100, 2, 28, 1, 0, 0),
            "2100-03-01T00:00:00Z",
            "2100-03-01T00:00:00Z",
        );
        check(
            ms(2000, 2, 29, 1, 0, 0),
            "2000-03-01T00:00:00Z",
            "2000-03-01T00:00:00Z",
        );
        check(
            ms(2026, 4, 30, 23, 59, 59),
            "2026-05-01T00:00:00Z",
            "2026-05-01T00:00:00Z",
        );
    }

    #[test]
    fn window_numbers_change_exactly_at_midnight() {
        let before = Windows::at(ms(2026, 11, 30, 23, 59, 59) + 999);
        let after = Windows::at(ms(2026, 12, 1, 0, 0, 0));
        assert_eq!(after.day, before.day + 1);
        assert_eq!(after.month, before.month + 1);
        assert_eq!(Windows::at(0).month, 0);
        assert_eq!(Windows::at(ms(1971, 1, 1, 0, 0, 0)).month, 12);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(seconds_until(0, 1), 1);
        assert_eq!(seconds_until(0, 1000), 1);
        assert_eq!(seconds_until(0, 1001), 2);
        assert_eq!(seconds_until(5000, 5000), 1);
        assert_eq!(
            seconds_until(ms(2026, 11, 22, 23, 59, 59), ms(2026, 11, 23, 0, 0, 0)),
            1
        );
    }

    #[test]
    fn month_start_is_the_first_of_the_month() {
        let d = |s: &str| parse_day(s).unwrap();
        assert_eq!(month_start(d("2026-12-05")), d("2026-12-01"));
        assert_eq!(month_start(d("2026-12-01")), d("2026-12-01"));
        assert_eq!(month_start(d("2024-02-29")), d("2024-02-01"));
        assert_eq!(month_start(d("2026-01-31")), d("2026-01-01"));
    }

    #[test]
    fn days_read_and_written_as_dates() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(20_791), "2026-12-04");
        assert_eq!(parse_day("2026-12-04"), Some(20_791));
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2024-02-29"), Some(19_782));
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026-1-01",
            "26-12-04",
            "2026/12/04",
            "2026-12/04",
            "2026/12-04",
            "2026-12-0x",
            "",
            "2026-12-041",
            "+026-12-04",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        for day in [-1, 0, 59, 365, 20_791, 100_000] {
            assert_eq!(parse_day(&day_string(day)), Some(day));
        }
    }

    #[test]
    fn instants_print_to_the_second_and_windows_by_name() {
        assert_eq!(
            iso8601(ms(2026, 11, 22, 13, 2, 3) + 456),
            "2026-11-22T13:02:03Z"
        );
        assert_eq!(
            iso8601(ms(1970, 1, 1, 0, 0, 59) + 999),
            "1970-01-01T00:00:59Z"
        );
        assert_eq!(
            (
                BudgetWindow::Daily.to_string(),
                BudgetWindow::Monthly.to_string()
            ),
            ("daily".to_string(), "monthly".to_string())
        );
    }
}
