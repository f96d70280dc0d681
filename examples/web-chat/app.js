// Demo client for the edge chat gateway. No build step, no dependencies.
//
// `EventSource` can only GET, so the page POSTs to /chat with `fetch` and reads the SSE body
// itself: a ReadableStream reader, a TextDecoder, and a parser for `event:`/`data:` blocks.
// Events: token {text}, tool_call {id?, name, arguments}, error {code, message, traceId},
// done {finish, model, fallback, usage, latencyMs, ttftMs, traceId, sessionId?, historyMessages?}.
// The x- headers are readable cross-origin because the gateway lists them in
// Access-Control-Expose-Headers for origins in the tenant's cors.allowedOrigins.
//
// Credentials: the *API key or end-user token* field (or `?key=` in this page's URL, which
// scripts/dev.sh prints) is sent as `Authorization: Bearer <key>`, never in a URL to the
// gateway. The page takes `?key=` out of the address bar at once and keeps the key in
// sessionStorage (this tab only). A real web app should not hold an API key at all: its
// backend mints short-lived end-user tokens (docs/auth.md) and the page sends those.
//
// Who keeps the conversation (docs/sessions.md). A tenant either has server-side sessions
// (the gateway stores every turn and puts the history in front of the request) or not (the
// client sends the whole conversation each time). Sending both, the history *and* a session
// id, makes a sessions tenant see every earlier turn twice, and the prompt grows with the
// square of the turns. So the page keeps one of three modes:
//   "unknown"   nothing answered yet on this gateway and credential: send the conversation so
//               far as `messages`, with `"sessionId": "new"`;
//   "sessions"  the gateway keeps it: send only the new message and the session's id;
//   "stateless" the tenant has no sessions: send the conversation as `messages`, no sessionId.
// The "unknown" request is right in both cases: a tenant without sessions answers it like any
// other request, and a tenant with sessions starts a fresh session seeded with exactly the
// messages sent (nothing is doubled, because the new session is empty). The answer then says
// which case it is, in the gateway's own words rather than a guess: with sessions on it carries
// the session's id in the `x-session-id` header (at once, before the first token) and
// `historyMessages` in the `done` event; without sessions it has neither. This needs no extra
// request, and it asks the very route, credential and origin the chat uses, so it cannot
// disagree with them. (Probing `GET /sessions` instead would cost a request, need its own CORS
// and scope handling, and tell a 404 of a tenant without sessions apart from a wrong URL only
// by the error code.) Changing the gateway URL or the key makes the mode unknown again, so the
// next turn re-seeds a session (or learns there is none) on the new target.

import { formatDuration, formatResetTime, retryAfterSeconds } from "./format.js";

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

// On a narrow screen the answer details start folded, so the transcript keeps its room.
if (matchMedia("(max-width: 520px)").matches) $("details").open = false;

/** The conversation as the page shows it: completed turns, oldest first. */
let history = [];
/** Who keeps the conversation: "unknown", "sessions" or "stateless" (see the top of this file). */
let mode = "unknown";
/** The gateway's id for this conversation, in "sessions" mode. */
let sessionId = null;
/** Bumped when the gateway URL or the key changes, so an answer from the old target cannot set the mode. */
let target = 0;
/** Bumped by "New chat", so a request it aborted leaves the new conversation alone. */
let conversation = 0;
let controller = null;

const tokens = new Intl.NumberFormat("en");

/** A new gateway or credential: a new owner, maybe a new tenant. The next turn finds out again. */
function forgetMode() {
  mode = "unknown";
  sessionId = null;
  target += 1;
  $("meta-history").textContent = "–";
}
$("gateway").addEventListener("input", forgetMode);
$("key").addEventListener("input", forgetMode);

/** The /chat body for `text` in the current mode. */
function requestBody(text, modelId) {
  const options = { stream: true, ...(modelId ? { modelId } : {}) };
  if (mode === "sessions") return { message: text, sessionId, ...options };
  const messages = [...history, { role: "user", content: text }];
  if (mode === "stateless") return { messages, ...options };
  return { messages, sessionId: "new", ...options };
}

/** The answer says the gateway keeps this conversation, under `id`. */
function sessionsOn(turnTarget, id) {
  if (turnTarget !== target || !id) return;
  mode = "sessions";
  sessionId = id;
}

/** A complete answer without session facts: this tenant has no sessions. */
function sessionsOff(turnTarget) {
  if (turnTarget !== target) return;
  mode = "stateless";
  sessionId = null;
}

/** What an answer's `done` event (or JSON body) says about sessions. */
function learnFromAnswer(turnTarget, d) {
  if (Number.isInteger(d.historyMessages)) sessionsOn(turnTarget, d.sessionId);
  else if (d.finish !== "error") sessionsOff(turnTarget);
}

function showConversation(turnTarget, d, sent) {
  if (turnTarget !== target) return;
  if (mode === "sessions") {
    const earlier = Number.isInteger(d?.historyMessages) ? `, ${d.historyMessages} stored messages sent before this one` : "";
    setMeta("history", `kept by the gateway: session ${sessionId}${earlier}`);
  } else if (mode === "stateless") {
    setMeta("history", `sent by this page: ${sent} message${sent === 1 ? "" : "s"} (this tenant has no sessions)`);
  }
}

function setState(state) {
  document.body.dataset.state = state; // idle | streaming | done | error | stopped
  const busy = state === "streaming";
  $("send").disabled = busy;
  $("stop").disabled = !busy;
  $("transcript").setAttribute("aria-busy", String(busy));
}

/** Runs `change` on the transcript and keeps it scrolled to the end if it was there before. */
function follow(change) {
  const t = $("transcript");
  const atEnd = t.scrollHeight - t.scrollTop - t.clientHeight < 32;
  const out = change();
  if (atEnd) t.scrollTop = t.scrollHeight;
  return out;
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
  const t = $("transcript");
  t.append(div);
  t.scrollTop = t.scrollHeight; // a new message always brings the transcript to its end
  return div;
}

// The banner and the hint take room from the transcript: `follow` keeps its end in view.
function showError(text) {
  follow(() => {
    $("error").textContent = text;
    $("error").hidden = false;
  });
  $("error").scrollIntoView({ block: "nearest" });
}

function clearError() {
  follow(() => {
    $("error").textContent = "";
    $("error").hidden = true;
  });
}

function showHint(text, { invalid = false } = {}) {
  follow(() => { $("hint").textContent = text; });
  if (invalid) {
    $("message").setAttribute("aria-invalid", "true");
    $("message").setAttribute("aria-describedby", "hint");
  }
}

function clearHint() {
  follow(() => { $("hint").textContent = ""; });
  $("message").removeAttribute("aria-invalid");
  $("message").removeAttribute("aria-describedby");
}

function clearMeta() {
  for (const name of ["model", "fallback", "usage", "budget", "history", "timing", "finish", "trace"]) $(`meta-${name}`).textContent = "–";
  $("meta-summary").textContent = "";
}

function setMeta(name, value) {
  if (value !== undefined && value !== null && value !== "") $(`meta-${name}`).textContent = String(value);
}

const count = (v) => (v === null || v === undefined || v === "" || !Number.isFinite(Number(v)) ? "–" : tokens.format(Number(v)));

/** What the headers say, before any token arrives. */
function showHeaders(h, streaming) {
  setMeta("model", h.get("x-model-id"));
  setMeta("fallback", h.get("x-fallback"));
  setMeta("trace", h.get("x-trace-id"));
  const day = h.get("x-budget-remaining-daily");
  const month = h.get("x-budget-remaining-monthly");
  // A stream's figures are read when the gateway admits the request, right after it reserved
  // this request's worst case (prompt + output cap); a JSON answer's after it was billed.
  const when = streaming ? "at admission, after reserving this request" : "after this request was billed";
  if (day || month) setMeta("budget", `${count(day)} tokens left today, ${count(month)} this month (${when})`);
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
  // The one line shown while the details are folded (narrow screens).
  $("meta-summary").textContent = `(${[d.model, d.finish, u && `${u.total} tokens`].filter(Boolean).join(", ")})`;
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
    // `retry-after` is in seconds (a budget refusal waits for its window to reset, often
    // hours); the body of a budget refusal also has budget.retryAfterSecs and budget.resetsAt.
    const secs = retryAfterSeconds(res.headers.get("retry-after"), e.budget);
    if (secs === null) return `429 ${code}: ${message}`;
    const at = e.budget?.resetsAt ? formatResetTime(e.budget.resetsAt) : null;
    return `429 ${code}: ${message} (try again in ${formatDuration(secs)}${at ? `, ${at}` : ""})`;
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
  clearHint();
  clearMeta();
  const turnTarget = target;
  const turnConversation = conversation;
  const body = requestBody(text, modelId);
  const sent = body.messages?.length ?? 1;
  const question = addMessage("user", text);
  const answer = addMessage("assistant").querySelector(".text");

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
    const streaming = (res.headers.get("content-type") ?? "").includes("text/event-stream");
    showHeaders(res.headers, res.ok && streaming);
    if (!res.ok) return showError(await describeFailure(res));
    // With sessions on, the session's id is a header of every session turn: known before any token.
    sessionsOn(turnTarget, res.headers.get("x-session-id"));
    showConversation(turnTarget, null, sent);
    if (!streaming) {
      const j = await res.json(); // a JSON answer (not expected with stream: true)
      answer.textContent = j.text ?? "";
      showDone({ ...j, finish: j.finish ?? "stop" });
      learnFromAnswer(turnTarget, { ...j, finish: j.finish ?? "stop" });
      showConversation(turnTarget, j, sent);
      outcome = "done";
      return;
    }
    for await (const { event, data } of sseEvents(res.body, signal)) {
      if (event === "token") {
        follow(() => { answer.textContent += data.text; });
      } else if (event === "tool_call") {
        const tool = document.createElement("div");
        tool.className = "tool";
        const args = typeof data.arguments === "string" ? data.arguments : JSON.stringify(data.arguments);
        tool.textContent = `→ tool call ${data.name}(${args})`;
        follow(() => answer.parentElement.append(tool));
      } else if (event === "error") {
        showError(`Stream failed (${data.code}): ${data.message}`); // the trace id is shown below
      } else if (event === "done") {
        showDone(data);
        if (data.finish !== "error") outcome = "done";
        learnFromAnswer(turnTarget, data);
        showConversation(turnTarget, data, sent);
      }
    }
    if (outcome !== "done" && $("error").hidden && !signal.aborted) showError("The stream ended before its `done` event.");
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
    if (controller?.signal === signal) controller = null;
    // After "New chat" aborted this request, the page already belongs to the next conversation.
    if (turnConversation === conversation) finish(outcome, { text, question, answer, res, signal, turnTarget });
  }
}

/** Settles a turn on the page: what stays in the conversation, what is shown as failed. */
function finish(outcome, { text, question, answer, res, signal, turnTarget }) {
  // A session keeps a turn the client stopped: the gateway reads the model to the end anyway
  // and stores the whole answer (docs/sessions.md). So the turn stays in the conversation.
  const kept = signal.aborted && outcome !== "done" && res?.ok && mode === "sessions" && turnTarget === target;
  if (signal.aborted && outcome !== "done") {
    outcome = "stopped";
    setMeta("finish", kept ? "stopped by you (the gateway finishes the answer and keeps it in the session)" : "stopped by you");
  }
  if (outcome === "done" || kept) {
    history.push({ role: "user", content: text });
    if (answer.textContent) history.push({ role: "assistant", content: answer.textContent });
    if (kept) {
      const note = document.createElement("span");
      note.className = "note";
      note.textContent = "Stopped. The gateway still finishes this answer and keeps it in the session.";
      follow(() => answer.parentElement.append(note));
    }
  } else {
    // Only completed turns stay in the conversation the model sees.
    question.classList.add("failed");
    if (answer.textContent || answer.parentElement.querySelector(".tool")) answer.parentElement.classList.add("failed");
    else answer.parentElement.remove();
  }
  setState(outcome);
}

$("send-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("message").value.trim();
  if (controller) {
    showHint("Wait for the answer to finish, or press Stop.");
    return;
  }
  if (!text) {
    showHint("Type a message first: an empty message is not sent.", { invalid: true });
    $("message").focus();
    return;
  }
  $("message").value = "";
  send(text);
});
$("message").addEventListener("input", () => {
  if ($("hint").textContent) clearHint();
});
$("message").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("send-form").requestSubmit();
  }
});
$("stop").addEventListener("click", () => controller?.abort());
$("reset").addEventListener("click", () => {
  controller?.abort();
  controller = null;
  conversation += 1;
  history = [];
  mode = "unknown";
  sessionId = null;
  target += 1;
  $("transcript").replaceChildren();
  clearError();
  clearHint();
  clearMeta();
  setState("idle");
});
