// Demo client for the edge chat gateway. No build step: the page loads the AI SDK's own chat
// client (`ai`), bundled once into vendor/ai.js by build-vendor.mjs (scripts/dev.sh and the
// browser test make it), and talks to the gateway's `POST /ui/chat`, the AI SDK UI message
// stream that `useChat` speaks (README "From a web page").
//
// `AbstractChat` is the state machine `useChat` wraps (send, stream into an assistant message,
// stop, errors); `pageState` below gives it plain state and re-renders the transcript on every
// change. `DefaultChatTransport` POSTs `{id, messages, trigger, messageId?}` (the whole
// conversation, as UI messages) plus the page's `model` through its `body` option, and parses
// the stream (`start`, `text-delta`, `tool-input-available`, `data-usage`, `finish`, `error`).
// Its `fetch` is wrapped only to read the response's status and x- headers (model, trace id,
// budget left, session id), which the gateway exposes to origins in cors.allowedOrigins.
//
// Credentials: the *API key or end-user token* field (or `?key=` in this page's URL, which
// scripts/dev.sh prints) is sent as `Authorization: Bearer <key>` (the transport's `headers`),
// never in a URL to the gateway. The page takes `?key=` out of the address bar at once and
// keeps the key in sessionStorage (this tab only). A real web app should not hold an API key at
// all: its backend mints short-lived end-user tokens (docs/auth.md) and the page sends those.
//
// Who keeps the conversation (docs/sessions.md). The page always sends the whole conversation,
// as useChat does. On a tenant with sessions the chat's `id` is the session: the gateway keeps
// the stored conversation and adds only the messages it does not hold yet (it knows them by
// their ids), so nothing reaches the model twice; the answer says so with `x-session-id`. On a
// tenant without sessions the conversation sent is the conversation. Either way the page needs
// no mode of its own. A new key (another owner) simply seeds that owner's session with the
// conversation so far. "New chat" starts a new chat id, so a new session.

import { formatDuration, formatResetTime, retryAfterSeconds } from "./format.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
if (params.get("gateway")) $("gateway").value = params.get("gateway");
if (params.get("model")) $("model").value = params.get("model");
if (params.get("knowledge")) $("knowledge").value = params.get("knowledge");
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

const tokens = new Intl.NumberFormat("en");
const gatewayBase = () => $("gateway").value.trim().replace(/\/+$/, "");

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

/** A message bubble: { div, text (the span the text goes in), tools (the tool-call lines) }. */
function addMessage(role) {
  const div = document.createElement("div");
  div.className = `msg ${role}`;
  const who = document.createElement("b");
  who.textContent = role === "user" ? "You" : "Assistant";
  const text = document.createElement("span");
  text.className = "text";
  div.append(who, text);
  const t = $("transcript");
  t.append(div);
  t.scrollTop = t.scrollHeight; // a new message always brings the transcript to its end
  return { div, text, tools: new Map() };
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

/** What the response headers say, before any token arrives. */
function showHeaders(h, ok) {
  setMeta("model", h.get("x-model-id"));
  setMeta("fallback", h.get("x-fallback"));
  setMeta("trace", h.get("x-trace-id"));
  const day = h.get("x-budget-remaining-daily");
  const month = h.get("x-budget-remaining-monthly");
  // A stream's figures are read when the gateway admits the request, right after it reserved
  // this request's worst case (prompt + output cap); a refusal's when it was refused.
  const when = ok ? "at admission, after reserving this request" : "when this request was refused";
  if (day || month) setMeta("budget", `${count(day)} tokens left today, ${count(month)} this month (${when})`);
}

/** What the answer's `data-usage` part says, with the finish reason of its `finish` part. */
function showUsage(d, finish) {
  setMeta("model", d.model);
  if (d.fallback !== undefined) setMeta("fallback", String(d.fallback));
  const u = d.usage;
  if (u) setMeta("usage", `prompt ${u.prompt}, completion ${u.completion}, total ${u.total}${u.estimated ? " (estimated)" : ""}`);
  const t = [d.ttftMs != null && `first token ${d.ttftMs} ms`, d.latencyMs != null && `total ${d.latencyMs} ms`].filter(Boolean);
  if (t.length) setMeta("timing", t.join(", "));
  if (d.maxTokensReduced != null) setMeta("finish", `${finish} (output cap lowered to ${d.maxTokensReduced} tokens by the budget)`);
  else setMeta("finish", finish);
  setMeta("trace", d.traceId);
  // The one line shown while the details are folded (narrow screens).
  $("meta-summary").textContent = `(${[d.model, finish, u && `${u.total} tokens`].filter(Boolean).join(", ")})`;
}

/** Who keeps the conversation, as this answer's headers tell it. */
function showConversation(res, sent) {
  const session = res.headers.get("x-session-id");
  if (session) {
    setMeta("history", `kept by the gateway: session ${session} (this page sends all ${sent} messages; the session adds only those it does not hold)`);
  } else {
    setMeta("history", `sent by this page: ${sent} message${sent === 1 ? "" : "s"} (this tenant has no sessions)`);
  }
}

/** The message for a non-2xx answer (`text`: its body), with what to do about it. */
function describeFailure(res, text) {
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  const e = body?.error ?? {};
  const code = e.code ?? "error";
  const message = e.message ?? (text || res.statusText);
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

// ---- The chat: the AI SDK's AbstractChat over page state ----

let sdk = null; // { AbstractChat, DefaultChatTransport } once vendor/ai.js has loaded
let chat = null; // the current AbstractChat; "New chat" makes another
/** The turn in flight: { res (the response, once it came), sent, views (its bubbles), asked } or null. */
let turn = null;
/** Message id -> its bubble. Bubbles of failed turns stay (greyed) after their messages leave the chat. */
let views = new Map();
/** The bubble shown while the answer has not started, taken over by the assistant message. */
let pending = null;

/** ChatState for AbstractChat: plain values, `onChange` after every change (what useChat's React state does). */
function pageState(onChange) {
  let messages = [];
  let status = "ready";
  let error;
  const snapshot = (x) => structuredClone(x);
  return {
    get messages() { return messages; },
    set messages(v) { messages = v; onChange(); },
    get status() { return status; },
    set status(v) { status = v; onChange(); },
    get error() { return error; },
    set error(v) { error = v; },
    pushMessage(m) { messages = [...messages, snapshot(m)]; onChange(); },
    popMessage() { messages = messages.slice(0, -1); onChange(); },
    replaceMessage(i, m) { messages = messages.map((old, j) => (j === i ? snapshot(m) : old)); onChange(); },
    snapshot,
  };
}

function newChat() {
  const { AbstractChat, DefaultChatTransport } = sdk;
  const transport = new DefaultChatTransport({
    // Read at every request, so the fields can change between turns.
    prepareSendMessagesRequest: () => ({ api: `${gatewayBase()}/ui/chat` }),
    headers: () => {
      const key = $("key").value.trim();
      return key ? { authorization: `Bearer ${key}` } : {};
    },
    body: () => {
      const model = $("model").value.trim();
      const knowledge = $("knowledge").value.trim();
      return { ...(model ? { model } : {}), ...(knowledge ? { knowledge } : {}) };
    },
    fetch: async (url, init) => {
      const res = await fetch(url, init);
      const t = turn;
      if (t && c === chat) {
        t.res = res;
        // The details below the transcript may grow: `follow` keeps the transcript's end in view.
        follow(() => {
          showHeaders(res.headers, res.ok);
          if (res.ok) showConversation(res, t.sent);
        });
      }
      return res;
    },
  });
  const c = new AbstractChat({
    transport,
    state: pageState(() => { if (c === chat) render(); }),
    onFinish: (f) => { c.lastFinish = f; },
  });
  return c;
}

const textOf = (m) => m.parts.filter((p) => p.type === "text").map((p) => p.text).join("");
/** A grounded answer's sources (`source-url` / `source-document` parts), numbered as cited. */
const sourceParts = (m) => m.parts.filter((p) => p.type === "source-url" || p.type === "source-document");

/** Shows a grounded answer's sources under its text: "Sources: [1] Title [2] Title". */
function showSources(v, m) {
  const list = sourceParts(m);
  if (!list.length || v.sources) return;
  v.sources = document.createElement("span");
  v.sources.className = "sources";
  v.sources.append("Sources: ");
  list.forEach((p, i) => {
    const label = `[${i + 1}] ${p.title ?? p.sourceId}`;
    const item = p.type === "source-url" && /^https?:/.test(p.url) ? Object.assign(document.createElement("a"), { href: p.url, textContent: label, target: "_blank", rel: "noopener" }) : document.createTextNode(label);
    v.sources.append(item, " ");
  });
  v.div.append(v.sources);
}
const toolParts = (m) => m.parts.filter((p) => p.type === "dynamic-tool" || p.type.startsWith("tool-"));

/** Brings the transcript up to date with the chat's messages (bubbles by message id). */
function render() {
  follow(() => {
    for (const m of chat.messages) {
      let v = views.get(m.id);
      if (!v) {
        if (m.role === "assistant" && pending) {
          v = pending; // already in turn.views
          pending = null;
        } else {
          v = addMessage(m.role);
          turn?.views.push(v);
        }
        views.set(m.id, v);
        if (m.role === "user" && turn && !turn.asked) {
          turn.asked = true;
          pending = addMessage("assistant"); // shows "…" until the answer starts
          turn.views.push(pending);
        }
      }
      const text = textOf(m);
      if (v.text.textContent !== text) v.text.textContent = text;
      if (m.role === "assistant") showSources(v, m);
      for (const p of toolParts(m)) {
        let line = v.tools.get(p.toolCallId);
        if (!line) {
          line = document.createElement("div");
          line.className = "tool";
          v.div.append(line);
          v.tools.set(p.toolCallId, line);
        }
        const name = p.type === "dynamic-tool" ? p.toolName : p.type.slice("tool-".length);
        const args = p.input === undefined ? "…" : JSON.stringify(p.input);
        line.textContent = `→ tool call ${name}(${args})`;
      }
    }
  });
}

/** The last `data-usage` part of a message (a continued message has one per request). */
const lastUsage = (m) => m?.parts.filter((p) => p.type === "data-usage").at(-1)?.data;

async function send(text) {
  clearError();
  clearHint();
  clearMeta();
  const c = chat;
  // `asked`: the user's message is on the page (render then shows a "…" bubble for the answer).
  const t = { res: null, sent: c.messages.length + 1, views: [], asked: false };
  turn = t;
  pending = null;
  c.lastFinish = null;
  setState("streaming");
  let failure = null;
  await c.sendMessage({ text }).catch((e) => { failure = e; });
  if (c !== chat) return; // "New chat" was pressed meanwhile: this turn's page is gone
  follow(() => settle(c, t, c.lastFinish, failure));
}

/** Settles a turn on the page: what stays in the conversation, what is shown as failed. */
function settle(c, t, finished, failure) {
  turn = null;
  const answer = finished?.message?.role === "assistant" ? finished.message : null;
  const usage = lastUsage(answer && c.messages.find((m) => m.id === answer.id));
  if (pending) {
    pending.div.remove(); // no answer ever started
    pending = null;
  }
  let outcome;
  let keep = false;
  if (c.status === "error" || failure) {
    outcome = "error";
    const e = c.error ?? failure;
    if (!t.res) {
      const base = gatewayBase();
      showError(
        `Could not reach ${base}/ui/chat (${e?.message}). Is the gateway running (bash scripts/dev.sh)? ` +
          `Does the tenant's cors.allowedOrigins include this page's origin, ${location.origin}?`,
      );
    } else if (!t.res.ok) {
      showError(describeFailure(t.res, e?.message ?? ""));
    } else {
      showError(`Stream failed: ${e?.message ?? "unknown error"}`); // the trace id is shown below
      setMeta("finish", "error");
    }
  } else if (finished?.isAbort) {
    outcome = "stopped";
    // A session keeps a turn the client stopped: the gateway reads the model to the end anyway
    // and stores the whole answer (docs/sessions.md). So the turn stays in the conversation.
    keep = Boolean(t.res?.ok && t.res.headers.get("x-session-id"));
    setMeta("finish", keep ? "stopped by you (the gateway finishes the answer and keeps it in the session)" : "stopped by you");
    if (keep && answer) {
      const v = views.get(answer.id);
      const note = document.createElement("span");
      note.className = "note";
      note.textContent = "Stopped. The gateway still finishes this answer and keeps it in the session.";
      if (v) follow(() => v.div.append(note));
    }
  } else if (!finished?.finishReason) {
    outcome = "error";
    showError("The stream ended before its `finish` part.");
  } else {
    outcome = "done";
    keep = true;
    if (usage) showUsage(usage, finished.finishReason);
    else setMeta("finish", finished.finishReason);
    answerToolCalls(c, answer);
  }
  if (!keep) {
    // Only completed turns stay in the conversation the model sees: this turn's messages leave
    // the chat (so they are not sent again) and stay on the page, greyed out.
    const drop = new Set([...views].filter(([, v]) => t.views.includes(v)).map(([id]) => id));
    c.messages = c.messages.filter((m) => !drop.has(m.id));
    for (const v of t.views) {
      if (v.div.classList.contains("user") || v.text.textContent || v.tools.size) v.div.classList.add("failed");
      else v.div.remove();
    }
  }
  setState(outcome);
}

/**
 * This page runs no tools (useChat requests carry no tool definitions, so models rarely call
 * any): a call the answer ends with gets an error output, so the next request is valid (the
 * gateway refuses a tool call without its result) and the model learns why.
 */
function answerToolCalls(c, answer) {
  if (!answer) return;
  for (const p of toolParts(answer)) {
    if (p.state !== "input-available") continue;
    const tool = p.type === "dynamic-tool" ? p.toolName : p.type.slice("tool-".length);
    c.addToolOutput({ tool, toolCallId: p.toolCallId, state: "output-error", errorText: "This demo page runs no tools." });
  }
}

function resetChat() {
  chat?.stop();
  turn = null;
  pending = null;
  views = new Map();
  chat = sdk ? newChat() : null;
  $("transcript").replaceChildren();
  clearError();
  clearHint();
  clearMeta();
  setState("idle");
}

$("send-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (turn) {
    showHint("Wait for the answer to finish, or press Stop.");
    return;
  }
  if (!$("message").value.trim()) {
    showHint("Type a message first: an empty message is not sent.", { invalid: true });
    $("message").focus();
    return;
  }
  if (!chat && !sdkFailed) {
    // Sent before vendor/ai.js finished loading (a slow network, a quick typist): wait for it.
    showHint("Loading the chat client…");
    await sdkLoading;
    clearHint();
    if (turn) return; // a second submit while waiting sent it already
  }
  const text = $("message").value.trim();
  if (!text) return;
  if (!chat) {
    showError("The chat client (vendor/ai.js) did not load: run `node examples/web-chat/build-vendor.mjs` (scripts/dev.sh does) and reload.");
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
$("stop").addEventListener("click", () => chat?.stop());
$("reset").addEventListener("click", resetChat);

// The page's `load` event does not wait for this import, so a message can be sent before it is
// done: the submit handler above waits for `sdkLoading`.
let sdkFailed = false;
const sdkLoading = import("./vendor/ai.js").then(
  (m) => {
    sdk = m;
    chat = newChat();
  },
  (e) => {
    sdkFailed = true;
    showError(`The chat client (vendor/ai.js) did not load (${e.message}): run \`node examples/web-chat/build-vendor.mjs\` (scripts/dev.sh does) and reload.`);
  },
);
