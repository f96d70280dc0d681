// Raw-HTTP helpers for the OpenAI-compatible surface tests: a request helper that parses JSON
// or SSE bodies, and strict checks of the error body and of the stream chunk sequence.
import assert from "node:assert/strict";

const CT = { "content-type": "application/json" };
let seq = 0;
export const traceId = (name) => `oa-${name}-${process.pid}-${++seq}`.slice(0, 120);
export const user = (content) => ({ role: "user", content });

/** An OpenAI SSE body: every event is exactly one `data:` line (no `event:` names). */
export function parseStream(text) {
  const blocks = text.split("\n\n");
  assert.equal(blocks.pop(), "", "the body ends with a blank line");
  return blocks.map((b) => {
    assert.match(b, /^data: [^\n]*$/, `one data line per event, got ${JSON.stringify(b)}`);
    return b === "data: [DONE]" ? "[DONE]" : JSON.parse(b.slice(6));
  });
}

/** POST (or `method`) to `path` with a fresh trace id; the body is JSON-encoded unless a string. */
export async function call(gw, body, { trace = traceId("cc"), headers = {}, method = "POST", path = "/v1/chat/completions" } = {}) {
  const init = { method, headers: { ...CT, "x-trace-id": trace, ...headers } };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const res = await fetch(gw.url + path, init);
  const text = await res.text();
  const sse = (res.headers.get("content-type") || "").startsWith("text/event-stream");
  let json = null;
  if (!sse && text) try { json = JSON.parse(text); } catch { /* asserted by the caller */ }
  return { res, status: res.status, headers: res.headers, trace, text, body: json, chunks: sse ? parseStream(text) : null };
}

export function assertError(r, status, type, code, param) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get("content-type") || "", /^application\/json/);
  assert.ok(r.body && typeof r.body === "object", `a JSON body: ${r.text}`);
  assert.deepEqual(Object.keys(r.body), ["error"], r.text);
  const e = r.body.error;
  assert.equal(e.type, type, r.text);
  assert.equal(e.code, code, r.text);
  assert.ok(typeof e.message === "string" && e.message.length > 0);
  assert.ok("param" in e, "param is always present (null when no field applies)");
  if (param !== undefined) assert.equal(e.param, param, r.text);
  assert.equal(r.headers.get("x-trace-id"), r.trace);
}

/** The common checks of a stream; returns the chunks without [DONE]. */
export function streamChunks(r, model) {
  assert.equal(r.status, 200, r.text);
  assert.doesNotMatch(r.text, /^event:/m, "no named events on /v1");
  assert.equal(r.chunks.at(-1), "[DONE]", "ends with [DONE]");
  const objs = r.chunks.slice(0, -1);
  for (const c of objs) {
    assert.equal(c.id, `chatcmpl-${r.trace}`);
    assert.equal(c.object, "chat.completion.chunk");
    assert.equal(typeof c.created, "number");
    for (const ch of c.choices) assert.equal(ch.index, 0, "every choice carries index 0 (the SDK stream helpers key on it)");
  }
  assert.equal(objs[0].model, model);
  assert.deepEqual(objs[0].choices[0].delta, { role: "assistant", content: "" }, "first chunk: role, empty content");
  return objs;
}

export const contentOf = (objs) => objs.map((c) => c.choices[0]?.delta?.content ?? "").join("");

/** Merges tool call deltas by index the way the OpenAI SDKs do. */
export function mergeToolDeltas(objs) {
  const calls = [];
  for (const c of objs) for (const tc of c.choices[0]?.delta?.tool_calls ?? []) {
    assert.equal(typeof tc.index, "number", "tool call deltas carry index");
    const cur = (calls[tc.index] ??= { function: { name: "", arguments: "" } });
    if (tc.id) cur.id = tc.id;
    if (tc.type) cur.type = tc.type;
    if (tc.function?.name) cur.function.name = tc.function.name;
    if (tc.function?.arguments) cur.function.arguments += tc.function.arguments;
  }
  return calls.map((c) => ({ id: c.id, type: c.type, name: c.function.name, args: JSON.parse(c.function.arguments) }));
}
