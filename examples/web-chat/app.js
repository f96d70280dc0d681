// Demo client for the edge chat gateway. No build step, no dependencies.
//
// `EventSource` can only GET, so the page POSTs to /chat with `fetch` and reads the SSE body
// itself: a ReadableStream reader, a TextDecoder, and a parser for `event:`/`data:` blocks.
// Events: token {text}, tool_call {id?, name, arguments}, error {code, message, traceId},
// done {finish, model, fallback, usage, latencyMs, ttftMs, traceId, sessionId?}.
// The x- headers are readable cross-origin because the gateway lists them in
// Access-Control-Expose-Headers for origins in the tenant's cors.allowedOrigins.
//
// Credentials: the *API key or end-user token* field (or `?key=` in this page's URL, which
// scripts/dev.sh prints) is sent as `Authorization: Bearer <key>`, never in a URL to the
// gateway. The page takes `?key=` out of the address bar at once and keeps the key in
// sessionStorage (this tab only). A real web app should not hold an API key at all: its
// backend mints short-lived end-user tokens (docs/auth.md) and the page sends those.

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
if (params.get("gateway")) $("gateway").value = params.get("gateway");
if (params.get("model")) $("model").value = params.get("model");
const KEY_STORE = "edge-chat-gateway-demo-key";
$("key").value = params.get("key") ?? sessionStorage.getItem(KEY_STORE) ?? "";
if (params.has("key")) {
  params.delete("key");
  const rest = params.toString();
  window.history.replaceState(null, "", `${location.pathname}${rest ? `?${rest}` : ""}${location.hash}`);
}
const rememberKey = () => {
  const key = $("key").value.trim();
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
};
rememberKey();
$("key").addEventListener("change", rememberKey);

/** Completed turns sent as `messages` with each request. */
let history = [];
let sessionId = newSessionId();
let controller = null;

function newSessionId() {
  // randomUUID needs a secure context (https or loopback); fall back for plain-http LAN hosts.
  const id = crypto.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `web-${id}`;
}

function setState(state) {
  document.body.dataset.state = state; // idle | streaming | done | error | stopped
  const busy = state === "streaming";
  $("send").disabled = busy;
  $("stop").disabled = !busy;
  $("transcript").setAttribute("aria-busy", String(busy));
}

function addMessage(role, text = "") {
  const div = document.createElement("div");
  div.className = `msg ${role}`;
  const who = document.createElement("b");
  who.textContent = role === "user" ? "You" : "Assistant";
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  div.append(who, body);
  $("transcript").append(div);
  div.scrollIntoView({ block: "end" });
  return div;
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = false;
}

function clearError() {
  $("error").textContent = "";
  $("error").hidden = true;
}

function setMeta(name, value) {
  if (value !== undefined && value !== null && value !== "") $(`meta-${name}`).textContent = String(value);
}

/** What the headers say, before any token arrives. */
function showHeaders(h) {
  setMeta("model", h.get("x-model-id"));
  setMeta("fallback", h.get("x-fallback"));
  setMeta("trace", h.get("x-trace-id"));
  const day = h.get("x-budget-remaining-daily");
  const month = h.get("x-budget-remaining-monthly");
  if (day || month) setMeta("budget", `${day ?? "–"} / ${month ?? "–"} (before this request)`);
  const used = h.get("x-tokens-used");
  if (used) setMeta("usage", `prompt ${h.get("x-tokens-prompt")}, completion ${h.get("x-tokens-completion")}, total ${used}`);
}

/** What the final `done` event (or a JSON answer) says. */
function showDone(d) {
  setMeta("model", d.model);
  if (d.fallback !== undefined) setMeta("fallback", String(d.fallback));
  const u = d.usage;
  if (u) setMeta("usage", `prompt ${u.prompt}, completion ${u.completion}, total ${u.total}${u.estimated ? " (estimated)" : ""}`);
  const t = [d.ttftMs !== undefined && `first token ${d.ttftMs} ms`, d.latencyMs !== undefined && `total ${d.latencyMs} ms`].filter(Boolean);
  if (t.length) setMeta("timing", t.join(", "));
  setMeta("finish", d.finish);
  setMeta("trace", d.traceId);
}

/** Yields {event, data} for each SSE block of a fetch body, as the bytes arrive. */
async function* sseEvents(body, signal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const onAbort = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", onAbort);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let m;
      while ((m = /\r?\n\r?\n/.exec(buf))) {
        const ev = parseBlock(buf.slice(0, m.index));
        buf = buf.slice(m.index + m[0].length);
        if (ev) yield ev;
      }
    }
    const last = parseBlock(buf + decoder.decode());
    if (last) yield last;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const raw of block.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!line || line.startsWith(":")) continue; // blank or comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  const text = data.join("\n");
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}

/** The message for a non-2xx answer, with what to do about it. */
async function describeFailure(res) {
  const body = await res.json().catch(() => null);
  const e = body?.error ?? {};
  const code = e.code ?? "error";
  const message = e.message ?? res.statusText;
  if (res.status === 429) {
    const retry = res.headers.get("retry-after");
    return `429 ${code}: ${message}${retry ? ` (try again in ${retry} s)` : ""}`;
  }
  if (res.status === 401) {
    return `401 ${code}: ${message}. Paste the key from the \`API key:\` line that scripts/dev.sh printed (or an end-user token) into the key field.`;
  }
  return `${res.status} ${code}: ${message}${e.traceId ? ` (trace ${e.traceId})` : ""}`;
}

async function send(text) {
  const base = $("gateway").value.trim().replace(/\/+$/, "");
  const modelId = $("model").value.trim();
  const key = $("key").value.trim();
  clearError();
  for (const name of ["model", "fallback", "usage", "budget", "timing", "finish", "trace"]) $(`meta-${name}`).textContent = "–";
  history.push({ role: "user", content: text });
  const question = addMessage("user", text);
  const answer = addMessage("assistant").querySelector(".text");
  const body = { messages: history, stream: true, sessionId, ...(modelId ? { modelId } : {}) };

  controller = new AbortController();
  const { signal } = controller;
  setState("streaming");
  let outcome = "error";
  let res = null;
  try {
    res = await fetch(`${base}/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
      signal,
    });
    showHeaders(res.headers);
    if (!res.ok) return showError(await describeFailure(res));
    if (!(res.headers.get("content-type") ?? "").includes("text/event-stream")) {
      const j = await res.json(); // a JSON answer (not expected with stream: true)
      answer.textContent = j.text ?? "";
      showDone({ ...j, finish: "stop" });
      outcome = "done";
      return;
    }
    for await (const { event, data } of sseEvents(res.body, signal)) {
      if (event === "token") {
        answer.textContent += data.text;
      } else if (event === "tool_call") {
        const tool = document.createElement("div");
        tool.className = "tool";
        const args = typeof data.arguments === "string" ? data.arguments : JSON.stringify(data.arguments);
        tool.textContent = `→ tool call ${data.name}(${args})`;
        answer.parentElement.append(tool);
      } else if (event === "error") {
        showError(`Stream failed (${data.code}): ${data.message}`); // the trace id is shown below
      } else if (event === "done") {
        showDone(data);
        if (data.finish !== "error") outcome = "done";
      }
    }
    if (outcome === "done" && answer.textContent) history.push({ role: "assistant", content: answer.textContent });
    else if ($("error").hidden && !signal.aborted) showError("The stream ended before its `done` event.");
  } catch (e) {
    if (signal.aborted) {
      // handled below
    } else if (res) {
      showError(`The answer broke off: ${e.message}`);
    } else {
      showError(
        `Could not reach ${base}/chat (${e.message}). Is the gateway running (bash scripts/dev.sh)? ` +
          `Does the tenant's cors.allowedOrigins include this page's origin, ${location.origin}?`,
      );
    }
  } finally {
    if (signal.aborted && outcome !== "done") {
      outcome = "stopped";
      setMeta("finish", "stopped by you");
    }
    // Only completed turns stay in the conversation the model sees.
    if (outcome !== "done") {
      if (history.at(-1)?.role === "user") history.pop();
      question.classList.add("failed");
      if (answer.textContent || answer.parentElement.querySelector(".tool")) answer.parentElement.classList.add("failed");
      else answer.parentElement.remove();
    }
    controller = null;
    setState(outcome);
  }
}

$("send-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("message").value.trim();
  if (!text || controller) return;
  $("message").value = "";
  send(text);
});
$("message").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("send-form").requestSubmit();
  }
});
$("stop").addEventListener("click", () => controller?.abort());
$("reset").addEventListener("click", () => {
  controller?.abort();
  history = [];
  sessionId = newSessionId();
  $("transcript").replaceChildren();
  clearError();
  setState("idle");
});
