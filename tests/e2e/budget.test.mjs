// Token budgets end to end: reservations, refusals, settlement on every outcome, both stores.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startGateway, testTenant } from "../support/runtime.mjs";

const JSON_HEADERS = { "content-type": "application/json" };
let seq = 0;
const trace = (n) => `${n}-${process.pid}-${++seq}`;

async function chat(gw, body, headers = {}) {
  const t = trace("budget");
  const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { ...JSON_HEADERS, "x-trace-id": t, ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  const sse = (res.headers.get("content-type") || "").includes("event-stream");
  const events = sse ? text.split("\n\n").filter(Boolean).map((b) => ({ event: /^event: (.*)$/m.exec(b)[1], data: JSON.parse(/^data: (.*)$/m.exec(b)[1]) })) : null;
  return { res, status: res.status, trace: t, body: sse ? null : JSON.parse(text), events };
}

const until = async (fn, ms = 8000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
};

function nextUtcMidnight() {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)).toISOString().replace(".000Z", "Z");
}

describe("durable object ledger", () => {
  test("refusal: 429 budget_exceeded, Retry-After to the reset, body with window, limit, used, reset; no AI call", async () => {
    const gw = await startGateway({ tenant: testTenant({ budget: { daily: 100, monthly: 1000, minOutputTokens: 1024 } }) });
    try {
      const r = await chat(gw, { message: "Hi", maxTokens: 200 });
      assert.equal(r.status, 429);
      const b = r.body.error;
      assert.equal(b.code, "budget_exceeded");
      assert.equal(b.traceId, r.trace);
      assert.equal(b.budget.window, "daily");
      assert.equal(b.budget.limit, 100);
      assert.equal(b.budget.used, 0);
      assert.equal(b.budget.requested, 208, "8 estimated prompt tokens + maxTokens 200");
      assert.equal(b.budget.resetsAt, nextUtcMidnight());
      const retry = Number(r.res.headers.get("retry-after"));
      const expected = Math.ceil((Date.parse(nextUtcMidnight()) - Date.now()) / 1000);
      assert.ok(Math.abs(retry - expected) <= 2, `Retry-After ${retry} vs ${expected}`);
      assert.equal(b.budget.retryAfterSecs, retry);
      assert.equal(gw.aiCallsFor(r.trace).length, 0);
      // The monthly window refuses too.
      const gw2 = await startGateway({ tenant: testTenant({ tenantId: "monthly", budget: { daily: 100, monthly: 100, minOutputTokens: 1024 } }) });
      try {
        const r2 = await chat(gw2, { message: "Hi", maxTokens: 95 });
        assert.equal(r2.status, 429);
        assert.equal(r2.body.error.budget.window, "daily");
      } finally {
        await gw2.close();
      }
    } finally {
      await gw.close();
    }
  });

  test("remaining-budget headers, settlement of real usage, health says only 'configured'", async () => {
    const gw = await startGateway({ tenant: testTenant({ budget: { daily: 1000, monthly: 5000 } }) });
    try {
      const a = await chat(gw, { message: "Hi", maxTokens: 50 });
      assert.equal(a.status, 200);
      const used = a.body.usage.total;
      assert.equal(a.res.headers.get("x-budget-remaining-daily"), String(1000 - used));
      assert.equal(a.res.headers.get("x-budget-remaining-monthly"), String(5000 - used));
      const b = await chat(gw, { message: "Hi again", maxTokens: 50 });
      assert.equal(b.res.headers.get("x-budget-remaining-daily"), String(1000 - used - b.body.usage.total));
      const ledger = await gw.ledger("acme");
      assert.equal(ledger.day_used, used + b.body.usage.total);
      assert.equal(ledger.month_used, ledger.day_used);
      assert.deepEqual(ledger.reservations, []);
      const health = await (await fetch(`${gw.url}/health`)).json();
      assert.deepEqual(health.budget, { configured: true, store: "durable-object" });
    } finally {
      await gw.close();
    }
  });

  test("settlement after a failed stream, a fallback and a client disconnect", async () => {
    const gw = await startGateway({
      tenant: testTenant({ budget: { daily: 100000, monthly: 1000000 }, models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"], tiers: { midfail: "@cf/test/midfail", slow: "@cf/test/slow", flaky: "@cf/test/flaky" } } }),
      scenarios: {
        "@cf/test/midfail": { failAfter: 3 },
        "@cf/test/slow": { tokenDelayMs: 50, text: "a b c d e f g h i j k l m n o p q r s t" },
        "@cf/test/flaky": { failAfter: 0 },
      },
    });
    try {
      let total = 0;
      // A stream that fails midway still bills what it streamed.
      const failed = await chat(gw, { message: "Hi", modelId: "midfail", stream: true });
      assert.equal(failed.events.at(-2).event, "error");
      const failedUsage = failed.events.at(-1).data.usage;
      assert.ok(failedUsage.completion >= 3);
      total += failedUsage.total;
      assert.equal((await until(async () => { const l = await gw.ledger("acme"); return l.day_used === total && l; })).day_used, total);

      // A fallback bills every attempt: the flaky model's prompt too.
      const fb = await chat(gw, { message: "Hi", modelId: "flaky", stream: true });
      const done = fb.events.at(-1).data;
      assert.equal(done.fallback, true);
      assert.equal(done.model, "@cf/test/primary");
      total += done.usage.total;
      const backupOnly = await chat(gw, { message: "Hi", stream: true });
      total += backupOnly.events.at(-1).data.usage.total;
      assert.ok(done.usage.total > backupOnly.events.at(-1).data.usage.total, "failed attempt's tokens are included");
      await until(async () => (await gw.ledger("acme")).day_used === total);
      assert.equal((await gw.ledger("acme")).day_used, total);

      // A client that goes away: the rest is drained and settled.
      const t = trace("gone");
      const ac = new AbortController();
      const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { ...JSON_HEADERS, "x-trace-id": t }, body: JSON.stringify({ message: "Hi", modelId: "slow", stream: true }), signal: ac.signal });
      await res.body.getReader().read();
      ac.abort();
      const log = await gw.logFor(t, 15000);
      assert.equal(log.clientDisconnected, true);
      total += log.tokens.total;
      const ledger = await until(async () => { const l = await gw.ledger("acme"); return l.day_used === total && l; });
      assert.ok(ledger, "ledger includes the abandoned stream");
      assert.deepEqual(ledger.reservations, [], "no reservation left open");
    } finally {
      await gw.close();
    }
  });

  test("every model failing settles to what the attempts cost, releasing the reservation", async () => {
    const gw = await startGateway({ tenant: testTenant({ budget: { daily: 1000, monthly: 1000 } }), scenarios: { "*": { error: "3040: no capacity" } } });
    try {
      const r = await chat(gw, { message: "Hi", maxTokens: 100 });
      assert.equal(r.status, 502);
      const ledger = await gw.ledger("acme");
      assert.equal(ledger.day_used, 0, "rejected calls cost nothing");
      assert.deepEqual(ledger.reservations, []);
    } finally {
      await gw.close();
    }
  });

  test("a tenant without a budget is not limited and touches no budget storage", async () => {
    const gw = await startGateway({ tenant: testTenant() });
    try {
      const r = await chat(gw, { message: "Hi", maxTokens: 200 });
      assert.equal(r.status, 200);
      assert.equal(r.res.headers.get("x-budget-remaining-daily"), null);
      assert.deepEqual((await gw.kvTotals("acme")).keys, []);
      const ledger = await gw.ledger("acme");
      assert.equal(ledger.day_used, 0);
    } finally {
      await gw.close();
    }
  });

  test("tenants sharing storage never see or spend each other's budget", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "gw-iso-"));
    try {
      for (const store of ["durable-object", "kv"]) {
        // Reservations: 8 prompt + min(maxTokens, maxOutputTokens 256); no shrink-to-fit here.
        const acme = await startGateway({ persistRoot: root, tenant: testTenant({ budget: { daily: 270, monthly: 270, store, minOutputTokens: 1024 } }) });
        const spent = (await chat(acme, { message: "Hi", maxTokens: 20 })).body.usage.total;
        assert.equal((await chat(acme, { message: "Hi", maxTokens: 500 })).status, 429, `${store}: ${spent} used + 264 reserved > 270`);
        await new Promise((r) => setTimeout(r, 1200)); // let the KV shard flush
        await acme.close();
        const globex = await startGateway({ persistRoot: root, tenant: testTenant({ tenantId: "globex", budget: { daily: 270, monthly: 270, store, minOutputTokens: 1024 } }) });
        try {
          const r = await chat(globex, { message: "Hi", maxTokens: 500 });
          assert.equal(r.status, 200, `${store}: globex is not charged for acme`);
          assert.equal(r.res.headers.get("x-budget-remaining-daily"), String(270 - r.body.usage.total));
          if (store === "durable-object") assert.equal((await globex.ledger("acme")).day_used, spent, "acme's ledger untouched");
        } finally {
          await globex.close();
        }
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

/** Fires `n` requests at once; returns admitted/refused counts and the usage the responses reported. */
async function burst(gw, n) {
  const results = await Promise.all(Array.from({ length: n }, () => chat(gw, { message: "Hi", maxTokens: 20 })));
  const ok = results.filter((r) => r.status === 200);
  return {
    admitted: ok.length,
    refused: results.filter((r) => r.status === 429).length,
    other: results.filter((r) => r.status !== 200 && r.status !== 429).map((r) => r.status),
    reported: ok.reduce((s, r) => s + r.body.usage.total, 0),
  };
}

describe("concurrency: 60 requests in flight at once", () => {
  // Each request reserves 8 (prompt estimate) + 20 (maxTokens) = 28; the limit fits 20 of them.
  const LIMIT = 28 * 20;
  const scenarios = { "*": { latencyMs: 1500, text: "one two three four five" } }; // every reservation is open before any settles

  test("durable object ledger: admitted reservations never exceed the limit; ledger total = reported usage", async () => {
    const gw = await startGateway({ tenant: testTenant({ budget: { daily: LIMIT, monthly: LIMIT * 30 } }), scenarios });
    try {
      const r = await burst(gw, 60);
      console.log(`# DO ledger: admitted ${r.admitted}, refused ${r.refused}, reported ${r.reported} tokens, limit ${LIMIT}`);
      assert.deepEqual(r.other, []);
      assert.equal(r.admitted + r.refused, 60);
      assert.ok(r.admitted * 28 <= LIMIT, `admitted ${r.admitted} reservations of 28 > ${LIMIT}`);
      assert.equal(r.admitted, 20, "every reservation that fits is admitted");
      const ledger = await gw.ledger("acme");
      assert.equal(ledger.day_used, r.reported, "ledger total equals the usage the responses reported");
      assert.ok(ledger.day_used <= LIMIT);
      assert.deepEqual(ledger.reservations, []);
    } finally {
      await gw.close();
    }
  });

  test("KV store: measure overshoot and lost updates (one isolate locally)", async () => {
    const gw = await startGateway({ tenant: testTenant({ budget: { daily: LIMIT, monthly: LIMIT * 30, store: "kv" } }), scenarios });
    try {
      const r = await burst(gw, 60);
      const totals = await until(async () => { const t = await gw.kvTotals("acme"); return t.daily === r.reported && t; }, 5000) || (await gw.kvTotals("acme"));
      const overshoot = Math.max(0, r.admitted * 28 - LIMIT);
      const lost = r.reported - totals.daily;
      console.log(`# KV store: admitted ${r.admitted}, refused ${r.refused}, reserved overshoot ${overshoot} tokens, reported ${r.reported}, KV total ${totals.daily}, lost updates ${lost}`);
      assert.deepEqual(r.other, []);
      assert.equal(overshoot, 0, "within one isolate the in-memory ledger is exact");
      assert.equal(lost, 0, "the shard flush carries every settlement");
      assert.equal(totals.monthly, totals.daily);
    } finally {
      await gw.close();
    }
  });
});

describe("budget leases: far from the limit, requests are admitted from an isolate's lease", () => {
  test("a large budget grants a lease; usage is reported to the ledger; near the limit there is none", async () => {
    const gw = await startGateway({ tenant: testTenant({ budget: { daily: 1_000_000_000, monthly: 10_000_000_000 } }) });
    try {
      // The first request reserves in the ledger and asks for a lease in the background.
      const first = await chat(gw, { message: "Hi", maxTokens: 20 });
      assert.equal(first.status, 200);
      const leased = await until(async () => { const l = await gw.ledger("acme"); return l.leases?.length > 0 && l; });
      assert.ok(leased, "a lease was granted");
      const lease = leased.leases[0];
      assert.ok(lease.granted > 0 && lease.granted <= 28 * 32, `lease ${JSON.stringify(lease)}`);
      // The next ones fit the lease: every token they use reaches the ledger, in the background.
      const rs = [];
      for (let i = 0; i < 10; i++) rs.push(await chat(gw, { message: `Hi ${i}`, maxTokens: 20 }));
      for (const r of rs) assert.equal(r.status, 200);
      const total = [first, ...rs].reduce((s, r) => s + r.body.usage.total, 0);
      const ledger = await until(async () => { const l = await gw.ledger("acme"); return l.day_used === total && l; });
      assert.ok(ledger, `ledger reaches the reported total ${total}`);
      assert.deepEqual(ledger.reservations, [], "lease admissions leave no reservations behind");
      assert.ok(ledger.day_used + ledger.leases.reduce((s, l) => s + l.granted - Math.min(l.used, l.granted), 0) <= 1_000_000_000);
    } finally {
      await gw.close();
    }
    // A budget that fits fewer than 1024 such requests never leases.
    const small = await startGateway({ tenant: testTenant({ budget: { daily: 28 * 1000, monthly: 28 * 30000 } }) });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await chat(small, { message: "Hi", maxTokens: 20 })).status, 200);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual((await small.ledger("acme")).leases ?? [], []);
    } finally {
      await small.close();
    }
  });
});

test("a lease is renewed at half use, and a replaced lease stays held until its last request settles", async () => {
  const gw = await startGateway({
    tenant: testTenant({ budget: { daily: 1_000_000_000, monthly: 10_000_000_000 } }),
    scenarios: { "@cf/test/slow": { tokens: 20, tokenDelayMs: 150 } },
  });
  try {
    const first = await chat(gw, { message: "Hi", maxTokens: 20 });
    assert.equal(first.status, 200);
    const a = (await until(async () => { const l = await gw.ledger("acme"); return l.leases?.length > 0 && l; })).leases[0];
    // A slow stream admitted from lease A: still running while A is replaced.
    const slow = chat(gw, { message: "Hi", modelId: "@cf/test/slow", stream: true, maxTokens: 20 });
    slow.catch(() => {}); // a failed assertion below closes the gateway under it
    await new Promise((r) => setTimeout(r, 100));
    const quick = [];
    let b;
    for (let i = 0; i < 200 && !b; i++) {
      quick.push(await chat(gw, { message: `Hi ${i}`, maxTokens: 20 }));
      b = (await gw.ledger("acme")).leases.find((l) => l.id !== a.id);
    }
    assert.ok(b, "a second lease was granted");
    const quickUsage = quick.reduce((s, r) => s + r.body.usage.total, 0);
    // Asked for at half use, not when A was full.
    assert.ok(quickUsage <= a.granted * 0.6, `renewed after ${quickUsage} of ${a.granted} tokens`);
    // Past the 50 ms in which replaced leases used to be given back.
    await new Promise((r) => setTimeout(r, 400));
    const during = await gw.ledger("acme");
    assert.ok(during.leases.some((l) => l.id === a.id), "A is still held while a request admitted from it runs");
    const s = await slow;
    assert.equal(s.status, 200);
    const done = s.events.find((e) => e.event === "done");
    assert.ok(done, `the slow stream finished: ${JSON.stringify(s.events.at(-1))}`);
    const total = first.body.usage.total + quickUsage + done.data.usage.total;
    const after = await until(async () => {
      const l = await gw.ledger("acme");
      return l.day_used === total && !l.leases.some((x) => x.id === a.id) && l;
    });
    assert.ok(after, `A is given back once its last request settled, and the ledger counts all ${total} tokens`);
  } finally {
    await gw.close();
  }
});

test("an isolate that dies holding a lease makes at most that lease unavailable, until it expires", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "lease-crash-"));
  const tenant = testTenant({ budget: { daily: 1_000_000_000, monthly: 10_000_000_000 } });
  try {
    const gw = await startGateway({ persistRoot: root, tenant });
    let lease;
    try {
      assert.equal((await chat(gw, { message: "Hi", maxTokens: 20 })).status, 200);
      const l = await until(async () => { const x = await gw.ledger("acme"); return x.leases?.length > 0 && x; });
      lease = l.leases[0];
      // One more request admitted from the lease; the isolate then dies before anything else.
      assert.equal((await chat(gw, { message: "Hi", maxTokens: 20 })).status, 200);
    } finally {
      await gw.close();
    }
    const again = await startGateway({ persistRoot: root, tenant });
    try {
      const ledger = await again.ledger("acme");
      const held = ledger.leases.reduce((s, l) => s + l.granted - Math.min(l.used, l.granted), 0);
      const dead = ledger.leases.find((l) => l.id === lease.id);
      assert.ok(dead, "the dead isolate's lease is still held");
      assert.ok(held <= lease.granted, `held ${held} is at most that lease (${lease.granted})`);
      assert.ok(dead.expires_at_ms <= Date.now() + 60_000, "and only until it expires (60 s TTL)");
      // The rest of the budget is unaffected: a new isolate is admitted at once.
      const r = await chat(again, { message: "Hi", maxTokens: 20 });
      assert.equal(r.status, 200);
      assert.equal(Number(r.res.headers.get("x-budget-remaining-daily")) <= 1_000_000_000 - ledger.day_used - held, true);
    } finally {
      await again.close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
