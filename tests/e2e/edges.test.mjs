// Issue 18 (hardening round 3), items 4-11: session ids the router cannot address, CORS
// preflights that answer only the allow-list, bytes after the JSON body, bounded route names in
// the log, credential-shaped query values, why each 401 happened (logged, never shown) and the
// throttling of failed authentications per client address, end-user tokens only as Bearer and
// oversized credentials (431), and /health problems no request could get past. Item 12, key and
// token-secret rotation, is tests/e2e/rotation.test.mjs.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startGateway, testTenant } from "../support/runtime.mjs";
import {
  ADMIN_TOKEN, CLIENT_TOKEN_SECRET, KEY_RE, bearer, xApiKey, chatOn, request, assertError, assertUnauthorized,
  keysTenant, startAuthGateway, userToken, nowS, sleep, until,
} from "../support/auth-kit.mjs";

const SURFACES = ["chat", "v1"];
const ALLOWED_ORIGIN = "https://app.acme.example";
let seq = 0;
const tid = (name) => `edge-${name}-${process.pid}-${++seq}`.slice(0, 120);
const randomSecret = () => crypto.randomBytes(32).toString("base64url");
const randomId = () => crypto.randomBytes(6).toString("hex");
/** Every character percent-encoded (`%67%77%6B...`), as a client that over-encodes sends it. */
const pctAll = (s) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");

/** A request with a raw (string) body: { res, status, headers, trace, text, body (JSON or null) }. */
async function raw(gw, path, { method = "POST", body, headers = {}, trace = tid("raw") } = {}) {
  const res = await fetch(gw.url + path, { method, headers: { "x-trace-id": trace, ...headers }, body });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { res, status: res.status, headers: res.headers, trace, text, body: json };
}

/** The raw log line (a string) the worker wrote for `trace`, once it is there. */
async function rawLogLine(gw, trace) {
  await gw.logFor(trace);
  return gw.logs.find((l) => l.includes(`"traceId":"${trace}"`));
}

/** Pieces of a credential that must never be logged: the whole, a key's secret, a JWT's signature. */
function secretPartsOf(credential) {
  const parts = [credential];
  const m = KEY_RE.exec(credential);
  if (m) parts.push(m[2]);
  const segs = credential.split(".");
  if (segs.length === 3 && segs[2].length >= 16) parts.push(segs[2]);
  return parts.filter((p) => p && p.length >= 8);
}

// ------------------------------------------------------------------------------------------ 4
describe("4. session ids the router cannot address (`.`, `..`) are refused at creation", () => {
  let gw;
  before(async () => { gw = await startGateway({ tenant: testTenant({ sessions: { enabled: true } }) }); });
  after(() => gw?.close());

  test("`.` and `..`: 400 invalid_request, field sessionId, no AI call, nothing stored; `...`, `a..b`, `.a`, `s-1` work and read back", async () => {
    for (const id of [".", ".."]) {
      for (const stream of [false, true]) {
        const r = await request(gw, "/chat", { body: { message: "x", sessionId: id, stream }, trace: tid("dot") });
        const e = assertError(r, "chat", 400, "invalid_request");
        assert.equal(e.field, "sessionId", r.text);
        assert.equal(gw.aiCallsFor(r.trace).length, 0, `no AI call for sessionId ${JSON.stringify(id)}`);
      }
    }
    const list = await request(gw, "/sessions", { method: "GET" });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body.sessions.filter((s) => s.id === "." || s.id === ".."), [], `stored: ${list.text}`);

    // Ids with dots that a path can address still work, and read back with GET /sessions/{id}.
    for (const id of ["...", "a..b", ".a", "s-1"]) {
      const first = await request(gw, "/chat", { body: { message: `first ${id}`, sessionId: id }, trace: tid("dots") });
      assert.equal(first.status, 200, `sessionId ${id}: ${first.text}`);
      assert.equal(first.body.sessionId, id);
      assert.equal(first.body.historyMessages, 0);
      const second = await request(gw, "/chat", { body: { message: `second ${id}`, sessionId: id }, trace: tid("dots") });
      assert.equal(second.status, 200, second.text);
      assert.equal(second.body.historyMessages, 2, `the stored turn of ${id} is sent along`);
      const url = `/sessions/${encodeURIComponent(id)}`;
      assert.equal(new URL(gw.url + url).pathname, `/sessions/${id}`, "the path keeps the id as it is");
      const read = await request(gw, url, { method: "GET" });
      assert.equal(read.status, 200, `GET ${url}: ${read.text}`);
      assert.equal(read.body.id, id);
      assert.deepEqual(read.body.messages.filter((m) => m.role === "user").map((m) => m.content), [`first ${id}`, `second ${id}`]);
    }
    const del = await request(gw, "/sessions/...", { method: "DELETE" });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.body, { id: "...", deleted: true });
    assert.equal((await request(gw, "/sessions/...", { method: "GET" })).status, 404);
  });
});

// ------------------------------------------------------------------------------------------ 5
describe("5. CORS preflights answer only the documented allow-list", () => {
  let gw;
  before(async () => { gw = await startGateway({ tenant: testTenant() }); });
  after(() => gw?.close());

  const FIXED = ["content-type", "authorization", "x-api-key", "x-trace-id", "anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access"];
  const allowed = (res) => (res.headers.get("access-control-allow-headers") ?? "").split(",").map((h) => h.trim()).filter(Boolean);
  async function preflight(path, requested) {
    const headers = { origin: ALLOWED_ORIGIN, "access-control-request-method": "POST" };
    if (requested !== undefined) headers["access-control-request-headers"] = requested;
    const res = await fetch(`${gw.url}${path}`, { method: "OPTIONS", headers });
    await res.arrayBuffer();
    assert.equal(res.status, 204, `OPTIONS ${path} (${requested})`);
    assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    return res;
  }

  test("headers off the list are never echoed back (absent or empty allow-headers)", async () => {
    for (const path of ["/chat", "/v1/chat/completions"]) {
      const res = await preflight(path, "x-evil-header, cookie, x-forwarded-for");
      assert.deepEqual(allowed(res), [], `${path}: access-control-allow-headers = ${res.headers.get("access-control-allow-headers")}`);
    }
  });

  test("headers on the list (and x-stainless-*) are allowed, lowercased, and only those", async () => {
    const res = await preflight("/chat", "Content-Type, Authorization, X-API-Key, x-trace-id, X-Stainless-OS, anthropic-version");
    assert.deepEqual(allowed(res).sort(), ["anthropic-version", "authorization", "content-type", "x-api-key", "x-stainless-os", "x-trace-id"]);
    const mixed = await preflight("/v1/chat/completions", "content-type, x-evil-header, authorization, cookie");
    assert.deepEqual(allowed(mixed).sort(), ["authorization", "content-type"]);
  });

  test("without Access-Control-Request-Headers: the fixed list", async () => {
    const res = await preflight("/chat", undefined);
    assert.deepEqual(allowed(res).sort(), [...FIXED].sort(), res.headers.get("access-control-allow-headers"));
  });
});

// ------------------------------------------------------------------------------------------ 6
describe("6. bytes after the JSON body are refused: 400 invalid_json", () => {
  let gw;
  before(async () => { gw = await startGateway({ tenant: testTenant(), vars: { ADMIN_TOKEN } }); });
  after(() => gw?.close());
  const JSON_CT = { "content-type": "application/json" };
  const CHAT = '{"message":"x"}';
  const V1 = '{"messages":[{"role":"user","content":"x"}]}';

  test("/chat, /v1/chat/completions and POST /admin/keys: trailing garbage and two objects back to back are refused, trailing whitespace is fine", async () => {
    for (const [surface, path, doc, other] of [["chat", "/chat", CHAT, '{"message":"y"}'], ["v1", "/v1/chat/completions", V1, V1]]) {
      for (const body of [`${doc}garbage`, `${doc}${other}`, `${doc} ${other}`, `${doc}\n}`]) {
        const r = await raw(gw, path, { body, headers: JSON_CT });
        assertError(r, surface, 400, "invalid_json");
        assert.equal(gw.aiCallsFor(r.trace).length, 0, `${path} ${JSON.stringify(body)}: no AI call`);
      }
      // Trailing whitespace is fine.
      const ok = await raw(gw, path, { body: `${doc} \n\t\r\n  `, headers: JSON_CT });
      assert.equal(ok.status, 200, `${path}: ${ok.text}`);
    }

    // POST /admin/keys (which refused them already): the same, and no key is made.
    const admin = { ...JSON_CT, authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const body of ['{"name":"trailing"}garbage', '{"name":"trailing"}{"name":"again"}']) {
      const r = await raw(gw, "/admin/keys", { body, headers: admin });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body?.error?.code, "invalid_json", r.text);
    }
    assert.deepEqual((await gw.admin("GET", "/admin/keys")).body.keys.filter((k) => k.name === "trailing"), []);
    const ok = await raw(gw, "/admin/keys", { body: '{"name":"spaced"}\n  ', headers: admin });
    assert.equal(ok.status, 201, ok.text);
    assert.match(ok.body.key, KEY_RE);
  });
});

// ------------------------------------------------------------------------------------------ 7
describe("7. the log line names the route pattern, or a bounded path when none matched", () => {
  let gw;
  before(async () => { gw = await startGateway({ tenant: testTenant({ sessions: { enabled: true } }) }); });
  after(() => gw?.close());

  test("matched routes are logged by their pattern", async () => {
    const cases = [
      ["GET", "/sessions/s-1", "/sessions/{id}"],
      ["GET", "/v1/models/@cf/test/primary", "/v1/models/{id*}"],
      ["GET", "/v1/models/%40cf%2Ftest%2Fprimary", "/v1/models/{id*}"],
      ["GET", "/v1/models", "/v1/models"],
      ["POST", "/chat", "/chat"],
      ["GET", "/health", "/health"],
    ];
    for (const [method, path, route] of cases) {
      const r = await raw(gw, path, method === "POST" ? { body: '{"message":"x"}', headers: { "content-type": "application/json" } } : { method });
      if (path.startsWith("/v1/models/")) assert.equal(r.status, 200, `${path}: ${r.text}`);
      const log = await gw.logFor(r.trace);
      assert.equal(log.route, route, `${method} ${path}: ${JSON.stringify(log)}`);
      assert.equal(log.method, method);
    }
  });

  test("an unmatched path is logged cut to 96 characters plus `…`; a 60,000-character path gives a short line", async () => {
    const exact = `/${"b".repeat(95)}`; // 96 characters: logged whole
    let r = await raw(gw, exact, { method: "GET" });
    assert.equal(r.status, 404);
    assert.equal((await gw.logFor(r.trace)).route, exact);

    const over = `/${"c".repeat(96)}`; // 97 characters
    r = await raw(gw, over, { method: "GET" });
    assert.equal((await gw.logFor(r.trace)).route, `${over.slice(0, 96)}…`);

    const long = `/${"a".repeat(59_999)}`;
    assert.equal(long.length, 60_000);
    r = await raw(gw, long, { method: "GET" });
    assert.equal(r.status, 404, r.text.slice(0, 200));
    assert.equal(r.body?.error?.code, "not_found");
    const line = await rawLogLine(gw, r.trace);
    const log = await gw.logFor(r.trace);
    assert.equal(log.route, `${long.slice(0, 96)}…`);
    assert.equal(log.status, 404);
    console.log(`# a ${long.length}-character path: log line of ${line.length} characters`);
    assert.ok(line.length < 1000, `the log line is ${line.length} characters`);
  });
});

// ------------------------------------------------------------------------------------------ 8
describe("8. credential-shaped values in the query are refused whatever the parameter's name", () => {
  let gw, good;
  before(async () => {
    gw = await startAuthGateway({ tenant: keysTenant() });
    good = await gw.adminKey({ name: "query" });
  });
  after(() => gw?.close());

  const on = (surface) => (surface === "chat"
    ? { path: "/chat", body: { message: "Hi" } }
    : { path: "/v1/chat/completions", body: { messages: [{ role: "user", content: "Hi" }] } });

  test("a gateway key or a JWT under any name, raw or percent-encoded: 400 credentials_in_query, even next to a good header; harmless parameters pass", async () => {
    const jwt = userToken();
    const unknownKey = `gwk_${randomId()}_${randomSecret()}`;
    const queries = [
      [`x-api-key=${good.key}`, "x-api-key", good.key],
      [`bearer=${jwt}`, "bearer", jwt],
      [`jwt=${jwt}`, "jwt", jwt],
      [`model=${unknownKey}`, "model", unknownKey],
      [`stream=1&b=${pctAll(good.key)}`, "b", good.key],
      [`id_token=${pctAll(jwt)}`, "id_token", jwt],
      [`x-api-key=${encodeURIComponent(good.key)}`, "x-api-key", good.key],
    ];
    for (const [query, param, credential] of queries) {
      for (const surface of SURFACES) {
        const { path, body } = on(surface);
        const r = await request(gw, `${path}?${query}`, { body, headers: bearer(good.key), trace: tid("query") });
        const e = assertError(r, surface, 400, "credentials_in_query");
        if (surface === "v1") assert.equal(e.param, param, r.text);
        for (const p of secretPartsOf(credential)) assert.ok(!r.text.includes(p), `the answer echoes the credential: ${r.text}`);
        assert.equal(gw.aiCallsFor(r.trace).length, 0);
        const line = await rawLogLine(gw, r.trace);
        for (const p of secretPartsOf(credential)) assert.ok(!line.includes(p), `the log line holds the credential: ${line}`);
      }
    }
    const listed = await request(gw, `/v1/models?jwt=${jwt}`, { method: "GET", headers: bearer(good.key) });
    assertError(listed, "v1", 400, "credentials_in_query");
    const health = await request(gw, `/health?k=${pctAll(good.key)}`, { method: "GET" });
    assert.equal(health.status, 400, health.text);
    assert.equal(health.body?.error?.code, "credentials_in_query");

    // Harmless parameters pass.
    for (const surface of SURFACES) {
      const { path, body } = on(surface);
      for (const query of ["model=@cf/meta/x", "model=%40cf%2Fmeta%2Fllama-3.1-8b-instruct&stream=0", "v=abc.def.ghi", "monkey=1"]) {
        const r = await request(gw, `${path}?${query}`, { body, headers: bearer(good.key) });
        assert.equal(r.status, 200, `${path}?${query}: ${r.text}`);
      }
    }
    const models = await request(gw, "/v1/models?model=@cf/meta/x", { method: "GET", headers: bearer(good.key) });
    assert.equal(models.status, 200, models.text);
  });
});

// ------------------------------------------------------------------------------------------ 9
describe("9. every failed authentication logs a reason code, never the credential; the client gets the generic 401", () => {
  let gw, good, revoked, shortLived;
  before(async () => {
    gw = await startAuthGateway({ tenant: keysTenant() });
    good = await gw.adminKey({ name: "good" });
    revoked = await gw.adminKey({ name: "to-revoke" });
    shortLived = await gw.adminKey({ name: "short-lived", expiresAt: nowS() + 3 });
    for (const k of [revoked, shortLived]) assert.equal((await chatOn(gw, "chat", bearer(k.key))).status, 200, "works before");
    assert.equal((await gw.admin("DELETE", `/admin/keys/${revoked.id}`)).status, 200);
    assert.ok(await until(async () => (await chatOn(gw, "chat", bearer(revoked.key))).status === 401, 4000), "the revoked key is refused");
    await sleep(Math.max(0, shortLived.expiresAt * 1000 - Date.now() + 300));
  });
  after(() => gw?.close());

  async function assertReason(g, headers, reason, label) {
    const credentials = Object.values(headers).map((v) => v.replace(/^Bearer /, "")).filter(Boolean);
    for (const surface of SURFACES) {
      const r = await chatOn(g, surface, headers, {}, { trace: tid(reason) });
      assertUnauthorized(r, surface, credentials);
      assert.equal(g.aiCallsFor(r.trace).length, 0);
      const log = await g.logFor(r.trace);
      assert.equal(log.status, 401, `${label}: ${JSON.stringify(log)}`);
      assert.equal(log.errorCode, "unauthorized");
      assert.equal(log.authFailure, reason, `${label} on ${surface}: ${JSON.stringify(log)}`);
      assert.ok(log.keyId == null && log.userId == null, `${label}: no principal on a refusal`);
      const line = await rawLogLine(g, r.trace);
      for (const c of credentials) for (const p of secretPartsOf(c)) assert.ok(!line.includes(p), `${label}: the log line holds the credential: ${line}`);
    }
  }

  test("API keys: missing, malformed, unknown_key, bad_secret, revoked, expired", async () => {
    const [, goodId] = KEY_RE.exec(good.key);
    await assertReason(gw, {}, "missing", "no header");
    await assertReason(gw, { authorization: "Bearer " }, "missing", "an empty bearer");
    await assertReason(gw, bearer(good.key.slice(0, -1)), "malformed", "a key one character short");
    await assertReason(gw, bearer("sk-proj-not-a-gateway-key"), "malformed", "another vendor's key");
    await assertReason(gw, xApiKey("not-a-key-at-all"), "malformed", "junk in x-api-key");
    await assertReason(gw, bearer(`gwk_${randomId()}_${randomSecret()}`), "unknown_key", "a well-formed key with an unknown id");
    await assertReason(gw, xApiKey(`gwk_${randomId()}_${randomSecret()}`), "unknown_key", "unknown id in x-api-key");
    await assertReason(gw, bearer(`gwk_${goodId}_${randomSecret()}`), "bad_secret", "a known id, a wrong secret");
    await assertReason(gw, bearer(revoked.key), "revoked", "a revoked key");
    await assertReason(gw, xApiKey(revoked.key), "revoked", "a revoked key in x-api-key");
    await assertReason(gw, bearer(shortLived.key), "expired", "a key past its expiresAt");
    assert.equal((await chatOn(gw, "chat", bearer(good.key))).status, 200, "the good key still works");
  });

  test("end-user tokens: bad_signature, wrong_audience, token_expired, not_yet_valid, lifetime_too_long, bad_algorithm, bad_claim, token_in_api_key_header", async () => {
    const now = nowS();
    const cases = [
      [userToken({}, { secret: "not-the-tenant-secret-0123456789" }), "bad_signature", "signed with another secret"],
      [(() => { const [h, , s] = userToken().split("."); return `${h}.${Buffer.from(JSON.stringify({ sub: "mallory", aud: "acme", exp: now + 600 })).toString("base64url")}.${s}`; })(), "bad_signature", "payload swapped"],
      [userToken({ aud: "globex" }), "wrong_audience", "another tenant's audience"],
      [userToken({ exp: now - 10 }), "token_expired", "exp in the past"],
      [userToken({ nbf: now + 600 }), "not_yet_valid", "nbf in the future"],
      [userToken({ exp: now + 24 * 3600 + 600 }), "lifetime_too_long", "exp over 24 h ahead"],
      [userToken({}, { header: { alg: "HS512", typ: "JWT" } }), "bad_algorithm", "HS512"],
      [userToken({}, { header: { alg: "none", typ: "JWT" } }), "bad_algorithm", "alg none"],
      [userToken({ budget: "5000" }), "bad_claim", "budget as a string"],
      [userToken({ sub: undefined }), "bad_claim", "no sub"],
      [userToken({ exp: undefined }), "bad_claim", "no exp"],
    ];
    for (const [token, reason, label] of cases) await assertReason(gw, bearer(token), reason, label);
    await assertReason(gw, xApiKey(userToken()), "token_in_api_key_header", "a valid token in x-api-key");
    assert.equal((await chatOn(gw, "chat", bearer(userToken()))).status, 200, "a valid token as Bearer works");
  });

  test("no_token_secret: a token when CLIENT_TOKEN_SECRET is unset", async () => {
    const g = await startGateway({ tenant: keysTenant(), vars: { ADMIN_TOKEN } });
    try {
      await assertReason(g, bearer(userToken()), "no_token_secret", "a token, no secret");
      const k = await g.adminKey({ name: "still-works" });
      assert.equal((await chatOn(g, "chat", bearer(k.key))).status, 200, "keys still work without the token secret");
    } finally {
      await g.close();
    }
  });
});

describe("9. failed authentications are throttled per client address (auth.rateLimits.failuresPerIp)", () => {
  const tenant = (rateLimits) => keysTenant({ auth: { mode: "api-keys", keyCacheSeconds: 1, ...(rateLimits ? { rateLimits } : {}) } });
  const LIMITER = { AUTH_FAILURE_LIMITER: { simple: { limit: 5, period: 60 } } };
  const badKey = () => `gwk_${randomId()}_${randomSecret()}`;
  const ip = (a) => ({ "cf-connecting-ip": a });
  /** The binding counts per calendar minute in Miniflare: start well inside one. */
  async function awayFromMinuteEdge() {
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 20_000) await sleep(left + 250);
  }

  test("5 failures from one address are 401, then 429 rate_limited (retry-after 60) even for a valid key; another address is unaffected", async () => {
    const gw = await startAuthGateway({ tenant: tenant({ failuresPerIp: 5 }), ratelimits: LIMITER });
    try {
      const health = await request(gw, "/health", { method: "GET" });
      assert.equal(health.status, 200, health.text);
      assert.equal(health.body.auth.rateLimits.failuresPerIp, 5, health.text);
      const good = await gw.adminKey({ name: "good" });
      await awayFromMinuteEdge();
      const statuses = [];
      for (let i = 0; i < 8; i++) {
        const surface = SURFACES[i % 2];
        const r = await chatOn(gw, surface, { ...bearer(badKey()), ...ip("203.0.113.7") });
        statuses.push(r.status);
        if (i < 5) assertUnauthorized(r, surface);
        else {
          assertError(r, surface, 429, "rate_limited");
          assert.equal(r.headers.get("retry-after"), "60", r.text);
        }
      }
      console.log(`# failed authentications from 203.0.113.7: ${statuses.join(" ")}`);
      // While throttled, even a valid key from that address is refused, before it is checked.
      for (const surface of SURFACES) {
        const r = await chatOn(gw, surface, { ...bearer(good.key), ...ip("203.0.113.7") });
        assertError(r, surface, 429, "rate_limited");
        assert.equal(r.headers.get("retry-after"), "60");
        assert.equal(gw.aiCallsFor(r.trace).length, 0);
      }
      // Miniflare keeps a client-sent cf-connecting-ip (it only fills it in when absent), so
      // another address is its own bucket.
      for (const surface of SURFACES) {
        const other = await chatOn(gw, surface, { ...bearer(good.key), ...ip("203.0.113.8") });
        assert.equal(other.status, 200, `203.0.113.8 on ${surface}: ${other.text}`);
      }
      const unthrottled = await chatOn(gw, "chat", bearer(badKey()), {}, { trace: tid("other-ip") });
      assertUnauthorized(unthrottled, "chat");
    } finally {
      await gw.close();
    }
  });

  test("without the binding, or without the setting, 50 bad keys are all 401", async () => {
    const noBinding = await startAuthGateway({ tenant: tenant({ failuresPerIp: 5 }) });
    const noSetting = await startAuthGateway({ tenant: tenant(null), ratelimits: LIMITER });
    try {
      const h = await request(noBinding, "/health", { method: "GET" });
      assert.equal(h.status, 503, h.text);
      assert.match(JSON.stringify(h.body.problems), /AUTH_FAILURE_LIMITER/);
      assert.equal((await request(noSetting, "/health", { method: "GET" })).body.auth.rateLimits.failuresPerIp ?? null, null);
      for (const g of [noBinding, noSetting]) {
        const all = await Promise.all(Array.from({ length: 50 }, (_, i) => chatOn(g, SURFACES[i % 2], { ...bearer(badKey()), ...ip("203.0.113.9") })));
        assert.deepEqual(all.map((r) => r.status), Array(50).fill(401));
      }
    } finally {
      await Promise.all([noBinding.close(), noSetting.close()]);
    }
  });
});

// ----------------------------------------------------------------------------------------- 10
describe("10. end-user tokens only as Bearer; credentials over 8 KB are 431", () => {
  let gw, good;
  before(async () => {
    gw = await startAuthGateway({ tenant: keysTenant() });
    good = await gw.adminKey({ name: "good" });
  });
  after(() => gw?.close());

  test("a valid token in x-api-key is 401 (token_in_api_key_header); as Bearer it works; keys work in both headers", async () => {
    const token = userToken();
    for (const surface of SURFACES) {
      const r = await chatOn(gw, surface, xApiKey(token));
      assertUnauthorized(r, surface, token);
      assert.equal((await gw.logFor(r.trace)).authFailure, "token_in_api_key_header");
      assert.equal((await chatOn(gw, surface, bearer(token))).status, 200);
      assert.equal((await chatOn(gw, surface, bearer(good.key))).status, 200);
      assert.equal((await chatOn(gw, surface, xApiKey(good.key))).status, 200);
    }
  });

  /** 431 credential_too_large in the surface's shape; no AI call, the credential not logged. */
  async function assertTooLarge(headers, credential, label) {
    for (const surface of SURFACES) {
      const r = await chatOn(gw, surface, headers, {}, { trace: tid("large") });
      assert.equal(r.status, 431, `${label} on ${surface}: ${r.status} ${r.text.slice(0, 300)}`);
      assert.match(r.headers.get("content-type") || "", /^application\/json/);
      assert.equal(r.headers.get("x-trace-id"), r.trace);
      assert.deepEqual(Object.keys(r.body), ["error"]);
      const e = r.body.error;
      assert.equal(e.code, "credential_too_large", r.text);
      assert.ok(typeof e.message === "string" && e.message.length > 0);
      if (surface === "chat") assert.equal(e.traceId, r.trace);
      else {
        assert.equal(e.type, "invalid_request_error", r.text);
        assert.equal(e.param, null, r.text);
      }
      assert.ok(r.text.length < 1000, "the answer does not echo the credential");
      assert.equal(gw.aiCallsFor(r.trace).length, 0);
      const line = await rawLogLine(gw, r.trace);
      assert.equal(JSON.parse(line.slice(line.indexOf("{"))).errorCode, "credential_too_large");
      assert.ok(line.length < 2000, `${label}: a log line of ${line.length} characters`);
      for (const p of secretPartsOf(credential)) assert.ok(!line.includes(p), "the log line holds the credential");
    }
  }

  test("8,193 bytes as Bearer or x-api-key: 431 credential_too_large; 8,192 bytes is still read (401)", async () => {
    const long = "a".repeat(8193);
    await assertTooLarge(bearer(long), long, "an 8,193-byte bearer");
    await assertTooLarge(xApiKey(long), long, "an 8,193-byte x-api-key");
    const gwkLong = `gwk_${randomId()}_${"A".repeat(8193 - 17)}`;
    assert.equal(gwkLong.length, 8193);
    await assertTooLarge(bearer(gwkLong), gwkLong, "an 8,193-byte gwk_ key");
    for (const surface of SURFACES) {
      const r = await chatOn(gw, surface, bearer("a".repeat(8192)));
      assertUnauthorized(r, surface);
      assert.equal((await gw.logFor(r.trace)).authFailure, "malformed");
    }
  });

  test("an 85 KB validly signed token is refused likewise (431)", async () => {
    const token = userToken({ pad: "x".repeat(85 * 1024) });
    assert.ok(token.length > 85 * 1024);
    await assertTooLarge(bearer(token), token, "an 85 KB token");
    const small = userToken({ pad: "x".repeat(1000) });
    assert.equal((await chatOn(gw, "chat", bearer(small))).status, 200, "the same token with a small pad works");
  });
});

// ----------------------------------------------------------------------------------------- 11
describe("11. /health reports what no request could get past", () => {
  async function health(gw) {
    const res = await fetch(`${gw.url}/health`);
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text), text };
  }
  function assertUnavailable(h, re) {
    assert.equal(h.status, 503, h.text);
    assert.equal(h.body.status, "unavailable", h.text);
    assert.ok(Array.isArray(h.body.problems) && h.body.problems.length > 0, h.text);
    assert.ok(h.body.problems.some((p) => re.test(p)), `no problem matches ${re}: ${h.text}`);
  }
  function assertOk(h) {
    assert.equal(h.status, 200, h.text);
    assert.equal(h.body.status, "ok");
    assert.deepEqual(h.body.problems, []);
  }

  test("api-keys mode with neither ADMIN_TOKEN nor CLIENT_TOKEN_SECRET: 503; either one alone: 200", async () => {
    const none = await startGateway({ tenant: keysTenant() });
    try {
      const h = await health(none);
      assertUnavailable(h, /ADMIN_TOKEN/);
      assert.ok(h.body.problems.some((p) => /ADMIN_TOKEN/.test(p) && /CLIENT_TOKEN_SECRET/.test(p)), h.text);
    } finally {
      await none.close();
    }
    for (const vars of [{ ADMIN_TOKEN }, { CLIENT_TOKEN_SECRET }]) {
      const gw = await startGateway({ tenant: keysTenant(), vars });
      try {
        const h = await health(gw);
        assertOk(h);
        for (const s of Object.values(vars)) assert.ok(!h.text.includes(s), "no secret on /health");
      } finally {
        await gw.close();
      }
    }
    const open = await startGateway({ tenant: testTenant() });
    try {
      assertOk(await health(open));
    } finally {
      await open.close();
    }
  });

  test("an AI binding that only runs remotely (as under wrangler dev --local): /health 503 says so, chat is 503 ai_unavailable; a working stand-in is 200", async () => {
    const remote = await startGateway({ tenant: testTenant(), scenarios: { "*": { remoteOnly: true } } });
    try {
      assertUnavailable(await health(remote), /wrangler dev --local/);
      for (const surface of SURFACES) {
        const r = await chatOn(remote, surface, {});
        assert.equal(r.status, 503, `${surface}: ${r.text}`);
        assert.equal(r.body?.error?.code, "ai_unavailable", r.text);
        if (surface === "v1") assert.equal(r.body.error.type, "api_error", r.text);
        else assert.equal(r.body.error.traceId, r.trace);
      }
      assertUnavailable(await health(remote), /wrangler dev --local/);
    } finally {
      await remote.close();
    }
    const working = await startGateway({ tenant: testTenant() });
    try {
      assertOk(await health(working));
      assert.equal((await chatOn(working, "chat", {})).status, 200);
      assertOk(await health(working));
    } finally {
      await working.close();
    }
  });
});
