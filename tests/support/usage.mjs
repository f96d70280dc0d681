// Shared pieces of the cost and usage-history tests (tests/e2e/usage-*.test.mjs): prices and
// costs in integer micro-dollars computed the way docs and crates/gateway/src/pricing.rs define
// them (independently of the gateway), requests on every chat surface, SSE parsing, and
// GET /admin/usage/history with polling.
import assert from "node:assert/strict";
import { ADMIN_TOKEN } from "./auth-kit.mjs";

let seq = 0;
export const traceId = (name) => `usage-${name}-${process.pid}-${++seq}`.slice(0, 120);

/**
 * Micro-dollars from a decimal amount of dollars (a number like 0.282 or a string like "5.00"),
 * read as decimal text (no float arithmetic): "0.282" -> 282000.
 */
export function micros(v) {
  if (v === null || v === undefined) return null;
  const text = String(v).trim();
  assert.match(text, /^\d+(\.\d{1,6})?$/, `not an amount of USD: ${text}`);
  const [whole, frac = ""] = text.split(".");
  return Number(BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, "0")));
}

/** Micro-dollars as the gateway writes dollars: 6 decimals ("0.001234"). */
export function usd(m) {
  const n = BigInt(m);
  return `${n / 1_000_000n}.${String(n % 1_000_000n).padStart(6, "0")}`;
}

/**
 * What an answer costs, in micro-dollars: ceil(((prompt - cached) * input + cached *
 * cachedInput + completion * output) / 1e6), prices in USD per million tokens as a tenant's
 * `pricing` entry writes them ({input, output, cachedInput}).
 */
export function costOf(price, { prompt, completion, cached = 0 }) {
  const input = BigInt(micros(price.input));
  const output = BigInt(micros(price.output ?? 0));
  const cachedInput = price.cachedInput === undefined ? input : BigInt(micros(price.cachedInput));
  const c = BigInt(Math.min(cached, prompt));
  const n = (BigInt(prompt) - c) * input + c * cachedInput + BigInt(completion) * output;
  return Number((n + 999_999n) / 1_000_000n);
}

/** Today (UTC) as YYYY-MM-DD, `offset` days later. */
export function day(offset = 0) {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

/** The native SSE stream (`event: x\ndata: {...}`) as [{event, data}]. */
export function parseSse(text) {
  return text.split("\n\n").filter((b) => b.trim()).map((b) => ({
    event: /^event: (.*)$/m.exec(b)?.[1],
    data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? "null"),
  }));
}

/** The UI message stream (`data: {...}` ... `data: [DONE]`) as its parsed chunks. */
export function parseUiStream(text) {
  return text.split("\n\n").filter((b) => b.startsWith("data: ")).map((b) => b.slice(6)).map((d) => (d === "[DONE]" ? d : JSON.parse(d)));
}

/** Any POST with a JSON body: { res, status, headers, trace, text, body (JSON or null) }. */
export async function post(gw, path, body, headers = {}, trace = traceId("req")) {
  const res = await fetch(gw.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-trace-id": trace, ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* a stream */ }
  return { res, status: res.status, headers: res.headers, trace, text, body: json };
}

/** The smallest body of each chat surface, with `extra`. */
export const BODIES = {
  "/chat": (extra = {}) => ({ message: "Hi", ...extra }),
  "/v1/chat/completions": (extra = {}) => ({ messages: [{ role: "user", content: "Hi" }], ...extra }),
  "/ui/chat": (extra = {}) => ({ id: `ui-${++seq}`, messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "Hi" }] }], trigger: "submit-message", ...extra }),
};

/** A chat request on `path` with the surface's smallest body plus `extra`. */
export function chatOn(gw, path, headers = {}, extra = {}) {
  return post(gw, path, BODIES[path](extra), headers, traceId(path.split("/").at(-1)));
}

/**
 * The usage of an answer, whatever the surface: { prompt, completion, total, cached, costUsd }.
 * costUsd is undefined when the surface's body does not carry it (/v1).
 */
export function usageOf(r) {
  const ct = r.headers.get("content-type") || "";
  if (ct.includes("text/event-stream") && !r.headers.get("x-vercel-ai-ui-message-stream")) {
    const done = parseSse(r.text).find((e) => e.event === "done");
    assert.ok(done, `a done event: ${r.text.slice(-400)}`);
    return { cached: 0, ...done.data.usage };
  }
  if (ct.includes("text/event-stream")) {
    const part = parseUiStream(r.text).find((c) => c?.type === "data-usage");
    assert.ok(part, `a data-usage part: ${r.text.slice(-400)}`);
    return { cached: 0, ...part.data.usage };
  }
  const u = r.body?.usage;
  assert.ok(u, `a usage object: ${r.text}`);
  if ("prompt_tokens" in u) {
    return { prompt: u.prompt_tokens, completion: u.completion_tokens, total: u.total_tokens, cached: u.prompt_tokens_details?.cached_tokens ?? 0, costUsd: undefined };
  }
  return { cached: 0, ...u };
}

/** Polls `fn` every 100 ms until it returns something truthy or `ms` pass; returns the last value. */
export async function until(fn, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * GET /admin/usage/history?<query> with auth-kit's ADMIN_TOKEN (`token` overrides it; null
 * sends none): { status, headers, body, text }.
 * `csv: true` asks for CSV (Accept: text/csv).
 */
export async function history(gw, query, { csv = false, token } = {}) {
  const qs = typeof query === "string" ? query : new URLSearchParams(query).toString();
  const headers = {};
  const t = token === undefined ? ADMIN_TOKEN : token;
  if (t) headers.authorization = `Bearer ${t}`;
  if (csv) headers.accept = "text/csv";
  const res = await fetch(`${gw.url}/admin/usage/history${qs ? `?${qs}` : ""}`, { headers });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* CSV */ }
  return { status: res.status, headers: res.headers, body, text };
}

/**
 * Polls today's history (grouped by day) until its totals hold `requests` requests and then
 * stay the same for one more poll (rows are written ~200 ms after a request, in waitUntil);
 * returns the totals, or fails after `ms`.
 */
export async function settledHistory(gw, requests, ms = 15_000) {
  let last = null;
  const got = await until(async () => {
    const h = await history(gw, { from: day(), to: day(), groupBy: "day" });
    assert.equal(h.status, 200, h.text);
    const t = h.body.totals;
    const same = last && JSON.stringify(last) === JSON.stringify(t);
    last = t;
    return t.requests >= requests && same ? t : null;
  }, ms);
  assert.ok(got, `the history reached ${requests} requests within ${ms} ms (last totals ${JSON.stringify(last)})`);
  return got;
}

/** Sums `f(x)` over `xs`. */
export const sum = (xs, f = (x) => x) => xs.reduce((n, x) => n + f(x), 0);
