// The demo chat page (examples/web-chat) in a real browser: headless Chromium, driven by
// puppeteer-core, loads the page from one loopback port and talks to the gateway (workerd) on
// another, so CORS is the browser's own. Checks that tokens reach the page as they stream, the
// x- headers are readable, a foreign origin is refused, and a mid-stream failure and a 429 are
// shown. Screenshots go to test-results/ (git-ignored).
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
import { ROOT, startGateway, testTenant } from "../support/runtime.mjs";
import { serveStatic } from "../../dev/static.mjs";

const CHROMIUM = "/usr/bin/chromium";
const RESULTS = path.join(ROOT, "test-results");
const PAGE_DIR = path.join(ROOT, "examples/web-chat");
const ANSWER = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen";
const TOKEN_DELAY_MS = 60;

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

  before(async () => {
    web = await serveStatic(PAGE_DIR);
    foreign = await serveStatic(PAGE_DIR); // same page, an origin the tenant does not list
    gw = await startGateway({
      tenant: testTenant({
        models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"], tiers: { midfail: "@cf/test/midfail" } },
        cors: { allowedOrigins: [web.url, "https://app.acme.example"] },
        budget: { daily: 100000, monthly: 1000000, store: "durable-object" },
      }),
      scenarios: {
        "*": { text: ANSWER, tokenDelayMs: TOKEN_DELAY_MS },
        "@cf/test/midfail": { failAfter: 4 },
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

  /** A fresh tab on `origin`'s copy of the page, pointed at `gatewayUrl`. */
  async function openPage(origin, gatewayUrl = gw.url) {
    const page = await browser.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.setViewport({ width: 900, height: 760 });
    await page.goto(`${origin}/?gateway=${encodeURIComponent(gatewayUrl)}`, { waitUntil: "load" });
    return page;
  }

  /** Types `text`, sends it, and waits until the page leaves the streaming state. */
  async function sendAndWait(page, text, { model = "" } = {}) {
    await page.$eval("#model", (el, v) => { el.value = v; }, model);
    await page.type("#message", text);
    await page.click("#send");
    await page.waitForFunction(() => document.body.dataset.state !== "idle" && document.body.dataset.state !== "streaming", { timeout: 30_000 });
    return page.evaluate(() => document.body.dataset.state);
  }

  const text = (page, sel) => page.$eval(sel, (el) => el.textContent);

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
    assert.match(await text(page, "#meta-budget"), /^\d+ \/ \d+ \(before this request\)$/);
    assert.match(await text(page, "#meta-timing"), /^first token \d+ ms, total \d+ ms$/);
    assert.equal(await text(page, "#meta-finish"), "stop");
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

    const pre = await fetch(`${gw.url}/chat`, {
      method: "OPTIONS",
      headers: { origin: web.url, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), web.url);
    await page.close();
  });

  test("a page on a foreign origin is refused by the browser, and says so", async () => {
    const pre = await fetch(`${gw.url}/chat`, {
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
    assert.match(error, /Could not reach/);
    assert.ok(error.includes(foreign.url), error);
    await page.close();
  });

  test("a failure mid-stream keeps the partial answer and shows the error event", async () => {
    const page = await openPage(web.url);
    assert.equal(await sendAndWait(page, "Please fail", { model: "midfail" }), "error");
    assert.equal(await text(page, ".msg.assistant .text"), "one two three four");
    assert.match(await text(page, "#error"), /^Stream failed \(ai_error\): .+/);
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
        budget: { daily: 300, monthly: 100000, store: "durable-object" },
      }),
    });
    try {
      const page = await openPage(web.url, small.url);
      assert.equal(await sendAndWait(page, "lorem ipsum dolor sit amet ".repeat(20).trim()), "error");
      assert.match(await text(page, "#error"), /^429 budget_exceeded: .+ \(try again in \d+ s\)$/);
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
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(`${web.url}/?gateway=${encodeURIComponent(keyed.url)}&key=${encodeURIComponent(key)}`, { waitUntil: "load" });
      assert.equal(await page.$eval("#key", (el) => el.value), key);
      assert.ok(!page.url().includes("key="), `the key is taken out of the address bar: ${page.url()}`);
      assert.equal(await sendAndWait(page, "Hello with a key"), "done", await text(page, "#error"));
      assert.equal(await text(page, ".msg.assistant .text"), "keyed answer");
      assert.ok(keyed.requestLogs().some((l) => l.route === "/chat" && l.keyId === id && l.status === 200), "the request was made with the key");

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

  test("the page threw no errors", () => {
    assert.deepEqual(pageErrors, []);
  });
});
