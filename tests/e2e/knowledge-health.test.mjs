// /health checks a tenant's knowledge bindings: each kb's Vectorize index (present, and its
// describe() dimension equal to the kb's), D1 database and queue producer. A tenant without
// knowledge bases is unaffected (tests/e2e/health.test.mjs, hardening.test.mjs section 6).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";

const tenant = testTenant({ knowledge: { help: { embeddingModel: "@cf/baai/bge-small-en-v1.5" } } });
const all = {
  vectorize: { KNOWLEDGE_INDEX: { dimensions: 384, metric: "cosine" } },
  d1Databases: { KNOWLEDGE_DB: "knowledge-db" },
  queueProducers: { KNOWLEDGE_QUEUE: "knowledge-ingest" },
};

/** /health of a gateway started with `opts` (after `setup(gw)`): its status and body. */
async function health(opts, setup = () => {}) {
  const gw = await startGateway({ tenant, ...all, ...opts });
  try {
    await setup(gw);
    const res = await fetch(`${gw.url}/health`);
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text), text };
  } finally {
    await gw.close();
  }
}

function unavailable({ status, body, text }, ...patterns) {
  assert.equal(status, 503, text);
  assert.equal(body.status, "unavailable", text);
  const problems = body.problems.join("\n");
  for (const p of patterns) assert.match(problems, p, text);
  assert.match(problems, /knowledge\.help/, text);
}

describe("/health and knowledge bindings", () => {
  test("every binding there, the index of the kb's dimension: 200", async () => {
    const h = await health({});
    assert.equal(h.status, 200, h.text);
    assert.equal(h.body.status, "ok");
    assert.deepEqual(h.body.problems, []);
  });

  test("the Vectorize index is missing: 503 naming KNOWLEDGE_INDEX", async () => {
    unavailable(await health({ vectorize: {} }), /KNOWLEDGE_INDEX/);
  });

  test("the index has 768 dimensions, the kb 384: 503 naming both numbers", async () => {
    const h = await health({ vectorize: { KNOWLEDGE_INDEX: { dimensions: 768, metric: "cosine" } } });
    unavailable(h, /KNOWLEDGE_INDEX/, /768/, /384/);
    assert.equal(h.body.problems.length, 1, h.text);
  });

  test("the D1 database is missing: 503 naming KNOWLEDGE_DB", async () => {
    const h = await health({ d1Databases: undefined });
    unavailable(h, /KNOWLEDGE_DB/);
    assert.doesNotMatch(h.body.problems.join("\n"), /KNOWLEDGE_INDEX|KNOWLEDGE_QUEUE/, h.text);
  });

  test("the queue producer is missing: 503 naming KNOWLEDGE_QUEUE", async () => {
    unavailable(await health({ queueProducers: undefined }), /KNOWLEDGE_QUEUE/);
  });

  test("describe() fails: 503 naming the index and the error", async () => {
    unavailable(await health({}, (gw) => gw.vectorizeDown("KNOWLEDGE_INDEX")), /KNOWLEDGE_INDEX/, /INDEX_GET_ERROR/);
  });
});
