// The demo chat page (examples/web-chat) in a real browser: headless Chromium, driven by
// puppeteer-core, loads the page from one loopback port and talks to the gateway (workerd) on
// another, so CORS is the browser's own. The page is the AI SDK's own chat client
// (`AbstractChat` + `DefaultChatTransport`, bundled into vendor/ai.js by
// examples/web-chat/build-vendor.mjs, which this file runs when the bundle is missing or stale)
// against POST /ui/chat. Checks that tokens reach the page as they stream, the x- headers are
// readable, a foreign origin is refused, and a mid-stream failure and a 429 are shown; that the
// model gets a conversation once although the page always sends all of it (the chat id is the
// session on a tenant with sessions; on one without, the history is the page's), on the default
// tenant of the root wrangler.toml too; a tool call is shown; a grounded answer lists its sources
// (?knowledge=); the page's CSP holds; and the
// layout: the transcript scrolls in its own box, an empty message gets a hint, it works 375 px
// wide. Screenshots go to test-results/ (git-ignored).
//
// Needs /usr/bin/chromium (Debian's `chromium`): when it is missing this file runs
// scripts/chromium.sh to install it, and skips, saying why, only if that fails.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";
import { ROOT, startGateway, testTenant, optionsFromWranglerToml } from "../support/runtime.mjs";
import { serveStatic } from "../../dev/static.mjs";
import { formatDuration } from "../../examples/web-chat/format.js";
import { buildVendor } from "../../examples/web-chat/build-vendor.mjs";

const CHROMIUM = "/usr/bin/chromium";
const RESULTS = path.join(ROOT, "test-results");
const PAGE_DIR = path.join(ROOT, "examples/web-chat");
const ANSWER = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen";
const TOKEN_DELAY_MS = 60;
// A very long answer: ~300 lines once rendered, and one long unbreakable word.
const LONG_ANSWER = `${Array.from({ length: 100 }, (_, i) => `line-${i}`).join("\n\n\n")}\nhttps://example.com/${"x".repeat(300)}`;
const BUDGET_LABEL = /^[\d,]+ tokens left today, [\d,]+ this month \(at admission, after reserving this request\)$/;

/**
 * The prompt tokens the AI stand-in reports for `messages` (usageFor in tests/support/ai-sim.mjs:
 * 3, plus per message 4 and a quarter token per character, at least 1).
 */
function simPromptTokens(messages) {
  return messages.reduce((n, m) => n + Math.max(1, Math.ceil(String(m.content ?? "").length / 4)) + 4, 3);
}

/** A UI message (what useChat sends) as {role, content}: its text parts joined. */
const plainMessage = (m) => ({ role: m.role, content: m.parts.filter((p) => p.type === "text").map((p) => p.text).join("") });

function chromiumMissing() {
  if (fs.existsSync(CHROMIUM)) return false;
  const r = spawnSync("bash", [path.join(ROOT, "scripts/chromium.sh")], { encoding: "utf8" });
  if (fs.existsSync(CHROMIUM)) return false;
  const why = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-3).join(" | ");
  return `headless Chromium is missing (${CHROMIUM}) and scripts/chromium.sh could not install it: ${why || `exit ${r.status}`}`;
}
const skip = chromiumMissing();
if (skip) console.log(`# SKIP browser tests: ${skip}`);

describe("demo chat page in headless Chromium", { skip, timeout: 180_000 }, () => {
  let gw, web, foreign, browser, profile;
  const pageErrors = [];
  const cspViolations = [];

  before(async () => {
    await buildVendor(); // vendor/ai.js, when missing or older than package-lock.json
    web = await serveStatic(PAGE_DIR);
    foreign = await serveStatic(PAGE_DIR); // same page, an origin the tenant does not list
    gw = await startGateway({
      tenant: testTenant({
        models: {
          chat: "@cf/test/primary",
          fallbacks: ["@cf/test/backup"],
          tiers: { midfail: "@cf/test/midfail", echo: "@cf/test/echo", long: "@cf/test/long", tool: "@cf/test/tool" },
        },
        limits: { maxRequestBytes: 16384, maxOutputTokens: 1024 },
        cors: { allowedOrigins: [web.url, "https://app.acme.example"] },
        budget: { daily: 100000, monthly: 1000000, store: "durable-object" },
      }),
      scenarios: {
        "*": { text: ANSWER, tokenDelayMs: TOKEN_DELAY_MS },
        "@cf/test/midfail": { failAfter: 4 },
        "@cf/test/echo": { echoCount: "roles", tokenDelayMs: 0 },
        "@cf/test/long": { text: LONG_ANSWER, tokenDelayMs: 0 },
        "@cf/test/tool": { text: "", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
      },
    });
    profile = fs.mkdtempSync(path.join(os.tmpdir(), "chromium-profile-"));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", // containers often have a tiny /dev/shm
      ],
    });
    fs.mkdirSync(RESULTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await Promise.all([gw?.close(), web?.close(), foreign?.close()]);
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  /** A fresh tab on `origin`'s copy of the page, pointed at `gatewayUrl` (`key`: the ?key= link). */
  /** Collects the tab's uncaught errors and Content-Security-Policy violations. */
  function watch(page) {
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  }

  async function openPage(origin, gatewayUrl = gw.url, { viewport = { width: 900, height: 760 }, key } = {}) {
    const page = await browser.newPage();
    watch(page);
    await page.setViewport(viewport);
    const keyParam = key ? `&key=${encodeURIComponent(key)}` : "";
    await page.goto(`${origin}/?gateway=${encodeURIComponent(gatewayUrl)}${keyParam}`, { waitUntil: "load" });
    return page;
  }

  /** Types `text`, sends it (the Send button, or Enter), and waits until the page leaves the streaming state. */
  async function sendAndWait(page, text, { model = "", enter = false } = {}) {
    await page.$eval("#model", (el, v) => { el.value = v; }, model);
    await page.type("#message", text);
    if (enter) await page.keyboard.press("Enter"); // page.type leaves the focus in #message
    else await page.click("#send");
    await page.waitForFunction(() => document.body.dataset.state !== "idle" && document.body.dataset.state !== "streaming", { timeout: 30_000 });
    return page.evaluate(() => document.body.dataset.state);
  }

  /** The parsed bodies of every POST /ui/chat the page makes, in order. */
  function chatBodies(page) {
    const bodies = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && new URL(r.url()).pathname === "/ui/chat") bodies.push(JSON.parse(r.postData() ?? "null"));
    });
    return bodies;
  }

  const text = (page, sel) => page.$eval(sel, (el) => el.textContent);
  const promptTokens = async (page) => Number(/^prompt (\d+),/.exec(await text(page, "#meta-usage"))?.[1]);
  /** The page's layout facts: page size, viewport, the transcript box and where `sel` is. */
  const layout = (page, sel = "#error") => page.evaluate((sel) => {
    const t = document.getElementById("transcript");
    const r = document.querySelector(sel).getBoundingClientRect();
    return {
      pageHeight: document.documentElement.scrollHeight,
      pageWidth: document.documentElement.scrollWidth,
      innerHeight, innerWidth,
      transcript: { scrollHeight: t.scrollHeight, clientHeight: t.clientHeight, scrollTop: t.scrollTop },
      target: { top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height },
    };
  }, sel);

  test("tokens reach the page one by one while the answer streams; model, usage and budget are shown", async () => {
    const page = await openPage(web.url);
    // Record the answer's length each time the transcript changes, with a timestamp.
    await page.evaluate(() => {
      window.samples = [];
      new MutationObserver(() => {
        const el = document.querySelector(".msg.assistant:last-of-type .text");
        if (el) window.samples.push({ t: performance.now(), len: el.textContent.length });
      }).observe(document.getElementById("transcript"), { childList: true, subtree: true, characterData: true });
    });
    const state = await sendAndWait(page, "Hello from the browser");
    assert.equal(state, "done", await text(page, "#error"));

    assert.equal(await text(page, ".msg.assistant .text"), ANSWER);
    assert.equal((await page.$$(".msg.assistant")).length, 1, "one assistant message");
    const samples = await page.evaluate(() => window.samples);
    const lengths = [...new Set(samples.map((s) => s.len).filter((n) => n > 0))];
    const pieces = ANSWER.split(" ").length;
    assert.ok(lengths.length >= pieces / 2, `expected the answer to grow in many steps, saw lengths ${lengths.join(",")}`);
    assert.deepEqual(lengths, [...lengths].sort((a, b) => a - b), "the answer only grows");
    const first = samples.find((s) => s.len > 0);
    const full = samples.find((s) => s.len === ANSWER.length);
    const spread = full.t - first.t;
    assert.ok(spread >= (pieces - 1) * TOKEN_DELAY_MS * 0.5, `first to last token took ${spread.toFixed(0)} ms: not streamed`);

    assert.equal(await text(page, "#meta-model"), "@cf/test/primary");
    assert.equal(await text(page, "#meta-fallback"), "false");
    assert.match(await text(page, "#meta-usage"), /^prompt \d+, completion \d+, total \d+/);
    // Only the x-budget-remaining-* headers carry the budget: readable means CORS exposes them.
    assert.match(await text(page, "#meta-budget"), BUDGET_LABEL);
    assert.equal(await page.$eval("#meta-budget", (el) => el.previousElementSibling.textContent), "Budget left");
    assert.match(await text(page, "#meta-timing"), /^first token \d+ ms, total \d+ ms$/);
    assert.equal(await text(page, "#meta-finish"), "stop");
    assert.match(await text(page, "#meta-trace"), /^[\w-]{8,}$/);
    assert.equal(await text(page, "#meta-history"), "sent by this page: 1 message (this tenant has no sessions)");
    assert.equal(await page.$eval("#error", (el) => el.hidden), true);
    await page.screenshot({ path: path.join(RESULTS, "web-chat.png"), fullPage: true });
    await page.close();
  });

  test("the page's origin gets the CORS grant and can read every x- header", async () => {
    const page = await openPage(web.url);
    const seen = await page.evaluate(async (base) => {
      const res = await fetch(`${base}/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: "Hi" }),
      });
      const names = ["x-trace-id", "x-model-id", "x-fallback", "x-tokens-prompt", "x-tokens-completion", "x-tokens-used", "x-latency-ms", "x-budget-remaining-daily", "x-budget-remaining-monthly"];
      return { status: res.status, headers: Object.fromEntries(names.map((n) => [n, res.headers.get(n)])) };
    }, gw.url);
    assert.equal(seen.status, 200);
    for (const [name, value] of Object.entries(seen.headers)) assert.ok(value, `${name} is not readable from the page`);
    assert.equal(seen.headers["x-model-id"], "@cf/test/primary");

    // The route the page uses: its stream header and the budget are readable too.
    const ui = await page.evaluate(async (base) => {
      const res = await fetch(`${base}/ui/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "cors-check", trigger: "submit-message", messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "Hi" }] }] }),
      });
      await res.text();
      const names = ["x-trace-id", "x-model-id", "x-fallback", "x-budget-remaining-daily", "x-budget-remaining-monthly", "x-vercel-ai-ui-message-stream"];
      return { status: res.status, headers: Object.fromEntries(names.map((n) => [n, res.headers.get(n)])) };
    }, gw.url);
    assert.equal(ui.status, 200);
    for (const [name, value] of Object.entries(ui.headers)) assert.ok(value, `${name} is not readable from the page on /ui/chat`);
    assert.equal(ui.headers["x-vercel-ai-ui-message-stream"], "v1");

    for (const route of ["/chat", "/ui/chat"]) {
      const pre = await fetch(`${gw.url}${route}`, {
        method: "OPTIONS",
        headers: { origin: web.url, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" },
      });
      assert.equal(pre.status, 204, route);
      assert.equal(pre.headers.get("access-control-allow-origin"), web.url, route);
    }
    await page.close();
  });

  test("a page on a foreign origin is refused by the browser, and says so", async () => {
    const pre = await fetch(`${gw.url}/ui/chat`, {
      method: "OPTIONS",
      headers: { origin: foreign.url, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    assert.equal(pre.status, 403);
    assert.equal(pre.headers.get("access-control-allow-origin"), null);

    const page = await openPage(foreign.url);
    const direct = await page.evaluate(async (base) => {
      try {
        await fetch(`${base}/chat`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"message":"Hi"}' });
        return "allowed";
      } catch (e) {
        return `${e.name}: ${e.message}`;
      }
    }, gw.url);
    assert.match(direct, /^TypeError/, "the browser must block the cross-origin call");

    assert.equal(await sendAndWait(page, "Hello?"), "error");
    const error = await text(page, "#error");
    assert.match(error, /Could not reach .*\/ui\/chat/);
    assert.ok(error.includes(foreign.url), error);
    await page.close();
  });

  test("a message sent while the chat client (vendor/ai.js) is still loading waits for it, then is answered", async () => {
    const page = await browser.newPage();
    watch(page);
    // Hold vendor/ai.js back until the message is sent: the page's `load` event does not wait
    // for the dynamic import (a slow network, or a busy machine, did this in CI).
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.setRequestInterception(true);
    page.on("request", async (r) => {
      if (new URL(r.url()).pathname.endsWith("/vendor/ai.js")) await held;
      r.continue();
    });
    await page.goto(`${web.url}/?gateway=${encodeURIComponent(gw.url)}`, { waitUntil: "load" });
    await page.type("#message", "Sent early");
    await page.click("#send");
    assert.equal(await text(page, "#hint"), "Loading the chat client…");
    assert.equal(await page.evaluate(() => document.body.dataset.state), "idle");
    release();
    await page.waitForFunction(() => !["idle", "streaming"].includes(document.body.dataset.state), { timeout: 30_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.state), "done", await text(page, "#error"));
    assert.equal(await text(page, ".msg.user .text"), "Sent early");
    assert.equal(await text(page, ".msg.assistant .text"), ANSWER);
    assert.equal(await text(page, "#hint"), "");
    await page.close();
  });

  test("knowledge mode: ?knowledge= fills the field, the request carries it, and the answer's sources are listed under it", async () => {
    const ADMIN = "browser-kb-admin-token-0123456789abcdef";
    const kbGw = await startGateway({
      tenant: testTenant({ knowledge: { help: { embeddingModel: "@cf/baai/bge-small-en-v1.5" } }, cors: { allowedOrigins: [web.url] } }),
      vars: { ADMIN_TOKEN: ADMIN },
      vectorize: { KNOWLEDGE_INDEX: { dimensions: 384, metric: "cosine" } },
      d1Databases: { KNOWLEDGE_DB: "browser-knowledge" },
      queueProducers: { KNOWLEDGE_QUEUE: "browser-knowledge" },
      queueConsumers: { "browser-knowledge": { maxBatchSize: 5, maxBatchTimeout: 1 } },
      scenarios: { "*": { text: "Lamps are serviced on Tuesdays [1]." } },
    });
    try {
      const doc = "# Lighthouse maintenance\n\nThe lighthouse lamp is serviced every Tuesday night by the keeper.";
      const put = await fetch(`${kbGw.url}/admin/knowledge/help/documents/lamp?url=${encodeURIComponent("https://example.com/lamp")}`, {
        method: "PUT", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/markdown" }, body: doc,
      });
      assert.equal(put.status, 202, await put.text());
      for (let i = 0; ; i++) {
        const d = await (await fetch(`${kbGw.url}/admin/knowledge/help/documents/lamp`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
        if (d.document.state === "ready") break;
        assert.ok(i < 200 && d.document.state !== "failed", JSON.stringify(d));
        await new Promise((r) => setTimeout(r, 100));
      }
      const page = await browser.newPage();
      watch(page);
      const bodies = chatBodies(page);
      await page.goto(`${web.url}/?gateway=${encodeURIComponent(kbGw.url)}&knowledge=help`, { waitUntil: "load" });
      assert.equal(await page.$eval("#knowledge", (el) => el.value), "help");
      assert.equal(await sendAndWait(page, "When is the lighthouse lamp serviced?"), "done", await text(page, "#error"));
      assert.equal(bodies.at(-1)?.knowledge, "help", "the request names the knowledge base");
      assert.equal(await text(page, ".msg.assistant .text"), "Lamps are serviced on Tuesdays [1].");
      assert.equal(await text(page, ".msg.assistant .sources"), "Sources: [1] Lighthouse maintenance ");
      assert.equal(await page.$eval(".msg.assistant .sources a", (a) => a.href), "https://example.com/lamp");
      await page.screenshot({ path: path.join(RESULTS, "web-chat-sources.png"), fullPage: true });
      await page.close();
    } finally {
      await kbGw.close();
    }
  });

  test("a failure mid-stream keeps the partial answer and shows the error event", async () => {
    const page = await openPage(web.url);
    assert.equal(await sendAndWait(page, "Please fail", { model: "midfail" }), "error");
    assert.equal(await text(page, ".msg.assistant .text"), "one two three four");
    assert.equal((await page.$$(".msg.assistant")).length, 1, "one assistant message");
    // The UI stream's `error` part carries only a text (no code): the chat's error.
    assert.match(await text(page, "#error"), /^Stream failed: .+/);
    assert.equal(await text(page, "#meta-finish"), "error");
    assert.equal(await text(page, "#meta-model"), "@cf/test/midfail");
    assert.match(await text(page, "#meta-trace"), /^[\w-]{8,}$/);
    await page.screenshot({ path: path.join(RESULTS, "web-chat-stream-error.png"), fullPage: true });
    await page.close();
  });

  test("a 429 from the budget is shown with its retry time", async () => {
    // Room for a short request at the default output cap, not for a long prompt on top of it.
    const small = await startGateway({
      tenant: testTenant({
        cors: { allowedOrigins: [web.url] },
        limits: { maxRequestBytes: 4096, maxOutputTokens: 256, attemptTimeoutMs: 3000 },
        budget: { daily: 300, monthly: 100000, store: "durable-object", minOutputTokens: 1024 },
      }),
    });
    try {
      const page = await openPage(web.url, small.url);
      let retryAfter = null;
      page.on("response", (r) => { if (r.status() === 429) retryAfter = r.headers()["retry-after"]; });
      assert.equal(await sendAndWait(page, "lorem ipsum dolor sit amet ".repeat(20).trim()), "error");
      const error = await text(page, "#error");
      assert.ok(retryAfter, "the 429 carried retry-after");
      // The wait reads as time (e.g. "in 9 h 13 min"), computed from the same answer the page got.
      assert.match(error, /^429 budget_exceeded: .+ \(try again in .+\)$/);
      assert.ok(error.includes(`(try again in ${formatDuration(Number(retryAfter))}`), `${error} (retry-after ${retryAfter})`);
      if (Number(retryAfter) >= 60) assert.doesNotMatch(error, /in \d+ s\b/, "minutes or hours, not raw seconds");
      assert.equal((await page.$$(".msg.assistant")).length, 0, "no empty answer bubble is left behind");
      await page.close();
    } finally {
      await small.close();
    }
  });

  test("api-keys mode: ?key= fills the key field, leaves the address bar, goes out as Authorization: Bearer; a wrong key shows the 401", async () => {
    const keyed = await startGateway({
      tenant: testTenant({ auth: { mode: "api-keys" }, cors: { allowedOrigins: [web.url] } }),
      vars: { ADMIN_TOKEN: "browser-admin-token-0123456789abcdef" },
      scenarios: { "*": { text: "keyed answer" } },
    });
    try {
      const { id, key } = await keyed.adminKey({ name: "browser" });
      const page = await browser.newPage();
      watch(page);
      await page.goto(`${web.url}/?gateway=${encodeURIComponent(keyed.url)}&key=${encodeURIComponent(key)}`, { waitUntil: "load" });
      assert.equal(await page.$eval("#key", (el) => el.value), key);
      assert.ok(!page.url().includes("key="), `the key is taken out of the address bar: ${page.url()}`);
      assert.equal(await sendAndWait(page, "Hello with a key"), "done", await text(page, "#error"));
      assert.equal(await text(page, ".msg.assistant .text"), "keyed answer");
      assert.ok(keyed.requestLogs().some((l) => l.route === "/ui/chat" && l.keyId === id && l.status === 200), "the request was made with the key");

      await page.$eval("#key", (el) => { el.value = `gwk_000000000000_${"A".repeat(43)}`; });
      assert.equal(await sendAndWait(page, "Hello with a wrong key"), "error");
      assert.match(await text(page, "#error"), /^401 unauthorized: a valid API key or end-user token is required/);
      await page.$eval("#key", (el) => { el.value = ""; });
      assert.equal(await sendAndWait(page, "Hello without a key"), "error");
      assert.match(await text(page, "#error"), /^401 unauthorized/);
      await page.close();
    } finally {
      await keyed.close();
    }
  });

  test("the default tenant (root wrangler.toml, sessions on): the page sends the whole conversation under one chat id, the session takes only what it lacks, prompts do not double; a stopped turn stays in the session; a new key seeds its own", async () => {
    // The root wrangler.toml as scripts/dev.sh serves it: api-keys mode, rate limits, budget,
    // sessions. Only the page's origin is added (dev/serve.mjs does the same).
    const opts = optionsFromWranglerToml(path.join(ROOT, "wrangler.toml"));
    assert.ok(opts.tenant.sessions, "the default tenant has sessions on");
    opts.tenant.cors = { ...opts.tenant.cors, allowedOrigins: [...(opts.tenant.cors?.allowedOrigins ?? []), web.url] };
    const demo = await startGateway({
      ...opts,
      vars: { ...opts.vars, ADMIN_TOKEN: "browser-demo-admin-token-0123456789abcdef" },
      scenarios: {
        "*": { echoCount: "roles" },
        [opts.tenant.models.tiers.fast]: { tokens: 40, tokenDelayMs: 40 }, // slow enough to stop
      },
    });
    try {
      const { key } = await demo.adminKey({ name: "browser-default-tenant" });
      const session = async (id, k = key) => (await fetch(`${demo.url}/sessions/${id}`, { headers: { authorization: `Bearer ${k}` } })).json();
      const page = await openPage(web.url, demo.url, { key });
      const bodies = chatBodies(page);
      const turns = ["My name is Ada.", "What is my name?", "And what did I ask first?"];
      const shown = []; // the conversation as the page shows it
      const prompts = [];
      const lastAnswer = async () => (await page.$$eval(".msg.assistant .text", (els) => els.map((e) => e.textContent))).at(-1);
      for (const [i, q] of turns.entries()) {
        assert.equal(await sendAndWait(page, q, { enter: true }), "done", await text(page, "#error"));
        const a = await lastAnswer();
        shown.push({ role: "user", content: q }, { role: "assistant", content: a });
        // The model got each earlier message once: 1, 3, 5 messages, not 1, 4, 9.
        const roles = shown.slice(0, -1).map((m) => m.role).join(",");
        assert.equal(a, `messages=${2 * i + 1} roles=${roles}`);
        prompts.push(await promptTokens(page));
        assert.equal(prompts[i], simPromptTokens(shown.slice(0, -1)), `turn ${i + 1}: prompt tokens of the conversation sent once`);
      }
      assert.match(await text(page, "#meta-budget"), BUDGET_LABEL);
      // Growth is one turn's worth at a time, nowhere near doubling.
      assert.ok(prompts[2] - prompts[1] < prompts[1], `prompt tokens ${prompts.join(" -> ")}`);

      // What the page sent: useChat's body, the whole conversation each time, under one chat id.
      assert.equal(bodies.length, 3);
      const id = bodies[0].id;
      assert.match(id, /^[A-Za-z0-9]{16}$/, "the AI SDK's chat id");
      for (const [i, b] of bodies.entries()) {
        assert.deepEqual(Object.keys(b).sort(), ["id", "messages", "trigger"], "no model field when it is empty");
        assert.equal(b.id, id);
        assert.equal(b.trigger, "submit-message");
        assert.deepEqual(b.messages.map(plainMessage), shown.slice(0, 2 * i + 1), `turn ${i + 1} sends the conversation`);
      }
      assert.equal(await text(page, "#meta-history"), `kept by the gateway: session ${id} (this page sends all 5 messages; the session adds only those it does not hold)`);
      const listed = await (await fetch(`${demo.url}/sessions`, { headers: { authorization: `Bearer ${key}` } })).json();
      assert.deepEqual(listed.sessions.map((s) => [s.id, s.messages]), [[id, 6]]);
      assert.deepEqual((await session(id)).messages.map((m) => ({ role: m.role, content: m.content })), shown, "stored once");

      // Stopped mid-stream: the gateway still reads the answer to the end and stores the turn,
      // so the page keeps it (with a note) instead of greying it out.
      await page.$eval("#model", (el) => { el.value = "fast"; });
      await page.type("#message", "Count slowly");
      await page.click("#send");
      await page.waitForFunction(() => document.querySelector(".msg.assistant:last-child .text")?.textContent.length > 0, { timeout: 10_000 });
      await page.click("#stop");
      await page.waitForFunction(() => document.body.dataset.state === "stopped", { timeout: 10_000 });
      assert.equal(await page.$$eval(".msg.failed", (els) => els.length), 0, "the stopped turn is not shown as failed");
      assert.match(await text(page, ".msg.assistant:last-child .note"), /keeps it in the session/);
      assert.equal(bodies.at(-1).model, "fast", "the model field goes out in the body");
      let stored = null;
      for (let t = 0; t < 100 && stored?.messages?.length !== 8; t++) {
        await new Promise((r) => setTimeout(r, 100));
        stored = await session(id);
      }
      assert.equal(stored.messages.length, 8, "the stopped turn was stored whole");
      assert.equal(stored.messages[7].content.split(" ").length, 40);
      assert.equal(await sendAndWait(page, "Still there?"), "done", await text(page, "#error"));
      assert.match(await lastAnswer(), /^messages=9 roles=/);
      assert.equal(bodies.at(-1).id, id);
      assert.equal(bodies.at(-1).messages.length, 9, "the page sends the stopped turn too (the session holds it already)");

      // Another key is another owner: the same chat id names an empty session there, so the
      // whole conversation the page sends seeds it, once.
      const other = (await demo.adminKey({ name: "browser-default-tenant-2" })).key;
      await page.click("#key", { clickCount: 3 });
      await page.type("#key", other);
      assert.equal(await sendAndWait(page, "New key, same talk"), "done", await text(page, "#error"));
      assert.equal(bodies.at(-1).id, id);
      assert.equal(bodies.at(-1).messages.length, 11);
      assert.match(await lastAnswer(), /^messages=11 roles=/);
      assert.equal((await session(id, other)).messages.length, 12, "the new owner's session holds the conversation once");
      assert.equal((await session(id)).messages.length, 10, "the first key's session is unchanged");
      await page.screenshot({ path: path.join(RESULTS, "web-chat-sessions.png") });

      // "New chat": a new chat id, so a new session.
      await page.click("#reset");
      assert.equal(await page.$$eval(".msg", (els) => els.length), 0);
      assert.equal(await sendAndWait(page, "Fresh start"), "done", await text(page, "#error"));
      assert.notEqual(bodies.at(-1).id, id);
      assert.equal(bodies.at(-1).messages.length, 1);
      assert.equal(await lastAnswer(), "messages=1 roles=user");
      await page.close();
    } finally {
      await demo.close();
    }
  });

  test("a tenant without sessions gets the whole conversation each turn, and no session", async () => {
    const page = await openPage(web.url);
    const bodies = chatBodies(page);
    const turns = ["First", "Second", "Third"];
    const shown = [];
    for (const [i, q] of turns.entries()) {
      assert.equal(await sendAndWait(page, q, { model: "echo", enter: true }), "done", await text(page, "#error"));
      const a = (await page.$$eval(".msg.assistant .text", (els) => els.map((e) => e.textContent))).at(-1);
      shown.push({ role: "user", content: q });
      assert.equal(a, `messages=${2 * i + 1} roles=${shown.map((m) => m.role).join(",")}`);
      assert.deepEqual(bodies[i].messages.map(plainMessage), shown, `turn ${i + 1} sends the history`);
      assert.equal(bodies[i].model, "echo");
      assert.equal(await promptTokens(page), simPromptTokens(shown));
      shown.push({ role: "assistant", content: a });
    }
    assert.ok(bodies.every((b) => b.id === bodies[0].id && b.trigger === "submit-message"), JSON.stringify(bodies.map((b) => [b.id, b.trigger])));
    assert.equal(await text(page, "#meta-history"), "sent by this page: 5 messages (this tenant has no sessions)");
    await page.close();
  });

  test("a tool call is shown; the next turn sends it with an error output (the page runs no tools)", async () => {
    const page = await openPage(web.url);
    const bodies = chatBodies(page);
    assert.equal(await sendAndWait(page, "Weather in Oslo?", { model: "tool" }), "done", await text(page, "#error"));
    assert.equal(await text(page, ".msg.assistant .tool"), '→ tool call get_weather({"city":"Oslo"})');
    assert.equal(await text(page, "#meta-finish"), "tool-calls");
    assert.equal(await sendAndWait(page, "Thanks", { model: "echo" }), "done", await text(page, "#error"));
    const tool = bodies[1].messages[1].parts.find((p) => p.type === "tool-get_weather");
    assert.equal(tool.state, "output-error");
    assert.equal((await page.$$eval(".msg.assistant .text", (els) => els.map((e) => e.textContent))).at(-1), "messages=4 roles=user,assistant,tool,user");
    assert.equal((await page.$$(".msg.assistant")).length, 2);
    await page.close();
  });

  test("a very long answer scrolls inside the transcript: the page stays one viewport tall and the error banner stays in view", async () => {
    const page = await openPage(web.url);
    assert.equal(await sendAndWait(page, "Something long, please", { model: "long" }), "done", await text(page, "#error"));
    let l = await layout(page, "#send");
    assert.ok(l.transcript.scrollHeight > 3 * l.transcript.clientHeight, `the answer is long: ${JSON.stringify(l.transcript)}`);
    assert.ok(l.pageHeight <= l.innerHeight + 16, `page ${l.pageHeight} px tall in a ${l.innerHeight} px viewport`);
    assert.ok(l.transcript.scrollTop + l.transcript.clientHeight >= l.transcript.scrollHeight - 40, "the transcript follows the answer to its end");
    assert.ok(l.target.bottom <= l.innerHeight && l.target.top >= 0, "the send button is in view");

    assert.equal(await sendAndWait(page, "Now fail", { model: "midfail" }), "error");
    l = await layout(page, "#error");
    assert.equal(await page.$eval("#error", (el) => el.hidden), false);
    assert.ok(l.pageHeight <= l.innerHeight + 16, `page ${l.pageHeight} px tall in a ${l.innerHeight} px viewport`);
    assert.ok(l.target.height > 0 && l.target.top >= 0 && l.target.bottom <= l.innerHeight, `the error banner is in view: ${JSON.stringify(l.target)} of ${l.innerHeight}`);
    assert.equal(await page.evaluate(() => window.scrollY), 0, "the page itself did not scroll");
    assert.ok(l.transcript.scrollTop + l.transcript.clientHeight >= l.transcript.scrollHeight - 4, "the banner took room, and the transcript still shows its end");
    await page.screenshot({ path: path.join(RESULTS, "web-chat-long.png") });
    await page.close();
  });

  test("an empty message shows a hint and sends nothing; labels, Enter and visible focus", async () => {
    const page = await openPage(web.url);
    const bodies = chatBodies(page);
    await page.click("#send");
    assert.match(await text(page, "#hint"), /Type a message first/);
    assert.ok(await page.$eval("#hint", (el) => el.offsetHeight > 0), "the hint is visible");
    assert.equal(await page.$eval("#message", (el) => el.getAttribute("aria-invalid")), "true");
    assert.equal(await page.evaluate(() => document.activeElement.id), "message", "the focus goes to the message box");
    await page.type("#message", "   ");
    await page.keyboard.press("Enter");
    assert.match(await text(page, "#hint"), /Type a message first/);
    assert.equal(await page.evaluate(() => document.body.dataset.state), "idle");
    assert.equal(await page.$$eval(".msg", (els) => els.length), 0);
    await page.type("#message", "x");
    assert.equal(await text(page, "#hint"), "", "typing clears the hint");
    assert.equal(await page.$eval("#message", (el) => el.hasAttribute("aria-invalid")), false);
    assert.equal(bodies.length, 0, "no request was sent");

    // Every field has a label; Tab reaches the buttons with a visible focus ring.
    const unlabeled = await page.$$eval("input, textarea", (els) => els.filter((el) => !el.labels?.length && !el.getAttribute("aria-label")).map((el) => el.id));
    assert.deepEqual(unlabeled, []);
    await page.focus("#message");
    await page.keyboard.press("Tab");
    const focus = await page.evaluate(() => {
      const el = document.activeElement;
      return { id: el.id, visible: el.matches(":focus-visible"), outline: getComputedStyle(el).outlineStyle, width: getComputedStyle(el).outlineWidth };
    });
    assert.deepEqual({ id: focus.id, visible: focus.visible, outline: focus.outline }, { id: "send", visible: true, outline: "solid" });
    assert.notEqual(focus.width, "0px");
    await page.close();
  });

  test("375 px wide: no horizontal scroll, every control in view, before and after a long answer", async () => {
    const viewport = { width: 375, height: 667, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
    const page = await openPage(web.url, gw.url, { viewport });
    const check = async (when) => {
      for (const sel of ["#gateway", "#model", "#key", "#message", "#send", "#stop", "#reset"]) {
        const l = await layout(page, sel);
        assert.ok(l.pageWidth <= 375, `${when}: page ${l.pageWidth} px wide`);
        const r = l.target;
        assert.ok(r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= 375, `${when}: ${sel} is in view horizontally: ${JSON.stringify(r)}`);
        assert.ok(r.top >= 0 && r.bottom <= l.innerHeight, `${when}: ${sel} is in view vertically: ${JSON.stringify(r)} of ${l.innerHeight}`);
      }
    };
    await check("empty page");
    assert.equal(await page.$eval("#details", (el) => el.open), false, "the answer details start folded on a narrow screen");
    assert.equal(await sendAndWait(page, "Something long, please", { model: "long" }), "done", await text(page, "#error"));
    await check("after a long answer");
    assert.equal(await text(page, ".msg.assistant .text"), LONG_ANSWER, "the whole answer arrived");
    const l = await layout(page, "#details summary");
    assert.ok(l.pageHeight <= l.innerHeight + 16, `page ${l.pageHeight} px tall in a ${l.innerHeight} px viewport`);
    assert.ok(l.target.bottom <= l.innerHeight, "the folded details are in view");
    assert.match(await text(page, "#meta-summary"), /^\(@cf\/test\/long, stop, \d+ tokens\)$/);
    await page.screenshot({ path: path.join(RESULTS, "web-chat-375.png") });
    await page.click("#details summary");
    assert.equal(await page.$eval("#details", (el) => el.open), true, "the details unfold");
    assert.ok((await layout(page)).pageWidth <= 375, "unfolded, still no horizontal scroll");
    await page.close();
  });

  test("retry times read as time", () => {
    assert.equal(formatDuration(42), "42 s");
    assert.equal(formatDuration(60), "1 min");
    assert.equal(formatDuration(90), "1 min 30 s");
    assert.equal(formatDuration(25 * 60), "25 min");
    assert.equal(formatDuration(9 * 3600 + 13 * 60), "9 h 13 min");
    assert.equal(formatDuration(9 * 3600 + 12 * 60 + 1), "9 h 13 min", "rounded up, never too early");
    assert.equal(formatDuration(3 * 86400 + 5 * 3600), "3 d 5 h");
  });

  test("the page threw no errors and broke no Content-Security-Policy rule", () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(cspViolations, []);
  });
});
