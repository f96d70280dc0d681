// Local stand-in for the Workers AI binding (`env.AI`). Never shipped: Miniflare binds it as
// a wrapped binding in tests and in the local dev server, so the worker's production code
// path, `env.AI.run(model, inputs, { gateway })`, runs unchanged.
//
// Behaviour per model comes from a scenario map (the wrapped binding's `scenarios`), keyed by
// model id, with "*" as the default. Fields, all optional:
//   format        "classic" ({response, usage}) | "openai" (chat.completion / choices[].delta)
//   text          the answer; default: "You said: <last user message>"
//   tokens        instead of text: an answer of N pieces "tok0 tok1 tok2 ..."
//   echoCount     instead of text: true answers "messages=<N>", N = how many messages the
//                 stand-in received; "roles" adds " roles=<role>,<role>,..." (in order), so
//                 a test sees in the answer what history the gateway sent
//   pieceBytes    pad every piece of the answer to at least N characters, with `pad`
//   pad           the padding character (default "_"); "\u0001" is 6 bytes once JSON-escaped
//                 but a quarter token in an estimate, so a stream can be long on the wire
//   ignoreMaxTokens  true: answer in full whatever `max_tokens` says (by default the answer
//                 stops after `max_tokens` pieces, like Workers AI; OpenAI format then says
//                 finish_reason "length")
//   latencyMs     delay before run() resolves
//   tokenDelayMs  delay between streamed tokens (the token rate)
//   usage         false to leave usage out (non-stream and stream)
//   error         reject run() with InferenceUpstreamError(error), e.g. "3040: Capacity exceeded"
//   remoteOnly    reject run() like `wrangler dev --local` does: Error("Binding AI needs to be
//                 run remotely")
//   failAfter     stream: after N tokens, send an error chunk      ({"error": ...})
//   abortAfter    stream: after N tokens, error the stream itself  (controller.error)
//   malformedAfter stream: after N tokens, send a chunk that is not JSON (it holds the next
//                 piece of the answer, so a test can see whether model text leaks)
//   truncateAfter stream: after N tokens, close without [DONE]
//   hangAfter     stream: after N tokens, send nothing more and never close
//   surrogate     true (or N): piece N (default 2, or the last) carries a lone surrogate
//                 (`\ud800` in the JSON), which no UTF-8 decoder accepts
//   splitBytes    stream: re-chunk the SSE bytes into pieces of N bytes (mid-line, mid-UTF-8)
//   toolCalls     tool calls to return (classic: tool_calls; openai: message.tool_calls)
//   asResponse    return a fetch Response instead of a plain object / ReadableStream
//   anyModel      (in "*" only) true: every model id is known (see below)
//
// Known models: the real Workers AI ids in KNOWN_MODELS, every key of the scenario map,
// anything under `@cf/test/`, and any id when "*" has anyModel. Any other id rejects with
// InferenceUpstreamError("5007: No such model <id> or task"), as Workers AI does.
//
// Streams are pull-based: a piece is produced only when the reader asks for the next chunk
// (highWaterMark 0), so a reader that stops reading stops the model, and tests can see
// backpressure. With a `progress` URL bound, every call reports how many pieces it has
// produced so far ({traceId, call, model, produced, done} POSTed there, coalesced; the final
// count is awaited before the stream's end or failure is sent, so it is in place once a reader
// sees the end); runtime.mjs exposes it as gw.aiProduced(traceId).
//
// With a `recorder` URL bound, every call (model, inputs, options) is POSTed there before it
// is answered, so tests can assert on gateway.id and gateway.metadata.
//
// With AI_SIM_UPSTREAM set (e.g. http://127.0.0.1:11434/v1 for Ollama), calls are forwarded
// to that OpenAI-compatible server instead, so a local model gives real answers.

const encoder = new TextEncoder();
const sleep = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
const never = () => new Promise(() => {});

// Real Workers AI model ids used by tenants/*/wrangler.toml, the root wrangler.toml, README
// and docs, plus a few other current ones for the dev server.
export const KNOWN_MODELS = [
  "@cf/meta/llama-3.1-8b-instruct",
  "@cf/meta/llama-3.1-8b-instruct-fast",
  "@cf/meta/llama-3.1-70b-instruct",
  "@cf/meta/llama-3.2-1b-instruct",
  "@cf/meta/llama-3.2-3b-instruct",
  "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
  "@cf/meta/llama-4-scout-17b-16e-instruct",
  "@cf/mistral/mistral-7b-instruct-v0.1",
  "@cf/mistralai/mistral-small-3.1-24b-instruct",
  "@cf/google/gemma-3-12b-it",
  "@cf/qwen/qwq-32b",
  "@cf/openai/gpt-oss-20b",
  "@cf/openai/gpt-oss-120b",
  // Not real, but called by existing tests as "any model" (tests/e2e/chat.test.mjs).
  "@cf/any/model",
];

export class InferenceUpstreamError extends Error {
  constructor(message) {
    super(message);
    this.name = "InferenceUpstreamError";
  }
}

function scenarioMap(scenarios) {
  return typeof scenarios === "string" ? JSON.parse(scenarios || "{}") : scenarios || {};
}

function isKnown(all, model) {
  return KNOWN_MODELS.includes(model) || Object.hasOwn(all, model) || model.startsWith("@cf/test/") || all["*"]?.anyModel === true;
}

/** The echoCount answer: "messages=<N>" (plus " roles=a,b,c" when echoCount is "roles"). */
function echoText(s, inputs) {
  const msgs = Array.isArray(inputs?.messages) ? inputs.messages : [];
  const roles = s.echoCount === "roles" ? ` roles=${msgs.map((m) => m?.role).join(",")}` : "";
  return `messages=${msgs.length}${roles}`;
}

function lastUserText(inputs) {
  const msgs = Array.isArray(inputs?.messages) ? inputs.messages : [];
  const user = [...msgs].reverse().find((m) => m.role === "user");
  if (!user) return String(inputs?.prompt ?? "");
  if (Array.isArray(user.content)) return user.content.map((p) => p?.text ?? "").join("");
  return String(user.content ?? "");
}

// Rough token pieces: words with their leading space, so "a b" -> ["a", " b"].
function pieces(text) {
  return text.match(/\s*\S+/gu) || (text ? [text] : []);
}

/** The answer's pieces, capped at max_tokens unless the scenario ignores it. */
function answerPieces(s, inputs) {
  let toks = Number.isInteger(s.tokens)
    ? Array.from({ length: s.tokens }, (_, i) => `${i ? " " : ""}tok${i}`)
    : pieces(s.echoCount ? echoText(s, inputs) : s.text ?? `You said: ${lastUserText(inputs)}`);
  if (Number.isInteger(s.pieceBytes)) toks = toks.map((p) => p.padEnd(s.pieceBytes, s.pad || "_"));
  if ((s.surrogate === true || Number.isInteger(s.surrogate)) && toks.length) {
    const at = Math.min(Number.isInteger(s.surrogate) ? s.surrogate : 2, toks.length - 1);
    toks[at] += "\ud800";
  }
  const cap = inputs?.max_tokens;
  const capped = !s.ignoreMaxTokens && Number.isInteger(cap) && cap >= 0 && toks.length > cap;
  return { toks: capped ? toks.slice(0, cap) : toks, finish: capped ? "length" : s.toolCalls ? "tool_calls" : "stop" };
}

function estimateTokens(text) {
  return Math.max(1, Math.ceil(text.length / 4));
}

function padding() {
  const n = 1 + Math.floor(Math.random() * 24);
  let p = "";
  for (let i = 0; i < n; i++) p += "abcdefghijklmnopqrstuvwxyz0123456789"[Math.floor(Math.random() * 36)];
  return p;
}

function usageFor(inputs, toks) {
  const prompt = (inputs?.messages || []).reduce((n, m) => n + estimateTokens(String(m.content ?? "")) + 4, 3);
  return { prompt_tokens: prompt, completion_tokens: toks.length, total_tokens: prompt + toks.length };
}

function wholeAnswer(s, model, inputs, { toks, finish }) {
  const text = toks.join("");
  const usage = usageFor(inputs, toks);
  if (s.format === "openai") {
    const message = { role: "assistant", content: text };
    if (s.toolCalls) message.tool_calls = s.toolCalls;
    const out = {
      id: "chatcmpl-sim", object: "chat.completion", created: Math.floor(Date.now() / 1000), model,
      choices: [{ index: 0, message, finish_reason: finish }],
    };
    if (s.usage !== false) out.usage = usage;
    return out;
  }
  const out = { response: text };
  if (s.toolCalls) out.tool_calls = s.toolCalls;
  if (s.usage !== false) out.usage = usage;
  return out;
}

function sseLine(obj) {
  return `data: ${typeof obj === "string" ? obj : JSON.stringify(obj)}\n\n`;
}

function tokenChunk(s, model, tok) {
  if (s.format === "openai") {
    return { id: "chatcmpl-sim", object: "chat.completion.chunk", model, choices: [{ index: 0, delta: { content: tok } }] };
  }
  return { response: tok, p: padding() };
}

/**
 * Reports `produced` to the progress URL: at most one POST in flight, the newest count sent
 * next. `flush(n)` sends the final count (done: true) and resolves once it arrived. Never throws.
 */
function progressReporter(url, info) {
  let latest = 0, sent = -1, running = null, done = false;
  const run = async () => {
    try {
      while (sent !== latest) {
        const n = latest;
        await fetch(url, { method: "POST", body: JSON.stringify({ ...info, produced: n, done }) });
        sent = n;
      }
    } catch { /* the request is gone: nobody reads the count any more */ }
    running = null;
  };
  const report = (n) => {
    latest = n;
    if (url && !running) running = run();
  };
  report.flush = async (n = latest) => {
    if (!url) return;
    while (running) await running;
    done = true;
    sent = -1;
    report(n);
    await running;
  };
  return report;
}

/** The SSE text of a streamed answer, one chunk per step, honouring the failure knobs. */
async function* sseChunks(s, model, inputs, { toks, finish }, report) {
  const knobs = ["failAfter", "abortAfter", "malformedAfter", "truncateAfter", "hangAfter"];
  for (let i = 0; i <= toks.length; i++) {
    const knob = knobs.find((k) => s[k] === i);
    // The last piece is out: the final count is reported before anything else is sent.
    if (knob || i === toks.length) await report.flush();
    if (knob === "failAfter") return yield sseLine({ error: { message: "3040: stand-in failure mid-stream" } });
    // A network error: the pieces before it were read already (the stream is pull-based).
    if (knob === "abortAfter") throw new InferenceUpstreamError("3043: stand-in stream aborted");
    if (knob === "malformedAfter") {
      yield `data: {"response": "${toks[i] ?? "broken"}\n\n`;
      return yield sseLine("[DONE]");
    }
    if (knob === "truncateAfter") return;
    if (knob === "hangAfter") await never();
    if (i === toks.length) break;
    if (i > 0) await sleep(s.tokenDelayMs || 0);
    report(i + 1);
    yield sseLine(tokenChunk(s, model, toks[i]));
  }
  if (s.toolCalls) {
    yield sseLine(s.format === "openai"
      ? { choices: [{ index: 0, delta: { tool_calls: s.toolCalls } }] }
      : { response: "", tool_calls: s.toolCalls });
  }
  if (s.format === "openai") yield sseLine({ id: "chatcmpl-sim", object: "chat.completion.chunk", model, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
  if (s.usage !== false) {
    const usage = usageFor(inputs, toks);
    yield sseLine(s.format === "openai" ? { choices: [], usage } : { response: "", usage });
  }
  yield sseLine("[DONE]");
}

function answerStream(s, model, inputs, answer, report) {
  const split = Number.isInteger(s.splitBytes) && s.splitBytes > 0 ? s.splitBytes : 0;
  const chunks = sseChunks(s, model, inputs, answer, report);
  return new ReadableStream(
    {
      async pull(controller) {
        try {
          const { value, done } = await chunks.next();
          if (done) return controller.close();
          const bytes = encoder.encode(value);
          if (!split) return controller.enqueue(bytes);
          for (let i = 0; i < bytes.length; i += split) controller.enqueue(bytes.slice(i, i + split));
        } catch (e) {
          controller.error(e);
        }
      },
      cancel() {
        chunks.return();
        report.flush().catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

async function forward(upstream, env, model, inputs) {
  const body = { ...inputs, model: env.upstreamModel || model };
  const headers = { "content-type": "application/json" };
  if (env.upstreamKey) headers.authorization = `Bearer ${env.upstreamKey}`;
  const res = await fetch(`${upstream.replace(/\/$/, "")}/chat/completions`, { method: "POST", headers, body: JSON.stringify(body) });
  if (!res.ok) throw new InferenceUpstreamError(`${res.status}: ${(await res.text()).slice(0, 300)}`);
  return inputs.stream ? res.body : res.json();
}

export class Ai {
  constructor(env) {
    this.env = env || {};
  }

  async run(model, inputs, options) {
    const env = this.env;
    if (env.recorder) {
      await fetch(env.recorder, { method: "POST", body: JSON.stringify({ model, inputs, options: options ?? null }) });
    }
    if (env.upstream) return forward(env.upstream, env, model, inputs);

    const all = scenarioMap(env.scenarios);
    const s = { ...(all["*"] || {}), ...(all[model] || {}) };
    if (s.remoteOnly) throw new Error("Binding AI needs to be run remotely");
    if (!isKnown(all, model)) throw new InferenceUpstreamError(`5007: No such model ${model} or task`);
    await sleep(s.latencyMs || 0);
    if (s.error) throw new InferenceUpstreamError(s.error);
    const answer = answerPieces(s, inputs);
    const traceId = options?.gateway?.metadata?.traceId ?? null;
    const report = progressReporter(env.progress, { traceId, call: crypto.randomUUID(), model });

    if (inputs?.stream) {
      const stream = answerStream(s, model, inputs, answer, report);
      return s.asResponse ? new Response(stream, { headers: { "content-type": "text/event-stream" } }) : stream;
    }
    await report.flush(answer.toks.length);
    const out = wholeAnswer(s, model, inputs, answer);
    return s.asResponse ? Response.json(out) : out;
  }
}

export default function (env) {
  return new Ai(env);
}
