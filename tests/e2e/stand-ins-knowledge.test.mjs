// The knowledge-base stand-ins driven directly: embedding models in the AI stand-in (ai-sim.mjs), the Vectorize stand-in (vectorize-sim.mjs + vectorize-binding.mjs) with its limits, errors and persistence, and their wiring into workerd and startGateway.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Miniflare } from "miniflare";
import { Ai, EMBEDDING_MODELS, embedText } from "../support/ai-sim.mjs";
import { VectorizeSim, vectorizeWorkerOptions } from "../support/vectorize-sim.mjs";
import makeBinding from "../support/vectorize-binding.mjs";
import { ROOT, startGateway, testTenant } from "../support/runtime.mjs";

const BASE = "@cf/baai/bge-base-en-v1.5", SMALL = "@cf/baai/bge-small-en-v1.5", M3 = "@cf/baai/bge-m3";
const cos = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
const ai = (scenarios = {}, env = {}) => new Ai({ scenarios, ...env });
const rejects = (p, re) => assert.rejects(p, (e) => (assert.match(e.message, re), true));
const f32 = (xs) => xs.map(Math.fround);
const ids = (r) => r.matches.map((m) => m.id);

describe("embedding models in the AI stand-in", () => {
  test("each model answers {shape, data, pooling} with its dimensions, unit float32 vectors and no usage", async () => {
    const dims = { [SMALL]: 384, [BASE]: 768, "@cf/baai/bge-large-en-v1.5": 1024, [M3]: 1024 };
    assert.deepEqual(Object.fromEntries(Object.entries(EMBEDDING_MODELS).map(([m, s]) => [m, s.dims])), dims);
    for (const [model, d] of Object.entries(dims)) {
      const one = await ai().run(model, { text: "Budgets cap spending." });
      assert.deepEqual(Object.keys(one).sort(), ["data", "pooling", "shape"]);
      assert.deepEqual(one.shape, [1, d]);
      assert.equal(one.pooling, "mean");
      assert.equal(one.data[0].length, d);
      assert.ok(Math.abs(Math.hypot(...one.data[0]) - 1) < 1e-6, `${model}: unit length`);
      assert.ok(one.data[0].every((x) => Math.fround(x) === x), `${model}: float32 values`);
      const three = await ai().run(model, { text: ["a b", "c d", "e f"] });
      assert.deepEqual(three.shape, [3, d]);
      assert.equal(three.data.length, 3);
    }
  });

  test("vectors are deterministic, batch-independent, case- and plural-insensitive", async () => {
    const a = await ai().run(BASE, { text: "How do budgets work?" });
    const b = await ai().run(BASE, { text: ["other text", "How do budgets work?"] });
    assert.deepEqual(a.data[0], b.data[1]);
    assert.deepEqual(a.data[0], embedText("How do budgets work?", 768, `${BASE}/mean`));
    const [budget, Budgets, policy, policies] = (await ai().run(BASE, { text: ["budget", "Budgets", "policy", "POLICIES"] })).data;
    assert.deepEqual(budget, Budgets);
    assert.deepEqual(policy, policies);
  });

  test("texts sharing words score higher than unrelated ones (pinned cosines)", async () => {
    const { data } = await ai().run(BASE, { text: [
      "How do budgets work?",
      "Budgets cap what each tenant can spend per day and per month.",
      "Rate limits protect the gateway from bursts of requests.",
      "The weather in Oslo is cold and rainy.",
      "how do rate limits work",
    ] });
    const [q, budgets, limits, weather, q2] = data;
    assert.ok(Math.abs(cos(q, budgets) - 0.154605613680161) < 1e-9, `budgets: ${cos(q, budgets)}`);
    assert.equal(cos(q, limits), 0);
    assert.equal(cos(q, weather), 0);
    assert.ok(Math.abs(cos(q2, limits) - 0.3994578707249028) < 1e-9, `limits: ${cos(q2, limits)}`);
    assert.ok(cos(q2, limits) > cos(q2, budgets) && cos(q2, budgets) > cos(q2, weather) - 1e-12);
    const [ab, ba] = (await ai().run(BASE, { text: ["rate limit", "limit rate"] })).data;
    assert.ok(Math.abs(cos(ab, ba) - 0.8888889418707961) < 1e-9, "same words, other bigram");
  });

  test("models and poolings give incompatible vectors; pooling is echoed", async () => {
    const large = (await ai().run("@cf/baai/bge-large-en-v1.5", { text: "budgets" })).data[0];
    const m3 = (await ai().run(M3, { text: "budgets" })).data[0];
    assert.equal(cos(large, m3), 0);
    const cls = await ai().run(BASE, { text: "budgets", pooling: "cls" });
    assert.equal(cls.pooling, "cls");
    assert.equal(cos(cls.data[0], (await ai().run(BASE, { text: "budgets" })).data[0]), 0);
  });

  test("input limits: 100 texts, none empty, a list not empty, 512 tokens per bge-*-en text", async () => {
    assert.deepEqual((await ai().run(SMALL, { text: Array.from({ length: 100 }, (_, i) => `text ${i}`) })).shape, [100, 384]);
    await rejects(ai().run(SMALL, { text: Array.from({ length: 101 }, (_, i) => `text ${i}`) }), /^5006: Error: oneOf at '\/' not met, Array at '\/text' has 101 items, more than maxItems 100$/);
    await rejects(ai().run(SMALL, { text: [] }), /^5006: .*is empty/);
    await rejects(ai().run(SMALL, { text: "" }), /^5006: .*'\/text' is shorter than minLength 1/);
    await rejects(ai().run(SMALL, { text: ["a", ""] }), /^5006: .*'\/text\/1' is shorter/);
    await rejects(ai().run(SMALL, { text: 5 }), /^5006: .*Type mismatch of '\/text'/);
    await rejects(ai().run(SMALL, { prompt: "x" }), /^5006: .*required properties at '\/' are 'text'/);
    await rejects(ai().run(SMALL, { text: "x", pooling: "max" }), /^5006: /);
    const e = await ai().run(SMALL, { text: "x".repeat(2049) }).catch((err) => err);
    assert.equal(e.name, "InferenceUpstreamError");
    assert.equal(e.message, `3006: Request is too large: text 0 is about 513 tokens, ${SMALL} takes at most 512`);
    assert.deepEqual((await ai().run(SMALL, { text: "x".repeat(2048) })).shape, [1, 384]);
    assert.deepEqual((await ai().run(SMALL, { text: "é".repeat(512) })).shape, [1, 384]);
    await rejects(ai().run(SMALL, { text: ["ok", "é".repeat(513)] }), /^3006: .*text 1 is about 513 tokens/);
    const cut = await ai({ [SMALL]: { overLength: "truncate" } }).run(SMALL, { text: `${"word ".repeat(409)}tail` });
    assert.deepEqual(cut.data[0], (await ai().run(SMALL, { text: `${"word ".repeat(409)}tai` })).data[0]);
    await rejects(ai().run(M3, { text: "y".repeat(4 * 8192 + 1) }), /^3006: .*8193 tokens, @cf\/baai\/bge-m3 takes at most 8192/);
    assert.deepEqual((await ai().run(M3, { text: "y".repeat(4 * 8192 + 1), truncate_inputs: true })).shape, [1, 1024]);
  });

  test("failures: unknown model, error, failTimes, unknownModel, hang, latencyMs", async () => {
    await rejects(ai().run("@cf/baai/bge-huge-en", { text: "x" }), /^5007: No such model @cf\/baai\/bge-huge-en or task$/);
    await rejects(ai({ [BASE]: { error: "3040: Capacity temporarily exceeded, please try again." } }).run(BASE, { text: "x" }), /^3040: Capacity temporarily exceeded/);
    await rejects(ai({ [BASE]: { unknownModel: true } }).run(BASE, { text: "x" }), /^5007: No such model @cf\/baai\/bge-base-en-v1.5 or task$/);
    const flaky = ai({ "@cf/baai/bge-large-en-v1.5": { failTimes: 2 } });
    await rejects(flaky.run("@cf/baai/bge-large-en-v1.5", { text: "x" }), /^3040: /);
    await rejects(flaky.run("@cf/baai/bge-large-en-v1.5", { text: "x" }), /^3040: /);
    assert.deepEqual((await flaky.run("@cf/baai/bge-large-en-v1.5", { text: "x" })).shape, [1, 1024]);
    const hung = await Promise.race([ai({ [BASE]: { hang: true } }).run(BASE, { text: "x" }), new Promise((r) => setTimeout(() => r("still waiting"), 200))]);
    assert.equal(hung, "still waiting");
    const t0 = Date.now();
    await ai({ [BASE]: { latencyMs: 150 } }).run(BASE, { text: "x" });
    assert.ok(Date.now() - t0 >= 140);
  });

  test("embedding calls are recorded with their gateway metadata (what gw.aiCallsFor reads)", async () => {
    const bodies = [];
    const server = http.createServer((req, res) => {
      let b = "";
      req.on("data", (c) => (b += c)).on("end", () => (bodies.push(JSON.parse(b)), res.end("ok")));
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    try {
      const sim = ai({}, { recorder: `http://127.0.0.1:${server.address().port}/calls` });
      await sim.run(BASE, { text: ["one", "two"] }, { gateway: { id: "acme-gateway", metadata: { traceId: "trace-emb-1" } } });
      await rejects(sim.run(BASE, { text: [] }, { gateway: { id: "acme-gateway", metadata: { traceId: "trace-emb-2" } } }), /^5006/);
      assert.deepEqual(bodies.map((c) => [c.model, c.options.gateway.metadata.traceId, c.inputs.text.length]), [[BASE, "trace-emb-1", 2], [BASE, "trace-emb-2", 0]]);
    } finally {
      server.close();
    }
  });
});

describe("Vectorize stand-in", () => {
  let sim, kb;
  const META_IX = { kb: "string", aud: "string", n: "number", ok: "boolean", "doc.lang": "string" };
  const A = { id: "a", values: new Float32Array([1, 0, 0, 0]), namespace: "t1", metadata: { kb: "docs", aud: "staff", n: 1, ok: true, doc: { lang: "en" }, title: "Alpha" } };
  const SEED = [
    A,
    { id: "b", values: [0.9, 0.1, 0, 0], namespace: "t1", metadata: { kb: "docs", aud: "all", n: 2, ok: false, doc: { lang: "de" } } },
    { id: "c", values: [0, 1, 0, 0], namespace: "t2", metadata: { kb: "faq", aud: "staff", n: 3, ok: true } },
    { id: "d", values: new Float64Array([0, 0, 1, 0]), metadata: { kb: "faq", n: 10 } },
    { id: "e", values: [-1, 0, 0, 0], namespace: "t1", metadata: { kb: "docs" } },
  ];
  const q = (filter, extra = {}) => kb.query([1, 0, 0, 0], { topK: 10, filter, ...extra }).then(ids);

  before(async () => {
    sim = await VectorizeSim.start({ KB: { dimensions: 4, metadataIndexes: META_IX }, E: { dimensions: 2, metric: "euclidean" }, D: { dimensions: 2, metric: "dot-product" } });
    kb = makeBinding({ url: sim.url, index: "KB" });
    const empty = await kb.describe();
    assert.deepEqual(empty, { vectorCount: 0, dimensions: 4, processedUpToDatetime: null, processedUpToMutation: null });
    const { mutationId, ...rest } = await kb.upsert(SEED);
    assert.match(mutationId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(rest, {});
    const info = await kb.describe();
    assert.equal(info.vectorCount, 5);
    assert.equal(info.processedUpToMutation, mutationId);
    assert.ok(!Number.isNaN(Date.parse(info.processedUpToDatetime)));
  });
  after(() => sim?.close());

  test("query: cosine order, default topK 5, no values or metadata unless asked, namespace on matches", async () => {
    const r = await kb.query(new Float32Array([1, 0, 0, 0]));
    assert.equal(r.count, 5);
    assert.deepEqual(ids(r), ["a", "b", "c", "d", "e"]);
    const [b0, b1] = f32([0.9, 0.1]);
    assert.deepEqual(r.matches.map((m) => m.score), [1, b0 / Math.sqrt(b0 * b0 + b1 * b1), 0, 0, -1]);
    assert.deepEqual(r.matches[0], { id: "a", score: 1, namespace: "t1" });
    assert.deepEqual(r.matches[3], { id: "d", score: 0 });
    const v = await kb.query([1, 0, 0, 0], { topK: 2, returnValues: true });
    assert.deepEqual(v.matches[1].values, [b0, b1, 0, 0]);
    assert.deepEqual((await kb.queryById("c", { topK: 1 })).matches, [{ id: "c", score: 1, namespace: "t2" }]);
    assert.deepEqual(await kb.queryById("nope"), { count: 0, matches: [] });
  });

  test("returnMetadata none / indexed / all / true; false and unknown levels are refused like the real binding", async () => {
    const top = (returnMetadata) => kb.query([1, 0, 0, 0], { topK: 1, returnMetadata }).then((r) => r.matches[0]);
    assert.equal((await top("none")).metadata, undefined);
    assert.deepEqual((await top("all")).metadata, A.metadata);
    assert.deepEqual((await top(true)).metadata, A.metadata);
    assert.deepEqual((await top("indexed")).metadata, { kb: "docs", aud: "staff", n: 1, ok: true, doc: { lang: "en" } });
    await rejects(top(false), /^VECTOR_QUERY_ERROR \(code = 40026\): Failed to parse the request body as JSON: returnMetadata: expected value$/);
    await rejects(top("some"), /^Invalid returnMetadata option\. Expected: true, false, "none", "indexed" or "all"; got: some$/);
  });

  test("metadata filters: implicit $eq, $eq $ne $in $nin, ranges, booleans, dotted keys, AND, unindexed", async () => {
    assert.deepEqual(await q({ kb: "docs" }), ["a", "b", "e"]);
    assert.deepEqual(await q({ kb: { $eq: "faq" } }), ["c", "d"]);
    assert.deepEqual(await q({ kb: { $ne: "docs" } }), ["c", "d"]);
    assert.deepEqual(await q({ aud: { $in: ["staff", "x"] } }), ["a", "c"]);
    assert.deepEqual(await q({ aud: { $nin: ["staff"] } }), ["b", "d", "e"]);
    assert.deepEqual(await q({ aud: { $ne: "staff" } }), ["b", "d", "e"], "a vector without the property passes $ne");
    assert.deepEqual(await q({ aud: { $eq: null } }), ["d", "e"]);
    assert.deepEqual(await q({ n: { $gte: 2, $lt: 10 } }), ["b", "c"]);
    assert.deepEqual(await q({ n: { $gt: 2 } }), ["c", "d"]);
    assert.deepEqual(await q({ kb: { $gte: "do", $lt: "dp" } }), ["a", "b", "e"]);
    assert.deepEqual(await q({ ok: true }), ["a", "c"]);
    assert.deepEqual(await q({ "doc.lang": "en" }), ["a"]);
    assert.deepEqual(await q({ kb: "docs", ok: true }), ["a"]);
    assert.deepEqual(await q({ title: "Alpha" }), [], "no metadata index on title: nothing matches");
    assert.deepEqual(await q({ n: 10 }, { topK: 1 }), ["d"], "the filter applies before topK");
    assert.deepEqual(await q(undefined, { namespace: "t1" }), ["a", "b", "e"]);
    assert.deepEqual(await q(undefined, { namespace: "t2" }), ["c"]);
    assert.deepEqual(await q({ aud: "staff" }, { namespace: "t1" }), ["a"]);
    assert.deepEqual(await q(undefined, { namespace: "none-such" }), []);
    const last = sim.requests("KB").at(-1);
    assert.deepEqual([last.op, last.body.namespace, last.body.topK], ["query", "none-such", 10]);
  });

  test("invalid filters are refused", async () => {
    await rejects(q({}), /^VECTOR_QUERY_ERROR \(code = 40001\): invalid metadata filter: filter must be a non-empty object$/);
    await rejects(q(new Map([["kb", "docs"]])), /code = 40001.*non-empty/, "a Map is sent as {} by JSON.stringify");
    await rejects(q({ $kb: "x" }), /code = 40001.*invalid key/);
    await rejects(q({ 'k"b': "x" }), /code = 40001.*invalid key/);
    await rejects(q({ n: { $lt: 3, $lte: 4 } }), /code = 40001.*range/);
    await rejects(q({ n: { $lt: 3, $ne: 1 } }), /code = 40001.*range/);
    await rejects(q({ kb: "x".repeat(2040) }), /code = 40001.*under 2048/);
    await rejects(q({ kb: { $like: "d" } }), /code = 40026.*unknown operator \$like/);
    await rejects(q({ kb: { $in: "docs" } }), /code = 40026.*expected an array/);
    await rejects(q({ n: { $gt: true } }), /code = 40026/);
  });

  test("topK limits: 100, or 20 with values or all metadata", async () => {
    assert.equal((await kb.query([1, 0, 0, 0], { topK: 100 })).count, 5);
    assert.equal((await kb.query([1, 0, 0, 0], { topK: 20, returnValues: true, returnMetadata: "all" })).count, 5);
    assert.equal((await kb.query([1, 0, 0, 0], { topK: 100, returnMetadata: "indexed" })).count, 5);
    await rejects(kb.query([1, 0, 0, 0], { topK: 101 }), /^VECTOR_QUERY_ERROR \(code = 40025\): max top K is 100, but got 101$/);
    const heavy = /^VECTOR_QUERY_ERROR \(code = 40025\): with returnValues=true or returnMetadata=all, max top K is 20, but got 21; /;
    await rejects(kb.query([1, 0, 0, 0], { topK: 21, returnValues: true }), heavy);
    await rejects(kb.query([1, 0, 0, 0], { topK: 21, returnMetadata: "all" }), heavy);
    await rejects(kb.query([1, 0, 0, 0], { topK: 21, returnMetadata: true }), heavy);
    await rejects(kb.query([1, 0, 0, 0], { topK: 0 }), /code = 40025/);
  });

  test("write errors: dimensions, id and namespace length, metadata size, batch size, bad JSON; a batch is all or nothing", async () => {
    const v = (id, extra = {}) => ({ id, values: [0, 0, 0, 1], ...extra });
    await rejects(kb.query([1, 0, 0]), /^VECTOR_QUERY_ERROR \(code = 40006\): invalid query vector, expected 4 dimensions, and got 3 dimensions$/);
    await rejects(kb.upsert([v("z"), { id: "x", values: [1, 2, 3] }]), /^VECTOR_UPSERT_ERROR \(code = 40012\): invalid vector for id="x", expected 4 dimensions, and got 3 dimensions$/);
    await rejects(kb.insert([{ id: "x", values: [1] }]), /^VECTOR_INSERT_ERROR \(code = 40012\)/);
    assert.deepEqual(await kb.getByIds(["z"]), [], "nothing of a refused batch is written");
    await kb.upsert([v("i".repeat(64))]);
    await rejects(kb.upsert([v("i".repeat(65))]), /^VECTOR_UPSERT_ERROR \(code = 40008\): id too long; max is 64 bytes, got 65 bytes$/);
    await rejects(kb.upsert([v("é".repeat(33))]), /got 66 bytes/);
    await rejects(kb.upsert([v("y", { namespace: "n".repeat(65) })]), /^VECTOR_UPSERT_ERROR \(code = 40009\): namespace too long/);
    await rejects(kb.upsert([v("y", { metadata: { t: "m".repeat(10 * 1024) } })]), /^VECTOR_UPSERT_ERROR \(code = 40010\): metadata too large for id="y"; max is 10240 bytes, got 10248 bytes$/);
    await rejects(kb.upsert(Array.from({ length: 1001 }, (_, i) => v(`bulk${i}`))), /^VECTOR_UPSERT_ERROR \(code = 40005\): too many vectors in one request; max is 1000, got 1001$/);
    await rejects(kb.upsert([v("y", { metadata: { t: "bad \ud835 cut" } })]), /^VECTOR_UPSERT_ERROR \(code = 40023\): failed to parse upsert vectors request in json format$/);
    await rejects(kb.upsert([{ id: "y", values: [NaN, 0, 0, 0] }]), /code = 40023/);
    await kb.deleteByIds(["i".repeat(64)]);
    assert.deepEqual(sim.vectors("KB").map((x) => x.id), ["a", "b", "c", "d", "e"]);
  });

  test("insert skips existing ids, upsert replaces whole vectors, a Map as metadata is stored as {}", async () => {
    await kb.insert([{ id: "a", values: [0, 0, 0, 1] }, { id: "f", values: [0, 0, 0, 1], metadata: new Map([["kb", "x"]]) }]);
    const [a, f] = await kb.getByIds(["a", "f"]);
    assert.deepEqual(a, { id: "a", namespace: "t1", values: [1, 0, 0, 0], metadata: A.metadata });
    assert.deepEqual(f, { id: "f", values: [0, 0, 0, 1], metadata: {} });
    await kb.upsert([{ id: "f", values: [0, 0, 0.5, 0.5], metadata: { kb: "faq" } }]);
    await kb.upsert([{ id: "f", values: [0, 0, 0, 1], metadata: { ok: true } }]);
    assert.deepEqual(await kb.getByIds(["f", "missing"]), [{ id: "f", values: [0, 0, 0, 1], metadata: { ok: true } }]);
    assert.deepEqual(await q({ kb: "faq" }), ["c", "d"], "the replaced metadata is not merged");
    await kb.deleteByIds(["f", "missing"]);
    assert.equal((await kb.describe()).vectorCount, 5);
    assert.deepEqual(sim.vectors("KB").map((x) => x.id), ["a", "b", "c", "d", "e"]);
  });

  test("deleteByIds removes vectors from queries, getByIds and describe", async () => {
    await kb.upsert([{ id: "g", values: [1, 0, 0, 0] }]);
    assert.deepEqual((await kb.query([1, 0, 0, 0], { topK: 2 })).matches.map((m) => m.id), ["a", "g"]);
    const { mutationId } = await kb.deleteByIds(["g"]);
    assert.equal((await kb.describe()).processedUpToMutation, mutationId);
    assert.deepEqual(await kb.getByIds(["g"]), []);
    assert.deepEqual((await kb.query([1, 0, 0, 0], { topK: 2 })).matches.map((m) => m.id), ["a", "b"]);
  });

  test("a metadata index created after a write does not cover it until the vector is written again", async () => {
    sim.createMetadataIndex("KB", "title", "string");
    try {
      assert.deepEqual(await q({ title: "Alpha" }), []);
      await kb.upsert([A]);
      assert.deepEqual(await q({ title: "Alpha" }), ["a"]);
      const long = "é".repeat(40);
      await kb.upsert([{ id: "h", values: [0, 0, 0, 1], metadata: { title: long } }]);
      assert.deepEqual(await q({ title: `${"é".repeat(32)}anything` }), ["h"], "only the first 64 bytes are indexed");
      const m = (await kb.query([0, 0, 0, 1], { topK: 1, returnMetadata: "indexed" })).matches[0];
      assert.deepEqual(m.metadata, { title: "é".repeat(32) });
      await kb.deleteByIds(["h"]);
    } finally {
      sim.deleteMetadataIndex("KB", "title");
    }
  });

  test("euclidean and dot-product metrics", async () => {
    const e = makeBinding({ url: sim.url, index: "E" }), d = makeBinding({ url: sim.url, index: "D" });
    await e.upsert([{ id: "p", values: [0, 0] }, { id: "q", values: [3, 4] }, { id: "r", values: [1, 0] }]);
    assert.deepEqual((await e.query([0, 0])).matches, [{ id: "p", score: 0 }, { id: "r", score: 1 }, { id: "q", score: 5 }]);
    await d.upsert([{ id: "p", values: [1, 0] }, { id: "q", values: [2, 0] }, { id: "r", values: [-1, 0] }]);
    assert.deepEqual((await d.query([1, 0])).matches, [{ id: "q", score: -2 }, { id: "p", score: -1 }, { id: "r", score: 1 }]);
  });

  test("faults: 503 without a body, a JSON error, a hang, then working again", async () => {
    sim.fault("KB", true);
    await rejects(kb.query([1, 0, 0, 0]), /^VECTOR_QUERY_ERROR: Status \+ 503$/);
    await rejects(kb.describe(), /^INDEX_GET_ERROR: Status \+ 503$/);
    await rejects(kb.upsert([A]), /^VECTOR_UPSERT_ERROR: Status \+ 503$/);
    sim.fault("KB", { status: 429, code: 40041, error: "Too Many Requests" });
    const err = await kb.upsert([A]).catch((x) => x);
    assert.equal(err.message, "VECTOR_UPSERT_ERROR (code = 40041): Too Many Requests");
    assert.equal(err.cause.message, "Too Many Requests");
    sim.fault("KB", { hang: true });
    const hung = kb.getByIds(["a"]);
    hung.catch(() => {});
    assert.equal(await Promise.race([hung, new Promise((r) => setTimeout(() => r("still waiting"), 200))]), "still waiting");
    sim.fault("KB", false);
    assert.equal((await kb.describe()).vectorCount, 5);
  });

  test("writes become visible after mutationDelayMs", async () => {
    sim.define("SLOW", { dimensions: 2, mutationDelayMs: 200 });
    const slow = makeBinding({ url: sim.url, index: "SLOW" });
    const { mutationId } = await slow.upsert([{ id: "x", values: [1, 0] }]);
    assert.equal((await slow.query([1, 0])).count, 0);
    assert.deepEqual(await slow.describe(), { vectorCount: 0, dimensions: 2, processedUpToDatetime: null, processedUpToMutation: null });
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(ids(await slow.query([1, 0])), ["x"]);
    assert.equal((await slow.describe()).processedUpToMutation, mutationId);
  });
});

test("Vectorize persistence: indexes in files survive a restart; a changed definition is refused", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vectorize-sim-"));
  try {
    const def = { P: { dimensions: 2, metadataIndexes: { kb: "string" } } };
    const one = await VectorizeSim.start(def, { persistDir: dir });
    const { mutationId } = await makeBinding({ url: one.url, index: "P" }).upsert([{ id: "x", values: [0.5, 0.25], namespace: "t", metadata: { kb: "k" } }]);
    await one.close();
    const two = await VectorizeSim.start(def, { persistDir: dir });
    const p = makeBinding({ url: two.url, index: "P" });
    assert.deepEqual(await p.getByIds(["x"]), [{ id: "x", namespace: "t", values: [0.5, 0.25], metadata: { kb: "k" } }]);
    assert.equal((await p.describe()).processedUpToMutation, mutationId);
    assert.deepEqual(ids(await p.query([1, 0], { filter: { kb: "k" } })), ["x"]);
    assert.throws(() => two.define("P", { dimensions: 3 }), /exists with 2 dimensions/);
    await two.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("wiring in workerd: the wrapped binding takes Float32Array and plain objects, AI embeds", async () => {
  const sim = await VectorizeSim.start({ KB_DOCS: { dimensions: 384, metadataIndexes: { kb: "string" } } });
  const vw = vectorizeWorkerOptions(sim, { KB_DOCS: {} });
  const script = `export default { async fetch(req, env) {
    const { data } = await env.AI.run("${SMALL}", { text: ["budgets cap spending", "weather in Oslo"] });
    await env.KB_DOCS.upsert(data.map((v, i) => ({ id: "doc#" + i, values: new Float32Array(v), namespace: "acme", metadata: { kb: "help" } })));
    const [q] = (await env.AI.run("${SMALL}", { text: "how do budgets work" })).data;
    const r = await env.KB_DOCS.query(q, { topK: 2, namespace: "acme", filter: { kb: "help" }, returnMetadata: "indexed" });
    let err = null;
    try { await env.KB_DOCS.query([1, 2]); } catch (e) { err = e.message; }
    return Response.json({ name: env.KB_DOCS.constructor.name, ids: r.matches.map((m) => m.id), meta: r.matches[0].metadata, err });
  } }`;
  const mf = new Miniflare({ workers: [
    { name: "probe", modules: true, script, compatibilityDate: "2026-04-26", wrappedBindings: { ...vw.wrappedBindings, AI: { scriptName: "ai-sim" } } },
    vw.worker,
    { name: "ai-sim", modules: [{ type: "ESModule", path: path.join(ROOT, "tests/support/ai-sim.mjs") }], modulesRoot: path.join(ROOT, "tests/support") },
  ] });
  try {
    const body = await (await mf.dispatchFetch("http://probe/")).json();
    assert.deepEqual(body, { name: "VectorizeIndexImpl", ids: ["doc#0", "doc#1"], meta: { kb: "help" }, err: "VECTOR_QUERY_ERROR (code = 40006): invalid query vector, expected 384 dimensions, and got 2 dimensions" });
    assert.equal(sim.vectors("KB_DOCS").length, 2);
  } finally {
    await mf.dispose();
    await sim.close();
  }
});

test("startGateway binds Vectorize, D1 and Queues; indexes outlive a gateway restart", { skip: !fs.existsSync(path.join(ROOT, "build/index.js")) && "no build/" }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vectorize-gw-"));
  const opts = {
    tenant: testTenant(),
    vectorize: { KB_DOCS: { dimensions: 768, metric: "cosine", metadataIndexes: { kb: "string", aud: "string", docId: "string" } } },
    vectorizePersist: dir,
    d1Databases: { KB_DB: "kb-db" },
    queueProducers: { KB_INGEST: "kb-ingest" },
    queueConsumers: { "kb-ingest": { maxBatchSize: 5, maxRetries: 2 } },
  };
  let gw = await startGateway(opts);
  try {
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
    const db = await gw.d1("KB_DB");
    await db.exec("CREATE VIRTUAL TABLE chunks USING fts5(text)");
    await db.prepare("INSERT INTO chunks (text) VALUES (?)").bind("budgets cap spending").run();
    assert.equal((await db.prepare("SELECT count(*) AS n FROM chunks WHERE chunks MATCH 'budgets'").first()).n, 1);
    assert.equal(typeof (await gw.queue("KB_INGEST")).send, "function");
    const values = embedText("budgets", 768, `${BASE}/mean`);
    gw.vectorizeSim.call("KB_DOCS", "upsert", { vectors: [{ id: "doc#0", values, namespace: "acme", metadata: { kb: "help", docId: "doc" } }] });
    gw.vectorizeDown("KB_DOCS", true);
    assert.throws(() => gw.vectors("NOPE"), /no Vectorize binding NOPE \(bound: KB_DOCS\)/);
    await gw.close();
    gw = await startGateway(opts);
    assert.deepEqual(gw.vectors("KB_DOCS").map((v) => [v.id, v.namespace, v.metadata]), [["doc#0", "acme", { kb: "help", docId: "doc" }]]);
    assert.deepEqual(gw.vectorizeRequests("KB_DOCS"), []);
  } finally {
    await gw.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
