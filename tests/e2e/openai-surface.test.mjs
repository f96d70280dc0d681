// The OpenAI-compatible surface (/v1/chat/completions, /v1/models) over raw HTTP, checked
// field by field against the contract: workerd runs the built worker, the AI stand-in answers.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { call, assertError, streamChunks, contentOf, mergeToolDeltas, user } from "../support/openai-http.mjs";

const HELLO = "Hello from the stand-in, wörld 🌍!";
const LONG = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
const WEATHER_TOOL = { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

describe("/v1/chat/completions", () => {
  let gw;
  before(async () => {
    gw = await startGateway({
      tenant: testTenant({
        models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"], tiers: { fast: "@cf/test/fast" } },
        limits: { maxRequestBytes: 8192, maxOutputTokens: 256, attemptTimeoutMs: 1500 },
        cors: { allowedOrigins: ["https://app.acme.example"] },
      }),
      scenarios: {
        "*": { text: HELLO },
        "@cf/test/openai": { format: "openai" },
        "@cf/test/nousage": { usage: false },
        "@cf/test/tools": { text: "", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }, { name: "get_time", arguments: { zone: "CET" } }] },
        "@cf/test/tools-oa": { format: "openai", text: "", toolCalls: [{ id: "call_sim1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
        "@cf/test/tools-oa-stream": { format: "openai", text: "", toolCalls: [{ index: 0, id: "call_sim1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
        "@cf/test/midfail": { failAfter: 2 },
        "@cf/test/abort": { abortAfter: 2 },
        "@cf/test/hang": { hangAfter: 2 },
        "@cf/test/long": { text: LONG, ignoreMaxTokens: true },
        "@cf/test/capped": { text: LONG },
        "@cf/test/too-big": { error: "3006: Request is too large" },
        "@cf/test/secret": { text: "zebra-answer-7f3c stays private" },
      },
    });
  });
  after(() => gw?.close());

  test("non-stream: body shape, usage and every header", async () => {
    const r = await call(gw, { messages: [user("Hi there")] });
    assert.equal(r.status, 200, r.text);
    const b = r.body;
    assert.equal(b.id, `chatcmpl-${r.trace}`);
    assert.equal(b.object, "chat.completion");
    assert.ok(Number.isInteger(b.created) && Math.abs(b.created - Date.now() / 1000) < 120, "created is unix seconds");
    assert.equal(b.model, "@cf/test/primary");
    assert.equal(b.choices.length, 1);
    const [c] = b.choices;
    assert.equal(c.index, 0);
    assert.equal(c.finish_reason, "stop");
    assert.equal(c.message.role, "assistant");
    assert.equal(c.message.content, HELLO);
    assert.ok(c.message.tool_calls == null, "no tool_calls key without tool calls");
    assert.deepEqual(b.usage, { prompt_tokens: b.usage.prompt_tokens, completion_tokens: 6, total_tokens: b.usage.prompt_tokens + 6 });
    const h = r.headers;
    assert.equal(h.get("x-trace-id"), r.trace);
    assert.equal(h.get("x-model-id"), "@cf/test/primary");
    assert.equal(h.get("x-fallback"), "false");
    assert.equal(h.get("x-tokens-prompt"), String(b.usage.prompt_tokens));
    assert.equal(h.get("x-tokens-completion"), "6");
    assert.equal(h.get("x-tokens-used"), String(b.usage.total_tokens));
    assert.equal(h.get("x-tokens-estimated"), "false");
    assert.match(h.get("x-latency-ms"), /^\d+$/);
    assert.equal(h.get("x-budget-remaining-daily"), null, "no budget, no budget headers");
  });

  test("usage the model did not report is estimated and flagged", async () => {
    const r = await call(gw, { model: "@cf/test/nousage", messages: [user("Hi")] });
    assert.equal(r.headers.get("x-tokens-estimated"), "true");
    assert.ok(r.body.usage.prompt_tokens > 0 && r.body.usage.completion_tokens > 0);
  });

  test("model: id, tier alias, empty and absent (tenant default); OpenAI-shaped upstream", async () => {
    const alias = await call(gw, { model: "fast", messages: [user("Hi")] });
    assert.equal(alias.body.model, "@cf/test/fast");
    assert.equal(alias.headers.get("x-model-id"), "@cf/test/fast");
    assert.equal(gw.aiCallsFor(alias.trace)[0].model, "@cf/test/fast");
    for (const model of ["", undefined]) {
      const r = await call(gw, { model, messages: [user("Hi")] });
      assert.equal(r.body.model, "@cf/test/primary", `model ${JSON.stringify(model)}`);
    }
    const oa = await call(gw, { model: "@cf/test/openai", messages: [user("Hi")] });
    assert.equal(oa.body.choices[0].message.content, HELLO);
    assert.equal(oa.headers.get("x-tokens-estimated"), "false");
    assert.equal(contentOf(streamChunks(await call(gw, { model: "@cf/test/openai", messages: [user("Hi")], stream: true }), "@cf/test/openai")), HELLO);
  });

  test("stream: role chunk, content deltas, finish chunk, [DONE]; no usage without include_usage", async () => {
    const r = await call(gw, { messages: [user("Hi")], stream: true });
    assert.match(r.headers.get("content-type"), /^text\/event-stream/);
    assert.equal(r.headers.get("x-trace-id"), r.trace);
    assert.equal(r.headers.get("x-model-id"), "@cf/test/primary");
    assert.equal(r.headers.get("x-fallback"), "false");
    assert.equal(r.headers.get("x-tokens-used"), null, "token headers only on non-stream answers");
    const objs = streamChunks(r, "@cf/test/primary");
    const last = objs.at(-1);
    assert.deepEqual(last.choices[0].delta, {});
    assert.equal(last.choices[0].finish_reason, "stop");
    for (const c of objs.slice(1, -1)) {
      assert.deepEqual(Object.keys(c.choices[0].delta), ["content"]);
      assert.ok(c.choices[0].finish_reason == null);
    }
    assert.equal(contentOf(objs), HELLO);
    assert.ok(objs.every((c) => c.usage == null && c.choices.length === 1), "no usage chunk");
    assert.equal(gw.aiCallsFor(r.trace)[0].inputs.stream, true);
  });

  test("stream with include_usage: a usage chunk with choices: [] after the finish chunk", async () => {
    const r = await call(gw, { messages: [user("Hi")], stream: true, stream_options: { include_usage: true } });
    const objs = streamChunks(r, "@cf/test/primary");
    const usage = objs.at(-1);
    assert.deepEqual(usage.choices, []);
    assert.equal(usage.usage.completion_tokens, 6);
    assert.equal(usage.usage.total_tokens, usage.usage.prompt_tokens + 6);
    assert.equal(objs.at(-2).choices[0].finish_reason, "stop");
    assert.equal(objs.filter((c) => c.usage != null).length, 1);
  });

  test("tool calls, non-stream: classic calls get call_N ids, OpenAI-shaped calls keep theirs", async () => {
    const r = await call(gw, { model: "@cf/test/tools", messages: [user("Weather?")], tools: [WEATHER_TOOL], tool_choice: "auto" });
    const [c] = r.body.choices;
    assert.equal(c.finish_reason, "tool_calls");
    assert.ok([null, ""].includes(c.message.content), `content ${JSON.stringify(c.message.content)}`);
    assert.deepEqual(c.message.tool_calls.map((t) => ({ id: t.id, type: t.type, name: t.function.name, args: JSON.parse(t.function.arguments) })), [
      { id: "call_0", type: "function", name: "get_weather", args: { city: "Oslo" } },
      { id: "call_1", type: "function", name: "get_time", args: { zone: "CET" } },
    ]);
    assert.equal(typeof c.message.tool_calls[0].function.arguments, "string");
    assert.ok(JSON.stringify(gw.aiCallsFor(r.trace)[0].inputs.tools).includes("get_weather"), "tools reach the model");
    const oa = await call(gw, { model: "@cf/test/tools-oa", messages: [user("Weather?")], tools: [WEATHER_TOOL] });
    assert.equal(oa.body.choices[0].message.tool_calls[0].id, "call_sim1");
    assert.equal(oa.body.choices[0].finish_reason, "tool_calls");
  });

  test("tool calls, stream: indexed deltas (id, type, name, arguments), finish tool_calls", async () => {
    for (const [model, expected] of [
      ["@cf/test/tools", [{ id: "call_0", type: "function", name: "get_weather", args: { city: "Oslo" } }, { id: "call_1", type: "function", name: "get_time", args: { zone: "CET" } }]],
      ["@cf/test/tools-oa-stream", [{ id: "call_sim1", type: "function", name: "get_weather", args: { city: "Oslo" } }]],
    ]) {
      const objs = streamChunks(await call(gw, { model, messages: [user("Weather?")], tools: [WEATHER_TOOL], stream: true, stream_options: { include_usage: true } }), model);
      assert.deepEqual(mergeToolDeltas(objs), expected, model);
      const fin = objs.filter((c) => c.choices[0]?.finish_reason);
      assert.deepEqual(fin.map((c) => c.choices[0].finish_reason), ["tool_calls"], model);
      assert.deepEqual(objs.at(-1).choices, [], "usage chunk last");
    }
  });

  test("tool round trip: assistant tool_calls with content null and a tool message are accepted and forwarded", async () => {
    const messages = [
      { role: "system", content: "Use tools." },
      user("Weather in Oslo?"),
      { role: "assistant", content: null, tool_calls: [{ id: "call_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
      { role: "tool", tool_call_id: "call_0", content: '{"temp":7}' },
    ];
    const r = await call(gw, { messages, tools: [WEATHER_TOOL] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.choices[0].message.content, HELLO);
    const sent = gw.aiCallsFor(r.trace)[0].inputs.messages;
    assert.deepEqual(sent.map((m) => m.role), ["system", "user", "assistant", "tool"]);
    assert.match(JSON.stringify(sent[2]), /get_weather/);
    assert.match(JSON.stringify(sent[2]), /call_0/);
    assert.equal(sent[3].content, '{"temp":7}');
    assert.match(JSON.stringify(sent[3]), /call_0/);
  });

  test("accepted parameters reach the model: response_format, sampling, text parts, developer role, n:1, logprobs:false", async () => {
    const jo = await call(gw, { messages: [user("JSON please")], response_format: { type: "json_object" } });
    assert.equal(jo.status, 200, jo.text);
    assert.deepEqual(gw.aiCallsFor(jo.trace)[0].inputs.response_format, { type: "json_object" });
    const schema = { type: "object", properties: { city: { type: "string" }, temp: { type: "number" } }, required: ["city", "temp"], additionalProperties: false };
    const js = await call(gw, { messages: [user("JSON please")], response_format: { type: "json_schema", json_schema: { name: "weather", strict: true, schema } } });
    assert.equal(js.status, 200, js.text);
    const rf = gw.aiCallsFor(js.trace)[0].inputs.response_format;
    assert.equal(rf.type, "json_schema");
    assert.match(JSON.stringify(rf), /"temp"/, "the schema reaches the model");
    const all = await call(gw, {
      messages: [{ role: "developer", content: "Be brief." }, { role: "user", content: [{ type: "text", text: "Hello " }, { type: "text", text: "parts" }] }],
      temperature: 0.2, top_p: 0.9, seed: 7, stop: ["\n\n"], frequency_penalty: 0.1, presence_penalty: 0.1,
      tools: [WEATHER_TOOL], tool_choice: "none", parallel_tool_calls: false, n: 1, logprobs: false, response_format: { type: "text" },
    });
    assert.equal(all.status, 200, all.text);
    const inputs = gw.aiCallsFor(all.trace)[0].inputs;
    assert.equal(inputs.temperature, 0.2);
    assert.equal(inputs.top_p, 0.9);
    assert.equal(inputs.seed, 7);
    assert.match(JSON.stringify(inputs.messages), /Be brief\./);
    assert.match(JSON.stringify(inputs.messages), /Hello .*parts/);
    assert.equal(typeof (await call(gw, { messages: [user("x")], stop: "END" })).body.id, "string", "stop as a string");
  });

  test("`user` goes into the AI Gateway metadata", async () => {
    const r = await call(gw, { messages: [user("Hi")], user: "end-user-42" });
    const meta = gw.aiCallsFor(r.trace)[0].options.gateway.metadata;
    assert.equal(meta.tenantId, "acme");
    assert.equal(meta.traceId, r.trace);
    assert.ok(Object.values(meta).includes("end-user-42"), JSON.stringify(meta));
  });

  test("max_tokens / max_completion_tokens are capped by the tenant's maxOutputTokens", async () => {
    for (const [extra, expected] of [[{}, 256], [{ max_tokens: 12 }, 12], [{ max_tokens: 9999 }, 256], [{ max_completion_tokens: 9999 }, 256], [{ max_completion_tokens: 20 }, 20]]) {
      const r = await call(gw, { messages: [user("Hi")], ...extra });
      assert.equal(r.status, 200, r.text);
      assert.equal(gw.aiCallsFor(r.trace)[0].inputs.max_tokens, expected, JSON.stringify(extra));
    }
  });

  test("output cap reached: finish_reason length (stream stops at the cap; non-stream reports it)", async () => {
    const objs = streamChunks(await call(gw, { model: "@cf/test/long", messages: [user("Hi")], max_tokens: 5, stream: true }), "@cf/test/long");
    assert.equal(objs.at(-1).choices[0].finish_reason, "length");
    const text = contentOf(objs);
    assert.ok(text.length > 0 && text.length < LONG.length && LONG.startsWith(text), JSON.stringify(text));
    const plain = await call(gw, { model: "@cf/test/capped", messages: [user("Hi")], max_tokens: 5 });
    assert.equal(plain.body.choices[0].finish_reason, "length");
    assert.equal(plain.body.usage.completion_tokens, 5);
  });

  for (const [name, extra, param] of [
    ["n > 1", { n: 2 }, "n"],
    ["logprobs: true", { logprobs: true }, "logprobs"],
    ["top_logprobs", { top_logprobs: 2 }, "top_logprobs"],
    ["audio", { audio: { voice: "alloy", format: "wav" } }, "audio"],
    ["modalities with audio", { modalities: ["text", "audio"] }, "modalities"],
    ["an unknown field", { frobnicate: true }, "frobnicate"],
    ["legacy functions", { functions: [{ name: "f" }] }, "functions"],
  ]) {
    test(`${name}: 400 unsupported_parameter, param ${param}, no model call`, async () => {
      const r = await call(gw, { messages: [user("Hi")], ...extra });
      assertError(r, 400, "invalid_request_error", "unsupported_parameter", param);
      assert.equal(gw.aiCallsFor(r.trace).length, 0);
    });
  }

  test("image and audio content parts: 400 unsupported_content", async () => {
    for (const part of [{ type: "image_url", image_url: { url: "https://example.com/cat.png" } }, { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }]) {
      const r = await call(gw, { messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, part] }] });
      assertError(r, 400, "invalid_request_error", "unsupported_content");
      assert.ok(r.body.error.param === null || r.body.error.param.startsWith("messages[0]"), r.body.error.param);
      assert.equal(gw.aiCallsFor(r.trace).length, 0);
    }
  });

  test("invalid requests: 400 with the field path in param", async () => {
    assertError(await call(gw, "{oops"), 400, "invalid_request_error", "invalid_json", null);
    assertError(await call(gw, {}), 400, "invalid_request_error", "invalid_request", "messages");
    assertError(await call(gw, { messages: [{ role: "bot", content: "x" }] }), 400, "invalid_request_error", "invalid_request", "messages[0].role");
    assertError(await call(gw, { messages: [user("x")], stream: "yes" }), 400, "invalid_request_error", "invalid_request", "stream");
  });

  test("unknown model: 404 model_not_found in both modes, no fallback", async () => {
    for (const stream of [false, true]) {
      const r = await call(gw, { model: "@cf/nope/missing", messages: [user("Hi")], stream });
      assertError(r, 404, "invalid_request_error", "model_not_found");
      assert.deepEqual(gw.aiCallsFor(r.trace).map((c) => c.model), ["@cf/nope/missing"], "the provider was asked once, nothing else");
    }
  });

  test("413 (body over the tenant limit; provider says too large), 415, 405, 404 path", async () => {
    assertError(await call(gw, { messages: [user("x".repeat(9000))] }), 413, "invalid_request_error", "payload_too_large");
    const big = await call(gw, { model: "@cf/test/too-big", messages: [user("Hi")] });
    assertError(big, 413, "invalid_request_error", "input_too_large");
    assert.equal(gw.aiCallsFor(big.trace).length, 1, "no fallback");
    assertError(await call(gw, JSON.stringify({ messages: [user("x")] }), { headers: { "content-type": "text/plain" } }), 415, "invalid_request_error", "unsupported_media_type");
    const get = await call(gw, undefined, { method: "GET" });
    assertError(get, 405, "invalid_request_error", "method_not_allowed");
    assert.match(get.headers.get("allow") || "", /POST/);
    assertError(await call(gw, {}, { path: "/v1/models" }), 405, "invalid_request_error", "method_not_allowed");
    assertError(await call(gw, undefined, { method: "GET", path: "/v1/embeddings" }), 405, "invalid_request_error", "method_not_allowed");
    assertError(await call(gw, undefined, { method: "GET", path: "/v1/audio/speech" }), 404, "invalid_request_error", "not_found");
  });

  for (const [model, code] of [["@cf/test/midfail", "ai_error"], ["@cf/test/abort", "ai_error"], ["@cf/test/hang", "ai_timeout"]]) {
    test(`mid-stream failure (${model.slice(9)}): data: {"error"} last, no finish chunk, no [DONE]`, async () => {
      const r = await call(gw, { model, messages: [user("Hi")], stream: true, stream_options: { include_usage: true } });
      assert.equal(r.status, 200);
      assert.ok(!r.chunks.includes("[DONE]"), "no [DONE] after a failure");
      const err = r.chunks.at(-1);
      assert.deepEqual(Object.keys(err), ["error"]);
      assert.equal(err.error.type, "api_error");
      assert.equal(err.error.code, code);
      assert.ok(err.error.message.length > 0 && !/3040|3043|stand-in/.test(err.error.message), "generic message, no upstream text");
      const before = r.chunks.slice(0, -1);
      assert.deepEqual(before[0].choices[0].delta, { role: "assistant", content: "" });
      assert.equal(contentOf(before), "Hello from");
      assert.ok(before.every((c) => !c.choices?.[0]?.finish_reason && c.usage == null), "no finish or usage chunk");
      assert.equal(gw.aiCallsFor(r.trace).length, 1, "no fallback once content was sent");
      assert.equal((await gw.logFor(r.trace)).errorCode, code);
    });
  }

  test("prompt and answer text never reach the log lines", async () => {
    const secret = "kumquat-prompt-91d2";
    const traces = [
      (await call(gw, { model: "@cf/test/secret", messages: [user(secret)] })).trace,
      (await call(gw, { model: "@cf/test/secret", messages: [user(secret)], stream: true })).trace,
      (await call(gw, { messages: [user(secret)], n: 3 })).trace,
      (await call(gw, { messages: [{ role: "user", content: [{ type: "text", text: secret }, { type: "image_url", image_url: { url: "https://x.example/a.png" } }] }] })).trace,
      (await call(gw, `{"messages":[{"role":"user","content":"${secret}"`)).trace,
    ];
    for (const t of traces) assert.equal((await gw.logFor(t)).route, "/v1/chat/completions");
    const all = gw.logs.join("\n");
    assert.ok(!all.includes(secret), "prompt text never logged");
    assert.ok(!all.includes("zebra-answer-7f3c"), "answer text never logged");
  });

  test("CORS preflight on every /v1 route grants the headers browser SDKs send", async () => {
    // The openai SDK in a browser sends Authorization and its x-stainless-* headers.
    const asked = ["authorization", "content-type", "x-stainless-os", "x-stainless-retry-count"];
    for (const p of ["/v1/chat/completions", "/v1/models", "/v1/models/@cf/test/primary"]) {
      const res = await fetch(gw.url + p, { method: "OPTIONS", headers: { origin: "https://app.acme.example", "access-control-request-method": p.endsWith("completions") ? "POST" : "GET", "access-control-request-headers": asked.join(",") } });
      assert.equal(res.status, 204, p);
      assert.equal(res.headers.get("access-control-allow-origin"), "https://app.acme.example", p);
      assert.match(res.headers.get("access-control-allow-methods"), p.endsWith("completions") ? /POST/ : /GET/, p);
      const granted = (res.headers.get("access-control-allow-headers") || "").toLowerCase().split(/\s*,\s*/);
      for (const h of asked) assert.ok(granted.includes(h), `${p}: ${h} in ${granted}`);
    }
  });
});

describe("/v1 fallback", () => {
  test("the first model failing before any content: the next one answers; x-fallback / x-model-id say so", async () => {
    const tenant = testTenant({ models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"] } });
    const gw = await startGateway({ tenant, scenarios: { "@cf/test/primary": { error: "3040: Capacity temporarily exceeded" }, "*": { text: "backup here" } } });
    try {
      const plain = await call(gw, { messages: [user("Hi")] });
      assert.equal(plain.status, 200, plain.text);
      assert.equal(plain.headers.get("x-fallback"), "true");
      assert.equal(plain.headers.get("x-model-id"), "@cf/test/backup");
      assert.equal(plain.body.model, "@cf/test/backup");
      assert.equal(plain.body.choices[0].message.content, "backup here");
      assert.deepEqual(gw.aiCallsFor(plain.trace).map((c) => c.model), ["@cf/test/primary", "@cf/test/backup"]);
      const streamed = await call(gw, { messages: [user("Hi")], stream: true });
      assert.equal(streamed.headers.get("x-fallback"), "true");
      assert.equal(streamed.headers.get("x-model-id"), "@cf/test/backup");
      assert.equal(contentOf(streamChunks(streamed, "@cf/test/backup")), "backup here");
    } finally {
      await gw.close();
    }
  });
});

describe("/v1/models and the allow-list", () => {
  let gw;
  const allow = ["@cf/test/primary", "@cf/test/backup", "@cf/test/fast", "@cf/meta/llama-3.1-8b-instruct"];
  before(async () => {
    gw = await startGateway({ tenant: testTenant({ models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"], tiers: { fast: "@cf/test/fast" } }, modelAllowList: allow }) });
  });
  after(() => gw?.close());

  test("a model outside the allow-list: 403 permission_error model_not_allowed, no model call", async () => {
    for (const stream of [false, true]) {
      const r = await call(gw, { model: "@cf/test/other", messages: [user("Hi")], stream });
      assertError(r, 403, "permission_error", "model_not_allowed");
      assert.equal(gw.aiCallsFor(r.trace).length, 0);
    }
  });

  test("GET /v1/models: tier aliases (owned by the tenant), chat model, fallbacks and allow-list, once each", async () => {
    const r = await call(gw, undefined, { method: "GET", path: "/v1/models" });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.object, "list");
    const ids = r.body.data.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, `no duplicates: ${ids}`);
    assert.deepEqual([...ids].sort(), ["fast", ...allow].sort());
    for (const m of r.body.data) {
      assert.deepEqual(m, { id: m.id, object: "model", created: 0, owned_by: m.id === "fast" ? "acme" : "workers-ai" });
    }
  });

  test("GET /v1/models/{id}: alias, id with slashes (raw and percent-encoded as the SDKs send it), 404", async () => {
    const one = async (p) => call(gw, undefined, { method: "GET", path: `/v1/models/${p}` });
    assert.deepEqual((await one("fast")).body, { id: "fast", object: "model", created: 0, owned_by: "acme" });
    const id = "@cf/meta/llama-3.1-8b-instruct";
    for (const p of [id, id.replaceAll("/", "%2F"), encodeURIComponent(id)]) {
      const r = await one(p);
      assert.equal(r.status, 200, `${p}: ${r.text}`);
      assert.deepEqual(r.body, { id, object: "model", created: 0, owned_by: "workers-ai" }, p);
    }
    assertError(await one("@cf/nope/missing"), 404, "invalid_request_error", "model_not_found");
  });
});

describe("/v1 budget", () => {
  let gw;
  before(async () => {
    // minOutputTokens 1024: no shrink-to-fit, so a request whose cap does not fit is refused.
    gw = await startGateway({ tenant: testTenant({ tenantId: "oa-budget", budget: { daily: 200, monthly: 100000, store: "durable-object", minOutputTokens: 1024 } }) });
  });
  after(() => gw?.close());

  test("within budget: x-budget-remaining-daily / -monthly headers", async () => {
    const r = await call(gw, { messages: [user("Hi")], max_tokens: 10 });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get("x-budget-remaining-daily"), /^\d+$/);
    assert.match(r.headers.get("x-budget-remaining-monthly"), /^\d+$/);
  });

  test("over budget: 429 rate_limit_error budget_exceeded with Retry-After, both modes, no model call", async () => {
    for (const stream of [false, true]) {
      const r = await call(gw, { messages: [user("Hi")], stream });
      assertError(r, 429, "rate_limit_error", "budget_exceeded");
      assert.match(r.headers.get("retry-after") || "", /^\d+$/);
      assert.equal(gw.aiCallsFor(r.trace).length, 0);
    }
  });
});
