// Issue 12, server-side sessions (open mode): multi-turn history the model sees, ids made by
// the gateway, concurrent turns, tool calls in the history, trimming at maxHistoryTokens and
// maxMessages, expiry by alarm, DELETE, the stateless OpenAI surface, sessions switched off.
// Owners, tenants, failures, disconnects and budgets: sessions-isolation.test.mjs.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";
import {
  NEW_ID_RE, SESSION_DOS, sessionsTenant, startSessionsGateway, request, chat, turn, listSessions, getSession,
  deleteSession, stored, listedIds, sent, assertNotFound, estimate, until, sleep, sid,
} from "../support/sessions-kit.mjs";

const ORIGIN = "https://app.acme.example";
const TOOLS = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }];

describe("sessions in open mode", () => {
  let gw;
  before(async () => {
    gw = await startSessionsGateway({
      tenant: sessionsTenant({
        models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"], tiers: { echo: "@cf/test/echo", roles: "@cf/test/roles", tools: "@cf/test/tools", slow: "@cf/test/slow" } },
      }),
      scenarios: {
        "@cf/test/echo": { echoCount: true },
        "@cf/test/roles": { echoCount: "roles" },
        "@cf/test/tools": { text: "", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
        "@cf/test/slow": { tokenDelayMs: 25 },
      },
    });
  });
  after(() => gw?.close());

  test("multi-turn: each turn's model call carries every earlier turn, assistant answers included", async () => {
    const S = sid("conv");
    const t0 = Date.now();
    const r1 = await turn(gw, { message: "one", sessionId: S, modelId: "echo" });
    assert.equal(r1.said, "messages=1");
    assert.equal(r1.answer.sessionId, S);
    assert.equal(r1.answer.historyMessages, 0);
    assert.deepEqual(sent(gw, r1), [["user", "one"]]);

    const r2 = await turn(gw, { message: "two", sessionId: S, modelId: "echo", stream: true });
    assert.equal(r2.said, "messages=3", "the stand-in got the first turn and the new message");
    assert.equal(r2.answer.sessionId, S, "done.sessionId");
    assert.equal(r2.answer.historyMessages, 2, "done.historyMessages");
    assert.deepEqual(sent(gw, r2), [["user", "one"], ["assistant", "messages=1"], ["user", "two"]]);

    const r3 = await turn(gw, { messages: [{ role: "user", content: "three" }], sessionId: S, modelId: "roles" });
    assert.equal(r3.said, "messages=5 roles=user,assistant,user,assistant,user");
    assert.equal(r3.answer.historyMessages, 4);
    assert.deepEqual(sent(gw, r3), [["user", "one"], ["assistant", "messages=1"], ["user", "two"], ["assistant", "messages=3"], ["user", "three"]]);

    const one = await getSession(gw, S);
    assert.equal(one.status, 200, one.text);
    assert.equal(one.body.id, S);
    const expected = [["user", "one"], ["assistant", "messages=1"], ["user", "two"], ["assistant", "messages=3"], ["user", "three"], ["assistant", r3.said]];
    assert.deepEqual(one.body.messages.map((m) => [m.role, m.content]), expected);
    for (const m of one.body.messages) assert.ok(!m.incomplete && !m.toolCalls && !m.toolCallId, JSON.stringify(m));
    const { createdAt, updatedAt } = one.body;
    assert.ok(Number.isInteger(createdAt) && Number.isInteger(updatedAt), "unix ms integers");
    assert.ok(createdAt >= t0 - 5000 && createdAt <= updatedAt && updatedAt <= Date.now() + 5000, `${createdAt}..${updatedAt} in unix ms`);

    const listed = (await listSessions(gw)).body.sessions.find((s) => s.id === S);
    assert.ok(listed, "GET /sessions lists it");
    assert.deepEqual([listed.createdAt, listed.updatedAt, listed.messages], [createdAt, updatedAt, 6]);
    if ("expiresAt" in listed) assert.equal(listed.expiresAt, updatedAt + 30 * 86_400_000, "ttlDays (30) after the last update");
    const content = expected.reduce((n, [, c]) => n + estimate(c), 0);
    assert.ok(listed.tokens >= content && listed.tokens <= content + 4 * 6 + 3, `tokens ${listed.tokens}: the estimate of the stored messages (${content} of content)`);
  });

  test('sessionId "new": an id in the JSON body, x-session-id and the done event; later turns see the history', async () => {
    const r = await turn(gw, { message: "hello", sessionId: "new", modelId: "echo" }, { headers: { origin: ORIGIN } });
    const id = r.answer.sessionId;
    assert.match(id, NEW_ID_RE);
    assert.equal(r.headers.get("x-session-id"), id);
    assert.equal(r.answer.historyMessages, 0);
    assert.match(r.headers.get("access-control-expose-headers") || "", /x-session-id/i, "a browser can read x-session-id");
    assert.equal(gw.aiCallsFor(r.trace)[0].options.gateway.metadata.sessionId, id, "AI Gateway metadata names the real id");

    const s = await turn(gw, { message: "hi", sessionId: "new", modelId: "echo", stream: true });
    assert.match(s.answer.sessionId, NEW_ID_RE);
    assert.equal(s.headers.get("x-session-id"), s.answer.sessionId, "the header of a stream names the done event's id");
    assert.notEqual(s.answer.sessionId, id, "every new session gets its own id");

    const next = await turn(gw, { message: "again", sessionId: id, modelId: "echo" });
    assert.equal(next.said, "messages=3");
    assert.equal(next.answer.historyMessages, 2);
    assert.deepEqual(sent(gw, next), [["user", "hello"], ["assistant", "messages=1"], ["user", "again"]]);
    assert.deepEqual(await stored(gw, s.answer.sessionId), [["user", "hi"], ["assistant", "messages=1"]]);
    const ids = await listedIds(gw);
    assert.ok(ids.includes(id) && ids.includes(s.answer.sessionId), `both listed: ${ids}`);
  });

  test("10 concurrent turns on one session: all 20 messages stored, each question followed by its own answer", async () => {
    const S = sid("conc");
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      turn(gw, { message: `c${i}`, sessionId: S, stream: i % 2 === 0, ...(i % 3 === 0 ? { modelId: "slow" } : {}) })));
    for (const [i, r] of rs.entries()) {
      assert.equal(r.said, `You said: c${i}`);
      const h = r.answer.historyMessages;
      assert.ok(Number.isInteger(h) && h % 2 === 0 && h <= 18, `historyMessages ${h}: whole turns only`);
    }
    const msgs = await stored(gw, S);
    assert.equal(msgs.length, 20, JSON.stringify(msgs));
    for (let i = 0; i < 20; i += 2) {
      assert.equal(msgs[i][0], "user");
      assert.deepEqual(msgs[i + 1], ["assistant", `You said: ${msgs[i][1]}`], `turn ${i / 2} is whole`);
    }
    assert.deepEqual(msgs.filter((_, i) => i % 2 === 0).map(([, c]) => c).sort(), Array.from({ length: 10 }, (_, i) => `c${i}`).sort());
    assert.equal((await listSessions(gw)).body.sessions.find((s) => s.id === S)?.messages, 20);
  });

  const CALL = { id: "call_0", name: "get_weather", arguments: '{"city":"Oslo"}' };
  /** A session whose first turn is a tool call (JSON or streamed); checks what was stored. */
  async function toolTurn(S, stream) {
    const r1 = await turn(gw, { message: "Weather in Oslo?", sessionId: S, modelId: "tools", tools: TOOLS, stream });
    assert.equal(r1.answer.finish, "tool_calls");
    if (!stream) assert.deepEqual(r1.answer.toolCalls, [CALL]);
    const s1 = (await getSession(gw, S)).body.messages;
    assert.equal(s1.length, 2);
    assert.equal(s1[1].role, "assistant");
    assert.ok(s1[1].content === "" || s1[1].content === null, `content ${JSON.stringify(s1[1].content)}`);
    assert.deepEqual(s1[1].toolCalls, [CALL], "the calls are stored with the assistant turn");
  }

  test("tool calls are stored with the assistant turn (JSON and streamed) and sent back on the next turn", async () => {
    for (const stream of [false, true]) {
      const S = sid("tools");
      await toolTurn(S, stream);
      // The client resends nothing but the tool result and a follow-up question.
      const r2 = await turn(gw, { messages: [{ role: "tool", toolCallId: "call_0", content: '{"temp":4}' }, { role: "user", content: "So?" }], sessionId: S, modelId: "roles", tools: TOOLS });
      assert.equal(r2.said, "messages=4 roles=user,assistant,tool,user");
      const [, asst, tool] = gw.aiCallsFor(r2.trace)[0].inputs.messages;
      assert.deepEqual(asst.tool_calls, [{ id: "call_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }]);
      assert.equal(tool.tool_call_id, "call_0");
      const s2 = (await getSession(gw, S)).body.messages;
      assert.deepEqual(s2.map((m) => m.role), ["user", "assistant", "tool", "user", "assistant"]);
      assert.equal(s2[2].toolCallId, "call_0");
      assert.equal(s2[2].content, '{"temp":4}');
    }
  });

  // A request needs a user or a tool message: with the question in the session, the tool
  // results alone are the next turn.
  test("a tool result alone continues a session (the question is in the stored history)", async () => {
    const S = sid("tool-only");
    await toolTurn(S, false);
    const r2 = await turn(gw, { messages: [{ role: "tool", toolCallId: "call_0", content: '{"temp":4}' }], sessionId: S, modelId: "roles", tools: TOOLS });
    assert.equal(r2.said, "messages=3 roles=user,assistant,tool");
    assert.deepEqual((await getSession(gw, S)).body.messages.map((m) => m.role), ["user", "assistant", "tool", "assistant"]);
  });

  test("DELETE /sessions/{id}: gone from GET and the list, a second DELETE is 404, the id starts afresh", async () => {
    const S = sid("del");
    await turn(gw, { message: "to forget", sessionId: S });
    const del = await deleteSession(gw, S);
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.body, { id: S, deleted: true });
    assertNotFound(await getSession(gw, S));
    assert.ok(!(await listedIds(gw)).includes(S));
    assertNotFound(await deleteSession(gw, S));
    assertNotFound(await getSession(gw, sid("never-made")));
    assertNotFound(await deleteSession(gw, sid("never-made")));
    const again = await turn(gw, { message: "fresh", sessionId: S, modelId: "echo" });
    assert.equal(again.answer.historyMessages, 0);
    assert.deepEqual(sent(gw, again), [["user", "fresh"]]);
  });

  test("the OpenAI surface stays stateless: no history sent, nothing stored, no x-session-id", async () => {
    const S = sid("v1");
    await turn(gw, { message: "native turn", sessionId: S });
    const before = await listedIds(gw);
    const body = { model: "echo", messages: [{ role: "user", content: "hi" }], user: S };
    const r = await request(gw, "/v1/chat/completions", { body, headers: { "x-session-id": S } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.choices[0].message.content, "messages=1");
    assert.equal(r.headers.get("x-session-id"), null);
    assert.deepEqual(sent(gw, r), [["user", "hi"]]);
    const streamed = await request(gw, "/v1/chat/completions", { body: { ...body, stream: true }, headers: { "x-session-id": S } });
    assert.equal(streamed.status, 200);
    assert.deepEqual(sent(gw, streamed), [["user", "hi"]]);
    const withField = await request(gw, "/v1/chat/completions", { body: { ...body, sessionId: S } });
    assert.equal(withField.status, 400, withField.text);
    assert.equal(withField.body.error.code, "unsupported_parameter");
    assert.equal(withField.body.error.param, "sessionId");
    assert.deepEqual(await stored(gw, S), [["user", "native turn"], ["assistant", "You said: native turn"]]);
    assert.deepEqual((await listedIds(gw)).sort(), before.sort(), "no session made by /v1");
  });
});

describe("trimming the history sent to the model", () => {
  // Every "long" message is 400 ASCII characters: 100 estimated tokens (+4 per message, +3
  // per call under the prompt-estimate rule). maxHistoryTokens 450 holds 4 such messages
  // but not 5, under either rule; maxMessages 6 binds only for short messages.
  const long = (tag) => `${tag}-`.padEnd(400, "x");
  const SYS = long("sys");
  let gw;
  before(async () => {
    gw = await startSessionsGateway({
      tenant: sessionsTenant({ models: { chat: "@cf/test/primary", fallbacks: [], tiers: { long: "@cf/test/long" } } }, { maxHistoryTokens: 450, maxMessages: 6 }),
      scenarios: { "*": { text: "ok" }, "@cf/test/long": { text: long("answer") } },
    });
  });
  after(() => gw?.close());

  test("maxHistoryTokens: the system message stays, the oldest turns go first, the request's own messages never", async () => {
    const S = sid("trim-tokens");
    const A = long("answer");
    const r1 = await turn(gw, { messages: [{ role: "system", content: SYS }, { role: "user", content: long("u1") }], sessionId: S, modelId: "long" });
    assert.deepEqual(sent(gw, r1), [["system", SYS], ["user", long("u1")]]);
    const r2 = await turn(gw, { message: long("u2"), sessionId: S, modelId: "long" });
    assert.deepEqual(sent(gw, r2), [["system", SYS], ["user", long("u1")], ["assistant", A], ["user", long("u2")]], "4 long messages fit");
    assert.equal(r2.answer.historyMessages, 3);
    const r3 = await turn(gw, { message: long("u3"), sessionId: S, modelId: "long" });
    assert.deepEqual(sent(gw, r3), [["system", SYS], ["user", long("u2")], ["assistant", A], ["user", long("u3")]], "u1 and its answer dropped");
    assert.equal(r3.answer.historyMessages, 3);
    const r4 = await turn(gw, { message: long("u4"), sessionId: S, modelId: "long", stream: true });
    assert.deepEqual(sent(gw, r4), [["system", SYS], ["user", long("u3")], ["assistant", A], ["user", long("u4")]]);
    assert.equal(r4.answer.historyMessages, 3);
    // A request over the limit on its own: sent whole, with the system message, no other history.
    const big = "big-".padEnd(2000, "y");
    const r5 = await turn(gw, { message: big, sessionId: S });
    assert.deepEqual(sent(gw, r5), [["system", SYS], ["user", big]]);
    assert.equal(r5.answer.historyMessages, 1);
    // The session keeps its system message and the newest maxMessages (6) others: older
    // ones could never be sent again.
    const all = await stored(gw, S);
    assert.deepEqual(all.map(([role]) => role), ["system", ...Array(3).fill(["user", "assistant"]).flat()]);
    assert.deepEqual(all.filter(([r]) => r === "user").map(([, c]) => c), [long("u3"), long("u4"), big]);
  });

  test("maxMessages: at most 6 messages go to the model, the system message first, oldest turns dropped", async () => {
    const S = sid("trim-count");
    await turn(gw, { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "m1" }], sessionId: S });
    await turn(gw, { message: "m2", sessionId: S });
    const r3 = await turn(gw, { message: "m3", sessionId: S });
    assert.deepEqual(sent(gw, r3), [["system", "Be brief."], ["user", "m1"], ["assistant", "ok"], ["user", "m2"], ["assistant", "ok"], ["user", "m3"]]);
    assert.equal(r3.answer.historyMessages, 5);
    const r4 = await turn(gw, { message: "m4", sessionId: S, stream: true });
    assert.deepEqual(sent(gw, r4), [["system", "Be brief."], ["user", "m2"], ["assistant", "ok"], ["user", "m3"], ["assistant", "ok"], ["user", "m4"]]);
    assert.equal(r4.answer.historyMessages, 5);
    const r5 = await turn(gw, { message: "m5", sessionId: S });
    assert.deepEqual(sent(gw, r5).map(([, c]) => c), ["Be brief.", "m3", "ok", "m4", "ok", "m5"]);
    assert.equal((await stored(gw, S)).length, 7, "the session keeps its system prompt and the newest maxMessages messages");
  });
});

test("expiry: an alarm deletes a session ttlSeconds after its last update, and the list drops it", async () => {
  const gw = await startSessionsGateway({ tenant: sessionsTenant({}, { ttlSeconds: 3 }), scenarios: { "*": { echoCount: true } } });
  try {
    const [A, B] = [sid("exp-a"), sid("exp-b")];
    const t0 = Date.now();
    await turn(gw, { message: "a", sessionId: A });
    await turn(gw, { message: "b", sessionId: B });
    assert.deepEqual((await listedIds(gw)).filter((id) => id === A || id === B).sort(), [A, B].sort());
    await sleep(t0 + 1500 - Date.now());
    await turn(gw, { message: "b again", sessionId: B }); // B now expires 3 s after this update
    await sleep(t0 + 3300 - Date.now());
    assert.equal((await getSession(gw, B)).status, 200, "B was updated 1.8 s ago: still there");
    const goneA = await until(async () => (await getSession(gw, A)).status === 404, 10_000);
    assert.ok(goneA, "A is deleted after its TTL");
    assertNotFound(await getSession(gw, A));
    assert.ok(!(await listedIds(gw)).includes(A), "the index dropped A");
    assert.ok(await until(async () => (await getSession(gw, B)).status === 404, 10_000), "B expires too");
    assert.ok(!(await listedIds(gw)).includes(B));
    const fresh = await turn(gw, { message: "a again", sessionId: A });
    assert.equal(fresh.said, "messages=1", "an expired id starts an empty session");
    assert.equal(fresh.answer.historyMessages, 0);
  } finally {
    await gw.close();
  }
});

describe("sessions switched off", () => {
  for (const [name, tenant] of [["no sessions table", testTenant()], ["enabled: false", sessionsTenant({}, { enabled: false })]]) {
    test(`${name}: /sessions routes are 404 not_found and sessionId only goes to logs and metadata`, async () => {
      const gw = await startSessionsGateway({ tenant, scenarios: { "*": { echoCount: true } } });
      try {
        assertNotFound(await listSessions(gw), "not_found");
        assertNotFound(await getSession(gw, "s-off"), "not_found");
        assertNotFound(await deleteSession(gw, "s-off"), "not_found");
        for (let i = 0; i < 2; i++) {
          const r = await turn(gw, { message: "hi", sessionId: "s-off" });
          assert.equal(r.said, "messages=1", "no history");
          assert.equal(r.answer.sessionId, "s-off");
          assert.equal(r.answer.historyMessages ?? null, null);
          assert.equal(r.headers.get("x-session-id"), null);
          assert.equal(gw.aiCallsFor(r.trace)[0].options.gateway.metadata.sessionId, "s-off");
        }
        const n = await turn(gw, { message: "hi", sessionId: "new" });
        assert.equal(n.answer.sessionId, "new", '"new" is an ordinary id when sessions are off');
      } finally {
        await gw.close();
      }
    });
  }

  test("sessions on without the SESSIONS binding: /health is 503 and names it", async () => {
    const gw = await startGateway({ tenant: sessionsTenant(), durableObjects: { BUDGET_LEDGER: SESSION_DOS.BUDGET_LEDGER } });
    try {
      const h = await request(gw, "/health", { method: "GET" });
      assert.equal(h.status, 503, h.text);
      assert.ok(h.body.problems.some((p) => p.includes("SESSIONS")), h.text);
      const r = await chat(gw, { message: "hi", sessionId: "s-1" });
      assert.ok(r.status >= 500, `a session request cannot be served: ${r.status}`);
    } finally {
      await gw.close();
    }
  });
});
