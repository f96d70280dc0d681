// Knowledge bases and grounded answers (docs/knowledge.md) end to end: the built worker in
// workerd with the AI stand-in's embedding models, the Vectorize stand-in, Miniflare's D1 and
// Queues. Documents go in through the admin API (PUT/GET/DELETE
// /admin/knowledge/{kb}/documents/{docId}), are ingested by the worker's own queue consumer,
// and come back as numbered sources on /chat (JSON and SSE) and on /v1/chat/completions through
// a preset. Covered: ingestion and the document object; re-uploads (unchanged, changed: stale
// vectors go); deletion; a ~2 MB document; refused documents (nothing left behind); admin
// auth; isolation between kbs of one tenant and between tenants sharing one index;
// audience permissions (end-user token groups, key groups); degradation when Vectorize fails
// (x-knowledge: unavailable, or 503 knowledge_unavailable for a `required` preset); and
// request logs that carry no document or prompt text.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { ADMIN_TOKEN, CLIENT_TOKEN_SECRET, userToken, bearer } from "../support/auth-kit.mjs";

const SMALL = "@cf/baai/bge-small-en-v1.5";
const CHAT_MODEL = "@cf/test/primary";
const INDEX = "KNOWLEDGE_INDEX";
// The stand-in's answer for every chat model: cites [1], and shares no words with any document.
const ANSWER = "Here is what the sources say [1].";
const PRESET_SYSTEM = "You are Acme's support assistant.";

let seq = 0;
const traceId = (name) => `kb-${name}-${process.pid}-${++seq}`.slice(0, 120);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The Vectorize index, D1 database and queue (producer and consumer) every kb here uses. */
function knowledgeBindings() {
  return {
    // `kb` and `aud` are what retrieval filters on: string metadata indexes on both, as a
    // deployment creates them before the first insert (crates/knowledge/src/audience.rs).
    vectorize: { [INDEX]: { dimensions: 384, metric: "cosine", metadataIndexes: { kb: "string", aud: "string" } } },
    d1Databases: { KNOWLEDGE_DB: "knowledge-db" },
    queueProducers: { KNOWLEDGE_QUEUE: "knowledge-ingest" },
    queueConsumers: { "knowledge-ingest": { maxBatchSize: 5, maxBatchTimeout: 1, maxRetries: 3, retryDelay: 1 } },
  };
}

function kbGateway({ tenant, vars = {}, ...rest }) {
  return startGateway({
    tenant,
    vars: { ADMIN_TOKEN, ...vars },
    scenarios: { "*": { text: ANSWER } },
    ...knowledgeBindings(),
    ...rest,
  });
}

// ---- admin API ------------------------------------------------------------------------------

/** Any request: { status, headers, body (JSON or null), text }. */
async function call(gw, method, route, { body, type, token = ADMIN_TOKEN, headers = {}, trace } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (type) h["content-type"] = type;
  if (trace) h["x-trace-id"] = trace;
  const res = await fetch(gw.url + route, { method, headers: h, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: json, text };
}

const docRoute = (kb, docId, query) => `/admin/knowledge/${kb}/documents/${docId}${query ? `?${new URLSearchParams(query)}` : ""}`;
const putDoc = (gw, kb, docId, content, { type = "text/markdown", query, token, trace } = {}) =>
  call(gw, "PUT", docRoute(kb, docId, query), { body: content, type, token, trace });
const getDoc = (gw, kb, docId, opts) => call(gw, "GET", docRoute(kb, docId), opts);
const deleteDoc = (gw, kb, docId, opts) => call(gw, "DELETE", docRoute(kb, docId), opts);
const listDocs = (gw, kb, query = { limit: "200" }, opts) => call(gw, "GET", `/admin/knowledge/${kb}/documents?${new URLSearchParams(query)}`, opts);

/** Polls GET until the document is `ready` or `failed` (at `version` or later). */
async function waitDoc(gw, kb, docId, { version, ms = 30_000 } = {}) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await getDoc(gw, kb, docId);
    const d = r.body?.document;
    if (r.status === 200 && d && ["ready", "failed"].includes(d.state) && (version === undefined || d.version >= version)) return d;
    if (Date.now() > end) throw new Error(`${kb}/${docId} not ready within ${ms} ms; last answer ${r.status} ${r.text.slice(0, 500)}`);
    await sleep(ms > 60_000 ? 500 : 150);
  }
}

/** PUT (expecting 202), then wait until it is ready; returns the ready document. */
async function ingest(gw, kb, docId, content, { ms, ...opts } = {}) {
  const put = await putDoc(gw, kb, docId, content, opts);
  assert.equal(put.status, 202, `PUT ${kb}/${docId}: ${put.text}`);
  const d = await waitDoc(gw, kb, docId, { version: put.body.document.version, ms });
  assert.equal(d.state, "ready", `${kb}/${docId}: ${JSON.stringify(d)}`);
  return d;
}

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.ok(r.body?.error, `an error body: ${r.text}`);
  assert.equal(r.body.error.code, code, r.text);
  assert.equal(typeof r.body.error.message, "string", r.text);
  assert.ok(r.body.error.message.length > 0, r.text);
}

// ---- vectors and D1 -------------------------------------------------------------------------

/**
 * The document a vector belongs to: its `doc` metadata, else the id's `{scope}:{docId}#{n}`
 * (`@{slot}`) form (crates/knowledge/src/ids.rs).
 */
function vectorDoc(v) {
  if (typeof v.metadata?.doc === "string") return v.metadata.doc;
  return /^[0-9a-f]{12}:(.+)#\d+(?:@[0-9a-f])?$/.exec(v.id)?.[1];
}
/** Every vector of `docId` in the index (only of kb `kb` when given). */
const docVectors = (gw, docId, kb) => gw.vectors(INDEX).filter((v) => vectorDoc(v) === docId && (kb === undefined || v.metadata?.kb === kb));

/** The D1 tables holding `needle` in a text column (blobs, such as FTS5 segments, are skipped). */
async function d1TablesWith(gw, needle) {
  const db = await gw.d1("KNOWLEDGE_DB");
  const { results: tables } = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
  const hits = new Set();
  for (const { name } of tables) {
    if (name.startsWith("sqlite_") || name.startsWith("_cf_")) continue;
    let rows;
    try {
      rows = (await db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).all()).results;
    } catch {
      continue;
    }
    for (const row of rows) for (const v of Object.values(row)) if (typeof v === "string" && v.includes(needle)) hits.add(name);
  }
  return [...hits];
}

// ---- asking ---------------------------------------------------------------------------------

/** Parses an SSE body into [{ event, data }] (`data` parsed as JSON when it is). */
function parseSse(text) {
  return text
    .split("\n\n")
    .filter((b) => b.trim() && !b.trim().startsWith(":"))
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const raw = /^data: (.*)$/m.exec(block)?.[1];
      let data = raw;
      try { data = raw === undefined ? null : JSON.parse(raw); } catch { /* [DONE] */ }
      return { event, data };
    });
}

/** POST a JSON body: { status, headers, trace, text, body (JSON answers), events (SSE) }. */
async function post(gw, path, payload, { headers = {}, trace = traceId("ask") } = {}) {
  const res = await fetch(gw.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-trace-id": trace, ...headers },
    body: JSON.stringify(payload),
  });
  const text = await res.text();
  const sse = (res.headers.get("content-type") || "").includes("text/event-stream");
  let body = null;
  if (!sse) try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, trace, text, body, events: sse ? parseSse(text) : null };
}
const ask = (gw, payload, opts) => post(gw, "/chat", payload, opts);

/** The chat model calls of a trace (not the embedding of the question). */
const chatCalls = (gw, trace) => gw.aiCallsFor(trace).filter((c) => !c.model.startsWith("@cf/baai/"));
const contentText = (c) => (typeof c === "string" ? c : Array.isArray(c) ? c.map((p) => p?.text ?? "").join("") : String(c ?? ""));
/** Everything the chat model got as system messages. */
function systemText(gw, trace) {
  const calls = chatCalls(gw, trace);
  assert.equal(calls.length, 1, `one chat call for ${trace}: ${JSON.stringify(calls.map((c) => c.model))}`);
  return calls[0].inputs.messages.filter((m) => m.role === "system").map((m) => contentText(m.content)).join("\n");
}
const allModelText = (gw, trace) => chatCalls(gw, trace).flatMap((c) => c.inputs.messages.map((m) => contentText(m.content))).join("\n");

/** Checks the public shape of sources: numbered from 1, each {n, docId, title, url, chunk, score, snippet}. */
function assertSources(sources, text = "") {
  assert.ok(Array.isArray(sources), `sources is an array: ${text.slice(0, 400)}`);
  assert.deepEqual(sources.map((s) => s.n), sources.map((_, i) => i + 1), `numbered from 1: ${text.slice(0, 400)}`);
  for (const s of sources) {
    for (const k of ["n", "docId", "title", "url", "chunk", "score", "snippet"]) assert.ok(k in s, `source has ${k}: ${JSON.stringify(s)}`);
    assert.equal(typeof s.docId, "string");
    assert.ok(Number.isInteger(s.chunk) && s.chunk >= 0, JSON.stringify(s));
    assert.equal(typeof s.score, "number");
    assert.equal(typeof s.snippet, "string");
    assert.ok(s.snippet.length > 0, JSON.stringify(s));
    assert.ok(!("text" in s), "clients get a snippet, not the chunk text");
  }
  return sources;
}
const docIds = (sources) => (sources ?? []).map((s) => s.docId);

// ---- documents ------------------------------------------------------------------------------

const REFUNDS_SENTENCE = "Refunds for the Quokka Deluxe kettle are paid within seven business days.";
const REFUNDS = [
  "# Refund policy",
  "",
  "## Returning a purchase",
  "",
  "Unopened purchases may be returned within 30 days of delivery for a full refund to the original card.",
  REFUNDS_SENTENCE,
  "",
  "## Exchanges",
  "",
  "Exchanges for a different size or colour are free of charge and ship within two days.",
  "",
  "## Damaged items",
  "",
  "Report damaged items with a photo within 48 hours so that a replacement can be sent.",
].join("\n");
const QUOKKA_QUESTION = "How long do refunds for the Quokka Deluxe kettle take?";

const SHIPPING = [
  "# Shipping",
  "",
  "Orders leave the warehouse in Rotterdam every weekday at noon.",
  "Standard delivery inside the EU takes three to five days; express delivery takes one day.",
  "Tracking links are emailed as soon as the parcel is handed to the carrier.",
].join("\n");

/** A long Markdown document of `sections` sections, each a few hundred words about `topic`. */
function longDoc(title, topic, sections, seed = 1) {
  const words = ["inventory", "pallet", "forklift", "barcode", "scanner", "aisle", "shelf", "dock", "carrier", "invoice",
    "supplier", "audit", "count", "label", "container", "freight", "customs", "manifest", "route", "schedule"];
  let x = seed;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out = [`# ${title}`, ""];
  for (let s = 0; s < sections; s++) {
    out.push(`## ${topic} part ${s + 1}`, "");
    for (let p = 0; p < 4; p++) {
      const sentences = [];
      for (let k = 0; k < 8; k++) {
        const n = 8 + Math.floor(rand() * 8);
        const ws = Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]);
        sentences.push(`The ${topic} ${ws.join(" ")}.`);
      }
      out.push(sentences.join(" "), "");
    }
  }
  return out.join("\n").trim();
}

// ---- the main gateway: kb `help`, kb `tiny` (small maxDocumentBytes), presets -----------------

const mainTenant = testTenant({
  limits: { maxRequestBytes: 8192, maxOutputTokens: 256, attemptTimeoutMs: 5000 },
  knowledge: {
    help: { embeddingModel: SMALL },
    tiny: { embeddingModel: SMALL, maxDocumentBytes: 1024 },
  },
  presets: {
    support: { model: CHAT_MODEL, knowledge: "help", system: PRESET_SYSTEM },
    strict: { model: CHAT_MODEL, knowledge: "help", required: true },
  },
});

let gw;
before(async () => {
  gw = await kbGateway({ tenant: mainTenant });
});
after(() => gw?.close());

describe("(a) ingest a Markdown document, then ask about it", () => {
  let refunds;

  test("PUT → 202 queued; the queue consumer makes it ready with chunks, hash and embedding tokens", async () => {
    const trace = traceId("put");
    const put = await putDoc(gw, "help", "refunds", REFUNDS, {
      query: { url: "https://example.com/refunds", metadata: JSON.stringify({ team: "billing", rev: 3 }) },
      trace,
    });
    assert.equal(put.status, 202, put.text);
    assert.match(put.headers.get("content-type") || "", /^application\/json/);
    const q = put.body.document;
    assert.equal(q.kb, "help");
    assert.equal(q.docId, "refunds");
    assert.equal(q.state, "queued");
    assert.equal(q.version, 1);
    assert.equal(q.bytes, Buffer.byteLength(REFUNDS));
    assert.match(q.contentType, /^text\/markdown/);
    assert.equal(q.url, "https://example.com/refunds");
    assert.deepEqual(q.metadata, { team: "billing", rev: 3 });
    assert.equal(q.audience, null);
    assert.ok(!("unchanged" in put.body) || put.body.unchanged === false, put.text);

    refunds = await waitDoc(gw, "help", "refunds");
    assert.equal(refunds.state, "ready", JSON.stringify(refunds));
    assert.equal(refunds.reason, null);
    assert.equal(refunds.title, "Refund policy", "the first `# ` heading is the title");
    assert.ok(Number.isInteger(refunds.chunks) && refunds.chunks > 0, JSON.stringify(refunds));
    assert.match(refunds.contentHash, /^[0-9a-f]{64}$/);
    assert.ok(Number.isInteger(refunds.embeddingTokens) && refunds.embeddingTokens > 0, JSON.stringify(refunds));
    assert.equal(refunds.version, 1);
    for (const k of ["createdAt", "updatedAt", "indexedAt"]) assert.ok(!Number.isNaN(Date.parse(refunds[k])), `${k}: ${refunds[k]}`);
    assert.deepEqual(refunds.metadata, { team: "billing", rev: 3 }, "metadata is returned as is");
    assert.equal(docVectors(gw, "refunds").length, refunds.chunks, "one vector per chunk (no audience)");
    assert.ok(docVectors(gw, "refunds").every((v) => v.values.length === 384));

    const list = await listDocs(gw, "help");
    assert.equal(list.status, 200, list.text);
    assert.ok(list.body.documents.some((d) => d.docId === "refunds" && d.state === "ready"), list.text);
    assert.ok("nextCursor" in list.body, list.text);
  });

  test("the content hash is the SHA-256 of the extracted text (plain text already clean)", async () => {
    const text = "Gift cards never expire.\nThey can be used in every store and online.";
    const d = await ingest(gw, "help", "gift-cards", text, { type: "text/plain; charset=utf-8" });
    assert.equal(d.contentHash, crypto.createHash("sha256").update(text).digest("hex"));
    assert.equal(d.contentType.split(";")[0], "text/plain");
    assert.equal(d.title, null, "plain text has no title unless given one");
  });

  test("/chat with knowledge: JSON sources, x-knowledge, and a system block of numbered sources for the model", async () => {
    await ingest(gw, "help", "shipping", SHIPPING, { query: { title: "Shipping times" } });
    const r = await ask(gw, { message: QUOKKA_QUESTION, knowledge: "help" });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.text, ANSWER);
    const sources = assertSources(r.body.sources, r.text);
    assert.ok(sources.length > 0, r.text);
    assert.equal(sources[0].docId, "refunds", r.text);
    assert.equal(sources[0].title, "Refund policy");
    assert.equal(sources[0].url, "https://example.com/refunds");
    assert.ok(sources.length <= 5, "topK 5 by default");
    assert.equal(r.headers.get("x-knowledge"), `help; sources=${sources.length}`);

    const system = systemText(gw, r.trace);
    assert.match(system, /\[1\]/, system);
    assert.ok(system.includes(REFUNDS_SENTENCE), `the model got the source text: ${system}`);
    const calls = chatCalls(gw, r.trace);
    assert.equal(calls[0].model, CHAT_MODEL);
    const user = calls[0].inputs.messages.filter((m) => m.role === "user").map((m) => contentText(m.content));
    assert.ok(user.at(-1).includes(QUOKKA_QUESTION), `the question is still the user's message: ${JSON.stringify(user)}`);
  });

  test("/chat streamed: an `event: sources` before the first `event: token`", async () => {
    const r = await ask(gw, { message: QUOKKA_QUESTION, knowledge: "help", stream: true });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.events, `an SSE answer: ${r.text.slice(0, 300)}`);
    const names = r.events.map((e) => e.event);
    const at = names.indexOf("sources");
    const firstToken = names.indexOf("token");
    assert.ok(at >= 0, `a sources event: ${names.join(",")}`);
    assert.ok(firstToken > at, `sources before the first token: ${names.join(",")}`);
    const sources = assertSources(r.events[at].data.sources, r.text);
    assert.equal(sources[0].docId, "refunds");
    assert.equal(r.events.filter((e) => e.event === "token").map((e) => e.data.text).join(""), ANSWER);
    assert.equal(names.at(-1), "done");
    assert.equal(r.headers.get("x-knowledge"), `help; sources=${sources.length}`);
  });

  test("/v1/chat/completions with a preset as the model: top-level sources, the preset's system prompt", async () => {
    const r = await post(gw, "/v1/chat/completions", { model: "support", messages: [{ role: "user", content: QUOKKA_QUESTION }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.object, "chat.completion");
    assert.equal(r.body.choices[0].message.content, ANSWER);
    const sources = assertSources(r.body.sources, r.text);
    assert.equal(sources[0].docId, "refunds", r.text);
    assert.equal(r.headers.get("x-knowledge"), `help; sources=${sources.length}`);
    const system = systemText(gw, r.trace);
    assert.ok(system.includes(PRESET_SYSTEM), `the preset's system prompt: ${system}`);
    assert.ok(system.includes(REFUNDS_SENTENCE) && /\[1\]/.test(system), system);
    assert.equal(chatCalls(gw, r.trace)[0].model, CHAT_MODEL, "the preset's model answers");
  });

  test("/v1/chat/completions streamed: a last chunk with choices [] and sources, then [DONE]", async () => {
    const r = await post(gw, "/v1/chat/completions", { model: "support", stream: true, messages: [{ role: "user", content: QUOKKA_QUESTION }] });
    assert.equal(r.status, 200, r.text);
    const data = r.text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
    assert.equal(data.at(-1), "[DONE]", r.text.slice(-400));
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const last = chunks.at(-1);
    assert.equal(last.object, "chat.completion.chunk");
    assert.deepEqual(last.choices, [], JSON.stringify(last));
    const sources = assertSources(last.sources, JSON.stringify(last));
    assert.equal(sources[0].docId, "refunds");
    assert.equal(chunks.filter((c) => c.sources).length, 1, "sources are sent once");
    const content = chunks.flatMap((c) => c.choices).map((c) => c.delta?.content ?? "").join("");
    assert.equal(content, ANSWER);
    assert.equal(r.headers.get("x-knowledge"), `help; sources=${sources.length}`);
  });

  test("the official SDKs, unchanged, stream a preset's answer and keep its sources (openai responses.stream, Anthropic messages.stream)", async () => {
    const question = "How long do refunds take to arrive?";
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused" });
    const stream = openai.responses.stream({ model: "support", input: question });
    const final = await stream.finalResponse();
    // openai's ResponseStream adds no output_text convenience: read the message item.
    const text = final.output.filter((o) => o.type === "message").flatMap((m) => m.content).map((c) => c.text).join("");
    assert.equal(text, ANSWER);
    assert.equal(assertSources(final.sources, JSON.stringify(final))[0].docId, "refunds");
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: "unused" });
    const ms = anthropic.messages.stream({ model: "support", max_tokens: 100, messages: [{ role: "user", content: question }] });
    const message = await ms.finalMessage();
    assert.equal(message.content.map((b) => b.text).join(""), ANSWER);
    // The stream's `message_start` carried the sources; the SDK's accumulated message keeps them.
    assert.equal(assertSources(message.sources, JSON.stringify(message))[0].docId, "refunds");
  });

  test("GET /v1/models lists the presets", async () => {
    const res = await fetch(`${gw.url}/v1/models`);
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    const ids = body.data.map((m) => m.id);
    assert.ok(ids.includes("support"), ids.join(", "));
    assert.ok(ids.includes("strict"), ids.join(", "));
    assert.equal(new Set(ids).size, ids.length, "each id once");
  });

  test("a request without knowledge has no x-knowledge header and no sources", async () => {
    const r = await ask(gw, { message: QUOKKA_QUESTION });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("x-knowledge"), null);
    assert.ok(!r.body.sources || r.body.sources.length === 0, r.text);
    assert.ok(!systemText(gw, r.trace).includes(REFUNDS_SENTENCE));
  });
});

describe("(b) uploading a document again", () => {
  const V1 = longDoc("Returns warehouse guide", "returns", 6, 7);
  const V2 = "# Returns warehouse guide\n\nReturned parcels are now handled by the Lisbon hub only; the old process is retired.";
  let v1;

  test("the same content again → 200 unchanged: true; nothing is queued, re-embedded or re-indexed", async () => {
    v1 = await ingest(gw, "help", "returns-guide", V1, { query: { title: "Returns guide" } });
    assert.ok(v1.chunks >= 3, `a long document makes several chunks: ${JSON.stringify(v1)}`);
    assert.equal(docVectors(gw, "returns-guide").length, v1.chunks);
    const embeds = gw.aiCalls().filter((c) => c.model === SMALL).length;
    const writes = gw.vectorizeRequests(INDEX).filter((r) => ["upsert", "insert", "deleteByIds"].includes(r.op)).length;

    const again = await putDoc(gw, "help", "returns-guide", V1, { query: { title: "Returns guide" } });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.unchanged, true, again.text);
    assert.equal(again.body.document.version, v1.version);
    assert.equal(again.body.document.state, "ready");
    assert.equal(again.body.document.contentHash, v1.contentHash);

    await sleep(2500); // longer than the consumer's batch timeout
    const now = (await getDoc(gw, "help", "returns-guide")).body.document;
    assert.equal(now.version, v1.version);
    assert.equal(now.state, "ready");
    assert.equal(now.indexedAt, v1.indexedAt);
    assert.equal(now.chunks, v1.chunks);
    assert.equal(gw.aiCalls().filter((c) => c.model === SMALL).length, embeds, "no embedding call");
    assert.equal(gw.vectorizeRequests(INDEX).filter((r) => ["upsert", "insert", "deleteByIds"].includes(r.op)).length, writes, "no Vectorize write");
  });

  test("the same text with another title is a change: 202, version + 1", async () => {
    const put = await putDoc(gw, "help", "returns-guide", V1, { query: { title: "Returns guide (2026)" } });
    assert.equal(put.status, 202, put.text);
    const d = await waitDoc(gw, "help", "returns-guide", { version: v1.version + 1 });
    assert.equal(d.state, "ready", JSON.stringify(d));
    assert.equal(d.version, v1.version + 1);
    assert.equal(d.title, "Returns guide (2026)");
    assert.equal(d.contentHash, v1.contentHash);
    v1 = d;
  });

  test("changed content → 202, version + 1, ready; the old chunks' vectors are gone", async () => {
    const put = await putDoc(gw, "help", "returns-guide", V2);
    assert.equal(put.status, 202, put.text);
    assert.ok([v1.version, v1.version + 1].includes(put.body.document.version), put.text);
    const d = await waitDoc(gw, "help", "returns-guide", { version: v1.version + 1 });
    assert.equal(d.state, "ready", JSON.stringify(d));
    assert.equal(d.version, v1.version + 1);
    assert.notEqual(d.contentHash, v1.contentHash);
    assert.equal(d.title, "Returns warehouse guide", "without a title parameter, the heading's");
    assert.ok(d.chunks >= 1 && d.chunks < v1.chunks, `${d.chunks} chunks now, ${v1.chunks} before`);
    const vectors = docVectors(gw, "returns-guide");
    assert.equal(vectors.length, d.chunks, `stale vectors left: ${vectors.map((v) => v.id).join(", ")}`);

    const r = await ask(gw, { message: "Which hub handles returned parcels, and what about the returns pallet forklift barcode scanner audit?", knowledge: "help" });
    assert.equal(r.status, 200, r.text);
    const mine = (r.body.sources ?? []).filter((s) => s.docId === "returns-guide");
    assert.ok(mine.length > 0, r.text);
    assert.ok(mine.every((s) => s.chunk < d.chunks), `only chunks of the new version: ${r.text}`);
    assert.ok(mine.some((s) => s.snippet.includes("Lisbon")), r.text);
    assert.ok(!systemText(gw, r.trace).includes("The returns "), "no text of the old version reaches the model");
  });
});

describe("(c) deleting a document", () => {
  const MARKER = "The Platypus blender was recalled because its lid can crack under pressure.";
  const DOC = `# Platypus blender recall\n\n${MARKER}\nBring it to any store for a replacement jug and a voucher.`;
  const QUESTION = "Why was the Platypus blender recalled?";

  test("DELETE → 200; then 404 document_not_found, not listed, not retrieved, no vectors, no text in D1", async () => {
    const d = await ingest(gw, "help", "platypus-recall", DOC);
    assert.equal(docVectors(gw, "platypus-recall").length, d.chunks);
    const before = await ask(gw, { message: QUESTION, knowledge: "help" });
    assert.equal(before.body.sources?.[0]?.docId, "platypus-recall", before.text);
    assert.ok((await d1TablesWith(gw, MARKER)).length > 0, "the chunk text is in D1 before the delete");

    const del = await deleteDoc(gw, "help", "platypus-recall");
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.body, { deleted: true, docId: "platypus-recall" });

    assertError(await getDoc(gw, "help", "platypus-recall"), 404, "document_not_found");
    assertError(await deleteDoc(gw, "help", "platypus-recall"), 404, "document_not_found");
    const list = await listDocs(gw, "help");
    assert.ok(!list.body.documents.some((x) => x.docId === "platypus-recall"), list.text);
    assert.deepEqual(docVectors(gw, "platypus-recall").map((v) => v.id), []);
    assert.deepEqual(await d1TablesWith(gw, MARKER), [], "no chunk or document text left in D1");

    const after = await ask(gw, { message: QUESTION, knowledge: "help" });
    assert.equal(after.status, 200, after.text);
    assert.ok(!docIds(after.body.sources).includes("platypus-recall"), after.text);
    assert.ok(!allModelText(gw, after.trace).includes(MARKER), "the deleted text never reaches the model");
    assert.equal(after.headers.get("x-knowledge"), `help; sources=${(after.body.sources ?? []).length}`);
  });
});

describe("(d) a ~2 MB Markdown document", () => {
  const HARBOUR = "The harbour gate password for night shifts is marmalade.";

  /** About `target` bytes of Markdown: many `## ` sections of generated prose, one holding HARBOUR. */
  function bigManual(target) {
    const vocab = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo " +
      "sierra tango uniform victor whiskey xray yankee zulu amber cobalt crimson indigo jade olive pearl ruby saffron teal umber violet " +
      "anchor beacon cargo ferry galley hull keel mast rudder sail stern tide wharf").split(" ");
    let x = 42;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
    const parts = ["# Fleet operations manual", ""];
    let bytes = 0;
    let sections = 0;
    while (bytes < target) {
      sections++;
      const lines = [`## Chapter ${sections}: ${vocab[sections % vocab.length]} ${vocab[(sections * 7) % vocab.length]} procedures`, ""];
      for (let p = 0; p < 5; p++) {
        const sentences = [];
        for (let s = 0; s < 7; s++) {
          const n = 9 + Math.floor(rand() * 9);
          sentences.push(`${Array.from({ length: n }, () => vocab[Math.floor(rand() * vocab.length)]).join(" ")}.`);
        }
        if (sections === 200 && p === 2) sentences.push(HARBOUR);
        lines.push(sentences.join(" "), "");
      }
      const block = lines.join("\n");
      parts.push(block);
      bytes += Buffer.byteLength(block) + 1;
    }
    return { text: parts.join("\n").trim(), sections };
  }

  test("it goes through the queue to ready, with a plausible chunk count and one vector per chunk", { timeout: 420_000 }, async () => {
    const { text, sections } = bigManual(2 * 1024 * 1024);
    const bytes = Buffer.byteLength(text);
    assert.ok(bytes >= 2 * 1024 * 1024 && bytes < 2.1 * 1024 * 1024, `${bytes} bytes`);
    const t0 = Date.now();
    const d = await ingest(gw, "help", "fleet-manual", text, { ms: 360_000 });
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(d.bytes, bytes);
    assert.equal(d.title, "Fleet operations manual");
    // The text is ASCII: about bytes / 4 tokens. Chunks hold at most 512 tokens (the default);
    // every section makes at least one, and overlap adds at most 64 tokens per chunk.
    const tokens = Math.ceil(bytes / 4);
    const least = Math.floor((0.9 * tokens) / 512);
    const most = sections + Math.ceil(tokens / (512 - 64 - 32));
    assert.ok(d.chunks >= least && d.chunks <= most, `${d.chunks} chunks for ${tokens} tokens in ${sections} sections: expected ${least}..${most}`);
    assert.ok(d.embeddingTokens >= 0.9 * tokens, `embeddingTokens ${d.embeddingTokens} for ~${tokens} tokens of text`);
    assert.equal(docVectors(gw, "fleet-manual").length, d.chunks);
    console.log(`# 2 MB document: ${bytes} bytes, ${sections} sections, ${d.chunks} chunks, ${d.embeddingTokens} embedding tokens, ready in ${seconds.toFixed(1)} s`);

    const r = await ask(gw, { message: "What is the harbour gate password for night shifts?", knowledge: "help" });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.sources?.[0]?.docId, "fleet-manual", r.text);
    assert.ok(systemText(gw, r.trace).includes(HARBOUR), "the chunk holding the answer reaches the model");
  });
});

describe("(d2) chunks as long as the chunking allows", () => {
  // A section whose body is one long paragraph: the chunker packs sentences up to the default
  // 512 tokens, and the embedding model's input (the heading path line, then the chunk text;
  // crates/knowledge/src/chunk.rs) must still fit bge-*-en's 512-token input (the AI stand-in
  // refuses longer texts with 3006, as Workers AI documents the limit).
  test("a long paragraph under nested headings is ingested to ready", { timeout: 60_000 }, async () => {
    const sentences = Array.from({ length: 70 }, (_, i) => `Trip ${i + 1} longer than three days needs a booking approved by the travel desk before any ticket is bought.`);
    const text = `# Employee handbook\n\n## Travel and expenses for regional sales teams\n\n### Booking rules for long trips abroad\n\n${sentences.join(" ")}`;
    const put = await putDoc(gw, "help", "travel-booking", text);
    assert.equal(put.status, 202, put.text);
    const d = await waitDoc(gw, "help", "travel-booking", { ms: 45_000 });
    assert.equal(d.state, "ready", JSON.stringify(d));
    assert.ok(d.chunks >= 3, JSON.stringify(d));
    assert.equal(docVectors(gw, "travel-booking").length, d.chunks);
  });
});

describe("(e) documents that are refused leave nothing behind", () => {
  const MARKER = "Zeppelin hangar rota";

  async function refusedAndAbsent(kb, docId, r, status, code) {
    assertError(r, status, code);
    const got = await getDoc(gw, kb, docId);
    assert.equal(got.status, 404, `${kb}/${docId} must not exist: ${got.text}`);
    const list = await listDocs(gw, kb);
    assert.equal(list.status, 200, list.text);
    assert.ok(!list.body.documents.some((d) => d.docId === docId), `${docId} listed: ${list.text}`);
  }

  test("empty → 422 empty_document (also blank Markdown)", async () => {
    await refusedAndAbsent("help", "bad-empty", await putDoc(gw, "help", "bad-empty", ""), 422, "empty_document");
    await refusedAndAbsent("help", "bad-blank", await putDoc(gw, "help", "bad-blank", " \n\n\t \n"), 422, "empty_document");
  });

  test("NUL bytes → 422 binary_document", async () => {
    const body = Buffer.concat([Buffer.from(`${MARKER} one\n`), Buffer.from([0, 1, 2, 0, 0, 255, 0]), Buffer.from("tail")]);
    await refusedAndAbsent("help", "bad-binary", await putDoc(gw, "help", "bad-binary", body, { type: "text/plain" }), 422, "binary_document");
  });

  test("invalid UTF-8 → 422 invalid_utf8", async () => {
    const body = Buffer.concat([Buffer.from(`${MARKER} two: caf`), Buffer.from([0xe9]), Buffer.from(" au lait")]);
    await refusedAndAbsent("help", "bad-utf8", await putDoc(gw, "help", "bad-utf8", body, { type: "text/plain; charset=utf-8" }), 422, "invalid_utf8");
  });

  test("past maxDocumentBytes → 413 document_too_large; exactly at it is accepted", async () => {
    const over = `${MARKER} three. ${"x".repeat(1025)}`.slice(0, 1025);
    assert.equal(Buffer.byteLength(over), 1025);
    await refusedAndAbsent("tiny", "bad-big", await putDoc(gw, "tiny", "bad-big", over, { type: "text/plain" }), 413, "document_too_large");
    const big = "A".repeat(600_000);
    await refusedAndAbsent("tiny", "bad-bigger", await putDoc(gw, "tiny", "bad-bigger", big, { type: "text/plain" }), 413, "document_too_large");
    const exact = "word ".repeat(205).slice(0, 1024);
    assert.equal(Buffer.byteLength(exact), 1024);
    const ok = await ingest(gw, "tiny", "at-limit", exact, { type: "text/plain" });
    assert.equal(ok.bytes, 1024);
  });

  test("an unsupported content type → 415 unsupported_media_type (application/pdf, none, a charset other than UTF-8)", async () => {
    await refusedAndAbsent("help", "bad-pdf", await putDoc(gw, "help", "bad-pdf", `%PDF-1.7 ${MARKER} four`, { type: "application/pdf" }), 415, "unsupported_media_type");
    await refusedAndAbsent("help", "bad-json", await putDoc(gw, "help", "bad-json", JSON.stringify({ text: MARKER }), { type: "application/json" }), 415, "unsupported_media_type");
    await refusedAndAbsent("help", "bad-latin1", await putDoc(gw, "help", "bad-latin1", `${MARKER} five`, { type: "text/plain; charset=iso-8859-1" }), 415, "unsupported_media_type");
  });

  // docs/knowledge.md: "400 invalid_request (bad docId, url, audience, metadata)". Every case
  // is tried before the one assertion, so a failure lists all of them.
  test("a bad docId → 400 invalid_request; 43 characters and : . _ - are fine", async () => {
    const got = [];
    for (const bad of [encodeURIComponent("bad id"), "...", "x".repeat(44), encodeURIComponent("café"), encodeURIComponent("a*b")]) {
      const r = await putDoc(gw, "help", bad, `${MARKER} six`, { type: "text/plain" });
      got.push({ docId: decodeURIComponent(bad), status: r.status, code: r.body?.error?.code });
    }
    assert.deepEqual(got, got.map(({ docId }) => ({ docId, status: 400, code: "invalid_request" })));
    const longest = `${"y".repeat(40)}:._`;
    assert.equal(longest.length, 43);
    await ingest(gw, "help", longest, "The longest allowed document id works.", { type: "text/plain" });
    await ingest(gw, "help", "v2:intro.md_x-y", "Ids with colons, dots, underscores and dashes work.", { type: "text/plain" });
    const list = await listDocs(gw, "help");
    assert.ok(list.body.documents.some((d) => d.docId === longest), list.text);
    assert.ok(list.body.documents.some((d) => d.docId === "v2:intro.md_x-y"), list.text);
  });

  test("bad url, audience or metadata → 400 invalid_request", async () => {
    const cases = [
      { url: "ftp://example.com/x" },
      { url: "javascript:alert(1)" },
      { url: `https://example.com/${"p".repeat(2048)}` },
      { audience: "*" },
      { audience: "bad group" },
      { metadata: "[1, 2]" },
      { metadata: "{not json" },
      { metadata: JSON.stringify({ blob: "m".repeat(2100) }) },
    ];
    const got = [];
    for (const [i, query] of cases.entries()) {
      const id = `bad-param-${i}`;
      const r = await putDoc(gw, "help", id, `${MARKER} seven`, { query, type: "text/plain" });
      const param = Object.entries(query).map(([k, v]) => `${k}=${v.slice(0, 40)}`).join("");
      got.push({ param, status: r.status, code: r.body?.error?.code });
      assert.equal((await getDoc(gw, "help", id)).status, 404, `${param}: a refused document is not stored`);
    }
    assert.deepEqual(got, got.map(({ param }) => ({ param, status: 400, code: "invalid_request" })));
  });

  test("an unknown kb → 404 unknown_knowledge_base on every route", async () => {
    assertError(await putDoc(gw, "nope", "doc", `${MARKER} eight`), 404, "unknown_knowledge_base");
    assertError(await getDoc(gw, "nope", "doc"), 404, "unknown_knowledge_base");
    assertError(await deleteDoc(gw, "nope", "doc"), 404, "unknown_knowledge_base");
    assertError(await listDocs(gw, "nope"), 404, "unknown_knowledge_base");
  });

  test("without the admin token (or with a wrong one) every route is 404 not_found, and nothing is stored", async () => {
    for (const token of [null, "not-the-admin-token", `${ADMIN_TOKEN}x`]) {
      assertError(await putDoc(gw, "help", "sneaky", `${MARKER} nine`, { token }), 404, "not_found");
      assertError(await getDoc(gw, "help", "refunds", { token }), 404, "not_found");
      assertError(await listDocs(gw, "help", { limit: "10" }, { token }), 404, "not_found");
      assertError(await deleteDoc(gw, "help", "refunds", { token }), 404, "not_found");
      assertError(await putDoc(gw, "nope", "sneaky", `${MARKER} nine`, { token }), 404, "not_found");
    }
    assertError(await getDoc(gw, "help", "sneaky"), 404, "document_not_found");
    assert.equal((await getDoc(gw, "help", "refunds")).status, 200, "the document is still there");
  });

  test("no refused document left text in D1", async () => {
    await sleep(1500); // anything wrongly queued would have been consumed by now
    assert.deepEqual(await d1TablesWith(gw, MARKER), []);
    assert.deepEqual(gw.vectors(INDEX).filter((v) => /^bad-/.test(vectorDoc(v) ?? "")), []);
  });

  test("the list pages by document id", async () => {
    const first = await listDocs(gw, "help", { limit: "2" });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.documents.length, 2);
    assert.ok(first.body.nextCursor, first.text);
    const second = await listDocs(gw, "help", { limit: "2", cursor: first.body.nextCursor });
    assert.equal(second.status, 200, second.text);
    const ids = [...first.body.documents, ...second.body.documents].map((d) => d.docId);
    assert.deepEqual(ids, [...ids].sort(), "by document id");
    assert.equal(new Set(ids).size, ids.length, "no document twice");
    for (const limit of ["0", "201", "x"]) assertError(await listDocs(gw, "help", { limit }), 400, "invalid_request");
  });
});

describe("(j) ingestion failures", () => {
  // Two kbs on their own indexes: `flaky`'s embedding model fails twice, then works; `broken`'s
  // always fails (capacity). The consumer has Cloudflare Queues' default max_retries, 3: a job
  // is delivered at most 4 times, and the worker picks the delay between runs (retry_in).
  const BASE = "@cf/baai/bge-base-en-v1.5", LARGE = "@cf/baai/bge-large-en-v1.5";
  let fg;
  before(async () => {
    fg = await startGateway({
      tenant: testTenant({
        knowledge: {
          flaky: { embeddingModel: BASE, index: "FLAKY_INDEX" },
          broken: { embeddingModel: LARGE, index: "BROKEN_INDEX" },
        },
      }),
      vars: { ADMIN_TOKEN },
      scenarios: { "*": { text: ANSWER }, [BASE]: { failTimes: 2 }, [LARGE]: { error: "3040: Capacity temporarily exceeded, please try again." } },
      vectorize: {
        FLAKY_INDEX: { dimensions: 768, metric: "cosine", metadataIndexes: { kb: "string", aud: "string" } },
        BROKEN_INDEX: { dimensions: 1024, metric: "cosine", metadataIndexes: { kb: "string", aud: "string" } },
      },
      d1Databases: { KNOWLEDGE_DB: "knowledge-db" },
      queueProducers: { KNOWLEDGE_QUEUE: "knowledge-ingest" },
      queueConsumers: { "knowledge-ingest": { maxBatchSize: 5, maxBatchTimeout: 1, maxRetries: 3 } },
    });
  });
  after(() => fg?.close());

  test("a passing embedding failure is retried: the document ends ready", { timeout: 150_000 }, async () => {
    const put = await putDoc(fg, "flaky", "flaky-doc", "# Capacity\n\nThe embedding model was busy twice before it answered.");
    assert.equal(put.status, 202, put.text);
    const d = await waitDoc(fg, "flaky", "flaky-doc", { ms: 120_000 });
    assert.equal(d.state, "ready", JSON.stringify(d));
    assert.equal(d.reason, null, "a ready document has no reason");
    assert.ok(fg.aiCalls().filter((c) => c.model === BASE).length >= 3, "two failed calls, then one that worked");
    const r = await ask(fg, { message: "Was the embedding model busy?", knowledge: "flaky" });
    assert.equal(r.body.sources?.[0]?.docId, "flaky-doc", r.text);
  });

  test("a document whose every delivery fails ends failed with a reason (not queued forever); uploading it again queues it", { timeout: 300_000 }, async () => {
    const text = "# Overloaded\n\nThe model of this knowledge base never has capacity.";
    const put = await putDoc(fg, "broken", "broken-doc", text);
    assert.equal(put.status, 202, put.text);
    const d = await waitDoc(fg, "broken", "broken-doc", { ms: 240_000 });
    assert.equal(d.state, "failed", JSON.stringify(d));
    assert.equal(typeof d.reason, "string", JSON.stringify(d));
    assert.ok(d.reason.length > 0, JSON.stringify(d));
    assert.ok(!d.reason.includes("never has capacity"), "the reason holds no document text");
    assert.deepEqual(fg.vectors("BROKEN_INDEX"), []);
    const list = await listDocs(fg, "broken");
    assert.equal(list.body.documents.find((x) => x.docId === "broken-doc")?.state, "failed", list.text);
    const again = await putDoc(fg, "broken", "broken-doc", text);
    assert.equal(again.status, 202, `a failed document is never "unchanged": ${again.text}`);
    assert.equal(again.body.document.state, "queued");
    const del = await deleteDoc(fg, "broken", "broken-doc");
    assert.equal(del.status, 200, del.text);
  });
});

describe("(f) isolation", () => {
  let iso;
  const ISO_TENANT = testTenant({
    knowledge: { help: { embeddingModel: SMALL }, internal: { embeddingModel: SMALL } },
  });
  const PUBLIC = "# Lighthouse visits\n\nThe lighthouse is open to visitors on weekends from ten to four. Tickets cost five euros at the gift shop.";
  const OPS = "# Lighthouse maintenance\n\nThe lighthouse lamp is serviced every Tuesday night by the keeper. The keeper's salary schedule is confidential.";
  const LAMP_QUESTION = "When is the lighthouse lamp serviced by the keeper, and what is the keeper's salary schedule?";

  before(async () => {
    iso = await kbGateway({ tenant: ISO_TENANT });
  });
  after(() => iso?.close());

  test("two kbs on one index and database: a question retrieves only from the kb it names", async () => {
    await ingest(iso, "help", "lighthouse-public", PUBLIC);
    await ingest(iso, "internal", "lighthouse-ops", OPS);
    const help = await ask(iso, { message: LAMP_QUESTION, knowledge: "help" });
    assert.equal(help.status, 200, help.text);
    assert.ok(docIds(help.body.sources).length > 0, help.text);
    assert.deepEqual([...new Set(docIds(help.body.sources))], ["lighthouse-public"], help.text);
    assert.ok(!systemText(iso, help.trace).includes("Tuesday night"), "the other kb's text never reaches the model");
    const internal = await ask(iso, { message: LAMP_QUESTION, knowledge: "internal" });
    assert.equal(internal.body.sources?.[0]?.docId, "lighthouse-ops", internal.text);
    assert.ok(!docIds(internal.body.sources).includes("lighthouse-public"), internal.text);
    assert.equal(internal.headers.get("x-knowledge"), `internal; sources=${internal.body.sources.length}`);
    const list = await listDocs(iso, "help");
    assert.deepEqual(list.body.documents.map((d) => d.docId), ["lighthouse-public"]);
  });

  test("the same docId in two kbs: two documents, two sets of vectors; deleting one leaves the other", async () => {
    const h = await ingest(iso, "help", "lighthouse", "# Lighthouse shop\n\nThe gift shop sells postcards of the lighthouse.");
    const i = await ingest(iso, "internal", "lighthouse", "# Lighthouse staff\n\nThe keeper's salary schedule is paid monthly.");
    assert.notEqual(h.contentHash, i.contentHash);
    assert.equal(docVectors(iso, "lighthouse").length, h.chunks + i.chunks, "neither overwrote the other's vectors");
    assert.equal(docVectors(iso, "lighthouse", "help").length, h.chunks);
    const del = await deleteDoc(iso, "internal", "lighthouse");
    assert.equal(del.status, 200, del.text);
    assert.equal((await getDoc(iso, "help", "lighthouse")).body?.document?.state, "ready");
    assert.equal(docVectors(iso, "lighthouse").length, h.chunks);
    assert.equal(docVectors(iso, "lighthouse", "help").length, h.chunks);
    const r = await ask(iso, { message: "What does the lighthouse gift shop sell? postcards", knowledge: "help" });
    assert.ok(r.body.sources.some((s) => s.docId === "lighthouse" && s.snippet.includes("postcards")), r.text);
  });

  test("two tenants sharing one Vectorize index never see each other's documents", async () => {
    const other = await kbGateway({
      tenant: testTenant({ tenantId: "globex", aiGatewayId: "globex-gateway", knowledge: { help: { embeddingModel: SMALL } } }),
      vectorize: undefined,
      vectorizeSim: iso.vectorizeSim,
    });
    try {
      const acmeDoc = "# Travel policy\n\nAcme staff fly economy class and hotels are capped at 150 euros per night.";
      const globexDoc = "# Travel policy\n\nGlobex staff fly business class and hotels are capped at 400 euros per night.";
      const a = await ingest(iso, "help", "travel-policy", acmeDoc);
      const acmeIds = new Set(docVectors(iso, "travel-policy").map((v) => v.id));
      assert.equal(acmeIds.size, a.chunks);
      const g = await ingest(other, "help", "travel-policy", globexDoc);
      const all = docVectors(iso, "travel-policy");
      assert.equal(all.length, a.chunks + g.chunks, "the same kb and docId in another tenant are other vectors");
      assert.ok([...acmeIds].every((id) => all.some((v) => v.id === id)), "globex's upsert left acme's vectors alone");

      // Globex asks what only acme's document answers: nothing of acme's comes back.
      const q = await ask(other, { message: "Do Acme staff fly economy class, and is the hotel cap 150 euros?", knowledge: "help" });
      assert.equal(q.status, 200, q.text);
      assert.ok((q.body.sources ?? []).every((s) => !s.snippet.includes("Acme")), q.text);
      assert.ok(!systemText(other, q.trace).includes("capped at 150 euros per night"), "acme's text never reaches globex's model");
      // The query globex sent, replayed against the index, matches none of acme's vectors.
      const query = iso.vectorizeRequests(INDEX).filter((r) => r.op === "query").at(-1);
      const replay = iso.vectorizeSim.call(INDEX, "query", { ...query.body, topK: 100, returnValues: false, returnMetadata: "none" });
      assert.ok(replay.matches.length > 0, "the replayed query matches globex's vectors");
      assert.deepEqual(replay.matches.filter((m) => acmeIds.has(m.id)).map((m) => m.id), [], "globex's query scope excludes acme");

      const back = await ask(iso, { message: "Do Globex staff fly business class, and is the hotel cap 400 euros?", knowledge: "help" });
      assert.ok((back.body.sources ?? []).every((s) => !s.snippet.includes("Globex")), back.text);
      assert.ok((await listDocs(other, "help")).body.documents.every((d) => d.docId === "travel-policy"));

      const del = await deleteDoc(other, "help", "travel-policy");
      assert.equal(del.status, 200, del.text);
      assert.deepEqual(docVectors(iso, "travel-policy").map((v) => v.id).sort(), [...acmeIds].sort(), "deleting globex's left acme's");
    } finally {
      await other.close();
    }
  });
});

describe("(g) permissions: documents with an audience", () => {
  let pg;
  const STAFF_DOC = "# Overtime approvals\n\nOvertime approvals for warehouse staff are signed by the shift supervisor before Friday noon. Overtime pay is one and a half times the hourly rate.";
  const PUBLIC_DOC = "# Warehouse hours\n\nThe warehouse is open from seven to nineteen. Questions about overtime go to your supervisor.";
  const BONUS_DOC = "# Bonus rules\n\nThe yearly bonus pool for managers is decided in March.";
  const QUESTION = "Who signs overtime approvals for warehouse staff, and what is overtime pay?";
  const SECRET = "one and a half times";

  before(async () => {
    pg = await kbGateway({
      tenant: testTenant({ auth: { mode: "api-keys", keyCacheSeconds: 1 }, knowledge: { help: { embeddingModel: SMALL } } }),
      vars: { CLIENT_TOKEN_SECRET },
    });
    const staff = await ingest(pg, "help", "staff-overtime", STAFF_DOC, { query: { audience: "staff" } });
    assert.ok([staff.audience].flat().join(",") === "staff", `audience: ${JSON.stringify(staff.audience)}`);
    assert.equal(docVectors(pg, "staff-overtime").length, staff.chunks, "one vector per chunk for a one-group audience");
    await ingest(pg, "help", "warehouse-hours", PUBLIC_DOC);
    await ingest(pg, "help", "bonus-rules", BONUS_DOC, { query: { audience: "managers,staff" } });
  });
  after(() => pg?.close());

  const asUser = (claims, message = QUESTION) => ask(pg, { message, knowledge: "help" }, { headers: bearer(userToken(claims)) });

  test("an end-user token in group staff gets both documents, the staff one first", async () => {
    const r = await asUser({ groups: ["staff"] });
    assert.equal(r.status, 200, r.text);
    const ids = docIds(r.body.sources);
    assert.equal(ids[0], "staff-overtime", r.text);
    assert.ok(ids.includes("warehouse-hours"), r.text);
    assert.ok(systemText(pg, r.trace).includes(SECRET));
  });

  test("a token without groups (or in another group) never gets the staff document, though it is the best match", async () => {
    for (const claims of [{}, { sub: "bob", groups: ["sales"] }]) {
      const r = await asUser(claims);
      assert.equal(r.status, 200, `${JSON.stringify(claims)}: ${r.text}`);
      const ids = docIds(r.body.sources);
      assert.ok(!ids.includes("staff-overtime"), `${JSON.stringify(claims)}: ${r.text}`);
      assert.ok(ids.includes("warehouse-hours"), `${JSON.stringify(claims)}: ${r.text}`);
      assert.ok(!allModelText(pg, r.trace).includes(SECRET), `${JSON.stringify(claims)}: the staff text reached the model`);
      assert.ok(!r.text.includes(SECRET));
    }
  });

  test("a document for several groups: any one of them sees it", async () => {
    const q = "When is the yearly bonus pool for managers decided?";
    for (const [groups, sees] of [[["managers"], true], [["staff"], true], [["managers", "sales"], true], [["sales"], false], [undefined, false]]) {
      const r = await asUser({ groups }, q);
      assert.equal(r.status, 200, r.text);
      assert.equal(docIds(r.body.sources).includes("bonus-rules"), sees, `${JSON.stringify(groups)}: ${r.text}`);
    }
  });

  test("an API key with groups retrieves like a token with them; a key without none", async () => {
    const staffKey = await pg.admin("POST", "/admin/keys", { name: "staff-bot", groups: ["staff"] });
    assert.equal(staffKey.status, 201, staffKey.text);
    const plainKey = await pg.adminKey({ name: "plain-bot" });
    const withGroups = await ask(pg, { message: QUESTION, knowledge: "help" }, { headers: bearer(staffKey.body.key) });
    assert.equal(withGroups.status, 200, withGroups.text);
    assert.equal(docIds(withGroups.body.sources)[0], "staff-overtime", withGroups.text);
    const without = await ask(pg, { message: QUESTION, knowledge: "help" }, { headers: bearer(plainKey.key) });
    assert.equal(without.status, 200, without.text);
    assert.ok(!docIds(without.body.sources).includes("staff-overtime"), without.text);
  });
});

describe("(h) degradation and errors", () => {
  test("Vectorize down: 200 without sources, x-knowledge: unavailable; the model still answers", async () => {
    gw.vectorizeDown(INDEX);
    try {
      const r = await ask(gw, { message: QUOKKA_QUESTION, knowledge: "help" });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.text, ANSWER);
      assert.equal(r.headers.get("x-knowledge"), "unavailable");
      assert.ok(!r.body.sources || r.body.sources.length === 0, r.text);
      assert.equal(chatCalls(gw, r.trace).length, 1, "the answer went on without sources");
      assert.ok(!systemText(gw, r.trace).includes(REFUNDS_SENTENCE));

      const s = await ask(gw, { message: QUOKKA_QUESTION, knowledge: "help", stream: true });
      assert.equal(s.status, 200, s.text);
      assert.equal(s.headers.get("x-knowledge"), "unavailable");
      assert.ok(!s.events.some((e) => e.event === "sources" && e.data?.sources?.length), s.text);
      assert.equal(s.events.at(-1).event, "done", s.text);

      const v1 = await post(gw, "/v1/chat/completions", { model: "support", messages: [{ role: "user", content: QUOKKA_QUESTION }] });
      assert.equal(v1.status, 200, v1.text);
      assert.equal(v1.headers.get("x-knowledge"), "unavailable");
      assert.ok(!v1.body.sources || v1.body.sources.length === 0, v1.text);
    } finally {
      gw.vectorizeDown(INDEX, false);
    }
  });

  test("a preset with required = true: 503 knowledge_unavailable, and no model is called", async () => {
    gw.vectorizeDown(INDEX);
    try {
      const r = await ask(gw, { message: QUOKKA_QUESTION, modelId: "strict" });
      assertError(r, 503, "knowledge_unavailable");
      assert.deepEqual(Object.keys(r.body), ["error"]);
      assert.equal(r.body.error.traceId, r.trace);
      assert.equal(r.headers.get("x-trace-id"), r.trace);
      assert.equal(chatCalls(gw, r.trace).length, 0);

      const v1 = await post(gw, "/v1/chat/completions", { model: "strict", messages: [{ role: "user", content: QUOKKA_QUESTION }] });
      assert.equal(v1.status, 503, v1.text);
      assert.equal(v1.body.error.code, "knowledge_unavailable", v1.text);
      assert.ok("param" in v1.body.error && "type" in v1.body.error, `OpenAI's error shape: ${v1.text}`);
      assert.equal(chatCalls(gw, v1.trace).length, 0);
    } finally {
      gw.vectorizeDown(INDEX, false);
    }
    const up = await post(gw, "/v1/chat/completions", { model: "strict", messages: [{ role: "user", content: QUOKKA_QUESTION }] });
    assert.equal(up.status, 200, up.text);
    assert.equal(up.body.sources?.[0]?.docId, "refunds", up.text);
  });

  test("Vectorize answering slowly but working still grounds the answer", async () => {
    gw.vectorizeDown(INDEX, { latencyMs: 300 });
    try {
      const r = await ask(gw, { message: QUOKKA_QUESTION, knowledge: "help" });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.sources?.[0]?.docId, "refunds", r.text);
    } finally {
      gw.vectorizeDown(INDEX, false);
    }
  });

  test("an unknown kb → 400 unknown_knowledge_base, before any model call", async () => {
    const r = await ask(gw, { message: QUOKKA_QUESTION, knowledge: "nope" });
    assertError(r, 400, "unknown_knowledge_base");
    assert.equal(r.body.error.traceId, r.trace);
    assert.deepEqual(gw.aiCallsFor(r.trace), []);
  });
});

describe("(i) logs", () => {
  test("request logs carry no chunk text and no prompt text", async () => {
    const r = await ask(gw, { message: QUOKKA_QUESTION, knowledge: "help" });
    assert.equal(r.status, 200, r.text);
    const line = await gw.logFor(r.trace);
    assert.equal(line.route, "/chat");
    await sleep(300);
    const leaks = ["Quokka", "seven business days", "Platypus blender", "harbour gate password", "marmalade", "Zeppelin hangar", "Returned parcels", "Gift cards never expire"];
    for (const needle of leaks) {
      const hits = gw.logs.filter((l) => l.includes(needle));
      assert.deepEqual(hits, [], `log lines holding "${needle}"`);
    }
    // The admin routes and the ingestion were logged, without the document either.
    assert.ok(gw.requestLogs().some((l) => String(l.route ?? l.path ?? "").includes("/admin/knowledge")), "admin requests are logged");
  });
});

describe("(k) metadata filters (knowledgeFilter)", () => {
  let mg;
  const EN = "# Return policy\n\nItems can be returned within thirty days with the receipt. Refunds go to the original card.";
  const DE = "# Return policy (German office)\n\nItems can be returned within fourteen days with the receipt. Refunds go to the original card.";
  const QUESTION = "Within how many days can items be returned with the receipt?";

  before(async () => {
    mg = await kbGateway({ tenant: testTenant({ knowledge: { help: { embeddingModel: SMALL } } }) });
    await ingest(mg, "help", "returns-en", EN, { query: { metadata: JSON.stringify({ lang: "en", public: true, rev: 3 }) } });
    await ingest(mg, "help", "returns-de", DE, { query: { metadata: JSON.stringify({ lang: "de", public: true, rev: 1 }) } });
    await ingest(mg, "help", "returns-none", EN.replace("thirty", "sixty"));
  });
  after(() => mg?.close());

  test("without a filter every matching document may answer", async () => {
    const r = await ask(mg, { message: QUESTION, knowledge: "help" });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([...new Set(docIds(r.body.sources))].sort(), ["returns-de", "returns-en", "returns-none"], r.text);
  });

  test("a filter keeps only documents whose metadata equals every key (strings, numbers, booleans)", async () => {
    for (const [filter, want] of [
      [{ lang: "de" }, ["returns-de"]],
      [{ lang: "en", public: true }, ["returns-en"]],
      [{ rev: 1 }, ["returns-de"]],
      [{ public: true }, ["returns-de", "returns-en"]],
      [{ lang: "fr" }, []],
    ]) {
      const r = await ask(mg, { message: QUESTION, knowledge: "help", knowledgeFilter: filter });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual([...new Set(docIds(r.body.sources))].sort(), want, `${JSON.stringify(filter)}: ${r.text}`);
    }
  });

  test("bad filters, and a filter without knowledge, are 400 invalid_request naming knowledgeFilter", async () => {
    for (const body of [
      { knowledge: "help", knowledgeFilter: { lang: 1.5 } },
      { knowledge: "help", knowledgeFilter: { "a.b": "x" } },
      { knowledge: "help", knowledgeFilter: "lang=de" },
      { knowledge: "help", knowledgeFilter: {} },
      { knowledgeFilter: { lang: "de" } },
    ]) {
      const r = await ask(mg, { message: QUESTION, ...body });
      assertError(r, 400, "invalid_request");
      assert.equal(r.body.error.field, "knowledgeFilter", r.text);
    }
  });
});
