// Issue 9, item 1: the fault suite. Every failure knob of the AI stand-in, streamed and not,
// in both Workers AI answer formats, on /chat and /v1/chat/completions, plus fallbacks and
// client disconnects. Every request carries a unique marker in its prompt and gets a unique
// answer text; afterwards EVERY line the gateway wrote is searched for every marker (must be
// 0 hits), client-visible error messages must not carry them either, no failed model may look
// like a success, and every request whose model produced output must log its tokens.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startGateway, testTenant } from "../support/runtime.mjs";

const TIMEOUT_MS = 800;
const rid = () => crypto.randomBytes(6).toString("hex");
let seq = 0;

// [name, scenario, outcome when streamed, outcome as a whole answer, output produced when
// streamed, when whole]. Outcomes: "ok" (must succeed), "fail" (must not look like a
// success), "any" (either; still no leak). Whole answers are streamed from the model too (so
// the output cap holds), so mid-stream knobs end them as well: in the "dead" gateway nothing
// rescues them, and output the model produced before failing is still billed.
const KNOBS = [
  ["success", {}, "ok", "ok", true, true],
  ["no usage", { usage: false }, "ok", "ok", true, true],
  ["tool call", { toolCalls: true }, "ok", "ok", true, true],
  ["cap ignored", { ignoreMaxTokens: true }, "ok", "ok", true, true],
  ["upstream error", { error: "3040: Capacity temporarily exceeded" }, "fail", "fail", false, false],
  ["remote only", { remoteOnly: true }, "fail", "fail", false, false],
  ["unknown model", { unknown: true }, "fail", "fail", false, false],
  ["slow start", { latencyMs: TIMEOUT_MS + 600 }, "fail", "fail", false, false],
  ...["failAfter", "abortAfter", "malformedAfter", "truncateAfter", "hangAfter"].flatMap((k) =>
    [0, 2].map((n) => [`${k} ${n}`, { [k]: n }, "fail", "fail", n > 0, n > 0])),
  ["malformed, split every 5 bytes", { splitBytes: 5, malformedAfter: 2 }, "fail", "fail", true, true],
  ["malformed, as a Response", { asResponse: true, malformedAfter: 2 }, "fail", "fail", true, true],
  ["lone surrogate", { surrogate: true }, "any", "any", true, null],
];
// Failures before the first token that a fallback model answers for.
const FALLBACK_KNOBS = [
  ["upstream error", { error: "3040: Capacity temporarily exceeded" }, true],
  ["slow start", { latencyMs: TIMEOUT_MS + 600 }, true],
  ...["failAfter", "abortAfter", "malformedAfter", "truncateAfter", "hangAfter"].map((k) => [`${k} 0`, { [k]: 0 }, true]),
  // A whole answer that fails after some output falls back too: nothing reached the client.
  ...["failAfter", "abortAfter", "malformedAfter"].map((k) => [`${k} 2, whole`, { [k]: 2 }, "whole only"]),
  ["lone surrogate first", { surrogate: 0 }, true],
];

/** The cases for one surface: [{ name, gwKey, model, stream, scenario, prompt, answer, expect, produces }]. */
function buildCases(surface) {
  const cases = [];
  const add = (c) => {
    const n = ++seq;
    const prompt = `prm${rid()}`, answer = `ans${rid()}`;
    const scenario = { ...c.scenario, format: c.format, text: Array.from({ length: c.pieces ?? 6 }, (_, i) => `${answer}w${i}`).join(" ") };
    if (scenario.toolCalls) {
      const args = { q: `${answer}tool` };
      scenario.toolCalls = c.format === "openai"
        ? [{ index: 0, id: "call_sim", type: "function", function: { name: "lookup", arguments: JSON.stringify(args) } }]
        : [{ name: "lookup", arguments: args }];
    }
    const model = scenario.unknown ? `@cf/nosuch/model-${n}` : `@cf/test/fault-${n}`;
    delete scenario.unknown;
    cases.push({ ...c, surface, model, scenario, prompt, answer, trace: `flt-${surface === "/chat" ? "c" : "v"}-${process.pid}-${n}` });
  };
  for (const format of ["classic", "openai"]) {
    for (const stream of [true, false]) {
      for (const [name, scenario, okS, okW, prodS, prodW] of KNOBS) {
        add({ name, gwKey: "dead", format, stream, scenario, expect: stream ? okS : okW, produces: stream ? prodS : prodW, maxTokens: name === "cap ignored" ? 3 : undefined });
      }
      for (const [name, scenario, whole] of FALLBACK_KNOBS) {
        if (whole === "whole only" ? !stream : stream || whole) add({ name: `fallback after ${name}`, gwKey: "fallback", format, stream, scenario, expect: "ok", produces: true });
      }
    }
    add({ name: "client disconnect", gwKey: "dead", format, stream: true, scenario: { tokenDelayMs: 60 }, pieces: 20, expect: "any", produces: true, disconnect: true });
  }
  return cases;
}

function parseChatSse(text) {
  return text.split("\n\n").filter((b) => b.trim()).map((b) => ({ event: /^event: (.*)$/m.exec(b)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? "null") }));
}

/** Sends one case; returns { outcome: "ok"|"fail"|"gone", errors: [client-visible error objects] }. */
async function send(gw, c) {
  const v1 = c.surface === "/v1";
  const body = v1
    ? { model: c.model, messages: [{ role: "user", content: `Tell me about ${c.prompt}` }], stream: c.stream, ...(c.stream ? { stream_options: { include_usage: true } } : {}), ...(c.maxTokens ? { max_tokens: c.maxTokens } : {}) }
    : { message: `Tell me about ${c.prompt}`, modelId: c.model, stream: c.stream, ...(c.maxTokens ? { maxTokens: c.maxTokens } : {}) };
  const ac = new AbortController();
  const res = await fetch(`${gw.url}${v1 ? "/v1/chat/completions" : "/chat"}`, {
    method: "POST", headers: { "content-type": "application/json", "x-trace-id": c.trace }, body: JSON.stringify(body), signal: ac.signal,
  });
  if (c.disconnect) {
    await res.body.getReader().read();
    ac.abort();
    return { outcome: "gone", errors: [] };
  }
  const text = await res.text();
  const sse = (res.headers.get("content-type") || "").includes("text/event-stream");
  if (!sse) {
    const json = JSON.parse(text);
    return res.status === 200 ? { outcome: "ok", errors: [] } : { outcome: "fail", errors: [json.error] };
  }
  if (!v1) {
    const events = parseChatSse(text);
    const errors = events.filter((e) => e.event === "error").map((e) => e.data);
    const done = events.at(-1)?.event === "done" ? events.at(-1).data : null;
    const ok = done && done.finish !== "error" && errors.length === 0;
    return { outcome: ok ? "ok" : "fail", errors };
  }
  const datas = text.split("\n\n").map((b) => /^data: (.*)$/m.exec(b)?.[1]).filter(Boolean);
  const chunks = datas.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
  const errors = chunks.filter((ch) => ch.error).map((ch) => ch.error);
  const finished = chunks.some((ch) => ch.choices?.some((x) => x.finish_reason));
  return { outcome: datas.includes("[DONE]") && finished && errors.length === 0 ? "ok" : "fail", errors };
}

async function pool(items, size, fn) {
  const out = [];
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

const gws = {};
const suites = { "/chat": buildCases("/chat"), "/v1": buildCases("/v1") };

before(async () => {
  const all = [...suites["/chat"], ...suites["/v1"]];
  const scenarios = (key, base) => Object.fromEntries([...Object.entries(base), ...all.filter((c) => c.gwKey === key && c.model.startsWith("@cf/test/")).map((c) => [c.model, c.scenario])]);
  const limits = { maxRequestBytes: 8192, maxOutputTokens: 256, attemptTimeoutMs: TIMEOUT_MS };
  // "dead": the tenant's own chat model always fails, so a failing model has no way out.
  gws.dead = await startGateway({
    tenant: testTenant({ models: { chat: "@cf/test/dead", fallbacks: [], tiers: {} }, limits }),
    scenarios: scenarios("dead", { "@cf/test/dead": { error: "3040: Capacity temporarily exceeded" } }),
  });
  // "fallback": the tenant's chat model answers (it echoes the prompt) when the first one fails.
  gws.fallback = await startGateway({
    tenant: testTenant({ models: { chat: "@cf/test/rescue", fallbacks: [], tiers: {} }, limits }),
    scenarios: scenarios("fallback", { "@cf/test/rescue": {} }),
  });
});
after(async () => {
  await gws.dead?.close();
  await gws.fallback?.close();
});

async function runSuite(t, surface) {
  const cases = suites[surface];
  const results = await pool(cases, 8, async (c) => {
    const gw = gws[c.gwKey];
    const r = await send(gw, c);
    const log = await gw.logFor(c.trace, 15_000).catch(() => null);
    return { c, ...r, log };
  });
  // Every line either gateway wrote, searched for every prompt and answer marker.
  const lines = [...gws.dead.logs, ...gws.fallback.logs];
  const hits = (marker) => lines.filter((l) => l.includes(marker)).length;
  const leaks = [], clientLeaks = [], falseSuccess = [], unexpectedFailure = [], lostUsage = [], missingLog = [], notDisconnected = [];
  for (const { c, outcome, errors, log } of results) {
    const p = hits(c.prompt), a = hits(c.answer);
    if (p || a) leaks.push(`${c.trace} ${c.name}: ${p} lines with the prompt, ${a} with the answer`);
    const shown = JSON.stringify(errors);
    if (shown.includes(c.answer) || shown.includes(c.prompt)) clientLeaks.push(`${c.trace} ${c.name}: ${shown}`);
    const label = `${c.trace} ${c.name} (${c.scenario.format}, ${c.stream ? "stream" : "whole"})`;
    if (c.expect === "fail" && outcome === "ok") falseSuccess.push(label);
    if (c.expect === "ok" && outcome !== "ok") unexpectedFailure.push(`${label}: ${shown}`);
    if (!log) missingLog.push(label);
    else if (c.produces && !(log.tokens?.completion > 0)) lostUsage.push(`${label}: tokens ${JSON.stringify(log.tokens)}`);
    if (c.disconnect && log && log.clientDisconnected !== true) notDisconnected.push(label);
  }
  const promptLines = results.reduce((n, r) => n + hits(r.c.prompt), 0);
  const answerLines = results.reduce((n, r) => n + hits(r.c.answer), 0);
  console.log(`# fault suite ${surface}: ${cases.length} cases (${cases.filter((c) => c.expect === "fail").length} where the model fails), ` +
    `false successes ${falseSuccess.length}, lost usage ${lostUsage.length}, log lines with prompt text ${promptLines}, ` +
    `with answer text ${answerLines}, client errors with prompt/answer text ${clientLeaks.length}, unexpected failures ${unexpectedFailure.length}`);
  t.diagnostic(`${surface}: ${results.length} cases, ${lines.length} log lines searched`);
  const list = (xs) => `\n  ${xs.slice(0, 20).join("\n  ")}${xs.length > 20 ? `\n  ... ${xs.length - 20} more` : ""}`;
  assert.deepEqual(missingLog, [], `requests without a log line:${list(missingLog)}`);
  assert.deepEqual(leaks, [], `log lines carry prompt or answer text:${list(leaks)}`);
  assert.deepEqual(clientLeaks, [], `client-visible errors carry prompt or answer text:${list(clientLeaks)}`);
  assert.deepEqual(falseSuccess, [], `a failed model looked like a success:${list(falseSuccess)}`);
  assert.deepEqual(lostUsage, [], `the model produced output but the log has no tokens:${list(lostUsage)}`);
  assert.deepEqual(notDisconnected, [], `a client disconnect not logged as such:${list(notDisconnected)}`);
  assert.deepEqual(unexpectedFailure, [], `a request that should have succeeded failed:${list(unexpectedFailure)}`);
}

test("fault suite on /chat: no prompt or answer text in any log line or client error, no false success, no lost usage", async (t) => {
  await runSuite(t, "/chat");
});

test("fault suite on /v1/chat/completions: the same guarantees", async (t) => {
  await runSuite(t, "/v1");
});
