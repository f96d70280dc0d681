// The OpenAI-compatible surface through unchanged official JS clients: the `openai` npm package
// and Vercel's AI SDK (`ai` + `@ai-sdk/openai-compatible`), against the built worker in workerd
// with the AI stand-in. Retries are off so every error reaches the test as the client raised it.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import OpenAI, { APIConnectionError, APIError, BadRequestError, NotFoundError, PermissionDeniedError, RateLimitError } from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { APICallError, Output, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";
import { startGateway, testTenant } from "../support/runtime.mjs";

// The json_object fallback of Output.object warns on every call; the test asserts on it instead.
globalThis.AI_SDK_LOG_WARNINGS = false;
const TEXT = "Hello from the stand-in!";
let seq = 0;
const traceId = (name) => `sdk-${name}-${process.pid}-${++seq}`;
const hi = [{ role: "user", content: "Hi" }];
const Weather = z.object({ city: z.string(), temp: z.number() });
const WEATHER_TOOL = { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

let gw, budgetGw;
before(async () => {
  gw = await startGateway({
    tenant: testTenant({
      // An explicit model's chain is [model, chat model, fallbacks]; the chat model always fails.
      models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"], tiers: { fast: "@cf/test/fast" } },
      modelAllowList: ["@cf/test/primary", "@cf/test/backup", "@cf/test/fast", "@cf/test/plain", "@cf/test/tools", "@cf/test/json", "@cf/test/midfail", "@cf/nope/missing"],
      limits: { maxRequestBytes: 16384, maxOutputTokens: 256, attemptTimeoutMs: 3000 },
    }),
    scenarios: {
      "*": { text: TEXT },
      "@cf/test/primary": { error: "3040: Capacity temporarily exceeded" },
      "@cf/test/backup": { text: "backup here" },
      "@cf/test/tools": { text: "", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
      "@cf/test/json": { text: '{"city":"Oslo","temp":7}' },
      "@cf/test/midfail": { failAfter: 2 },
    },
  });
  budgetGw = await startGateway({ tenant: testTenant({ tenantId: "sdk-budget", budget: { daily: 50, monthly: 1000, store: "durable-object" } }) });
});
after(async () => {
  await gw?.close();
  await budgetGw?.close();
});

describe("openai (npm)", () => {
  const client = (g = gw) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: "test", maxRetries: 0 });
  const opts = (trace) => ({ headers: { "x-trace-id": trace } });

  test("models: list, retrieve (ids with slashes are sent percent-encoded), NotFoundError", async () => {
    const ids = [];
    for await (const m of client().models.list()) ids.push(m.id);
    for (const id of ["fast", "@cf/test/primary", "@cf/test/backup", "@cf/nope/missing"]) assert.ok(ids.includes(id), `${id} in ${ids}`);
    assert.deepEqual({ ...(await client().models.retrieve("@cf/test/plain")) }, { id: "@cf/test/plain", object: "model", created: 0, owned_by: "workers-ai" });
    assert.equal((await client().models.retrieve("fast")).owned_by, "acme");
    await assert.rejects(client().models.retrieve("@cf/test/unlisted"), (e) => e instanceof NotFoundError && e.code === "model_not_found");
  });

  test("non-stream: content, usage, id, and the gateway headers via withResponse()", async () => {
    const t = traceId("oa-plain");
    const { data, response } = await client().chat.completions.create({ model: "@cf/test/plain", messages: hi }, opts(t)).withResponse();
    assert.equal(data.id, `chatcmpl-${t}`);
    assert.equal(data.model, "@cf/test/plain");
    assert.equal(data.choices[0].message.content, TEXT);
    assert.equal(data.choices[0].finish_reason, "stop");
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.equal(response.headers.get("x-model-id"), "@cf/test/plain");
    assert.equal(response.headers.get("x-fallback"), "false");
    assert.equal(response.headers.get("x-tokens-used"), String(data.usage.total_tokens));
    const alias = await client().chat.completions.create({ model: "fast", messages: hi, max_completion_tokens: 50, temperature: 0.3 });
    assert.equal(alias.model, "@cf/test/fast");
  });

  test("stream with include_usage: deltas, finish, usage chunk; the stream() helper assembles it", async () => {
    const t = traceId("oa-stream");
    const stream = await client().chat.completions.create({ model: "@cf/test/plain", messages: hi, stream: true, stream_options: { include_usage: true } }, opts(t));
    let text = "", finish = null, usage = null;
    const ids = new Set();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      text += c?.delta?.content ?? "";
      finish = c?.finish_reason ?? finish;
    }
    assert.equal(text, TEXT);
    assert.equal(finish, "stop");
    assert.ok(usage.completion_tokens > 0 && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens);
    assert.deepEqual([...ids], [`chatcmpl-${t}`]);
    const final = await client().chat.completions.stream({ model: "@cf/test/plain", messages: hi, stream_options: { include_usage: true } }).finalChatCompletion();
    assert.equal(final.choices[0].message.content, TEXT);
    assert.equal(final.choices[0].finish_reason, "stop");
    assert.ok(final.usage.completion_tokens > 0);
  });

  test("tool round trip: tool_calls out, the assistant message and a tool result back in (plain and streamed)", async () => {
    const messages = [{ role: "user", content: "Weather in Oslo?" }];
    const first = await client().chat.completions.create({ model: "@cf/test/tools", messages, tools: [WEATHER_TOOL] });
    const msg = first.choices[0].message;
    assert.equal(first.choices[0].finish_reason, "tool_calls");
    assert.equal(msg.tool_calls.length, 1);
    assert.deepEqual({ id: msg.tool_calls[0].id, type: msg.tool_calls[0].type, name: msg.tool_calls[0].function.name }, { id: "call_0", type: "function", name: "get_weather" });
    assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { city: "Oslo" });
    const t = traceId("oa-tools");
    const back = [...messages, msg, { role: "tool", tool_call_id: msg.tool_calls[0].id, content: JSON.stringify({ temp: 7 }) }];
    const second = await client().chat.completions.create({ model: "@cf/test/plain", messages: back, tools: [WEATHER_TOOL] }, opts(t));
    assert.equal(second.choices[0].message.content, TEXT);
    const sent = gw.aiCallsFor(t)[0].inputs.messages;
    assert.deepEqual(sent.map((m) => m.role), ["user", "assistant", "tool"]);
    assert.equal(sent[2].content, '{"temp":7}');
    // Streamed: the helper's final message (it adds `refusal: null`) goes back as it is.
    const streamed = await client().chat.completions.stream({ model: "@cf/test/tools", messages, tools: [WEATHER_TOOL] }).finalChatCompletion();
    const smsg = streamed.choices[0].message;
    assert.equal(streamed.choices[0].finish_reason, "tool_calls");
    assert.equal(smsg.tool_calls[0].id, "call_0");
    assert.deepEqual(JSON.parse(smsg.tool_calls[0].function.arguments), { city: "Oslo" });
    const again = await client().chat.completions.create({ model: "@cf/test/plain", messages: [...messages, smsg, { role: "tool", tool_call_id: "call_0", content: "7" }] });
    assert.equal(again.choices[0].message.content, TEXT);
  });

  test("runTools(): the SDK's own tool loop sends its assistant messages back (with `parsed: null`)", async () => {
    const t = traceId("oa-runtools");
    const getWeather = { name: "get_weather", description: "Weather for a city", parameters: WEATHER_TOOL.function.parameters, parse: JSON.parse, function: async ({ city }) => ({ city, temp: 7 }) };
    const runner = client().chat.completions.runTools({ model: "@cf/test/tools", messages: [{ role: "user", content: "Weather in Oslo?" }], tools: [{ type: "function", function: getWeather }] }, { ...opts(t), maxChatCompletions: 2 });
    await runner.done();
    const calls = gw.aiCallsFor(t);
    assert.equal(calls.length, 2, "the second round was accepted");
    assert.deepEqual(calls[1].inputs.messages.map((m) => m.role), ["user", "assistant", "tool"]);
    assert.equal(calls[1].inputs.messages[2].content, '{"city":"Oslo","temp":7}');
  });

  test("response_format: parse() with a zod schema (json_schema) and json_object reach the model", async () => {
    const t = traceId("oa-json");
    const parsed = await client().chat.completions.parse({ model: "@cf/test/json", messages: hi, response_format: zodResponseFormat(Weather, "weather") }, opts(t));
    assert.deepEqual(parsed.choices[0].message.parsed, { city: "Oslo", temp: 7 });
    const rf = gw.aiCallsFor(t)[0].inputs.response_format;
    assert.equal(rf.type, "json_schema");
    assert.match(JSON.stringify(rf), /"temp"/);
    const t2 = traceId("oa-json-object");
    const obj = await client().chat.completions.create({ model: "@cf/test/json", messages: hi, response_format: { type: "json_object" } }, opts(t2));
    assert.deepEqual(JSON.parse(obj.choices[0].message.content), { city: "Oslo", temp: 7 });
    assert.deepEqual(gw.aiCallsFor(t2)[0].inputs.response_format, { type: "json_object" });
  });

  test("typed errors: BadRequestError, PermissionDeniedError, NotFoundError, RateLimitError", async () => {
    const expectError = async (promise, cls, status, type, code, trace) =>
      assert.rejects(promise, (e) => {
        assert.ok(e instanceof cls, `${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.status, status);
        assert.equal(e.type, type);
        assert.equal(e.code, code);
        assert.equal(e.headers.get("x-trace-id"), trace);
        return true;
      });
    let t = traceId("oa-400");
    await expectError(client().chat.completions.create({ model: "@cf/test/plain", messages: hi, n: 2 }, opts(t)), BadRequestError, 400, "invalid_request_error", "unsupported_parameter", t);
    t = traceId("oa-400-param");
    await assert.rejects(client().chat.completions.create({ model: "@cf/test/plain", messages: hi, logprobs: true }, opts(t)), (e) => e instanceof BadRequestError && e.param === "logprobs");
    t = traceId("oa-403");
    await expectError(client().chat.completions.create({ model: "@cf/test/forbidden", messages: hi }, opts(t)), PermissionDeniedError, 403, "permission_error", "model_not_allowed", t);
    t = traceId("oa-404");
    await expectError(client().chat.completions.create({ model: "@cf/nope/missing", messages: hi }, opts(t)), NotFoundError, 404, "invalid_request_error", "model_not_found", t);
    for (const stream of [false, true]) {
      t = traceId("oa-429");
      await expectError(client(budgetGw).chat.completions.create({ model: "", messages: hi, stream }, opts(t)), RateLimitError, 429, "rate_limit_error", "budget_exceeded", t);
    }
  });

  test("a mid-stream failure raises APIError from the iterator (not a short success)", async () => {
    const stream = await client().chat.completions.create({ model: "@cf/test/midfail", messages: hi, stream: true }, opts(traceId("oa-midfail")));
    let text = "";
    await assert.rejects(
      async () => { for await (const c of stream) text += c.choices[0]?.delta?.content ?? ""; },
      (e) => {
        assert.ok(e instanceof APIError && !(e instanceof APIConnectionError), `${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.code, "ai_error");
        assert.equal(e.type, "api_error");
        return true;
      },
    );
    assert.equal(text, "Hello from");
    await assert.rejects(client().chat.completions.stream({ model: "@cf/test/midfail", messages: hi }).finalChatCompletion(), (e) => e instanceof APIError && e.code === "ai_error");
  });

  test("fallback shows in the raw response headers (withResponse / asResponse), both modes", async () => {
    const { data, response } = await client().chat.completions.create({ model: "@cf/test/primary", messages: hi }).withResponse();
    assert.equal(response.headers.get("x-fallback"), "true");
    assert.equal(response.headers.get("x-model-id"), "@cf/test/backup");
    assert.equal(data.model, "@cf/test/backup");
    assert.equal(data.choices[0].message.content, "backup here");
    const raw = await client().chat.completions.create({ model: "@cf/test/primary", messages: hi, stream: true }).asResponse();
    assert.equal(raw.headers.get("x-fallback"), "true");
    assert.equal(raw.headers.get("x-model-id"), "@cf/test/backup");
    assert.match(await raw.text(), /backup here|backup/);
    const s = await client().chat.completions.create({ model: "@cf/test/primary", messages: hi, stream: true }).withResponse();
    assert.equal(s.response.headers.get("x-fallback"), "true");
    let text = "";
    for await (const c of s.data) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, "backup here");
  });
});

describe("ai + @ai-sdk/openai-compatible", () => {
  const provider = (g = gw, extra = {}) => createOpenAICompatible({ name: "gateway", baseURL: `${g.url}/v1`, apiKey: "test", includeUsage: true, ...extra });
  const common = (trace) => ({ maxRetries: 0, headers: { "x-trace-id": trace } });

  test("model ids from /v1/models (the AI SDK has no models API) work as AI SDK model ids", async () => {
    const list = await (await fetch(`${gw.url}/v1/models`)).json();
    const alias = list.data.find((m) => m.owned_by === "acme");
    assert.equal(alias.id, "fast");
    const r = await generateText({ model: provider()(alias.id), prompt: "Hi", ...common(traceId("ai-alias")) });
    assert.equal(r.response.modelId, "@cf/test/fast");
  });

  test("generateText: text, usage, finish reason, id and headers", async () => {
    const t = traceId("ai-plain");
    const r = await generateText({ model: provider()("@cf/test/plain"), prompt: "Hi", temperature: 0.2, maxOutputTokens: 100, ...common(t) });
    assert.equal(r.text, TEXT);
    assert.equal(r.finishReason, "stop");
    assert.ok(r.usage.inputTokens > 0 && r.usage.outputTokens > 0);
    assert.equal(r.response.id, `chatcmpl-${t}`);
    assert.equal(r.response.modelId, "@cf/test/plain");
    assert.equal(r.response.headers["x-model-id"], "@cf/test/plain");
    assert.equal(r.response.headers["x-fallback"], "false");
    assert.equal(gw.aiCallsFor(t)[0].inputs.max_tokens, 100);
  });

  test("streamText with includeUsage: text deltas, finish reason, usage from the usage chunk, no errors", async () => {
    const t = traceId("ai-stream");
    const errors = [];
    const r = streamText({ model: provider()("@cf/test/plain"), prompt: "Hi", ...common(t), onError: ({ error }) => errors.push(error) });
    let text = "";
    for await (const d of r.textStream) text += d;
    assert.equal(text, TEXT);
    assert.equal(await r.finishReason, "stop");
    const usage = await r.usage;
    assert.ok(usage.inputTokens > 0 && usage.outputTokens > 0, JSON.stringify(usage));
    assert.equal((await r.response).headers["x-trace-id"], t);
    assert.deepEqual(errors, []);
  });

  test("tool round trip: the SDK runs the tool and sends the call and its result back (generate and stream)", async () => {
    const weather = tool({ description: "Weather for a city", inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, temp: 7 }) });
    const settings = {
      model: provider()("@cf/test/tools"), prompt: "Weather in Oslo?", tools: { get_weather: weather }, stopWhen: stepCountIs(2),
      prepareStep: ({ stepNumber }) => (stepNumber === 1 ? { model: provider()("@cf/test/plain") } : {}),
    };
    for (const mode of ["generate", "stream"]) {
      const t = traceId(`ai-tools-${mode}`);
      const r = mode === "generate" ? await generateText({ ...settings, ...common(t) }) : streamText({ ...settings, ...common(t) });
      const steps = await r.steps;
      assert.equal(steps.length, 2, mode);
      assert.equal(steps[0].finishReason, "tool-calls", mode);
      assert.deepEqual(steps[0].toolCalls.map((c) => [c.toolCallId, c.toolName, c.input]), [["call_0", "get_weather", { city: "Oslo" }]], mode);
      assert.deepEqual(steps[0].toolResults.map((c) => c.output), [{ city: "Oslo", temp: 7 }], mode);
      assert.equal(await r.text, TEXT, mode);
      const calls = gw.aiCallsFor(t);
      assert.deepEqual(calls.map((c) => c.model), ["@cf/test/tools", "@cf/test/plain"], mode);
      const sent = calls[1].inputs.messages;
      assert.deepEqual(sent.map((m) => m.role), ["user", "assistant", "tool"], mode);
      assert.match(JSON.stringify(sent[1]), /call_0/);
      assert.equal(sent[2].content, '{"city":"Oslo","temp":7}', mode);
    }
  });

  test("response_format: Output.object -> json_object by default, json_schema with supportsStructuredOutputs", async () => {
    for (const [extra, type] of [[{}, "json_object"], [{ supportsStructuredOutputs: true }, "json_schema"]]) {
      const t = traceId(`ai-${type}`);
      const r = await generateText({ model: provider(gw, extra)("@cf/test/json"), prompt: "Weather?", output: Output.object({ schema: Weather }), ...common(t) });
      assert.deepEqual(r.output, { city: "Oslo", temp: 7 });
      assert.equal(gw.aiCallsFor(t)[0].inputs.response_format.type, type);
    }
  });

  test("typed errors: APICallError with statusCode and the gateway's error body", async () => {
    const expectError = async (model, status, code, extra = {}, g = gw) => {
      const t = traceId(`ai-${status}`);
      await assert.rejects(generateText({ model: provider(g)(model), prompt: "Hi", ...common(t), ...extra }), (e) => {
        assert.ok(APICallError.isInstance(e), `${e?.name}: ${e?.message}`);
        assert.equal(e.statusCode, status);
        assert.equal(e.data?.error?.code, code, e.responseBody);
        assert.equal(e.responseHeaders["x-trace-id"], t);
        return true;
      });
    };
    await expectError("@cf/test/plain", 400, "unsupported_parameter", { providerOptions: { gateway: { logprobs: true } } });
    await expectError("@cf/test/forbidden", 403, "model_not_allowed");
    await expectError("@cf/nope/missing", 404, "model_not_found");
    await expectError("", 429, "budget_exceeded", {}, budgetGw);
  });

  test("a mid-stream failure is an error part and finishReason 'error' (not a short success)", async () => {
    const errors = [];
    const r = streamText({ model: provider()("@cf/test/midfail"), prompt: "Hi", ...common(traceId("ai-midfail")), onError: ({ error }) => errors.push(error) });
    const parts = [];
    for await (const p of r.fullStream) parts.push(p);
    assert.equal(parts.filter((p) => p.type === "text-delta").map((p) => p.text).join(""), "Hello from");
    const err = parts.find((p) => p.type === "error");
    assert.ok(err, `an error part in ${parts.map((p) => p.type)}`);
    assert.equal(err.error.code, "ai_error");
    assert.equal(await r.finishReason, "error");
    assert.equal(errors.length, 1);
  });

  test("fallback shows in response.headers (generateText and streamText)", async () => {
    const g = await generateText({ model: provider()("@cf/test/primary"), prompt: "Hi", ...common(traceId("ai-fb")) });
    assert.equal(g.text, "backup here");
    assert.equal(g.response.headers["x-fallback"], "true");
    assert.equal(g.response.headers["x-model-id"], "@cf/test/backup");
    assert.equal(g.response.modelId, "@cf/test/backup");
    const s = streamText({ model: provider()("@cf/test/primary"), prompt: "Hi", ...common(traceId("ai-fb-s")) });
    assert.equal(await s.text, "backup here");
    const headers = (await s.response).headers;
    assert.equal(headers["x-fallback"], "true");
    assert.equal(headers["x-model-id"], "@cf/test/backup");
  });
});
