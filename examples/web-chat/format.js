// Formatting helpers for the demo page. Plain functions without DOM access, so the browser
// test can import this module in Node and check them directly.

/**
 * A wait in seconds as people read it: "42 s", "1 min 30 s", "25 min", "9 h 13 min", "2 d 5 h".
 * Rounded up to the unit shown, so "try again in ..." is never too early.
 */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.ceil(Number(seconds) || 0));
  if (s < 60) return `${s} s`;
  if (s < 600) {
    const m = Math.floor(s / 60);
    const rest = s % 60;
    return rest ? `${m} min ${rest} s` : `${m} min`;
  }
  const mins = Math.ceil(s / 60);
  if (mins < 60) return `${mins} min`;
  if (mins < 24 * 60) {
    const h = Math.floor(mins / 60);
    const m = mins % 60;
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const hours = Math.ceil(s / 3600);
  const d = Math.floor(hours / 24);
  const h = hours % 24;
  return h ? `${d} d ${h} h` : `${d} d`;
}

/**
 * When a reset happens, in the reader's time zone: "at 01:00" today, "on 1 Dec at 01:00" on
 * another day. `null` for a date that does not parse.
 */
export function formatResetTime(resetsAt, now = new Date(), locale = undefined) {
  const at = new Date(resetsAt);
  if (Number.isNaN(at.getTime())) return null;
  const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(at);
  if (at.toDateString() === now.toDateString()) return `at ${time}`;
  const day = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short" }).format(at);
  return `on ${day} at ${time}`;
}

/**
 * The seconds to wait from a 429 answer: the body's `budget.retryAfterSecs` when present, else
 * the `retry-after` header (delta-seconds or an HTTP date). `null` when neither says.
 */
export function retryAfterSeconds(retryAfterHeader, budget, now = Date.now()) {
  if (Number.isFinite(budget?.retryAfterSecs)) return budget.retryAfterSecs;
  if (retryAfterHeader == null || retryAfterHeader === "") return null;
  const n = Number(retryAfterHeader);
  if (Number.isFinite(n)) return Math.max(0, n);
  const date = Date.parse(retryAfterHeader);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}
