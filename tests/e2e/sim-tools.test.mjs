// The AI stand-in's made-up answers to `tools` and `response_format` (tests/support/ai-sim.mjs),
// end to end through the built worker: tool calls whose arguments fit the tool's JSON Schema,
// the tool result quoted so a round trip ends, JSON documents that fit a response schema, on
// `/chat` and through the official `openai` npm client on `/v1`, in both Workers AI answer
// formats (classic and OpenAI-shaped), whole and streamed, and the same answer every time.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { zodFunction, zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { startGateway, testTenant } from "../support/runtime.mjs";

const JSON_HEADERS = { "content-type": "application/json" };
let seq = 0;
const traceId = (name) => `simtools-${name}-${process.pid}-${++seq}`;

// The stand-in answers classic `{response, tool_calls}` for the tenant's chat model and
// OpenAI-shaped `chat.completion(.chunk)`s for @cf/test/oa; @cf/test/fixed dictates its text.
const CLASSIC = "@cf/test/primary", OA = "@cf/test/oa", FIXED = "@cf/test/fixed";
const FORMATS = [["classic", CLASSIC], ["openai", OA]];

const WEATHER_PARAMS = {
  type: "object",
  properties: {
    city: { type: "string", description: "City name" },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1, maximum: 7 },
  },
  required: ["city", "unit"],
  additionalProperties: false,
};
const WEATHER_TOOL = { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: WEATHER_PARAMS } };
const TIME_TOOL = { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { zone: { type: "string" }, utc: { type: "boolean" } }, required: ["zone", "utc"] } } };
// What the stand-in's schema filler makes of WEATHER_PARAMS for "What's the weather in Oslo?".
const WEATHER_ARGS = { city: "Oslo", unit: "celsius", days: 1 };
const ASK = "What's the weather in Oslo?";

const RECORD_SCHEMA = {
  type: "object",
  properties: {
    city: { type: "string" },
    temp: { type: "number", minimum: -90, maximum: 60 },
    rainy: { type: "boolean" },
    tags: { type: "array", items: { type: "string" }, minItems: 2 },
    wind: { type: "object", properties: { speed: { type: "integer", minimum: 3 }, dir: { type: "string", enum: ["N", "E", "S", "W"] } }, required: ["speed", "dir"], additionalProperties: false },
    note: { type: ["string", "null"] },
    kind: { const: "forecast" },
  },
  required: ["city", "temp", "rainy", "tags", "wind", "note", "kind"],
  additionalProperties: false,
};

/**
 * The JSON Schema checks this file's schemas use (type, const, enum, required, properties,
 * additionalProperties, items, minItems, minimum, maximum): the problems found, [] if none.
 */
function schemaProblems(value, schema, at = "$") {
  const out = [];
  const types = schema.type === undefined ? [] : [].concat(schema.type);
  const typeOf = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);
  if (types.length && !types.some((t) => t === typeOf(value) || (t === "number" && typeOf(value) === "integer"))) {
    return [`${at}: ${JSON.stringify(value)} is not ${types.join("|")}`];
  }
  if ("const" in schema && value !== schema.const) out.push(`${at}: not ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) out.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) out.push(`${at}: ${value} < ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) out.push(`${at}: ${value} > ${schema.maximum}`);
  }
  if (typeOf(value) === "object") {
    for (const k of schema.required ?? []) if (!(k in value)) out.push(`${at}: missing ${k}`);
    for (const [k, v] of Object.entries(value)) {
      if (schema.properties?.[k]) out.push(...schemaProblems(v, schema.properties[k], `${at}.${k}`));
      else if (schema.additionalProperties === false) out.push(`${at}: extra key ${k}`);
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) out.push(`${at}: ${value.length} items < ${schema.minItems}`);
    if (schema.items) value.forEach((v, i) => out.push(...schemaProblems(v, schema.items, `${at}[${i}]`)));
  }
  return out;
}

function assertFits(value, schema, what) {
  assert.deepEqual(schemaProblems(value, schema), [], `${what}: ${JSON.stringify(value)}`);
}

function parseSse(text) {
  return text.split("\n\n").filter((b) => b.trim()).map((block) => {
    const data = /^data: (.*)$/m.exec(block)?.[1];
    return { event: /^event: (.*)$/m.exec(block)?.[1], data: data ? JSON.parse(data) : null };
  });
}

async function chat(gw, body, trace = traceId("chat")) {
  const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { ...JSON_HEADERS, "x-trace-id": trace }, body: JSON.stringify(body) });
  const text = await res.text();
  const sse = (res.headers.get("content-type") || "").includes("text/event-stream");
  return { status: res.status, trace, text, body: sse ? null : JSON.parse(text), events: sse ? parseSse(text) : null };
}

const tokens = (events) => events.filter((e) => e.event === "token").map((e) => e.data.text).join("");

let gw;
before(async () => {
  gw = await startGateway({
    tenant: testTenant({
      models: { chat: CLASSIC, fallbacks: ["@cf/test/backup"], tiers: { oa: OA, fixed: FIXED } },
      limits: { maxRequestBytes: 32768, maxOutputTokens: 256, attemptTimeoutMs: 3000 },
    }),
    // No "*" text: the stand-in's default answers, which follow the request.
    scenarios: { [OA]: { format: "openai" }, [FIXED]: { text: "fixed answer" } },
  });
});
after(() => gw?.close());

describe("/chat", () => {
  for (const [format, model] of FORMATS) {
    test(`${format}: tools -> a tool call that fits the schema; the tool result -> a text answer`, async () => {
      const first = await chat(gw, { message: ASK, modelId: model, tools: [WEATHER_TOOL, TIME_TOOL] });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.finish, "tool_calls");
      assert.equal(first.body.model, model);
      assert.equal(first.body.toolCalls.length, 1);
      const [call] = first.body.toolCalls;
      assert.equal(call.id, "call_0");
      assert.equal(call.name, "get_weather", "no tool_choice: the first tool");
      assert.equal(typeof call.arguments, "string");
      const args = JSON.parse(call.arguments);
      for (const k of WEATHER_PARAMS.required) assert.ok(k in args, `required ${k} in ${call.arguments}`);
      assertFits(args, WEATHER_PARAMS, "arguments");
      assert.deepEqual(args, WEATHER_ARGS);
      assert.deepEqual(gw.aiCallsFor(first.trace).map((c) => c.inputs.tools.length), [2], "one model call, with the tools");

      const second = await chat(gw, {
        messages: [
          { role: "user", content: ASK },
          { role: "assistant", toolCalls: first.body.toolCalls },
          { role: "tool", toolCallId: call.id, content: '{"temp":7}' },
        ],
        modelId: model,
        tools: [WEATHER_TOOL, TIME_TOOL],
      });
      assert.equal(second.status, 200, second.text);
      assert.equal(second.body.finish, "stop");
      assert.equal(second.body.text, 'The tool said: {"temp":7}');
      assert.equal(second.body.toolCalls, undefined, "no second tool call");
      assert.deepEqual(gw.aiCallsFor(second.trace)[0].inputs.messages.map((m) => m.role), ["user", "assistant", "tool"]);
    });

    test(`${format}, streamed: one tool_call event that fits the schema, then the round trip's tokens`, async () => {
      const first = await chat(gw, { message: ASK, modelId: model, tools: [WEATHER_TOOL], stream: true });
      assert.equal(first.status, 200, first.text);
      assert.deepEqual(first.events.map((e) => e.event), ["tool_call", "done"]);
      const call = first.events[0].data;
      assert.deepEqual({ ...call, arguments: JSON.parse(call.arguments) }, { id: "call_0", name: "get_weather", arguments: WEATHER_ARGS });
      assert.equal(first.events[1].data.finish, "tool_calls");

      const second = await chat(gw, {
        messages: [{ role: "user", content: ASK }, { role: "assistant", toolCalls: [call] }, { role: "tool", toolCallId: call.id, content: "7 degrees" }],
        modelId: model, tools: [WEATHER_TOOL], stream: true,
      });
      assert.equal(tokens(second.events), "The tool said: 7 degrees");
      assert.equal(second.events.filter((e) => e.event === "tool_call").length, 0);
      assert.equal(second.events.at(-1).event, "done");
      assert.equal(second.events.at(-1).data.finish, "stop");
    });

    test(`${format}: responseFormat json_schema (OpenAI and Workers AI shapes) -> JSON that fits, whole and streamed`, async () => {
      for (const responseFormat of [
        { type: "json_schema", json_schema: { name: "record", strict: true, schema: RECORD_SCHEMA } },
        { type: "json_schema", json_schema: RECORD_SCHEMA },
      ]) {
        const plain = await chat(gw, { message: ASK, modelId: model, responseFormat });
        assert.equal(plain.status, 200, plain.text);
        assert.equal(plain.body.finish, "stop");
        const doc = JSON.parse(plain.body.text);
        assertFits(doc, RECORD_SCHEMA, "document");
        assert.equal(doc.city, "Oslo");
        assert.equal(doc.wind.speed, 3, "minimum respected");
        assert.equal(doc.tags.length, 2, "minItems respected");
        const streamed = await chat(gw, { message: ASK, modelId: model, responseFormat, stream: true });
        assert.ok(streamed.events.filter((e) => e.event === "token").length > 1, "the document arrives in pieces");
        assert.deepEqual(JSON.parse(tokens(streamed.events)), doc);
        assert.equal(streamed.events.at(-1).data.finish, "stop");
      }
      const obj = await chat(gw, { message: "Hi", modelId: model, responseFormat: { type: "json_object" } });
      assert.deepEqual(JSON.parse(obj.body.text), { answer: "You said: Hi" });
    });
  }

  test("without tools or a response format the answer is still the echo; a scenario's text wins over both", async () => {
    const plain = await chat(gw, { message: "Hi" });
    assert.equal(plain.body.text, "You said: Hi");
    const fixed = await chat(gw, { message: ASK, modelId: "fixed", tools: [WEATHER_TOOL], responseFormat: { type: "json_object" } });
    assert.equal(fixed.body.text, "fixed answer");
    assert.equal(fixed.body.finish, "stop");
    assert.equal(fixed.body.toolCalls, undefined);
  });
});

describe("/v1/chat/completions with the openai npm client", () => {
  const client = () => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "test", maxRetries: 0 });
  const opts = (trace) => ({ headers: { "x-trace-id": trace } });

  for (const [format, model] of FORMATS) {
    test(`${format}: tool call round trip, plain and streamed`, async () => {
      const messages = [{ role: "user", content: ASK }];
      const first = await client().chat.completions.create({ model, messages, tools: [WEATHER_TOOL, TIME_TOOL], tool_choice: "auto" });
      assert.equal(first.choices[0].finish_reason, "tool_calls");
      const msg = first.choices[0].message;
      assert.equal(msg.tool_calls.length, 1);
      assert.deepEqual({ id: msg.tool_calls[0].id, type: msg.tool_calls[0].type, name: msg.tool_calls[0].function.name }, { id: "call_0", type: "function", name: "get_weather" });
      const args = JSON.parse(msg.tool_calls[0].function.arguments);
      assertFits(args, WEATHER_PARAMS, "arguments");
      assert.deepEqual(args, WEATHER_ARGS);

      const back = [...messages, msg, { role: "tool", tool_call_id: msg.tool_calls[0].id, content: JSON.stringify({ temp: 7 }) }];
      const second = await client().chat.completions.create({ model, messages: back, tools: [WEATHER_TOOL, TIME_TOOL] });
      assert.equal(second.choices[0].finish_reason, "stop");
      assert.equal(second.choices[0].message.content, 'The tool said: {"temp":7}');
      assert.ok(second.choices[0].message.tool_calls == null);

      // tool_choice names the tool; the stream helper assembles the deltas.
      const streamed = await client().chat.completions
        .stream({ model, messages, tools: [WEATHER_TOOL, TIME_TOOL], tool_choice: { type: "function", function: { name: "get_time" } } })
        .finalChatCompletion();
      assert.equal(streamed.choices[0].finish_reason, "tool_calls");
      const smsg = streamed.choices[0].message;
      assert.equal(smsg.tool_calls[0].id, "call_0");
      assert.equal(smsg.tool_calls[0].function.name, "get_time");
      assert.deepEqual(JSON.parse(smsg.tool_calls[0].function.arguments), { zone: "Oslo", utc: true });
      const done = await client().chat.completions.stream({ model, messages: [...messages, smsg, { role: "tool", tool_call_id: "call_0", content: "12:00" }], tools: [TIME_TOOL] }).finalChatCompletion();
      assert.equal(done.choices[0].message.content, "The tool said: 12:00");
      assert.equal(done.choices[0].finish_reason, "stop");
    });

    test(`${format}: tool_choice "none" answers text`, async () => {
      const r = await client().chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], tools: [WEATHER_TOOL], tool_choice: "none" });
      assert.equal(r.choices[0].finish_reason, "stop");
      assert.equal(r.choices[0].message.content, "You said: Hi");
      assert.ok(r.choices[0].message.tool_calls == null);
    });

    test(`${format}: response_format json_schema (strict) -> content that parses and fits; json_object -> an object`, async () => {
      const t = traceId("v1-schema");
      const r = await client().chat.completions.create(
        { model, messages: [{ role: "user", content: ASK }], response_format: { type: "json_schema", json_schema: { name: "record", schema: RECORD_SCHEMA, strict: true } } },
        opts(t),
      );
      assert.equal(r.choices[0].finish_reason, "stop");
      const doc = JSON.parse(r.choices[0].message.content);
      assertFits(doc, RECORD_SCHEMA, "document");
      assert.equal(doc.kind, "forecast");
      assert.equal(gw.aiCallsFor(t)[0].inputs.response_format.json_schema.name, "record");
      const s = await client().chat.completions
        .stream({ model, messages: [{ role: "user", content: ASK }], response_format: { type: "json_schema", json_schema: { name: "record", schema: RECORD_SCHEMA, strict: true } } })
        .finalChatCompletion();
      assert.deepEqual(JSON.parse(s.choices[0].message.content), doc, "streamed: the same document");
      const obj = await client().chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], response_format: { type: "json_object" } });
      assert.deepEqual(JSON.parse(obj.choices[0].message.content), { answer: "You said: Hi" });
    });

    // zodResponseFormat / zodFunction accept zod 4 (node_modules has zod 4.1.12 and openai 6.30.1).
    test(`${format}: parse() with zodResponseFormat and a zodFunction tool`, async () => {
      const Weather = z.object({ city: z.string(), temp: z.number().min(-90).max(60), unit: z.enum(["c", "f"]), tags: z.array(z.string()), nested: z.object({ ok: z.boolean() }) });
      const parsed = await client().chat.completions.parse({ model, messages: [{ role: "user", content: ASK }], response_format: zodResponseFormat(Weather, "weather") });
      const value = parsed.choices[0].message.parsed;
      assert.deepEqual(Weather.parse(value), value, "the parsed value passes the zod schema");
      assert.deepEqual(value, { city: "Oslo", temp: 1, unit: "c", tags: ["tags"], nested: { ok: true } });

      const GetWeather = z.object({ city: z.string(), days: z.number().int().min(2) });
      const tooled = await client().chat.completions.parse({ model, messages: [{ role: "user", content: ASK }], tools: [zodFunction({ name: "get_weather", parameters: GetWeather })] });
      assert.equal(tooled.choices[0].finish_reason, "tool_calls");
      assert.deepEqual(tooled.choices[0].message.tool_calls[0].function.parsed_arguments, { city: "Oslo", days: 2 });
    });
  }
});

describe("determinism", () => {
  test("the same request twice: the same tool arguments and the same document, on both surfaces and formats", async () => {
    const argsOf = async (model, tools) => {
      const r = await chat(gw, { message: "Book a table for Ada at Noma", modelId: model, tools });
      assert.equal(r.body.finish, "tool_calls", r.text);
      return r.body.toolCalls[0].arguments;
    };
    const BOOK = { type: "function", function: { name: "book", parameters: { type: "object", properties: { guest: { type: "string" }, place: { type: "string" }, size: { type: "integer", minimum: 2 }, when: { type: "string", format: "date-time" } }, required: ["guest", "size"] } } };
    for (const model of [CLASSIC, OA]) {
      const a = await argsOf(model, [BOOK]);
      const b = await argsOf(model, [BOOK]);
      assert.equal(a, b, model);
      assert.deepEqual(JSON.parse(a), { guest: "Noma", place: "place", size: 2, when: "2025-01-01T00:00:00Z" }, model);
    }
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "test", maxRetries: 0 });
    const v1 = async () => (await client.chat.completions.create({ model: OA, messages: [{ role: "user", content: "Book a table for Ada at Noma" }], tools: [BOOK] })).choices[0].message.tool_calls[0].function.arguments;
    assert.equal(await v1(), await v1());
    assert.deepEqual(JSON.parse(await v1()), JSON.parse(await argsOf(CLASSIC, [BOOK])), "both surfaces, both formats agree");
    const doc = async () => (await chat(gw, { message: ASK, responseFormat: { type: "json_schema", json_schema: { schema: RECORD_SCHEMA } } })).body.text;
    assert.equal(await doc(), await doc());
  });
});
