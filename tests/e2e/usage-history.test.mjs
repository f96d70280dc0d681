// Issue 20, part 3: GET /admin/usage/history, exact, end to end in workerd.
//
// - Under concurrency (40 requests at once over two keys, two models and three surfaces, plus an
//   end user and two refusals), today's history totals equal the ledger (GET /admin/usage:
//   tokens and dollars, tenant and each key) and the sum of what the answers reported; grouped
//   by key and model the rows add up per key to each key's ledger; every grouping and filter
//   gives the same numbers; CSV carries the same rows and neutralises a cell that a
//   spreadsheet would read as a formula.
// - A restart on the same storage keeps the history, and it keeps counting.
// - Unpriced requests: costUsd null in their rows, counted in unpricedRequests.
// - Bad queries: 400 invalid_request naming the parameter; no admin token: 404; no USAGE_HISTORY
//   binding: 501 history_off (and GET /admin/usage says null for the month).
//
// Rows are written ~200 ms after a request, in waitUntil: every check polls with a deadline.
// A run that crosses 00:00 UTC would split today's rows; these tests assume it does not.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { ADMIN_TOKEN, keysTenant, startAuthGateway, bearer, userToken } from "../support/auth-kit.mjs";
import { micros, usd, costOf, chatOn, usageOf, until, sum, day, history, settledHistory } from "../support/usage.mjs";

const ALPHA = "@cf/test/alpha";
const BETA = "@cf/test/beta";
const PRICES = { [ALPHA]: { input: "0.41", output: "1.7" }, [BETA]: { input: "0.09", output: "0.33" } };
/** An end user whose id a spreadsheet would run as a formula (and that needs CSV quoting). */
const FORMULA_SUB = '=2+3,"x"';
const SCENARIOS = {
  [ALPHA]: { text: "alpha answers with these eight words right here", latencyMs: 200 },
  [BETA]: { text: "beta says less", latencyMs: 200 },
};
const TENANT = keysTenant({
  models: { chat: ALPHA, fallbacks: [], tiers: { beta: BETA } },
  pricing: PRICES,
  limits: { maxRequestBytes: 16384, maxOutputTokens: 256, attemptTimeoutMs: 3000 },
  // Far from its limits: requests are admitted from leases, whose usage reaches the ledger in the background.
  budget: { daily: 10_000_000, monthly: 100_000_000, dailyUsd: "100", monthlyUsd: "1000", store: "durable-object" },
});

/** Counts of the answers in `rs` (successful ones), by what they reported. */
function tally(rs) {
  const ok = rs.filter((r) => r.status === 200);
  // /v1 bodies carry no cost: theirs is the x-cost-usd header.
  const us = ok.map((r) => { const u = usageOf(r); return { u: { ...u, costUsd: u.costUsd ?? r.headers.get("x-cost-usd") }, model: r.headers.get("x-model-id") }; });
  return {
    requests: rs.length,
    prompt: sum(us, (x) => x.u.prompt),
    completion: sum(us, (x) => x.u.completion),
    total: sum(us, (x) => x.u.total),
    cost: sum(us, (x) => {
      assert.equal(x.u.costUsd, usd(costOf(PRICES[x.model], x.u)), `cost of ${JSON.stringify(x.u)} on ${x.model}`);
      return micros(x.u.costUsd);
    }),
  };
}

/** A history row's (or totals') counts in tally's shape. */
const counts = (row) => ({ requests: row.requests, prompt: row.promptTokens, completion: row.completionTokens, total: row.totalTokens, cost: micros(row.costUsd) });

describe("usage history equals the ledger", () => {
  let root, gw, keys;
  const sent = []; // every request: { key (name or null), model, r }
  /** tally() of the requests sent so far that `pick` selects. */
  const expected = (pick = () => true) => tally(sent.filter(pick).map((s) => s.r));

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "usage-history-"));
    gw = await startAuthGateway({ tenant: TENANT, persistRoot: root, scenarios: SCENARIOS });
    keys = {
      one: await gw.adminKey({ name: "one", budget: { daily: 1_000_000, dailyUsd: "10" } }),
      two: await gw.adminKey({ name: "two", budget: { daily: 1_000_000, dailyUsd: "10" } }),
      tiny: await gw.adminKey({ name: "tiny", budget: { daily: 1 } }),
    };
  });
  after(async () => {
    await gw?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** 40 requests at once: two keys x two models, on /chat (JSON and SSE) and /v1, prompts of different lengths. */
  async function burst(n = 40, tag = "burst") {
    const rs = await Promise.all(Array.from({ length: n }, (_, i) => {
      const key = i % 2 ? "two" : "one";
      const model = (i >> 1) % 2 ? BETA : ALPHA;
      const message = `${tag} ${i} ${"words ".repeat(i)}`;
      const tier = model === BETA ? "beta" : undefined;
      const surface = i % 5 === 4 ? "v1" : i % 3 === 2 ? "sse" : "chat";
      const r = surface === "v1"
        ? chatOn(gw, "/v1/chat/completions", bearer(keys[key].key), { messages: [{ role: "user", content: message }], ...(tier ? { model: tier } : {}) })
        : chatOn(gw, "/chat", bearer(keys[key].key), { message, stream: surface === "sse", ...(tier ? { modelId: tier } : {}) });
      return r.then((r) => ({ key, model, r }));
    }));
    for (const s of rs) {
      assert.equal(s.r.status, 200, s.r.text);
      assert.equal(s.r.headers.get("x-model-id"), s.model);
    }
    sent.push(...rs);
    return rs;
  }

  /** GET /admin/usage once the tenant's ledger holds every token and dollar the answers reported. */
  async function settledUsage() {
    const want = expected();
    let last;
    const got = await until(async () => {
      last = await gw.admin("GET", "/admin/usage");
      const t = last.body?.tenant;
      return t && t.daily.used === want.total && micros(t.dailyUsd.used) === want.cost && last;
    }, 15_000);
    assert.ok(got, `the tenant ledger reached ${want.total} tokens, ${usd(want.cost)} USD: ${last?.text}`);
    return got.body;
  }

  test("40 concurrent requests over two keys and two models, an end user and two refusals: totals equal the ledger", async () => {
    // An end user (no key) and two requests the tiny key's token budget refuses.
    for (let i = 0; i < 3; i++) {
      const r = await chatOn(gw, "/chat", bearer(userToken({ sub: FORMULA_SUB })), { message: `user ${i}` });
      assert.equal(r.status, 200, r.text);
      sent.push({ key: null, user: FORMULA_SUB, model: ALPHA, r });
    }
    for (let i = 0; i < 2; i++) {
      const r = await chatOn(gw, "/chat", bearer(keys.tiny.key));
      assert.equal(r.status, 429, r.text);
      sent.push({ key: "tiny", model: null, r });
    }
    await burst();
    const want = expected();
    assert.equal(want.requests, 45);

    const totals = await settledHistory(gw, want.requests);
    const usage = await settledUsage();
    console.log(`# history totals: ${totals.requests} requests, ${totals.totalTokens} tokens, $${totals.costUsd}; ledger ${usage.tenant.daily.used} tokens, $${usage.tenant.dailyUsd.used}`);
    // The history, the ledger and the answers agree exactly.
    assert.deepEqual(counts(totals), want);
    assert.equal(totals.totalTokens, usage.tenant.daily.used, "history tokens = ledger tokens");
    assert.equal(totals.costUsd, usage.tenant.dailyUsd.used, "history cost = ledger cost");
    assert.equal(totals.promptTokens + totals.completionTokens, totals.totalTokens);
    assert.equal(totals.errors, 2, "the two refusals");
    assert.equal(totals.unpricedRequests, 0);
    // GET /admin/usage's month is the same history (everything happened this month).
    assert.deepEqual(usage.month, totals);
    const user = usage.users.find((u) => u.user === FORMULA_SUB);
    assert.ok(user, JSON.stringify(usage.users));
    assert.deepEqual(counts(user), expected((s) => s.user === FORMULA_SUB));
  });

  test("grouped by key and model, the rows add up per key to each key's ledger and match every answer", async () => {
    const h = await history(gw, { from: day(), to: day(), groupBy: "key,model" });
    assert.equal(h.status, 200, h.text);
    assert.deepEqual(h.body.groupBy, ["key", "model"]);
    assert.deepEqual([h.body.from, h.body.to], [day(), day()]);
    assert.deepEqual(h.body.filters, { key: null, user: null, model: null });
    const idOf = { [keys.one.id]: "one", [keys.two.id]: "two", [keys.tiny.id]: "tiny" };
    const seen = new Set();
    for (const row of h.body.rows) {
      assert.deepEqual(Object.keys(row).sort(), ["completionTokens", "costUsd", "errors", "keyId", "latencyMsMean", "model", "promptTokens", "requests", "totalTokens", "unpricedRequests"], "only the grouped dimensions appear in a row");
      const name = row.keyId === null ? null : idOf[row.keyId];
      assert.notEqual(name, undefined, `an unknown key ${row.keyId}`);
      const want = expected((s) => s.key === name && s.model === row.model);
      assert.ok(want.requests > 0, `a row nobody sent: ${JSON.stringify(row)}`);
      assert.deepEqual(counts(row), want, `${name} on ${row.model}`);
      if (row.model) assert.ok(row.latencyMsMean >= 200, `the stand-in holds every answer 200 ms: ${JSON.stringify(row)}`);
      seen.add(`${name}|${row.model}`);
    }
    assert.deepEqual([...seen].sort(), ["null|@cf/test/alpha", "one|@cf/test/alpha", "one|@cf/test/beta", "tiny|null", "two|@cf/test/alpha", "two|@cf/test/beta"]);
    const tiny = h.body.rows.find((r) => r.keyId === keys.tiny.id);
    assert.deepEqual([tiny.requests, tiny.errors, tiny.totalTokens, tiny.costUsd], [2, 2, 0, "0.000000"]);

    // Per key, the rows add up to the key's ledger (tokens and dollars).
    const usage = (await gw.admin("GET", "/admin/usage")).body;
    for (const name of ["one", "two", "tiny"]) {
      const ledger = usage.keys.find((k) => k.id === keys[name].id);
      assert.ok(ledger, `${name} in /admin/usage`);
      const rows = h.body.rows.filter((r) => r.keyId === keys[name].id);
      assert.equal(sum(rows, (r) => r.totalTokens), ledger.daily.used, `${name}: history tokens = ledger tokens`);
      if (ledger.dailyUsd) assert.equal(usd(sum(rows, (r) => micros(r.costUsd))), ledger.dailyUsd.used, `${name}: history cost = ledger cost`);
    }
    assert.equal(usage.keys.find((k) => k.id === keys.tiny.id).daily.used, 0);
    // The rows add up to the totals.
    assert.deepEqual(counts(h.body.totals), expected());
  });

  test("every grouping and filter gives the same numbers", async () => {
    const q = (query) => history(gw, { from: day(), to: day(), ...query }).then((h) => { assert.equal(h.status, 200, h.text); return h.body; });
    const all = expected();
    const byDay = await q({ groupBy: "day" });
    assert.equal(byDay.rows.length, 1);
    assert.equal(byDay.rows[0].day, day());
    assert.deepEqual(counts(byDay.rows[0]), all);

    const byHour = await q({ groupBy: "hour" });
    for (const r of byHour.rows) assert.match(r.hour, new RegExp(`^${day()}T\\d\\d$`));
    assert.deepEqual(counts(byHour.totals), all);

    const byModel = await q({ groupBy: "model" });
    for (const m of [ALPHA, BETA]) assert.deepEqual(counts(byModel.rows.find((r) => r.model === m)), expected((s) => s.model === m), m);

    const byStatus = await q({ groupBy: "status" });
    assert.deepEqual(byStatus.rows.map((r) => [r.status, r.requests, r.errors]), [["budget_exceeded", 2, 2], ["ok", 43, 0]]);

    const byProvider = await q({ groupBy: "provider" });
    assert.deepEqual(byProvider.rows.map((r) => [r.provider, r.requests]), [[null, 2], ["workers-ai", 43]]);

    const beta = await q({ groupBy: "key", model: BETA });
    assert.deepEqual(counts(beta.totals), expected((s) => s.model === BETA));
    assert.equal(beta.rows.length, 2);

    // A filter value is percent-decoded: the end user whose id has '=', '+', ',' and '"'.
    const user = await q({ groupBy: "user", user: FORMULA_SUB });
    assert.deepEqual(user.rows.map((r) => r.user), [FORMULA_SUB]);
    assert.deepEqual(counts(user.totals), expected((s) => s.user === FORMULA_SUB));

    const nobody = await q({ groupBy: "day", model: "@cf/test/nobody" });
    assert.deepEqual(nobody.rows, []);
    assert.equal(nobody.totals.requests, 0);
    assert.equal(nobody.totals.costUsd, "0.000000");

    // Yesterday holds nothing; the default window (the last 30 days) holds everything.
    const yesterday = await q({ from: day(-1), to: day(-1), groupBy: "day" });
    assert.deepEqual(yesterday.rows, []);
    const dflt = await history(gw, "");
    assert.equal(dflt.status, 200, dflt.text);
    assert.deepEqual([dflt.body.from, dflt.body.to, dflt.body.groupBy], [day(-29), day(), ["day"]]);
    assert.deepEqual(counts(dflt.body.totals), all);
  });

  test("the key filter (docs/api.md: exact filters `key`, `user`, `model`): key=<id> gives that key's rows", async () => {
    const q = (query) => history(gw, { from: day(), to: day(), ...query });
    const oneKey = await q({ groupBy: "model", key: keys.one.id });
    assert.equal(oneKey.status, 200, `GET /admin/usage/history?...&key=${keys.one.id}: ${oneKey.text}`);
    assert.deepEqual(oneKey.body.filters, { key: keys.one.id, user: null, model: null });
    assert.deepEqual(oneKey.body.rows.map((r) => r.model), [ALPHA, BETA]);
    assert.deepEqual(counts(oneKey.body.totals), expected((s) => s.key === "one"));
    const nobody = await q({ groupBy: "day", key: "000000000000" });
    assert.equal(nobody.status, 200, nobody.text);
    assert.deepEqual(nobody.body.rows, []);
  });

  test("CSV: the header, the same rows, and a formula-like cell neutralised and quoted", async () => {
    const json = (await history(gw, { from: day(), to: day(), groupBy: "day,key,model" })).body;
    const h = await history(gw, { from: day(), to: day(), groupBy: "day,key,model" }, { csv: true });
    assert.equal(h.status, 200, h.text);
    assert.match(h.headers.get("content-type") || "", /^text\/csv/);
    const lines = h.text.trimEnd().split("\n");
    const header = "day,keyId,model,requests,errors,promptTokens,completionTokens,totalTokens,costUsd,unpricedRequests,latencyMsMean";
    assert.equal(lines[0], header);
    assert.equal(lines.length - 1, json.rows.length);
    const fields = header.split(",");
    json.rows.forEach((row, i) => {
      // No cell here needs quoting: ids, model refs, numbers; null is empty.
      assert.equal(lines[i + 1], fields.map((f) => (row[f] === null ? "" : String(row[f]))).join(","), `row ${i}`);
    });

    const u = await history(gw, { from: day(), to: day(), groupBy: "user" }, { csv: true });
    const ulines = u.text.trimEnd().split("\n");
    assert.equal(ulines[0], "user,requests,errors,promptTokens,completionTokens,totalTokens,costUsd,unpricedRequests,latencyMsMean");
    const want = expected((s) => s.user === FORMULA_SUB);
    // '=2+3,"x"' -> quoted (it has a comma and quotes, doubled) and prefixed with ' so a spreadsheet shows it as text.
    const formula = ulines.find((l) => l.startsWith('"'));
    assert.ok(formula, u.text);
    assert.ok(formula.startsWith(`"'=2+3,""x""",${want.requests},0,${want.prompt},${want.completion},${want.total},${usd(want.cost)},0,`), formula);
    assert.ok(!ulines.some((l) => l.startsWith("=")), "no line starts with a formula");
    assert.ok(ulines.some((l) => l.startsWith(",")), "the key requests' empty user is an empty cell");
  });

  test("a restart on the same storage keeps the history, and it keeps counting", async () => {
    const q = { from: day(), to: day(), groupBy: "key,model" };
    const before = (await history(gw, q)).body;
    const usageBefore = (await gw.admin("GET", "/admin/usage")).body;
    await gw.close();
    gw = await startAuthGateway({ tenant: TENANT, persistRoot: root, scenarios: SCENARIOS });
    const again = await history(gw, q);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.body, before, "the same rows after the restart");
    const usageAfter = (await gw.admin("GET", "/admin/usage")).body;
    assert.deepEqual(usageAfter.keys.map((k) => [k.id, k.daily.used, k.dailyUsd?.used]), usageBefore.keys.map((k) => [k.id, k.daily.used, k.dailyUsd?.used]));

    // New requests add to the same rows.
    await burst(8, "after-restart");
    const want = expected();
    const totals = await settledHistory(gw, want.requests);
    assert.deepEqual(counts(totals), want);
    const usage = await settledUsage();
    assert.equal(totals.totalTokens, usage.tenant.daily.used);
    assert.equal(totals.costUsd, usage.tenant.dailyUsd.used);
    const rows = (await history(gw, q)).body.rows;
    for (const name of ["one", "two"]) {
      const ledger = usage.keys.find((k) => k.id === keys[name].id);
      const mine = rows.filter((r) => r.keyId === keys[name].id);
      assert.equal(sum(mine, (r) => r.totalTokens), ledger.daily.used, name);
      assert.equal(usd(sum(mine, (r) => micros(r.costUsd))), ledger.dailyUsd.used, name);
    }
  });
});

describe("unpriced requests, bad queries, authentication, no history store", () => {
  const FREE = "@cf/test/free";
  const PRICED = "@cf/test/priced";
  const PRICE = { input: "1.25", output: "4" };
  let gw;
  before(async () => {
    gw = await startGateway({
      tenant: testTenant({ models: { chat: FREE, fallbacks: [], tiers: { priced: PRICED } }, pricing: { [PRICED]: PRICE } }),
      vars: { ADMIN_TOKEN },
      scenarios: { "*": { text: "a b c d" } },
    });
  });
  after(() => gw?.close());

  test("unpriced requests: costUsd null in their rows, counted in unpricedRequests, never as zero", async () => {
    const free = [];
    const priced = [];
    for (let i = 0; i < 3; i++) free.push(await chatOn(gw, "/chat", {}, { message: `free ${i}` }));
    for (let i = 0; i < 2; i++) priced.push(await chatOn(gw, "/chat", {}, { message: `priced ${i}`, modelId: "priced" }));
    for (const r of [...free, ...priced]) assert.equal(r.status, 200, r.text);
    const cost = sum(priced, (r) => costOf(PRICE, usageOf(r)));
    await settledHistory(gw, 5);
    const h = (await history(gw, { from: day(), to: day(), groupBy: "model" })).body;
    const f = h.rows.find((r) => r.model === FREE);
    assert.deepEqual([f.requests, f.unpricedRequests, f.costUsd], [3, 3, null]);
    assert.equal(f.totalTokens, sum(free, (r) => usageOf(r).total));
    const p = h.rows.find((r) => r.model === PRICED);
    assert.deepEqual([p.requests, p.unpricedRequests, p.costUsd], [2, 0, usd(cost)]);
    // Totals: the known part of the cost, and how many requests it leaves out.
    assert.deepEqual([h.totals.requests, h.totals.unpricedRequests, h.totals.costUsd], [5, 3, usd(cost)]);
    const csv = await history(gw, { from: day(), to: day(), groupBy: "model", model: FREE }, { csv: true });
    assert.equal(csv.text.trimEnd().split("\n")[1].split(",")[6], "", "an unknown cost is an empty cell, not 0");
  });

  test("bad queries: 400 invalid_request naming the parameter", async () => {
    const cases = [
      [{ from: day(1), to: day() }, "from", /is after to/],
      [{ groupBy: "day,week" }, "groupBy", /`week` is not one of day, hour, key, user, model, provider, status/],
      [{ groupBy: "model,model" }, "groupBy", /named twice/],
      [{ groupBy: "day,hour" }, "groupBy", /day or hour/],
      [{ from: "2026-02-30" }, "from", /is not a date/],
      [{ to: "2026-13-01" }, "to", /is not a date/],
      [{ from: "yesterday" }, "from", /is not a date/],
      [{ from: "2026-1-05" }, "from", /is not a date/],
      [{ from: day(-400), to: day() }, "from", /daily rows are kept for 400 days/],
      [{ from: day(-20), groupBy: "hour" }, "from", /hourly rows are kept for 14 days/],
      [{ week: "1" }, "week", /unknown parameter/],
    ];
    for (const [query, field, message] of cases) {
      const h = await history(gw, query);
      assert.equal(h.status, 400, `${JSON.stringify(query)}: ${h.text}`);
      assert.equal(h.body.error.code, "invalid_request", h.text);
      assert.equal(h.body.error.field, field, h.text);
      assert.match(h.body.error.message, message, h.text);
    }
    // The edges of what is kept are fine.
    for (const query of [{ from: day(-399), to: day() }, { from: day(-13), groupBy: "hour" }, { groupBy: "" }]) {
      const h = await history(gw, query);
      assert.equal(h.status, 200, `${JSON.stringify(query)}: ${h.text}`);
    }
  });

  test("without the admin token the route is a 404, like every admin route (tests/e2e/auth-admin.test.mjs)", async () => {
    for (const token of [null, "not-the-admin-token", `${ADMIN_TOKEN}x`]) {
      for (const csv of [false, true]) {
        const h = await history(gw, { groupBy: "day" }, { token, csv });
        assert.equal(h.status, 404, h.text);
        assert.equal(h.body.error.code, "not_found", h.text);
        assert.ok(!h.text.includes("totals"), h.text);
      }
    }
  });

  test("no USAGE_HISTORY binding: 501 history_off; requests are still answered; /admin/usage's month is null", async () => {
    const off = await startGateway({
      tenant: testTenant({ models: { chat: PRICED, fallbacks: [], tiers: {} }, pricing: { [PRICED]: PRICE } }),
      vars: { ADMIN_TOKEN },
      durableObjects: {
        BUDGET_LEDGER: { className: "BudgetLedger", useSQLite: true },
        SESSIONS: { className: "ChatSession", useSQLite: true },
      },
    });
    try {
      const r = await chatOn(off, "/chat");
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get("x-cost-usd"), usd(costOf(PRICE, usageOf(r))));
      for (const csv of [false, true]) {
        const h = await history(off, { from: day(), to: day() }, { csv });
        assert.equal(h.status, 501, h.text);
        assert.equal(h.body.error.code, "history_off", h.text);
        assert.ok(h.body.error.message.length > 0);
      }
      const usage = await off.admin("GET", "/admin/usage");
      assert.equal(usage.status, 200, usage.text);
      assert.deepEqual([usage.body.month, usage.body.users], [null, null]);
      const log = await off.logFor(r.trace);
      assert.equal(log.status, 200);
      assert.ok(!off.logs.some((l) => l.includes("usageHistoryError")), "no history, no error");
    } finally {
      await off.close();
    }
  });
});
