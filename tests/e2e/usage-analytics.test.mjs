// Issue 20, part 4: one Analytics Engine data point per metered request, in the documented
// schema (docs/usage.md), through a stand-in dataset that checks the service's limits
// (tests/support/analytics-sim.mjs; Miniflare's own discards every point). Nothing for
// preflights, refused methods or other routes; no raw end-user id or text; without the
// binding nothing is written and nothing fails.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { ADMIN_TOKEN, keysTenant, startAuthGateway, bearer, userToken } from "../support/auth-kit.mjs";
import { micros, costOf, until } from "../support/usage.mjs";

const MODEL = "@cf/test/alpha";
const PRICE = { input: "0.41", output: "1.7" };
const SECRET_WORDS = "zebra-quartz-prompt-text";
const tenant = keysTenant({ models: { chat: MODEL, fallbacks: [] }, pricing: { [MODEL]: PRICE } });
const post = (gw, path, headers, body) => fetch(`${gw.url}${path}`, {
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

describe("Analytics Engine data points", () => {
  let gw;
  before(async () => {
    gw = await startAuthGateway({ tenant, analytics: "gateway_usage", scenarios: { [MODEL]: { text: "four words of answer" } } });
  });
  after(() => gw?.close());

  test("each metered request writes one point: tenant index, the documented blobs and doubles, the user hashed", async () => {
    const key = await gw.adminKey({ name: "analytics" });
    const chat = await post(gw, "/chat", bearer(key.key), { message: `Hi ${SECRET_WORDS}` });
    assert.equal(chat.status, 200);
    const answer = await chat.json();
    const v1 = await post(gw, "/v1/chat/completions", bearer(userToken({ sub: "bob" })), { messages: [{ role: "user", content: SECRET_WORDS }], stream: true });
    assert.equal(v1.status, 200);
    await v1.text();
    const refused = await post(gw, "/chat", bearer(key.key), { message: "x", temperature: 9 });
    assert.equal(refused.status, 400);
    // Not metered: a preflight, a refused method, a route that is not a model route.
    await fetch(`${gw.url}/chat`, { method: "OPTIONS", headers: { origin: "https://x.example", "access-control-request-method": "POST" } });
    await fetch(`${gw.url}/chat`, { method: "GET" });
    await fetch(`${gw.url}/health`);
    await fetch(`${gw.url}/admin/usage`, { headers: bearer(ADMIN_TOKEN) });

    const points = await until(() => { const p = gw.analyticsPoints(); return p.length >= 3 && p; });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(gw.analyticsPoints().length, 3, "one point per metered request, none for OPTIONS, 405, /health, /admin");
    for (const p of points) {
      assert.equal(p.dataset, "gateway_usage");
      assert.deepEqual(p.indexes, ["acme"]);
      assert.equal(p.blobs.length, 8);
      assert.equal(p.doubles.length, 6);
      assert.ok(!JSON.stringify(p).includes(SECRET_WORDS), "no prompt text in a data point");
      assert.ok(!JSON.stringify(p).includes("bob"), "no raw end-user id");
    }
    const byRoute = (r, status) => points.find((p) => p.blobs[5] === r && p.doubles[5] === status);
    const c = byRoute("/chat", 200);
    const u = answer.usage;
    assert.deepEqual(c.blobs, ["acme", key.id, "", MODEL, "workers-ai", "/chat", "ok", answer.finish]);
    assert.deepEqual(c.doubles.slice(0, 3), [u.prompt, u.completion, micros(u.costUsd)]);
    assert.equal(micros(u.costUsd), costOf(PRICE, u), "the point's cost is the answer's");
    assert.ok(c.doubles[3] >= 0 && c.doubles[4] === 0, "latency; no time to first token on a whole answer");

    const s = byRoute("/v1/chat/completions", 200);
    const hash = crypto.createHash("sha256").update("acme:bob").digest("hex").slice(0, 16);
    assert.deepEqual(s.blobs.slice(1, 8), ["", hash, MODEL, "workers-ai", "/v1/chat/completions", "ok", "stop"]);
    assert.ok(s.doubles[4] > 0, "a stream has a time to first token");
    assert.ok(s.doubles[2] > 0 && s.doubles[0] > 0);

    const bad = byRoute("/chat", 400);
    assert.deepEqual(bad.blobs.slice(1, 7), [key.id, "", "", "", "/chat", "invalid_request"]);
    assert.deepEqual(bad.doubles.slice(0, 3), [0, 0, 0]);
  });
});

test("without the binding nothing is written and requests answer as before", async () => {
  const gw = await startAuthGateway({ tenant: keysTenant({ auth: { mode: "open" } }) });
  try {
    const r = await post(gw, "/chat", {}, { message: "Hi" });
    assert.equal(r.status, 200);
    await r.json();
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(gw.analyticsPoints(), []);
    assert.ok(!gw.logs.some((l) => l.includes("analyticsError")));
  } finally {
    await gw.close();
  }
});
