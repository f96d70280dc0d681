// Issue 11: the admin routes (POST/GET/DELETE /admin/keys; /admin/usage is in
// auth-limits.test.mjs), which exist only for a caller with the tenant's ADMIN_TOKEN, and CORS
// with wildcard origin patterns and the auth headers in preflights.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startGateway } from "../support/runtime.mjs";
import {
  ADMIN_TOKEN, CLIENT_TOKEN_SECRET, KEY_RE, bearer, chatOn, request, assertError, assertUnauthorized,
  keysTenant, startAuthGateway, nowS,
} from "../support/auth-kit.mjs";

const sha256 = (s) => crypto.createHash("sha256").update(s).digest("hex");
const ADMIN_ROUTES = [["POST", "/admin/keys", { name: "x" }], ["GET", "/admin/keys"], ["DELETE", "/admin/keys/0123456789ab"], ["GET", "/admin/usage"]];

describe("admin routes", () => {
  let gw;
  before(async () => { gw = await startAuthGateway({ tenant: keysTenant() }); });
  after(() => gw?.close());

  test("POST /admin/keys returns the key once; GET lists metadata only; DELETE revokes", async () => {
    const t0 = nowS();
    const created = await gw.admin("POST", "/admin/keys", { name: "billing-service", budget: { daily: 5000, monthly: 100000 } });
    assert.equal(created.status, 201, created.text);
    const k = created.body;
    const [, id, secret] = KEY_RE.exec(k.key) ?? assert.fail(`key format: ${k.key}`);
    assert.equal(k.id, id);
    assert.equal(k.name, "billing-service");
    assert.deepEqual(k.scopes, ["chat", "models"]);
    assert.deepEqual(k.budget, { daily: 5000, monthly: 100000 });
    assert.equal(k.expiresAt ?? null, null);
    assert.ok(k.createdAt >= t0 - 1 && k.createdAt <= nowS() + 1, `createdAt in unix seconds: ${k.createdAt}`);
    assert.ok(!("hash" in k), "no hash in the answer");
    assert.equal(Buffer.from(secret, "base64url").length, 32, "a 256-bit secret");

    const second = await gw.adminKey({ name: "ci", scopes: ["models"], expiresAt: nowS() + 3600 });
    assert.notEqual(second.id, k.id);
    assert.notEqual(KEY_RE.exec(second.key)[2], secret, "every key has its own random secret");

    const listed = await gw.admin("GET", "/admin/keys");
    assert.equal(listed.status, 200, listed.text);
    const mine = listed.body.keys.find((x) => x.id === k.id);
    assert.deepEqual(
      { id: mine.id, name: mine.name, scopes: mine.scopes, budget: mine.budget, createdAt: mine.createdAt, revoked: mine.revoked },
      { id: k.id, name: "billing-service", scopes: ["chat", "models"], budget: { daily: 5000, monthly: 100000 }, createdAt: k.createdAt, revoked: false },
    );
    assert.equal(listed.body.keys.find((x) => x.id === second.id).expiresAt, second.expiresAt);
    for (const entry of listed.body.keys) {
      assert.ok(!("key" in entry) && !("hash" in entry), `metadata only: ${JSON.stringify(entry)}`);
    }
    for (const s of [k.key, secret, sha256(secret), second.key, KEY_RE.exec(second.key)[2], sha256(KEY_RE.exec(second.key)[2])]) {
      assert.ok(!listed.text.includes(s), "the list shows no key, secret or hash");
    }

    assert.equal((await chatOn(gw, "chat", bearer(k.key))).status, 200);
    const del = await gw.admin("DELETE", `/admin/keys/${k.id}`);
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.body, { id: k.id, revoked: true });
    const relisted = await gw.admin("GET", "/admin/keys");
    assert.equal(relisted.body.keys.find((x) => x.id === k.id).revoked, true, "a revoked key stays listed, marked");
    await new Promise((r) => setTimeout(r, 2100)); // keyCacheSeconds = 1
    assertUnauthorized(await chatOn(gw, "chat", bearer(k.key)), "chat", k.key);

    const unknown = await gw.admin("DELETE", "/admin/keys/0123456789ab");
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.body.error.code, "not_found");
  });

  test("a bad key request is 400 and creates nothing", async () => {
    const count = async () => (await gw.admin("GET", "/admin/keys")).body.keys.length;
    const n = await count();
    for (const body of [
      {},
      { name: "" },
      { name: "n".repeat(65) },
      { name: "x", scopes: ["admin"] },
      { name: "x", budget: { daily: 0, monthly: 100 } },
      { name: "x", budget: { daily: 200, monthly: 100 } },
      { name: "x", expiresAt: "tomorrow" },
    ]) {
      const r = await gw.admin("POST", "/admin/keys", body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(typeof r.body.error.code, "string");
    }
    assert.equal(await count(), n);
  });

  test("without the right ADMIN_TOKEN every admin route is a 404, like an unknown path", async () => {
    const key = await gw.adminKey({ name: "not-an-admin" });
    const wrongTokens = [null, "wrong-admin-token", ADMIN_TOKEN.slice(0, -1), `${ADMIN_TOKEN}x`, key.key, CLIENT_TOKEN_SECRET];
    for (const [method, route, body] of ADMIN_ROUTES) {
      for (const token of wrongTokens) {
        const r = await gw.admin(method, route, body, { token });
        assert.equal(r.status, 404, `${method} ${route} with ${token?.slice(0, 8)}: ${r.text}`);
        assert.equal(r.body.error.code, "not_found");
      }
      const xKey = await request(gw, route, { method, body, headers: { "x-api-key": ADMIN_TOKEN } });
      assert.equal(xKey.status, 404, "the admin token is only accepted as Authorization: Bearer");
    }
    // A worker with no ADMIN_TOKEN secret has no admin routes at all.
    const none = await startGateway({ tenant: keysTenant(), vars: { CLIENT_TOKEN_SECRET } });
    try {
      for (const [method, route, body] of ADMIN_ROUTES) {
        for (const token of [null, ADMIN_TOKEN, ""]) {
          const r = await none.admin(method, route, body, { token });
          assert.equal(r.status, 404, `${method} ${route}: ${r.text}`);
        }
      }
    } finally {
      await none.close();
    }
  });
});

describe("CORS origin patterns", () => {
  let gw, key;
  before(async () => {
    gw = await startAuthGateway({ tenant: keysTenant({ cors: { allowedOrigins: ["https://*.pages.dev", "HTTPS://App.Acme.Example/"] } }) });
    key = await gw.adminKey({ name: "cors" });
  });
  after(() => gw?.close());

  const preflight = (route, origin, headers = "authorization, x-api-key, content-type") =>
    fetch(`${gw.url}${route}`, { method: "OPTIONS", headers: { origin, "access-control-request-method": route === "/v1/models" ? "GET" : "POST", "access-control-request-headers": headers } });

  test("https://*.pages.dev grants subdomains only; entries are normalised; preflight allows authorization and x-api-key", async () => {
    for (const route of ["/chat", "/v1/chat/completions", "/v1/models"]) {
      for (const origin of ["https://x.pages.dev", "https://my-app.pages.dev", "https://app.acme.example"]) {
        const res = await preflight(route, origin);
        assert.equal(res.status, 204, `${route} ${origin}`);
        assert.equal(res.headers.get("access-control-allow-origin"), origin);
        const allowed = (res.headers.get("access-control-allow-headers") || "").toLowerCase().split(/\s*,\s*/);
        for (const h of ["authorization", "x-api-key", "content-type"]) assert.ok(allowed.includes(h), `${h} in ${allowed}`);
        assert.match(res.headers.get("vary") || "", /origin/i);
      }
      for (const origin of ["https://pages.dev", "https://x.pages.dev.evil.example", "http://x.pages.dev", "https://xpages.dev", "https://x.pages.dev:8443", "https://evil.example"]) {
        const res = await preflight(route, origin);
        assert.equal(res.status, 403, `${route} ${origin} must be refused`);
        assert.equal(res.headers.get("access-control-allow-origin"), null, origin);
        assert.equal((await res.json()).error.code, "origin_not_allowed");
      }
    }
  });

  test("a granted origin can read the answer and a 401; a refused origin gets no grant", async () => {
    const ok = await chatOn(gw, "chat", { ...bearer(key.key), origin: "https://x.pages.dev" });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers.get("access-control-allow-origin"), "https://x.pages.dev");
    const denied = await chatOn(gw, "v1", { origin: "https://x.pages.dev" });
    assertUnauthorized(denied, "v1");
    assert.equal(denied.headers.get("access-control-allow-origin"), "https://x.pages.dev", "the page can show the 401");
    const foreign = await chatOn(gw, "chat", { ...bearer(key.key), origin: "https://x.pages.dev.evil.example" });
    assert.equal(foreign.headers.get("access-control-allow-origin"), null);
  });

  test("entries that can never match a browser origin are config errors (/health 503)", async () => {
    for (const cors of [
      { allowedOrigins: ["https://app.acme.example/chat"] },
      { allowedOrigins: ["https://app.acme.example?x=1"] },
      { allowedOrigins: ["https://app acme.example"] },
      { allowedOrigins: ["*"], allowCredentials: true },
    ]) {
      const broken = await startGateway({ tenant: keysTenant({ cors }) });
      try {
        const h = await request(broken, "/health", { method: "GET" });
        assert.equal(h.status, 503, `${JSON.stringify(cors)}: ${h.text}`);
        assert.match(h.body.problems.join("\n"), /cors\.allowedOrigins\[0\]/);
        assertError(await chatOn(broken, "chat", {}), "chat", 500, "config_error");
      } finally {
        await broken.close();
      }
    }
  });
});
