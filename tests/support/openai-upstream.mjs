// An OpenAI-compatible chat server for tests and the dev server (never shipped), on loopback,
// with Node's `http`. It answers the way api.openai.com does, failures included, so the
// gateway's HTTP providers meet the real thing's shapes:
//
//   const up = await startUpstream({ scenarios: { "*": { text: "Hi" }, "gpt-5": { status: 500 } } });
//   up.url              http://127.0.0.1:PORT/v1   (provider baseUrl)
//   up.cfUrl(acct)      http://127.0.0.1:PORT/client/v4/accounts/<acct>/ai/v1  (Cloudflare REST API path)
//   up.requests         every request, oldest first: { method, path, flavor ("openai" |
//                       "cloudflare"), account, headers (lower-case names), body (parsed JSON, or
//                       the raw text when it is not JSON), model, trace (x-trace-id), status, at }
//   up.chatRequests(trace?)  the chat completion requests (for one x-trace-id)
//   up.setScenarios(s)  replaces the scenario map; up.setValidator(v) replaces requireValidToken
//   up.close()
//
// Routes: POST /v1/chat/completions, GET /v1/models, GET /v1/models/{id}, and the same under
// /client/v4/accounts/{acct}/ai/v1/. Anything else: 404 {"error":{"message":"Invalid URL
// (METHOD /path)",...}} as OpenAI answers.
//
// Scenario knobs, per model id (the request body's `model`), "*" = defaults for every model:
//   text          the answer (default "Hello from <model>"), split into word pieces
//   tokens        instead of text: N pieces "tok0 tok1 ..."
//   latencyMs     wait before the response headers; tokenDelayMs: wait between pieces
//   usage         false: no usage at all (not in the JSON answer, no usage chunk even when
//                 stream_options.include_usage asks for one); an object: this usage instead of
//                 the computed one. Default: computed, with OpenAI's *_tokens_details
//   status        answer with this HTTP status and OpenAI's JSON error body for it
//                 (400/401/403/404/429/500/502/503); `times: N` = only the first N requests
//   retryAfter    seconds, sent as Retry-After (with status 429, plus x-ratelimit-* headers)
//   failAfter     stream: after N pieces send data: {"error":{...}} and close (no [DONE])
//   truncateAfter stream: after N pieces end the response cleanly, without [DONE]
//   resetAfter    stream: after N pieces destroy the connection (a network error)
//   malformedAfter stream: after N pieces send a cut-off JSON chunk (holding the next
//                 piece), then [DONE]
//   hangAfter     stream: after N pieces send nothing more until the client goes away
//   ignoreMaxTokens  true: answer in full; by default the answer stops after
//                 max_completion_tokens (or max_tokens) pieces with finish_reason "length"
//   toolCalls     [{id, type:"function", function:{name, arguments}}]: returned as
//                 message.tool_calls (content null when there is no text), streamed as
//                 tool_calls deltas (id/type/name first, arguments in slices), finish "tool_calls"
//   requireBearer "<token>": 401 unless `authorization: Bearer <token>`
//   requireField  "max_completion_tokens": 400 unsupported_parameter when the body uses
//                 max_tokens (what OpenAI answers for GPT-5 / o-series models)
//   answerModel   the `model` the answer names (OpenAI names the dated snapshot)
//   requireGatewayToken (cloudflare path) "<token>": 401 AI Gateway error unless
//                 `cf-aig-authorization: Bearer <token>`
// Read from "*" only:
//   models        the ids GET /models lists (default: the scenario keys but "*"); when set,
//                 chat for a model neither listed nor a scenario key is 404 model_not_found
//   modelsStatus  GET /models answers with this status and an error body
//   cfModels      false: GET /models on the cloudflare path answers the Cloudflare API's
//                 "GET not supported" envelope (see the note in docs/providers.md)
// Server options: startUpstream({ scenarios, requireValidToken, port }): requireValidToken =
// a token server (tests/support/oauth-server.mjs), an array of them, or a function(token) ->
// bool; every request must then carry a currently valid bearer token (401 otherwise).
//
// Also real: stream chunks carry object/created/model/system_fingerprint/service_tier,
// `logprobs: null`, `obfuscation`; the first delta is {role:"assistant", content:""}; with
// include_usage every chunk has "usage": null and the last one has choices: [] and the usage;
// then `data: [DONE]`. stream_options without stream is a 400, as on OpenAI. Auth failures on the
// cloudflare path use the Cloudflare API's v4 envelope ({success:false, errors:[{code,message}]}).
import http from "node:http";
import crypto from "node:crypto";

const sleep = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
const CF_PREFIX = /^\/client\/v4\/accounts\/([^/]+)\/ai\/v1(\/.*)$/;
const mask = (t) => (t.length > 8 ? `${t.slice(0, 3)}${"*".repeat(Math.min(t.length - 7, 20))}${t.slice(-4)}` : "****");

function openaiError(status, model, s, bearer) {
  const e = (message, type, code, param = null) => ({ error: { message, type, param, code } });
  switch (status) {
    case 401: return bearer
      ? e(`Incorrect API key provided: ${mask(bearer)}. You can find your API key at https://platform.openai.com/account/api-keys.`, "invalid_request_error", "invalid_api_key")
      : e("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error", null);
    case 403: return e(`Project \`proj_test\` does not have access to model \`${model}\``, "invalid_request_error", "model_not_found");
    case 404: return e(`The model \`${model}\` does not exist or you do not have access to it.`, "invalid_request_error", "model_not_found");
    case 429: return e(`Rate limit reached for ${model} in organization org-test on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${(s?.retryAfter ?? 20) * 1000}ms.`, "requests", "rate_limit_exceeded");
    case 500: return e("The server had an error while processing your request. Sorry about that!", "server_error", null);
    case 502: case 503: return e("The server is overloaded or not ready yet.", "server_error", null);
    default: return e("Invalid request (test stand-in).", "invalid_request_error", null);
  }
}
const cfEnvelope = (code, message) => ({ result: null, success: false, errors: [{ code, message }], messages: [] });

function pieces(s, model) {
  if (Number.isInteger(s.tokens)) return Array.from({ length: s.tokens }, (_, i) => `${i ? " " : ""}tok${i}`);
  const text = s.text ?? `Hello from ${model}`;
  return text.match(/\s*\S+/gu) || (text ? [text] : []);
}

function usageFor(s, body, toks) {
  if (s.usage && typeof s.usage === "object") return s.usage;
  const prompt = (body.messages || []).reduce((n, m) => n + 4 + Math.ceil(JSON.stringify(m.content ?? "").length / 4), 3);
  return {
    prompt_tokens: prompt, completion_tokens: toks.length, total_tokens: prompt + toks.length,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

export async function startUpstream({ scenarios = {}, requireValidToken = null, port = 0 } = {}) {
  let all = scenarios;
  let validator = requireValidToken;
  const requests = [];
  const hits = new Map();

  const isValid = (token) => {
    if (!validator) return true;
    if (typeof validator === "function") return Boolean(validator(token));
    return (Array.isArray(validator) ? validator : [validator]).some((v) => v.isValid(token));
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(e?.stack ?? e));
    }));
  });

  async function handle(req, res, raw) {
    const url = new URL(req.url, "http://x");
    const cf = CF_PREFIX.exec(url.pathname);
    const flavor = cf ? "cloudflare" : "openai";
    const route = cf ? cf[2] : url.pathname.replace(/^\/v1(?=\/)/, "");
    let body = raw;
    try { if (raw) body = JSON.parse(raw); } catch { /* kept as text */ }
    const model = typeof body === "object" && body ? body.model ?? null : null;
    const rec = { method: req.method, path: url.pathname, flavor, account: cf ? cf[1] : null, headers: { ...req.headers }, body, model, trace: req.headers["x-trace-id"] ?? null, status: 0, at: Date.now() };
    requests.push(rec);
    const send = (status, obj, headers = {}) => {
      rec.status = status;
      res.writeHead(status, { "content-type": "application/json", "x-request-id": `req_${crypto.randomBytes(8).toString("hex")}`, ...headers });
      res.end(JSON.stringify(obj));
    };
    const star = all["*"] ?? {};
    const s = { ...star, ...(model ? all[model] : {}) };
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? null;

    const isChat = req.method === "POST" && route === "/chat/completions";
    const isModels = req.method === "GET" && (route === "/models" || route.startsWith("/models/"));
    if (!(url.pathname.startsWith("/v1/") || cf) || (!isChat && !isModels)) {
      return send(404, { error: { message: `Invalid URL (${req.method} ${url.pathname})`, type: "invalid_request_error", param: null, code: null } });
    }
    // Authentication first, as a real server does.
    if (cf && s.requireGatewayToken && req.headers["cf-aig-authorization"] !== `Bearer ${s.requireGatewayToken}`) {
      return send(401, { success: false, result: [], messages: [], error: [{ code: 2009, message: "Unauthorized" }] });
    }
    if ((s.requireBearer && bearer !== s.requireBearer) || !isValid(bearer)) {
      return cf ? send(401, cfEnvelope(10000, "Authentication error")) : send(401, openaiError(401, model, s, bearer));
    }

    if (isModels) {
      if (cf && star.cfModels === false) return send(405, cfEnvelope(7001, "GET not supported for requested URI."));
      if (star.modelsStatus) return send(star.modelsStatus, openaiError(star.modelsStatus, "", star));
      const ids = star.models ?? Object.keys(all).filter((k) => k !== "*");
      const entry = (id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "system" });
      if (route === "/models") return send(200, { object: "list", data: ids.map(entry) });
      const id = decodeURIComponent(route.slice("/models/".length));
      return ids.includes(id) ? send(200, entry(id)) : send(404, openaiError(404, id, s));
    }

    const invalid = (message, param = null, code = null) => send(400, { error: { message, type: "invalid_request_error", param, code } });
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return invalid("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)");
    }
    if (!model) return invalid("you must provide a model parameter");
    if (!Array.isArray(body.messages)) return invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
    if (body.stream_options != null && !body.stream) return invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
    if (s.requireField === "max_completion_tokens" && body.max_tokens !== undefined) {
      return invalid("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter");
    }
    if (star.models && !star.models.includes(model) && !Object.hasOwn(all, model)) return send(404, openaiError(404, model, s));

    await sleep(s.latencyMs);
    const n = (hits.get(model) ?? 0) + 1;
    hits.set(model, n);
    if (s.status && (!s.times || n <= s.times)) {
      const headers = s.retryAfter !== undefined ? { "retry-after": String(s.retryAfter) } : {};
      if (s.status === 429) Object.assign(headers, { "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": `${s.retryAfter ?? 20}s` });
      return send(s.status, openaiError(s.status, model, s, bearer), headers);
    }

    let toks = pieces(s, model);
    const cap = body.max_completion_tokens ?? body.max_tokens;
    const capped = !s.ignoreMaxTokens && Number.isInteger(cap) && cap >= 0 && toks.length > cap;
    if (capped) toks = toks.slice(0, cap);
    const finish = capped ? "length" : s.toolCalls ? "tool_calls" : "stop";
    const usage = s.usage === false ? null : usageFor(s, body, toks);
    const id = `chatcmpl-${crypto.randomBytes(12).toString("base64url")}`;
    const created = Math.floor(Date.now() / 1000);
    const head = (object) => ({ id, object, created, model: s.answerModel ?? model, service_tier: "default", system_fingerprint: "fp_test0001" });
    const text = toks.join("");

    if (!body.stream) {
      const message = { role: "assistant", content: text || (s.toolCalls ? null : ""), refusal: null, annotations: [] };
      if (s.toolCalls) message.tool_calls = s.toolCalls;
      const out = { ...head("chat.completion"), choices: [{ index: 0, message, logprobs: null, finish_reason: finish }] };
      if (usage) out.usage = usage;
      return send(200, out);
    }

    const includeUsage = body.stream_options?.include_usage === true;
    rec.status = 200;
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-request-id": `req_${crypto.randomBytes(8).toString("hex")}` });
    let gone = false;
    res.on("close", () => { gone = true; });
    const write = async (line) => {
      if (gone) return;
      if (!res.write(line)) await new Promise((r) => res.once("drain", r));
    };
    const chunk = (delta, finishReason = null) => ({
      ...head("chat.completion.chunk"),
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
      obfuscation: crypto.randomBytes(1 + (toks.length % 7)).toString("base64url"),
    });
    const data = (obj) => write(`data: ${JSON.stringify(obj)}\n\n`);

    await data(chunk({ role: "assistant", content: (text || !s.toolCalls) ? "" : null, refusal: null }));
    for (let i = 0; i <= toks.length; i++) {
      if (gone) return;
      if (s.failAfter === i) {
        await data(openaiError(500, model, s));
        return res.end();
      }
      if (s.truncateAfter === i) return res.end();
      if (s.resetAfter === i) return void (await sleep(50), req.socket.destroy()); // the pieces before it get out
      if (s.malformedAfter === i) {
        await write(`data: {"id":"${id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(toks[i] ?? "broken")}\n\n`);
        await write("data: [DONE]\n\n");
        return res.end();
      }
      if (s.hangAfter === i) return;
      if (i === toks.length) break;
      if (i > 0) await sleep(s.tokenDelayMs);
      await data(chunk({ content: toks[i] }));
    }
    for (const [index, tc] of (s.toolCalls ?? []).entries()) {
      await data(chunk({ tool_calls: [{ index, id: tc.id, type: "function", function: { name: tc.function.name, arguments: "" } }] }));
      const args = tc.function.arguments ?? "";
      const step = Math.max(1, Math.ceil(args.length / 3));
      for (let k = 0; k < args.length; k += step) await data(chunk({ tool_calls: [{ index, function: { arguments: args.slice(k, k + step) } }] }));
    }
    await data(chunk({}, finish));
    if (includeUsage && usage) await data({ ...head("chat.completion.chunk"), choices: [], usage, obfuscation: "x" });
    await write("data: [DONE]\n\n");
    res.end();
  }

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    url: `${origin}/v1`,
    origin,
    cfUrl: (account) => `${origin}/client/v4/accounts/${account}/ai/v1`,
    requests,
    chatRequests: (trace) => requests.filter((r) => r.method === "POST" && r.path.endsWith("/chat/completions") && (trace === undefined || r.trace === trace)),
    setScenarios(s) {
      all = s;
      hits.clear();
    },
    setValidator(v) {
      validator = v;
    },
    close() {
      return new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}
