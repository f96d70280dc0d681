// Helpers for the HTTP provider tests (tests/e2e/providers*.test.mjs): request helpers that
// remember every response (status line, headers, body) so a test can check afterwards that no
// secret ever reached a client, config builders for providers, and a port nothing listens on.
import assert from "node:assert/strict";
import net from "node:net";
import { call } from "./openai-http.mjs";

const JSON_HEADERS = { "content-type": "application/json" };
let seq = 0;
/** A fresh x-trace-id (8-128 of [A-Za-z0-9._:-]). */
export const traceId = (name) => `prv-${name}-${process.pid}-${++seq}`.slice(0, 120);
export const user = (content) => ({ role: "user", content });
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every response the helpers saw: { url, head (status and headers as text), text }. */
export const seen = [];
function remember(url, res, text) {
  seen.push({ url, head: `${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}`, text });
}

/** Parses a native SSE body into [{ event, data }]. */
export function parseSse(text) {
  return text.split("\n\n").filter((b) => b.trim()).map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    return { event, data: data ? JSON.parse(data) : null };
  });
}
export const tokens = (events) => events.filter((e) => e.event === "token").map((e) => e.data.text).join("");

/** POST /chat; returns { res, status, trace, body (JSON answers), events (SSE answers) }. */
export async function chat(gw, body, { headers = {}, trace = traceId("chat") } = {}) {
  const url = `${gw.url}/chat`;
  const res = await fetch(url, { method: "POST", headers: { ...JSON_HEADERS, "x-trace-id": trace, ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  remember(url, res, text);
  const sse = (res.headers.get("content-type") || "").includes("text/event-stream");
  return { res, status: res.status, trace, text, body: sse ? null : JSON.parse(text), events: sse ? parseSse(text) : null };
}

/** /v1 requests through openai-http.mjs's `call` (JSON or parsed SSE chunks), remembered. */
export async function v1(gw, body, opts = {}) {
  const r = await call(gw, body, { trace: traceId("v1"), ...opts });
  remember(gw.url + (opts.path ?? "/v1/chat/completions"), r.res, r.text);
  return r;
}

/** GET `path`; returns { res, status, body (JSON or null), text }. */
export async function get(gw, path, headers = {}) {
  const url = gw.url + path;
  const res = await fetch(url, { headers: { "x-trace-id": traceId("get"), ...headers } });
  const text = await res.text();
  remember(url, res, text);
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { res, status: res.status, body, text };
}

/** An openai-compatible provider with OAuth2 client credentials. */
export function oauthProvider(baseUrl, tokenUrl, { clientId, secret, auth = {}, ...rest }) {
  return { kind: "openai-compatible", baseUrl, auth: { type: "oauth2", tokenUrl, clientId, clientSecret: { secret }, ...auth }, ...rest };
}

/** A loopback port with nothing listening on it (connections are refused). */
export async function closedPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Asserts that none of `secrets` (client secrets, API keys, access tokens, admin tokens, and
 * their encoded forms) is in any log line of `gateways` or in any response the helpers saw,
 * and that no log line holds an authorization header value.
 */
export function assertNoSecrets(secrets, gateways) {
  const list = [...new Set(secrets.filter((s) => typeof s === "string" && s.length >= 8))];
  const places = [
    ...gateways.flatMap((gw, g) => gw.logs.map((line, i) => [`gateway ${g}, log line ${i}`, line])),
    ...seen.map((r, i) => [`response ${i} (${r.url})`, `${r.head}\n${r.text}`]),
  ];
  assert.ok(list.length > 0 && places.length > 0, "something to check");
  for (const s of list) {
    const hit = places.find(([, text]) => text.includes(s));
    assert.equal(hit, undefined, `${hit?.[0]} holds a secret (${s.slice(0, 4)}...): ${hit?.[1].slice(0, 300)}`);
  }
  const auth = gateways.flatMap((gw) => gw.logs).find((l) => /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/.test(l));
  assert.equal(auth, undefined, `a log line holds an authorization value: ${auth}`);
}
