// A worker whose tenant config is broken answers 500 config_error (and /health 503 naming the
// problem) and logs the path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";

test("broken config: 500 config_error, path in the log, never a panic; /health is 503", async () => {
  const gw = await startGateway({ tenant: testTenant({ budget: { daily: 0, monthly: 10 } }) });
  try {
    const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { "x-trace-id": "broken-config-chat" } });
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.equal(body.error.code, "config_error");
    assert.ok(!body.error.message.includes("budget.daily"), "details stay in the log");
    const line = await gw.logFor("broken-config-chat");
    assert.equal(line.errorDetail, "TENANT: budget.daily: must be > 0");
    const health = await fetch(`${gw.url}/health`);
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json().then((h) => [h.status, h.problems]), ["unavailable", ["TENANT: budget.daily: must be > 0"]]);
  } finally {
    await gw.close();
  }
});

test("MODEL_ID outside the allow-list is a config error", async () => {
  const gw = await startGateway({
    tenant: testTenant({ modelAllowList: ["@cf/test/primary", "@cf/test/backup", "@cf/test/fast"] }),
    vars: { MODEL_ID: "@cf/other" },
  });
  try {
    const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { "x-trace-id": "bad-model-id-01" } });
    assert.equal(res.status, 500);
    assert.equal((await res.json()).error.code, "config_error");
    const health = await fetch(`${gw.url}/health`);
    assert.equal(health.status, 503);
    assert.match((await health.json()).problems[0], /^MODEL_ID: model `@cf\/other` is not allowed/);
    assert.match((await gw.logFor("bad-model-id-01")).errorDetail, /^MODEL_ID: model `@cf\/other` is not allowed/);
  } finally {
    await gw.close();
  }
});
