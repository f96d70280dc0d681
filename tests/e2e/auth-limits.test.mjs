// Issue 11: limits per client. Token budgets per key and per end user (nested in the tenant's,
// Durable Object ledgers `<tenant>/key/<id>` and `<tenant>/user/<sub>`, exact under 50
// concurrent requests, 429 bodies naming the refusing budget), GET /admin/usage, and request
// rate limits per key, per user and (open mode) per client IP with the Rate Limiting binding.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { bearer, chatOn, assertError, keysTenant, startAuthGateway, userToken, usageOf, until, sleep, traceId } from "../support/auth-kit.mjs";

// Each /chat request {message: "Hi", maxTokens: 20} reserves 8 (prompt estimate) + 20 = 28;
// the limit fits exactly 20 of them. The stand-in holds every answer 1.5 s, so all 50
// reservations are open at the same time.
const PER_REQUEST = 28;
const LIMIT = PER_REQUEST * 20;
const HOLD = { "*": { latencyMs: 1500, text: "one two three four five" } };

/** Fires `n` /chat requests with `headers` at once. */
async function burst(gw, n, headers) {
  const results = await Promise.all(Array.from({ length: n }, () => chatOn(gw, "chat", headers, { maxTokens: 20 })));
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 429);
  return {
    admitted: ok.length,
    refused,
    other: results.filter((r) => r.status !== 200 && r.status !== 429).map((r) => `${r.status} ${r.text}`),
    reported: ok.reduce((s, r) => s + usageOf(r), 0),
  };
}

function assertBurst(r, scope, name) {
  console.log(`# ${name}: admitted ${r.admitted}, refused ${r.refused.length}, reported ${r.reported} tokens, limit ${LIMIT}`);
  assert.deepEqual(r.other, []);
  assert.equal(r.admitted + r.refused.length, 50);
  assert.ok(r.admitted * PER_REQUEST <= LIMIT, `admitted ${r.admitted} reservations of ${PER_REQUEST} > ${LIMIT}`);
  assert.equal(r.admitted, 20, "every reservation that fits is admitted");
  for (const x of r.refused) {
    const e = assertError(x, "chat", 429, "budget_exceeded");
    assert.equal(e.budget.scope, scope, x.text);
    assert.equal(e.budget.window, "daily");
    assert.equal(e.budget.limit, LIMIT);
    assert.ok(Number(x.headers.get("retry-after")) > 0);
  }
}

describe("budgets per key and per end user: 50 requests in flight, Durable Object ledger", () => {
  test("per-key budget: 0 overshoot, ledger == reported usage, 429 scope key; /admin/usage agrees", async () => {
    const gw = await startAuthGateway({ tenant: keysTenant(), scenarios: HOLD });
    try {
      const k = await gw.adminKey({ name: "burst", budget: { daily: LIMIT, monthly: LIMIT * 30 } });
      const r = await burst(gw, 50, bearer(k.key));
      assertBurst(r, "key", "per-key DO ledger");
      const ledger = await until(async () => { const l = await gw.ledger(`acme/key/${k.id}`); return l.reservations.length === 0 && l; });
      assert.equal(ledger.day_used, r.reported, "key ledger total equals the usage the responses reported");
      assert.equal(ledger.month_used, r.reported);
      assert.ok(ledger.day_used <= LIMIT);
      assert.equal((await gw.ledger("acme")).day_used, 0, "a tenant without a budget is not charged");

      const usage = await gw.admin("GET", "/admin/usage");
      assert.equal(usage.status, 200, usage.text);
      assert.equal(usage.body.tenant, null, "no tenant budget");
      const entry = usage.body.keys.find((x) => x.id === k.id);
      assert.deepEqual(
        { id: entry.id, name: entry.name, daily: entry.daily, monthly: entry.monthly },
        { id: k.id, name: "burst", daily: { used: r.reported, limit: LIMIT, remaining: LIMIT - r.reported }, monthly: { used: r.reported, limit: LIMIT * 30, remaining: LIMIT * 30 - r.reported } },
      );
    } finally {
      await gw.close();
    }
  });

  test("per-user budget (token claim): 0 overshoot, ledger == reported usage, 429 scope user", async () => {
    const gw = await startAuthGateway({ tenant: keysTenant(), scenarios: HOLD });
    try {
      const r = await burst(gw, 50, bearer(userToken({ sub: "bob", budget: LIMIT })));
      assertBurst(r, "user", "per-user DO ledger");
      const ledger = await until(async () => { const l = await gw.ledger("acme/user/bob"); return l.reservations.length === 0 && l; });
      assert.equal(ledger.day_used, r.reported, "user ledger total equals the usage the responses reported");
      // Another user of the same tenant has a budget of their own.
      const other = await chatOn(gw, "chat", bearer(userToken({ sub: "carol", budget: LIMIT })), { maxTokens: 20 });
      assert.equal(other.status, 200, other.text);
    } finally {
      await gw.close();
    }
  });
});

describe("nested budgets: tenant AND key AND user must admit; the 429 names which refused", () => {
  const SLOW = "@cf/test/slow";
  const scenarios = { [SLOW]: { latencyMs: 2500 }, "*": { text: "short answer" } };

  /**
   * Holds one reservation of 8 + 256 = 264 with a slow request, then sends a second one of 264
   * with the same credential on each surface: against a budget of 400 the second must be refused.
   * The tenants set budget.minOutputTokens to 1024: no shrink-to-fit, so a request that cannot
   * get its whole output cap is refused (shrink-to-fit has its own tests).
   */
  async function holdAndRefuse(gw, headers, scope, { ledgers }) {
    const held = traceId("held");
    const first = chatOn(gw, "chat", headers, { maxTokens: 256, modelId: SLOW }, { trace: held });
    assert.ok(await until(() => gw.aiCallsFor(held).length === 1, 5000), "the slow request holds its reservation");
    const refused = await chatOn(gw, "chat", headers, { maxTokens: 256 });
    const e = assertError(refused, "chat", 429, "budget_exceeded");
    assert.equal(e.budget.scope, scope, refused.text);
    assert.equal(e.budget.window, "daily");
    assert.equal(e.budget.limit, 400);
    assert.equal(e.budget.requested, 264);
    assert.equal(e.budget.used, 264, "used counts the open reservation");
    assert.equal(gw.aiCallsFor(refused.trace).length, 0, "no AI call");
    const v1 = await chatOn(gw, "v1", headers, { max_tokens: 256 });
    assertError(v1, "v1", 429, "budget_exceeded");
    assert.ok(Number(v1.headers.get("retry-after")) > 0);
    const ok = await first;
    assert.equal(ok.status, 200, ok.text);
    // The refused requests left nothing behind in any ledger they passed.
    for (const name of ledgers) {
      const l = await until(async () => { const s = await gw.ledger(name); return s.reservations.length === 0 && s; });
      assert.equal(l.day_used, usageOf(ok), `${name}: only the admitted request is billed`);
    }
  }

  test("the key's budget refuses while the tenant's still admits (scope key)", async () => {
    const gw = await startAuthGateway({ tenant: keysTenant({ budget: { daily: 100000, monthly: 1000000, minOutputTokens: 1024 } }), scenarios });
    try {
      const k = await gw.adminKey({ name: "small", budget: { daily: 400, monthly: 4000 } });
      await holdAndRefuse(gw, bearer(k.key), "key", { ledgers: ["acme", `acme/key/${k.id}`] });
    } finally {
      await gw.close();
    }
  });

  test("the user's budget claim refuses while the tenant's still admits (scope user)", async () => {
    const gw = await startAuthGateway({ tenant: keysTenant({ budget: { daily: 100000, monthly: 1000000, minOutputTokens: 1024 } }), scenarios });
    try {
      await holdAndRefuse(gw, bearer(userToken({ sub: "dave", budget: 400 })), "user", { ledgers: ["acme", "acme/user/dave"] });
    } finally {
      await gw.close();
    }
  });

  test("the tenant's budget refuses while the key's still admits (scope tenant); /admin/usage shows both", async () => {
    const gw = await startAuthGateway({ tenant: keysTenant({ budget: { daily: 400, monthly: 100000, minOutputTokens: 1024 } }), scenarios });
    try {
      const k = await gw.adminKey({ name: "big", budget: { daily: 100000, monthly: 1000000 } });
      await holdAndRefuse(gw, bearer(k.key), "tenant", { ledgers: ["acme", `acme/key/${k.id}`] });
      const used = (await gw.ledger("acme")).day_used;
      const usage = (await gw.admin("GET", "/admin/usage")).body;
      assert.deepEqual(usage.tenant, { daily: { used, limit: 400, remaining: 400 - used }, monthly: { used, limit: 100000, remaining: 100000 - used } });
      assert.deepEqual(usage.keys.find((x) => x.id === k.id).daily, { used, limit: 100000, remaining: 100000 - used });
    } finally {
      await gw.close();
    }
  });
});

/** The binding's window is the calendar minute: start a counted run well inside one. */
async function awayFromMinuteEdge() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 20_000) await sleep(left + 250);
}

/** `n` admitted requests, then refusals: headers on both, alternating surfaces. */
async function assertRateLimited(gw, headers, limit) {
  let last = limit;
  for (let i = 0; i < limit; i++) {
    const surface = i % 2 ? "v1" : "chat";
    const r = await chatOn(gw, surface, headers);
    assert.equal(r.status, 200, `request ${i + 1} of ${limit} on ${surface}: ${r.text}`);
    assert.equal(r.headers.get("x-ratelimit-limit"), String(limit));
    const remaining = Number(r.headers.get("x-ratelimit-remaining"));
    assert.ok(Number.isInteger(remaining) && remaining >= 0 && remaining < limit, `x-ratelimit-remaining ${r.headers.get("x-ratelimit-remaining")}`);
    assert.ok(remaining <= last, "remaining never goes up within the window");
    last = remaining;
  }
  for (const surface of ["chat", "v1"]) {
    const r = await chatOn(gw, surface, headers);
    assertError(r, surface, 429, "rate_limited");
    assert.equal(r.headers.get("retry-after"), "60");
    assert.equal(r.headers.get("x-ratelimit-limit"), String(limit));
    assert.equal(r.headers.get("x-ratelimit-remaining"), "0");
    assert.equal(gw.aiCallsFor(r.trace).length, 0, "no AI call");
  }
}

describe("rate limits (Rate Limiting binding, requests per minute)", () => {
  test("per key: the 6th request of a 5/min key is 429 rate_limited; another key is not affected", async () => {
    const gw = await startAuthGateway({
      tenant: keysTenant({ auth: { rateLimits: { perKey: 5 } } }),
      ratelimits: { KEY_RATE_LIMITER: { simple: { limit: 5, period: 60 } } },
    });
    try {
      const [a, b] = [await gw.adminKey({ name: "a" }), await gw.adminKey({ name: "b" })];
      await awayFromMinuteEdge();
      await assertRateLimited(gw, bearer(a.key), 5);
      const other = await chatOn(gw, "chat", bearer(b.key));
      assert.equal(other.status, 200, other.text);
      const log = await gw.logFor(other.trace);
      assert.equal(log.keyId, b.id);
    } finally {
      await gw.close();
    }
  });

  test("a key's own rateLimit (its record) applies under the tenant's per-key limit", async () => {
    const gw = await startAuthGateway({
      tenant: keysTenant({ auth: { rateLimits: { perKey: 5 } } }),
      ratelimits: { KEY_RATE_LIMITER: { simple: { limit: 5, period: 60 } } },
    });
    try {
      const slow = await gw.adminKey({ name: "slow", rateLimit: 2 });
      assert.equal(slow.rateLimit, 2);
      const listed = await gw.admin("GET", "/admin/keys");
      assert.equal(listed.body.keys.find((k) => k.id === slow.id).rateLimit, 2);
      assert.equal((await gw.admin("POST", "/admin/keys", { name: "bad", rateLimit: 0 })).status, 400);
      await awayFromMinuteEdge();
      await assertRateLimited(gw, bearer(slow.key), 2);
      const other = await gw.adminKey({ name: "other" });
      assert.equal((await chatOn(gw, "chat", bearer(other.key))).status, 200, "another key keeps the tenant's limit");
    } finally {
      await gw.close();
    }
  });

  test("per user: the 4th request of a 3/min user is 429; another user is not affected", async () => {
    const gw = await startAuthGateway({
      tenant: keysTenant({ auth: { rateLimits: { perUser: 3 } } }),
      ratelimits: { USER_RATE_LIMITER: { simple: { limit: 3, period: 60 } } },
    });
    try {
      await awayFromMinuteEdge();
      // A fresh token per request: the limit follows the user (sub), not the token.
      let n = 0;
      const headers = () => bearer(userToken({ sub: "erin", jti: `t${++n}` }));
      for (let i = 0; i < 3; i++) assert.equal((await chatOn(gw, i % 2 ? "v1" : "chat", headers())).status, 200);
      const r = await chatOn(gw, "chat", headers());
      assertError(r, "chat", 429, "rate_limited");
      assert.equal(r.headers.get("retry-after"), "60");
      assert.equal((await chatOn(gw, "chat", bearer(userToken({ sub: "frank" })))).status, 200);
    } finally {
      await gw.close();
    }
  });

  test("open mode: limited per cf-connecting-ip", async () => {
    const gw = await startGateway({
      tenant: testTenant({ auth: { mode: "open", rateLimits: { perIp: 3 } } }),
      ratelimits: { IP_RATE_LIMITER: { simple: { limit: 3, period: 60 } } },
    });
    try {
      await awayFromMinuteEdge();
      await assertRateLimited(gw, { "cf-connecting-ip": "203.0.113.7" }, 3);
      const other = await chatOn(gw, "chat", { "cf-connecting-ip": "203.0.113.8" });
      assert.equal(other.status, 200, other.text);
      assert.equal(other.headers.get("x-ratelimit-limit"), "3");
    } finally {
      await gw.close();
    }
  });
});
