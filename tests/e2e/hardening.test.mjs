// Issue 9 (hardening), items 2-7; item 1, the fault suite, is tests/e2e/faults.test.mjs.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { startGateway, testTenant } from "../support/runtime.mjs";

const JSON_HEADERS = { "content-type": "application/json" };
let seq = 0;
const traceId = (n) => `hard-${n}-${process.pid}-${++seq}`;

async function chat(gw, body, { headers = {}, trace = traceId("chat") } = {}) {
  const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { ...JSON_HEADERS, "x-trace-id": trace, ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  const sse = (res.headers.get("content-type") || "").includes("event-stream");
  const events = sse ? parseSse(text) : null;
  return { res, status: res.status, trace, body: sse ? null : JSON.parse(text), events };
}

function parseSse(text) {
  return text.split("\n\n").filter((b) => b.trim()).map((b) => ({ event: /^event: (.*)$/m.exec(b)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? "null") }));
}

const until = async (fn, ms = 8000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe("2. a model that ignores max_tokens cannot push a tenant over its budget", () => {
  // 400 pieces of "ab" (one token each, by the model's count and by any estimate), whatever
  // max_tokens says.
  const RUNAWAY = { "*": { ignoreMaxTokens: true, text: Array(400).fill("ab").join(" ") } };
  const tenant = (daily) => testTenant({ budget: { daily, monthly: daily * 100 }, limits: { maxOutputTokens: 16 } });

  test("streams stop at the reserved output cap with finish length; the ledger stays within the limit and equals reported usage", async () => {
    const LIMIT = 200;
    const gw = await startGateway({ tenant: tenant(LIMIT), scenarios: RUNAWAY });
    try {
      const seen = [];
      let refused = null;
      for (let i = 0; i < 40 && !refused; i++) {
        const before = (await gw.ledger("acme")).day_used;
        const r = await chat(gw, { message: "Tell me everything", maxTokens: 10, stream: true });
        if (r.status === 429) refused = r;
        else {
          assert.equal(r.status, 200, JSON.stringify(r.body));
          const done = r.events.at(-1).data;
          const reserved = LIMIT - before - Number(r.res.headers.get("x-budget-remaining-daily"));
          seen.push({ finish: done.finish, completion: done.usage.completion, total: done.usage.total, reserved });
          await until(async () => (await gw.ledger("acme")).day_used === before + done.usage.total);
          seen.at(-1).ledger = (await gw.ledger("acme")).day_used;
        }
      }
      const ledger = await gw.ledger("acme");
      const reported = seen.reduce((n, s) => n + s.total, 0);
      const overshoot = Math.max(0, ...seen.map((s) => s.completion - 10));
      console.log(`# overshoot, streams from a model that ignores max_tokens: ${seen.length} admitted, ledger ${ledger.day_used}/${LIMIT}, ` +
        `reported ${reported}, worst completion over maxTokens 10: ${overshoot}, finishes ${[...new Set(seen.map((s) => s.finish))]}`);
      for (const s of seen) {
        assert.equal(s.finish, "length", `the stream must stop at the output cap: ${JSON.stringify(s)}`);
        assert.ok(s.completion <= 10, `completion ${s.completion} over maxTokens 10`);
        assert.ok(s.total <= s.reserved, `billed ${s.total} > reserved ${s.reserved}: the reservation is a hard ceiling`);
        assert.ok(s.ledger <= LIMIT, `ledger ${s.ledger} > limit ${LIMIT}`);
      }
      assert.ok(refused, "the budget refuses once it is spent");
      assert.equal(refused.body.error.code, "budget_exceeded");
      assert.ok(seen.length >= 5, `only ${seen.length} streams fit in ${LIMIT} tokens`);
      assert.equal(ledger.day_used, reported, "ledger total = the usage the streams reported");
      assert.ok(ledger.day_used <= LIMIT);
      assert.deepEqual(ledger.reservations, []);
    } finally {
      await gw.close();
    }
  });

  test("whole answers are cut at the output cap too: the ledger never passes the limit", async () => {
    const LIMIT = 300;
    const gw = await startGateway({ tenant: tenant(LIMIT), scenarios: RUNAWAY });
    try {
      const r = await chat(gw, { message: "Tell me everything", maxTokens: 10 });
      assert.equal(r.status, 200);
      assert.equal(r.body.finish, "length", "cut at the cap, not the model's 400 tokens");
      assert.ok(r.body.usage.completion <= 10, `completion ${r.body.usage.completion} over maxTokens 10`);
      assert.equal(r.body.usage.estimated, true, "the kept part is counted, the model's own count covered more");
      const ledger = await until(async () => { const l = await gw.ledger("acme"); return l.day_used === r.body.usage.total && l; });
      assert.ok(ledger, "the ledger holds what was billed");
      assert.equal((await gw.logFor(r.trace)).tokens.total, r.body.usage.total);
      // Spend the rest: every admitted answer fits its reservation, and the ledger never passes the limit.
      let refused = null;
      for (let i = 0; i < 60 && !refused; i++) {
        const next = await chat(gw, { message: "Tell me everything", maxTokens: 10 });
        if (next.status === 429) refused = next;
        else assert.ok(next.body.usage.completion <= 10);
      }
      assert.ok(refused, "refused once spent");
      assert.equal(refused.body.error.code, "budget_exceeded");
      assert.equal(gw.aiCallsFor(refused.trace).length, 0);
      const final = await until(async () => { const l = await gw.ledger("acme"); return l.reservations.length === 0 && l; });
      assert.ok(final.day_used <= LIMIT, `ledger ${final.day_used} > limit ${LIMIT}`);
    } finally {
      await gw.close();
    }
  });
});

describe("5. backpressure: the gateway pulls from the model only as fast as the client reads", () => {
  // 5000 pieces of 600 characters padded with U+0001: 150 estimated tokens each (750k in all,
  // under the 1M maxOutputTokens ceiling), but ~3.6 KB each on the wire once JSON-escaped, ~18 MB
  // in all. The padding is there because loopback TCP alone buffers ~4 MB (Linux tcp_wmem max)
  // between the gateway and a client that stopped reading. Measured with JS relays in workerd
  // and this stand-in (no Rust build existed to measure): a relay that pipes the model's stream
  // (bounded) had 947 pieces produced while the client was paused, steady after 250 ms; one that
  // reads eagerly into a queue (unbounded, what issue 9 found) had all 5000 within 250 ms.
  const N = 5000, THRESHOLD = 2500, PAUSE_MS = 3000;
  const SCENARIO = { "*": { tokens: N, pieceBytes: 600, pad: "\u0001" } };
  const piece = (i) => `${i ? " " : ""}tok${i}`.padEnd(600, "\u0001");
  const tenant = testTenant({ limits: { maxOutputTokens: 1_000_000, attemptTimeoutMs: 2000 } });

  /** POSTs a streaming /chat with a raw http client, pauses reading for `pauseMs`, then `then(res, req)`. */
  function pausedRequest(gw, trace, pauseMs, then) {
    return new Promise((resolve, reject) => {
      const req = http.request(`${gw.url}/chat`, { method: "POST", headers: { ...JSON_HEADERS, "x-trace-id": trace } }, (res) => {
        res.pause();
        setTimeout(() => then(res, req, resolve), pauseMs);
      });
      req.on("error", (e) => (e.code === "ECONNRESET" ? resolve(null) : reject(e)));
      req.end(JSON.stringify({ message: "Count to five thousand", stream: true }));
    });
  }

  test(`a client paused for ${PAUSE_MS} ms holds the model back (< ${THRESHOLD} of ${N} pieces); resumed, it gets the whole stream`, async () => {
    const gw = await startGateway({ tenant, scenarios: SCENARIO });
    try {
      const trace = traceId("paused");
      const r = await pausedRequest(gw, trace, PAUSE_MS, (res, _req, resolve) => {
        const paused = gw.aiProduced(trace);
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, paused, text: Buffer.concat(chunks).toString("utf8") }));
        res.resume();
      });
      console.log(`# backpressure: ${r.paused} of ${N} pieces produced while the client was paused for ${PAUSE_MS} ms (threshold ${THRESHOLD})`);
      assert.equal(r.status, 200);
      assert.ok(r.paused < THRESHOLD, `${r.paused} of ${N} pieces were produced while the client read nothing`);
      const events = parseSse(r.text);
      const tokens = events.filter((e) => e.event === "token");
      const done = events.at(-1);
      assert.equal(done.event, "done", `stream ended with ${JSON.stringify(events.at(-1))}`);
      assert.equal(done.data.finish, "stop", "a paused client is not a stalled model");
      assert.equal(done.data.usage.completion, N);
      assert.equal(tokens.map((e) => e.data.text).join(""), Array.from({ length: N }, (_, i) => piece(i)).join(""));
      assert.equal(gw.aiProduced(trace), N);
      const log = await gw.logFor(trace);
      assert.equal(log.clientDisconnected, false);
      assert.equal(log.tokens.completion, N);
    } finally {
      await gw.close();
    }
  });

  test("a paused client that goes away: the rest is drained and billed, the disconnect logged", async () => {
    const gw = await startGateway({ tenant, scenarios: SCENARIO });
    try {
      const trace = traceId("paused-gone");
      await pausedRequest(gw, trace, 1000, (_res, req, resolve) => {
        req.destroy();
        resolve();
      });
      const log = await gw.logFor(trace, 20_000);
      assert.equal(log.clientDisconnected, true);
      assert.equal(log.status, 200);
      assert.equal(log.tokens.completion, N, "the model's stream was read to its end");
      assert.equal(gw.aiProduced(trace), N);
    } finally {
      await gw.close();
    }
  });
});

describe("6. /health is not ok when requests would fail", () => {
  const SECRET = "sk-hardening-never-shown-0001";
  const budget = (store) => ({ budget: { daily: 123457, monthly: 7654321, store } });
  const check = async (opts, expect) => {
    const gw = await startGateway({ vars: { PROVIDER_API_KEY: SECRET }, ...opts });
    try {
      const res = await fetch(`${gw.url}/health`);
      const text = await res.text();
      for (const hidden of [SECRET, "123457", "7654321"]) assert.ok(!text.includes(hidden), `/health shows ${hidden}: ${text}`);
      const body = JSON.parse(text);
      if (!expect) {
        assert.equal(res.status, 200, text);
        assert.equal(body.status, "ok");
        assert.ok(!body.problems?.length, text);
        return;
      }
      assert.equal(res.status, 503, text);
      assert.equal(body.status, "unavailable");
      assert.ok(Array.isArray(body.problems) && body.problems.length > 0, text);
      assert.match(JSON.stringify(body.problems), expect);
    } finally {
      await gw.close();
    }
  };

  test("the AI binding is missing: 503", () => check({ tenant: testTenant(), omitAi: true }, /\bAI\b/));
  test("the Durable Object the budget store needs is missing: 503", () => check({ tenant: testTenant(budget("durable-object")), durableObjects: {} }, /BUDGET_LEDGER|durable/i));
  test("the KV namespace the budget store needs is missing: 503", () => check({ tenant: testTenant(budget("kv")), kvNamespaces: {} }, /BUDGET_KV|kv/i));
  test("the tenant config is broken: 503", () => check({ tenant: testTenant({ budget: { daily: 0, monthly: 10 } }) }, /config|TENANT|budget/i));
  test("every binding the config needs is there: 200 (a KV namespace a Durable Object budget does not use may be absent)", async () => {
    await check({ tenant: testTenant(budget("durable-object")), kvNamespaces: {} }, null);
    await check({ tenant: testTenant(budget("kv")), durableObjects: {} }, null);
    await check({ tenant: testTenant() }, null);
  });
});

describe("7. small ones", () => {
  test("Vary: Origin on every response, also to origins that are not allowed", async () => {
    const gw = await startGateway({ tenant: testTenant() });
    try {
      const evil = "https://evil.example", good = "https://app.acme.example";
      for (const [method, path, origin, body] of [
        ["POST", "/chat", evil, { message: "Hi" }], ["GET", "/health", evil], ["OPTIONS", "/chat", evil], ["GET", "/nope", evil],
        ["GET", "/health", null], ["POST", "/chat", good, { message: "Hi" }], ["POST", "/chat", evil, { message: "Hi", stream: true }],
      ]) {
        const headers = { ...JSON_HEADERS, ...(origin ? { origin } : {}), ...(method === "OPTIONS" ? { "access-control-request-method": "POST" } : {}) };
        const res = await fetch(`${gw.url}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
        await res.arrayBuffer();
        assert.match(res.headers.get("vary") ?? "", /(^|,)\s*origin\s*(,|$)/i, `${method} ${path} from ${origin}: vary=${res.headers.get("vary")}`);
      }
    } finally {
      await gw.close();
    }
  });

  // The client resets the connection (RST), as the edge does for a client that went away.
  // A plain close (FIN) is not observable: workerd cannot tell an HTTP/1.1 half-close from a
  // departure, so request.signal never fires (measured with a plain JS worker, fetch abort and
  // socket.destroy(): no abort event). On RST workerd fires request.signal and cancels the
  // handler, so the log line (and the budget settlement) must not depend on the handler finishing.
  test("a request whose client reset the connection before the headers is logged with clientDisconnected: true, its reservation released", async () => {
    const gw = await startGateway({ tenant: testTenant({ budget: { daily: 100000, monthly: 1000000 }, limits: { attemptTimeoutMs: 5000 } }), scenarios: { "*": { latencyMs: 1500 } } });
    try {
      const { hostname, port } = new URL(gw.url);
      for (const stream of [false, true]) {
        const trace = traceId(`left-early-${stream ? "stream" : "json"}`);
        const body = JSON.stringify({ message: "Hi", stream });
        const sock = net.connect(Number(port), hostname, () => {
          sock.write(`POST /chat HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nx-trace-id: ${trace}\r\n\r\n${body}`);
          setTimeout(() => sock.resetAndDestroy(), 300);
        });
        sock.on("error", () => {});
        const log = await gw.logFor(trace);
        assert.equal(log.clientDisconnected, true, JSON.stringify(log));
        assert.ok(log.status < 500, JSON.stringify(log));
        const ledger = await until(async () => { const l = await gw.ledger("acme"); return l.reservations.length === 0 && l; });
        assert.ok(ledger, `stream=${stream}: the reservation is released, not left to expire`);
      }
    } finally {
      await gw.close();
    }
  });

  test("methods outside a route's list (QUERY, PROPFIND) are 405 with Allow, judged by the raw method", async () => {
    const gw = await startGateway({ tenant: testTenant() });
    try {
      for (const method of ["QUERY", "PROPFIND"]) {
        for (const [path, allow] of [["/chat", "POST, OPTIONS"], ["/health", "GET, HEAD, OPTIONS"]]) {
          const res = await fetch(`${gw.url}${path}`, { method });
          const text = await res.text();
          assert.equal(res.status, 405, `${method} ${path}: ${res.status} ${text}`);
          assert.equal(res.headers.get("allow"), allow);
          assert.equal(JSON.parse(text).error.code, "method_not_allowed");
        }
      }
    } finally {
      await gw.close();
    }
  });
});
