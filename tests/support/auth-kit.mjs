// Shared pieces of the client-authentication tests (tests/e2e/auth*.test.mjs): the secrets a
// test gateway gets, tenants in api-keys mode, requests on both surfaces with credentials, and
// strict checks of the generic 401 and of the other auth errors.
import assert from "node:assert/strict";
import { startGateway, testTenant } from "./runtime.mjs";
import { mintToken, nowS } from "./jwt.mjs";

export { nowS };
export const ADMIN_TOKEN = "test-admin-token-5f0c2a9e7b1d4c38a6e2";
export const CLIENT_TOKEN_SECRET = "test-client-token-secret-9d3b71c0e4a2f865";
/** The one message every refused credential gets (unknown, revoked, expired, forged, ...). */
export const UNAUTHORIZED_MESSAGE = "a valid API key or end-user token is required";
/** `gwk_<keyId>_<secret>`: 12 lowercase hex, then 43 base64url characters (256 bits). */
export const KEY_RE = /^gwk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

let seq = 0;
export const traceId = (name) => `auth-${name}-${process.pid}-${++seq}`.slice(0, 120);

/** testTenant in api-keys mode (key records cached at most `keyCacheSeconds`, default 1 s). */
export function keysTenant(patch = {}) {
  return testTenant({ ...patch, auth: { mode: "api-keys", keyCacheSeconds: 1, ...patch.auth } });
}

/** startGateway with ADMIN_TOKEN and CLIENT_TOKEN_SECRET set (override through `vars`). */
export function startAuthGateway(o) {
  return startGateway({ ...o, vars: { ADMIN_TOKEN, CLIENT_TOKEN_SECRET, ...o.vars } });
}

/**
 * An end-user token for tenant `acme`: sub "alice", exp in 10 minutes, plus `claims`
 * (a claim set to `undefined` is left out). `secret` and `header` forge variants.
 */
export function userToken(claims = {}, { secret = CLIENT_TOKEN_SECRET, header } = {}) {
  return mintToken(secret, { sub: "alice", aud: "acme", exp: nowS() + 600, ...claims }, header);
}

export const bearer = (credential) => ({ authorization: `Bearer ${credential}` });
export const xApiKey = (key) => ({ "x-api-key": key });

/** The two chat surfaces, with the smallest valid body of each. */
export const SURFACES = {
  chat: { path: "/chat", body: (extra = {}) => ({ message: "Hi", ...extra }) },
  v1: { path: "/v1/chat/completions", body: (extra = {}) => ({ messages: [{ role: "user", content: "Hi" }], ...extra }) },
};

/** Any request: { res, status, headers, trace, text, body (JSON or null) }. */
export async function request(gw, path, { method = "POST", body, headers = {}, trace = traceId("req") } = {}) {
  const init = { method, headers: { "x-trace-id": trace, ...headers } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(gw.url + path, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* SSE or empty */ }
  return { res, status: res.status, headers: res.headers, trace, text, body: json };
}

/** A chat request on `surface` ("chat" | "v1") with `headers` (credentials) and body `extra`. */
export function chatOn(gw, surface, headers = {}, extra = {}, opts = {}) {
  const s = SURFACES[surface];
  return request(gw, s.path, { body: s.body(extra), headers, ...opts });
}

/** Total tokens a successful JSON answer reports, on either surface. */
export const usageOf = (r) => r.body.usage?.total ?? r.body.usage?.total_tokens;

const OPENAI_TYPE = { 400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "invalid_request_error", 429: "rate_limit_error" };

/** An error answer in the surface's shape, with `code`; returns the error object. */
export function assertError(r, surface, status, code) {
  assert.equal(r.status, status, `${surface}: ${r.text}`);
  assert.match(r.headers.get("content-type") || "", /^application\/json/);
  assert.equal(r.headers.get("x-trace-id"), r.trace);
  assert.ok(r.body && typeof r.body === "object", `a JSON body: ${r.text}`);
  assert.deepEqual(Object.keys(r.body), ["error"], r.text);
  const e = r.body.error;
  assert.equal(e.code, code, r.text);
  assert.ok(typeof e.message === "string" && e.message.length > 0, r.text);
  if (surface === "v1") {
    assert.equal(e.type, OPENAI_TYPE[status], r.text);
    assert.ok("param" in e, "param is always present on /v1");
  } else {
    assert.equal(e.traceId, r.trace, r.text);
  }
  return e;
}

/**
 * The generic 401: code unauthorized, the one message, `www-authenticate: Bearer`, OpenAI's
 * authentication_error with param null on /v1; the answer never echoes what was presented.
 */
export function assertUnauthorized(r, surface, presented = []) {
  const e = assertError(r, surface, 401, "unauthorized");
  assert.equal(e.message, UNAUTHORIZED_MESSAGE, r.text);
  assert.match(r.headers.get("www-authenticate") || "", /^Bearer\b/i, "www-authenticate: Bearer");
  if (surface === "v1") assert.equal(e.param, null);
  for (const p of [presented].flat().filter(Boolean)) assert.ok(!r.text.includes(p), `the 401 echoes ${p}`);
}

/** Polls `fn` every 100 ms until it returns something truthy or `ms` pass; returns the last value. */
export async function until(fn, ms = 8000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
