// Issue 12, server-side sessions: owners never meet (two API keys, two end users, a key and a
// user, two tenants sharing persisted storage), what is stored when a call fails, fails
// mid-stream or loses its client, and budgets that count the history sent.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { bearer, keysTenant, startAuthGateway, userToken } from "../support/auth-kit.mjs";
import {
  SESSION_DOS, sessionsTenant, startSessionsGateway, request, chat, turn, listSessions, getSession, deleteSession,
  stored, listedIds, sent, assertNotFound, until, sid, traceId,
} from "../support/sessions-kit.mjs";

describe("owners: API keys and end users (api-keys mode)", () => {
  let gw;
  before(async () => {
    gw = await startAuthGateway({
      tenant: keysTenant({ sessions: { enabled: true } }),
      durableObjects: SESSION_DOS,
      scenarios: { "*": { echoCount: true } },
    });
  });
  after(() => gw?.close());

  /** Owner `a` makes session `S`; owner `b` cannot see, delete or continue it, and gets its own. */
  async function assertIsolated(a, b, S) {
    const first = await turn(gw, { message: "from a", sessionId: S }, { headers: a });
    assert.equal(first.answer.historyMessages, 0);
    assertNotFound(await getSession(gw, S, b));
    assertNotFound(await deleteSession(gw, S, b));
    assert.ok(!(await listedIds(gw, b)).includes(S), "b's list does not show a's session");
    const theirs = await turn(gw, { message: "from b", sessionId: S }, { headers: b });
    assert.equal(theirs.answer.historyMessages, 0, "the same id is a fresh session for b");
    assert.deepEqual(sent(gw, theirs), [["user", "from b"]], "b's model call carries nothing of a's");
    assert.deepEqual(await stored(gw, S, a), [["user", "from a"], ["assistant", "messages=1"]], "a's session untouched");
    assert.deepEqual(await stored(gw, S, b), [["user", "from b"], ["assistant", "messages=1"]]);
    const again = await turn(gw, { message: "a again", sessionId: S }, { headers: a });
    assert.equal(again.answer.historyMessages, 2);
    assert.deepEqual(sent(gw, again), [["user", "from a"], ["assistant", "messages=1"], ["user", "a again"]]);
    const listA = (await listSessions(gw, a)).body.sessions.filter((s) => s.id === S);
    assert.deepEqual(listA.map((s) => s.messages), [4], "a lists its own session once");
    const del = await deleteSession(gw, S, b);
    assert.equal(del.status, 200, "b deletes its own session");
    assert.equal((await stored(gw, S, a)).length, 4, "and only its own");
  }

  test("two API keys", async () => {
    const [ka, kb] = [await gw.adminKey({ name: "a" }), await gw.adminKey({ name: "b" })];
    await assertIsolated(bearer(ka.key), bearer(kb.key), sid("keys"));
    await assertIsolated({ "x-api-key": kb.key }, { "x-api-key": ka.key }, sid("keys-x"));
  });

  test("two end users (JWT), and a key against a user", async () => {
    await assertIsolated(bearer(userToken({ sub: "alice" })), bearer(userToken({ sub: "bob" })), sid("users"));
    const k = await gw.adminKey({ name: "k" });
    await assertIsolated(bearer(k.key), bearer(userToken({ sub: "carol" })), sid("key-user"));
    await assertIsolated(bearer(userToken({ sub: k.id })), bearer(k.key), sid("user-named-like-key"));
  });

  test("a user id with `/` cannot reach another user's session object or index", async () => {
    // Object names are <tenant>/<owner>/<session> and <tenant>/<owner>: user "alice" with
    // session "s1" and the index of user "alice/s1" must still be different objects.
    const alice = bearer(userToken({ sub: "alice" }));
    const tricky = bearer(userToken({ sub: "alice/s1" }));
    await turn(gw, { message: "alice's", sessionId: "s1" }, { headers: alice });
    const l = await listSessions(gw, tricky);
    assert.equal(l.status, 200, l.text);
    assert.deepEqual(l.body.sessions, []);
    await turn(gw, { message: "tricky's", sessionId: "x1" }, { headers: tricky });
    assert.deepEqual(await listedIds(gw, tricky), ["x1"]);
    assert.deepEqual(await stored(gw, "s1", alice), [["user", "alice's"], ["assistant", "messages=1"]]);
    assert.ok(!(await listedIds(gw, alice)).includes("x1"));
    // Likewise "alice/s1"'s session "x1" and the index of user "alice/s1/x1".
    assert.deepEqual((await listSessions(gw, bearer(userToken({ sub: "alice/s1/x1" })))).body.sessions, []);
    assert.deepEqual(await stored(gw, "x1", tricky), [["user", "tricky's"], ["assistant", "messages=1"]]);
    // A path id with `/` is no session id: alice cannot reach "alice/s1"'s session "x1" with it.
    for (const route of ["/sessions/s1/x1", "/sessions/s1%2Fx1"]) {
      assert.equal((await request(gw, route, { method: "GET", headers: alice })).status, 404, `GET ${route}`);
      assert.equal((await request(gw, route, { method: "DELETE", headers: alice })).status, 404, `DELETE ${route}`);
    }
    assert.equal((await stored(gw, "x1", tricky)).length, 2, "x1 untouched");
    // Deleting (or expiring) alice's session must not wipe "alice/s1"'s index, nor the reverse.
    assert.equal((await deleteSession(gw, "s1", alice)).status, 200);
    assert.deepEqual(await listedIds(gw, tricky), ["x1"], "tricky's index survived alice's DELETE");
    assert.equal((await deleteSession(gw, "x1", tricky)).status, 200);
    assert.deepEqual(await listedIds(gw, tricky), []);
  });

  test("the routes need a credential with the chat scope", async () => {
    const S = sid("scoped");
    const k = await gw.adminKey({ name: "owner" });
    await turn(gw, { message: "hi", sessionId: S }, { headers: bearer(k.key) });
    const modelsOnly = await gw.adminKey({ name: "models-only", scopes: ["models"] });
    for (const r of [await listSessions(gw), await getSession(gw, S), await deleteSession(gw, S)]) {
      assert.equal(r.status, 401, r.text);
      assert.equal(r.body.error.code, "unauthorized");
      assert.match(r.headers.get("www-authenticate") || "", /^Bearer/i);
    }
    for (const r of [await listSessions(gw, bearer(modelsOnly.key)), await getSession(gw, S, bearer(modelsOnly.key))]) {
      assert.equal(r.status, 403, r.text);
      assert.equal(r.body.error.code, "insufficient_scope");
    }
    assert.equal((await stored(gw, S, bearer(k.key))).length, 2);
  });
});

test("two tenants sharing persisted storage never see each other's sessions", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "gw-sessions-iso-"));
  const start = (tenantId) => startSessionsGateway({
    persistRoot: root,
    tenant: sessionsTenant({ tenantId, aiGatewayId: `${tenantId}-gateway` }),
    scenarios: { "*": { echoCount: true } },
  });
  const S = "shared-session";
  try {
    let gw = await start("acme");
    try {
      await turn(gw, { message: "acme secret", sessionId: S });
      assert.deepEqual(await listedIds(gw), [S]);
    } finally {
      await gw.close();
    }
    gw = await start("globex");
    try {
      assertNotFound(await getSession(gw, S));
      assertNotFound(await deleteSession(gw, S));
      assert.deepEqual(await listedIds(gw), []);
      const r = await turn(gw, { message: "globex question", sessionId: S });
      assert.equal(r.answer.historyMessages, 0);
      assert.deepEqual(sent(gw, r), [["user", "globex question"]]);
      assert.deepEqual(await stored(gw, S), [["user", "globex question"], ["assistant", "messages=1"]]);
    } finally {
      await gw.close();
    }
    gw = await start("acme");
    try {
      assert.deepEqual(await stored(gw, S), [["user", "acme secret"], ["assistant", "messages=1"]], "acme's session survived, unmixed");
      const next = await turn(gw, { message: "acme again", sessionId: S });
      assert.equal(next.said, "messages=3");
    } finally {
      await gw.close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

describe("what is stored when things go wrong", () => {
  const SLOW_TEXT = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty";
  let gw;
  before(async () => {
    gw = await startSessionsGateway({
      tenant: sessionsTenant({
        models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"], tiers: { ok: "@cf/test/ok", midfail: "@cf/test/midfail", slowtok: "@cf/test/slowtok" } },
        limits: { attemptTimeoutMs: 1500 },
      }),
      scenarios: {
        "@cf/test/primary": { error: "3040: Capacity temporarily exceeded" },
        "@cf/test/backup": { error: "3040: Capacity temporarily exceeded" },
        "@cf/test/midfail": { failAfter: 2, text: "alpha beta gamma delta" },
        "@cf/test/slowtok": { tokenDelayMs: 60, text: SLOW_TEXT },
        "*": { text: "fine" },
      },
    });
  });
  after(() => gw?.close());

  const FIRST = [["user", "first"], ["assistant", "fine"]];

  test("a failed call (every model failing, a missing model, a bad request) stores nothing", async () => {
    const S = sid("failed");
    await turn(gw, { message: "first", sessionId: S, modelId: "ok" });
    for (const stream of [false, true]) {
      const r = await chat(gw, { message: "lost", sessionId: S, stream });
      assert.equal(r.status, 502, r.text);
      assert.equal(r.body.error.code, "ai_error");
      assert.equal(gw.aiCallsFor(r.trace)[0].inputs.messages.length, 3, "the history was sent");
    }
    const missing = await chat(gw, { message: "lost", sessionId: S, modelId: "@cf/nope/model" });
    assert.equal(missing.status, 404, missing.text);
    assert.equal(missing.body.error.code, "model_not_found");
    assert.equal((await chat(gw, { message: "lost", sessionId: S, modelId: "ok", temperature: 7 })).status, 400);
    assert.deepEqual(await stored(gw, S), FIRST);
    const F = sid("failed-fresh");
    assert.equal((await chat(gw, { message: "lost", sessionId: F })).status, 502);
    assertNotFound(await getSession(gw, F));
    assert.ok(!(await listedIds(gw)).includes(F), "a session with nothing stored does not exist");
  });

  test("a failure mid-stream stores nothing: the partial answer is not kept", async () => {
    const S = sid("midfail");
    await turn(gw, { message: "first", sessionId: S, modelId: "ok" });
    const r = await chat(gw, { message: "half", sessionId: S, modelId: "midfail", stream: true });
    assert.deepEqual(r.events.map((e) => e.event), ["token", "token", "error", "done"]);
    assert.equal(r.events.at(-1).data.finish, "error");
    await gw.logFor(r.trace);
    assert.deepEqual(await stored(gw, S), FIRST);
    const M = sid("midfail-fresh");
    await chat(gw, { message: "half", sessionId: M, modelId: "midfail", stream: true });
    assertNotFound(await getSession(gw, M));
  });

  test("a client that disconnects mid-stream: the model is read to its end and the whole turn stored", async () => {
    const S = sid("disconnect");
    const trace = traceId("disconnect");
    const ac = new AbortController();
    const res = await fetch(`${gw.url}/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-trace-id": trace },
      body: JSON.stringify({ message: "tell me", sessionId: S, modelId: "slowtok", stream: true }),
      signal: ac.signal,
    });
    const { value } = await res.body.getReader().read();
    assert.match(new TextDecoder().decode(value), /event: token/);
    ac.abort();
    const log = await gw.logFor(trace, 15_000);
    assert.equal(log.clientDisconnected, true);
    const done = await until(async () => (await getSession(gw, S)).body?.messages?.length === 2, 10_000);
    assert.ok(done, "the turn is stored after the model finished");
    const msgs = (await getSession(gw, S)).body.messages;
    assert.deepEqual(msgs.map((m) => [m.role, m.content]), [["user", "tell me"], ["assistant", SLOW_TEXT]]);
    assert.ok(!msgs[1].incomplete, "complete, not marked incomplete");
  });
});

test("the budget reservation counts the history sent", async () => {
  // daily 300: turn 1 reserves 3 + (4 + 200) + 20 = 227 and bills 208 (the stand-in's usage).
  // A session-less "Hi" reserves 3 + 5 + 20 = 28 and fits; the same "Hi" on the session
  // also carries the 800-character turn and its answer: 3 + 204 + 5 + 5 + 20 = 237, refused.
  const gw = await startSessionsGateway({
    tenant: sessionsTenant({ budget: { daily: 300, monthly: 100000, store: "durable-object" } }),
    scenarios: { "*": { text: "ok" } },
  });
  try {
    const S = sid("budget");
    const r1 = await turn(gw, { message: "x".repeat(800), sessionId: S, maxTokens: 20 });
    assert.equal(r1.headers.get("x-budget-remaining-daily"), String(300 - r1.answer.usage.total));
    const plain = await turn(gw, { message: "Hi", maxTokens: 20 });
    assert.ok(plain.answer.usage.total > 0);
    const r = await chat(gw, { message: "Hi", sessionId: S, maxTokens: 20 });
    assert.equal(r.status, 429, r.text);
    assert.equal(r.body.error.code, "budget_exceeded");
    assert.equal(r.body.error.budget.requested, 237, "prompt estimate with the history + maxTokens");
    assert.equal(gw.aiCallsFor(r.trace).length, 0);
    assert.deepEqual(await stored(gw, S), [["user", "x".repeat(800)], ["assistant", "ok"]], "a refused turn stores nothing");
  } finally {
    await gw.close();
  }
});
