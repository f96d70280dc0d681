// Issue 10, part 1: HTTP providers with OAuth2 client credentials, end to end. The built worker
// runs in workerd; tests/support/oauth-server.mjs is the token endpoint (RFC 6749 4.4),
// tests/support/openai-upstream.mjs the OpenAI-compatible upstream (it accepts only tokens the
// token servers currently consider valid), and the AI stand-in plays Workers AI for the @cf/
// models the chains fall back to. Every counting test has its own provider and token server,
// so each starts on a cold token cache in the same isolate.
// Discovery, tiers, deep health and the cloudflare-ai-gateway kind: providers-discovery.test.mjs.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { startUpstream } from "../support/openai-upstream.mjs";
import { startTokenServer } from "../support/oauth-server.mjs";
import { streamChunks, contentOf, assertError } from "../support/openai-http.mjs";
import { chat, v1, tokens, user, sleep, oauthProvider, closedPort, assertNoSecrets } from "../support/providers-kit.mjs";

// Both need form-urlencoding inside the Basic header (RFC 6749 2.3.1): a space, ':', '+', '%'.
const CLIENT_ID = "gw client:1";
const SECRET = `p@ss:w/rd+%-${crypto.randomBytes(6).toString("hex")}`;
const SECRET_VAR = "CORP_CLIENT_SECRET";
const WEATHER_TOOL = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };
const TOOL_CALL = { id: "call_w1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } };

const ts = {};
let up, gw, gwStrict;
const provider = (tokenServerOrUrl, extra = {}) =>
  oauthProvider(up.url, typeof tokenServerOrUrl === "string" ? tokenServerOrUrl : tokenServerOrUrl.url, { clientId: CLIENT_ID, secret: SECRET_VAR, ...extra });

before(async () => {
  const mk = (o = {}) => startTokenServer({ clients: { [CLIENT_ID]: SECRET }, ...o });
  Object.assign(ts, {
    main: await mk({ methods: ["basic"] }), reuse: await mk(), flight: await mk({ delayMs: 400 }),
    expiry: await mk({ expiresIn: 32 }), short: await mk({ expiresIn: 20 }), revoke: await mk(), reject: await mk(),
    post: await mk({ methods: ["post"], tokenType: "bearer" }), down: await mk({ fail: 503 }),
    bad: await startTokenServer({ clients: { [CLIENT_ID]: "a-different-secret" } }), strict: await mk({ fail: 500 }),
  });
  up = await startUpstream({
    requireValidToken: Object.values(ts),
    scenarios: {
      "*": { text: "Hello from corp" },
      "gpt-test": { usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } },
      nousage: { usage: false },
      "m-500": { status: 500 },
      "m-429": { status: 429, retryAfter: 7 },
      "m-fail0": { failAfter: 0 },
      "m-fail2": { failAfter: 2 }, "m-trunc2": { truncateAfter: 2 }, "m-reset2": { resetAfter: 2 }, "m-malformed2": { malformedAfter: 2 },
      "m-hang2": { hangAfter: 2 },
      "m-reject": { requireBearer: "a-token-nobody-was-issued" },
      "gpt-5.1": { requireField: "max_completion_tokens", tokens: 40 },
      "m-long": { tokens: 40 },
      "m-tools": { text: "", toolCalls: [TOOL_CALL] },
    },
  });
  const dead = await closedPort();
  gw = await startGateway({
    tenant: testTenant({
      models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"] },
      limits: { maxRequestBytes: 16384, maxOutputTokens: 256, attemptTimeoutMs: 2000 },
      providers: {
        corp: provider(ts.main, { auth: { scope: "ai.chat" }, headers: { "x-team": "support" } }),
        gpt5: provider(ts.main, { auth: { scope: "ai.chat" }, maxTokensField: "max_completion_tokens" }),
        reuse: provider(ts.reuse), flight: provider(ts.flight), expiry: provider(ts.expiry), short: provider(ts.short),
        revoke: provider(ts.revoke), reject: provider(ts.reject),
        post: provider(ts.post, { auth: { method: "post", audience: "https://ai.example.com" } }),
        down: provider(ts.down), refused: provider(`http://127.0.0.1:${dead}/oauth2/token`), badcreds: provider(ts.bad),
      },
    }),
    vars: { [SECRET_VAR]: SECRET },
    scenarios: { "*": { text: "Workers AI here" } },
  });
  gwStrict = await startGateway({
    tenant: testTenant({ models: { chat: "corp/gpt-test", fallbacks: [], tiers: {} }, providers: { corp: provider(ts.strict) } }),
    vars: { [SECRET_VAR]: SECRET },
  });
});
after(async () => {
  await Promise.all([gw?.close(), gwStrict?.close()]);
  await Promise.all([up?.close(), ...Object.values(ts).map((t) => t.close())]);
});

const bearerOf = (server, i = 0) => `Bearer ${server.issued[i].token}`;

describe("OAuth2 client credentials", () => {
  test("happy path, whole answer: client_secret_basic token request, bearer, static headers, trace id", async () => {
    const r = await chat(gw, { message: "Hi", modelId: "corp/gpt-test" });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.text, "Hello from corp");
    assert.equal(r.body.model, "corp/gpt-test");
    assert.equal(r.body.fallback, false);
    assert.equal(r.res.headers.get("x-model-id"), "corp/gpt-test");
    assert.deepEqual(r.body.usage, { prompt: 11, completion: 7, total: 18, estimated: false, costUsd: null }, "usage is the upstream's");
    const reqs = up.chatRequests(r.trace);
    assert.equal(reqs.length, 1);
    const [req] = reqs;
    assert.equal(req.path, "/v1/chat/completions");
    assert.match(req.headers["content-type"], /^application\/json/);
    assert.equal(req.body.model, "gpt-test", "the part after the provider name");
    assert.deepEqual(req.body.messages, [{ role: "user", content: "Hi" }]);
    // Whole answers are streamed from the upstream and assembled, so the output cap holds.
    assert.equal(req.body.stream, true);
    assert.deepEqual(req.body.stream_options, { include_usage: true });
    assert.equal(req.body.max_tokens, 256, "the tenant's cap under the default field");
    assert.equal(req.headers.authorization, bearerOf(ts.main));
    assert.equal(req.headers["x-team"], "support");
    assert.equal(req.headers["x-trace-id"], r.trace);
    assert.equal(gw.aiCallsFor(r.trace).length, 0, "Workers AI not involved");

    const [tr] = ts.main.requests;
    assert.equal(tr.method, "POST");
    assert.match(tr.contentType, /^application\/x-www-form-urlencoded/);
    assert.equal(tr.auth, "basic");
    assert.equal(tr.clientId, CLIENT_ID, "id and secret form-urlencoded inside Basic");
    assert.deepEqual(tr.form, { grant_type: "client_credentials", scope: "ai.chat" }, "no credentials in the body");
    assert.equal(tr.status, 200);
  });

  test("happy path, streamed: tokens as sent, include_usage asked upstream, usage from the upstream", async () => {
    const r = await chat(gw, { message: "Hi", modelId: "corp/gpt-test", stream: true });
    assert.equal(r.status, 200);
    assert.equal(tokens(r.events), "Hello from corp");
    const done = r.events.at(-1);
    assert.equal(done.event, "done");
    assert.equal(done.data.finish, "stop");
    assert.equal(done.data.model, "corp/gpt-test");
    assert.deepEqual(done.data.usage, { prompt: 11, completion: 7, total: 18, estimated: false, costUsd: null });
    const [req] = up.chatRequests(r.trace);
    assert.equal(req.body.stream, true);
    assert.deepEqual(req.body.stream_options, { include_usage: true });
    assert.equal(ts.main.count, 1, "the token from the first test is reused");
  });

  test("/v1 through a provider: whole and streamed, usage headers from the upstream", async () => {
    const r = await v1(gw, { model: "corp/gpt-test", messages: [user("Hi")] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.model, "corp/gpt-test");
    assert.equal(r.body.choices[0].message.content, "Hello from corp");
    assert.deepEqual(r.body.usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    for (const [h, v] of [["x-tokens-prompt", "11"], ["x-tokens-completion", "7"], ["x-tokens-used", "18"], ["x-tokens-estimated", "false"], ["x-fallback", "false"], ["x-model-id", "corp/gpt-test"]]) {
      assert.equal(r.headers.get(h), v, h);
    }
    const s = await v1(gw, { model: "corp/gpt-test", messages: [user("Hi")], stream: true, stream_options: { include_usage: true } });
    const objs = streamChunks(s, "corp/gpt-test");
    assert.equal(contentOf(objs), "Hello from corp");
    assert.deepEqual(objs.at(-1).choices, []);
    assert.deepEqual(objs.at(-1).usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
  });

  test("no usage from the upstream: estimated and flagged, in both modes and on both surfaces", async () => {
    const plain = await chat(gw, { message: "Hi", modelId: "corp/nousage" });
    assert.equal(plain.body.usage.estimated, true);
    assert.ok(plain.body.usage.prompt > 0 && plain.body.usage.completion > 0);
    const streamed = await chat(gw, { message: "Hi", modelId: "corp/nousage", stream: true });
    assert.equal(streamed.events.at(-1).data.usage.estimated, true);
    assert.deepEqual(up.chatRequests(streamed.trace)[0].body.stream_options, { include_usage: true }, "asked, but this upstream ignores it");
    const r = await v1(gw, { model: "corp/nousage", messages: [user("Hi")] });
    assert.equal(r.headers.get("x-tokens-estimated"), "true");
  });

  test("20 sequential requests reuse one token", async () => {
    const traces = [];
    for (let i = 0; i < 20; i++) {
      const r = await chat(gw, { message: `Hi ${i}`, modelId: "reuse/gpt-test" });
      assert.equal(r.status, 200, r.text);
      traces.push(r.trace);
    }
    assert.equal(ts.reuse.count, 1);
    const auths = new Set(traces.flatMap((t) => up.chatRequests(t)).map((q) => q.headers.authorization));
    assert.deepEqual([...auths], [bearerOf(ts.reuse)]);
  });

  test("20 concurrent requests on a cold cache share one token request (single flight)", async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => chat(gw, { message: `Hi ${i}`, modelId: "flight/gpt-test", stream: i % 2 === 0 })));
    for (const r of rs) assert.equal(r.status, 200, r.text);
    assert.equal(ts.flight.count, 1, "one token request for 20 requests that waited on it together");
    const auths = new Set(rs.flatMap((r) => up.chatRequests(r.trace)).map((q) => q.headers.authorization));
    assert.deepEqual([...auths], [bearerOf(ts.flight)]);
  });

  test("expiry: a token is used until expires_in minus 30 s, then refreshed once", async () => {
    // expires_in 32: usable for 2 s.
    await chat(gw, { message: "Hi", modelId: "expiry/gpt-test" });
    await chat(gw, { message: "Hi", modelId: "expiry/gpt-test" });
    assert.equal(ts.expiry.count, 1);
    await sleep(2300);
    const a = await chat(gw, { message: "Hi", modelId: "expiry/gpt-test" });
    const b = await chat(gw, { message: "Hi", modelId: "expiry/gpt-test" });
    assert.equal(ts.expiry.count, 2, "one refresh");
    for (const r of [a, b]) assert.equal(up.chatRequests(r.trace)[0].headers.authorization, bearerOf(ts.expiry, 1));
  });

  test("a token that lives no longer than the margin is not cached (min 0)", async () => {
    for (let i = 0; i < 3; i++) assert.equal((await chat(gw, { message: "Hi", modelId: "short/gpt-test" })).status, 200);
    assert.equal(ts.short.count, 3);
  });

  test("an upstream 401 (token revoked) refreshes once and retries once, and it is not a fallback", async () => {
    assert.equal((await chat(gw, { message: "Hi", modelId: "revoke/gpt-test" })).status, 200);
    for (const stream of [false, true]) {
      ts.revoke.revoke();
      const n0 = ts.revoke.count;
      const r = await chat(gw, { message: "Hi", modelId: "revoke/gpt-test", stream });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.res.headers.get("x-fallback"), "false");
      assert.equal(r.res.headers.get("x-model-id"), "revoke/gpt-test");
      if (stream) assert.equal(tokens(r.events), "Hello from corp");
      else assert.equal(r.body.fallback, false);
      assert.equal(ts.revoke.count, n0 + 1, "exactly one refresh");
      const reqs = up.chatRequests(r.trace);
      assert.deepEqual(reqs.map((q) => q.status), [401, 200], "one retry");
      assert.equal(reqs[1].headers.authorization, bearerOf(ts.revoke, n0));
      assert.equal(gw.aiCallsFor(r.trace).length, 0);
      const log = await gw.logFor(r.trace);
      assert.equal(log.fallback, false);
      assert.equal(log.status, 200);
    }
  });

  test("an upstream that keeps answering 401: one refresh, one retry, then the next model", async () => {
    const r = await chat(gw, { message: "Hi", modelId: "reject/m-reject" });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.model, "@cf/test/primary");
    assert.equal(r.body.fallback, true);
    assert.equal(ts.reject.count, 2, "the first token and one refresh, no loop");
    assert.deepEqual(up.chatRequests(r.trace).map((q) => q.status), [401, 401]);
    const log = await gw.logFor(r.trace);
    assert.equal(log.failedAttempts[0].model, "reject/m-reject");
    assert.equal(log.failedAttempts[0].kind, "auth_failed");
  });

  test("client_secret_post with audience; a lower-case token_type still gives `Bearer`", async () => {
    const r = await chat(gw, { message: "Hi", modelId: "post/gpt-test" });
    assert.equal(r.status, 200, r.text);
    const [tr] = ts.post.requests;
    assert.equal(tr.auth, "post");
    assert.equal(tr.authorization, null);
    assert.deepEqual(tr.form, { grant_type: "client_credentials", audience: "https://ai.example.com", client_id: CLIENT_ID, client_secret: SECRET });
    assert.equal(up.chatRequests(r.trace)[0].headers.authorization, bearerOf(ts.post));
  });

  for (const [name, why] of [["down", "answers 503"], ["refused", "refuses connections"], ["badcreds", "refuses the credentials (invalid_client)"]]) {
    test(`a token endpoint that ${why}: auth_failed, and the chain falls back to Workers AI`, async () => {
      for (const stream of [false, true]) {
        const r = await chat(gw, { message: "Hi", modelId: `${name}/gpt-test`, stream });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.res.headers.get("x-model-id"), "@cf/test/primary");
        assert.equal(r.res.headers.get("x-fallback"), "true");
        if (stream) assert.equal(tokens(r.events), "Workers AI here");
        assert.equal(up.chatRequests(r.trace).length, 0, "no upstream call without a token");
        assert.deepEqual(gw.aiCallsFor(r.trace).map((c) => c.model), ["@cf/test/primary"]);
        const log = await gw.logFor(r.trace);
        assert.equal(log.failedAttempts[0].model, `${name}/gpt-test`);
        assert.equal(log.failedAttempts[0].kind, "auth_failed");
      }
      if (name === "badcreds") assert.equal(ts.bad.requests.at(-1).error, "invalid_client");
    });
  }

  test("a token endpoint failing with no model left: 502 upstream_auth_failed naming the provider", async () => {
    for (const stream of [false, true]) {
      const r = await chat(gwStrict, { message: "Hi", stream });
      assert.equal(r.status, 502, r.text);
      assert.equal(r.body.error.code, "upstream_auth_failed");
      assert.match(r.body.error.message, /\bcorp\b/);
      assert.equal(r.body.error.traceId, r.trace);
      assert.equal((await gwStrict.logFor(r.trace)).errorCode, "upstream_auth_failed");
    }
    const r = await v1(gwStrict, { model: "", messages: [user("Hi")] });
    assertError(r, 502, "api_error", "upstream_auth_failed");
    assert.match(r.body.error.message, /\bcorp\b/);
    assert.ok(ts.strict.count >= 3);
  });
});

describe("fallback across providers and failures mid-stream", () => {
  test("an upstream 500 before the first token: Workers AI answers, flagged as a fallback", async () => {
    for (const [model, stream] of [["m-500", false], ["m-500", true], ["m-fail0", true]]) {
      const r = await chat(gw, { message: "Hi", modelId: `corp/${model}`, stream });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.res.headers.get("x-model-id"), "@cf/test/primary", model);
      assert.equal(r.res.headers.get("x-fallback"), "true");
      assert.equal(up.chatRequests(r.trace).length, 1);
      assert.deepEqual(gw.aiCallsFor(r.trace).map((c) => c.model), ["@cf/test/primary"]);
      assert.equal((await gw.logFor(r.trace)).failedAttempts[0].model, `corp/${model}`);
    }
    const r = await v1(gw, { model: "corp/m-500", messages: [user("Hi")] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.model, "@cf/test/primary");
    assert.equal(r.headers.get("x-fallback"), "true");
  });

  test("an upstream 429 with Retry-After is retryable, and the log says the delay", async () => {
    for (const stream of [false, true]) {
      const r = await chat(gw, { message: "Hi", modelId: "corp/m-429", stream });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.res.headers.get("x-model-id"), "@cf/test/primary");
      const [failed] = (await gw.logFor(r.trace)).failedAttempts;
      assert.equal(failed.model, "corp/m-429");
      assert.equal(failed.kind, "rate_limited");
      assert.match(failed.detail, /(^|\D)7(\D|$)/, `Retry-After: 7 in ${failed.detail}`);
    }
  });

  for (const model of ["m-fail2", "m-trunc2", "m-reset2", "m-malformed2", "m-hang2"]) {
    test(`${model}: after the first tokens the stream ends with an error event, never a switch`, async () => {
      const r = await chat(gw, { message: "Hi", modelId: `corp/${model}`, stream: true });
      assert.deepEqual(r.events.map((e) => e.event), ["token", "token", "error", "done"]);
      assert.equal(tokens(r.events), "Hello from");
      assert.equal(r.events[2].data.code, model === "m-hang2" ? "ai_timeout" : "ai_error");
      assert.doesNotMatch(r.events[2].data.message, /Sorry about that|server had an error/, "generic message");
      assert.equal(r.events[3].data.finish, "error");
      assert.equal(up.chatRequests(r.trace).length, 1);
      assert.equal(gw.aiCallsFor(r.trace).length, 0, "no silent switch to another model");
    });
  }

  test("/v1 mid-stream failure: an error chunk and no [DONE]", async () => {
    const r = await v1(gw, { model: "corp/m-fail2", messages: [user("Hi")], stream: true });
    assert.equal(r.status, 200);
    assert.notEqual(r.chunks.at(-1), "[DONE]");
    const err = r.chunks.at(-1).error;
    assert.equal(err.type, "api_error");
    assert.equal(err.code, "ai_error");
    assert.equal(contentOf(r.chunks.slice(0, -1)), "Hello from");
    assert.equal(gw.aiCallsFor(r.trace).length, 0);
  });
});

describe("what is sent upstream", () => {
  test("maxTokensField max_completion_tokens renames the cap (GPT-5), and the upstream honours it", async () => {
    const r = await chat(gw, { message: "Hi", modelId: "gpt5/gpt-5.1", maxTokens: 5, stream: true });
    assert.equal(r.status, 200, r.text);
    // The upstream stops after 5 pieces; the gateway's own estimate-based cap may trim the last one.
    assert.match(tokens(r.events), /^tok0 tok1 tok2 tok3( tok4)?\s?$/);
    assert.equal(r.events.at(-1).data.finish, "length");
    const body = up.chatRequests(r.trace)[0].body;
    assert.equal(body.max_completion_tokens, 5);
    assert.equal("max_tokens" in body, false);
    const plain = await v1(gw, { model: "gpt5/gpt-5.1", messages: [user("Hi")], max_tokens: 3 });
    assert.equal(plain.status, 200, plain.text);
    assert.equal(plain.body.choices[0].finish_reason, "length");
    assert.equal(up.chatRequests(plain.trace)[0].body.max_completion_tokens, 3);
    // The default field on a provider without the option.
    const dflt = await chat(gw, { message: "Hi", modelId: "corp/m-long", maxTokens: 5 });
    const dbody = up.chatRequests(dflt.trace)[0].body;
    assert.equal(dbody.max_tokens, 5);
    assert.equal("max_completion_tokens" in dbody, false);
    assert.equal(dflt.body.finish, "length");
  });

  test("options, tools and response_format pass through; tool calls come back typed", async () => {
    const sent = {
      temperature: 0.2, top_p: 0.9, stop: ["END"], seed: 7, frequency_penalty: 0.1, presence_penalty: 0.2,
      tools: [WEATHER_TOOL], tool_choice: "auto", parallel_tool_calls: false,
      response_format: { type: "json_schema", json_schema: { name: "weather", strict: true, schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false } } },
    };
    const r = await v1(gw, { model: "corp/m-tools", messages: [user("Weather?")], ...sent });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.choices[0].finish_reason, "tool_calls");
    assert.equal(r.body.choices[0].message.content, null);
    assert.deepEqual(r.body.choices[0].message.tool_calls, [TOOL_CALL]);
    const body = up.chatRequests(r.trace)[0].body;
    for (const [k, v] of Object.entries(sent)) assert.deepEqual(body[k], v, k);

    const s = await chat(gw, { message: "Weather?", modelId: "corp/m-tools", stream: true, tools: [WEATHER_TOOL] });
    assert.deepEqual(s.events.filter((e) => e.event === "tool_call").map((e) => e.data), [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Oslo"}' }]);
    assert.equal(s.events.at(-1).data.finish, "tool_calls");
  });
});

test("no secret, token or authorization value in any log line or response", () => {
  const tokensIssued = Object.values(ts).flatMap((t) => t.issued.map((i) => i.token));
  const basic = ts.main.requests[0]?.authorization?.replace(/^Basic\s+/i, "");
  assertNoSecrets([SECRET, encodeURIComponent(SECRET), basic, ...tokensIssued], [gw, gwStrict]);
  assert.ok(tokensIssued.length >= 10);
});
