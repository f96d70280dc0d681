// POST /chat end to end: workerd runs the built worker; the AI stand-in answers through the AI binding.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";

const JSON_HEADERS = { "content-type": "application/json" };
let seq = 0;
const traceId = (name) => `${name}-${process.pid}-${++seq}`.slice(0, 120);

/** Parses an SSE body into [{ event, data }]. */
function parseSse(text) {
  return text
    .split("\n\n")
    .filter((b) => b.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      return { event, data: data ? JSON.parse(data) : null };
    });
}

async function chat(gw, body, { headers = {}, trace = traceId("chat") } = {}) {
  const res = await fetch(`${gw.url}/chat`, {
    method: "POST",
    headers: { ...JSON_HEADERS, "x-trace-id": trace, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const isSse = (res.headers.get("content-type") || "").includes("text/event-stream");
  return { res, trace, status: res.status, body: isSse ? null : JSON.parse(text), events: isSse ? parseSse(text) : null };
}

const tokens = (events) => events.filter((e) => e.event === "token").map((e) => e.data.text).join("");

describe("one gateway, many scenarios", () => {
  let gw;
  before(async () => {
    gw = await startGateway({
      tenant: testTenant({
        models: {
          chat: "@cf/test/primary",
          fallbacks: ["@cf/test/backup"],
          tiers: { fast: "@cf/test/fast", openai: "@cf/test/openai", nousage: "@cf/test/nousage", split: "@cf/test/split", tools: "@cf/test/tools", slowtok: "@cf/test/slowtok", midfail: "@cf/test/midfail", abort: "@cf/test/abort", truncate: "@cf/test/truncate", malformed: "@cf/test/malformed", hang: "@cf/test/hang", resp: "@cf/test/resp" },
        },
        limits: { maxRequestBytes: 4096, maxOutputTokens: 256, attemptTimeoutMs: 1500 },
      }),
      scenarios: {
        "*": { text: "Hello from the stand-in, wörld 🌍!" },
        "@cf/test/openai": { format: "openai" },
        "@cf/test/nousage": { usage: false },
        "@cf/test/split": { splitBytes: 3 },
        "@cf/test/tools": { text: "", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
        "@cf/test/slowtok": { tokenDelayMs: 60, text: "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty" },
        "@cf/test/midfail": { failAfter: 2 },
        "@cf/test/abort": { abortAfter: 2 },
        "@cf/test/truncate": { truncateAfter: 2 },
        "@cf/test/malformed": { malformedAfter: 2 },
        "@cf/test/hang": { hangAfter: 2 },
        "@cf/test/resp": { asResponse: true, format: "openai" },
      },
    });
  });
  after(() => gw?.close());

  test("non-streaming success: JSON body, usage and every header", async () => {
    const { res, body, trace } = await chat(gw, { message: "Hi there", sessionId: "sess-1" });
    assert.equal(res.status, 200);
    assert.equal(body.text, "Hello from the stand-in, wörld 🌍!");
    assert.equal(body.model, "@cf/test/primary");
    assert.equal(body.fallback, false);
    assert.equal(body.sessionId, "sess-1");
    assert.equal(body.traceId, trace);
    assert.equal(body.usage.estimated, false);
    assert.equal(body.usage.total, body.usage.prompt + body.usage.completion);
    assert.equal(typeof body.latencyMs, "number");
    assert.equal(res.headers.get("x-trace-id"), trace);
    assert.equal(res.headers.get("x-model-id"), "@cf/test/primary");
    assert.equal(res.headers.get("x-fallback"), "false");
    assert.equal(res.headers.get("x-tokens-prompt"), String(body.usage.prompt));
    assert.equal(res.headers.get("x-tokens-completion"), String(body.usage.completion));
    assert.equal(res.headers.get("x-tokens-used"), String(body.usage.total));
    assert.match(res.headers.get("x-latency-ms"), /^\d+$/);
  });

  test("the binding receives the gateway id and all metadata, and the request's inputs", async () => {
    const { trace } = await chat(gw, { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }], sessionId: "sess-meta", maxTokens: 9999, temperature: 0.3 });
    const [call] = gw.aiCallsFor(trace);
    assert.equal(call.model, "@cf/test/primary");
    assert.deepEqual(call.options, { gateway: { id: "acme-gateway", metadata: { tenantId: "acme", traceId: trace, sessionId: "sess-meta", route: "/chat" } } });
    assert.equal(call.inputs.max_tokens, 256, "maxTokens is capped by the tenant's maxOutputTokens");
    assert.equal(call.inputs.temperature, 0.3);
    assert.deepEqual(call.inputs.messages.map((m) => m.role), ["system", "user"]);
  });

  test("streaming success: token events as sent, then done with usage, model and timings", async () => {
    const { res, events, trace } = await chat(gw, { message: "Hi", stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/event-stream/);
    assert.equal(res.headers.get("x-model-id"), "@cf/test/primary");
    assert.equal(tokens(events), "Hello from the stand-in, wörld 🌍!");
    const done = events.at(-1);
    assert.equal(done.event, "done");
    assert.equal(done.data.finish, "stop");
    assert.equal(done.data.model, "@cf/test/primary");
    assert.equal(done.data.traceId, trace);
    assert.equal(done.data.usage.estimated, false);
    assert.equal(done.data.usage.completion, 6);
    assert.equal(typeof done.data.ttftMs, "number");
    assert.ok(done.data.latencyMs >= done.data.ttftMs);
    assert.equal(gw.aiCallsFor(trace)[0].inputs.stream, true);
  });

  test("OpenAI-shaped answers (newer models) work in both modes, also as a Response", async () => {
    for (const modelId of ["openai", "resp"]) {
      const plain = await chat(gw, { message: "Hi", modelId });
      assert.equal(plain.body.text, "Hello from the stand-in, wörld 🌍!", modelId);
      assert.equal(plain.body.usage.estimated, false);
      const streamed = await chat(gw, { message: "Hi", modelId, stream: true });
      assert.equal(tokens(streamed.events), "Hello from the stand-in, wörld 🌍!", modelId);
      assert.equal(streamed.events.at(-1).data.finish, "stop");
    }
  });

  test("SSE split every 3 bytes (mid-line, mid-UTF-8) arrives intact", async () => {
    const { events } = await chat(gw, { message: "Hi", modelId: "split", stream: true });
    assert.equal(tokens(events), "Hello from the stand-in, wörld 🌍!");
    assert.equal(events.at(-1).data.usage.estimated, false);
  });

  test("without usage from the model, usage is estimated and flagged", async () => {
    const plain = await chat(gw, { message: "Hi", modelId: "nousage" });
    assert.equal(plain.body.usage.estimated, true);
    assert.ok(plain.body.usage.prompt > 0 && plain.body.usage.completion > 0);
    const streamed = await chat(gw, { message: "Hi", modelId: "nousage", stream: true });
    const done = streamed.events.at(-1).data;
    assert.equal(done.usage.estimated, true);
    assert.equal(done.usage.completion, plain.body.usage.completion, "same text, same estimate");
  });

  test("tool calls come back in both modes", async () => {
    const plain = await chat(gw, { message: "Weather?", modelId: "tools", tools: [{ type: "function", function: { name: "get_weather" } }] });
    assert.deepEqual(plain.body.toolCalls, [{ id: "call_0", name: "get_weather", arguments: '{"city":"Oslo"}' }]);
    assert.equal(plain.body.finish, "tool_calls");
    const streamed = await chat(gw, { message: "Weather?", modelId: "tools", stream: true });
    assert.deepEqual(streamed.events.filter((e) => e.event === "tool_call").map((e) => e.data), [{ id: "call_0", name: "get_weather", arguments: '{"city":"Oslo"}' }]);
    assert.equal(streamed.events.at(-1).data.finish, "tool_calls");
  });

  test("request modelId (id or tier alias) overrides the tenant's model", async () => {
    const byAlias = await chat(gw, { message: "Hi", modelId: "fast" });
    assert.equal(byAlias.res.headers.get("x-model-id"), "@cf/test/fast");
    assert.equal(gw.aiCallsFor(byAlias.trace)[0].model, "@cf/test/fast");
    const byId = await chat(gw, { message: "Hi", modelId: "@cf/any/model" });
    assert.equal(byId.body.model, "@cf/any/model", "no allow-list: any model");
  });

  for (const [modelId, why] of [["midfail", "an error chunk"], ["abort", "the stream erroring"], ["truncate", "the stream ending without [DONE]"], ["malformed", "a malformed chunk"]]) {
    test(`after tokens were sent, ${why} ends the stream with error then done, no silent switch`, async () => {
      const { events, trace } = await chat(gw, { message: "Hi", modelId, stream: true });
      assert.deepEqual(events.map((e) => e.event), ["token", "token", "error", "done"]);
      assert.equal(events[2].data.code, "ai_error");
      assert.equal(events[2].data.traceId, trace);
      assert.equal(events[3].data.finish, "error");
      assert.equal(gw.aiCallsFor(trace).length, 1, "no fallback once tokens reached the client");
      const log = await gw.logFor(trace);
      assert.equal(log.errorCode, "ai_error");
      assert.ok(log.tokens.completion >= 2);
    });
  }

  test("tokens are forwarded as they arrive: a model that stalls still delivered its first tokens", async () => {
    const { events } = await chat(gw, { message: "Hi", modelId: "hang", stream: true });
    assert.deepEqual(events.map((e) => e.event), ["token", "token", "error", "done"]);
    assert.equal(events[2].data.code, "ai_timeout");
  });

  test("client disconnect mid-stream: the stream is drained and usage still recorded", async () => {
    const trace = traceId("disconnect");
    const ac = new AbortController();
    const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { ...JSON_HEADERS, "x-trace-id": trace }, body: JSON.stringify({ message: "Hi", modelId: "slowtok", stream: true }), signal: ac.signal });
    const reader = res.body.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /event: token/);
    ac.abort();
    const log = await gw.logFor(trace, 15_000);
    assert.equal(log.clientDisconnected, true);
    assert.equal(log.status, 200);
    assert.equal(log.tokens.completion, 20, "every token of the model was counted");
    assert.equal(log.tokens.estimated, false, "the model's own usage arrived after the disconnect");
  });

  test("the log line has tenant, trace, session, route, model, status, latency, tokens, and no prompt text", async () => {
    const { trace } = await chat(gw, { message: "my secret prompt text", sessionId: "sess-log" });
    const log = await gw.logFor(trace);
    assert.equal(log.tenantId, "acme");
    assert.equal(log.sessionId, "sess-log");
    assert.equal(log.route, "/chat");
    assert.equal(log.model, "@cf/test/primary");
    assert.equal(log.fallback, false);
    assert.equal(log.status, 200);
    assert.ok(log.tokens.prompt > 0);
    const all = gw.logs.join("\n");
    assert.ok(!all.includes("my secret prompt text"), "prompt text never logged");
    assert.ok(!all.includes("Hello from the stand-in"), "answer text never logged");
  });
});

describe("bad input", () => {
  let gw;
  before(async () => { gw = await startGateway({ tenant: testTenant({ limits: { maxRequestBytes: 512 } }) }); });
  after(() => gw?.close());

  const cases = [
    ["non-JSON content type", { headers: { "content-type": "text/plain" } }, "hi", 415, "unsupported_media_type"],
    ["missing content type", { headers: { "content-type": "" } }, "{}", 415, "unsupported_media_type"],
    ["invalid JSON", {}, "{oops", 400, "invalid_json"],
    ["not an object", {}, "[1,2]", 400, "invalid_request"],
    ["unknown field", {}, { message: "hi", mesage: "typo" }, 400, "invalid_request", "mesage"],
    ["no messages", {}, {}, 400, "invalid_request", "messages"],
    ["empty conversation", {}, { messages: [] }, 400, "invalid_request", "messages"],
    ["wrong role", {}, { messages: [{ role: "bot", content: "x" }] }, 400, "invalid_request", "messages[0].role"],
    ["wrong type", {}, { message: "hi", stream: "yes" }, 400, "invalid_request", "stream"],
    ["content not a string", {}, { messages: [{ role: "user", content: 42 }] }, 400, "invalid_request", "messages[0].content"],
    ["temperature out of range", {}, { message: "hi", temperature: 7 }, 400, "invalid_request", "temperature"],
    ["body over the tenant limit", {}, { message: "x".repeat(600) }, 413, "payload_too_large"],
  ];
  for (const [name, opts, body, status, code, field] of cases) {
    test(`${name}: ${status} ${code}`, async () => {
      const r = await chat(gw, body, opts);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error.code, code);
      assert.equal(r.body.error.traceId, r.trace);
      assert.ok(r.body.error.message.length > 0);
      if (field) assert.equal(r.body.error.field, field);
      assert.equal(gw.aiCallsFor(r.trace).length, 0, "no model call for a bad request");
    });
  }
});

describe("allow-list", () => {
  let gw;
  before(async () => {
    gw = await startGateway({ tenant: testTenant({ modelAllowList: ["@cf/test/primary", "@cf/test/backup", "@cf/test/fast"] }) });
  });
  after(() => gw?.close());

  test("a model outside the allow-list is refused with 403 before any AI call", async () => {
    const r = await chat(gw, { message: "Hi", modelId: "@cf/not/allowed" });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, "model_not_allowed");
    assert.equal(r.body.error.model, "@cf/not/allowed");
    assert.equal(gw.aiCallsFor(r.trace).length, 0);
  });

  test("allowed models and aliases pass", async () => {
    assert.equal((await chat(gw, { message: "Hi", modelId: "fast" })).status, 200);
    assert.equal((await chat(gw, { message: "Hi", modelId: "@cf/test/backup" })).status, 200);
  });
});

describe("fallback", () => {
  const tenant = testTenant({ models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup", "@cf/test/last"] }, limits: { attemptTimeoutMs: 400 } });

  test("upstream error before the first token: the next model serves, in both modes", async () => {
    const gw = await startGateway({ tenant, scenarios: { "@cf/test/primary": { error: "3040: Capacity temporarily exceeded" }, "*": { text: "backup here" } } });
    try {
      const plain = await chat(gw, { message: "Hi", sessionId: "s-fb" });
      assert.equal(plain.status, 200);
      assert.equal(plain.body.model, "@cf/test/backup");
      assert.equal(plain.body.fallback, true);
      assert.equal(plain.res.headers.get("x-fallback"), "true");
      const calls = gw.aiCallsFor(plain.trace);
      assert.deepEqual(calls.map((c) => c.model), ["@cf/test/primary", "@cf/test/backup"]);
      for (const c of calls) assert.deepEqual(c.options.gateway, { id: "acme-gateway", metadata: { tenantId: "acme", traceId: plain.trace, sessionId: "s-fb", route: "/chat" } });
      const log = await gw.logFor(plain.trace);
      assert.equal(log.fallback, true);
      assert.equal(log.failedAttempts[0].model, "@cf/test/primary");
      assert.equal(log.failedAttempts[0].kind, "capacity");
      assert.match(log.failedAttempts[0].detail, /3040/);

      const streamed = await chat(gw, { message: "Hi", stream: true });
      assert.equal(streamed.res.headers.get("x-model-id"), "@cf/test/backup");
      assert.equal(tokens(streamed.events), "backup here");
      assert.equal(streamed.events.at(-1).data.fallback, true);
    } finally {
      await gw.close();
    }
  });

  test("a stream failing before its first token falls back too", async () => {
    const gw = await startGateway({ tenant, scenarios: { "@cf/test/primary": { failAfter: 0 }, "@cf/test/backup": { truncateAfter: 0 }, "*": { text: "third time lucky" } } });
    try {
      const r = await chat(gw, { message: "Hi", stream: true });
      assert.equal(tokens(r.events), "third time lucky");
      assert.deepEqual(gw.aiCallsFor(r.trace).map((c) => c.model), ["@cf/test/primary", "@cf/test/backup", "@cf/test/last"]);
      assert.deepEqual(r.events.map((e) => e.event), ["token", "token", "token", "done"]);
    } finally {
      await gw.close();
    }
  });

  test("a model slower than attemptTimeoutMs is abandoned for the next", async () => {
    const gw = await startGateway({ tenant, scenarios: { "@cf/test/primary": { latencyMs: 2000 }, "*": { text: "fast one" } } });
    try {
      const r = await chat(gw, { message: "Hi" });
      assert.equal(r.body.model, "@cf/test/backup");
      const log = await gw.logFor(r.trace);
      assert.deepEqual(log.failedAttempts, [{ model: "@cf/test/primary", kind: "timeout", detail: "no output within 400 ms" }]);
    } finally {
      await gw.close();
    }
  });

  test("every model failing: 502 ai_error (JSON and stream), each attempt in the log", async () => {
    const gw = await startGateway({ tenant, scenarios: { "*": { error: "3040: Capacity temporarily exceeded" } } });
    try {
      for (const stream of [false, true]) {
        const r = await chat(gw, { message: "Hi", stream });
        assert.equal(r.status, 502);
        assert.equal(r.body.error.code, "ai_error");
        assert.match(r.body.error.message, /every model failed: @cf\/test\/primary \(out of capacity\)/);
        assert.ok(!r.body.error.message.includes("3040"), "upstream text stays in the log");
        const log = await gw.logFor(r.trace);
        assert.equal(log.failedAttempts.length, 3);
        assert.equal(log.errorCode, "ai_error");
      }
    } finally {
      await gw.close();
    }
  });

  test("a model that does not exist is a 404 with no fallback (a typo is not silently answered)", async () => {
    const gw = await startGateway({ tenant, scenarios: { "@cf/test/primary": { error: "5007: No such model @cf/test/primary or task" } } });
    try {
      for (const stream of [false, true]) {
        const r = await chat(gw, { message: "Hi", stream });
        assert.equal(r.status, 404);
        assert.equal(r.body.error.code, "model_not_found");
        assert.equal(r.body.error.message, "the model `@cf/test/primary` does not exist");
        assert.deepEqual(gw.aiCallsFor(r.trace).map((c) => c.model), ["@cf/test/primary"]);
      }
    } finally {
      await gw.close();
    }
  });

  test("an AI binding that only runs remotely (wrangler dev --local) is a 503 ai_unavailable, no fallback", async () => {
    const gw = await startGateway({ tenant, scenarios: { "*": { remoteOnly: true } } });
    try {
      for (const stream of [false, true]) {
        const r = await chat(gw, { message: "Hi", stream });
        assert.equal(r.status, 503);
        assert.equal(r.body.error.code, "ai_unavailable");
        assert.match(r.body.error.message, /bash scripts\/dev\.sh/);
        assert.equal(gw.aiCallsFor(r.trace).length, 1, "no fallback chain is walked");
      }
    } finally {
      await gw.close();
    }
  });

  test("every model timing out: 504 ai_timeout", async () => {
    const gw = await startGateway({ tenant, scenarios: { "*": { latencyMs: 1500 } } });
    try {
      const r = await chat(gw, { message: "Hi" });
      assert.equal(r.status, 504);
      assert.equal(r.body.error.code, "ai_timeout");
    } finally {
      await gw.close();
    }
  });
});

describe("CORS", () => {
  let gw;
  before(async () => { gw = await startGateway({ tenant: testTenant() }); });
  after(() => gw?.close());

  test("preflight from an allowed origin is granted", async () => {
    const res = await fetch(`${gw.url}/chat`, { method: "OPTIONS", headers: { origin: "https://app.acme.example", "access-control-request-method": "POST" } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.acme.example");
    assert.match(res.headers.get("access-control-allow-methods"), /POST/);
    assert.match(res.headers.get("access-control-allow-headers"), /content-type/);
  });

  test("preflight from another origin is refused without a grant", async () => {
    const res = await fetch(`${gw.url}/chat`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    assert.equal((await res.json()).error.code, "origin_not_allowed");
  });

  test("responses carry the grant and exposed headers only for allowed origins", async () => {
    const ok = await chat(gw, { message: "Hi" }, { headers: { origin: "https://app.acme.example" } });
    assert.equal(ok.res.headers.get("access-control-allow-origin"), "https://app.acme.example");
    assert.match(ok.res.headers.get("access-control-expose-headers"), /x-tokens-used/);
    const other = await chat(gw, { message: "Hi" }, { headers: { origin: "https://evil.example" } });
    assert.equal(other.res.headers.get("access-control-allow-origin"), null);
  });
});
