// What knowledge bases cost (docs/knowledge.md): ingestion throughput and the latency retrieval
// adds to a chat. One gateway (a copy of build/) in open mode with one kb on the Vectorize
// stand-in, Miniflare's D1 and Queues and the AI stand-in's embedding model.
//
//   node bench/knowledge.mjs                 (after scripts/build.sh; about a minute)
//
// 1. Ingestion: PUT every docs/*.md (docId = the file's stem, text/markdown), then poll the
//    document list until every one is ready; chunks/s = total chunks / the time from the first
//    PUT to the last ready (the queue consumer's batch timeout, 1 s, is part of it).
//    BENCH_KB_INGEST_ROUNDS rounds, each under fresh document ids (an earlier round's are
//    deleted once it is measured, so the kb holds one copy of the docs afterwards). Then one
//    generated ~2 MB document (BENCH_KB_BIG_BYTES), deleted after it is measured.
// 2. Retrieval: POST /chat with the same question, with `knowledge` and without, sequential
//    (c=1), the two interleaved, after BENCH_KB_WARMUP of each; p50/p95/mean of each and the
//    difference.
//
// Options (environment): BENCH_KB_REQUESTS (200 per mode), BENCH_KB_WARMUP (30 per mode),
// BENCH_KB_INGEST_ROUNDS (3), BENCH_KB_MODEL (@cf/baai/bge-small-en-v1.5), BENCH_KB_CHUNK
// ("<maxTokens>,<overlapTokens>"; default: the kb default), BENCH_BUILD
// (build), BENCH_JSON (also write the numbers to this file). Numbers from a shared 2-core
// machine are noisy: compare within one run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startGateway, testTenant, ROOT } from "../tests/support/runtime.mjs";
import { keepAliveAgent, post, quantile } from "./lib.mjs";
import { table, ms, num, one, signed } from "./format.mjs";

const N = Number(process.env.BENCH_KB_REQUESTS ?? 200);
const WARMUP = Number(process.env.BENCH_KB_WARMUP ?? 30);
const ROUNDS = Number(process.env.BENCH_KB_INGEST_ROUNDS ?? 3);
const MODEL = process.env.BENCH_KB_MODEL ?? "@cf/baai/bge-small-en-v1.5";
const DIMS = { "@cf/baai/bge-small-en-v1.5": 384, "@cf/baai/bge-base-en-v1.5": 768, "@cf/baai/bge-large-en-v1.5": 1024, "@cf/baai/bge-m3": 1024 }[MODEL];
if (!DIMS) throw new Error(`BENCH_KB_MODEL: not a Workers AI embedding model: ${MODEL}`);
const CHUNK = process.env.BENCH_KB_CHUNK
  ? (([maxTokens, overlapTokens]) => ({ maxTokens, overlapTokens }))(process.env.BENCH_KB_CHUNK.split(",").map(Number))
  : undefined;
const ADMIN_TOKEN = "bench-admin-token-6b1e0d9c2a7f4e58";
const QUESTION = "How do budgets work, and when does the daily window reset?";
const ANSWER = Array.from({ length: 32 }, (_, i) => `word${i}`).join(" ");
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const BIG_BYTES = Number(process.env.BENCH_KB_BIG_BYTES ?? 2 * 1024 * 1024);

/** About `target` bytes of Markdown: `## ` sections of five paragraphs of generated words. */
function bigMarkdown(target) {
  const vocab = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu".split(" ");
  let x = 7;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const parts = ["# Generated manual", ""];
  let bytes = 0;
  for (let s = 1; bytes < target; s++) {
    const lines = [`## Section ${s}`, ""];
    for (let p = 0; p < 5; p++) {
      const sentences = Array.from({ length: 7 }, () => `${Array.from({ length: 9 + Math.floor(rand() * 9) }, () => vocab[Math.floor(rand() * vocab.length)]).join(" ")}.`);
      lines.push(sentences.join(" "), "");
    }
    const block = lines.join("\n");
    parts.push(block);
    bytes += Buffer.byteLength(block) + 1;
  }
  return parts.join("\n").trim();
}

// A copy of the build, so a rebuild while this runs changes nothing.
const source = path.resolve(ROOT, process.env.BENCH_BUILD ?? "build");
const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-knowledge-"));
fs.cpSync(source, buildDir, { recursive: true });
const stamp = fs.existsSync(path.join(buildDir, ".stamp")) ? fs.readFileSync(path.join(buildDir, ".stamp"), "utf8").trim().slice(0, 12) : "none";

const docsDir = path.join(ROOT, "docs");
const files = fs.readdirSync(docsDir).filter((f) => f.endsWith(".md")).sort();
const texts = files.map((f) => ({ stem: path.basename(f, ".md"), body: fs.readFileSync(path.join(docsDir, f)) }));
const totalBytes = texts.reduce((n, t) => n + t.body.length, 0);

const gw = await startGateway({
  buildDir,
  tenant: testTenant({
    limits: { maxRequestBytes: 8192, maxOutputTokens: 256, attemptTimeoutMs: 5000 },
    knowledge: { docs: { embeddingModel: MODEL, ...(CHUNK ? { chunk: CHUNK } : {}) } },
  }),
  vars: { ADMIN_TOKEN },
  scenarios: { "*": { text: ANSWER, anyModel: true } },
  vectorize: { KNOWLEDGE_INDEX: { dimensions: DIMS, metric: "cosine", metadataIndexes: { kb: "string", aud: "string" } } },
  d1Databases: { KNOWLEDGE_DB: "knowledge-db" },
  queueProducers: { KNOWLEDGE_QUEUE: "knowledge-ingest" },
  queueConsumers: { "knowledge-ingest": { maxBatchSize: 5, maxBatchTimeout: 1, maxRetries: 3, retryDelay: 1 } },
  recordCalls: false,
});

async function admin(method, route, body, type) {
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, ...(type ? { "content-type": type } : {}) };
  const res = await fetch(gw.url + route, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

/** Every document of the kb (all pages). */
async function listAll() {
  const out = [];
  let cursor = null;
  do {
    const r = await admin("GET", `/admin/knowledge/docs/documents?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (r.status !== 200) throw new Error(`GET documents: ${r.status} ${r.text}`);
    out.push(...r.body.documents);
    cursor = r.body.nextCursor;
  } while (cursor);
  return out;
}

const ingestRows = [];
const latency = {};
try {
  // ---- 1. ingestion ----
  for (let round = 1; round <= ROUNDS; round++) {
    const ids = texts.map((t) => `r${round}-${t.stem}`);
    const t0 = performance.now();
    for (const [i, t] of texts.entries()) {
      const r = await admin("PUT", `/admin/knowledge/docs/documents/${ids[i]}`, t.body, "text/markdown");
      if (r.status !== 202) throw new Error(`PUT ${ids[i]}: ${r.status} ${r.text}`);
    }
    const putMs = performance.now() - t0;
    let docs;
    for (;;) {
      docs = (await listAll()).filter((d) => ids.includes(d.docId));
      const failed = docs.filter((d) => d.state === "failed");
      if (failed.length) throw new Error(`failed: ${failed.map((d) => `${d.docId} (${d.reason})`).join(", ")}`);
      if (docs.length === ids.length && docs.every((d) => d.state === "ready")) break;
      if (performance.now() - t0 > 180_000) throw new Error(`ingestion took over 3 minutes: ${docs.filter((d) => d.state !== "ready").map((d) => `${d.docId}=${d.state} (${d.reason})`).join(", ")}`);
      await sleep(100);
    }
    const seconds = (performance.now() - t0) / 1000;
    const chunks = docs.reduce((n, d) => n + d.chunks, 0);
    const tokens = docs.reduce((n, d) => n + (d.embeddingTokens ?? 0), 0);
    ingestRows.push({ round, docs: docs.length, bytes: totalBytes, chunks, tokens, putMs, seconds, chunksPerSecond: chunks / seconds });
    process.stderr.write(`[knowledge] ingestion round ${round}: ${chunks} chunks in ${seconds.toFixed(2)} s\n`);
    // One copy of the docs stays for the retrieval part: earlier rounds' are deleted.
    if (round < ROUNDS) {
      for (const id of ids) {
        const r = await admin("DELETE", `/admin/knowledge/docs/documents/${id}`);
        if (r.status !== 200) throw new Error(`DELETE ${id}: ${r.status} ${r.text}`);
      }
    }
  }

  // One large generated document (~2 MB, many `## ` sections): the consumer's own pace, less
  // dominated by the queue's batch timeout than the docs rounds.
  {
    const text = bigMarkdown(BIG_BYTES);
    const t0 = performance.now();
    const r = await admin("PUT", "/admin/knowledge/docs/documents/big-generated", text, "text/markdown");
    if (r.status !== 202) throw new Error(`PUT big-generated: ${r.status} ${r.text}`);
    const putMs = performance.now() - t0;
    let d;
    for (;;) {
      d = (await admin("GET", "/admin/knowledge/docs/documents/big-generated")).body?.document;
      if (d?.state === "failed") throw new Error(`big-generated failed: ${d.reason}`);
      if (d?.state === "ready") break;
      if (performance.now() - t0 > 600_000) throw new Error(`big-generated not ready after 10 minutes: ${JSON.stringify(d)}`);
      await sleep(100);
    }
    const seconds = (performance.now() - t0) / 1000;
    ingestRows.push({ round: `${(Buffer.byteLength(text) / 1e6).toFixed(1)} MB doc`, docs: 1, bytes: Buffer.byteLength(text), chunks: d.chunks, tokens: d.embeddingTokens, putMs, seconds, chunksPerSecond: d.chunks / seconds });
    process.stderr.write(`[knowledge] large document: ${d.chunks} chunks in ${seconds.toFixed(2)} s\n`);
    const del = await admin("DELETE", "/admin/knowledge/docs/documents/big-generated");
    if (del.status !== 200) throw new Error(`DELETE big-generated: ${del.status} ${del.text}`);
  }

  // ---- 2. retrieval latency ----
  const agent = keepAliveAgent(1);
  const bodies = {
    "with knowledge": Buffer.from(JSON.stringify({ message: QUESTION, knowledge: "docs" })),
    "without": Buffer.from(JSON.stringify({ message: QUESTION })),
  };
  const check = await post(`${gw.url}/chat`, bodies["with knowledge"], { agent, collect: true });
  const checked = JSON.parse(check.text);
  if (check.status !== 200 || !checked.sources?.length) throw new Error(`a grounded answer has no sources: ${check.status} ${check.text.slice(0, 300)}`);
  const sourcesPerAnswer = checked.sources.length;
  for (const name of Object.keys(bodies)) latency[name] = [];
  const once = async (name, record) => {
    const r = await post(`${gw.url}/chat`, bodies[name], { agent });
    if (r.status !== 200) throw new Error(`${name}: HTTP ${r.status}`);
    if (record) latency[name].push(r.ms);
  };
  for (let i = 0; i < WARMUP; i++) for (const name of Object.keys(bodies)) await once(name, false);
  for (let i = 0; i < N; i++) {
    // Alternate which goes first, so drift on the machine hits both alike.
    const order = i % 2 ? Object.keys(bodies).reverse() : Object.keys(bodies);
    for (const name of order) await once(name, true);
  }
  agent.destroy();
  for (const name of Object.keys(latency)) latency[name].sort((a, b) => a - b);

  // ---- report ----
  console.log(`build ${path.relative(ROOT, source) || source} (stamp ${stamp}); kb model ${MODEL} (${DIMS} dims), chunking ${CHUNK ? `${CHUNK.maxTokens}/${CHUNK.overlapTokens} tokens` : "default"}; ${files.length} docs/*.md, ${num(totalBytes)} bytes\n`);
  console.log("Ingestion (PUT all, then until every document is ready; queue batch timeout 1 s)\n");
  console.log(table(
    ["round", "docs", "chunks", "embedding tokens", "PUTs ms", "until ready s", "chunks/s"],
    ingestRows.map((r) => [r.round, r.docs, num(r.chunks), num(r.tokens), ms(r.putMs), r.seconds.toFixed(2), one(r.chunksPerSecond)]),
  ));
  const stat = (xs) => ({ p50: quantile(xs, 0.5), p95: quantile(xs, 0.95), mean: xs.reduce((s, x) => s + x, 0) / xs.length });
  const w = stat(latency["with knowledge"]);
  const wo = stat(latency.without);
  console.log(`\nPOST /chat, JSON, c=1, ${N} each after ${WARMUP} warm-up each, interleaved; "${QUESTION}" (${sourcesPerAnswer} sources)\n`);
  console.log(table(
    ["mode", "p50 ms", "p95 ms", "mean ms"],
    [
      ["without knowledge", ms(wo.p50), ms(wo.p95), ms(wo.mean)],
      ["with knowledge", ms(w.p50), ms(w.p95), ms(w.mean)],
      ["added by retrieval", signed(w.p50 - wo.p50, ms), signed(w.p95 - wo.p95, ms), signed(w.mean - wo.mean, ms)],
    ],
  ));
  if (process.env.BENCH_JSON) {
    fs.writeFileSync(process.env.BENCH_JSON, `${JSON.stringify({ stamp, model: MODEL, ingest: ingestRows, chat: { n: N, warmup: WARMUP, sourcesPerAnswer, with: w, without: wo } }, null, 2)}\n`);
  }
} finally {
  await gw.close();
  fs.rmSync(buildDir, { recursive: true, force: true });
}
