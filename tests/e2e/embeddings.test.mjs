// POST /v1/embeddings end to end: the built worker in workerd with the AI stand-in (its bge-*
// models), the unchanged `openai` npm client (whose default encoding is base64), an
// OpenAI-compatible HTTP provider on loopback, batches, budgets, auth scopes and errors.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import OpenAI, { BadRequestError, NotFoundError, PermissionDeniedError, RateLimitError, APIError } from "openai";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { embedText } from "../support/ai-sim.mjs";
import { startAuthGateway, keysTenant, bearer } from "../support/auth-kit.mjs";

const SMALL = "@cf/baai/bge-small-en-v1.5";
const BASE = "@cf/baai/bge-base-en-v1.5";
const MISSING = "@cf/nope/missing-embedder";
let seq = 0;
const traceId = (name) => `emb-${name}-${process.pid}-${++seq}`;
const opts = (trace) => ({ headers: { "x-trace-id": trace } });
/** What the stand-in answers for `text` (float32 values, as the gateway passes them on). */
const expected = (text, model = SMALL, dims = 384) => embedText(text, dims, `${model}/mean`);
/** Float answers are written as the shortest text of each float32: equal once read as float32. */
const f32 = (v) => v.map(Math.fround);
/** The gateway's token estimate: ceil(ASCII chars / 4) + one per other char. */
const estimate = (t) => Math.ceil([...t].filter((c) => c.charCodeAt(0) < 128).length / 4) + [...t].filter((c) => c.charCodeAt(0) >= 128).length;

/** An OpenAI-compatible upstream that answers POST /v1/embeddings (4-number vectors). */
async function startEmbeddingsUpstream() {
  const requests = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      const body = JSON.parse(raw || "{}");
      requests.push({ path: req.url, headers: req.headers, body });
      const send = (status, v) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(v)); };
      if (req.url !== "/v1/embeddings") return send(404, { error: { message: "Invalid URL", type: "invalid_request_error", param: null, code: null } });
      if (body.model === "broken") return send(500, { error: { message: "The server had an error", type: "server_error", param: null, code: null } });
      const data = body.input.map((t, index) => ({ object: "embedding", index, embedding: [t.length, 0.5, -0.25, index] }));
      // Out of order on purpose: the gateway puts them in index order.
      send(200, { object: "list", data: data.reverse(), model: body.model, usage: { prompt_tokens: 7 * body.input.length, total_tokens: 7 * body.input.length } });
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/v1`, requests, close: () => new Promise((r) => server.close(r)) };
}

let gw, budgetGw, keysGw, up;
before(async () => {
  up = await startEmbeddingsUpstream();
  gw = await startGateway({
    tenant: testTenant({
      models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"], tiers: { fast: "@cf/test/fast", embed: [SMALL, BASE] } },
      modelAllowList: [SMALL, BASE, "@cf/baai/bge-m3", MISSING, "@cf/test/plain", "@cf/test/primary", "@cf/test/backup", "@cf/test/fast", "corp/text-embedding-3-small", "corp/broken"],
      limits: { maxRequestBytes: 262144, maxOutputTokens: 256, attemptTimeoutMs: 3000 },
      providers: { corp: { kind: "openai-compatible", baseUrl: up.url, auth: { type: "bearer", key: { secret: "CORP_KEY" } } } },
    }),
    vars: { CORP_KEY: "corp-upstream-key" },
    scenarios: { "*": { text: "Hello" } },
  });
  budgetGw = await startGateway({ tenant: testTenant({ tenantId: "emb-budget", budget: { daily: 200, monthly: 10000, store: "durable-object" } }) });
  keysGw = await startAuthGateway({ tenant: keysTenant({ tenantId: "emb-keys" }) });
});
after(async () => {
  await Promise.all([gw?.close(), budgetGw?.close(), keysGw?.close()]);
  await up?.close();
});

const client = (g = gw, apiKey = "test") => new OpenAI({ baseURL: `${g.url}/v1`, apiKey, maxRetries: 0 });
const post = async (body, g = gw, headers = {}) => {
  const res = await fetch(`${g.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: await res.json() };
};

describe("openai (npm) embeddings.create", () => {
  test("a string: the SDK asks for base64 by default and gets the model's float32 vector", async () => {
    const t = traceId("string");
    const { data, response } = await client().embeddings.create({ model: SMALL, input: "How do budgets work?" }, opts(t)).withResponse();
    assert.equal(data.object, "list");
    assert.equal(data.model, SMALL);
    assert.equal(data.data.length, 1);
    assert.equal(data.data[0].object, "embedding");
    assert.equal(data.data[0].index, 0);
    assert.deepEqual(data.data[0].embedding, expected("How do budgets work?"));
    const n = estimate("How do budgets work?");
    assert.deepEqual(data.usage, { prompt_tokens: n, total_tokens: n });
    assert.equal(response.headers.get("x-model-id"), SMALL);
    assert.equal(response.headers.get("x-tokens-prompt"), String(n));
    assert.equal(response.headers.get("x-tokens-completion"), "0");
    assert.equal(response.headers.get("x-tokens-estimated"), "true", "Workers AI reports no usage");
    assert.equal(response.headers.get("x-cost-usd"), "0.000001", "bge-small: $0.02 per M tokens, rounded up");
    const calls = gw.aiCallsFor(t);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0].inputs, { text: ["How do budgets work?"] });
    assert.equal(calls[0].options.gateway.id, "acme-gateway");
    assert.equal(calls[0].options.gateway.metadata.route, "/v1/embeddings");
    const log = await gw.logFor(t);
    assert.equal(log.route, "/v1/embeddings");
    assert.equal(log.model, SMALL);
    assert.equal(log.tokens.prompt, n);
  });

  test("base64 is the little-endian f32 bytes of the float answer (floats in their shortest float32 text)", async () => {
    const input = ["alpha beta", "gamma"];
    const floats = await post({ model: SMALL, input, encoding_format: "float" });
    const b64 = await post({ model: SMALL, input, encoding_format: "base64" });
    assert.equal(floats.status, 200);
    for (const i of [0, 1]) {
      assert.equal(typeof b64.body.data[i].embedding, "string");
      const bytes = Buffer.from(b64.body.data[i].embedding, "base64");
      const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
      assert.deepEqual(decoded, f32(floats.body.data[i].embedding));
      assert.deepEqual(decoded, expected(input[i]));
    }
  });

  test("an array keeps its order; a tier alias names its first model; dimensions may only be the model's", async () => {
    const input = ["one", "two words", "three words here"];
    const r = await client().embeddings.create({ model: "embed", input, encoding_format: "float" });
    assert.equal(r.model, SMALL);
    assert.deepEqual(r.data.map((d) => d.index), [0, 1, 2]);
    r.data.forEach((d, i) => assert.deepEqual(f32(d.embedding), expected(input[i])));
    const total = input.reduce((n, t) => n + estimate(t), 0);
    assert.deepEqual(r.usage, { prompt_tokens: total, total_tokens: total });
    const base = await client().embeddings.create({ model: BASE, input: "x", dimensions: 768 });
    assert.equal(base.data[0].embedding.length, 768);
    await assert.rejects(client().embeddings.create({ model: BASE, input: "x", dimensions: 256 }),
      (e) => e instanceof BadRequestError && e.code === "unsupported_parameter" && e.param === "dimensions");
  });

  test("150 inputs go out as 2 calls (100 + 50) and come back in order", async () => {
    const t = traceId("batch");
    const input = Array.from({ length: 150 }, (_, i) => `document number ${i} about topic ${i % 7}`);
    const r = await client().embeddings.create({ model: SMALL, input }, opts(t));
    assert.equal(r.data.length, 150);
    r.data.forEach((d, i) => {
      assert.equal(d.index, i);
      assert.deepEqual(d.embedding, expected(input[i]), `input ${i}`);
    });
    const calls = gw.aiCallsFor(t);
    assert.deepEqual(calls.map((c) => c.inputs.text.length).sort((a, b) => b - a), [100, 50]);
    assert.deepEqual(calls.flatMap((c) => c.inputs.text).sort(), [...input].sort());
    const total = input.reduce((n, t) => n + estimate(t), 0);
    assert.deepEqual(r.usage, { prompt_tokens: total, total_tokens: total });
  });

  test("errors as chat has them: 404 unknown model, 403 outside the allow-list, 400 not an embedding model", async () => {
    const expectError = (promise, cls, status, code, param) =>
      assert.rejects(promise, (e) => {
        assert.ok(e instanceof cls, `${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.status, status);
        assert.equal(e.code, code);
        if (param !== undefined) assert.equal(e.param, param);
        return true;
      });
    await expectError(client().embeddings.create({ model: MISSING, input: "x" }), NotFoundError, 404, "model_not_found");
    await expectError(client().embeddings.create({ model: "@cf/baai/bge-elsewhere", input: "x" }), PermissionDeniedError, 403, "model_not_allowed", "model");
    await expectError(client().embeddings.create({ model: "@cf/test/plain", input: "x" }), BadRequestError, 400, "invalid_request", "model");
    await expectError(client().embeddings.create({ model: SMALL, input: [1, 2, 3] }), BadRequestError, 400, "unsupported_parameter", "input");
    await expectError(client().embeddings.create({ model: SMALL, input: [[1, 2], [3]] }), BadRequestError, 400, "unsupported_parameter", "input");
    await expectError(client().embeddings.create({ model: SMALL, input: ["a", ""] }), BadRequestError, 400, "invalid_request", "input[1]");
    // Over bge-small's 512 input tokens: Workers AI's 3006 is 413, as on chat.
    await expectError(client().embeddings.create({ model: SMALL, input: "word ".repeat(600) }), APIError, 413, "input_too_large");
    const r = await post({ model: SMALL, input: "x", stream: true });
    assert.equal(r.status, 400);
    assert.deepEqual(Object.keys(r.body.error).sort(), ["code", "message", "param", "type"]);
    assert.equal(r.body.error.param, "stream");
  });

  test("budgets: the input's estimate is reserved and settled; over the budget is 429", async () => {
    const t = traceId("budget");
    const input = "a few words to embed";
    const r = await client(budgetGw).embeddings.create({ model: SMALL, input }, opts(t)).withResponse();
    assert.equal(r.data.usage.total_tokens, estimate(input));
    let ledger;
    for (let i = 0; i < 50; i++) {
      ledger = await budgetGw.ledger("emb-budget");
      if (ledger.day_used === estimate(input) && ledger.reservations.length === 0) break;
      await new Promise((s) => setTimeout(s, 50));
    }
    assert.equal(ledger.day_used, estimate(input));
    assert.deepEqual(ledger.reservations, []);
    assert.equal(r.response.headers.get("x-budget-remaining-daily"), String(200 - estimate(input)));
    await assert.rejects(client(budgetGw).embeddings.create({ model: SMALL, input: "x".repeat(1000) }),
      (e) => e instanceof RateLimitError && e.status === 429 && e.code === "budget_exceeded");
    assert.equal((await budgetGw.ledger("emb-budget")).day_used, estimate(input), "a refusal spends nothing");
  });

  test("auth: the chat scope is needed", async () => {
    const modelsOnly = await keysGw.adminKey({ name: "models-only", scopes: ["models"] });
    const chat = await keysGw.adminKey({ name: "chat" });
    await assert.rejects(client(keysGw, modelsOnly.key).embeddings.create({ model: SMALL, input: "x" }),
      (e) => e instanceof PermissionDeniedError && e.code === "insufficient_scope");
    await assert.rejects(client(keysGw, "gwk_000000000000_nope").embeddings.create({ model: SMALL, input: "x" }), (e) => e.status === 401);
    const ok = await post({ model: SMALL, input: "x" }, keysGw, bearer(chat.key));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.data[0].embedding.length, 384);
  });
});

describe("HTTP providers", () => {
  test("POST {baseUrl}/embeddings with the provider's model id, floats asked for, reported usage", async () => {
    const t = traceId("http");
    const before = up.requests.length;
    const r = await client().embeddings.create({ model: "corp/text-embedding-3-small", input: ["ab", "cde"], user: "u-7" }, opts(t)).withResponse();
    assert.equal(r.data.model, "corp/text-embedding-3-small");
    assert.deepEqual(r.data.data.map((d) => d.embedding), [[2, 0.5, -0.25, 0], [3, 0.5, -0.25, 1]]);
    assert.deepEqual(r.data.usage, { prompt_tokens: 14, total_tokens: 14 });
    assert.equal(r.response.headers.get("x-tokens-estimated"), "false");
    const sent = up.requests.slice(before);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0].body, { model: "text-embedding-3-small", input: ["ab", "cde"], encoding_format: "float", user: "u-7" });
    assert.equal(sent[0].headers.authorization, "Bearer corp-upstream-key");
    assert.equal(sent[0].headers["x-trace-id"], t);
    await assert.rejects(client().embeddings.create({ model: "corp/broken", input: "x" }), (e) => e instanceof APIError && e.status === 502 && e.code === "ai_error");
  });
});
