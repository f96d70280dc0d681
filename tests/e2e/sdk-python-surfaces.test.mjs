// The Responses (`/v1/responses`) and Anthropic Messages (`/v1/messages`) surfaces through the
// unchanged official Python clients (`openai` and `anthropic`, pinned in
// tests/sdk/python/requirements.txt): prepares the venv (.venv-sdk/, scripts/sdk-venv.sh),
// starts the gateways tests/sdk/python/test_openai_responses_python.py and
// test_anthropic_python.py need, runs each with pytest and asserts exit code 0. Then checks, on
// the AI stand-in's side, what the Python clients' requests made the gateway send to the model.
// A missing Python or an unreachable PyPI fails the test; it never skips.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT, startGateway, testTenant } from "../support/runtime.mjs";
import { keysTenant, startAuthGateway, userToken } from "../support/auth-kit.mjs";

const VENV_PYTHON = path.join(ROOT, ".venv-sdk/bin/python");
const PREFIX = `pys-${process.pid}-${Date.now()}`;
const LIMITS = { maxRequestBytes: 16384, maxOutputTokens: 256, attemptTimeoutMs: 3000 };
const MODELS = { MODEL_SIM: "@cf/test/sim", MODEL_ECHO: "@cf/test/echo", MODEL_MIDFAIL: "@cf/test/midfail", MODEL_MISSING: "@cf/nope/missing" };

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

// gw: api-keys mode with sessions on; plain: open mode without sessions; budgetGw: a daily
// budget of 200 tokens with budget.minOutputTokens 1024, so an output cap that does not fit is
// refused (429) and a small one is served.
let gw, plain, budgetGw, env;
before(async () => {
  const venv = await run("bash", [path.join(ROOT, "scripts/sdk-venv.sh")]);
  if (venv.code !== 0) {
    throw new Error(`the Python SDK venv (.venv-sdk/) could not be prepared by scripts/sdk-venv.sh (exit ${venv.code}):\n${venv.out}`);
  }
  const scenarios = { "*": { text: null }, [MODELS.MODEL_ECHO]: { echoCount: "roles" }, [MODELS.MODEL_MIDFAIL]: { failAfter: 2 } };
  gw = await startAuthGateway({ tenant: keysTenant({ limits: LIMITS, sessions: { enabled: true } }), scenarios });
  plain = await startGateway({ tenant: testTenant({ tenantId: "pys-plain", limits: LIMITS }), scenarios });
  budgetGw = await startGateway({ tenant: testTenant({ tenantId: "pys-budget", budget: { daily: 200, monthly: 100000, store: "durable-object", minOutputTokens: 1024 } }) });
  env = {
    ...process.env,
    GATEWAY_URL: gw.url,
    GATEWAY_PLAIN_URL: plain.url,
    GATEWAY_BUDGET_URL: budgetGw.url,
    API_KEY: (await gw.adminKey({ name: "pys-a" })).key,
    API_KEY_B: (await gw.adminKey({ name: "pys-b" })).key,
    BAD_KEY: "gwk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    USER_TOKEN: userToken({ sub: "pys-alice" }),
    TRACE_PREFIX: PREFIX,
    ...MODELS,
    NO_PROXY: "127.0.0.1,localhost",
    no_proxy: "127.0.0.1,localhost",
    PYTHONDONTWRITEBYTECODE: "1",
  };
  for (const k of Object.keys(env)) if (/^(OPENAI|ANTHROPIC)_/.test(k)) delete env[k];
});
after(async () => {
  await gw?.close();
  await plain?.close();
  await budgetGw?.close();
});

/** Runs one pytest module; reports pytest's summary line as a test diagnostic. */
async function pytest(t, file) {
  const r = await run(VENV_PYTHON, ["-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", file], { env });
  const summary = r.out.trim().split("\n").filter((l) => /\b(passed|failed|error)/.test(l)).at(-1);
  if (summary) t.diagnostic(`pytest ${file}: ${summary.replace(/=/g, "").trim()}`);
  return r;
}

/** The one model call made for `<prefix>-<name>`: its inputs. */
function one(name) {
  const calls = gw.aiCallsFor(`${PREFIX}-${name}`);
  assert.equal(calls.length, 1, `one model call for ${name}`);
  return calls[0].inputs;
}

test("openai-python client.responses: create, stream, stream(), tools, text.format, previous_response_id, typed errors", async (t) => {
  const file = "tests/sdk/python/test_openai_responses_python.py";
  const r = await pytest(t, file);
  assert.equal(r.code, 0, `pytest ${file} failed (exit ${r.code}):\n${r.out}`);

  const plainCall = one("rsp-plain");
  assert.deepEqual(plainCall.messages, [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there" }]);
  assert.equal(plainCall.max_tokens, 50);
  const back = one("rsp-tools-back").messages;
  assert.deepEqual(back.map((m) => m.role), ["user", "assistant", "tool"]);
  assert.equal(back[1].tool_calls[0].function.name, "get_weather");
  assert.equal(back[2].tool_call_id, back[1].tool_calls[0].id);
  assert.equal(back[2].content, '{"temp": 7}');
  const prev = one("rsp-tools-prev").messages;
  assert.deepEqual(prev.map((m) => m.role), ["user", "assistant", "tool"], "the stored call came back from previous_response_id");
  assert.equal(prev[2].content, "7 degrees");
  const rf = one("rsp-json").response_format;
  assert.equal(rf.type, "json_schema");
  assert.match(JSON.stringify(rf), /"temp"/);
  assert.deepEqual(one("rsp-prev").messages.map((m) => m.content), ["My name is Ada", "messages=1 roles=user", "What is my name?"]);
  for (const name of ["rsp-prev-key-b", "rsp-prev-unknown"]) assert.equal(gw.aiCallsFor(`${PREFIX}-${name}`).length, 0, name);
});

test("anthropic-python client.messages: create, stream, stream(), tool round trip, models.list, typed errors", async (t) => {
  const file = "tests/sdk/python/test_anthropic_python.py";
  const r = await pytest(t, file);
  assert.equal(r.code, 0, `pytest ${file} failed (exit ${r.code}):\n${r.out}`);

  for (const way of ["api_key", "auth_token", "x_api_key"]) {
    const inputs = one(`ant-create-${way}`);
    assert.deepEqual(inputs.messages, [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there" }], way);
    assert.equal(inputs.max_tokens, 50, way);
    assert.deepEqual(inputs.stop, ["\n\nHuman:"], way);
  }
  const back = one("ant-tool-back").messages;
  assert.deepEqual(back.map((m) => m.role), ["user", "assistant", "tool"]);
  assert.deepEqual(JSON.parse(back[1].tool_calls[0].function.arguments), { city: "Oslo" });
  assert.equal(back[2].tool_call_id, back[1].tool_calls[0].id);
  assert.equal(back[2].content, '{"temp": 7}');
  // The end-user token's request reached the model with that user in the gateway metadata.
  const userCall = gw.aiCallsFor(`${PREFIX}-ant-helper-user`)[0];
  assert.ok(userCall, "the end-user token's stream reached the model");
  assert.ok(Object.values(userCall.options?.gateway?.metadata ?? {}).some((v) => String(v).includes("pys-alice")), JSON.stringify(userCall.options?.gateway?.metadata));
  for (const name of ["ant-401-api_key", "ant-401-auth_token", "ant-401-x_api_key", "ant-401-user", "ant-400-no-max"]) {
    assert.equal(gw.aiCallsFor(`${PREFIX}-${name}`).length, 0, `${name}: no model call`);
  }
});
