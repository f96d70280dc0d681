// The AI stand-in forwards to a local OpenAI-compatible server when one is named
// (AI_SIM_UPSTREAM in dev/serve.mjs): a loopback server plays Ollama / llama.cpp / vLLM here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startGateway, testTenant } from "../support/runtime.mjs";

let server, upstream, gw;
const seen = [];

before(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const b = JSON.parse(body);
      seen.push({ path: req.url, auth: req.headers.authorization, body: b });
      if (b.model === "broken") {
        res.writeHead(500).end("model crashed");
        return;
      }
      if (b.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const t of ["Real", " local", " answer"]) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: t } }] })}\n\n`);
        res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })}\n\n`);
        res.end("data: [DONE]\n\n");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "Real local answer" } }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  upstream = `http://127.0.0.1:${server.address().port}/v1`;
  gw = await startGateway({ tenant: testTenant(), upstream, upstreamModel: "llama3.2", upstreamKey: "local-key" });
});
after(async () => {
  await gw?.close();
  server?.close();
});

test("forwarded: JSON answers come from the local server through the AI binding", async () => {
  const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message: "Hi", maxTokens: 40 }) });
  const body = await res.json();
  assert.equal(res.status, 200);
  assert.equal(body.text, "Real local answer");
  // @cf/test/primary has no price: its cost is unknown, never 0.
  assert.deepEqual(body.usage, { prompt: 5, completion: 3, total: 8, estimated: false, costUsd: null });
  assert.equal(res.headers.get("x-cost-usd"), "unknown");
  const last = seen.at(-1);
  assert.equal(last.path, "/v1/chat/completions");
  assert.equal(last.auth, "Bearer local-key");
  assert.equal(last.body.model, "llama3.2");
  assert.equal(last.body.max_tokens, 40);
  assert.equal(gw.aiCalls().at(-1).options.gateway.id, "acme-gateway", "the call still went through the binding");
});

test("forwarded: streams come from the local server", async () => {
  const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message: "Hi", stream: true }) });
  const text = await res.text();
  const tokens = [...text.matchAll(/event: token\ndata: (.*)/g)].map((m) => JSON.parse(m[1]).text).join("");
  assert.equal(tokens, "Real local answer");
  assert.match(text, /"usage":\{"prompt":5,"completion":3,"total":8,"estimated":false,"costUsd":null\}/);
});
