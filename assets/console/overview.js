// The overview: spend and tokens today and this month, every budget against its limit, the 30-day chart by model, top keys and users by cost, errors by kind and provider health; each part from its own API call, each failing on its own.
import { call, query } from "./api.js";
import { $, el, fillTable, showError } from "./dom.js";
import { drawCharts, clearCharts, modelLabel } from "./charts.js";
import { WINDOWS, byCost, chartData, count, fill, micros, rowTokens, sumRows, tightness, usd, windows } from "./format.js";

/** How many keys and users the budget and top lists show. */
const TOP_BUDGETS = 5;
const TOP_SPENDERS = 10;

const history = (params) => call("GET", `/admin/usage/history?${query(params)}`);

/** Loads and shows every part of the overview; resolves when all have answered. */
export async function loadOverview() {
  const w = windows();
  const [usage, days, keysMonth, usersMonth, statusMonth, keyList] = await Promise.allSettled([
    call("GET", "/admin/usage"),
    history({ from: w.from30, to: w.today, groupBy: "day,model" }),
    history({ from: w.monthStart, to: w.today, groupBy: "key" }),
    history({ from: w.monthStart, to: w.today, groupBy: "user" }),
    history({ from: w.monthStart, to: w.today, groupBy: "status" }),
    call("GET", "/admin/keys"),
  ]);
  const names = new Map((keyList.value?.keys ?? []).map((k) => [k.id, k]));
  part("overview-error", usage, (u) => showBudgets(u, names));
  part("chart-error", days, (d) => showDays(d, w));
  showSpend(days, keysMonth, w);
  part("top-keys-error", keysMonth, (h) => showTop("keys", h, (r) => r.keyId, (id) => keyCell(id, names)));
  part("top-users-error", usersMonth, (h) => showTop("users", h, (r) => r.user, (id) => id));
  part("errors-error", statusMonth, showErrors);
  await loadProviders();
}

/** Shows a settled call's result with `show`, or its error in the box `errorId`. */
function part(errorId, settled, show) {
  if (settled.status === "fulfilled") {
    showError($(errorId), "");
    show(settled.value);
  } else {
    showError($(errorId), settled.reason.message);
  }
}

/** Clears everything the overview shows (sign out). */
export function clearOverview() {
  clearCharts();
  for (const id of ["spend", "budgets", "daily-table", "top-keys", "top-users", "errors", "providers"]) $(id).replaceChildren();
  for (const id of ["top-keys-note", "top-users-note", "errors-note"]) $(id).textContent = "";
  for (const id of ["overview-error", "chart-error", "top-keys-error", "top-users-error", "errors-error", "providers-error"]) showError($(id), "");
}

/** "Today" and "This month": cost, tokens, requests, errors, from the history. */
function showSpend(days, month, w) {
  const box = $("spend");
  box.replaceChildren();
  if (days.status !== "fulfilled" || month.status !== "fulfilled") {
    box.append(el("p", { className: "muted" }, "Spend needs the usage history, which did not answer (see below)."));
    return;
  }
  const [today] = sumRows(days.value.rows.filter((r) => r.day === w.today), () => "today");
  const t = month.value.totals ?? {};
  const monthSum = {
    requests: t.requests ?? 0, errors: t.errors ?? 0, prompt: t.promptTokens ?? 0, completion: t.completionTokens ?? 0,
    tokens: rowTokens(t), costMicros: micros(t.costUsd), unpriced: t.unpricedRequests ?? 0,
  };
  const zero = { requests: 0, errors: 0, prompt: 0, completion: 0, tokens: 0, costMicros: 0, unpriced: 0 };
  box.append(spendCard("today", `Today (${w.today})`, today ?? zero), spendCard("month", `This month (from ${w.monthStart})`, monthSum));
}

function spendCard(id, title, s) {
  const rows = [
    ["Tokens", `${count(s.tokens)} (prompt ${count(s.prompt)}, completion ${count(s.completion)})`, "tokens"],
    ["Requests", count(s.requests), "requests"],
    ["Errors", count(s.errors), "errors"],
  ];
  if (s.unpriced) rows.push(["Unknown cost", `${count(s.unpriced)} requests on unpriced models`, "unpriced"]);
  return el("article", { className: "card", "data-spend": id },
    el("h4", {}, title),
    el("p", { className: "big", "data-field": "cost" }, s.costMicros === null ? "cost unknown" : usd(s.costMicros)),
    el("dl", {}, rows.flatMap(([k, v, f]) => [el("dt", {}, k), el("dd", { "data-field": f }, v)])));
}

/** Budget cards: the tenant's, then the tightest keys' (end users' budgets live in their tokens). */
function showBudgets(u, names) {
  const box = $("budgets");
  box.replaceChildren();
  const cards = [];
  if (u.tenant) cards.push(budgetCard("tenant", "Tenant", null, u.tenant));
  const keys = (u.keys ?? []).filter((k) => !k.revoked).sort((a, b) => tightness(b) - tightness(a)).slice(0, TOP_BUDGETS);
  for (const k of keys) cards.push(budgetCard(`key:${k.id}`, `Key: ${k.name ?? names.get(k.id)?.name ?? "?"}`, k.id, k));
  if (!cards.length) cards.push(el("p", { className: "muted" }, "No budgets are configured: neither the tenant nor any key has one."));
  box.append(...cards);
}

function budgetCard(scope, title, id, entry) {
  const wins = WINDOWS.filter((w) => entry[w.key]).map((w) => {
    const win = entry[w.key];
    const f = fill(win, w.unit);
    const show = (v) => (w.unit === "usd" ? usd(micros(v)) : count(v));
    const used = win.used === null || win.used === undefined ? "unknown (KV store)" : show(win.used);
    const left = win.remaining === null || win.remaining === undefined ? "" : ` · ${show(win.remaining)} left`;
    const unit = w.unit === "usd" ? "" : Number(win.limit) === 1 ? " token" : " tokens";
    const meter = el("meter", { min: 0, max: 1, low: 0.8, high: 0.95, optimum: 0, value: Math.min(f ?? 0, 1), "aria-label": `${w.label}: ${used} of ${show(win.limit)}` });
    return el("div", { className: `window${f !== null && f >= 1 ? " over" : ""}`, "data-window": w.key, "data-used": win.used ?? "", "data-limit": win.limit },
      el("span", { className: "label" }, `${w.label}: `),
      el("span", { className: "figures" }, `${used} of ${show(win.limit)}${unit}${left}`),
      meter);
  });
  return el("article", { className: "card", "data-scope": scope },
    el("h4", {}, title, id ? el("span", { className: "muted" }, ` ${id}`) : null),
    wins.length ? wins : el("p", { className: "muted" }, "no limit"));
}

/** The chart and the table of its numbers. */
function showDays(h, w) {
  const data = chartData(h.rows, w.days30);
  drawCharts(data);
  const rows = [...(h.rows ?? [])].sort((a, b) => b.day.localeCompare(a.day) || String(a.model ?? "").localeCompare(String(b.model ?? "")));
  fillTable($("daily-table"), [
    { label: "Day", key: "day" }, { label: "Model", key: "model" }, { label: "Requests", key: "requests", num: true },
    { label: "Errors", key: "errors", num: true }, { label: "Prompt tokens", key: "prompt", num: true },
    { label: "Completion tokens", key: "completion", num: true }, { label: "Tokens", key: "tokens", num: true }, { label: "Cost", key: "cost", num: true },
  ], rows.map((r) => [r.day, modelLabel(r.model), count(r.requests), count(r.errors), count(r.promptTokens), count(r.completionTokens), count(rowTokens(r)), costText(r)]),
  "No requests in the last 30 days.");
}

const costText = (r) => (r.costUsd === null || r.costUsd === undefined ? "unknown" : usd(micros(r.costUsd)));

function keyCell(id, names) {
  const k = names.get(id);
  return el("span", {}, k ? k.name : "(unknown key)", k?.revoked ? " (revoked)" : "", el("br"), el("span", { className: "id" }, id));
}

/** Top keys or users by cost this month; requests without one are summed in the note. */
function showTop(kind, h, idOf, label) {
  const groups = sumRows(h.rows, (r) => idOf(r) ?? "");
  const none = groups.find((g) => g.id === "");
  const top = byCost(groups.filter((g) => g.id !== "")).slice(0, TOP_SPENDERS);
  const what = kind === "keys" ? "Key" : "User";
  fillTable($(`top-${kind}`), [
    { label: what, key: kind === "keys" ? "key" : "user" }, { label: "Requests", key: "requests", num: true },
    { label: "Tokens", key: "tokens", num: true }, { label: "Cost", key: "cost", num: true },
  ], top.map((g) => [{ node: label(g.id) }, count(g.requests), count(g.tokens), g.costMicros === null ? "unknown" : usd(g.costMicros)]),
  `No requests with ${kind === "keys" ? "an API key" : "an end-user token"} this month.`);
  const without = kind === "keys" ? "without an API key (end-user tokens, open mode)" : "without an end user (API keys, open mode)";
  $(`top-${kind}-note`).textContent = none
    ? `Requests ${without}: ${count(none.requests)}, ${count(none.tokens)} tokens, ${none.costMicros === null ? "cost unknown" : usd(none.costMicros)}.`
    : "";
}

/** Error counts by kind (history status other than ok). */
function showErrors(h) {
  const rows = (h.rows ?? []).filter((r) => r.status !== "ok").sort((a, b) => b.requests - a.requests || String(a.status).localeCompare(String(b.status)));
  const total = h.totals?.requests ?? 0;
  const failed = rows.reduce((n, r) => n + r.requests, 0);
  fillTable($("errors"), [
    { label: "Kind", key: "kind" }, { label: "Requests", key: "requests", num: true }, { label: "Share", key: "share", num: true },
  ], rows.map((r) => [el("code", {}, r.status ?? "unknown"), count(r.requests), total ? `${((100 * r.requests) / total).toFixed(1)}%` : "–"]),
  "No errors this month.");
  $("errors-note").textContent = `${count(total)} requests this month, ${count(failed)} failed.`;
}

/** Provider health (GET /health/providers; each call checks every provider for real). */
export async function loadProviders() {
  const table = $("providers");
  try {
    const h = await call("GET", "/health/providers");
    showError($("providers-error"), "");
    fillTable(table, [
      { label: "Provider", key: "name" }, { label: "Kind", key: "kind" }, { label: "Status", key: "status" },
      { label: "Models", key: "models", num: true }, { label: "Latency", key: "latency", num: true }, { label: "Detail", key: "detail" },
    ], (h.providers ?? []).map((p) => [p.name, p.kind, { text: p.status, className: p.status === "ok" ? "status-ok" : "status-bad" },
      p.models === undefined ? "–" : count(p.models), p.latencyMs === undefined ? "–" : `${count(p.latencyMs)} ms`, p.detail || "–"]),
    "No providers.");
    table.dataset.status = h.status;
  } catch (e) {
    table.replaceChildren();
    showError($("providers-error"), e.message);
  }
}
