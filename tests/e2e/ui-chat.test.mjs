// POST /ui/chat through the AI SDK's own client code, unchanged, in Node: `DefaultChatTransport`
// (what `useChat` uses to talk to a server), `readUIMessageStream` (chunks -> the assistant
// UIMessage) and `AbstractChat`, the framework-free state machine `useChat` wraps (the `ai`
// package exports no ready `Chat` class without a UI framework; `NodeChat` below gives it the
// plain array state React would hold). The gateway runs in workerd with the AI stand-in.
//
// What is checked: a turn becomes one assistant message with text and a `data-usage` part;
// with sessions on, the chat id is the session and a client that resends its whole history
// (as useChat always does) has every message sent to the model once and stored once; a
// regenerate replaces the answer it redoes; a tool round trip (the stand-in's `toolCalls` on a
// dedicated model: useChat requests carry no tool definitions) continues the same assistant
// message; errors (401 with the native JSON body, a model failing mid-stream) reach the chat's
// error state; without sessions the history is the client's and nothing is stored.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  AbstractChat,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithToolCalls,
  readUIMessageStream,
} from "ai";
import { startGateway, testTenant } from "../support/runtime.mjs";

const ADMIN_TOKEN = "ui-chat-admin-token-0123456789abcdef";
const SESSION_DOS = {
  BUDGET_LEDGER: { className: "BudgetLedger", useSQLite: true },
  SESSIONS: { className: "ChatSession", useSQLite: true },
};
const MODELS = {
  chat: "@cf/test/primary",
  fallbacks: [],
  tiers: { echo: "@cf/test/echo", tool: "@cf/test/tool", midfail: "@cf/test/midfail", slow: "@cf/test/slow" },
};
const SCENARIOS = {
  // No `text`: "You said: <last user message>", or "The tool said: <output>" after a tool result.
  "*": {},
  "@cf/test/echo": { echoCount: "roles" },
  // The model calls get_weather whatever it is sent (useChat sends no tool definitions).
  "@cf/test/tool": { text: "", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
  "@cf/test/midfail": { failAfter: 2 },
  "@cf/test/slow": { tokens: 40, tokenDelayMs: 30 },
};
const STREAM_CHUNK_TYPES = new Set([
  "start", "start-step", "text-start", "text-delta", "text-end", "reasoning-start", "reasoning-delta",
  "reasoning-end", "tool-input-start", "tool-input-delta", "tool-input-available", "finish-step",
  "data-usage", "finish", "error",
]);

let seq = 0;
const trace = (name) => `ui-${name}-${process.pid}-${++seq}`;
const chatId = (name) => `ui-${name}-${process.pid}-${++seq}`;
const user = (id, text) => ({ id, role: "user", parts: [{ type: "text", text }] });

/** Parses `data:` lines of an SSE body (what the client gets) into JSON chunks and "[DONE]". */
function dataLines(text) {
  return text
    .split(/\r?\n\r?\n/)
    .flatMap((block) => block.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()))
    .map((d) => (d === "[DONE]" ? d : JSON.parse(d)));
}

/**
 * A `fetch` for DefaultChatTransport that records every exchange: the request body and trace
 * id, the response status and headers, and (read on a tee of the body, while the client reads
 * the other branch) the raw data lines. `exchanges[i].done` resolves once the body is read.
 */
function recordingFetch() {
  const exchanges = [];
  const fetchFn = async (url, init) => {
    const headers = new Headers(init.headers);
    const ex = { url: String(url), body: JSON.parse(init.body), trace: headers.get("x-trace-id") };
    exchanges.push(ex);
    const res = await fetch(url, init);
    ex.status = res.status;
    ex.headers = res.headers;
    if (!res.body) return res;
    const [mine, theirs] = res.body.tee();
    ex.done = new Response(mine).text().then((t) => {
      ex.text = t;
      ex.chunks = res.ok && (res.headers.get("content-type") ?? "").includes("text/event-stream") ? dataLines(t) : null;
      return ex;
    }, () => ex);
    return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { fetch: fetchFn, exchanges };
}

/** `useChat` without React: AbstractChat over plain arrays, replaced on every change. */
class NodeChat extends AbstractChat {
  constructor(options) {
    const state = {
      status: "ready",
      error: undefined,
      messages: [],
      pushMessage(m) { this.messages = [...this.messages, m]; },
      popMessage() { this.messages = this.messages.slice(0, -1); },
      replaceMessage(i, m) { this.messages = [...this.messages.slice(0, i), m, ...this.messages.slice(i + 1)]; },
      snapshot: (x) => structuredClone(x),
    };
    super({ ...options, state });
  }
}

/**
 * A NodeChat on `gw` with a recording transport: `key` as Authorization: Bearer, a fresh
 * x-trace-id per request, `body` (an object or a function of the chat) as the transport's body.
 */
function makeChat(gw, { key, body = {}, id, ...rest } = {}) {
  const rec = recordingFetch();
  const errors = [];
  const finishes = [];
  const data = [];
  let chat;
  const transport = new DefaultChatTransport({
    api: `${gw.url}/ui/chat`,
    fetch: rec.fetch,
    headers: () => ({ ...(key ? { authorization: `Bearer ${key}` } : {}), "x-trace-id": trace("chat") }),
    body: () => (typeof body === "function" ? body(chat) : body),
  });
  chat = new NodeChat({
    id,
    transport,
    onError: (e) => errors.push(e),
    onFinish: (f) => finishes.push(f),
    onData: (d) => data.push(d),
    ...rest,
  });
  return { chat, exchanges: rec.exchanges, errors, finishes, data };
}

const textOf = (m) => m.parts.filter((p) => p.type === "text").map((p) => p.text).join("");
const usageParts = (m) => m.parts.filter((p) => p.type === "data-usage");

/** Checks a finished stream's chunk sequence: the documented parts, in order, ending in [DONE]. */
function assertWellFormed(chunks, { finish = "stop", messageId } = {}) {
  assert.ok(chunks, "the answer was a stream");
  assert.equal(chunks.at(-1), "[DONE]");
  const parts = chunks.slice(0, -1);
  for (const c of parts) assert.ok(STREAM_CHUNK_TYPES.has(c.type), `unexpected chunk ${JSON.stringify(c)}`);
  assert.equal(parts[0].type, "start");
  if (messageId !== undefined) assert.equal(parts[0].messageId, messageId);
  assert.equal(parts[1].type, "start-step");
  assert.deepEqual(parts.slice(-3).map((c) => c.type), ["finish-step", "data-usage", "finish"]);
  assert.equal(parts.at(-1).finishReason, finish);
  // Every text run is opened before its deltas and closed before the step ends.
  const open = new Set();
  for (const c of parts) {
    if (c.type === "text-start") open.add(c.id);
    if (c.type === "text-delta") assert.ok(open.has(c.id), `text-delta before text-start: ${c.id}`);
    if (c.type === "text-end") open.delete(c.id);
    if (c.type === "finish-step") assert.equal(open.size, 0, "text runs closed before finish-step");
  }
}

function assertUsage(part, model) {
  assert.ok(part, "a data-usage part");
  const d = part.data;
  assert.equal(d.model, model);
  assert.equal(d.fallback, false);
  assert.ok(d.usage.prompt > 0 && d.usage.total > 0 && d.usage.total === d.usage.prompt + d.usage.completion, JSON.stringify(d.usage));
  assert.equal(typeof d.usage.estimated, "boolean");
  assert.match(d.traceId, /^ui-/);
  assert.ok(Number.isInteger(d.latencyMs) && d.latencyMs >= 0, JSON.stringify(d));
}

let gw, plain, key;
const auth = () => ({ authorization: `Bearer ${key}` });
async function getJson(g, path, headers = {}) {
  const res = await fetch(`${g.url}${path}`, { headers });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body, text };
}
/** The stored session as [role, content] pairs (tool calls as "call:<name>"). */
async function storedSession(id) {
  const r = await getJson(gw, `/sessions/${encodeURIComponent(id)}`, auth());
  assert.equal(r.status, 200, r.text);
  return r.body.messages.map((m) => [m.role, m.toolCalls?.length ? `${m.content}|call:${m.toolCalls.map((c) => c.name).join(",")}` : m.content]);
}
/** The messages the stand-in got for the request with trace id `t`, as "role:content". */
function modelSaw(g, t) {
  const calls = g.aiCallsFor(t);
  assert.equal(calls.length, 1, `one model call for ${t}`);
  return calls[0].inputs.messages.map((m) => `${m.role}:${typeof m.content === "string" ? m.content : JSON.stringify(m.content)}`);
}

before(async () => {
  [gw, plain] = await Promise.all([
    startGateway({
      tenant: testTenant({
        tenantId: "ui-chat",
        models: MODELS,
        auth: { mode: "api-keys" },
        limits: { maxRequestBytes: 32768, maxOutputTokens: 256, attemptTimeoutMs: 3000 },
        sessions: { enabled: true },
      }),
      vars: { ADMIN_TOKEN },
      durableObjects: SESSION_DOS,
      scenarios: SCENARIOS,
    }),
    // No `sessions` table: the client keeps the conversation.
    startGateway({
      tenant: testTenant({ tenantId: "ui-chat-plain", models: MODELS, limits: { maxRequestBytes: 32768, maxOutputTokens: 256, attemptTimeoutMs: 3000 } }),
      durableObjects: SESSION_DOS,
      scenarios: SCENARIOS,
    }),
  ]);
  key = (await gw.adminKey({ name: "ui-chat" })).key;
});
after(async () => {
  await Promise.all([gw?.close(), plain?.close()]);
});

describe("DefaultChatTransport + readUIMessageStream", () => {
  test("one turn: the transport's body goes out as useChat sends it; the stream builds one assistant message with text and data-usage", async () => {
    const rec = recordingFetch();
    const t = trace("one");
    const transport = new DefaultChatTransport({
      api: `${gw.url}/ui/chat`,
      fetch: rec.fetch,
      headers: { authorization: `Bearer ${key}`, "x-trace-id": t },
      body: { maxTokens: 40, temperature: 0.25 },
    });
    const id = chatId("one");
    const stream = await transport.sendMessages({
      chatId: id, trigger: "submit-message", messageId: undefined, abortSignal: undefined,
      messages: [user("u1", "Hello there")],
    });
    const snapshots = [];
    const errors = [];
    for await (const m of readUIMessageStream({ stream, terminateOnError: true, onError: (e) => errors.push(e) })) snapshots.push(m);
    assert.deepEqual(errors, []);
    const ex = await rec.exchanges[0].done;
    assert.deepEqual(ex.body, { maxTokens: 40, temperature: 0.25, id, messages: [user("u1", "Hello there")], trigger: "submit-message" });
    assert.equal(ex.status, 200);
    assert.equal(ex.headers.get("x-vercel-ai-ui-message-stream"), "v1");
    assert.match(ex.headers.get("content-type"), /^text\/event-stream/);
    assert.equal(ex.headers.get("x-session-id"), id, "the chat id is the session");

    const last = snapshots.at(-1);
    assert.ok(snapshots.length > 3, "the message grows chunk by chunk");
    assert.ok(snapshots.every((m) => m.id === last.id), "every snapshot is the same message");
    assert.match(last.id, /^msg-/);
    assertWellFormed(ex.chunks, { messageId: last.id });
    assert.equal(last.role, "assistant");
    assert.deepEqual(last.parts.map((p) => p.type), ["step-start", "text", "data-usage"]);
    assert.equal(textOf(last), "You said: Hello there");
    assert.equal(last.parts[1].state, "done");
    assertUsage(last.parts[2], "@cf/test/primary");
    assert.equal(last.parts[2].data.traceId, t);
    const [call] = gw.aiCallsFor(t);
    assert.equal(call.inputs.max_tokens, 40, "maxTokens from the transport body");
    assert.equal(call.inputs.temperature, 0.25, "temperature from the transport body");
  });
});

describe("AbstractChat (useChat's state machine), sessions on", () => {
  test("three turns, whole history resent each time: the model sees every message once, the session holds the conversation once", async () => {
    const { chat, exchanges, errors, data } = makeChat(gw, { key, id: chatId("talk"), body: { model: "echo" } });
    const turns = ["My name is Ada.", "What is my name?", "And what did I ask first?"];
    for (const [i, q] of turns.entries()) {
      await chat.sendMessage({ text: q });
      assert.equal(chat.status, "ready", String(chat.error));
      const ex = await exchanges[i].done;
      assert.equal(ex.body.messages.length, 2 * i + 1, "useChat resends the whole history");
      assert.equal(ex.body.trigger, "submit-message");
      assert.equal("messageId" in ex.body, false);
      const roles = ex.body.messages.map((m) => m.role).join(",");
      const answer = chat.messages.at(-1);
      assert.equal(textOf(answer), `messages=${2 * i + 1} roles=${roles}`, `turn ${i + 1}: each message once`);
      assertWellFormed(ex.chunks, { messageId: answer.id });
      assert.equal(ex.headers.get("x-session-id"), chat.id);
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(chat.messages.map((m) => m.role), ["user", "assistant", "user", "assistant", "user", "assistant"]);
    assert.equal(new Set(chat.messages.map((m) => m.id)).size, 6, "no message twice");
    assert.equal(data.filter((d) => d.type === "data-usage").length, 3, "onData got each turn's usage");
    assertUsage(usageParts(chat.messages.at(-1))[0], "@cf/test/echo");

    const stored = await storedSession(chat.id);
    assert.deepEqual(stored, chat.messages.map((m) => [m.role, textOf(m)]), "the session holds the conversation once");
    const listed = await getJson(gw, "/sessions", auth());
    assert.deepEqual(listed.body.sessions.filter((s) => s.id === chat.id).map((s) => s.messages), [6]);
  });

  test("a resend that adds nothing is refused (400, native body), and nothing changes in the session", async () => {
    const { chat } = makeChat(gw, { key, id: chatId("resend"), body: { model: "echo" } });
    await chat.sendMessage({ text: "Hi" });
    assert.equal(chat.status, "ready", String(chat.error));
    const t = trace("resend");
    const res = await fetch(`${gw.url}/ui/chat`, {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json", "x-trace-id": t },
      body: JSON.stringify({ id: chat.id, trigger: "submit-message", messages: chat.messages, model: "echo" }),
    });
    const body = await res.json();
    assert.equal(res.status, 400);
    assert.equal(body.error.code, "invalid_request");
    assert.equal(body.error.field, "messages");
    assert.match(body.error.message, /already holds every message/);
    assert.equal(gw.aiCallsFor(t).length, 0, "the model is not called");
    assert.equal((await storedSession(chat.id)).length, 2);
  });

  test("regenerate replaces the last answer: same message count in the chat and in the session, the old answer is gone", async () => {
    const { chat, exchanges } = makeChat(gw, { key, id: chatId("regen"), body: { model: "echo" } });
    await chat.sendMessage({ text: "First question" });
    await chat.sendMessage({ text: "Second question" });
    const before = chat.messages.map((m) => m.id);
    // Regenerate with the tenant's default model, so the new answer differs from the old one.
    await chat.regenerate({ body: { model: "" } });
    assert.equal(chat.status, "ready", String(chat.error));
    const ex = await exchanges[2].done;
    assert.equal(ex.body.trigger, "regenerate-message");
    assert.deepEqual(ex.body.messages.map((m) => m.id), before.slice(0, 3), "the answer being redone is not sent");
    assert.equal(chat.messages.length, 4);
    assert.deepEqual(chat.messages.slice(0, 3).map((m) => m.id), before.slice(0, 3));
    assert.notEqual(chat.messages[3].id, before[3], "a new assistant message");
    assert.equal(textOf(chat.messages[3]), "You said: Second question");
    assert.deepEqual(modelSaw(gw, ex.trace), ["user:First question", "assistant:messages=1 roles=user", "user:Second question"]);

    const stored = await storedSession(chat.id);
    assert.equal(stored.length, 4, "the session's message count is unchanged");
    assert.deepEqual(stored[3], ["assistant", "You said: Second question"]);
    // The next turn's model call holds the new answer, not the old one.
    await chat.sendMessage({ text: "Third" });
    assert.equal(textOf(chat.messages.at(-1)), "messages=5 roles=user,assistant,user,assistant,user");
    assert.deepEqual(modelSaw(gw, exchanges[3].trace).slice(3, 4), ["assistant:You said: Second question"]);
  });

  test("retry after a mid-stream failure (regenerate(), useChat's retry): the failed answer is redone, nothing doubles", async () => {
    let model = "echo";
    const { chat, exchanges } = makeChat(gw, { key, id: chatId("retry"), body: () => ({ model }) });
    await chat.sendMessage({ text: "One" });
    model = "midfail";
    await chat.sendMessage({ text: "Two" });
    assert.equal(chat.status, "error");
    assert.equal((await storedSession(chat.id)).length, 2, "the failed turn is not stored");
    model = "echo";
    await chat.regenerate();
    assert.equal(chat.status, "ready", String(chat.error));
    const ex = await exchanges[2].done;
    assert.equal(ex.body.trigger, "regenerate-message");
    assert.deepEqual(modelSaw(gw, ex.trace), ["user:One", "assistant:messages=1 roles=user", "user:Two"]);
    assert.deepEqual(chat.messages.map((m) => m.role), ["user", "assistant", "user", "assistant"]);
    assert.equal(textOf(chat.messages[3]), "messages=3 roles=user,assistant,user");
    assert.deepEqual((await storedSession(chat.id)).map(([r]) => r), ["user", "assistant", "user", "assistant"]);
  });

  test("regenerate({messageId}) of an earlier answer: the model gets the history up to that answer only", async () => {
    const { chat, exchanges } = makeChat(gw, { key, id: chatId("regen-early"), body: { model: "echo" } });
    await chat.sendMessage({ text: "One" });
    await chat.sendMessage({ text: "Two" });
    const first = chat.messages[1].id;
    await chat.regenerate({ messageId: first });
    assert.equal(chat.status, "ready", String(chat.error));
    const ex = await exchanges[2].done;
    assert.equal(ex.body.messageId, first);
    assert.equal(ex.body.messages.length, 1, "useChat sends the history before that answer");
    assert.equal(chat.messages.length, 2);
    assert.deepEqual(modelSaw(gw, ex.trace), ["user:One"], "the model is asked the first question again");
    assert.equal(textOf(chat.messages[1]), "messages=1 roles=user");
    assert.deepEqual(await storedSession(chat.id), [["user", "One"], ["assistant", "messages=1 roles=user"]]);
  });

  test("editing a user message (sendMessage with messageId): the model gets the edited text and not the turns after it", async () => {
    const { chat, exchanges } = makeChat(gw, { key, id: chatId("edit"), body: { model: "echo" } });
    await chat.sendMessage({ text: "One" });
    await chat.sendMessage({ text: "Two" });
    const second = chat.messages[2].id;
    await chat.sendMessage({ text: "Two, edited", messageId: second });
    assert.equal(chat.status, "ready", String(chat.error));
    const ex = await exchanges[2].done;
    assert.equal(ex.body.messageId, second);
    assert.deepEqual(ex.body.messages.map((m) => textOf(m)), ["One", "messages=1 roles=user", "Two, edited"]);
    assert.deepEqual(modelSaw(gw, ex.trace), ["user:One", "assistant:messages=1 roles=user", "user:Two, edited"]);
    assert.equal(chat.messages.length, 4);
    assert.deepEqual((await storedSession(chat.id)).map(([r, c]) => `${r}:${c}`), [
      "user:One", "assistant:messages=1 roles=user", "user:Two, edited", "assistant:messages=3 roles=user,assistant,user",
    ]);
  });

  test("tool round trip: input-available, the client adds the output, useChat resubmits, the same assistant message continues with text; the next turn sends it once", async () => {
    const toolCalls = [];
    const { chat, exchanges, errors } = makeChat(gw, {
      key,
      id: chatId("tool"),
      // The tool model only for a new question; the resubmit (and later turns) get the echo or default model.
      body: (c) => ({ model: c.lastMessage?.role === "user" ? (c.messages.length === 1 ? "tool" : "echo") : "" }),
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
      onToolCall: ({ toolCall }) => {
        toolCalls.push(toolCall);
        // As the AI SDK docs do it: not awaited inside onToolCall.
        chat.addToolOutput({ tool: toolCall.toolName, toolCallId: toolCall.toolCallId, output: { city: toolCall.input.city, temp: 4 } });
      },
    });
    // `chat` is assigned by makeChat's return; onToolCall runs later.
    await chat.sendMessage({ text: "Weather in Oslo?" });
    assert.equal(chat.status, "ready", String(chat.error));
    assert.deepEqual(errors, []);
    assert.equal(exchanges.length, 2, "one request, then the automatic resubmit");
    const [first, second] = await Promise.all(exchanges.map((e) => e.done));

    assert.equal(toolCalls.length, 1);
    assert.equal(toolCalls[0].toolName, "get_weather");
    assert.deepEqual(toolCalls[0].input, { city: "Oslo" });
    assertWellFormed(first.chunks, { finish: "tool-calls" });
    const a1 = first.chunks[0].messageId;
    assert.deepEqual(first.chunks.filter((c) => c.type?.startsWith("tool-")).map((c) => c.type), ["tool-input-start", "tool-input-delta", "tool-input-available"]);

    // The resubmit: the same chat, the assistant message with the tool output, messageId = a1.
    assert.equal(second.body.trigger, "submit-message");
    assert.equal(second.body.messageId, a1);
    assert.deepEqual(second.body.messages.map((m) => [m.role, m.id]), [["user", first.body.messages[0].id], ["assistant", a1]]);
    const sentTool = second.body.messages[1].parts.find((p) => p.type === "tool-get_weather");
    assert.equal(sentTool.state, "output-available");
    assertWellFormed(second.chunks, { messageId: a1 });
    assert.deepEqual(modelSaw(gw, second.trace).map((s) => s.split(":")[0]), ["user", "assistant", "tool"]);

    // One assistant message, holding both steps.
    assert.deepEqual(chat.messages.map((m) => [m.role, m.id === a1]), [["user", false], ["assistant", true]]);
    const a = chat.messages[1];
    assert.deepEqual(a.parts.map((p) => p.type), ["step-start", "tool-get_weather", "data-usage", "step-start", "text", "data-usage"]);
    const tool = a.parts[1];
    assert.equal(tool.state, "output-available");
    assert.deepEqual(tool.input, { city: "Oslo" });
    assert.deepEqual(tool.output, { city: "Oslo", temp: 4 });
    assert.equal(textOf(a), 'The tool said: {"city":"Oslo","temp":4}');
    assertUsage(usageParts(a)[0], "@cf/test/tool");
    assertUsage(usageParts(a)[1], "@cf/test/primary");

    // Stored once: the question, the call, its output, the answer.
    assert.deepEqual(await storedSession(chat.id), [
      ["user", "Weather in Oslo?"],
      ["assistant", "|call:get_weather"],
      ["tool", '{"city":"Oslo","temp":4}'],
      ["assistant", 'The tool said: {"city":"Oslo","temp":4}'],
    ]);
    // The next turn resends all of it; the model gets each message once.
    await chat.sendMessage({ text: "Thanks" });
    assert.equal(chat.status, "ready", String(chat.error));
    assert.equal(textOf(chat.messages.at(-1)), "messages=5 roles=user,assistant,tool,assistant,user");
    assert.equal((await storedSession(chat.id)).length, 6);
  });

  test("stop() mid-stream: the chat keeps the partial answer, the session the whole one; the next turn sends neither twice", async () => {
    let model = "slow";
    const { chat, exchanges } = makeChat(gw, { key, id: chatId("stop"), body: () => ({ model }) });
    const sending = chat.sendMessage({ text: "Count slowly" });
    for (let i = 0; i < 100 && !(chat.status === "streaming" && textOf(chat.messages.at(-1) ?? { parts: [] }).length > 0); i++) await new Promise((r) => setTimeout(r, 20));
    await chat.stop();
    await sending;
    assert.equal(chat.status, "ready", "a stop is not an error");
    const partial = textOf(chat.messages[1]);
    assert.ok(partial.length > 0 && partial.split(" ").length < 40, partial);
    // The gateway reads the model to the end and stores the whole turn (docs/sessions.md).
    let stored = [];
    for (let i = 0; i < 100 && stored.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await getJson(gw, `/sessions/${chat.id}`, auth());
      if (r.status === 200) stored = r.body.messages;
    }
    assert.equal(stored.length, 2, "the stopped turn is stored");
    assert.equal(stored[1].content.split(" ").length, 40);
    model = "echo";
    await chat.sendMessage({ text: "Still there?" });
    assert.equal(chat.status, "ready", String(chat.error));
    assert.equal(textOf(chat.messages.at(-1)), "messages=3 roles=user,assistant,user");
    assert.equal(modelSaw(gw, exchanges[1].trace)[1].split(" ").length, 40, "the model gets the stored (whole) answer");
    assert.equal((await storedSession(chat.id)).length, 4);
  });

  test("a wrong key: the transport throws the 401's native JSON body, the chat is in its error state", async () => {
    const rec = recordingFetch();
    const transport = new DefaultChatTransport({ api: `${gw.url}/ui/chat`, fetch: rec.fetch, headers: { authorization: `Bearer gwk_000000000000_${"A".repeat(43)}` } });
    const err = await transport.sendMessages({ chatId: chatId("badkey"), trigger: "submit-message", messageId: undefined, abortSignal: undefined, messages: [user("u1", "Hi")] }).then(() => null, (e) => e);
    assert.ok(err instanceof Error, "sendMessages rejects");
    assert.equal(rec.exchanges[0].status, 401);
    const body = JSON.parse(err.message);
    assert.equal(body.error.code, "unauthorized");
    assert.match(body.error.message, /API key or end-user token/);
    assert.match(body.error.traceId, /./);

    for (const k of [`gwk_000000000000_${"B".repeat(43)}`, undefined]) {
      const { chat, exchanges, errors, finishes } = makeChat(gw, { key: k, id: chatId("badkey-chat") });
      await chat.sendMessage({ text: "Hi" });
      assert.equal(chat.status, "error");
      assert.equal(exchanges[0].status, 401);
      assert.equal(JSON.parse(chat.error.message).error.code, "unauthorized");
      assert.equal(errors.length, 1);
      assert.deepEqual(chat.messages.map((m) => m.role), ["user"], "no assistant message");
      assert.equal(finishes.length, 1);
      assert.equal(finishes[0].isError, true);
    }
  });

  test("a model failing mid-stream: an error chunk, no finish; the chat keeps the partial text and is in its error state; nothing is stored", async () => {
    const { chat, exchanges, errors, finishes } = makeChat(gw, { key, id: chatId("midfail"), body: { model: "midfail" } });
    await chat.sendMessage({ text: "Please fail" });
    const ex = await exchanges[0].done;
    assert.equal(ex.status, 200);
    const parts = ex.chunks.slice(0, -1);
    assert.equal(ex.chunks.at(-1), "[DONE]");
    assert.equal(parts.at(-1).type, "error");
    assert.match(parts.at(-1).errorText, /\S/);
    assert.ok(!parts.some((c) => c.type === "finish" || c.type === "data-usage"), "no finish after an error");
    assert.equal(chat.status, "error");
    assert.equal(chat.error.message, parts.at(-1).errorText);
    assert.equal(errors.length, 1);
    assert.equal(finishes[0].isError, true);
    assert.equal(finishes[0].finishReason, undefined);
    assert.deepEqual(chat.messages.map((m) => m.role), ["user", "assistant"]);
    assert.equal(textOf(chat.messages[1]), "You said:");
    const r = await getJson(gw, `/sessions/${chat.id}`, auth());
    assert.equal(r.status, 404, "the failed turn is not stored");
    assert.equal(r.body.error.code, "session_not_found");
  });
});

describe("AbstractChat, a tenant without sessions", () => {
  test("the whole history goes to the model each turn, nothing is stored", async () => {
    const { chat, exchanges } = makeChat(plain, { id: chatId("plain"), body: { model: "echo" } });
    for (const [i, q] of ["First", "Second", "Third"].entries()) {
      await chat.sendMessage({ text: q });
      assert.equal(chat.status, "ready", String(chat.error));
      const ex = await exchanges[i].done;
      assert.equal(ex.headers.get("x-session-id"), null, "no session");
      assertWellFormed(ex.chunks, { messageId: chat.messages.at(-1).id });
      assert.equal(textOf(chat.messages.at(-1)), `messages=${2 * i + 1} roles=${ex.body.messages.map((m) => m.role).join(",")}`);
    }
    assert.equal(chat.messages.length, 6);
    for (const path of ["/sessions", `/sessions/${chat.id}`]) {
      const r = await getJson(plain, path);
      assert.equal(r.status, 404, `${path}: ${r.text}`);
    }
  });

  test("a tool round trip without sessions continues the same assistant message too", async () => {
    let chat;
    ({ chat } = makeChat(plain, {
      id: chatId("plain-tool"),
      body: (c) => ({ model: c.lastMessage?.role === "user" ? "tool" : "" }),
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
      onToolCall: ({ toolCall }) => { chat.addToolOutput({ tool: toolCall.toolName, toolCallId: toolCall.toolCallId, output: "sunny" }); },
    }));
    await chat.sendMessage({ text: "Weather?" });
    assert.equal(chat.status, "ready", String(chat.error));
    assert.deepEqual(chat.messages.map((m) => m.role), ["user", "assistant"]);
    assert.equal(chat.messages[1].parts.find((p) => p.type === "tool-get_weather").state, "output-available");
    assert.equal(textOf(chat.messages[1]), "The tool said: sunny");
  });
});
