// Pure helpers of the operator console (no DOM): exact USD arithmetic in integer micro-dollars, number and date formatting, UTC day windows. The e2e test imports them too.

/** A USD decimal string ("0.001234", "5", "-0.5" is refused) as integer micro-dollars; null for null/absent/invalid. */
export function micros(usd) {
  if (usd === null || usd === undefined) return null;
  const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(String(usd).trim());
  if (!m) return null;
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? "").padEnd(6, "0"));
}

/** Micro-dollars as dollars: "$0.0024", "$5.00", "$12.345678" (trailing zeros trimmed, at least 2 decimals, grouped). */
export function usd(microDollars) {
  if (microDollars === null || microDollars === undefined) return "unknown";
  const whole = Math.floor(microDollars / 1_000_000);
  let frac = String(microDollars % 1_000_000).padStart(6, "0").replace(/0+$/, "");
  if (frac.length < 2) frac = frac.padEnd(2, "0");
  return `$${whole.toLocaleString("en-US")}.${frac}`;
}

/** A count with thousands separators ("12,345"); "–" for null/undefined. */
export function count(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
}

/** A day number (days since 1970-01-01) as YYYY-MM-DD. */
export function dayString(day) {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** YYYY-MM-DD as a day number. */
export function dayNumber(s) {
  return Math.floor(Date.parse(`${s}T00:00:00Z`) / 86_400_000);
}

/**
 * The UTC windows the console asks for at `nowMs`: today, the last 30 days (today included)
 * and this calendar month so far, as YYYY-MM-DD strings.
 */
export function windows(nowMs = Date.now()) {
  const today = Math.floor(nowMs / 86_400_000);
  const t = dayString(today);
  return { today: t, from30: dayString(today - 29), monthStart: `${t.slice(0, 8)}01`, days30: Array.from({ length: 30 }, (_, i) => dayString(today - 29 + i)) };
}

/** Unix seconds as "2026-12-04 13:05 UTC"; "never" for null. */
export function when(unixS) {
  if (unixS === null || unixS === undefined) return "never";
  return `${new Date(unixS * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "1 token", "12,345 tokens". */
export function tokensText(n) {
  return `${count(n)} token${Number(n) === 1 ? "" : "s"}`;
}

/** A key's budget in words: "1,000 tokens/day, $2.00/day, 50,000 tokens/month"; "none". */
export function budgetText(b) {
  if (!b) return "none";
  const parts = [];
  if (b.daily != null) parts.push(`${tokensText(b.daily)}/day`);
  if (b.dailyUsd != null) parts.push(`${usd(micros(b.dailyUsd))}/day`);
  if (b.monthly != null) parts.push(`${tokensText(b.monthly)}/month`);
  if (b.monthlyUsd != null) parts.push(`${usd(micros(b.monthlyUsd))}/month`);
  return parts.length ? parts.join(", ") : "none";
}

/** The budget windows of a usage entry, in display order, with their units. */
export const WINDOWS = [
  { key: "daily", label: "Tokens today", unit: "tokens" },
  { key: "monthly", label: "Tokens this month", unit: "tokens" },
  { key: "dailyUsd", label: "Spend today", unit: "usd" },
  { key: "monthlyUsd", label: "Spend this month", unit: "usd" },
];

/** How full a window is (used / limit, 0..n); null when `used` is unknown (KV stores). */
export function fill(w, unit) {
  if (!w || w.used === null || w.used === undefined) return null;
  const used = unit === "usd" ? micros(w.used) : Number(w.used);
  const limit = unit === "usd" ? micros(w.limit) : Number(w.limit);
  return limit > 0 ? used / limit : null;
}

/** The fullest window of a usage entry (0 when none is known): how tight a budget is. */
export function tightness(entry) {
  return Math.max(0, ...WINDOWS.map((w) => fill(entry?.[w.key], w.unit) ?? 0));
}

/** A history row's tokens: `totalTokens`, or prompt + completion when it is absent. */
export function rowTokens(r) {
  return r.totalTokens ?? (r.promptTokens ?? 0) + (r.completionTokens ?? 0);
}

/**
 * History rows summed per group: `keyOf(row)` names the group; returns [{id, requests, errors,
 * prompt, completion, tokens, costMicros (null when every row's cost is unknown), unpriced}].
 */
export function sumRows(rows, keyOf) {
  const groups = new Map();
  for (const r of rows ?? []) {
    const id = keyOf(r);
    const g = groups.get(id) ?? { id, requests: 0, errors: 0, prompt: 0, completion: 0, tokens: 0, costMicros: null, unpriced: 0 };
    g.requests += r.requests ?? 0;
    g.errors += r.errors ?? 0;
    g.prompt += r.promptTokens ?? 0;
    g.completion += r.completionTokens ?? 0;
    g.tokens += rowTokens(r);
    g.unpriced += r.unpricedRequests ?? (r.costUsd === null ? r.requests ?? 0 : 0);
    const c = micros(r.costUsd);
    if (c !== null) g.costMicros = (g.costMicros ?? 0) + c;
    groups.set(id, g);
  }
  return [...groups.values()];
}

/** Groups ordered by cost, most first (unknown cost last), then by tokens. */
export function byCost(groups) {
  return [...groups].sort((a, b) => (b.costMicros ?? -1) - (a.costMicros ?? -1) || b.tokens - a.tokens || String(a.id).localeCompare(String(b.id)));
}

/**
 * The chart's data from `day,model` history rows over `days` (YYYY-MM-DD, oldest first): one
 * series per model that used tokens or cost something, with a value per day (0 when absent).
 */
export function chartData(rows, days) {
  const index = new Map(days.map((d, i) => [d, i]));
  const series = new Map();
  for (const r of rows ?? []) {
    const i = index.get(r.day);
    if (i === undefined) continue;
    const model = r.model ?? "";  // null: requests that reached no model (refused before)
    const s = series.get(model) ?? { model, tokens: days.map(() => 0), costMicros: days.map(() => 0) };
    s.tokens[i] += rowTokens(r);
    s.costMicros[i] += micros(r.costUsd) ?? 0;
    series.set(model, s);
  }
  const used = [...series.values()].filter((s) => s.tokens.some((n) => n > 0) || s.costMicros.some((n) => n > 0));
  return { days, series: used.sort((a, b) => a.model.localeCompare(b.model)) };
}
