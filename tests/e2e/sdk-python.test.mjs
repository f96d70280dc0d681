// The OpenAI-compatible surface through the unchanged official Python client: prepares the
// pinned venv (.venv-sdk/, scripts/sdk-venv.sh), starts the gateway with the scenarios
// tests/sdk/python/test_openai_python.py needs, runs it with pytest and asserts exit code 0.
// Then checks, on the AI stand-in's side, what the Python client's requests made the gateway
// send to the model. A missing Python or an unreachable PyPI fails the test; it never skips.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT, startGateway, testTenant } from "../support/runtime.mjs";

const VENV_PYTHON = path.join(ROOT, ".venv-sdk/bin/python");
const PY_TEST = "tests/sdk/python/test_openai_python.py";
const TEXT = "Hello from the stand-in!";
const PREFIX = `py-${process.pid}-${Date.now()}`;

/** Runs a command without blocking the event loop (the stand-in's recorder lives in this process). */
function run(cmd, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, ...options });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", (e) => resolve({ code: -1, out: `${out}\n${e.message}` }));
    child.on("close", (code) => resolve({ code, out }));
  });
}

let gw, budgetGw;
before(async () => {
  const venv = await run("bash", [path.join(ROOT, "scripts/sdk-venv.sh")]);
  if (venv.code !== 0) {
    throw new Error(`the Python SDK venv (.venv-sdk/) could not be prepared by scripts/sdk-venv.sh (exit ${venv.code}):\n${venv.out}`);
  }
  gw = await startGateway({
    tenant: testTenant({
      // An explicit model's chain is [model, chat model, fallbacks]; the chat model always fails.
      models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"], tiers: { fast: "@cf/test/fast" } },
      modelAllowList: ["@cf/test/primary", "@cf/test/backup", "@cf/test/fast", "@cf/test/plain", "@cf/test/tools", "@cf/test/json", "@cf/test/sim", "@cf/test/midfail", "@cf/nope/missing", "@cf/baai/bge-small-en-v1.5"],
      limits: { maxRequestBytes: 16384, maxOutputTokens: 256, attemptTimeoutMs: 3000 },
    }),
    scenarios: {
      "*": { text: TEXT },
      "@cf/test/primary": { error: "3040: Capacity temporarily exceeded" },
      "@cf/test/backup": { text: "backup here" },
      "@cf/test/tools": { text: "", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
      "@cf/test/json": { text: '{"city":"Oslo","temp":7}' },
      // No scripted text: the stand-in answers the request's tools and response_format itself.
      "@cf/test/sim": { text: null },
      "@cf/test/midfail": { failAfter: 2 },
    },
  });
  budgetGw = await startGateway({ tenant: testTenant({ tenantId: "py-budget", budget: { daily: 50, monthly: 1000, store: "durable-object" } }) });
});
after(async () => {
  await gw?.close();
  await budgetGw?.close();
});

test("openai-python: models, non-stream, stream, tools, response_format, typed errors, mid-stream failure, fallback, embeddings", async () => {
  const env = {
    ...process.env,
    GATEWAY_URL: gw.url,
    GATEWAY_BUDGET_URL: budgetGw.url,
    TENANT_ID: "acme",
    TRACE_PREFIX: PREFIX,
    EXPECTED_TEXT: TEXT,
    BACKUP_TEXT: "backup here",
    MODEL_PLAIN: "@cf/test/plain",
    MODEL_TOOLS: "@cf/test/tools",
    MODEL_JSON: "@cf/test/json",
    MODEL_SIM: "@cf/test/sim",
    MODEL_MIDFAIL: "@cf/test/midfail",
    MODEL_FAILING: "@cf/test/primary",
    MODEL_BACKUP: "@cf/test/backup",
    MODEL_FORBIDDEN: "@cf/test/forbidden",
    MODEL_MISSING: "@cf/nope/missing",
    MODEL_UNLISTED: "@cf/test/unlisted",
    TIER_ALIAS: "fast",
    TIER_TARGET: "@cf/test/fast",
    MODEL_EMBED: "@cf/baai/bge-small-en-v1.5",
    EMBED_DIMS: "384",
    NO_PROXY: "127.0.0.1,localhost",
    no_proxy: "127.0.0.1,localhost",
    PYTHONDONTWRITEBYTECODE: "1",
  };
  for (const k of ["OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"]) delete env[k];
  const r = await run(VENV_PYTHON, ["-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", PY_TEST], { env });
  assert.equal(r.code, 0, `pytest ${PY_TEST} failed (exit ${r.code}):\n${r.out}`);

  // What the Python client's requests made the gateway send to the model.
  const one = (name) => {
    const calls = gw.aiCallsFor(`${PREFIX}-${name}`);
    assert.equal(calls.length, 1, `one model call for ${name}`);
    return calls[0].inputs;
  };
  const roundTrip = one("tools-roundtrip").messages;
  assert.deepEqual(roundTrip.map((m) => m.role), ["user", "assistant", "tool"]);
  assert.match(JSON.stringify(roundTrip[1]), /call_0/);
  assert.equal(roundTrip[2].content, '{"temp": 7}');
  assert.deepEqual(one("parsed-roundtrip").messages.map((m) => m.role), ["user", "assistant", "tool"]);
  const schema = one("json-schema").response_format;
  assert.equal(schema.type, "json_schema");
  assert.match(JSON.stringify(schema), /"temp"/);
  assert.deepEqual(one("json-object").response_format, { type: "json_object" });
  assert.deepEqual(one("sim-tools").tools.map((t) => t.function.name), ["get_weather"]);
  assert.deepEqual(one("sim-tools-result").messages.map((m) => m.role), ["user", "assistant", "tool"]);
  assert.match(JSON.stringify(one("sim-parse").response_format), /"temp"/);
  const plain = one("plain");
  assert.equal(plain.max_tokens, 256);
  const userCall = gw.aiCalls().find((c) => Object.values(c.options?.gateway?.metadata ?? {}).includes("py-user"));
  assert.ok(userCall, "`user` reaches the AI Gateway metadata");
  assert.equal(userCall.inputs.max_tokens, 50, "max_completion_tokens");
  // embeddings.create with 150 inputs: two calls of the binding's 100-text limit, in order.
  const batches = gw.aiCallsFor(`${PREFIX}-embed-many`).map((c) => c.inputs.text);
  assert.deepEqual(batches.map((b) => b.length).sort((a, b) => b - a), [100, 50]);
  assert.deepEqual(batches.flat().sort(), Array.from({ length: 150 }, (_, i) => `text number ${i}`).sort());
});
