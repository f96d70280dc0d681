// Issue 10, part 2: model discovery (GET /v1/models with each provider's GET /models), tier
// preference lists, the allow-list, deep health (GET /health/providers) and the
// cloudflare-ai-gateway kind (Cloudflare's REST API: Authorization: Bearer <API token>,
// cf-aig-gateway-id, cf-aig-metadata and the cache/timeout headers). The upstreams and token
// servers are the stand-ins in tests/support/; OAuth2 itself is in providers.test.mjs.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { startUpstream } from "../support/openai-upstream.mjs";
import { startTokenServer } from "../support/oauth-server.mjs";
import { chat, v1, get, user, sleep, oauthProvider, closedPort, assertNoSecrets } from "../support/providers-kit.mjs";

const rnd = () => crypto.randomBytes(9).toString("hex");
const CLIENT_ID = "gateway-acme";
const SECRET = `client-secret-${rnd()}`;
const STALE_KEY = `stale-key-${rnd()}`;
const EMPTY_KEY = `empty-key-${rnd()}`;
const CF_TOKEN = `cf-api-token-${rnd()}`;
const AIG_TOKEN = `cf-aig-token-${rnd()}`;
const ADMIN = `admin-${rnd()}`;
const SECRETS = { CORP_CLIENT_SECRET: SECRET, STALE_API_KEY: STALE_KEY, EMPTY_API_KEY: EMPTY_KEY, CF_API_TOKEN: CF_TOKEN, CF_AIG_TOKEN: AIG_TOKEN };
const CORP_MODELS = ["gpt-5", "gpt-5-mini", "gpt-4o"];

let tsA, tsBad, upA, upStale, upBroken, upEmpty, upCf, dead;
let gwDisc, gwAllow, gwHealth;
const corp = (tokenServer, extra = {}) => oauthProvider(upA.url, tokenServer.url, { clientId: CLIENT_ID, secret: "CORP_CLIENT_SECRET", ...extra });
const bearer = (baseUrl, secret, extra = {}) => ({ kind: "openai-compatible", baseUrl, auth: { type: "bearer", key: { secret } }, ...extra });
const none = (baseUrl) => ({ kind: "openai-compatible", baseUrl, auth: { type: "none" } });

before(async () => {
  tsA = await startTokenServer({ clients: { [CLIENT_ID]: SECRET } });
  tsBad = await startTokenServer({ clients: { [CLIENT_ID]: "not-the-secret-the-gateway-has" } });
  upA = await startUpstream({ requireValidToken: tsA, scenarios: { "*": { models: CORP_MODELS } } });
  upStale = await startUpstream({ scenarios: { "*": { models: ["llama-local"], requireBearer: STALE_KEY } } });
  upBroken = await startUpstream({ scenarios: { "*": { modelsStatus: 500 } } });
  upEmpty = await startUpstream({ scenarios: { "*": { models: [], requireBearer: EMPTY_KEY } } });
  upCf = await startUpstream({
    scenarios: {
      "*": { requireBearer: CF_TOKEN, requireGatewayToken: AIG_TOKEN, models: ["openai/gpt-5.5", "anthropic/claude-sonnet-4-5"] },
      "anthropic/claude-sonnet-4-5": { requireGatewayToken: null },
    },
  });
  dead = await closedPort();

  gwDisc = await startGateway({
    tenant: testTenant({
      models: {
        chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"],
        tiers: { premium: ["corp/gpt-5.1", "corp/gpt-5", "@cf/test/premium"], fast: ["corp/gpt-5-mini", "corp/gpt-5"], standard: ["corp/gpt-4.1", "@cf/test/standard"] },
      },
      providers: {
        corp: corp(tsA),
        stale: bearer(upStale.url, "STALE_API_KEY", { modelsTtlSeconds: 1 }),
        broken: none(upBroken.url),
        gone: none(`http://127.0.0.1:${dead}/v1`),
      },
    }),
    vars: SECRETS,
    scenarios: { "*": { text: "Workers AI here" } },
  });
  gwAllow = await startGateway({
    tenant: testTenant({ modelAllowList: ["@cf/test/primary", "corp/gpt-5"], models: { chat: "@cf/test/primary", fallbacks: [], tiers: {} }, providers: { corp: corp(tsA) } }),
    vars: SECRETS,
  });
  const cfBase = { kind: "cloudflare-ai-gateway", accountId: "0123abcd", token: { secret: "CF_API_TOKEN" }, baseUrl: upCf.cfUrl("0123abcd") };
  gwHealth = await startGateway({
    tenant: testTenant({
      models: { chat: "cfgw/openai/gpt-5.5", fallbacks: [], tiers: {} },
      providers: {
        ok: corp(tsA),
        authfail: corp(tsBad),
        offline: none(`http://127.0.0.1:${dead}/v1`),
        empty: bearer(upEmpty.url, "EMPTY_API_KEY"),
        cfgw: { ...cfBase, gatewayId: "acme-gw", gatewayToken: { secret: "CF_AIG_TOKEN" }, cacheTtl: 60, skipCache: true, requestTimeoutMs: 20000, maxAttempts: 2, collectLog: true },
        cfmin: { ...cfBase, gatewayId: "other-gw" },
      },
    }),
    vars: { ...SECRETS, ADMIN_TOKEN: ADMIN },
  });
});
after(async () => {
  await Promise.all([gwDisc, gwAllow, gwHealth].map((g) => g?.close()));
  await Promise.all([tsA, tsBad, upA, upStale, upBroken, upEmpty, upCf].map((s) => s?.close()));
});

const listing = async (gw) => {
  const r = await get(gw, "/v1/models");
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.object, "list");
  const ids = r.body.data.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, `no duplicates: ${ids}`);
  return Object.fromEntries(r.body.data.map((m) => [m.id, m]));
};

describe("discovery and tiers", () => {
  test("/v1/models adds <provider>/<id> for every model a provider lists, owned by the provider", async () => {
    const by = await listing(gwDisc);
    for (const id of CORP_MODELS) assert.deepEqual(by[`corp/${id}`], { id: `corp/${id}`, object: "model", created: 0, owned_by: "corp" }, id);
    assert.equal(by["stale/llama-local"].owned_by, "stale");
    assert.notEqual(by["stale/llama-local"].stale, true);
    for (const alias of ["premium", "fast", "standard"]) assert.equal(by[alias]?.owned_by, "acme", alias);
    assert.equal(by["@cf/test/primary"].owned_by, "workers-ai");
    const ids = Object.keys(by);
    assert.deepEqual(ids.filter((id) => /^(gone|broken)\//.test(id)), [], "a provider with nothing cached is left out; the listing still works");
    const [models] = upA.requests.filter((q) => q.method === "GET" && q.path === "/v1/models");
    assert.equal(models.headers.authorization, `Bearer ${tsA.issued[0].token}`, "same auth as chat");
    assert.equal(upStale.requests.find((q) => q.path === "/v1/models").headers.authorization, `Bearer ${STALE_KEY}`);
  });

  test("/v1/models/{id} finds a discovered model; an unknown one is 404 model_not_found", async () => {
    const one = await get(gwDisc, "/v1/models/corp/gpt-4o");
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.body, { id: "corp/gpt-4o", object: "model", created: 0, owned_by: "corp" });
    const missing = await get(gwDisc, "/v1/models/corp/no-such-model");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "model_not_found");
  });

  test("a provider that goes down keeps its last listing, marked stale", async () => {
    upStale.setScenarios({ "*": { modelsStatus: 500, requireBearer: STALE_KEY } });
    await sleep(1300); // modelsTtlSeconds = 1
    const by = await listing(gwDisc);
    assert.equal(by["stale/llama-local"]?.stale, true, JSON.stringify(by["stale/llama-local"]));
    assert.notEqual(by["corp/gpt-5"].stale, true, "within its TTL: fresh");
    assert.ok(upStale.requests.filter((q) => q.path === "/v1/models").length >= 2, "it did ask again");
  });

  test("a tier's preference list: the first model its provider lists answers", async () => {
    for (const [tier, answered, upstreamModel] of [["premium", "corp/gpt-5", "gpt-5"], ["fast", "corp/gpt-5-mini", "gpt-5-mini"]]) {
      const r = await chat(gwDisc, { message: "Hi", modelId: tier });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.res.headers.get("x-model-id"), answered, tier);
      assert.equal(r.body.fallback, false);
      assert.deepEqual(upA.chatRequests(r.trace).map((q) => q.body.model), [upstreamModel], "gpt-5.1 (not listed) is skipped");
    }
    // corp lists no gpt-4.1: the Workers AI entry (always listed) is the primary.
    const r = await chat(gwDisc, { message: "Hi", modelId: "standard" });
    assert.equal(r.res.headers.get("x-model-id"), "@cf/test/standard");
    assert.equal(upA.chatRequests(r.trace).length, 0);
    const o = await v1(gwDisc, { model: "premium", messages: [user("Hi")] });
    assert.equal(o.body.model, "corp/gpt-5");
  });

  // The tier's other entries follow as fallbacks, unlisted ones included (a real server answers
  // those 404 model_not_found, which must not end the chain when it is not the first attempt).
  test("a tier's listed model failing falls through the rest of the tier, to Workers AI", async () => {
    upA.setScenarios({ "*": { models: CORP_MODELS }, "gpt-5": { status: 500 } });
    try {
      const r = await chat(gwDisc, { message: "Hi", modelId: "premium" });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.res.headers.get("x-model-id"), "@cf/test/premium");
      assert.equal(r.res.headers.get("x-fallback"), "true");
      assert.equal(upA.chatRequests(r.trace)[0].body.model, "gpt-5", "the listed model first");
      const log = await gwDisc.logFor(r.trace);
      assert.equal(log.failedAttempts[0].model, "corp/gpt-5");
      assert.equal(log.failedAttempts[0].kind, "server_error");
    } finally {
      upA.setScenarios({ "*": { models: CORP_MODELS } });
    }
  });

  test("a non-empty allow-list filters the discovered models", async () => {
    const by = await listing(gwAllow);
    assert.equal(by["corp/gpt-5"]?.owned_by, "corp");
    assert.equal(by["corp/gpt-5-mini"], undefined);
    assert.equal(by["corp/gpt-4o"], undefined);
    const refused = await chat(gwAllow, { message: "Hi", modelId: "corp/gpt-4o" });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "model_not_allowed");
    assert.equal(upA.chatRequests(refused.trace).length, 0);
    assert.equal((await chat(gwAllow, { message: "Hi", modelId: "corp/gpt-5" })).status, 200);
  });
});

describe("deep health", () => {
  test("404, like any unknown path, without ADMIN_TOKEN or without the right bearer", async () => {
    const unknown = await get(gwHealth, "/no-such-path");
    const cases = [
      [gwAllow, {}], [gwAllow, { authorization: "Bearer anything" }],
      [gwHealth, {}], [gwHealth, { authorization: "Bearer wrong" }], [gwHealth, { authorization: `Bearer ${ADMIN}x` }],
      [gwHealth, { authorization: ADMIN }], [gwHealth, { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString("base64")}` }],
    ];
    for (const [gw, headers] of cases) {
      const r = await get(gw, "/health/providers", headers);
      assert.equal(r.status, 404, JSON.stringify(headers));
      assert.equal(r.body.error.code, unknown.body.error.code);
    }
    assert.equal(tsBad.count, 0, "nothing was checked for a refused caller");
  });

  test("with the admin token: a real check per provider, a clear status each, and the binding", async () => {
    const r = await get(gwHealth, "/health/providers", { authorization: `Bearer ${ADMIN}` });
    assert.equal(r.status, 200, r.text);
    const by = Object.fromEntries(r.body.providers.map((p) => [p.name, p]));
    const expect = { ok: ["openai-compatible", "ok"], authfail: ["openai-compatible", "auth_failed"], offline: ["openai-compatible", "unreachable"], empty: ["openai-compatible", "no_models"] };
    for (const [name, [kind, status]] of Object.entries(expect)) {
      assert.equal(by[name]?.kind, kind, name);
      assert.equal(by[name].status, status, `${name}: ${JSON.stringify(by[name])}`);
      assert.equal(typeof by[name].latencyMs, "number", name);
      if (status !== "ok") assert.ok(typeof by[name].detail === "string" && by[name].detail.length > 0, `${name} says why`);
    }
    assert.equal(by.ok.models, CORP_MODELS.length);
    assert.equal(by.empty.models, 0);
    assert.deepEqual(by["workers-ai"], { name: "workers-ai", kind: "binding", status: "ok" });
    assert.equal(by.cfgw?.kind, "cloudflare-ai-gateway");
    assert.equal(tsBad.requests.at(-1).error, "invalid_client", "a real token request was made");
    assert.ok(upEmpty.requests.some((q) => q.path === "/v1/models"), "a real model list was asked for");
  });
});

describe("cloudflare-ai-gateway kind", () => {
  const cfHeaders = (q) => Object.fromEntries(Object.entries(q.headers).filter(([k]) => k.startsWith("cf-aig-")));

  test("Cloudflare's REST API: path, API token, gateway id, metadata and the configured options", async () => {
    const r = await chat(gwHealth, { message: "Hi", sessionId: "sess-cf" });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.model, "cfgw/openai/gpt-5.5");
    const [q] = upCf.chatRequests(r.trace);
    assert.equal(q.path, "/client/v4/accounts/0123abcd/ai/v1/chat/completions");
    assert.equal(q.body.model, "openai/gpt-5.5", "the provider-qualified id Cloudflare expects");
    assert.equal(q.headers.authorization, `Bearer ${CF_TOKEN}`);
    assert.equal(q.headers["x-trace-id"], r.trace);
    const { "cf-aig-metadata": meta, ...rest } = cfHeaders(q);
    const parsed = JSON.parse(meta);
    assert.deepEqual(parsed, { tenantId: "acme", traceId: r.trace, sessionId: "sess-cf", route: "/chat" });
    assert.ok(Object.keys(parsed).length <= 5);
    assert.deepEqual(rest, {
      "cf-aig-gateway-id": "acme-gw", "cf-aig-authorization": `Bearer ${AIG_TOKEN}`, "cf-aig-cache-ttl": "60", "cf-aig-skip-cache": "true",
      "cf-aig-request-timeout": "20000", "cf-aig-max-attempts": "2", "cf-aig-collect-log": "true",
    });
  });

  test("/v1 puts `user` into the metadata; streams carry the same headers", async () => {
    const r = await v1(gwHealth, { model: "cfgw/openai/gpt-5.5", messages: [user("Hi")], user: "u-42", stream: true });
    assert.equal(r.status, 200, r.text);
    const [q] = upCf.chatRequests(r.trace);
    assert.deepEqual(JSON.parse(q.headers["cf-aig-metadata"]), { tenantId: "acme", traceId: r.trace, user: "u-42", route: "/v1/chat/completions" });
    assert.equal(q.headers["cf-aig-gateway-id"], "acme-gw");
    assert.deepEqual(q.body.stream_options, { include_usage: true });
  });

  test("without the optional settings only the gateway id and metadata are sent", async () => {
    const r = await chat(gwHealth, { message: "Hi", modelId: "cfmin/anthropic/claude-sonnet-4-5" });
    assert.equal(r.status, 200, r.text);
    const [q] = upCf.chatRequests(r.trace);
    assert.equal(q.body.model, "anthropic/claude-sonnet-4-5");
    assert.equal(q.headers.authorization, `Bearer ${CF_TOKEN}`);
    assert.deepEqual(Object.keys(cfHeaders(q)).sort(), ["cf-aig-gateway-id", "cf-aig-metadata"]);
    assert.equal(q.headers["cf-aig-gateway-id"], "other-gw");
  });
});

test("no secret, token or authorization value in any log line or response", async () => {
  for (const gw of [gwDisc, gwAllow, gwHealth]) await get(gw, "/health");
  const issued = [tsA, tsBad].flatMap((t) => t.issued.map((i) => i.token));
  assertNoSecrets([...Object.values(SECRETS), ADMIN, ...issued], [gwDisc, gwAllow, gwHealth]);
});
