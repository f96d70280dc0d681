// Shared pieces of the server-side session tests (tests/e2e/sessions*.test.mjs): a tenant
// with sessions on, a gateway with the SESSIONS Durable Object bound, /chat requests that
// parse JSON or SSE answers, the /sessions routes, and what the AI stand-in was sent.
import assert from "node:assert/strict";
import { startGateway, testTenant } from "./runtime.mjs";

/** Durable Objects a sessions gateway binds: the budget ledger and the session objects. */
export const SESSION_DOS = {
  BUDGET_LEDGER: { className: "BudgetLedger", useSQLite: true },
  SESSIONS: { className: "ChatSession", useSQLite: true },
};

/** An id made by the gateway for `"sessionId": "new"`: `s-` + 24 hex characters. */
export const NEW_ID_RE = /^s-[0-9a-f]{24}$/;

let seq = 0;
export const traceId = (name) => `sess-${name}-${process.pid}-${++seq}`.slice(0, 120);
/** A session id unique to this run (client-chosen ids follow the `sessionId` rules). */
export const sid = (name) => `${name}-${process.pid}-${++seq}`;

/** testTenant with a `sessions` table (`enabled: true` plus `sessions`). */
export function sessionsTenant(patch = {}, sessions = {}) {
  return testTenant({ ...patch, sessions: { enabled: true, ...sessions } });
}

/** startGateway with SESSIONS bound (override `durableObjects` to leave it out). */
export function startSessionsGateway(o) {
  return startGateway({ durableObjects: SESSION_DOS, ...o });
}

/** Parses an SSE body into [{ event, data }]. */
export function parseSse(text) {
  return text
    .split("\n\n")
    .filter((b) => b.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      let parsed = null;
      try { parsed = data ? JSON.parse(data) : null; } catch { parsed = data; } // "[DONE]" on /v1
      return { event, data: parsed };
    });
}

/**
 * Any request: { res, status, headers, trace, text, body (JSON or null), events (SSE or
 * null) }. `body` is sent as JSON when given.
 */
export async function request(gw, path, { method = "POST", body, headers = {}, trace = traceId("req") } = {}) {
  const init = { method, headers: { "x-trace-id": trace, ...headers } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(gw.url + path, init);
  const text = await res.text();
  const isSse = (res.headers.get("content-type") || "").includes("text/event-stream");
  let json = null;
  if (!isSse) try { json = JSON.parse(text); } catch { /* empty */ }
  return { res, status: res.status, headers: res.headers, trace, text, body: json, events: isSse ? parseSse(text) : null };
}

/** POST /chat with `body`; asserts nothing. */
export const chat = (gw, body, opts = {}) => request(gw, "/chat", { body, trace: traceId("chat"), ...opts });

/** POST /chat that must succeed; returns the request plus `answer` (JSON body or done data) and `text`. */
export async function turn(gw, body, opts = {}) {
  const r = await chat(gw, body, opts);
  assert.equal(r.status, 200, `POST /chat answered ${r.status}: ${r.text}`);
  if (r.events) {
    const done = r.events.at(-1);
    assert.equal(done.event, "done", r.text);
    return { ...r, answer: done.data, said: r.events.filter((e) => e.event === "token").map((e) => e.data.text).join("") };
  }
  return { ...r, answer: r.body, said: r.body.text };
}

export const listSessions = (gw, headers = {}) => request(gw, "/sessions", { method: "GET", headers });
export const getSession = (gw, id, headers = {}) => request(gw, `/sessions/${encodeURIComponent(id)}`, { method: "GET", headers });
export const deleteSession = (gw, id, headers = {}) => request(gw, `/sessions/${encodeURIComponent(id)}`, { method: "DELETE", headers });

/** The stored messages of session `id` as [role, content] pairs (asserts a 200). */
export async function stored(gw, id, headers = {}) {
  const r = await getSession(gw, id, headers);
  assert.equal(r.status, 200, `GET /sessions/${id}: ${r.text}`);
  return r.body.messages.map((m) => [m.role, m.content]);
}

/** The ids in GET /sessions (asserts a 200). */
export async function listedIds(gw, headers = {}) {
  const r = await listSessions(gw, headers);
  assert.equal(r.status, 200, `GET /sessions: ${r.text}`);
  assert.ok(Array.isArray(r.body.sessions), r.text);
  return r.body.sessions.map((s) => s.id);
}

/** The messages the AI stand-in got for the request's (one) model call, as [role, content]. */
export function sent(gw, r) {
  const calls = gw.aiCallsFor(r.trace);
  assert.equal(calls.length, 1, `one model call for ${r.trace}`);
  return calls[0].inputs.messages.map((m) => [m.role, m.content]);
}

/** A 404 session_not_found in the native error shape. */
export function assertNotFound(r, code = "session_not_found") {
  assert.equal(r.status, 404, r.text);
  assert.equal(r.body?.error?.code, code, r.text);
  assert.equal(r.body.error.traceId, r.trace, r.text);
  assert.equal(r.headers.get("x-trace-id"), r.trace);
}

/** Estimated tokens of a text, the gateway's rule: ceil(ASCII chars / 4) + 1 per other char. */
export function estimate(text) {
  let ascii = 0, other = 0;
  for (const c of String(text ?? "")) (c.charCodeAt(0) < 128 ? ascii++ : other++);
  return Math.ceil(ascii / 4) + other;
}

/** Polls `fn` every 100 ms until it returns something truthy or `ms` pass; returns the last value. */
export async function until(fn, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await sleep(100);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
