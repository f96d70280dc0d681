// The /v1 parameter policy (docs/api.md): harmless fields agent frameworks send are accepted,
// reasoning_effort goes to HTTP providers only, what would change the answer is refused, and
// compat.dropUnsupported drops it instead, saying so in x-dropped-params.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { startUpstream } from "../support/openai-upstream.mjs";

const user = (content) => ({ role: "user", content });

describe("/v1/chat/completions parameter policy", () => {
  let gw, up, client;
  before(async () => {
    up = await startUpstream({ scenarios: { "*": { text: "Hello from corp" } } });
    gw = await startGateway({
      tenant: testTenant({ providers: { corp: { kind: "openai-compatible", baseUrl: up.url, auth: { type: "none" } } } }),
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused-in-open-mode", maxRetries: 0 });
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  test("store, metadata, service_tier, prompt_cache_key, user and stream_options are accepted", async () => {
    const r = await client.chat.completions.create({
      model: "", messages: [user("Hi")], store: false, metadata: { run: "42" }, service_tier: "auto",
      prompt_cache_key: "conversation-7", user: "end-user-1",
    });
    assert.equal(r.choices[0].message.content, "You said: Hi");
    const call = gw.aiCalls().at(-1);
    for (const k of ["store", "metadata", "service_tier", "prompt_cache_key"]) assert.equal(call.inputs[k], undefined, `${k} is not sent on`);
  });

  test("reasoning_effort is forwarded to an HTTP provider, never to the Workers AI binding", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "corp/gpt-x", messages: [user("Hi")], reasoning_effort: "low" })
      .withResponse();
    assert.equal(data.choices[0].message.content, "Hello from corp");
    const sent = up.chatRequests(response.headers.get("x-trace-id")).at(-1);
    assert.equal(sent.body.reasoning_effort, "low");
    await client.chat.completions.create({ model: "", messages: [user("Hi")], reasoning_effort: "low" });
    assert.equal(gw.aiCalls().at(-1).inputs.reasoning_effort, undefined);
  });

  test("what would change the answer is refused with unsupported_parameter naming it", async () => {
    for (const [extra, param] of [[{ logit_bias: { 50256: -100 } }, "logit_bias"], [{ n: 2 }, "n"], [{ logprobs: true }, "logprobs"]]) {
      const err = await client.chat.completions.create({ model: "", messages: [user("Hi")], ...extra }).catch((e) => e);
      assert.ok(err instanceof OpenAI.BadRequestError, `${param}: ${err}`);
      assert.equal(err.code, "unsupported_parameter");
      assert.equal(err.param, param);
    }
  });
});

test("compat.dropUnsupported drops what /v1 would refuse and lists it in x-dropped-params", async () => {
  const gw = await startGateway({ tenant: testTenant({ compat: { dropUnsupported: true } }) });
  try {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "x", maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: "", messages: [user("Hi")], logit_bias: { 1: 1 }, n: 2, temperature: 0.3 })
      .withResponse();
    assert.equal(data.choices.length, 1);
    assert.equal(response.headers.get("x-dropped-params"), "logit_bias, n");
    assert.equal(gw.aiCalls().at(-1).inputs.temperature, 0.3, "the rest is honoured");
    const plain = await client.chat.completions.create({ model: "", messages: [user("Hi")] }).withResponse();
    assert.equal(plain.response.headers.get("x-dropped-params"), null);
    const invalid = await client.chat.completions.create({ model: "", messages: [user("Hi")], temperature: 9 }).catch((e) => e);
    assert.ok(invalid instanceof OpenAI.BadRequestError, "invalid values are still refused");
  } finally {
    await gw.close();
  }
});
