// /health, unknown paths and wrong methods, against the built worker in workerd.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";

let gw;
before(async () => {
  gw = await startGateway({ tenant: testTenant({ budget: { daily: 1000, monthly: 5000 } }), vars: { MODEL_ID: "fast" } });
});
after(() => gw?.close());

test("GET /health reports tenant, resolved models, gateway and version, but no secrets or figures", async () => {
  const res = await fetch(`${gw.url}/health`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /application\/json/);
  assert.match(res.headers.get("x-trace-id"), /^[0-9a-f-]{36}$/);
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(body.tenantId, "acme");
  assert.equal(body.gatewayId, "acme-gateway");
  assert.deepEqual(body.models.chat, "@cf/test/fast", "MODEL_ID=fast resolves through the tier alias");
  assert.equal(body.models.source, "env");
  assert.deepEqual(body.models.fallbacks, ["@cf/test/primary", "@cf/test/backup"]);
  assert.deepEqual(body.budget, { configured: true, store: "durable-object" });
  assert.match(body.version, /^\d+\.\d+\.\d+/);
  assert.ok(!JSON.stringify(body).includes("1000"), "budget figures are not exposed");
});

test("HEAD /health answers 200", async () => {
  const res = await fetch(`${gw.url}/health`, { method: "HEAD" });
  assert.equal(res.status, 200);
});

test("a well-formed incoming x-trace-id is kept, a malformed one replaced", async () => {
  let res = await fetch(`${gw.url}/health`, { headers: { "x-trace-id": "client-trace-0001" } });
  assert.equal(res.headers.get("x-trace-id"), "client-trace-0001");
  res = await fetch(`${gw.url}/health`, { headers: { "x-trace-id": "bad id!" } });
  assert.notEqual(res.headers.get("x-trace-id"), "bad id!");
});

test("unknown paths are 404 JSON errors with a trace id", async () => {
  const res = await fetch(`${gw.url}/nope`);
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.error.code, "not_found");
  assert.equal(body.error.traceId, res.headers.get("x-trace-id"));
  assert.match(body.error.message, /\/nope/);
});

test("wrong methods are 405 JSON errors with Allow", async () => {
  for (const [method, path, allow] of [["POST", "/health", "GET, HEAD, OPTIONS"], ["GET", "/chat", "POST, OPTIONS"], ["DELETE", "/chat", "POST, OPTIONS"]]) {
    const res = await fetch(`${gw.url}${path}`, { method });
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(res.headers.get("allow"), allow);
    const body = await res.json();
    assert.equal(body.error.code, "method_not_allowed");
    assert.ok(body.error.traceId);
  }
});

test("every request writes one structured log line", async () => {
  const res = await fetch(`${gw.url}/health`, { headers: { "x-trace-id": "log-check-0001" } });
  await res.arrayBuffer();
  const line = await gw.logFor("log-check-0001");
  assert.equal(line.tenantId, "acme");
  assert.equal(line.route, "/health");
  assert.equal(line.status, 200);
  assert.equal(typeof line.latencyMs, "number");
});
