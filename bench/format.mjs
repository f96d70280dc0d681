// Number formats and Markdown tables for bench/run.mjs's report (report.mjs, report-do.mjs).
const none = (v) => v === undefined || v === null || Number.isNaN(v);
export const ms = (v) => (none(v) ? "–" : v < 10 ? v.toFixed(2) : v.toFixed(1));
export const num = (v) => (none(v) ? "–" : Math.round(v).toLocaleString("en-US"));
export const one = (v) => (none(v) ? "–" : v.toFixed(1));
export const signed = (v, f = num) => (none(v) ? "–" : `${v >= 0 ? "+" : "−"}${f(Math.abs(v))}`);
export const times = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : "–");
export const pct = (a, b) => (a && b ? `${Math.round((100 * a) / b)} %` : "–");

export function table(head, rows) {
  return [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}
