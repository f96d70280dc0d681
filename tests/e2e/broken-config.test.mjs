// A worker whose tenant config is broken answers 500 config_error and logs the path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";

test("broken config: 500 config_error, path in the log, never a panic", async () => {
  const gw = await startGateway({ tenant: testTenant({ budget: { daily: 0, monthly: 10 } }) });
  try {
    for (const path of ["/health", "/chat"]) {
      const res = await fetch(`${gw.url}${path}`, { method: path === "/chat" ? "POST" : "GET", headers: { "x-trace-id": `broken-config${path.replace("/", "-")}` } });
      assert.equal(res.status, 500);
      const body = await res.json();
      assert.equal(body.error.code, "config_error");
      assert.ok(!body.error.message.includes("budget.daily"), "details stay in the log");
      const line = await gw.logFor(`broken-config${path.replace("/", "-")}`);
      assert.equal(line.errorDetail, "TENANT: budget.daily: must be > 0");
    }
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
    const res = await fetch(`${gw.url}/health`, { headers: { "x-trace-id": "bad-model-id-01" } });
    assert.equal(res.status, 500);
    assert.equal((await res.json()).error.code, "config_error");
    assert.match((await gw.logFor("bad-model-id-01")).errorDetail, /^MODEL_ID: model `@cf\/other` is not allowed/);
  } finally {
    await gw.close();
  }
});
