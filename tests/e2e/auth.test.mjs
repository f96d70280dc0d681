// Issue 11, client authentication: API keys (Bearer and x-api-key), end-user tokens (HS256
// JWTs), scopes, credentials in the query string, revocation and expiry, other tenants'
// credentials, forged tokens, what logs and AI Gateway metadata carry, the official openai SDK,
// and /health. Admin routes and CORS patterns: auth-admin.test.mjs; budgets and rate limits:
// auth-limits.test.mjs. Every refusal is the same generic 401 on /chat and /v1.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI, { AuthenticationError, PermissionDeniedError } from "openai";
import { ROOT, startGateway, testTenant } from "../support/runtime.mjs";
import {
  ADMIN_TOKEN, CLIENT_TOKEN_SECRET, KEY_RE, bearer, xApiKey, chatOn, request, assertError, assertUnauthorized,
  keysTenant, startAuthGateway, userToken, nowS, sleep, traceId,
} from "../support/auth-kit.mjs";

const SURFACES = ["chat", "v1"];
const sha256 = (s) => crypto.createHash("sha256").update(s).digest("hex");
const randomSecret = () => crypto.randomBytes(32).toString("base64url");
/** Every credential presented in this file: none may ever appear in a log line. */
const presented = new Set([ADMIN_TOKEN, CLIENT_TOKEN_SECRET]);
function remember(...creds) {
  for (const c of creds.flat()) {
    if (!c) continue;
    presented.add(c);
    const m = KEY_RE.exec(c);
    if (m) presented.add(m[2]).add(sha256(m[2])); // the secret part and its stored hash
    else if (c.split(".").length === 3 && c.split(".")[2]) presented.add(c.split(".")[2]); // a JWT's signature
  }
  return creds[0];
}

async function assertOk(gw, surface, headers, extra) {
  const r = await chatOn(gw, surface, headers, extra);
  assert.equal(r.status, 200, `${surface}: ${r.text}`);
  assert.equal(gw.aiCallsFor(r.trace).length, 1);
  return r;
}

async function assertRefused(gw, headers, creds) {
  for (const surface of SURFACES) {
    const r = await chatOn(gw, surface, headers);
    assertUnauthorized(r, surface, creds);
    assert.equal(gw.aiCallsFor(r.trace).length, 0, "no AI call for a refused request");
  }
}

describe("credentials on /chat and /v1", () => {
  let gw, good;
  before(async () => {
    gw = await startAuthGateway({ tenant: keysTenant() });
    good = await gw.adminKey({ name: "good" });
    remember(good.key);
  });
  after(() => gw?.close());

  test("a good key works as Bearer and as x-api-key, on both surfaces and on /v1/models", async () => {
    assert.match(good.key, KEY_RE);
    for (const surface of SURFACES) {
      await assertOk(gw, surface, bearer(good.key));
      await assertOk(gw, surface, xApiKey(good.key));
    }
    const models = await request(gw, "/v1/models", { method: "GET", headers: bearer(good.key) });
    assert.equal(models.status, 200, models.text);
    assert.equal(models.body.object, "list");
    const one = await request(gw, "/v1/models/fast", { method: "GET", headers: xApiKey(good.key) });
    assert.equal(one.status, 200, one.text);
  });

  test("missing, wrong, malformed and foreign-scheme credentials: the same generic 401", async () => {
    const [, id] = KEY_RE.exec(good.key);
    const wrongSecret = remember(`gwk_${id}_${randomSecret()}`);
    const unknownId = remember(`gwk_${crypto.randomBytes(6).toString("hex")}_${randomSecret()}`);
    const variants = [
      {},
      bearer(wrongSecret),
      xApiKey(wrongSecret),
      bearer(unknownId),
      bearer(remember(good.key.slice(0, -1))), // one character short: malformed
      bearer(remember(`${good.key}x`)),
      bearer(remember("sk-proj-not-a-gateway-key")),
      { authorization: "Bearer " },
      { authorization: `Basic ${Buffer.from(`user:${good.key}`).toString("base64")}` },
      { authorization: good.key }, // no scheme
    ];
    for (const headers of variants) await assertRefused(gw, headers, Object.values(headers));
    for (const route of ["/v1/models", "/v1/models/fast"]) {
      const r = await request(gw, route, { method: "GET", headers: bearer(wrongSecret) });
      assertUnauthorized(r, "v1", wrongSecret);
    }
  });

  test("credentials in the query string: 400 credentials_in_query, even next to a good header", async () => {
    for (const param of ["key", "api_key", "token", "access_token"]) {
      for (const [surface, route, body] of [["chat", "/chat", { message: "Hi" }], ["v1", "/v1/chat/completions", { messages: [{ role: "user", content: "Hi" }] }]]) {
        const r = await request(gw, `${route}?${param}=${encodeURIComponent(good.key)}`, { body, headers: bearer(good.key) });
        assertError(r, surface, 400, "credentials_in_query");
        assert.ok(!r.text.includes(good.key), "the answer does not echo the key");
        assert.equal(gw.aiCallsFor(r.trace).length, 0);
      }
      const token = remember(userToken());
      const r = await request(gw, `/v1/models?${param}=${token}`, { method: "GET" });
      assertError(r, "v1", 400, "credentials_in_query");
    }
  });

  test("a revoked key is refused once keyCacheSeconds (1 s here) has passed", async () => {
    const k = await gw.adminKey({ name: "to-revoke" });
    remember(k.key);
    for (const surface of SURFACES) await assertOk(gw, surface, bearer(k.key)); // now cached
    const del = await gw.admin("DELETE", `/admin/keys/${k.id}`);
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.body, { id: k.id, revoked: true });
    await sleep(2100); // the 1 s cache, at second granularity, plus a margin
    await assertRefused(gw, bearer(k.key), k.key);
    await assertRefused(gw, xApiKey(k.key), k.key);
  });

  test("an expired key is refused", async () => {
    const expiresAt = nowS() + 2;
    const k = await gw.adminKey({ name: "short-lived", expiresAt });
    remember(k.key);
    assert.equal(k.expiresAt, expiresAt);
    await assertOk(gw, "chat", bearer(k.key));
    await sleep(expiresAt * 1000 - Date.now() + 300);
    await assertRefused(gw, bearer(k.key), k.key);
  });

  test("a valid end-user token works on both surfaces (as Bearer; the openai SDKs send it so)", async () => {
    for (const surface of SURFACES) await assertOk(gw, surface, bearer(remember(userToken())));
    // Edges that are still valid: exp just under 24 h ahead, nbf in the past, aud as given.
    await assertOk(gw, "chat", bearer(remember(userToken({ exp: nowS() + 24 * 3600 - 60 }))));
    await assertOk(gw, "chat", bearer(remember(userToken({ nbf: nowS() - 60 }))));
  });

  test("forged or invalid end-user tokens are refused with the same 401", async () => {
    const now = nowS();
    const valid = userToken();
    const [h, , s] = valid.split(".");
    const otherPayload = Buffer.from(JSON.stringify({ sub: "mallory", aud: "acme", exp: now + 600 })).toString("base64url");
    const forged = {
      "alg none, no signature": userToken({}, { header: { alg: "none", typ: "JWT" } }),
      "alg none, signature kept": `${userToken({}, { header: { alg: "none", typ: "JWT" } })}${s}`,
      "HS512 with the right secret": userToken({}, { header: { alg: "HS512", typ: "JWT" } }),
      "HS384 with the right secret": userToken({}, { header: { alg: "HS384", typ: "JWT" } }),
      "wrong signing secret": userToken({}, { secret: "not-the-tenant-secret-0123456789" }),
      "payload swapped under a valid signature": `${h}.${otherPayload}.${s}`,
      "signature stripped": `${h}.${valid.split(".")[1]}.`,
      "wrong audience": userToken({ aud: "globex" }),
      "no audience": userToken({ aud: undefined }),
      "expired": userToken({ exp: now - 10 }),
      "exp more than 24 h ahead": userToken({ exp: now + 24 * 3600 + 600 }),
      "no exp": userToken({ exp: undefined }),
      "nbf in the future": userToken({ nbf: now + 600 }),
      "no sub": userToken({ sub: undefined }),
      "empty sub": userToken({ sub: "" }),
      "sub over 128 characters": userToken({ sub: "u".repeat(129) }),
      "four segments": `${valid}.${s}`,
      "not base64": "@@@.###.$$$",
    };
    for (const [name, token] of Object.entries(forged)) {
      remember(token);
      for (const surface of SURFACES) {
        const r = await chatOn(gw, surface, bearer(token));
        assert.equal(r.status, 401, `${name} on ${surface}: ${r.text}`);
        assertUnauthorized(r, surface, token);
        assert.equal(gw.aiCallsFor(r.trace).length, 0, name);
      }
    }
  });

  test("scopes: 403 insufficient_scope for a key or token without the route's scope", async () => {
    assert.deepEqual(good.scopes, ["chat", "models"], "new keys default to chat and models");
    const modelsOnly = await gw.adminKey({ name: "models-only", scopes: ["models"] });
    const chatOnly = await gw.adminKey({ name: "chat-only", scopes: ["chat"] });
    remember(modelsOnly.key, chatOnly.key);
    assert.deepEqual(modelsOnly.scopes, ["models"]);
    for (const surface of SURFACES) {
      const r = await chatOn(gw, surface, bearer(modelsOnly.key));
      assertError(r, surface, 403, "insufficient_scope");
      assert.equal(gw.aiCallsFor(r.trace).length, 0);
      await assertOk(gw, surface, bearer(chatOnly.key));
    }
    const listModels = (headers) => request(gw, "/v1/models", { method: "GET", headers });
    assert.equal((await listModels(bearer(modelsOnly.key))).status, 200);
    assertError(await listModels(bearer(chatOnly.key)), "v1", 403, "insufficient_scope");
    // Tokens: scope defaults to "chat"; "chat models" adds the model list; "models" alone cannot chat.
    assertError(await listModels(bearer(remember(userToken()))), "v1", 403, "insufficient_scope");
    assert.equal((await listModels(bearer(remember(userToken({ scope: "chat models" }))))).status, 200);
    const modelsToken = remember(userToken({ scope: "models" }));
    for (const surface of SURFACES) assertError(await chatOn(gw, surface, bearer(modelsToken)), surface, 403, "insufficient_scope");
  });

  test("the Node and Python minting examples of docs/auth.md make tokens the gateway accepts", async () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs/auth.md"), "utf8");
    const block = (label, lang) => {
      const m = new RegExp(`\\*\\*${label}\\*\\*[^\\n]*\\n\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
      assert.ok(m, `docs/auth.md has a ${label} example`);
      assert.ok(m[1].split("\n").length <= 12, `the ${label} example is short`);
      return m[1];
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mint-"));
    const env = { ...process.env, CLIENT_TOKEN_SECRET };
    try {
      fs.writeFileSync(path.join(dir, "mint.mjs"), `${block("Node", "js")}\nconsole.log(mintUserToken("doc-node", { budget: 5000 }));\n`);
      fs.writeFileSync(path.join(dir, "mint.py"), `${block("Python", "python")}\nprint(mint_user_token("doc-python", budget=5000))\n`);
      for (const [cmd, file, sub] of [[process.execPath, "mint.mjs", "doc-node"], ["python3", "mint.py", "doc-python"]]) {
        const token = remember(execFileSync(cmd, [path.join(dir, file)], { env, encoding: "utf8" }).trim());
        for (const surface of SURFACES) {
          const r = await assertOk(gw, surface, bearer(token));
          assert.equal((await gw.logFor(r.trace)).userId, sub);
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("logs carry keyId / userId and never a key, its secret or hash, a token, ADMIN_TOKEN or the token secret; AI Gateway metadata names the client", async () => {
    const viaKey = await assertOk(gw, "chat", bearer(good.key), { sessionId: "s-meta" });
    const viaUser = await assertOk(gw, "v1", bearer(remember(userToken({ sub: "alice" }))), { user: "end-user-7" });
    const keyLog = await gw.logFor(viaKey.trace);
    assert.equal(keyLog.keyId, good.id);
    assert.ok(keyLog.userId == null, "no userId on a key's request");
    const userLog = await gw.logFor(viaUser.trace);
    assert.equal(userLog.userId, "alice");
    assert.ok(userLog.keyId == null, "no keyId on a token's request");
    const meta = (r) => gw.aiCallsFor(r.trace)[0].options.gateway.metadata;
    assert.equal(meta(viaKey).client, `key:${good.id}`);
    assert.equal(meta(viaUser).client, "user:alice");
    for (const r of [viaKey, viaUser]) assert.ok(Object.keys(meta(r)).length <= 5, `at most 5 metadata entries: ${JSON.stringify(meta(r))}`);
    // Grep every line the worker wrote during this whole describe block.
    await sleep(300);
    assert.ok(gw.logs.length > 20, "the worker logged the requests above");
    for (const line of gw.logs) {
      for (const secret of presented) assert.ok(!line.includes(secret), `a log line contains a credential (${secret.slice(0, 12)}...): ${line.slice(0, 300)}`);
      assert.doesNotMatch(line, /gwk_[0-9a-f]{12}_/, `a log line contains an API key: ${line.slice(0, 300)}`);
      assert.doesNotMatch(line, /eyJ[A-Za-z0-9_-]+\.eyJ/, `a log line contains a JWT: ${line.slice(0, 300)}`);
    }
  });

  test("the official openai SDK: a wrong key raises AuthenticationError; a good key and a token work", async () => {
    const client = (apiKey) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0 });
    const messages = [{ role: "user", content: "Hi" }];
    const wrong = client(remember(`gwk_${crypto.randomBytes(6).toString("hex")}_${randomSecret()}`));
    const isAuth = (e) => e instanceof AuthenticationError && e.status === 401 && e.code === "unauthorized" && e.type === "authentication_error";
    await assert.rejects(wrong.chat.completions.create({ model: "fast", messages }), isAuth);
    await assert.rejects(wrong.chat.completions.create({ model: "fast", messages, stream: true }), isAuth);
    await assert.rejects(wrong.models.list(), isAuth);
    const ok = await client(good.key).chat.completions.create({ model: "fast", messages });
    assert.equal(ok.choices[0].finish_reason, "stop");
    assert.ok(ok.choices[0].message.content.length > 0);
    const ids = [];
    for await (const m of client(good.key).models.list()) ids.push(m.id);
    assert.ok(ids.includes("fast"));
    const user = client(remember(userToken()));
    assert.equal((await user.chat.completions.create({ model: "fast", messages })).object, "chat.completion");
    await assert.rejects(user.models.list(), (e) => e instanceof PermissionDeniedError && e.code === "insufficient_scope");
  });
});

test("another tenant's key and token are refused, even in shared storage", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "gw-auth-iso-"));
  try {
    const globex = await startAuthGateway({ persistRoot: root, tenant: keysTenant({ tenantId: "globex" }) });
    let foreign;
    try {
      foreign = await globex.adminKey({ name: "globex-key" });
      assert.equal((await chatOn(globex, "chat", bearer(foreign.key))).status, 200, "valid at home");
    } finally {
      await globex.close();
    }
    const acme = await startAuthGateway({ persistRoot: root, tenant: keysTenant() });
    try {
      const own = await acme.adminKey({ name: "acme-key" });
      assert.equal((await chatOn(acme, "chat", bearer(own.key))).status, 200);
      await assertRefused(acme, bearer(foreign.key), foreign.key);
      await assertRefused(acme, xApiKey(foreign.key), foreign.key);
      await assertRefused(acme, bearer(userToken({ aud: "globex" })));
      const listed = await acme.admin("GET", "/admin/keys");
      assert.deepEqual(listed.body.keys.map((k) => k.id), [own.id], "acme lists only its own keys");
      assert.equal((await acme.admin("DELETE", `/admin/keys/${foreign.id}`)).status, 404, "nor can it revoke globex's");
    } finally {
      await acme.close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("/health is public and names the mode; open mode warns and needs no credential", async () => {
  const keys = await startAuthGateway({ tenant: keysTenant() });
  const open = await startGateway({ tenant: testTenant({ auth: { mode: "open" } }) });
  try {
    const h = await request(keys, "/health", { method: "GET" });
    assert.equal(h.status, 200, h.text);
    assert.equal(h.body.auth.mode, "api-keys");
    assert.ok((h.body.warning ?? h.body.auth.warning) == null, "no warning in api-keys mode");
    assert.ok(!h.text.includes(ADMIN_TOKEN) && !h.text.includes(CLIENT_TOKEN_SECRET));
    assert.equal((await fetch(`${keys.url}/health`, { method: "HEAD" })).status, 200);
    const pre = await fetch(`${keys.url}/chat`, { method: "OPTIONS", headers: { origin: "https://app.acme.example", "access-control-request-method": "POST" } });
    assert.equal(pre.status, 204, "a preflight needs no credential");

    const o = await request(open, "/health", { method: "GET" });
    assert.equal(o.body.auth.mode, "open");
    assert.match(String(o.body.warning ?? o.body.auth.warning), /anyone/i, "open mode says that anyone can spend the budget");
    for (const surface of SURFACES) assert.equal((await chatOn(open, surface, {}, {}, { trace: traceId("open") })).status, 200);
  } finally {
    await Promise.all([keys.close(), open.close()]);
  }
});
