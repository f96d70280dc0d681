// Hardening round 3, item 13: SSE keep-alives. While a stream waits for its first token (a
// slow model, fallbacks) and between slow tokens, the client gets an SSE comment every
// limits.keepAliveSeconds, so proxies with idle timeouts do not cut it; never inside an event.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";

let seq = 0;
const trace = () => `ka-${process.pid}-${++seq}`;

/** Streams a request and returns the raw text, with when each comment arrived (ms from the start). */
async function raw(gw, path, body) {
  const started = Date.now();
  const t = trace();
  const res = await fetch(gw.url + path, { method: "POST", headers: { "content-type": "application/json", "x-trace-id": t }, body: JSON.stringify(body) });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const comments = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    for (const m of value.matchAll(/^: keep-alive$/gm)) comments.push(Date.now() - started + m.index * 0);
  }
  return { res, status: res.status, text, comments, trace: t, headersAt: started };
}

/** The blocks of an SSE body; a comment block is one line starting with ':'. */
const blocks = (text) => text.split("\n\n").filter((b) => b.length > 0);

function assertNoCommentInsideAnEvent(text) {
  for (const b of blocks(text)) {
    const lines = b.split("\n");
    const comment = lines.filter((l) => l.startsWith(":"));
    if (comment.length) assert.equal(lines.length, 1, `a comment inside an event: ${JSON.stringify(b)}`);
  }
}

describe("keep-alives while a stream waits", () => {
  let gw;
  before(async () => {
    gw = await startGateway({
      tenant: testTenant({
        limits: { maxRequestBytes: 4096, maxOutputTokens: 64, attemptTimeoutMs: 6000, keepAliveSeconds: 1 },
        models: { chat: "@cf/test/primary", fallbacks: [], tiers: { slow: "@cf/test/slow", drip: "@cf/test/drip" } },
      }),
      scenarios: {
        "@cf/test/slow": { latencyMs: 2600, text: "finally here" },
        "@cf/test/drip": { tokens: 3, tokenDelayMs: 2300 },
        "*": { text: "quick answer" },
      },
    });
  });
  after(() => gw?.close());

  test("/chat: a slow first token gets comments first, then the answer; nothing inside events", async () => {
    const r = await raw(gw, "/chat", { message: "Hi", modelId: "slow", stream: true });
    assert.equal(r.status, 200);
    assert.ok(r.comments.length >= 2, `comments: ${r.comments.length}\n${r.text}`);
    assert.ok(r.text.startsWith(": keep-alive\n\n"), r.text.slice(0, 80));
    assertNoCommentInsideAnEvent(r.text);
    const events = blocks(r.text).filter((b) => !b.startsWith(":"));
    const done = JSON.parse(/^data: (.*)$/m.exec(events.at(-1))[1]);
    assert.equal(done.finish, "stop");
    assert.equal(done.model, "@cf/test/slow");
    assert.match(r.text, /event: token\ndata: \{"text":"finally"\}/);
    const log = await gw.logFor(r.trace);
    assert.equal(log.status, 200);
    assert.equal(log.finish, "stop");
  });

  test("/v1: the OpenAI stream starts with comments and still ends with [DONE]", async () => {
    const r = await raw(gw, "/v1/chat/completions", { model: "slow", messages: [{ role: "user", content: "Hi" }], stream: true });
    assert.equal(r.status, 200);
    assert.ok(r.comments.length >= 2);
    assertNoCommentInsideAnEvent(r.text);
    assert.ok(r.text.trimEnd().endsWith("data: [DONE]"), r.text.slice(-200));
  });

  test("a chain that fails after the stream started ends it with an error event, never a success", async () => {
    // Every model of this tenant fails, the first one slowly.
    const dead = await startGateway({
      tenant: testTenant({
        limits: { maxRequestBytes: 4096, maxOutputTokens: 64, attemptTimeoutMs: 6000, keepAliveSeconds: 1 },
        models: { chat: "@cf/test/slowfail", fallbacks: ["@cf/test/backup"], tiers: {} },
      }),
      scenarios: {
        "@cf/test/slowfail": { latencyMs: 2600, error: "3040: Capacity temporarily exceeded" },
        "@cf/test/backup": { latencyMs: 300, error: "3040: Capacity temporarily exceeded" },
      },
    });
    try {
      await failsAfterStarting(dead);
    } finally {
      await dead.close();
    }
  });

  async function failsAfterStarting(gw) {
    const r = await raw(gw, "/chat", { message: "Hi", stream: true });
    assert.equal(r.status, 200, "the stream had already started");
    assert.ok(r.comments.length >= 2, r.text);
    const events = blocks(r.text).filter((b) => !b.startsWith(":")).map((b) => ({ event: /^event: (.*)$/m.exec(b)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(b)[1]) }));
    const error = events.find((e) => e.event === "error");
    assert.ok(error, r.text);
    assert.equal(error.data.code, "ai_error");
    assert.match(error.data.message, /every model failed/);
    assert.equal(events.at(-1).event, "done");
    assert.equal(events.at(-1).data.finish, "error");
    const log = await gw.logFor(r.trace);
    assert.equal(log.errorCode, "ai_error");
    assert.equal(log.finish, "error");
    assert.equal(log.failedAttempts.length, 2);
    const v1 = await raw(gw, "/v1/chat/completions", { messages: [{ role: "user", content: "Hi" }], stream: true });
    assert.ok(!v1.text.includes("[DONE]"), "a failed OpenAI stream has no [DONE]");
    const last = JSON.parse(/data: (\{"error".*)$/m.exec(v1.text)?.[1] ?? "null");
    assert.equal(last?.error?.code, "ai_error", v1.text);
    assert.match(last.error.message, /^every model failed/);
    const whole = await raw(gw, "/chat", { message: "Hi", stream: false });
    assert.equal(whole.status, 502, "whole answers keep their status codes");
  }

  test("slow tokens get comments between them, and fast answers none at all", async () => {
    const r = await raw(gw, "/chat", { message: "Hi", modelId: "drip", stream: true });
    assert.equal(r.status, 200);
    assertNoCommentInsideAnEvent(r.text);
    const firstToken = r.text.indexOf("event: token");
    const between = r.text.slice(firstToken).match(/^: keep-alive$/gm) ?? [];
    assert.ok(between.length >= 2, `comments between tokens: ${between.length}\n${r.text}`);
    const fast = await raw(gw, "/chat", { message: "Hi", stream: true });
    assert.equal(fast.comments.length, 0, fast.text);
  });
});

test("limits.keepAliveSeconds = 0 turns keep-alives off", async () => {
  const gw = await startGateway({
    tenant: testTenant({ limits: { maxRequestBytes: 4096, maxOutputTokens: 64, attemptTimeoutMs: 6000, keepAliveSeconds: 0 } }),
    scenarios: { "*": { latencyMs: 1500, text: "late" } },
  });
  try {
    const r = await raw(gw, "/chat", { message: "Hi", stream: true });
    assert.equal(r.status, 200);
    assert.equal(r.comments.length, 0);
    assert.match(r.text, /event: done/);
  } finally {
    await gw.close();
  }
});
