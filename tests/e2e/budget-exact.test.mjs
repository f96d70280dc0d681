// Hardening round 3, items 1-3: no answer past its reservation on any path (whole answers
// from the binding and from an HTTP provider that ignore max_tokens), a lowered budget claim
// enforced while a lease is held, and shrink-to-fit for the last part of a small budget.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { startUpstream } from "../support/openai-upstream.mjs";
import {
  keysTenant, startAuthGateway, bearer, userToken, chatOn, until, sleep, traceId,
} from "../support/auth-kit.mjs";

/** 500 one-token pieces, whatever max_tokens says. */
const RUNAWAY = { ignoreMaxTokens: true, text: Array(500).fill("ab").join(" ") };
const settled = (gw, name) => until(async () => { const l = await gw.ledger(name); return l.reservations.length === 0 && (l.leases ?? []).length === 0 && l; });

function parseSse(text) {
  return text.split("\n\n").filter((b) => b.trim()).map((b) => ({ event: /^event: (.*)$/m.exec(b)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? "null") }));
}

describe("1. whole answers never pass their reservation, whatever the model does", () => {
  async function twentyAtOnce(gw, headers, name) {
    const results = await Promise.all(Array.from({ length: 20 }, () => chatOn(gw, "chat", headers, { message: "Tell me everything", maxTokens: 16 })));
    const ok = results.filter((r) => r.status === 200);
    const other = results.filter((r) => r.status !== 200 && r.status !== 429);
    assert.deepEqual(other.map((r) => r.text), [], "only answers and budget refusals");
    for (const r of ok) {
      assert.equal(r.body.finish, "length", "cut at the cap");
      assert.ok(r.body.usage.completion <= 16, `completion ${r.body.usage.completion} > maxTokens 16`);
    }
    const ledger = await settled(gw, name);
    assert.ok(ledger, "every reservation settled");
    const billed = ok.reduce((n, r) => n + r.body.usage.total, 0);
    return { admitted: ok.length, ledger: ledger.day_used, billed };
  }

  test("the Workers AI binding: a key with 500 tokens a day, 20 concurrent JSON requests", async () => {
    const gw = await startAuthGateway({ tenant: keysTenant({ limits: { maxOutputTokens: 256 } }), scenarios: { "*": RUNAWAY } });
    try {
      const k = await gw.adminKey({ name: "runaway", budget: { daily: 500, monthly: 5000 } });
      const r = await twentyAtOnce(gw, bearer(k.key), `acme/key/${k.id}`);
      console.log(`# whole answers, binding, model ignores max_tokens: ${r.admitted} of 20 admitted, key ledger ${r.ledger} of 500 (overshoot ${Math.max(0, r.ledger - 500)})`);
      assert.ok(r.ledger <= 500, `ledger ${r.ledger} > 500`);
      assert.equal(r.ledger, r.billed, "the ledger holds exactly what the answers reported");
      assert.ok(r.admitted >= 10, `only ${r.admitted} admitted: each reserves 8 + 16`);
    } finally {
      await gw.close();
    }
  });

  test("an HTTP provider that ignores max_tokens: the same, and the upstream is cut off", async () => {
    const up = await startUpstream({ scenarios: { "*": { ignoreMaxTokens: true, tokens: 500 } } });
    const gw = await startAuthGateway({
      tenant: keysTenant({
        providers: { corp: { kind: "openai-compatible", baseUrl: up.url, auth: { type: "none" } } },
        models: { chat: "corp/runaway", fallbacks: [], tiers: {} },
      }),
    });
    try {
      const k = await gw.adminKey({ name: "runaway-http", budget: { daily: 500, monthly: 5000 } });
      const r = await twentyAtOnce(gw, bearer(k.key), `acme/key/${k.id}`);
      console.log(`# whole answers, HTTP provider ignoring max_tokens: ${r.admitted} of 20 admitted, key ledger ${r.ledger} of 500`);
      assert.ok(r.ledger <= 500, `ledger ${r.ledger} > 500`);
      assert.equal(r.ledger, r.billed);
      const sent = up.chatRequests();
      assert.ok(sent.length > 0 && sent.every((q) => q.body.stream === true), "whole answers are streamed from the upstream");
    } finally {
      await gw.close();
      await up.close();
    }
  });
});

describe("2. a lowered budget claim is enforced while a lease is held", () => {
  test("a token with budget 300 after one with budget 100000 (same sub): never more than 300", async () => {
    const gw = await startAuthGateway({ tenant: keysTenant({ limits: { maxOutputTokens: 16 } }), scenarios: { "*": { text: "one two three" } } });
    const ledgerName = "acme/user/carol";
    try {
      const big = bearer(userToken({ sub: "carol", budget: 100000 }));
      assert.equal((await chatOn(gw, "chat", big)).status, 200);
      const leased = await until(async () => { const l = await gw.ledger(ledgerName); return l.leases?.length > 0 && l; });
      assert.ok(leased, "the big budget got a lease");
      for (let i = 0; i < 3; i++) assert.equal((await chatOn(gw, "chat", big)).status, 200);
      const small = bearer(userToken({ sub: "carol", budget: 300 }));
      const burst = await Promise.all(Array.from({ length: 25 }, () => chatOn(gw, "chat", small)));
      assert.deepEqual(burst.filter((r) => r.status !== 200 && r.status !== 429).map((r) => r.text), []);
      // The lease is given back once drained; then the small budget admits again, exactly.
      const released = await until(async () => { const l = await gw.ledger(ledgerName); return (l.leases ?? []).length === 0 && l.reservations.length === 0 && l; });
      assert.ok(released, "the lease sized for the big budget was given back");
      let admittedLater = 0;
      for (let i = 0; i < 40; i++) {
        const r = await chatOn(gw, "chat", small);
        if (r.status === 429) break;
        assert.equal(r.status, 200, r.text);
        admittedLater++;
      }
      const final = await settled(gw, ledgerName);
      const admitted = burst.filter((r) => r.status === 200).length;
      console.log(`# lowered claim: ${admitted} of 25 admitted in the burst, ${admittedLater} after the lease was given back, ledger ${final.day_used} of 300`);
      assert.ok(final.day_used <= 300, `ledger ${final.day_used} > 300`);
      assert.ok(admittedLater > 0, "the small budget still serves once the lease is back");
    } finally {
      await gw.close();
    }
  });
});

describe("3. shrink-to-fit: the last part of a small budget answers with a smaller cap", () => {
  test("a key with 1,100 tokens: reduced instead of refused; header, body and done event say so", async () => {
    const gw = await startAuthGateway({ tenant: keysTenant({ limits: { maxOutputTokens: 1024 } }), scenarios: { "*": { tokens: 2000 } } });
    try {
      const k = await gw.adminKey({ name: "small", budget: { daily: 1100, monthly: 10000 } });
      const h = bearer(k.key);
      // A short first answer: the budget then cannot take prompt + 1,024 any more.
      const first = await chatOn(gw, "chat", h, { maxTokens: 100 });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.headers.get("x-max-tokens-reduced"), null, "the whole cap fitted");
      assert.equal(first.body.maxTokensReduced, undefined);
      const left = 1100 - first.body.usage.total;
      const second = await chatOn(gw, "chat", h, {});
      assert.equal(second.status, 200, second.text);
      const reduced = Number(second.headers.get("x-max-tokens-reduced"));
      assert.equal(reduced, left - 8, "what is left after the 8-token prompt");
      assert.equal(second.body.maxTokensReduced, reduced);
      assert.equal(second.body.finish, "length");
      assert.ok(second.body.usage.completion <= reduced);
      const log = await gw.logFor(second.trace);
      assert.equal(log.maxTokensReduced, reduced);
      // Spent down to below the prompt plus the floor (64): refused, naming the least it needed.
      const ledger = await settled(gw, `acme/key/${k.id}`);
      assert.ok(ledger.day_used <= 1100);
      if (1100 - ledger.day_used >= 8 + 64) {
        const s = await chatOn(gw, "chat", h, { stream: true });
        assert.equal(s.status, 200);
        const done = parseSse(s.text).at(-1);
        assert.equal(done.event, "done");
        assert.ok(done.data.maxTokensReduced > 0);
        assert.equal(s.headers.get("x-max-tokens-reduced"), String(done.data.maxTokensReduced));
      }
      const end = await settled(gw, `acme/key/${k.id}`);
      assert.ok(end.day_used <= 1100, `ledger ${end.day_used} > 1100`);
      const refused = await chatOn(gw, "chat", h, {});
      assert.equal(refused.status, 429, refused.text);
      assert.equal(refused.body.error.budget.requested, 8 + 64, "prompt + budget.minOutputTokens");
      assert.equal(refused.body.error.budget.scope, "key");
    } finally {
      await gw.close();
    }
  });

  test("the OpenAI surface gets the header; budget.minOutputTokens sets the floor", async () => {
    const gw = await startAuthGateway({ tenant: keysTenant({ limits: { maxOutputTokens: 1024 }, budget: { daily: 100000, monthly: 1000000, minOutputTokens: 200 } }), scenarios: { "*": { tokens: 2000 } } });
    try {
      const k = await gw.adminKey({ name: "floor", budget: { daily: 500, monthly: 10000 } });
      const h = bearer(k.key);
      const r = await chatOn(gw, "v1", h, {});
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get("x-max-tokens-reduced"), String(500 - 8), "the key's 500 minus the 8-token prompt");
      assert.equal(r.body.choices[0].finish_reason, "length");
      await settled(gw, `acme/key/${k.id}`);
      const left = 500 - (await gw.ledger(`acme/key/${k.id}`)).day_used;
      const next = await chatOn(gw, "v1", h, {}, { trace: traceId("floor") });
      if (left >= 8 + 200) assert.equal(next.status, 200, next.text);
      else {
        assert.equal(next.status, 429, next.text);
        assert.equal(next.body.error.budget.requested, 8 + 200, "prompt + budget.minOutputTokens 200");
      }
    } finally {
      await gw.close();
    }
  });
});

void sleep;
