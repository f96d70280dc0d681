// Retrieval quality of knowledge bases (docs/knowledge.md) on a fixed question set: the
// project's own docs/*.md are ingested into one kb (docId = the file's stem, text/markdown),
// then each question is asked through POST /chat with `knowledge` and the answer's `sources`
// (topK 5) are scored against the document(s) that answer it. The questions and their answers
// were written by reading the docs, not by looking at what retrieval returns. Prints recall@5
// and MRR and writes them, with every question's ranking, to test-results/knowledge-recall.json.
//
// The embeddings are the AI stand-in's (tests/support/ai-sim.mjs: feature-hashed words and word
// pairs), so this measures the gateway's chunking and hybrid ranking over lexical vectors, not
// a real embedding model's semantics.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startGateway, testTenant, ROOT } from "../support/runtime.mjs";
import { ADMIN_TOKEN } from "../support/auth-kit.mjs";

const SMALL = "@cf/baai/bge-small-en-v1.5";
const KB = "docs";
const TOP_K = 5;
// Room for TOP_K chunks of the default 512 tokens, so that recall@5 measures the ranking and
// not the default context budget (1500 tokens), which can leave room for fewer sources.
const MAX_CONTEXT_TOKENS = 4096;
const RECALL_FLOOR = 0.7;
// The kb's chunking: the default unless KNOWLEDGE_RECALL_CHUNK="<maxTokens>,<overlapTokens>"
// (to compare chunk sizes; the committed floor is for the default).
const CHUNK = process.env.KNOWLEDGE_RECALL_CHUNK
  ? (([maxTokens, overlapTokens]) => ({ maxTokens, overlapTokens }))(process.env.KNOWLEDGE_RECALL_CHUNK.split(",").map(Number))
  : undefined;

/** [question, the doc ids (file stems) any one of which answers it]. */
const QUESTIONS = [
  ["How do budgets work?", ["budgets"]],
  ["When does the daily budget window reset?", ["budgets"]],
  ["What is shrink-to-fit and when does it lower the output cap?", ["budgets"]],
  ["How do leases keep the exact budget ledger off the hot path?", ["budgets"]],
  ["When does the gateway try the next model in the fallback chain?", ["ai-gateway-fallbacks"]],
  ["Which model failures end the request at once instead of falling back?", ["ai-gateway-fallbacks", "api"]],
  ["What metadata does each Workers AI call send to Cloudflare AI Gateway?", ["ai-gateway"]],
  ["How do I deploy a new tenant with wrangler deploy?", ["deploy"]],
  ["How do I rotate an API key so that old clients keep working for a grace period?", ["auth"]],
  ["Which claims must an end-user token carry?", ["auth"]],
  ["How are failed authentications throttled per client IP address?", ["auth"]],
  ["How does the gateway trim the session history it sends to the model?", ["sessions"]],
  ["When do stored sessions expire?", ["sessions"]],
  ["What events does a streamed /chat answer send?", ["streaming"]],
  ["What are keep-alive comments for when a model is slow to answer a stream?", ["streaming"]],
  ["What happens when a client disconnects in the middle of a stream?", ["streaming"]],
  ["How do I set up an OpenAI-compatible provider with OAuth2 client credentials?", ["providers"]],
  ["How does the gateway discover the models an HTTP provider serves?", ["providers", "api"]],
  ["How is the cost of an answer computed from the model's prices?", ["usage"]],
  ["How do I get the usage history grouped by day and key as CSV?", ["usage"]],
  ["What does the operator console show, and how do I sign in to it?", ["usage"]],
  ["What problems does tenant-check report?", ["configuration", "deploy"]],
  ["Which secrets does a tenant's worker need?", ["configuration"]],
  ["Which parts of the code are the pure core and which are the thin shell?", ["ARCHITECTURE"]],
  ["What is the parameter policy for OpenAI request fields the gateway cannot honour?", ["api"]],
  ["What does the benchmark measure, and how do I run it?", ["performance"]],
  ["How do I add a document to a knowledge base?", ["knowledge"]],
  ["What does GET /health check?", ["api"]],
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let gw;
const docsDir = path.join(ROOT, "docs");
const files = fs.readdirSync(docsDir).filter((f) => f.endsWith(".md")).sort();

before(async () => {
  gw = await startGateway({
    tenant: testTenant({
      limits: { maxRequestBytes: 8192, maxOutputTokens: 64, attemptTimeoutMs: 5000 },
      knowledge: { [KB]: { embeddingModel: SMALL, topK: TOP_K, maxContextTokens: MAX_CONTEXT_TOKENS, ...(CHUNK ? { chunk: CHUNK } : {}) } },
    }),
    vars: { ADMIN_TOKEN },
    scenarios: { "*": { text: "See the sources [1]." } },
    vectorize: { KNOWLEDGE_INDEX: { dimensions: 384, metric: "cosine", metadataIndexes: { kb: "string", aud: "string" } } },
    d1Databases: { KNOWLEDGE_DB: "knowledge-db" },
    queueProducers: { KNOWLEDGE_QUEUE: "knowledge-ingest" },
    queueConsumers: { "knowledge-ingest": { maxBatchSize: 5, maxBatchTimeout: 1, maxRetries: 3, retryDelay: 1 } },
    recordCalls: false,
  });
});
after(() => gw?.close());

async function admin(method, route, body, type) {
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, ...(type ? { "content-type": type } : {}) };
  const res = await fetch(gw.url + route, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

test(`recall@${TOP_K} and MRR over docs/*.md (${QUESTIONS.length} questions)`, { timeout: 600_000 }, async () => {
  const ids = files.map((f) => path.basename(f, ".md"));
  for (const [, expected] of QUESTIONS) for (const id of expected) assert.ok(ids.includes(id), `no docs/${id}.md`);

  // Ingest every file, then wait for all of them.
  const t0 = Date.now();
  for (const f of files) {
    const id = path.basename(f, ".md");
    const r = await admin("PUT", `/admin/knowledge/${KB}/documents/${id}`, fs.readFileSync(path.join(docsDir, f)), "text/markdown");
    assert.ok(r.status === 202 || r.status === 200, `PUT ${id}: ${r.status} ${r.text}`);
  }
  const docs = new Map();
  const end = Date.now() + 120_000;
  for (;;) {
    const list = await admin("GET", `/admin/knowledge/${KB}/documents?limit=200`);
    assert.equal(list.status, 200, list.text);
    for (const d of list.body.documents) docs.set(d.docId, d);
    const failed = [...docs.values()].filter((d) => d.state === "failed");
    assert.deepEqual(failed.map((d) => `${d.docId}: ${d.reason}`), [], "no document failed");
    if (ids.every((id) => docs.get(id)?.state === "ready")) break;
    assert.ok(Date.now() < end, `not all ready: ${ids.filter((id) => docs.get(id)?.state !== "ready").map((id) => `${id}=${docs.get(id)?.state}`).join(", ")}`);
    await sleep(300);
  }
  const ingestSeconds = (Date.now() - t0) / 1000;
  const chunks = [...docs.values()].reduce((n, d) => n + d.chunks, 0);

  // Ask every question.
  const perQuestion = [];
  for (const [question, expected] of QUESTIONS) {
    const res = await fetch(`${gw.url}/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: question, knowledge: KB }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `${question}: ${text}`);
    const sources = JSON.parse(text).sources ?? [];
    assert.ok(sources.length <= TOP_K, `${question}: ${sources.length} sources`);
    const got = sources.map((s) => s.docId);
    const at = got.findIndex((id) => expected.includes(id));
    const rank = at < 0 ? null : at + 1;
    perQuestion.push({ question, expected, got, chunks: sources.map((s) => s.chunk), rank, hit: rank !== null && rank <= TOP_K });
  }

  const n = perQuestion.length;
  const recall = perQuestion.filter((q) => q.hit).length / n;
  const mrr = perQuestion.reduce((s, q) => s + (q.rank ? 1 / q.rank : 0), 0) / n;
  const meanSources = perQuestion.reduce((s, q) => s + q.got.length, 0) / n;
  const result = {
    recallAt5: Number(recall.toFixed(4)),
    mrr: Number(mrr.toFixed(4)),
    questions: n,
    hits: perQuestion.filter((q) => q.hit).length,
    meanSources: Number(meanSources.toFixed(2)),
    documents: ids.length,
    chunks,
    ingestSeconds: Number(ingestSeconds.toFixed(2)),
    config: { embeddingModel: SMALL, topK: TOP_K, maxContextTokens: MAX_CONTEXT_TOKENS, chunk: CHUNK ?? "default" },
    misses: perQuestion.filter((q) => !q.hit).map((q) => ({ question: q.question, expected: q.expected, got: q.got })),
    perQuestion,
  };
  fs.mkdirSync(path.join(ROOT, "test-results"), { recursive: true });
  fs.writeFileSync(path.join(ROOT, "test-results", "knowledge-recall.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`# recall@${TOP_K} ${recall.toFixed(3)} (${result.hits}/${n}), MRR ${mrr.toFixed(3)}, ${meanSources.toFixed(2)} sources per answer; ${ids.length} documents, ${chunks} chunks, ingested in ${ingestSeconds.toFixed(1)} s`);
  for (const m of result.misses) console.log(`# miss: ${m.question} expected ${m.expected.join("|")}, got ${m.got.join(", ") || "nothing"}`);

  assert.ok(recall >= RECALL_FLOOR, `recall@${TOP_K} ${recall.toFixed(3)} is below ${RECALL_FLOOR}`);
});
