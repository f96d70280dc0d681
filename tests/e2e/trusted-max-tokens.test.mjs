// Trusted max_tokens (issue 22, goal 3; docs/providers.md#whole-answers-and-max_tokens): an HTTP
// provider with `trustMaxTokens`, or the Workers AI binding with `limits.trustWorkersAiMaxTokens`,
// gets a whole answer as one non-streamed call. Every other whole answer stays a streamed call
// cut at the output cap (issue 18), and streams are streamed either way.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startGateway, testTenant } from "../support/runtime.mjs";
import { startUpstream } from "../support/openai-upstream.mjs";
import { chat, v1, user } from "../support/providers-kit.mjs";

const TWELVE = Array.from({ length: 12 }, (_, i) => `tok${i}`).join(" ");
let up, trusted, plain;

before(async () => {
  up = await startUpstream({ scenarios: { "*": { tokens: 12 }, runaway: { ignoreMaxTokens: true, tokens: 400 } } });
  const providers = {
    sure: { kind: "openai-compatible", baseUrl: up.url, auth: { type: "none" }, trustMaxTokens: true },
    wary: { kind: "openai-compatible", baseUrl: up.url, auth: { type: "none" } },
  };
  const tenant = (limits) => testTenant({ limits: { maxOutputTokens: 64, ...limits }, providers });
  const scenarios = { "*": { tokens: 12 } };
  trusted = await startGateway({ tenant: tenant({ trustWorkersAiMaxTokens: true }), scenarios });
  plain = await startGateway({ tenant: tenant({}), scenarios });
});

after(async () => {
  await trusted?.close();
  await plain?.close();
  await up?.close();
});

/** The `stream` field of the one chat request the upstream got for `trace`. */
function upstreamStream(trace) {
  const got = up.chatRequests(trace);
  assert.equal(got.length, 1, `one upstream call for ${trace}`);
  return got[0].body.stream === true;
}

describe("an HTTP provider", () => {
  test("trusted: a whole answer is one non-streamed call, with the same answer and usage", async () => {
    const r = await v1(trusted, { model: "sure/m", messages: [user("hi")] });
    assert.equal(r.status, 200, r.text);
    assert.equal(upstreamStream(r.trace), false);
    assert.equal(r.body.choices[0].message.content, TWELVE);
    assert.equal(r.body.choices[0].finish_reason, "stop");
    assert.equal(r.body.usage.completion_tokens, 12);
  });

  test("trusted: a stream is still streamed", async () => {
    const r = await v1(trusted, { model: "sure/m", messages: [user("hi")], stream: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(upstreamStream(r.trace), true);
    assert.equal(r.chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join(""), TWELVE);
  });

  test("not trusted: a whole answer is a streamed call, cut at the output cap when the model ignores max_tokens", async () => {
    const r = await v1(trusted, { model: "wary/runaway", messages: [user("hi")], max_tokens: 10 });
    assert.equal(r.status, 200, r.text);
    assert.equal(upstreamStream(r.trace), true);
    assert.equal(r.body.choices[0].finish_reason, "length");
    assert.ok(r.body.usage.completion_tokens <= 10, `completion ${r.body.usage.completion_tokens} over max_tokens 10`);
  });

  test("trusted but ignoring max_tokens: the answer is still cut and billed at the cap, though the provider generated it all", async () => {
    // The trade the setting makes (docs/providers.md): the provider generated 400 tokens (its
    // own bill), but the answer and the tenant's usage stop at the output cap.
    const r = await v1(trusted, { model: "sure/runaway", messages: [user("hi")], max_tokens: 10 });
    assert.equal(r.status, 200, r.text);
    assert.equal(upstreamStream(r.trace), false);
    assert.equal(r.body.choices[0].finish_reason, "length");
    assert.ok(r.body.usage.completion_tokens <= 10, `completion ${r.body.usage.completion_tokens} over max_tokens 10`);
    assert.ok(r.body.choices[0].message.content.split(" ").length <= 10);
  });
});

describe("the Workers AI binding", () => {
  test("with limits.trustWorkersAiMaxTokens a whole answer is one non-streamed call", async () => {
    const r = await chat(trusted, { message: "hi" });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.text, TWELVE);
    assert.equal(trusted.aiCallsFor(r.trace)[0].inputs.stream, false);
  });

  test("with it, a stream is still streamed", async () => {
    const r = await chat(trusted, { message: "hi", stream: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(trusted.aiCallsFor(r.trace)[0].inputs.stream, true);
  });

  test("without it, a whole answer is a streamed call", async () => {
    const r = await chat(plain, { message: "hi" });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.text, TWELVE);
    assert.equal(plain.aiCallsFor(r.trace)[0].inputs.stream, true);
  });
});
