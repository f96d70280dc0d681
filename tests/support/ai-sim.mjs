// Local stand-in for the Workers AI binding (`env.AI`). Never shipped: Miniflare binds it as
// a wrapped binding in tests and in the local dev server, so the worker's production code
// path, `env.AI.run(model, inputs, { gateway })`, runs unchanged.
//
// Behaviour per model comes from a scenario map (the wrapped binding's `scenarios`), keyed by
// model id, with "*" as the default. Fields, all optional:
//   format        "classic" ({response, usage}) | "openai" (chat.completion / choices[].delta)
//   text          the answer; default: "You said: <last user message>"
//   latencyMs     delay before run() resolves
//   tokenDelayMs  delay between streamed tokens (the token rate)
//   usage         false to leave usage out (non-stream and stream)
//   error         reject run() with InferenceUpstreamError(error), e.g. "3040: Capacity exceeded"
//   failAfter     stream: after N tokens, send an error chunk      ({"error": ...})
//   abortAfter    stream: after N tokens, error the stream itself  (controller.error)
//   malformedAfter stream: after N tokens, send a chunk that is not JSON
//   truncateAfter stream: after N tokens, close without [DONE]
//   hangAfter     stream: after N tokens, send nothing more and never close
//   splitBytes    stream: re-chunk the SSE bytes into pieces of N bytes (mid-line, mid-UTF-8)
//   toolCalls     tool calls to return (classic: tool_calls; openai: message.tool_calls)
//   asResponse    return a fetch Response instead of a plain object / ReadableStream
//
// With a `recorder` URL bound, every call (model, inputs, options) is POSTed there before it
// is answered, so tests can assert on gateway.id and gateway.metadata.
//
// With AI_SIM_UPSTREAM set (e.g. http://127.0.0.1:11434/v1 for Ollama), calls are forwarded
// to that OpenAI-compatible server instead, so a local model gives real answers.

const encoder = new TextEncoder();
const sleep = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export class InferenceUpstreamError extends Error {
  constructor(message) {
    super(message);
    this.name = "InferenceUpstreamError";
  }
}

function scenarioFor(scenarios, model) {
  const all = typeof scenarios === "string" ? JSON.parse(scenarios || "{}") : scenarios || {};
  return { ...(all["*"] || {}), ...(all[model] || {}) };
}

function lastUserText(inputs) {
  const msgs = Array.isArray(inputs?.messages) ? inputs.messages : [];
  const user = [...msgs].reverse().find((m) => m.role === "user");
  return user ? String(user.content) : String(inputs?.prompt ?? "");
}

// Rough token pieces: words with their leading space, so "a b" -> ["a", " b"].
function pieces(text) {
  return text.match(/\s*\S+/gu) || (text ? [text] : []);
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

function wholeAnswer(s, model, inputs, toks) {
  const text = toks.join("");
  const usage = usageFor(inputs, toks);
  if (s.format === "openai") {
    const message = { role: "assistant", content: text };
    if (s.toolCalls) message.tool_calls = s.toolCalls;
    const out = {
      id: "chatcmpl-sim", object: "chat.completion", created: Math.floor(Date.now() / 1000), model,
      choices: [{ index: 0, message, finish_reason: s.toolCalls ? "tool_calls" : "stop" }],
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

function answerStream(s, model, inputs, toks) {
  const at = (k) => (Number.isInteger(s[k]) ? s[k] : -1);
  const split = Number.isInteger(s.splitBytes) && s.splitBytes > 0 ? s.splitBytes : 0;
  let cancelled = false;
  return new ReadableStream({
    async start(controller) {
      const send = async (text) => {
        const bytes = encoder.encode(text);
        if (!split) return controller.enqueue(bytes);
        for (let i = 0; i < bytes.length; i += split) {
          controller.enqueue(bytes.slice(i, i + split));
          await sleep(0);
        }
      };
      try {
        for (let i = 0; i <= toks.length; i++) {
          if (cancelled) return;
          if (i === at("failAfter")) return await send(sseLine({ error: { message: "3040: stand-in failure mid-stream" } })), controller.close();
          // A network error arrives after the bytes before it: let the reader drain them first
          // (controller.error() discards chunks still queued).
          if (i === at("abortAfter")) return await sleep(20), controller.error(new InferenceUpstreamError("3043: stand-in stream aborted"));
          if (i === at("malformedAfter")) return await send('data: {"response": "broken\n\n'), await send(sseLine("[DONE]")), controller.close();
          if (i === at("truncateAfter")) return controller.close();
          if (i === at("hangAfter")) return; // never closes
          if (i === toks.length) break;
          if (i > 0) await sleep(s.tokenDelayMs || 0);
          await send(sseLine(tokenChunk(s, model, toks[i])));
        }
        if (s.toolCalls) {
          const chunk = s.format === "openai"
            ? { choices: [{ index: 0, delta: { tool_calls: s.toolCalls } }] }
            : { response: "", tool_calls: s.toolCalls };
          await send(sseLine(chunk));
        }
        if (s.usage !== false) {
          const usage = usageFor(inputs, toks);
          await send(sseLine(s.format === "openai" ? { choices: [], usage } : { response: "", usage }));
        }
        await send(sseLine("[DONE]"));
        controller.close();
      } catch (e) {
        if (!cancelled) controller.error(e);
      }
    },
    cancel() {
      cancelled = true;
    },
  });
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

    const s = scenarioFor(env.scenarios, model);
    await sleep(s.latencyMs || 0);
    if (s.error) throw new InferenceUpstreamError(s.error);
    const toks = pieces(s.text ?? `You said: ${lastUserText(inputs)}`);

    if (inputs?.stream) {
      const stream = answerStream(s, model, inputs, toks);
      return s.asResponse ? new Response(stream, { headers: { "content-type": "text/event-stream" } }) : stream;
    }
    const answer = wholeAnswer(s, model, inputs, toks);
    return s.asResponse ? Response.json(answer) : answer;
  }
}

export default function (env) {
  return new Ai(env);
}
