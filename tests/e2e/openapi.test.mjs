// docs/openapi.yaml matches the implementation: every documented route and method answers
// (not 404/405), undocumented methods are refused, the documented error codes are exactly the
// codes the worker can produce, JSON bodies and stream events fit their documented schemas
// (a request body's documented example is what the route is sent), and the Anthropic
// variants of the /v1 routes (model list, model, error body) are the documented ones.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { ROOT, startGateway, testTenant } from "../support/runtime.mjs";

const spec = parse(fs.readFileSync(path.join(ROOT, "docs/openapi.yaml"), "utf8"));
let gw;
const ADMIN_TOKEN = "openapi-admin-token-0123456789";
// Path values that must name something that exists (DELETE /admin/keys/{id} revokes a real key,
// GET and DELETE /sessions/{id} read and delete a real session). Sessions are on in this
// tenant, so every documented /sessions route answers (a tenant without them answers 404).
const FIXTURES = {};
before(async () => {
  gw = await startGateway({
    tenant: testTenant({
      sessions: { enabled: true },
      knowledge: { help: { embeddingModel: "@cf/baai/bge-small-en-v1.5" } },
      presets: { support: { model: "fast", knowledge: "help" } },
    }),
    vars: { ADMIN_TOKEN },
    vectorize: { KNOWLEDGE_INDEX: { dimensions: 384, metric: "cosine" } },
    d1Databases: { KNOWLEDGE_DB: "openapi-knowledge" },
    queueProducers: { KNOWLEDGE_QUEUE: "openapi-knowledge" },
  });
  FIXTURES["/admin/keys/{id}"] = { id: (await gw.adminKey({ name: "openapi" })).id };
  // A document for GET and DELETE /admin/knowledge/{kb}/documents/{id} to find.
  const put = await fetch(`${gw.url}/admin/knowledge/help/documents/openapi-doc`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "text/markdown" },
    body: "# OpenAPI\n\nA document for the spec's routes.",
  });
  assert.equal(put.status, 202, "a knowledge document for the document routes");
  FIXTURES["/admin/knowledge/{kb}/documents/{id}"] = { kb: "help", id: "openapi-doc" };
  FIXTURES["/admin/knowledge/{kb}/documents"] = { kb: "help" };
  const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message: "Hi", sessionId: "new" }) });
  assert.equal(res.status, 200, "a session for the /sessions/{id} routes");
  FIXTURES["/sessions/{id}"] = { id: (await res.json()).sessionId };
});
after(() => gw?.close());

const METHODS = ["get", "head", "post", "put", "patch", "delete", "options"];
const last = (ref) => ref.split("/").pop();

/** A documented path with each `{param}` replaced by its documented example. */
function concrete(route, ops) {
  const param = (name) => Object.values(ops).flatMap((op) => op.parameters ?? [])
    .map((p) => (p.$ref ? spec.components.parameters[last(p.$ref)] : p))
    .find((p) => p.in === "path" && p.name === name);
  return route.replace(/\{(\w+)\}/g, (_, n) => encodeURIComponent(FIXTURES[route]?.[n] ?? param(n)?.example ?? n));
}

/** The documented example of an operation's JSON request body, if it has one. */
const exampleBody = (op) => op?.requestBody?.content?.["application/json"]?.example;

/** A documented response, its `$ref` resolved. */
const response = (op, status) => {
  const r = op.responses[status];
  return r?.$ref ? spec.components.responses[last(r.$ref)] : r;
};

const schema = (name) => spec.components.schemas[name];
const resolve = (s) => (s?.$ref ? resolve(schema(last(s.$ref))) : s);
const typeOk = (v, t) =>
  t === "null" ? v === null
  : t === "array" ? Array.isArray(v)
  : t === "integer" ? Number.isInteger(v)
  : t === "object" ? v !== null && typeof v === "object" && !Array.isArray(v)
  : typeof v === t;

/**
 * Where `value` breaks `s`, for the JSON Schema the spec uses: $ref, allOf, oneOf/anyOf (one
 * branch must fit), type, enum, required, properties, items. Empty when it fits.
 */
function problems(value, s, at = "$") {
  s = resolve(s);
  if (!s) return [];
  const out = [];
  for (const part of s.allOf ?? []) out.push(...problems(value, part, at));
  for (const k of ["oneOf", "anyOf"]) {
    if (s[k] && !s[k].some((branch) => problems(value, branch, at).length === 0)) {
      out.push(`${at}: fits none of ${k} (${s[k].map((b) => b.$ref ?? b.type).join(", ")})`);
    }
  }
  if (s.type && ![].concat(s.type).some((t) => typeOk(value, t))) {
    return [...out, `${at}: ${JSON.stringify(value)?.slice(0, 80)} is not ${[].concat(s.type).join(" or ")}`];
  }
  if (s.enum && !s.enum.some((e) => e === value)) out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (typeOk(value, "object")) {
    for (const r of s.required ?? []) if (!(r in value)) out.push(`${at}: ${r} is missing`);
    for (const [k, sub] of Object.entries(s.properties ?? {})) if (k in value) out.push(...problems(value[k], sub, `${at}.${k}`));
  }
  if (Array.isArray(value) && s.items) value.forEach((v, i) => out.push(...problems(v, s.items, `${at}[${i}]`)));
  return out;
}

function assertFits(value, s, what) {
  const found = problems(value, s);
  assert.deepEqual(found, [], `${what}: ${JSON.stringify(value).slice(0, 400)}`);
}

/** The `data:` payloads of an SSE body (comments and `[DONE]` left out), with their event names. */
function sseEvents(text) {
  return text.split("\n\n").filter((b) => /^data: /m.test(b)).map((b) => ({
    event: /^event: (.*)$/m.exec(b)?.[1],
    data: /^data: (.*)$/m.exec(b)[1],
  })).filter((e) => e.data !== "[DONE]").map((e) => ({ ...e, data: JSON.parse(e.data) }));
}

test("every documented route and method exists; the others are 405; documented JSON bodies fit their schemas", async () => {
  let checked = 0;
  for (const [route, ops] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const init = { method: method.toUpperCase(), headers: { "content-type": "application/json" } };
      // Admin routes exist only for a caller with the admin token; without it they are 404.
      if (Object.values(ops).some((op) => op["x-admin-token"])) init.headers.authorization = `Bearer ${ADMIN_TOKEN}`;
      if (method === "post" || method === "put" || method === "patch") init.body = JSON.stringify(exampleBody(ops[method]) ?? { message: "Hi" });
      const res = await fetch(`${gw.url}${concrete(route, ops)}`, init);
      const text = await res.text();
      const trace = res.headers.get("x-trace-id");
      assert.ok(trace, `${method} ${route}: x-trace-id`);
      assert.equal(res.headers.get("x-request-id"), trace, `${method} ${route}: x-request-id is the trace id`);
      assert.equal(res.headers.get("request-id"), trace, `${method} ${route}: request-id is the trace id`);
      if (!ops[method]) {
        assert.equal(res.status, 405, `${method} ${route} undocumented but answered ${res.status}`);
        continue;
      }
      assert.ok(res.status !== 404 && res.status !== 405, `${method} ${route} documented but answered ${res.status}: ${text.slice(0, 200)}`);
      assert.ok(Object.keys(ops[method].responses).includes(String(res.status)), `${method} ${route}: ${res.status} not documented: ${text.slice(0, 200)}`);
      if (exampleBody(ops[method])) assert.ok(res.status < 300, `${method} ${route}: the documented example answered ${res.status}: ${text.slice(0, 300)}`);
      const documented = response(ops[method], String(res.status))?.content?.["application/json"]?.schema;
      if (documented && method !== "head" && (res.headers.get("content-type") ?? "").startsWith("application/json")) {
        assertFits(JSON.parse(text), documented, `${method} ${route} ${res.status}`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 15, `only ${checked} JSON bodies checked`);
  const res = await fetch(`${gw.url}/not-documented`);
  assert.equal(res.status, 404);
});

test("stream events fit their documented schemas, surface by surface", async () => {
  const post = async (route, body, headers = {}) => {
    const res = await fetch(`${gw.url}${route}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    const text = await res.text();
    assert.equal(res.status, 200, `${route}: ${text.slice(0, 300)}`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/, route);
    return { res, text, events: sseEvents(text) };
  };
  const user = [{ role: "user", content: "Hello there" }];

  const chat = await post("/chat", { messages: user, stream: true });
  assert.ok(chat.events.length >= 2);
  for (const e of chat.events) {
    const name = { sources: "SourcesEvent", token: "TokenEvent", tool_call: "ToolCall", error: "StreamErrorEvent", done: "DoneEvent" }[e.event];
    assert.ok(name, `/chat: undocumented event ${e.event}`);
    assertFits(e.data, schema(name), `/chat ${e.event}`);
  }
  assert.equal(chat.events.at(-1).event, "done");

  const v1 = await post("/v1/chat/completions", { model: "fast", messages: user, stream: true, stream_options: { include_usage: true } });
  for (const e of v1.events) assertFits(e.data, schema("ChatCompletionChunk"), "/v1/chat/completions chunk");
  assert.ok(v1.text.trimEnd().endsWith("data: [DONE]"));

  const ui = await post("/ui/chat", { id: "chat-openapi-stream", messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "Hello there" }] }], trigger: "submit-message" });
  assert.equal(ui.res.headers.get("x-vercel-ai-ui-message-stream"), "v1");
  for (const e of ui.events) assertFits(e.data, schema("UiMessageChunk"), "/ui/chat chunk");
  assert.deepEqual([ui.events[0].data.type, ui.events.at(-1).data.type], ["start", "finish"]);
  assert.ok(ui.text.trimEnd().endsWith("data: [DONE]"));

  const responses = await post("/v1/responses", { model: "fast", input: "Hello there", stream: true });
  for (const e of responses.events) {
    assertFits(e.data, schema("ResponsesStreamEvent"), "/v1/responses event");
    assert.equal(e.event, e.data.type, "the event line names the type");
  }
  assert.equal(responses.events.at(-1).data.type, "response.completed");
  assertFits(responses.events.at(-1).data.response, schema("ResponseObject"), "the completed response");

  // Grounded streams: `sources` first on /chat, a last chunk with `sources` on /v1, source
  // parts on /ui/chat (the kb may be empty here: the shapes are what is checked).
  const grounded = await post("/chat", { messages: user, stream: true, knowledge: "help" });
  assert.equal(grounded.events[0].event, "sources", grounded.text.slice(0, 200));
  assertFits(grounded.events[0].data, schema("SourcesEvent"), "/chat sources");
  const v1Grounded = await post("/v1/chat/completions", { model: "support", messages: user, stream: true });
  for (const e of v1Grounded.events) assertFits(e.data, schema("ChatCompletionChunk"), "grounded /v1 chunk");
  assert.ok(v1Grounded.events.some((e) => Array.isArray(e.data.sources)), "a chunk carries the sources");
  const uiGrounded = await post("/ui/chat", { id: "chat-openapi-grounded", knowledge: "help", messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "Hello there" }] }], trigger: "submit-message" });
  for (const e of uiGrounded.events) assertFits(e.data, schema("UiMessageChunk"), "grounded /ui/chat chunk");
  const respGrounded = await post("/v1/responses", { model: "support", input: "Hello there", stream: true });
  for (const e of respGrounded.events) assertFits(e.data, schema("ResponsesStreamEvent"), "grounded /v1/responses event");
  assert.ok(Array.isArray(respGrounded.events.at(-1).data.response.sources), "response.completed carries the sources");
  const msgGrounded = await post("/v1/messages", { model: "support", max_tokens: 100, messages: user, stream: true }, { "anthropic-version": "2023-06-01" });
  for (const e of msgGrounded.events) assertFits(e.data, schema("AnthropicStreamEvent"), "grounded /v1/messages event");
  assert.ok(Array.isArray(msgGrounded.events[0].data.message.sources), "message_start carries the sources");

  const messages = await post("/v1/messages", { model: "fast", max_tokens: 100, messages: user, stream: true }, { "anthropic-version": "2023-06-01" });
  for (const e of messages.events) {
    assertFits(e.data, schema("AnthropicStreamEvent"), "/v1/messages event");
    assert.equal(e.event, e.data.type, "the event line names the type");
  }
  assert.deepEqual([messages.events[0].event, messages.events.at(-1).event], ["message_start", "message_stop"]);
});

test("requests carrying anthropic-version get Anthropic's model list, model and error body on /v1", async () => {
  const get = async (p, anthropic) => {
    const headers = anthropic ? { "anthropic-version": "2023-06-01" } : {};
    const res = await fetch(`${gw.url}${p}`, { headers });
    return { status: res.status, body: await res.json() };
  };
  const list = await get("/v1/models", true);
  assert.equal(list.status, 200);
  assertFits(list.body, schema("AnthropicModelList"), "Anthropic model list");
  assert.ok(list.body.data.length > 0);
  assert.deepEqual(problems(list.body, schema("ModelList")).length > 0, true, "not OpenAI's list");
  const one = await get("/v1/models/fast", true);
  assert.equal(one.status, 200);
  assertFits(one.body, schema("AnthropicModel"), "Anthropic model");
  const plain = await get("/v1/models/fast", false);
  assertFits(plain.body, schema("Model"), "OpenAI model");
  for (const p of ["/v1/models/@cf%2Fnope%2Fmissing", "/v1/not-a-route"]) {
    const a = await get(p, true);
    assert.equal(a.status, 404, p);
    assertFits(a.body, schema("AnthropicError"), `${p} with anthropic-version`);
    assert.equal(a.body.error.type, "not_found_error");
    const o = await get(p, false);
    assertFits(o.body, schema("OpenAIError"), `${p} without`);
  }
  // On /v1/messages the body is Anthropic's with or without the header.
  const res = await fetch(`${gw.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "fast", messages: [] }) });
  assert.equal(res.status, 400);
  assertFits(await res.json(), schema("AnthropicError"), "/v1/messages 400");
});

test("documented error codes are exactly the implemented ones", () => {
  const documented = new Set(spec.components.schemas.ErrorCode.enum);
  // error.rs maps every ApiError; attempt.rs maps model failures (and the mid-stream codes).
  const sources = ["crates/worker-api/src/http/error.rs", "crates/gateway/src/attempt.rs"].map((f) => fs.readFileSync(path.join(ROOT, f), "utf8")).join("\n");
  const implemented = new Set([...sources.matchAll(/=> \(\d{3}, "([a-z_]+)"\)/g)].map((m) => m[1]));
  assert.ok(implemented.size >= 10, `found only ${[...implemented]}`);
  assert.deepEqual([...implemented].filter((c) => !documented.has(c)), [], "implemented but undocumented");
  assert.deepEqual([...documented].filter((c) => !implemented.has(c)), [], "documented but not implemented");
});

test("each documented status of an error code is the one the worker uses", () => {
  const errorRs = ["crates/worker-api/src/http/error.rs", "crates/gateway/src/attempt.rs"].map((f) => fs.readFileSync(path.join(ROOT, f), "utf8")).join("\n");
  const statuses = new Set([...errorRs.matchAll(/=> \((\d{3}), "[a-z_]+"\)/g)].map((m) => m[1]));
  const documented = new Set(Object.values(spec.paths).flatMap((ops) => Object.values(ops).flatMap((op) => Object.keys(op.responses))));
  for (const s of statuses) {
    if (s === "404" || s === "405") continue; // answered for undocumented routes/methods
    assert.ok(documented.has(s), `status ${s} is produced but documented nowhere`);
  }
});

test("every route of the route table is documented, with its methods", () => {
  const router = fs.readFileSync(path.join(ROOT, "crates/worker-api/src/router.rs"), "utf8");
  const routes = [...router.matchAll(/route!\("([^"]+)", "([A-Z]*)"/g)].map((m) => [m[1].replace("{id*}", "{id}"), m[2].toLowerCase()]);
  assert.ok(routes.length >= 15, `found only ${routes.length} routes`);
  for (const [pattern, method] of routes) {
    if (!method) continue; // the /v1 catch-all: a 404 for anything else
    assert.ok(spec.paths[pattern]?.[method], `${method.toUpperCase()} ${pattern} is in the route table but not in docs/openapi.yaml`);
  }
});
