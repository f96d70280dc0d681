// Local stand-in for the Workers AI binding (`env.AI`). Never shipped: Miniflare binds it as
// a wrapped binding in tests and in the local dev server, so the worker's production code
// path, `env.AI.run(model, inputs, { gateway })`, runs unchanged.
//
// Behaviour per model comes from a scenario map (the wrapped binding's `scenarios`), keyed by
// model id, with "*" as the default. Fields, all optional:
//   format        "classic" ({response, usage}) | "openai" (chat.completion / choices[].delta)
//   text          the answer; default: "You said: <last user message>", or what the request's
//                 tools / response_format / last tool result call for (see below)
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
//   unknownModel  true: reject as an unknown model (5007), even for a known id
//   hang          true: run() never resolves (a timeout the caller must enforce)
//   failTimes     N: the first N calls to this model reject (with `error`, default 3040
//                 capacity), later ones succeed; counted per model for the binding's lifetime
//   overLength    (embedding models) "truncate": cut texts past the model's input limit
//                 instead of rejecting them (see "Embedding models" below)
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
// With AI_SIM_UPSTREAM set (e.g. http://127.0.0.1:11434/v1 for Ollama), chat calls are
// forwarded to that OpenAI-compatible server instead, so a local model gives real answers
// (embedding models are always answered here).
//
// Embedding models (EMBEDDING_MODELS): `run(model, {text: string | string[], pooling?})` answers
// {shape: [n, dims], data: number[][], pooling} and no usage, like the real binding
// (cloudflare-docs src/content/workers-ai-models/bge-*.json; workerd's AI types
// Ai_Cf_Baai_Bge_*_Output; developers.cloudflare.com/workers-ai/models/bge-base-en-v1.5 and
// /ai/models/@cf/baai/bge-m3). Limits: at most 100 texts, each non-empty (schema maxItems and
// minLength; rejected with 5006 input-validation errors, whose "oneOf at '/' not met" prefix is
// what Workers AI sends, the detail wording is ours), and an empty list (allowed by the schema,
// refused here so callers never send one); a text over the model's "Maximum Input Tokens" (512
// for bge-*-en-v1.5; 8192 assumed for bge-m3, whose page gives only a 60,000 token context
// window) rejects with "3006: Request is too large ..." unless `overLength: "truncate"` (or
// bge-m3's `truncate_inputs: true`). Tokens are estimated as the gateway does
// (crates/gateway/src/usage.rs: ceil(ASCII chars / 4) + 1 per other char). Vectors are
// deterministic feature hashes that keep lexical similarity: lowercased word tokens (a plural
// "s"/"ies" stripped; common stop words weigh 0.25) and word bigrams (0.5), each hashed with
// FNV-1a (seeded with the model id and pooling, so models and poolings are incompatible, as
// the real ones are) to a signed bucket, then L2-normalised and rounded to float32. Same text
// -> same vector; texts sharing words -> higher cosine; unrelated texts -> near 0.
//
// Tools and structured output. When the scenario dictates no answer (no `text` string, no
// `tokens`, `echoCount` or `toolCalls`; a model's `text: null` undoes a "*" text), the answer
// follows the request, deterministically (same inputs, same answer):
//   - `tools` (a non-empty array of {type:"function", function:{name, parameters}} or
//     {name, parameters}), `tool_choice` not "none", and the last message is not a `tool`
//     result: one tool call, to the tool `tool_choice` names ({type:"function",
//     function:{name}}) or else the first tool, with arguments made from its `parameters`
//     JSON Schema (below); finish "tool_calls". Classic format: `tool_calls: [{name,
//     arguments: {...}}]` (no id: the gateway numbers them call_0, ...); openai format:
//     `[{id: "call_0", type: "function", function: {name, arguments: "<JSON text>"}}]`, content
//     null; streamed: classic sends the call whole ({response:"", tool_calls}), openai as
//     deltas (index, id, type and name first, then the arguments in up to 3 pieces).
//     The call is one piece for `max_tokens` (only a cap of 0 drops it, finish "length").
//   - the last message is a `tool` result: "The tool said: <its content>" (the trailing tool
//     results joined with "; "), so a tool round trip ends; with a response_format, the JSON
//     below instead (json_object's answer then quotes the tool).
//   - `response_format` {type:"json_schema", json_schema:{schema}} (OpenAI), or
//     {type:"json_schema", json_schema:<schema>} (Workers AI): a JSON document that fits the
//     schema, in up to 4 pieces (a `max_tokens` below that cuts it, finish "length").
//     {type:"json_object"} (or json_schema without a schema): {"answer":"<the text answer>"}.
//   The JSON Schema filler: `$ref` (#/...), `allOf` (merged), `anyOf`/`oneOf` (the first
//   non-null branch), then `const`, `default`, `enum` (first value), else by `type` (the first
//   non-null one of a list; inferred from properties/items when absent): object -> every
//   property down to depth 3, then the `required` ones only (additionalProperties: false is
//   kept: no other keys; minProperties is met); array -> `prefixItems`, then items up to
//   max(1, minItems) (capped by maxItems; minItems only when deep); string -> the first string
//   filled is the last capitalised word of the last user message that is not its first word
//   (else its last word, else the property name), later ones are the property name; `format`
//   date-time, date, time, email, uri/url, uuid, ipv4 give a fixed valid value; minLength and
//   maxLength are met (`pattern` is not); integer/number -> 1 moved into minimum/maximum
//   (exclusive too) and onto multipleOf; boolean -> true; null -> null.

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
  return KNOWN_MODELS.includes(model) || Object.hasOwn(EMBEDDING_MODELS, model) || Object.hasOwn(all, model) || model.startsWith("@cf/test/") || all["*"]?.anyModel === true;
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

/**
 * The answer's pieces, capped at max_tokens unless the scenario ignores it. `call` is a tool
 * call the stand-in made up from the request's tools ({name, args}), `json` whether the text
 * is a JSON document (see autoAnswer).
 */
function answerPieces(s, inputs) {
  const auto = dictates(s) ? null : autoAnswer(inputs);
  const cap = inputs?.max_tokens;
  const over = (n) => !s.ignoreMaxTokens && Number.isInteger(cap) && cap >= 0 && n > cap;
  if (auto?.call) {
    // The call is one piece: only a cap of 0 leaves it out.
    return over(1) ? { toks: [], finish: "length" } : { toks: [], finish: "tool_calls", call: auto.call };
  }
  let toks = Number.isInteger(s.tokens)
    ? Array.from({ length: s.tokens }, (_, i) => `${i ? " " : ""}tok${i}`)
    : auto?.json
      ? splitText(auto.text, 4)
      : pieces(s.echoCount ? echoText(s, inputs) : auto?.text ?? s.text ?? `You said: ${lastUserText(inputs)}`);
  if (Number.isInteger(s.pieceBytes)) toks = toks.map((p) => p.padEnd(s.pieceBytes, s.pad || "_"));
  if ((s.surrogate === true || Number.isInteger(s.surrogate)) && toks.length) {
    const at = Math.min(Number.isInteger(s.surrogate) ? s.surrogate : 2, toks.length - 1);
    toks[at] += "\ud800";
  }
  const capped = over(toks.length);
  return { toks: capped ? toks.slice(0, cap) : toks, finish: capped ? "length" : s.toolCalls ? "tool_calls" : "stop" };
}

// ---- Answers made from the request: tool calls, tool results, JSON that fits a schema ----

/** Whether the scenario says what to answer (then tools and response_format change nothing). */
function dictates(s) {
  return typeof s.text === "string" || Number.isInteger(s.tokens) || Boolean(s.echoCount) || Boolean(s.toolCalls);
}

/** `text` in `n` pieces of about equal length (never splitting a code point). */
function splitText(text, n) {
  const chars = Array.from(text);
  const size = Math.max(1, Math.ceil(chars.length / n));
  const out = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(""));
  return out;
}

function contentText(content) {
  if (Array.isArray(content)) return content.map((p) => (typeof p === "string" ? p : p?.text ?? "")).join("");
  return typeof content === "string" ? content : content == null ? "" : JSON.stringify(content);
}

/** The contents of the tool results that end the conversation (none if it ends otherwise). */
function trailingToolResults(inputs) {
  const msgs = Array.isArray(inputs?.messages) ? inputs.messages : [];
  const out = [];
  for (let i = msgs.length - 1; i >= 0 && msgs[i]?.role === "tool"; i--) out.unshift(contentText(msgs[i].content));
  return out;
}

/** The tool `tool_choice` picks, else the first; null when no tool may be called. */
function chosenTool(inputs) {
  const tools = (Array.isArray(inputs?.tools) ? inputs.tools : [])
    .map((t) => (t && typeof t === "object" ? (t.function && typeof t.function === "object" ? t.function : t) : null))
    .filter((f) => f && typeof f.name === "string" && f.name);
  const choice = inputs?.tool_choice;
  if (!tools.length || choice === "none") return null;
  const named = choice && typeof choice === "object" ? choice.function?.name ?? choice.name : undefined;
  return tools.find((f) => f.name === named) ?? tools[0];
}

/** The schema of a response_format, or null; `json` false when it asks for no JSON. */
function responseSchema(inputs) {
  const rf = inputs?.response_format;
  if (!rf || typeof rf !== "object") return { json: false };
  if (rf.type === "json_object") return { json: true, schema: null };
  if (rf.type !== "json_schema") return { json: false };
  const js = rf.json_schema ?? rf.schema;
  if (!js || typeof js !== "object") return { json: true, schema: null };
  if (js.schema && typeof js.schema === "object") return { json: true, schema: js.schema };
  // Workers AI's shape puts the schema itself there; OpenAI's without a schema has only name/strict.
  const { name, strict, description, ...rest } = js;
  return { json: true, schema: Object.keys(rest).length ? js : null };
}

/**
 * What to answer when the scenario does not say: { call: {name, args} }, { text, json: true },
 * { text } (a tool result quoted), or null (the default "You said: ...").
 */
function autoAnswer(inputs) {
  const results = trailingToolResults(inputs);
  const tool = results.length ? null : chosenTool(inputs);
  if (tool) return { call: { name: tool.name, args: fillSchema(tool.parameters ?? { type: "object" }, inputs, "object") } };
  const said = results.length ? `The tool said: ${results.join("; ")}` : `You said: ${lastUserText(inputs)}`;
  const { json, schema } = responseSchema(inputs);
  if (json) return { json: true, text: JSON.stringify(schema ? fillSchema(schema, inputs) : { answer: said }) };
  return results.length ? { text: said } : null;
}

/** The word of the last user message a string value gets (see the header). */
function messageWord(inputs) {
  const words = lastUserText(inputs).match(/[\p{L}\p{N}][\p{L}\p{N}'_-]*/gu) || [];
  const caps = words.slice(1).filter((w) => /^\p{Lu}/u.test(w));
  return caps.at(-1) ?? words.at(-1) ?? null;
}

const FORMATS = {
  "date-time": "2025-01-01T00:00:00Z", date: "2025-01-01", time: "00:00:00Z", email: "user@example.com",
  uri: "https://example.com/", url: "https://example.com/", "uri-reference": "https://example.com/",
  uuid: "00000000-0000-4000-8000-000000000000", ipv4: "192.0.2.1", ipv6: "2001:db8::1", hostname: "example.com",
};

/**
 * A value that fits the JSON Schema `schema`: deterministic, small. `rootName` names the value
 * when it is not a property ("object" for tool arguments).
 */
function fillSchema(schema, inputs, rootName) {
  let word = messageWord(inputs);
  const take = (name) => {
    if (word === null) return name;
    const w = word;
    word = null;
    return w;
  };
  const resolve = (s, seen = 0) => {
    if (s === true || s == null) return {};
    if (s === false || typeof s !== "object") return {};
    if (typeof s.$ref === "string" && seen < 32) {
      let target = schema;
      if (s.$ref !== "#") {
        if (!s.$ref.startsWith("#/")) return {};
        for (const part of s.$ref.slice(2).split("/")) target = target?.[decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~")];
      }
      const { $ref, ...own } = s;
      return merge(resolve(target, seen + 1), own);
    }
    if (Array.isArray(s.allOf)) {
      const { allOf, ...own } = s;
      return [...allOf, own].map((x) => resolve(x, seen + 1)).reduce(merge, {});
    }
    for (const k of ["anyOf", "oneOf"]) {
      if (Array.isArray(s[k]) && s[k].length) {
        const { [k]: branches, ...own } = s;
        const branch = branches.find((b) => !(b && b.type === "null")) ?? branches[0];
        return merge(own, resolve(branch, seen + 1));
      }
    }
    return s;
  };
  const merge = (a, b) => {
    const out = { ...a, ...b };
    if (a.properties || b.properties) out.properties = { ...a.properties, ...b.properties };
    if (a.required || b.required) out.required = [...new Set([...(a.required || []), ...(b.required || [])])];
    return out;
  };
  const typeOf = (s) => {
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    const t = types.find((x) => x !== "null") ?? types[0];
    if (t) return t;
    if (s.properties || s.required || s.additionalProperties !== undefined) return "object";
    if (s.items || s.prefixItems) return "array";
    return "string";
  };
  const num = (s, integer) => {
    let v = 1;
    const lo = Math.max(typeof s.minimum === "number" ? s.minimum : -Infinity, typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum : -Infinity);
    const loX = typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum >= (s.minimum ?? -Infinity) : s.exclusiveMinimum === true;
    const hi = Math.min(typeof s.maximum === "number" ? s.maximum : Infinity, typeof s.exclusiveMaximum === "number" ? s.exclusiveMaximum : Infinity);
    const hiX = typeof s.exclusiveMaximum === "number" ? s.exclusiveMaximum <= (s.maximum ?? Infinity) : s.exclusiveMaximum === true;
    if (v < lo || (loX && v <= lo)) v = loX ? (integer ? Math.floor(lo) + 1 : lo + 1) : integer ? Math.ceil(lo) : lo;
    if (v > hi || (hiX && v >= hi)) v = hiX ? (integer ? Math.ceil(hi) - 1 : hi - 1) : integer ? Math.floor(hi) : hi;
    if (!integer && (v < lo || (loX && v <= lo))) v = (lo + hi) / 2;
    if (typeof s.multipleOf === "number" && s.multipleOf > 0) v = Math.ceil(v / s.multipleOf) * s.multipleOf;
    return v;
  };
  const str = (s, name) => {
    let v = typeof s.format === "string" && FORMATS[s.format] ? FORMATS[s.format] : take(name);
    if (Number.isInteger(s.minLength) && v.length < s.minLength) v = v.padEnd(s.minLength, "x");
    if (Number.isInteger(s.maxLength) && v.length > s.maxLength) v = Array.from(v).slice(0, s.maxLength).join("");
    return v;
  };
  const fill = (raw, name, depth) => {
    const s = resolve(raw);
    if (Object.hasOwn(s, "const")) return s.const;
    if (Object.hasOwn(s, "default")) return s.default;
    if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
    if (depth > 16) return null;
    switch (typeOf(s)) {
      case "object": {
        const props = s.properties && typeof s.properties === "object" ? s.properties : {};
        const required = Array.isArray(s.required) ? s.required : [];
        const keys = depth < 3 ? [...new Set([...Object.keys(props), ...required])] : required;
        const extra = s.additionalProperties && typeof s.additionalProperties === "object" ? s.additionalProperties : {};
        const out = {};
        for (const k of keys) out[k] = fill(Object.hasOwn(props, k) ? props[k] : extra, k, depth + 1);
        if (s.additionalProperties !== false) {
          for (let i = 0; Object.keys(out).length < (s.minProperties ?? 0); i++) out[`${name}_${i}`] = fill(extra, `${name}_${i}`, depth + 1);
        }
        return out;
      }
      case "array": {
        const tuple = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : [];
        const item = Array.isArray(s.items) ? s.additionalItems ?? {} : s.items ?? {};
        const min = Number.isInteger(s.minItems) ? s.minItems : 0;
        let n = Math.max(tuple.length, depth < 4 ? Math.max(1, min) : min);
        if (Number.isInteger(s.maxItems)) n = Math.min(n, s.maxItems);
        return Array.from({ length: n }, (_, i) => {
          const v = fill(i < tuple.length ? tuple[i] : item, name, depth + 1);
          if (!s.uniqueItems || i === 0) return v;
          return typeof v === "string" ? `${v}_${i}` : typeof v === "number" ? v + i : v;
        });
      }
      case "integer": return num(s, true);
      case "number": return num(s, false);
      case "boolean": return true;
      case "null": return null;
      default: return str(s, name);
    }
  };
  // A schema that constrains nothing accepts anything: an object is the useful answer.
  const notes = ["title", "description", "$schema", "$id", "$defs", "definitions", "$comment", "examples", "name", "strict"];
  if (!Object.keys(resolve(schema)).some((k) => !notes.includes(k))) return rootName === "object" ? {} : { answer: take("answer") };
  return fill(schema, rootName ?? "value", 0);
}

/** A made-up call in the answer's format: whole (classic arguments are an object). */
function callShape(s, call) {
  return s.format === "openai"
    ? { id: "call_0", type: "function", function: { name: call.name, arguments: JSON.stringify(call.args) } }
    : { name: call.name, arguments: call.args };
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

function usageFor(inputs, toks, call) {
  const prompt = (inputs?.messages || []).reduce((n, m) => n + estimateTokens(String(m.content ?? "")) + 4, 3);
  const completion = toks.length + (call ? 1 : 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function wholeAnswer(s, model, inputs, { toks, finish, call }) {
  const text = toks.join("");
  const usage = usageFor(inputs, toks, call);
  if (s.format === "openai") {
    const message = { role: "assistant", content: call ? null : text };
    if (s.toolCalls) message.tool_calls = s.toolCalls;
    if (call) message.tool_calls = [callShape(s, call)];
    const out = {
      id: "chatcmpl-sim", object: "chat.completion", created: Math.floor(Date.now() / 1000), model,
      choices: [{ index: 0, message, finish_reason: finish }],
    };
    if (s.usage !== false) out.usage = usage;
    return out;
  }
  const out = { response: text };
  if (s.toolCalls) out.tool_calls = s.toolCalls;
  if (call) out.tool_calls = [callShape(s, call)];
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
async function* sseChunks(s, model, inputs, { toks, finish, call }, report) {
  const knobs = ["failAfter", "abortAfter", "malformedAfter", "truncateAfter", "hangAfter"];
  for (let i = 0; i <= toks.length; i++) {
    const knob = knobs.find((k) => s[k] === i);
    // The last piece is out: the final count is reported before anything else is sent.
    if (i === toks.length && !knob && call) report(i + 1); // the tool call is the last piece
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
  if (call && s.format === "openai") {
    // Deltas as OpenAI sends them: id, type and name first, then the arguments in pieces.
    const chunk = (tc) => ({ id: "chatcmpl-sim", object: "chat.completion.chunk", model, choices: [{ index: 0, delta: { tool_calls: [tc] } }] });
    yield sseLine(chunk({ index: 0, id: "call_0", type: "function", function: { name: call.name, arguments: "" } }));
    for (const piece of splitText(JSON.stringify(call.args), 3)) yield sseLine(chunk({ index: 0, function: { arguments: piece } }));
  } else if (call) {
    yield sseLine({ response: "", tool_calls: [callShape(s, call)] });
  }
  if (s.format === "openai") yield sseLine({ id: "chatcmpl-sim", object: "chat.completion.chunk", model, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
  if (s.usage !== false) {
    const usage = usageFor(inputs, toks, call);
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

// ---- Embedding models (see the header) ----

export const EMBEDDING_MODELS = {
  "@cf/baai/bge-small-en-v1.5": { dims: 384, maxTokens: 512 },
  "@cf/baai/bge-base-en-v1.5": { dims: 768, maxTokens: 512 },
  "@cf/baai/bge-large-en-v1.5": { dims: 1024, maxTokens: 512 },
  "@cf/baai/bge-m3": { dims: 1024, maxTokens: 8192 },
};
export const EMBEDDING_MAX_TEXTS = 100;
const STOP_WORDS = new Set(("a an and are as at be but by can do does for from has have how i if in into is it its " +
  "me my no not of on or our so than that the their them then there these they this to was we were what when where " +
  "which who why will with you your").split(" "));
const failCounts = new Map();

/** The gateway's token estimate: ceil(ASCII chars / 4) + one per other character. */
export function estimateEmbeddingTokens(text) {
  let ascii = 0, other = 0;
  for (const c of text) c.codePointAt(0) < 128 ? ascii++ : other++;
  return Math.ceil(ascii / 4) + other;
}

function truncateToTokens(text, max) {
  let ascii = 0, other = 0, out = "";
  for (const c of text) {
    c.codePointAt(0) < 128 ? ascii++ : other++;
    if (Math.ceil(ascii / 4) + other > max) break;
    out += c;
  }
  return out;
}

function fnv1a(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function stem(w) {
  if (w.length > 4 && w.endsWith("ies")) return `${w.slice(0, -3)}y`;
  if (w.length > 3 && w.endsWith("s") && !/(ss|us|is)$/.test(w)) return w.slice(0, -1);
  return w;
}

/** The stand-in's embedding of `text`: deterministic, lexical, unit length, float32 values. */
export function embedText(text, dims, seed = "") {
  const v = new Float64Array(dims);
  const add = (feature, weight) => {
    const h = fnv1a(`${seed}\u0000${feature}`);
    v[h % dims] += (fnv1a(`\u0001${seed}${feature}`) & 1 ? -1 : 1) * weight;
  };
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) || []).map(stem);
  words.forEach((w, i) => {
    add(w, STOP_WORDS.has(w) ? 0.25 : 1);
    const next = words[i + 1];
    if (next && !(STOP_WORDS.has(w) && STOP_WORDS.has(next))) add(`${w} ${next}`, 0.5);
  });
  if (!words.length) add(`\u0002${text.trim()}`, 1);
  const norm = Math.hypot(...v) || 1;
  return Array.from(v, (x) => Math.fround(x / norm));
}

function badInput(detail) {
  return new InferenceUpstreamError(`5006: Error: oneOf at '/' not met, ${detail}`);
}

function embeddings(s, model, inputs) {
  const spec = EMBEDDING_MODELS[model];
  if (!inputs || typeof inputs !== "object" || inputs.text === undefined) {
    if (model === "@cf/baai/bge-m3" && inputs?.contexts) throw new Error("ai-sim: bge-m3 query/contexts input is not simulated; send {text}");
    throw badInput("required properties at '/' are 'text'");
  }
  const list = Array.isArray(inputs.text);
  const texts = list ? inputs.text : [inputs.text];
  if (texts.some((t) => typeof t !== "string")) throw badInput("Type mismatch of '/text'");
  if (texts.length > EMBEDDING_MAX_TEXTS) throw badInput(`Array at '/text' has ${texts.length} items, more than maxItems ${EMBEDDING_MAX_TEXTS}`);
  if (!texts.length) throw badInput("Array at '/text' is empty");
  const empty = texts.findIndex((t) => !t.length);
  if (empty >= 0) throw badInput(`String at '/text${list ? `/${empty}` : ""}' is shorter than minLength 1`);
  const pooling = inputs.pooling ?? "mean";
  if (pooling !== "mean" && pooling !== "cls") throw badInput("Value of '/pooling' is not one of 'mean', 'cls'");
  const truncate = s.overLength === "truncate" || (model === "@cf/baai/bge-m3" && inputs.truncate_inputs === true);
  const data = texts.map((t, i) => {
    const n = estimateEmbeddingTokens(t);
    if (n <= spec.maxTokens) return embedText(t, spec.dims, `${model}/${pooling}`);
    if (!truncate) throw new InferenceUpstreamError(`3006: Request is too large: text ${i} is about ${n} tokens, ${model} takes at most ${spec.maxTokens}`);
    return embedText(truncateToTokens(t, spec.maxTokens), spec.dims, `${model}/${pooling}`);
  });
  const out = { shape: [data.length, spec.dims], data, pooling };
  return s.asResponse ? Response.json(out) : out;
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
    const embedding = Object.hasOwn(EMBEDDING_MODELS, model);
    if (env.upstream && !embedding) return forward(env.upstream, env, model, inputs);

    const all = scenarioMap(env.scenarios);
    const s = { ...(all["*"] || {}), ...(all[model] || {}) };
    if (s.remoteOnly) throw new Error("Binding AI needs to be run remotely");
    if (s.unknownModel || !isKnown(all, model)) throw new InferenceUpstreamError(`5007: No such model ${model} or task`);
    await sleep(s.latencyMs || 0);
    if (s.hang) await never();
    if (Number.isInteger(s.failTimes)) {
      const n = (failCounts.get(model) ?? 0) + 1;
      failCounts.set(model, n);
      if (n <= s.failTimes) throw new InferenceUpstreamError(s.error || "3040: Capacity temporarily exceeded, please try again.");
    } else if (s.error) throw new InferenceUpstreamError(s.error);
    if (embedding) return embeddings(s, model, inputs);
    const answer = answerPieces(s, inputs);
    const traceId = options?.gateway?.metadata?.traceId ?? null;
    const report = progressReporter(env.progress, { traceId, call: crypto.randomUUID(), model });

    if (inputs?.stream) {
      const stream = answerStream(s, model, inputs, answer, report);
      return s.asResponse ? new Response(stream, { headers: { "content-type": "text/event-stream" } }) : stream;
    }
    await report.flush(answer.toks.length + (answer.call ? 1 : 0));
    const out = wholeAnswer(s, model, inputs, answer);
    return s.asResponse ? Response.json(out) : out;
  }
}

export default function (env) {
  return new Ai(env);
}
