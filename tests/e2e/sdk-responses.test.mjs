// The OpenAI Responses surface (`POST /v1/responses`) through the unchanged official `openai`
// npm package: `client.responses.create` (whole and streamed), the `client.responses.stream`
// helper, `client.responses.parse`, a function-tool round trip (stateless and through
// `previous_response_id`), `text.format` json_schema, stored responses on a sessions tenant
// (owner-isolated), and the typed errors the SDK raises. Runs the built worker in workerd with
// the AI stand-in, which answers tools and JSON schemas itself (tests/support/ai-sim.mjs).
// Retries are off so every error reaches the test as the client raised it.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError, RateLimitError } from "openai";
import { zodResponsesFunction, zodTextFormat } from "openai/helpers/zod";
import { z } from "zod";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { keysTenant, startAuthGateway, userToken } from "../support/auth-kit.mjs";

let seq = 0;
const traceId = (name) => `rsp-${name}-${process.pid}-${++seq}`;
const opts = (trace) => ({ headers: { "x-trace-id": trace } });
const SIM = "@cf/test/sim"; // no scripted answer: the stand-in answers tools and text.format itself
const ECHO = "@cf/test/echo"; // answers "messages=<N> roles=<role>,..." of what it was sent
const LIMITS = { maxRequestBytes: 16384, maxOutputTokens: 256, attemptTimeoutMs: 3000 };
const MIDFAIL = "@cf/test/midfail"; // fails after two pieces of its answer
const MIXED = "@cf/test/mixed"; // says something, then calls get_weather (OpenAI format, streamed as deltas)
const SCENARIOS = {
  "*": { text: null },
  [ECHO]: { echoCount: "roles" },
  [MIDFAIL]: { failAfter: 2 },
  [MIXED]: { format: "openai", text: "Let me check.", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
};
const WEATHER_PARAMS = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };
const WEATHER_TOOL = { type: "function", name: "get_weather", description: "Weather for a city", parameters: WEATHER_PARAMS, strict: true };
const WEATHER_SCHEMA = {
  type: "object",
  properties: { city: { type: "string" }, temp: { type: "number" } },
  required: ["city", "temp"],
  additionalProperties: false,
};

// gw: api-keys mode with sessions on (stored responses); plain: open mode, no sessions;
// budgetGw: a daily budget of 200 tokens and budget.minOutputTokens 1024 (no shrink-to-fit), so
// a request whose output cap does not fit is refused while a small one goes through.
let gw, plain, budgetGw, keyA, keyB;
before(async () => {
  gw = await startAuthGateway({ tenant: keysTenant({ limits: LIMITS, sessions: { enabled: true } }), scenarios: SCENARIOS });
  plain = await startGateway({ tenant: testTenant({ tenantId: "rsp-plain", limits: LIMITS }), scenarios: SCENARIOS });
  budgetGw = await startGateway({ tenant: testTenant({ tenantId: "rsp-budget", budget: { daily: 200, monthly: 100000, store: "durable-object", minOutputTokens: 1024 } }) });
  keyA = (await gw.adminKey({ name: "rsp-a" })).key;
  keyB = (await gw.adminKey({ name: "rsp-b" })).key;
});
after(async () => {
  await gw?.close();
  await plain?.close();
  await budgetGw?.close();
});

const client = (g = gw, apiKey = keyA) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey, maxRetries: 0 });
const outputText = (r) => r.output.filter((o) => o.type === "message").flatMap((m) => m.content).filter((c) => c.type === "output_text").map((c) => c.text).join("");
const assertUsage = (u) => {
  assert.ok(u.input_tokens > 0 && u.output_tokens > 0, JSON.stringify(u));
  assert.equal(u.total_tokens, u.input_tokens + u.output_tokens);
  assert.equal(u.input_tokens_details.cached_tokens, 0);
  assert.equal(u.output_tokens_details.reasoning_tokens, 0);
};

/** Rejects with `cls`, `status`, and the OpenAI error fields; returns the error. */
async function expectError(promise, cls, { status, type, code, param, trace }) {
  let err;
  await assert.rejects(promise, (e) => {
    err = e;
    assert.ok(e instanceof cls, `${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.type, type, e.message);
    if (code !== undefined) assert.equal(e.code, code, e.message);
    if (param !== undefined) assert.equal(e.param, param, e.message);
    if (trace) assert.equal(e.headers.get("x-trace-id"), trace);
    return true;
  });
  return err;
}

describe("openai (npm) client.responses", () => {
  test("create: output_text, the message item, usage, id and model; instructions and max_output_tokens reach the model", async () => {
    const t = traceId("plain");
    const { data: r, response } = await client()
      .responses.create({ model: SIM, input: "Hello there", instructions: "Be brief.", max_output_tokens: 50, metadata: { case: "plain" } }, opts(t))
      .withResponse();
    assert.equal(r.object, "response");
    assert.match(r.id, /^resp_/);
    assert.equal(r.status, "completed");
    assert.equal(r.model, SIM);
    assert.equal(r.output_text, "You said: Hello there", "the SDK's output_text convenience");
    assert.equal(outputText(r), "You said: Hello there");
    assert.equal(r.output.length, 1);
    const [msg] = r.output;
    assert.deepEqual([msg.type, msg.role, msg.status], ["message", "assistant", "completed"]);
    assert.ok(msg.id.length > 0);
    assert.equal(r.instructions, "Be brief.");
    assert.equal(r.max_output_tokens, 50);
    assert.deepEqual(r.metadata, { case: "plain" });
    assert.equal(r.error, null);
    assert.equal(r.incomplete_details, null);
    assertUsage(r.usage);
    assert.equal(response.headers.get("x-model-id"), SIM);
    assert.equal(response.headers.get("x-tokens-used"), String(r.usage.total_tokens));
    const [call] = gw.aiCallsFor(t);
    assert.deepEqual(call.inputs.messages, [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there" }]);
    assert.equal(call.inputs.max_tokens, 50);
    // Items instead of a string: a message with input_text parts.
    const items = await client().responses.create({ model: SIM, input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "Items work" }] }] });
    assert.equal(items.output_text, "You said: Items work");
  });

  test("create({stream: true}): the semantic events in order, sequence numbers, deltas that add up, a completed response", async () => {
    const t = traceId("stream");
    const stream = await client().responses.create({ model: SIM, input: "Stream this please", stream: true }, opts(t));
    const events = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 4), ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    assert.deepEqual(types.slice(-4), ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]);
    assert.ok(types.filter((x) => x === "response.output_text.delta").length >= 2, types.join(","));
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i), "sequence_number counts from 0");
    const created = events[0].response;
    const completed = events.at(-1).response;
    assert.equal(created.status, "in_progress");
    assert.equal(created.id, completed.id);
    assert.match(completed.id, /^resp_/);
    const text = events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("");
    assert.equal(text, "You said: Stream this please");
    assert.equal(events.find((e) => e.type === "response.output_text.done").text, text);
    const item = events.find((e) => e.type === "response.output_item.added").item;
    for (const e of events.filter((e) => "item_id" in e)) assert.equal(e.item_id, item.id, e.type);
    assert.equal(completed.status, "completed");
    assert.equal(outputText(completed), text);
    assertUsage(completed.usage);
  });

  test("responses.stream(): delta events with snapshots, text via the event emitter, finalResponse()", async () => {
    const t = traceId("helper");
    const s = client().responses.stream({ model: SIM, input: "Helper stream" }, opts(t));
    const snapshots = [];
    let emitted = "";
    s.on("response.output_text.delta", (e) => { snapshots.push(e.snapshot); emitted += e.delta; });
    const final = await s.finalResponse();
    assert.equal(emitted, "You said: Helper stream");
    assert.equal(snapshots.at(-1), "You said: Helper stream", "the snapshot accumulates the text");
    assert.ok(snapshots.length >= 2);
    assert.equal(final.status, "completed");
    // openai 6.30.1's ResponseStream does not add the output_text convenience (create() does).
    assert.equal(outputText(final), "You said: Helper stream");
    assertUsage(final.usage);
    assert.equal(gw.aiCallsFor(t).length, 1);
  });

  test("function tool round trip, stateless: function_call out, the call and its function_call_output back in, final text", async () => {
    const input = [{ role: "user", content: "Weather in Oslo?" }];
    const first = await client().responses.create({ model: SIM, input, tools: [WEATHER_TOOL] });
    assert.equal(first.status, "completed");
    const calls = first.output.filter((o) => o.type === "function_call");
    assert.equal(calls.length, 1, JSON.stringify(first.output));
    const [fc] = calls;
    assert.equal(fc.name, "get_weather");
    assert.ok(fc.call_id.length > 0);
    assert.deepEqual(JSON.parse(fc.arguments), { city: "Oslo" });
    assert.equal(first.output_text, "");
    const t = traceId("tools-back");
    const back = [...input, ...first.output, { type: "function_call_output", call_id: fc.call_id, output: JSON.stringify({ temp: 7 }) }];
    const second = await client().responses.create({ model: SIM, input: back, tools: [WEATHER_TOOL] }, opts(t));
    assert.equal(second.output_text, 'The tool said: {"temp":7}');
    assert.equal(second.output.filter((o) => o.type === "function_call").length, 0);
    const sent = gw.aiCallsFor(t)[0].inputs.messages;
    assert.deepEqual(sent.map((m) => m.role), ["user", "assistant", "tool"]);
    assert.equal(sent[1].tool_calls[0].function.name, "get_weather");
    assert.equal(sent[2].tool_call_id, sent[1].tool_calls[0].id);
    assert.equal(sent[2].content, '{"temp":7}');
    assertUsage(second.usage);
  });

  test("function tool round trip, streamed: function_call_arguments events, then previous_response_id + function_call_output", async () => {
    const s = client().responses.stream({ model: SIM, input: "Weather in Oslo?", tools: [WEATHER_TOOL] });
    const argDeltas = [];
    let argsDone = null;
    s.on("response.function_call_arguments.delta", (e) => argDeltas.push(e.delta));
    s.on("response.function_call_arguments.done", (e) => { argsDone = e; });
    const first = await s.finalResponse();
    const fc = first.output.find((o) => o.type === "function_call");
    assert.ok(fc, JSON.stringify(first.output));
    assert.deepEqual(JSON.parse(fc.arguments), { city: "Oslo" });
    assert.equal(argDeltas.join(""), fc.arguments);
    assert.equal(argsDone?.arguments, fc.arguments);
    assert.equal(argsDone?.name, "get_weather");
    // The stored response holds the call: only the tool's output goes back.
    const t = traceId("tools-prev");
    const second = await client().responses.create(
      { model: SIM, previous_response_id: first.id, input: [{ type: "function_call_output", call_id: fc.call_id, output: "7 degrees" }], tools: [WEATHER_TOOL] },
      opts(t),
    );
    assert.equal(second.output_text, "The tool said: 7 degrees");
    assert.equal(second.previous_response_id, first.id);
    const sent = gw.aiCallsFor(t)[0].inputs.messages;
    assert.deepEqual(sent.map((m) => m.role), ["user", "assistant", "tool"]);
    assert.equal(sent[0].content, "Weather in Oslo?");
  });

  test("text, then a function call: two output items in order (whole and streamed), both sent back", async () => {
    const input = [{ role: "user", content: "Weather in Oslo?" }];
    const whole = await client().responses.create({ model: MIXED, input, tools: [WEATHER_TOOL] });
    assert.deepEqual(whole.output.map((o) => o.type), ["message", "function_call"]);
    assert.equal(whole.output_text, "Let me check.");
    assert.deepEqual(JSON.parse(whole.output[1].arguments), { city: "Oslo" });
    const added = [];
    const s = client().responses.stream({ model: MIXED, input, tools: [WEATHER_TOOL] });
    s.on("response.output_item.added", (e) => added.push([e.output_index, e.item.type]));
    const streamed = await s.finalResponse();
    assert.deepEqual(added, [[0, "message"], [1, "function_call"]]);
    assert.deepEqual(streamed.output.map((o) => o.type), ["message", "function_call"]);
    assert.equal(outputText(streamed), "Let me check.");
    const t = traceId("mixed-back");
    const back = [...input, ...whole.output, { type: "function_call_output", call_id: whole.output[1].call_id, output: "7" }];
    const final = await client().responses.create({ model: SIM, input: back, tools: [WEATHER_TOOL] }, opts(t));
    assert.equal(final.output_text, "The tool said: 7");
    const sent = gw.aiCallsFor(t)[0].inputs.messages;
    assert.deepEqual(sent.map((m) => m.role), ["user", "assistant", "tool"]);
    assert.equal(sent[1].content, "Let me check.");
    assert.equal(sent[1].tool_calls.length, 1);
  });

  test("parse() with zodResponsesFunction: parsed_arguments on the function_call item", async () => {
    const tool = zodResponsesFunction({ name: "get_weather", description: "Weather for a city", parameters: z.object({ city: z.string() }) });
    const r = await client().responses.parse({ model: SIM, input: "Weather in Oslo?", tools: [tool] });
    const fc = r.output.find((o) => o.type === "function_call");
    assert.equal(fc.name, "get_weather");
    // openai 6.30.1's parseToolCall() returns the whole item with `parsed_arguments` inside, and
    // parseResponse() stores that as the item's `parsed_arguments` (an SDK quirk, not the wire).
    const parsed = fc.parsed_arguments?.parsed_arguments ?? fc.parsed_arguments;
    assert.deepEqual(parsed, { city: "Oslo" });
  });

  test("text.format json_schema: the output is JSON that fits the schema (create, stream, and parse() with zodTextFormat)", async () => {
    const t = traceId("json");
    const format = { type: "json_schema", name: "weather", schema: WEATHER_SCHEMA, strict: true };
    const r = await client().responses.create({ model: SIM, input: "Weather in Oslo?", text: { format } }, opts(t));
    const doc = JSON.parse(r.output_text);
    assert.deepEqual(Object.keys(doc).sort(), ["city", "temp"]);
    assert.equal(doc.city, "Oslo");
    assert.equal(typeof doc.temp, "number");
    assert.deepEqual(r.text.format.type, "json_schema");
    const rf = gw.aiCallsFor(t)[0].inputs.response_format;
    assert.equal(rf.type, "json_schema");
    assert.deepEqual(rf.json_schema.schema, WEATHER_SCHEMA);
    const streamed = await client().responses.stream({ model: SIM, input: "Weather in Oslo?", text: { format } }).finalResponse();
    assert.deepEqual(JSON.parse(outputText(streamed)), doc);
    const Weather = z.object({ city: z.string(), temp: z.number() });
    const parsed = await client().responses.parse({ model: SIM, input: "Weather in Oslo?", text: { format: zodTextFormat(Weather, "weather") } });
    assert.equal(parsed.output_parsed.city, "Oslo");
    assert.equal(typeof parsed.output_parsed.temp, "number");
  });

  test("previous_response_id continues a stored response (sessions on), stream or not; owner-isolated", async () => {
    const first = await client().responses.create({ model: ECHO, input: "My name is Ada" });
    assert.equal(first.output_text, "messages=1 roles=user");
    const t = traceId("prev");
    const second = await client().responses.create({ model: ECHO, input: "What is my name?", previous_response_id: first.id }, opts(t));
    assert.equal(second.output_text, "messages=3 roles=user,assistant,user");
    assert.equal(second.previous_response_id, first.id);
    assert.notEqual(second.id, first.id);
    const sent = gw.aiCallsFor(t)[0].inputs.messages;
    assert.deepEqual(sent.map((m) => m.content), ["My name is Ada", "messages=1 roles=user", "What is my name?"]);
    // A streamed continuation of the continuation.
    const third = await client().responses.stream({ model: ECHO, input: "Again?", previous_response_id: second.id }).finalResponse();
    assert.equal(outputText(third), "messages=5 roles=user,assistant,user,assistant,user");
    // Another key, an end user, and an id that was never issued: 400 on previous_response_id.
    for (const [name, c] of [["key-b", client(gw, keyB)], ["user", client(gw, userToken({ sub: "mallory" }))], ["unknown", client()]]) {
      const id = name === "unknown" ? "resp_000000000000000000000000" : first.id;
      const tr = traceId(`prev-${name}`);
      await expectError(c.responses.create({ model: ECHO, input: "steal", previous_response_id: id }, opts(tr)), BadRequestError, {
        status: 400, type: "invalid_request_error", param: "previous_response_id", trace: tr,
      });
      assert.equal(gw.aiCallsFor(tr).length, 0, `${name}: no model call`);
    }
    // An end user's own stored response continues for that user.
    const alice = client(gw, userToken({ sub: "alice-rsp" }));
    const a1 = await alice.responses.create({ model: ECHO, input: "Hi" });
    const a2 = await alice.responses.create({ model: ECHO, input: "Again", previous_response_id: a1.id });
    assert.equal(a2.output_text, "messages=3 roles=user,assistant,user");
  });

  test("previous_response_id without sessions: 400 BadRequestError on previous_response_id, no model call", async () => {
    for (const stream of [false, true]) {
      const t = traceId("prev-off");
      const e = await expectError(
        client(plain, "test").responses.create({ model: SIM, input: "Hi", previous_response_id: "resp_abc", stream }, opts(t)),
        BadRequestError,
        { status: 400, type: "invalid_request_error", code: "invalid_request", param: "previous_response_id", trace: t },
      );
      assert.match(e.message, /sessions are off/);
      assert.equal(plain.aiCallsFor(t).length, 0);
    }
    // Without sessions the gateway stores nothing, and a plain request still works.
    const r = await client(plain, "test").responses.create({ model: SIM, input: "Hi" });
    assert.equal(r.output_text, "You said: Hi");
  });

  test("max_output_tokens cuts the answer: status incomplete with reason max_output_tokens (whole and streamed)", async () => {
    const t = traceId("incomplete");
    const r = await client().responses.create({ model: SIM, input: "one two three four five", max_output_tokens: 2 }, opts(t));
    assert.equal(r.status, "incomplete");
    assert.deepEqual(r.incomplete_details, { reason: "max_output_tokens" });
    assert.equal(r.output_text, "You said");
    assert.equal(r.output[0].status, "incomplete");
    assert.equal(gw.aiCallsFor(t)[0].inputs.max_tokens, 2);
    const events = [];
    for await (const e of await client().responses.create({ model: SIM, input: "one two three four five", max_output_tokens: 2, stream: true })) events.push(e);
    const last = events.at(-1);
    assert.equal(last.type, "response.incomplete");
    assert.equal(last.response.status, "incomplete");
    assert.deepEqual(last.response.incomplete_details, { reason: "max_output_tokens" });
    assert.equal(outputText(last.response), "You said");
  });

  test("a mid-stream failure: a flat error event then response.failed; the stream() helper rejects", async () => {
    const events = [];
    for await (const e of await client().responses.create({ model: MIDFAIL, input: "one two three four", stream: true })) events.push(e);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(-2), ["error", "response.failed"], types.join(","));
    assert.ok(!types.includes("response.completed"));
    const [err, failed] = events.slice(-2);
    assert.equal(err.code, "ai_error");
    assert.ok(err.message.length > 0);
    assert.equal(failed.response.status, "failed");
    assert.equal(failed.response.error.code, "ai_error");
    assert.equal(events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join(""), "You said:");
    // The helper turns the error event into a rejection instead of a truncated final response.
    await assert.rejects(client().responses.stream({ model: MIDFAIL, input: "one two three four" }).finalResponse(), (e) => {
      assert.equal(e?.code, "ai_error", JSON.stringify(e));
      return true;
    });
  });

  test("typed errors: AuthenticationError, NotFoundError, RateLimitError (budget), BadRequestError (tool type)", async () => {
    for (const stream of [false, true]) {
      let t = traceId("401");
      await expectError(client(gw, "gwk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").responses.create({ model: SIM, input: "Hi", stream }, opts(t)), AuthenticationError, {
        status: 401, type: "authentication_error", code: "unauthorized", param: null, trace: t,
      });
      t = traceId("404");
      await expectError(client(plain, "test").responses.create({ model: "@cf/nope/missing", input: "Hi", stream }, opts(t)), NotFoundError, {
        status: 404, type: "invalid_request_error", code: "model_not_found", trace: t,
      });
      t = traceId("429");
      const e = await expectError(client(budgetGw, "test").responses.create({ model: "", input: "Hi", max_output_tokens: 256, stream }, opts(t)), RateLimitError, {
        status: 429, type: "rate_limit_error", code: "budget_exceeded", trace: t,
      });
      assert.match(e.headers.get("retry-after") ?? "", /^\d+$/);
      assert.equal(budgetGw.aiCallsFor(t).length, 0);
      t = traceId("400-tool");
      await expectError(client(plain, "test").responses.create({ model: SIM, input: "Hi", tools: [{ type: "web_search_preview" }], stream }, opts(t)), BadRequestError, {
        status: 400, type: "invalid_request_error", code: "unsupported_parameter", param: "tools[0].type", trace: t,
      });
    }
    // The budget tenant does serve a request whose cap fits.
    const ok = await client(budgetGw, "test").responses.create({ model: "", input: "Hi", max_output_tokens: 16 });
    assert.equal(ok.status, "completed");
    assert.ok(ok.output_text.length > 0);
  });

  test("the stream() helper's and parse()'s output goes back as input (function_call items carry parsed_arguments)", async () => {
    const input = [{ role: "user", content: "Weather in Oslo?" }];
    const streamed = await client().responses.stream({ model: MIXED, input, tools: [WEATHER_TOOL] }).finalResponse();
    assert.ok("parsed_arguments" in streamed.output[1], "the SDK added parsed_arguments");
    const fromStream = await client().responses.create({ model: SIM, tools: [WEATHER_TOOL], input: [...input, ...streamed.output, { type: "function_call_output", call_id: streamed.output[1].call_id, output: "7" }] });
    assert.equal(fromStream.output_text, "The tool said: 7");
    const parsed = await client().responses.parse({ model: SIM, input, tools: [WEATHER_TOOL] });
    const fromParse = await client().responses.create({ model: SIM, tools: [WEATHER_TOOL], input: [...input, ...parsed.output, { type: "function_call_output", call_id: parsed.output[0].call_id, output: "8" }] });
    assert.equal(fromParse.output_text, "The tool said: 8");
  });

  test("previous_response_id does not carry the previous instructions over", async () => {
    const first = await client().responses.create({ model: ECHO, input: "Hi", instructions: "Be brief." });
    assert.equal(first.output_text, "messages=2 roles=system,user");
    const t = traceId("instr");
    const second = await client().responses.create({ model: ECHO, input: "Hi again", instructions: "Be verbose.", previous_response_id: first.id }, opts(t));
    const sent = gw.aiCallsFor(t)[0].inputs.messages;
    assert.deepEqual(sent.filter((m) => m.role === "system").map((m) => m.content), ["Be verbose."], JSON.stringify(sent));
    assert.equal(second.output_text, "messages=4 roles=system,user,assistant,user");
    const t3 = traceId("instr-none");
    await client().responses.create({ model: ECHO, input: "And now?", previous_response_id: second.id }, opts(t3));
    assert.deepEqual(gw.aiCallsFor(t3)[0].inputs.messages.filter((m) => m.role === "system"), [], "no instructions in this request: no system message");
  });

  test("`store` says whether the response was stored", async () => {
    const notStored = await client(plain, "test").responses.create({ model: SIM, input: "Hi" });
    assert.equal(notStored.store, false);
    const optedOut = await client().responses.create({ model: SIM, input: "Hi", store: false });
    assert.equal(optedOut.store, false);
    const stored = await client().responses.create({ model: SIM, input: "Hi" });
    const next = await client().responses.create({ model: ECHO, input: "Again", previous_response_id: stored.id });
    assert.equal(next.output_text, "messages=3 roles=user,assistant,user", "it was stored");
    assert.equal(stored.store, true);
  });
});
