// Issue 20, parts 1 and 2: what every answer costs, and cost budgets, end to end in workerd.
//
// 1. Every answer carries its cost, equal to the price table's arithmetic (computed here from
//    the reported token counts and the configured price, never read back from the gateway):
//    /chat JSON (x-cost-usd and usage.costUsd), the /chat SSE done event, /ui/chat's data-usage,
//    /v1/chat/completions and /v1/responses (x-cost-usd), the log line; a tenant `pricing`
//    entry, a built-in Workers AI price, a tenant override of a built-in one, cached input on an
//    HTTP provider, estimated usage, fallbacks (every billed attempt at its own price, rounded
//    once per attempt). Unpriced models: `x-cost-usd: unknown`, `costUsd: null`.
// 2. Cost budgets hold exactly under 50 concurrent requests on the Durable Object store, for a
//    key's dailyUsd, the tenant's dailyUsd and an end user's budgetUsd claim: the admitted
//    answers cost at most the limit (0 micro-dollars past it), every reservation that fits is
//    admitted, the ledger (and GET /admin/usage's dailyUsd) holds exactly their sum, and every
//    refusal is a 429 budget_exceeded in dollars with no model call.
// 3. A chain with an unpriced model under a cost budget: 400 model_unpriced, no model call.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { startUpstream } from "../support/openai-upstream.mjs";
import { keysTenant, startAuthGateway, bearer, userToken } from "../support/auth-kit.mjs";
import { micros, usd, costOf, parseSse, post, chatOn, usageOf, until, sum, traceId } from "../support/usage.mjs";

const PRICED = "@cf/test/priced";
const BUILTIN = "@cf/meta/llama-3.1-8b-instruct";
/** Cloudflare's published price of BUILTIN (USD per million tokens), as crates/gateway/src/pricing.rs has it. */
const BUILTIN_PRICE = { input: "0.282", output: "0.827" };
const OVERRIDDEN = "@cf/meta/llama-3.2-1b-instruct"; // built in at 0.027 / 0.201; the tenant overrides it
const PRICES = {
  [PRICED]: { input: "0.282", output: 0.827 }, // a string and a number: both read as decimal text
  [OVERRIDDEN]: { input: 5, output: "7.25" },
  "@cf/test/flaky": { input: "1.1", output: "3.3" },
  "@cf/test/quiet": { input: "0.37", output: "2.9" },
  "corp/cached": { input: 2, output: 8, cachedInput: "0.0375" },
};
/** A prompt long enough that its cost is not a handful of micro-dollars (about 760 tokens). */
const LONG = "The quick brown fox jumps over the lazy dog. ".repeat(66);

describe("1. every answer carries its cost", () => {
  let gw, up;
  before(async () => {
    up = await startUpstream({
      scenarios: {
        "*": { text: "Hello from corp" },
        // 1,200 prompt tokens of which 1,000 came from the provider's cache.
        cached: { usage: { prompt_tokens: 1200, completion_tokens: 3, total_tokens: 1203, prompt_tokens_details: { cached_tokens: 1000 } } },
      },
    });
    gw = await startGateway({
      tenant: testTenant({
        models: {
          chat: PRICED,
          fallbacks: [],
          tiers: {
            builtin: BUILTIN, overridden: OVERRIDDEN, free: "@cf/test/free", quiet: "@cf/test/quiet",
            flaky: "@cf/test/flaky", down: "@cf/test/down", freeflaky: "@cf/test/freeflaky",
            cached: "corp/cached", corpfree: "corp/free",
          },
        },
        limits: { maxRequestBytes: 65536, maxOutputTokens: 256, attemptTimeoutMs: 3000 },
        pricing: PRICES,
        providers: { corp: { kind: "openai-compatible", baseUrl: up.url, auth: { type: "none" } } },
      }),
      scenarios: {
        "*": { text: "one two three four five six seven eight nine ten eleven twelve" },
        "@cf/test/quiet": { usage: false, text: "no usage reported for this answer at all" },
        "@cf/test/flaky": { failAfter: 0 },
        "@cf/test/freeflaky": { failAfter: 0 },
        "@cf/test/down": { error: "3040: no capacity" },
      },
    });
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  /** Asserts `r` answered with model `model` and cost `expected` micro-dollars (header, and body where it has one). */
  function assertCost(r, expected, model) {
    assert.equal(r.status, 200, r.text);
    if (model) assert.equal(r.headers.get("x-model-id"), model, r.text);
    const u = usageOf(r);
    // A stream's headers leave before its usage is known: its cost is in the stream.
    if (!(r.headers.get("content-type") || "").includes("event-stream")) {
      assert.equal(r.headers.get("x-cost-usd"), expected === null ? "unknown" : usd(expected), `x-cost-usd for ${JSON.stringify(u)}`);
    }
    if (u.costUsd !== undefined) assert.equal(u.costUsd, expected === null ? null : usd(expected), `usage.costUsd for ${JSON.stringify(u)}`);
    return u;
  }

  test("a tenant-priced model: /chat JSON (header, body, log line) equals ceil(prompt x input + completion x output)", async () => {
    const r = await chatOn(gw, "/chat", {}, { message: LONG });
    const u = usageOf(r);
    assert.equal(u.estimated, false, "the stand-in reports usage");
    assert.ok(u.prompt > 700 && u.completion > 0, JSON.stringify(u));
    const expected = costOf(PRICES[PRICED], u);
    // (prompt x 0.282 + completion x 0.827) micro-dollars, rounded up once: not a whole number here.
    assert.notEqual((u.prompt * 282_000 + u.completion * 827_000) % 1_000_000, 0, "the test exercises the rounding");
    assertCost(r, expected, PRICED);
    assert.equal(r.headers.get("x-tokens-prompt"), String(u.prompt));
    const log = await gw.logFor(r.trace);
    assert.equal(log.tokens.costUsd, usd(expected), JSON.stringify(log));
    assert.equal(log.model, PRICED);
  });

  test("the same model on /chat SSE (done event), /ui/chat (data-usage), /v1/chat/completions and /v1/responses (header)", async () => {
    const s = await chatOn(gw, "/chat", {}, { message: LONG, stream: true });
    assert.equal(s.status, 200, s.text);
    const done = parseSse(s.text).at(-1);
    assert.equal(done.event, "done", s.text.slice(-300));
    assert.equal(done.data.usage.costUsd, usd(costOf(PRICES[PRICED], done.data.usage)), JSON.stringify(done.data));
    assert.equal((await gw.logFor(s.trace)).tokens.costUsd, done.data.usage.costUsd, "the log line of a stream");

    const ui = await chatOn(gw, "/ui/chat", {}, { messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: LONG }] }] });
    const uu = assertCost(ui, costOf(PRICES[PRICED], usageOf(ui)));
    assert.ok(uu.prompt > 700, JSON.stringify(uu));

    const v1 = await chatOn(gw, "/v1/chat/completions", {}, { messages: [{ role: "user", content: LONG }] });
    const vu = usageOf(v1);
    assert.ok(vu.prompt > 700, JSON.stringify(vu));
    assertCost(v1, costOf(PRICES[PRICED], vu), PRICED);

    const resp = await post(gw, "/v1/responses", { input: LONG });
    assert.equal(resp.status, 200, resp.text);
    const ru = { prompt: resp.body.usage.input_tokens, completion: resp.body.usage.output_tokens };
    assert.equal(resp.headers.get("x-cost-usd"), usd(costOf(PRICES[PRICED], ru)), JSON.stringify(resp.body.usage));
  });

  test("a built-in Workers AI price, and a tenant entry overriding a built-in one", async () => {
    const r = await chatOn(gw, "/chat", {}, { message: LONG, modelId: "builtin" });
    const u = usageOf(r);
    assertCost(r, costOf(BUILTIN_PRICE, u), BUILTIN);
    assert.ok(micros(u.costUsd) > 0);

    const o = await chatOn(gw, "/chat", {}, { message: LONG, modelId: "overridden" });
    const ou = usageOf(o);
    assertCost(o, costOf(PRICES[OVERRIDDEN], ou), OVERRIDDEN);
    assert.notEqual(ou.costUsd, usd(costOf({ input: "0.027", output: "0.201" }, ou)), "not the built-in price");
  });

  test("cached input on an HTTP provider is billed at cachedInput", async () => {
    const r = await chatOn(gw, "/chat", {}, { modelId: "cached" });
    const u = usageOf(r);
    assert.deepEqual([u.prompt, u.completion, u.cached], [1200, 3, 1000], JSON.stringify(u));
    // 200 x $2 + 1,000 x $0.0375 + 3 x $8 per million = 400 + 37.5 + 24 -> 462 micro-dollars.
    assert.equal(costOf(PRICES["corp/cached"], u), 462);
    assertCost(r, 462, "corp/cached");
  });

  test("estimated usage (the model reports none) gives the estimate's cost, flagged as estimated", async () => {
    const r = await chatOn(gw, "/chat", {}, { message: LONG, modelId: "quiet" });
    const u = usageOf(r);
    assert.equal(u.estimated, true, JSON.stringify(u));
    assert.equal(r.headers.get("x-tokens-estimated"), "true");
    assertCost(r, costOf(PRICES["@cf/test/quiet"], u), "@cf/test/quiet");
  });

  test("fallbacks: a failed attempt that was billed is priced at its own model's price; a rejected call costs nothing", async () => {
    // The plain answer of the chat model to this message (the stand-in is deterministic).
    const plain = usageOf(await chatOn(gw, "/chat", {}, { message: LONG }));
    const r = await chatOn(gw, "/chat", {}, { message: LONG, modelId: "flaky" });
    assert.equal(r.body.fallback, true, r.text);
    const u = usageOf(r);
    const failedPrompt = u.prompt - plain.prompt;
    assert.ok(failedPrompt > 0, `the failed attempt's prompt is billed: ${JSON.stringify(u)} vs ${JSON.stringify(plain)}`);
    assert.equal(u.completion, plain.completion);
    const expected = costOf(PRICES["@cf/test/flaky"], { prompt: failedPrompt, completion: 0 }) + costOf(PRICES[PRICED], plain);
    assertCost(r, expected, PRICED);

    // A call the unpriced model rejected outright billed nothing: the answer's cost is known.
    const d = await chatOn(gw, "/chat", {}, { message: LONG, modelId: "down" });
    assert.equal(d.body.fallback, true, d.text);
    assert.deepEqual(usageOf(d).prompt, plain.prompt);
    assertCost(d, costOf(PRICES[PRICED], usageOf(d)), PRICED);

    // An unpriced model that was billed (it failed after the call started): the cost is unknown, never a partial sum.
    const f = await chatOn(gw, "/chat", {}, { message: LONG, modelId: "freeflaky" });
    assert.equal(f.body.fallback, true, f.text);
    assertCost(f, null, PRICED);
  });

  test("unpriced models: x-cost-usd unknown and costUsd null on every surface, a Workers AI model and an HTTP provider's", async () => {
    for (const modelId of ["free", "corpfree"]) {
      const model = modelId === "free" ? "@cf/test/free" : "corp/free";
      const r = await chatOn(gw, "/chat", {}, { modelId });
      const u = assertCost(r, null, model);
      assert.ok(u.total > 0, "the tokens are still counted");
      assert.equal((await gw.logFor(r.trace)).tokens.costUsd, null);
      const s = await chatOn(gw, "/chat", {}, { modelId, stream: true });
      assert.equal(parseSse(s.text).at(-1).data.usage.costUsd, null, s.text.slice(-300));
      assert.ok(!s.text.includes('"costUsd":"0.000000"'), "never a silent zero");
      const v1 = await chatOn(gw, "/v1/chat/completions", {}, { model: modelId });
      assertCost(v1, null, model);
      const ui = await chatOn(gw, "/ui/chat", {}, { model: modelId });
      assertCost(ui, null);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Cost budgets under concurrency.

const CAPPED = "@cf/test/capped";
/** Prices that make a request cost a fraction of a micro-dollar more than a whole number. */
const CAPPED_PRICE = { input: "0.37", output: "2.9" };
const LIMIT_USD = "0.000640"; // 640 micro-dollars
const LIMIT = micros(LIMIT_USD);
/**
 * Every answer runs away (it ignores max_tokens), so each is cut at its cap of 16 tokens and
 * costs exactly its reservation; the stand-in holds every answer 1.5 s, so all 50 requests
 * reserve before any settles.
 */
const RUNAWAY = { "*": { ignoreMaxTokens: true, tokens: 400, latencyMs: 1500 } };

/**
 * Fires 50 /chat requests at once with `headers`; checks every answer's cost against the table,
 * and every refusal: 429 budget_exceeded in dollars for `scope`, no model call. Returns
 * { ok, refused, cost (micro-dollars of the admitted answers), tokens, reservation }.
 */
async function fifty(gw, headers, scope) {
  const results = await Promise.all(Array.from({ length: 50 }, () => chatOn(gw, "/chat", headers, { maxTokens: 16 })));
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 429);
  assert.deepEqual(results.filter((r) => r.status !== 200 && r.status !== 429).map((r) => r.text), [], "only answers and refusals");
  for (const r of ok) {
    const u = usageOf(r);
    assert.ok(u.completion <= 16, JSON.stringify(u));
    assert.equal(u.costUsd, usd(costOf(CAPPED_PRICE, u)), JSON.stringify(u));
    assert.equal(r.headers.get("x-cost-usd"), u.costUsd);
  }
  const cost = sum(ok, (r) => micros(usageOf(r).costUsd));
  const reservations = new Set();
  for (const r of refused) {
    const e = r.body.error;
    assert.equal(e.code, "budget_exceeded", r.text);
    assert.match(e.message, new RegExp(`^cost budget exceeded: the ${scope}'s daily limit is \\$${LIMIT_USD.replace(".", "\\.")}, \\$\\d+\\.\\d{6} used or held, this request needs \\$\\d+\\.\\d{6}; it resets at `), e.message);
    assert.equal(e.budget.scope, scope);
    assert.equal(e.budget.unit, "usd");
    assert.equal(e.budget.window, "daily");
    assert.equal(e.budget.limit, LIMIT);
    assert.ok(e.budget.used + e.budget.requested > LIMIT, JSON.stringify(e.budget));
    assert.ok(Number(r.headers.get("retry-after")) > 0);
    assert.equal(gw.aiCallsFor(r.trace).length, 0, "a refused request never reaches the model");
    reservations.add(e.budget.requested);
  }
  assert.equal(reservations.size, 1, `one reservation size: ${[...reservations]}`);
  const [reservation] = reservations;
  // 8 prompt tokens x $0.37 + 16 output tokens x $2.9 per million, rounded up.
  assert.equal(reservation, costOf(CAPPED_PRICE, { prompt: 8, completion: 16 }));
  console.log(`# cost budget (${scope}): ${ok.length} of 50 admitted, ${refused.length} refused, admitted answers cost ${cost} of ${LIMIT} micro-dollars (overshoot ${Math.max(0, cost - LIMIT)}); reservation ${reservation}`);
  assert.ok(cost <= LIMIT, `admitted answers cost ${cost} > limit ${LIMIT}`);
  assert.equal(Math.max(0, cost - LIMIT), 0, "0 micro-dollars past the limit");
  assert.equal(ok.length, Math.floor(LIMIT / reservation), "every reservation that fits is admitted");
  return { ok, refused, cost, tokens: sum(ok, (r) => usageOf(r).total), reservation };
}

/** Waits until the ledger `name` has no open reservation or lease; returns its state. */
async function settledLedger(gw, name) {
  const l = await until(async () => { const s = await gw.ledger(name); return s.reservations.length === 0 && (s.leases ?? []).length === 0 && s; });
  assert.ok(l, `ledger ${name} settled`);
  return l;
}

describe("2. cost budgets hold exactly under 50 concurrent requests (Durable Object ledger)", () => {
  test("a key's dailyUsd: admitted cost <= limit, ledger and /admin/usage equal the answers' sum", async () => {
    const gw = await startAuthGateway({
      tenant: keysTenant({ models: { chat: CAPPED, fallbacks: [], tiers: {} }, pricing: { [CAPPED]: CAPPED_PRICE } }),
      scenarios: RUNAWAY,
    });
    try {
      const k = await gw.adminKey({ name: "cost-key", budget: { dailyUsd: "0.00064", daily: 100000 } });
      assert.deepEqual(k.budget, { daily: 100000, dailyUsd: LIMIT_USD }, "the key record says its dollar budget with 6 decimals");
      const r = await fifty(gw, bearer(k.key), "key");
      const ledger = await settledLedger(gw, `acme/key/${k.id}`);
      assert.equal(ledger.day_micros, r.cost, "the ledger holds exactly what the answers cost");
      assert.equal(ledger.day_used, r.tokens);
      const usage = await gw.admin("GET", "/admin/usage");
      assert.equal(usage.status, 200, usage.text);
      const row = usage.body.keys.find((x) => x.id === k.id);
      assert.ok(row, usage.text);
      assert.deepEqual(row.dailyUsd, { used: usd(r.cost), limit: LIMIT_USD, remaining: usd(LIMIT - r.cost) });
      assert.deepEqual(row.daily, { used: r.tokens, limit: 100000, remaining: 100000 - r.tokens });
      assert.equal(row.monthlyUsd, undefined, "only limited windows are shown");
      // Later requests are refused with what is used now (nothing held any more), on /v1 too.
      const later = await chatOn(gw, "/v1/chat/completions", bearer(k.key), { max_tokens: 16 });
      assert.equal(later.status, 429, later.text);
      assert.equal(later.body.error.code, "budget_exceeded");
      assert.equal(later.body.error.type, "rate_limit_error");
      assert.match(later.body.error.message, /^cost budget exceeded: the key's daily limit/);
      assert.equal(later.body.error.budget.used, r.cost);
    } finally {
      await gw.close();
    }
  });

  test("the tenant's dailyUsd: the same, and /admin/usage shows token and dollar windows", async () => {
    const gw = await startGateway({
      tenant: testTenant({
        models: { chat: CAPPED, fallbacks: [], tiers: {} },
        pricing: { [CAPPED]: CAPPED_PRICE },
        budget: { daily: 100000, monthly: 1000000, dailyUsd: LIMIT_USD, monthlyUsd: "1", store: "durable-object" },
      }),
      vars: { ADMIN_TOKEN: "usage-cost-admin-token" },
      scenarios: RUNAWAY,
    });
    try {
      const health = await (await fetch(`${gw.url}/health`)).json();
      assert.equal(health.status, "ok", JSON.stringify(health.problems));
      const r = await fifty(gw, {}, "tenant");
      const ledger = await settledLedger(gw, "acme");
      assert.equal(ledger.day_micros, r.cost);
      assert.equal(ledger.month_micros, r.cost);
      const usage = await gw.admin("GET", "/admin/usage");
      assert.equal(usage.status, 200, usage.text);
      assert.deepEqual(usage.body.tenant, {
        daily: { used: r.tokens, limit: 100000, remaining: 100000 - r.tokens },
        monthly: { used: r.tokens, limit: 1000000, remaining: 1000000 - r.tokens },
        dailyUsd: { used: usd(r.cost), limit: LIMIT_USD, remaining: usd(LIMIT - r.cost) },
        monthlyUsd: { used: usd(r.cost), limit: "1.000000", remaining: usd(1_000_000 - r.cost) },
      });
    } finally {
      await gw.close();
    }
  });

  test("shrink-to-fit in dollars: the last part of a key's dollar budget answers a stream with the largest cap it pays for", async () => {
    const gw = await startAuthGateway({
      tenant: keysTenant({ models: { chat: CAPPED, fallbacks: [], tiers: {} }, pricing: { [CAPPED]: CAPPED_PRICE }, limits: { maxOutputTokens: 256 } }),
      scenarios: { "*": { ignoreMaxTokens: true, tokens: 400 } },
    });
    try {
      const limit = 300;
      const k = await gw.adminKey({ name: "shrink", budget: { dailyUsd: usd(limit) } });
      // The whole cap (256) costs more than $0.000300; the largest cap that fits after the 8-token prompt:
      let cap = 0;
      while (costOf(CAPPED_PRICE, { prompt: 8, completion: cap + 1 }) <= limit) cap++;
      assert.ok(cap >= 64 && cap < 256, `the test needs a cap between the floor and the whole cap: ${cap}`);
      const s = await chatOn(gw, "/chat", bearer(k.key), { stream: true });
      assert.equal(s.status, 200, s.text);
      assert.equal(s.headers.get("x-max-tokens-reduced"), String(cap));
      const done = parseSse(s.text).at(-1);
      assert.equal(done.event, "done", s.text.slice(-300));
      assert.equal(done.data.maxTokensReduced, cap);
      assert.equal(done.data.finish, "length");
      assert.ok(done.data.usage.completion <= cap, JSON.stringify(done.data.usage));
      const cost = micros(done.data.usage.costUsd);
      assert.equal(cost, costOf(CAPPED_PRICE, done.data.usage));
      assert.ok(cost <= limit, `${cost} > ${limit}`);
      const ledger = await settledLedger(gw, `acme/key/${k.id}`);
      assert.equal(ledger.day_micros, cost);
      // What is left cannot pay for the prompt and the floor (64 output tokens): refused, naming that least amount.
      const r = await chatOn(gw, "/chat", bearer(k.key));
      assert.equal(r.status, 429, r.text);
      assert.equal(r.body.error.budget.requested, costOf(CAPPED_PRICE, { prompt: 8, completion: 64 }));
      assert.equal(r.body.error.budget.used, cost);
    } finally {
      await gw.close();
    }
  });

  test("an end user's budgetUsd claim: the same on the user's ledger; a malformed claim is refused", async () => {
    const gw = await startAuthGateway({
      tenant: keysTenant({ models: { chat: CAPPED, fallbacks: [], tiers: {} }, pricing: { [CAPPED]: CAPPED_PRICE } }),
      scenarios: RUNAWAY,
    });
    try {
      const token = userToken({ sub: "dora", budgetUsd: LIMIT_USD });
      const r = await fifty(gw, bearer(token), "user");
      const ledger = await settledLedger(gw, "acme/user/dora");
      assert.equal(ledger.day_micros, r.cost);
      assert.equal(ledger.day_used, r.tokens);
      // A number claim reads the same; a claim that is not an amount of dollars is no credential.
      const asNumber = await chatOn(gw, "/chat", bearer(userToken({ sub: "dora", budgetUsd: 0.00064 })), { maxTokens: 16 });
      assert.equal(asNumber.status, 429, asNumber.text);
      assert.equal(asNumber.body.error.budget.limit, LIMIT);
      for (const bad of ["lots", "-1", "0.0000001"]) {
        const b = await chatOn(gw, "/chat", bearer(userToken({ sub: "erin", budgetUsd: bad })));
        assert.equal(b.status, 401, `budgetUsd ${bad}: ${b.text}`);
      }
    } finally {
      await gw.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Unpriced models under a cost budget.

describe("3. a chain with an unpriced model under a cost budget: 400 model_unpriced", () => {
  let gw;
  const FREE = "@cf/test/free";
  before(async () => {
    gw = await startAuthGateway({
      // The chat model is priced; its fallback is not, so every chain ends with an unpriced model.
      tenant: keysTenant({ models: { chat: PRICED, fallbacks: [FREE], tiers: {} }, pricing: { [PRICED]: PRICES[PRICED] } }),
      scenarios: { "*": { text: "one two three" } },
    });
  });
  after(() => gw?.close());

  test("a key with a dollar budget: 400 naming the unpriced model, no model call, on /chat and /v1", async () => {
    const k = await gw.adminKey({ name: "usd", budget: { dailyUsd: "1" } });
    const r = await chatOn(gw, "/chat", bearer(k.key));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, "model_unpriced");
    assert.equal(r.body.error.model, FREE, "the first model of the chain without a price, though the primary has one");
    assert.match(r.body.error.message, /no price/);
    assert.equal(r.body.error.traceId, r.trace);
    assert.equal(gw.aiCallsFor(r.trace).length, 0);
    const v1 = await chatOn(gw, "/v1/chat/completions", bearer(k.key));
    assert.equal(v1.status, 400, v1.text);
    assert.equal(v1.body.error.code, "model_unpriced");
    assert.equal(v1.body.error.type, "invalid_request_error");
    assert.equal(gw.aiCallsFor(v1.trace).length, 0);
    const s = await chatOn(gw, "/chat", bearer(k.key), { stream: true });
    assert.equal(s.status, 400, s.text);
    assert.equal(s.body.error.code, "model_unpriced");
  });

  test("an end user with budgetUsd: 400 too; a token budget or none: answered, with the cost of the model that answered", async () => {
    const u = await chatOn(gw, "/chat", bearer(userToken({ sub: "fay", budgetUsd: "1" })));
    assert.equal(u.status, 400, u.text);
    assert.equal(u.body.error.code, "model_unpriced");
    const tokensOnly = await gw.adminKey({ name: "tokens", budget: { daily: 100000 } });
    const none = await gw.adminKey({ name: "none" });
    for (const k of [tokensOnly, none]) {
      const r = await chatOn(gw, "/chat", bearer(k.key));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.model, PRICED);
      assert.equal(r.headers.get("x-cost-usd"), usd(costOf(PRICES[PRICED], r.body.usage)));
    }
  });

  test("a tenant dollar budget with an unpriced model: /health names it, requests get 400 model_unpriced", async () => {
    const t = await startGateway({
      tenant: testTenant({ models: { chat: FREE, fallbacks: [], tiers: {} }, budget: { dailyUsd: "1" } }),
    });
    try {
      const res = await fetch(`${t.url}/health`);
      const health = await res.json();
      assert.equal(res.status, 503, JSON.stringify(health));
      assert.ok(health.problems.some((p) => p.includes("budget.dailyUsd") && p.includes(FREE) && p.includes("pricing")), JSON.stringify(health.problems));
      const r = await post(t, "/chat", { message: "Hi" }, {}, traceId("tenant-unpriced"));
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error.code, "model_unpriced");
      assert.equal(r.body.error.model, FREE);
      assert.equal(t.aiCallsFor(r.trace).length, 0);
    } finally {
      await t.close();
    }
  });
});
