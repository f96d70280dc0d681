// The Anthropic Messages surface (`POST /v1/messages`, and `GET /v1/models` in Anthropic's
// shape) through the unchanged official `@anthropic-ai/sdk` npm package (1.x: it sends the API
// key as `Authorization: Bearer` and `anthropic-version: 2026-10-21`): `messages.create` whole
// and streamed, the `messages.stream` helper, a tool_use -> tool_result round trip,
// `models.list()`, and the typed errors, with the gateway key sent the SDK's default way
// (`apiKey`), as `authToken`, and as the classic `x-api-key` header; end-user tokens as
// `authToken`. Runs the built worker in workerd with the AI stand-in, which answers tools
// itself (tests/support/ai-sim.mjs). Retries are off so every error is the one the SDK raised.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import Anthropic, { APIConnectionError, APIError, AuthenticationError, BadRequestError, NotFoundError, RateLimitError } from "@anthropic-ai/sdk";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { keysTenant, startAuthGateway, userToken } from "../support/auth-kit.mjs";

let seq = 0;
const traceId = (name) => `ant-${name}-${process.pid}-${++seq}`;
const opts = (trace) => ({ headers: { "x-trace-id": trace } });
const SIM = "@cf/test/sim"; // no scripted answer: the stand-in answers tools itself
const MIDFAIL = "@cf/test/midfail";
const MIXED = "@cf/test/mixed"; // says something, then calls get_weather (OpenAI format, streamed as deltas)
const LIMITS = { maxRequestBytes: 16384, maxOutputTokens: 256, attemptTimeoutMs: 3000 };
const WEATHER_TOOL = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const BAD_KEY = "gwk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// gw: api-keys mode; budgetGw: open mode with a daily budget of 200 tokens and
// budget.minOutputTokens 1024 (no shrink-to-fit), so a max_tokens that does not fit is refused.
let gw, budgetGw, key;
before(async () => {
  gw = await startAuthGateway({
    tenant: keysTenant({ limits: LIMITS }),
    scenarios: {
      "*": { text: null },
      [MIDFAIL]: { failAfter: 2 },
      [MIXED]: { format: "openai", text: "Let me check.", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
    },
  });
  budgetGw = await startGateway({ tenant: testTenant({ tenantId: "ant-budget", budget: { daily: 200, monthly: 100000, store: "durable-object", minOutputTokens: 1024 } }) });
  key = (await gw.adminKey({ name: "ant" })).key;
});
after(async () => {
  await gw?.close();
  await budgetGw?.close();
});

/**
 * The three ways a gateway key reaches /v1/messages from this SDK: its default (`apiKey`,
 * `Authorization: Bearer` since 1.0), `authToken` (Bearer too), and the `x-api-key` header that
 * the API docs, curl and the pre-1.0 SDKs use (set here as a default header, no SDK credential,
 * with those SDKs' `anthropic-version: 2023-06-01`).
 */
const WAYS = {
  apiKey: (g, credential) => new Anthropic({ baseURL: g.url, apiKey: credential, maxRetries: 0 }),
  authToken: (g, credential) => new Anthropic({ baseURL: g.url, authToken: credential, maxRetries: 0 }),
  xApiKey: (g, credential) =>
    new Anthropic({ baseURL: g.url, apiKey: null, authToken: null, defaultHeaders: { "x-api-key": credential, "anthropic-version": "2023-06-01" }, maxRetries: 0 }),
};
const client = (g = gw, credential = key, way = "apiKey") => WAYS[way](g, credential);
const textOf = (m) => m.content.filter((b) => b.type === "text").map((b) => b.text).join("");
const assertUsage = (u) => assert.ok(u.input_tokens > 0 && u.output_tokens > 0, JSON.stringify(u));

/** Rejects with `cls`, `status`, Anthropic's error type and body; returns the error. */
async function expectError(promise, cls, { status, type, trace }) {
  let err;
  await assert.rejects(promise, (e) => {
    err = e;
    assert.ok(e instanceof cls, `${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.type, type, e.message);
    assert.equal(e.error?.type, "error", JSON.stringify(e.error));
    assert.equal(e.error?.error?.type, type, JSON.stringify(e.error));
    assert.ok(e.error.error.message.length > 0);
    if (trace) {
      assert.equal(e.headers.get("x-trace-id"), trace);
      assert.equal(e.error.request_id, trace, "request_id in the body is the trace id");
    }
    return true;
  });
  return err;
}

describe("@anthropic-ai/sdk", () => {
  for (const way of Object.keys(WAYS)) {
    test(`messages.create (key as ${way}): text, end_turn, usage, id; system, max_tokens and stop_sequences reach the model`, async () => {
      const t = traceId(`create-${way}`);
      const { data: m, response } = await client(gw, key, way)
        .messages.create({ model: SIM, max_tokens: 50, system: "Be brief.", stop_sequences: ["\n\nHuman:"], messages: [{ role: "user", content: "Hello there" }] }, opts(t))
        .withResponse();
      assert.equal(m.type, "message");
      assert.equal(m.role, "assistant");
      assert.equal(m.id, `msg_${t}`);
      assert.equal(m.model, SIM);
      assert.deepEqual(m.content, [{ type: "text", text: "You said: Hello there" }]);
      assert.equal(m.stop_reason, "end_turn");
      assert.equal(m.stop_sequence, null);
      assertUsage(m.usage);
      assert.equal(response.headers.get("x-tokens-used"), String(m.usage.input_tokens + m.usage.output_tokens));
      const [call] = gw.aiCallsFor(t);
      assert.deepEqual(call.inputs.messages, [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there" }]);
      assert.equal(call.inputs.max_tokens, 50);
      assert.deepEqual(call.inputs.stop, ["\n\nHuman:"]);
    });
  }

  test("messages.create({stream: true}): message_start ... message_stop, text deltas, usage in message_delta", async () => {
    const t = traceId("stream");
    const stream = await client().messages.create({ model: SIM, max_tokens: 100, stream: true, messages: [{ role: "user", content: "Stream this please" }] }, opts(t));
    const events = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 2), ["message_start", "content_block_start"], types.join(","));
    assert.deepEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"], types.join(","));
    assert.ok(!types.includes("ping"), "the SDK drops ping events");
    assert.equal(events[0].message.id, `msg_${t}`);
    assert.equal(events[0].message.role, "assistant");
    assert.deepEqual(events[1].content_block, { type: "text", text: "" });
    const deltas = events.filter((e) => e.type === "content_block_delta");
    assert.ok(deltas.length >= 2);
    for (const d of deltas) assert.equal(d.delta.type, "text_delta");
    assert.equal(deltas.map((d) => d.delta.text).join(""), "You said: Stream this please");
    const md = events.find((e) => e.type === "message_delta");
    assert.equal(md.delta.stop_reason, "end_turn");
    assert.ok(md.usage.output_tokens > 0 && md.usage.input_tokens > 0, JSON.stringify(md.usage));
  });

  test("messages.stream(): text events, finalMessage(), finalText(), with the key as authToken and an end-user token", async () => {
    for (const [name, c] of [["key", client(gw, key, "authToken")], ["user", client(gw, userToken({ sub: "ant-alice" }), "authToken")]]) {
      const t = traceId(`helper-${name}`);
      const s = c.messages.stream({ model: SIM, max_tokens: 100, messages: [{ role: "user", content: "Helper stream" }] }, opts(t));
      let text = "";
      const snapshots = [];
      s.on("text", (delta, snapshot) => { text += delta; snapshots.push(snapshot); });
      const final = await s.finalMessage();
      assert.equal(text, "You said: Helper stream", name);
      assert.equal(snapshots.at(-1), text, name);
      assert.equal(final.id, `msg_${t}`, name);
      assert.equal(textOf(final), "You said: Helper stream", name);
      assert.equal(final.stop_reason, "end_turn", name);
      assertUsage(final.usage);
      assert.equal(await s.finalText(), "You said: Helper stream", name);
      assert.equal(gw.aiCallsFor(t).length, 1, name);
    }
  });

  test("tool_use -> tool_result round trip (create): the assistant's content and a tool_result go back, final text", async () => {
    const messages = [{ role: "user", content: "Weather in Oslo?" }];
    const first = await client().messages.create({ model: SIM, max_tokens: 100, messages, tools: [WEATHER_TOOL] });
    assert.equal(first.stop_reason, "tool_use");
    const uses = first.content.filter((b) => b.type === "tool_use");
    assert.equal(uses.length, 1, JSON.stringify(first.content));
    const [use] = uses;
    assert.equal(use.name, "get_weather");
    assert.ok(use.id.length > 0);
    assert.deepEqual(use.input, { city: "Oslo" });
    assertUsage(first.usage);
    const t = traceId("tool-back");
    const back = [
      ...messages,
      { role: "assistant", content: first.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: JSON.stringify({ temp: 7 }) }] },
    ];
    const second = await client().messages.create({ model: SIM, max_tokens: 100, messages: back, tools: [WEATHER_TOOL] }, opts(t));
    assert.equal(second.stop_reason, "end_turn");
    assert.equal(textOf(second), 'The tool said: {"temp":7}');
    const sent = gw.aiCallsFor(t)[0].inputs.messages;
    assert.deepEqual(sent.map((m) => m.role), ["user", "assistant", "tool"]);
    assert.equal(sent[1].tool_calls[0].function.name, "get_weather");
    assert.deepEqual(JSON.parse(sent[1].tool_calls[0].function.arguments), { city: "Oslo" });
    assert.equal(sent[2].tool_call_id, sent[1].tool_calls[0].id);
    assert.equal(sent[2].content, '{"temp":7}');
    // A tool_result whose content is text blocks, flagged as an error.
    const t2 = traceId("tool-blocks");
    const blocks = [...back.slice(0, 2), { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, is_error: true, content: [{ type: "text", text: "city unknown" }] }] }];
    const third = await client().messages.create({ model: SIM, max_tokens: 100, messages: blocks, tools: [WEATHER_TOOL] }, opts(t2));
    assert.match(textOf(third), /^The tool said: .*city unknown/);
  });

  test("tool_use -> tool_result round trip (stream): input_json deltas, finalMessage() with the parsed input", async () => {
    const messages = [{ role: "user", content: "Weather in Oslo?" }];
    const s = client().messages.stream({ model: SIM, max_tokens: 100, messages, tools: [WEATHER_TOOL] });
    const partial = [];
    s.on("inputJson", (delta, snapshot) => partial.push(snapshot));
    const first = await s.finalMessage();
    assert.equal(first.stop_reason, "tool_use");
    const use = first.content.find((b) => b.type === "tool_use");
    assert.ok(use, JSON.stringify(first.content));
    assert.deepEqual(use.input, { city: "Oslo" });
    assert.deepEqual(partial.at(-1), { city: "Oslo" });
    const back = [...messages, { role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "7 degrees" }] }];
    const final = await client().messages.stream({ model: SIM, max_tokens: 100, messages: back, tools: [WEATHER_TOOL] }).finalMessage();
    assert.equal(textOf(final), "The tool said: 7 degrees");
    assert.equal(final.stop_reason, "end_turn");
  });

  test("text, then tool_use: two content blocks in order (whole and streamed), both sent back", async () => {
    const messages = [{ role: "user", content: "Weather in Oslo?" }];
    const whole = await client().messages.create({ model: MIXED, max_tokens: 100, messages, tools: [WEATHER_TOOL] });
    assert.deepEqual(whole.content.map((b) => b.type), ["text", "tool_use"]);
    assert.equal(whole.stop_reason, "tool_use");
    const starts = [];
    const s = client().messages.stream({ model: MIXED, max_tokens: 100, messages, tools: [WEATHER_TOOL] });
    s.on("streamEvent", (e) => { if (e.type === "content_block_start") starts.push([e.index, e.content_block.type]); });
    const streamed = await s.finalMessage();
    assert.deepEqual(starts, [[0, "text"], [1, "tool_use"]]);
    assert.equal(textOf(streamed), "Let me check.");
    assert.deepEqual(streamed.content[1].input, { city: "Oslo" });
    const t = traceId("mixed-back");
    const back = [...messages, { role: "assistant", content: streamed.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: streamed.content[1].id, content: "7" }] }];
    const final = await client().messages.create({ model: SIM, max_tokens: 100, messages: back, tools: [WEATHER_TOOL] }, opts(t));
    assert.equal(textOf(final), "The tool said: 7");
    const sent = gw.aiCallsFor(t)[0].inputs.messages;
    assert.deepEqual(sent.map((m) => m.role), ["user", "assistant", "tool"]);
    assert.equal(sent[1].content, "Let me check.");
    assert.equal(sent[1].tool_calls.length, 1);
  });

  test("max_tokens cuts the answer: stop_reason max_tokens (whole and streamed)", async () => {
    const m = await client().messages.create({ model: SIM, max_tokens: 2, messages: [{ role: "user", content: "one two three four" }] });
    assert.equal(m.stop_reason, "max_tokens");
    assert.equal(textOf(m), "You said");
    const s = await client().messages.stream({ model: SIM, max_tokens: 2, messages: [{ role: "user", content: "one two three four" }] }).finalMessage();
    assert.equal(s.stop_reason, "max_tokens");
    assert.equal(textOf(s), "You said");
  });

  test("a mid-stream failure: the iterator and the stream() helper raise APIError (api_error), no short success", async () => {
    const stream = await client().messages.create({ model: MIDFAIL, max_tokens: 100, stream: true, messages: [{ role: "user", content: "one two three four" }] });
    let text = "";
    await assert.rejects(
      async () => { for await (const e of stream) if (e.type === "content_block_delta") text += e.delta.text; },
      (e) => {
        assert.ok(e instanceof APIError && !(e instanceof APIConnectionError), `${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.type, "api_error");
        return true;
      },
    );
    assert.equal(text, "You said:");
    await assert.rejects(
      client().messages.stream({ model: MIDFAIL, max_tokens: 100, messages: [{ role: "user", content: "one two three four" }] }).finalMessage(),
      (e) => e instanceof APIError && e.type === "api_error",
    );
  });

  test("models.list(): Anthropic's page shape (type model, display_name, created_at), auto-pagination", async () => {
    const page = await client().models.list();
    assert.equal(page.has_more, false);
    const ids = page.data.map((m) => m.id);
    for (const id of ["fast", "@cf/test/primary", "@cf/test/backup"]) assert.ok(ids.includes(id), `${id} in ${ids}`);
    for (const m of page.data) {
      assert.equal(m.type, "model");
      assert.equal(typeof m.display_name, "string");
      assert.ok(!Number.isNaN(Date.parse(m.created_at)), m.created_at);
    }
    assert.equal(page.first_id, ids[0]);
    assert.equal(page.last_id, ids.at(-1));
    const iterated = [];
    for await (const m of client(gw, key, "xApiKey").models.list()) iterated.push(m.id);
    assert.deepEqual(iterated, ids);
  });

  test("typed errors: AuthenticationError (each way), NotFoundError, RateLimitError (budget), BadRequestError (no max_tokens)", async () => {
    for (const way of Object.keys(WAYS)) {
      const t = traceId(`401-${way}`);
      const e = await expectError(
        client(gw, BAD_KEY, way).messages.create({ model: SIM, max_tokens: 10, messages: [{ role: "user", content: "Hi" }] }, opts(t)),
        AuthenticationError,
        { status: 401, type: "authentication_error", trace: t },
      );
      assert.ok(!e.message.includes(BAD_KEY.slice(4)), "the error does not echo the key");
      assert.equal(gw.aiCallsFor(t).length, 0);
    }
    // End-user tokens are Bearer only: in x-api-key one is refused.
    let t = traceId("401-user-xapikey");
    await expectError(client(gw, userToken(), "xApiKey").messages.create({ model: SIM, max_tokens: 10, messages: [{ role: "user", content: "Hi" }] }, opts(t)), AuthenticationError, {
      status: 401, type: "authentication_error", trace: t,
    });
    for (const stream of [false, true]) {
      t = traceId("404");
      await expectError(client().messages.create({ model: "@cf/nope/missing", max_tokens: 10, stream, messages: [{ role: "user", content: "Hi" }] }, opts(t)), NotFoundError, {
        status: 404, type: "not_found_error", trace: t,
      });
      t = traceId("429");
      const e = await expectError(
        client(budgetGw, "test").messages.create({ model: "@cf/test/primary", max_tokens: 256, stream, messages: [{ role: "user", content: "Hi" }] }, opts(t)),
        RateLimitError,
        { status: 429, type: "rate_limit_error", trace: t },
      );
      assert.match(e.headers.get("retry-after") ?? "", /^\d+$/);
      assert.equal(budgetGw.aiCallsFor(t).length, 0);
      t = traceId("400");
      const bad = await expectError(client().messages.create({ model: SIM, stream, messages: [{ role: "user", content: "Hi" }] }, opts(t)), BadRequestError, {
        status: 400, type: "invalid_request_error", trace: t,
      });
      assert.match(bad.error.error.message, /max_tokens/);
    }
    // The budget tenant serves a request whose cap fits.
    const ok = await client(budgetGw, "test").messages.create({ model: "@cf/test/primary", max_tokens: 16, messages: [{ role: "user", content: "Hi" }] });
    assert.equal(textOf(ok), "You said: Hi");
  });

  test("request-id header: err.requestID and message._request_id", async () => {
    const t = traceId("reqid");
    const m = await client().messages.create({ model: SIM, max_tokens: 10, messages: [{ role: "user", content: "Hi" }] }, opts(t));
    const t2 = traceId("reqid-err");
    const e = await expectError(client().messages.create({ model: "@cf/nope/missing", max_tokens: 10, messages: [{ role: "user", content: "Hi" }] }, opts(t2)), NotFoundError, {
      status: 404, type: "not_found_error", trace: t2,
    });
    assert.equal(e.requestID, t2);
    assert.equal(m._request_id, t);
  });

  test("models.retrieve() and model-route errors in Anthropic's shape", async () => {
    const t = traceId("models-401");
    await expectError(client(gw, BAD_KEY).models.list({}, opts(t)), AuthenticationError, { status: 401, type: "authentication_error", trace: t });
    const t2 = traceId("models-404");
    await expectError(client().models.retrieve("@cf/test/unlisted", {}, opts(t2)), NotFoundError, { status: 404, type: "not_found_error", trace: t2 });
    const m = await client().models.retrieve("@cf/test/primary");
    assert.equal(m.id, "@cf/test/primary");
    assert.equal(m.type, "model", JSON.stringify(m));
    assert.equal(typeof m.display_name, "string");
    assert.ok(!Number.isNaN(Date.parse(m.created_at)), JSON.stringify(m));
  });
});
