// The operator console (assets/console, served by the worker's Static Assets at /console/) in headless Chromium against the real gateway: CSP and static serving, a wrong token, sign in, exact numbers of seeded requests on two keys, two models and a user (chart data, tables, budgets), create and revoke a key through the UI, keyboard use, 375 px; no console errors. Screenshots: test-results/console/.
//
// Needs /usr/bin/chromium (Debian's `chromium`; scripts/chromium.sh installs it, else this skips).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";
import { ROOT, startGateway, testTenant } from "../support/runtime.mjs";
import { ADMIN_TOKEN, CLIENT_TOKEN_SECRET, KEY_RE, bearer, userToken, until, sleep } from "../support/auth-kit.mjs";
import { buildConsole } from "../../assets/build-console.mjs";
import { WINDOWS, count, fill, micros, tightness, usd, windows } from "../../assets/console/format.js";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = path.join(ROOT, "test-results", "console");
const ALPHA = "@cf/test/alpha";
const BETA = "@cf/test/beta";
/** USD per million tokens (whole numbers, so a request costs exactly prompt*in + completion*out micro-dollars). */
const PRICES = { [ALPHA]: { input: 120, output: 450 }, [BETA]: { input: 35, output: 90 } };
const costOf = (model, prompt, completion) => prompt * PRICES[model].input + completion * PRICES[model].output;

function chromiumMissing() {
  if (fs.existsSync(CHROMIUM)) return false;
  const r = spawnSync("bash", [path.join(ROOT, "scripts/chromium.sh")], { encoding: "utf8" });
  return fs.existsSync(CHROMIUM) ? false : `headless Chromium is missing (${CHROMIUM}): ${`${r.stdout}${r.stderr}`.trim().split("\n").at(-1)}`;
}
const skip = chromiumMissing();
if (skip) console.log(`# SKIP console tests: ${skip}`);

describe("operator console in headless Chromium", { skip, timeout: 240_000 }, () => {
  let gw, browser, profile, url;
  const problems = []; // [page label, what]: uncaught errors, console errors, CSP violations
  const seeded = { requests: 0, errors: 0, byModel: {}, byKey: {}, alice: null, refusedCode: null };
  const keys = {};

  /** One /chat request; adds what it used to `seeded` under `who` (a key name, or "alice"). */
  async function chat(who, credential, model) {
    const res = await fetch(`${gw.url}/chat`, {
      method: "POST",
      headers: { ...bearer(credential), "content-type": "application/json" },
      body: JSON.stringify({ message: `Hello from ${who}`, ...(model === BETA ? { modelId: "beta" } : {}) }),
    });
    const body = await res.json();
    seeded.requests += 1;
    if (res.status !== 200) {
      seeded.errors += 1;
      seeded.refusedCode = body.error?.code;
      (seeded.byKey[who] ??= { requests: 0, tokens: 0, cost: 0 }).requests += 1;
      return res.status;
    }
    assert.equal(res.headers.get("x-model-id"), model);
    const { prompt, completion } = body.usage;
    const add = (o) => { o.requests += 1; o.prompt += prompt; o.completion += completion; o.tokens += prompt + completion; o.cost += costOf(model, prompt, completion); };
    const zero = () => ({ requests: 0, prompt: 0, completion: 0, tokens: 0, cost: 0 });
    add((seeded.byModel[model] ??= zero()));
    if (who === "alice") add((seeded.alice ??= zero()));
    else add((seeded.byKey[who] ??= zero()));
    return 200;
  }
  const total = (f) => Object.values(seeded.byModel).reduce((n, m) => n + m[f], 0);

  before(async () => {
    await buildConsole({ quiet: true });
    gw = await startGateway({
      tenant: testTenant({
        models: { chat: ALPHA, fallbacks: [], tiers: { beta: BETA } },
        pricing: PRICES,
        budget: { daily: 200000, monthly: 5000000, dailyUsd: "5", monthlyUsd: "100", store: "durable-object" },
        auth: { mode: "api-keys", keyCacheSeconds: 1 },
      }),
      vars: { ADMIN_TOKEN, CLIENT_TOKEN_SECRET },
      scenarios: { [ALPHA]: { text: "one two three four" }, [BETA]: { text: "a b c d e f g h" } },
      assets: true,
    });
    url = `${gw.url}/console/`;
    keys.alpha = await gw.adminKey({ name: "alpha-team", budget: { daily: 100000, monthly: 1000000, dailyUsd: "2", monthlyUsd: "20" } });
    keys.beta = await gw.adminKey({ name: "beta-team", budget: { dailyUsd: "1.5" } });
    keys.tiny = await gw.adminKey({ name: "tiny", budget: { daily: 1 } });
    for (const [who, model] of [["alpha-team", ALPHA], ["alpha-team", ALPHA], ["alpha-team", BETA], ["beta-team", BETA], ["beta-team", BETA], ["beta-team", ALPHA]]) {
      assert.equal(await chat(who, keys[who.split("-")[0]].key, model), 200);
    }
    assert.equal(await chat("alice", userToken({ sub: "alice", budget: 50000 }), ALPHA), 200);
    assert.equal(await chat("tiny", keys.tiny.key, ALPHA), 429);
    // Rollups are written off the hot path: wait until the history holds every request.
    const today = windows().today;
    await until(async () => (await gw.admin("GET", `/admin/usage/history?from=${today}&to=${today}&groupBy=day`)).body?.totals?.requests >= seeded.requests, 20_000);

    profile = fs.mkdtempSync(path.join(os.tmpdir(), "chromium-console-"));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM, headless: true, userDataDir: profile,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
    });
    await browser.defaultBrowserContext().overridePermissions(gw.url, ["clipboard-read", "clipboard-write", "clipboard-sanitized-write"]);
    fs.mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await gw?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  /** A new tab on the console; `allow(msg)` names console errors this test expects. */
  async function open(label, { viewport = { width: 1200, height: 900 }, allow = () => false } = {}) {
    const page = await browser.newPage();
    await page.evaluateOnNewDocument(() => document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)));
    page.on("pageerror", (e) => problems.push([label, `uncaught: ${e.message}`]));
    page.on("console", (m) => {
      if ((m.type() === "error" || /Content Security Policy/i.test(m.text())) && !allow(m)) problems.push([label, `${m.text()} (${m.location()?.url ?? ""})`]);
    });
    await page.setViewport(viewport);
    await page.goto(url, { waitUntil: "load" });
    return page;
  }

  async function signIn(page, token = ADMIN_TOKEN) {
    await page.waitForSelector("#token:focus");
    await page.type("#token", token);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.body.dataset.view !== "signin" && document.body.dataset.busy === "0", { timeout: 30_000 });
  }

  const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());
  /** The rows of a console table as {column key: text}. */
  const tableRows = (page, sel) => page.$$eval(`${sel} tbody tr:not(.empty)`, (trs) => trs.map((tr) => Object.fromEntries([...tr.cells].map((td) => [td.dataset.col, td.textContent.trim()]))));
  const storage = (page) => page.evaluate(() => ({ session: { ...sessionStorage }, local: { ...localStorage }, href: location.href }));

  test("the console is static assets with a strict CSP; the build script and _headers are not served", async () => {
    for (const [p, type] of [["/console/", "text/html"], ["/console/app.js", "javascript"], ["/console/style.css", "text/css"], ["/console/vendor/uplot.js", "javascript"]]) {
      const r = await fetch(gw.url + p);
      assert.equal(r.status, 200, p);
      assert.match(r.headers.get("content-type") ?? "", new RegExp(type), p);
      const csp = r.headers.get("content-security-policy") ?? "";
      assert.match(csp, /script-src 'self'(;|$)/, `${p}: ${csp}`);
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    }
    const html = await (await fetch(url)).text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, "no inline script");
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, "no inline style or handler");
    for (const p of ["/build-console.mjs", "/_headers", "/.assetsignore"]) assert.equal((await fetch(gw.url + p)).status, 404, p);
    const bare = await fetch(`${gw.url}/console`, { redirect: "manual" });
    assert.equal(bare.status, 307);
    assert.equal(bare.headers.get("location"), "/console/");
    assert.equal((await fetch(`${gw.url}/health`)).status, 200, "paths without a file still reach the worker");
  });

  test("a wrong token shows the API's error and keeps nothing", async () => {
    const page = await open("wrong token", { allow: (m) => /status of 404/.test(m.text()) && m.location()?.url?.endsWith("/admin/keys") });
    await signInWrong(page);
    const error = await text(page, "#signin-error");
    assert.match(error, /^Sign-in failed: the gateway answered 404 not_found: “no route for \/admin\/keys”\./);
    assert.match(error, /wrong admin token/);
    assert.equal(await page.$eval("#token", (e) => e.getAttribute("aria-invalid")), "true");
    assert.equal(await page.evaluate(() => document.activeElement.id), "token");
    assert.equal(await page.$eval("#nav", (e) => e.hidden), true);
    const s = await storage(page);
    assert.deepEqual([s.session, s.local], [{}, {}]);
    assert.ok(!s.href.includes("not-the-token"), s.href);
    await page.screenshot({ path: path.join(SHOTS, "signin-wrong-token.png") });
    await page.close();
  });

  async function signInWrong(page) {
    await page.waitForSelector("#token:focus");
    await page.type("#token", "not-the-token");
    await page.click("#signin-button");
    await page.waitForFunction(() => !document.getElementById("signin-error").hidden);
  }

  test("overview: spend, budgets, chart data, top keys and users, errors and provider health show exactly the seeded requests", async () => {
    const page = await open("overview");
    await signIn(page);
    const s = await storage(page);
    assert.deepEqual(Object.values(s.session), [ADMIN_TOKEN], "the token is in sessionStorage");
    assert.deepEqual(s.local, {});
    assert.ok(!s.href.includes(ADMIN_TOKEN));
    for (const id of ["overview-error", "chart-error", "top-keys-error", "top-users-error", "errors-error", "providers-error"]) {
      assert.equal(await page.$eval(`#${id}`, (e) => e.hidden), true, `#${id}: ${await text(page, `#${id}`)}`);
    }
    const w = windows();
    const tokens = total("tokens");
    const cost = total("cost");

    // Spend today and this month (every seeded request is today).
    for (const card of ["today", "month"]) {
      const sel = `[data-spend="${card}"]`;
      assert.equal(await text(page, `${sel} [data-field="cost"]`), usd(cost));
      assert.equal(await text(page, `${sel} [data-field="tokens"]`), `${count(tokens)} (prompt ${count(total("prompt"))}, completion ${count(total("completion"))})`);
      assert.equal(await text(page, `${sel} [data-field="requests"]`), count(seeded.requests));
      assert.equal(await text(page, `${sel} [data-field="errors"]`), count(seeded.errors));
    }

    // Budgets: the tenant's use is exactly the seeded use; each card shows the API's figures.
    const usage = (await gw.admin("GET", "/admin/usage")).body;
    assert.deepEqual([usage.tenant.daily.used, micros(usage.tenant.dailyUsd.used)], [tokens, cost]);
    const entries = [["tenant", usage.tenant], ...usage.keys.filter((k) => !k.revoked).sort((a, b) => tightness(b) - tightness(a)).map((k) => [`key:${k.id}`, k])];
    const scopes = await page.$$eval("#budgets [data-scope]", (els) => els.map((e) => e.dataset.scope));
    assert.deepEqual(scopes.slice(0, entries.length), entries.map(([s]) => s), "the tenant, then the tightest keys first");
    for (const [scope, entry] of entries) {
      for (const win of WINDOWS.filter((x) => entry[x.key])) {
        const v = entry[win.key];
        const show = (n) => (win.unit === "usd" ? usd(micros(n)) : count(n));
        const shown = await text(page, `[data-scope="${scope}"] [data-window="${win.key}"] .figures`);
        const unit = win.unit === "usd" ? "" : v.limit === 1 ? " token" : " tokens";
        assert.equal(shown, `${show(v.used)} of ${show(v.limit)}${unit} · ${show(v.remaining)} left`, `${scope} ${win.key}`);
        const meter = await page.$eval(`[data-scope="${scope}"] [data-window="${win.key}"] meter`, (m) => m.value);
        assert.ok(Math.abs(meter - Math.min(fill(v, win.unit), 1)) < 1e-9, `${scope} ${win.key} meter ${meter}`);
      }
    }
    assert.equal(await text(page, `[data-scope="key:${keys.alpha.id}"] [data-window="dailyUsd"] .figures`), `${usd(seeded.byKey["alpha-team"].cost)} of $2.00 · ${usd(2_000_000 - seeded.byKey["alpha-team"].cost)} left`);

    // The chart's data: 30 UTC days, one series per model, the seeded numbers today, 0 elsewhere.
    const chart = JSON.parse(await page.$eval("#chart", (e) => e.dataset.chart));
    assert.deepEqual(chart.days, w.days30);
    const zeros = Array(29).fill(0);
    assert.deepEqual(chart.series, [ALPHA, BETA].map((m) => ({ model: m, tokens: [...zeros, seeded.byModel[m].tokens], costMicros: [...zeros, seeded.byModel[m].cost] })));
    assert.equal(await page.$$eval("#chart canvas", (cs) => cs.filter((c) => c.width > 0 && c.height > 0).length), 2, "two drawn charts");
    const legend = await page.$$eval("#chart-tokens .u-legend .u-series th", (ths) => ths.map((t) => t.textContent.trim()));
    assert.deepEqual(legend, ["Day (UTC)", BETA, ALPHA]);
    const legendValues = (id) => page.$$eval(`#${id} .u-legend .u-series td`, (tds) => tds.map((t) => t.textContent.trim()));
    assert.deepEqual(await legendValues("chart-tokens"), [w.today, count(seeded.byModel[BETA].tokens), count(seeded.byModel[ALPHA].tokens)], "the legend shows today");
    assert.deepEqual(await legendValues("chart-cost"), [w.today, usd(seeded.byModel[BETA].cost), usd(seeded.byModel[ALPHA].cost)]);
    // The table behind the chart: every history row, as the API gives it.
    const days = (await gw.admin("GET", `/admin/usage/history?from=${w.from30}&to=${w.today}&groupBy=day,model`)).body;
    const shownDays = await tableRows(page, "#daily-table");
    assert.equal(shownDays.length, days.rows.length);
    for (const r of days.rows) {
      const row = shownDays.find((x) => x.model === (r.model ?? "(no model)") && x.day === r.day);
      assert.ok(row, `row ${r.day} ${r.model}`);
      assert.deepEqual(row, { day: r.day, model: r.model ?? "(no model)", requests: count(r.requests), errors: count(r.errors), prompt: count(r.promptTokens), completion: count(r.completionTokens), tokens: count(r.totalTokens), cost: usd(micros(r.costUsd)) });
      if (r.model === ALPHA || r.model === BETA) {
        assert.deepEqual([r.promptTokens, r.completionTokens, micros(r.costUsd)], [seeded.byModel[r.model].prompt, seeded.byModel[r.model].completion, seeded.byModel[r.model].cost], r.model);
      }
    }

    // Top keys and users by cost this month.
    const keyRows = await tableRows(page, "#top-keys");
    const byKey = (name) => seeded.byKey[name];
    const expectKeys = ["alpha-team", "beta-team", "tiny"].sort((a, b) => byKey(b).cost - byKey(a).cost);
    assert.deepEqual(keyRows, expectKeys.map((n) => ({ key: `${n}${keys[n.split("-")[0]].id}`, requests: count(byKey(n).requests), tokens: count(byKey(n).tokens), cost: usd(byKey(n).cost) })));
    assert.equal(await text(page, "#top-keys-note"), `Requests without an API key (end-user tokens, open mode): 1, ${count(seeded.alice.tokens)} tokens, ${usd(seeded.alice.cost)}.`);
    assert.deepEqual(await tableRows(page, "#top-users"), [{ user: "alice", requests: "1", tokens: count(seeded.alice.tokens), cost: usd(seeded.alice.cost) }]);
    assert.match(await text(page, "#top-users-note"), new RegExp(`^Requests without an end user \\(API keys, open mode\\): ${seeded.requests - 1}, `));

    // Errors by kind, and provider health.
    assert.deepEqual(await tableRows(page, "#errors"), [{ kind: seeded.refusedCode, requests: "1", share: `${(100 / seeded.requests).toFixed(1)}%` }]);
    assert.equal(seeded.refusedCode, "budget_exceeded");
    assert.equal(await text(page, "#errors-note"), `${seeded.requests} requests this month, 1 failed.`);
    assert.deepEqual(await tableRows(page, "#providers"), [{ name: "workers-ai", kind: "binding", status: "ok", models: "–", latency: "–", detail: "–" }]);
    await page.screenshot({ path: path.join(SHOTS, "overview.png"), fullPage: true });
    await page.reload({ waitUntil: "load" });
    await page.waitForFunction(() => document.body.dataset.view === "overview" && document.body.dataset.busy === "0");
    assert.equal(await text(page, '[data-spend="today"] [data-field="cost"]'), usd(cost), "a reload keeps the tab signed in");
    await page.close();
  });

  test("keys: create one with token and cost budgets (secret shown once, copy button), then revoke it after a confirmation", async () => {
    const page = await open("keys");
    await signIn(page);
    await page.click("#nav-keys");
    assert.equal(await page.$eval("#keys", (e) => e.hidden), false);
    const listed = await tableRows(page, "#keys-table");
    assert.deepEqual(listed.map((r) => r.name).sort(), ["alpha-team", "beta-team", "tiny"]);

    // A wrong amount is refused in the page, naming the field.
    await page.type("#key-name", "ui-made");
    await page.type("#key-daily-usd", "two dollars");
    await page.click("#create-key");
    assert.match(await text(page, "#create-error"), /^Cost budget per day: an amount of US dollars/);
    assert.equal(await page.evaluate(() => document.activeElement.id), "key-daily-usd");
    await page.click("#key-daily-usd", { clickCount: 3 });
    await page.type("#key-daily-usd", "0.5");
    await page.click("#scope-models"); // chat only
    await page.type("#key-daily", "1000");
    await page.type("#key-monthly", "20000");
    await page.type("#key-monthly-usd", "10");
    await page.type("#key-rate", "30");
    const expiry = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await page.$eval("#key-expiry", (e, v) => { e.value = v; }, expiry);
    await page.click("#create-key");
    await page.waitForFunction(() => !document.getElementById("new-key").hidden && document.body.dataset.busy === "0");
    const secret = await page.$eval("#new-key-secret", (e) => e.value);
    const [, id] = KEY_RE.exec(secret) ?? assert.fail(`a key: ${secret}`);
    assert.equal(await page.evaluate(() => document.activeElement.id), "new-key", "the secret panel gets the focus");
    const made = (await gw.admin("GET", "/admin/keys")).body.keys.find((k) => k.id === id);
    assert.deepEqual(
      { name: made.name, scopes: made.scopes, budget: made.budget, rateLimit: made.rateLimit, expiresAt: made.expiresAt },
      { name: "ui-made", scopes: ["chat"], budget: { daily: 1000, monthly: 20000, dailyUsd: "0.500000", monthlyUsd: "10.000000" }, rateLimit: 30, expiresAt: Date.parse(`${expiry}T00:00:00Z`) / 1000 + 86_400 },
    );
    const row = (await tableRows(page, "#keys-table")).find((r) => r.id === id);
    assert.deepEqual({ name: row.name, scopes: row.scopes, budget: row.budget, rate: row.rate, state: row.state },
      { name: "ui-made", scopes: "chat", budget: "1,000 tokens/day, $0.50/day, 20,000 tokens/month, $10.00/month", rate: "30/min", state: "active" });
    await page.click("#copy-key");
    await page.waitForFunction(() => document.getElementById("copy-status").textContent !== "");
    assert.equal(await text(page, "#copy-status"), "Copied to the clipboard.");
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await page.screenshot({ path: path.join(SHOTS, "keys-new-secret.png"), fullPage: true });
    const s = await storage(page);
    assert.ok(!JSON.stringify(s).includes(secret), "the secret is kept nowhere");
    assert.equal((await fetch(`${gw.url}/chat`, { method: "POST", headers: { ...bearer(secret), "content-type": "application/json" }, body: '{"message":"Hi"}' })).status, 200);
    await page.click("#new-key-done");
    assert.equal(await page.$eval("#new-key", (e) => e.hidden), true);
    assert.equal(await page.$eval("#new-key-secret", (e) => e.value), "", "the secret leaves the page");

    // Revoke: Cancel keeps the key; confirming revokes it.
    const revoke = `#keys-table tr[data-key="${id}"] button[data-revoke]`;
    await page.click(revoke);
    assert.equal(await page.$eval("#confirm-revoke", (d) => d.open), true);
    assert.match(await text(page, "#confirm-text"), new RegExp(`^Revoke “ui-made” \\(${id}\\)\\?`));
    assert.equal(await page.evaluate(() => document.activeElement.id), "confirm-cancel", "Cancel is the safe default");
    await page.screenshot({ path: path.join(SHOTS, "keys-revoke-confirm.png") });
    await page.keyboard.press("Enter");
    assert.equal(await page.$eval("#confirm-revoke", (d) => d.open), false);
    assert.equal((await gw.admin("GET", "/admin/keys")).body.keys.find((k) => k.id === id).revoked, false, "cancel revokes nothing");
    await page.click(revoke);
    await page.click("#confirm-ok");
    await page.waitForFunction((id) => document.querySelector(`#keys-table tr[data-key="${id}"] [data-col="state"]`)?.textContent === "revoked", {}, id);
    assert.equal(await text(page, "#status"), `Revoked key ui-made (${id}).`);
    assert.equal((await gw.admin("GET", "/admin/keys")).body.keys.find((k) => k.id === id).revoked, true);
    await sleep(2100); // keyCacheSeconds = 1
    assert.equal((await fetch(`${gw.url}/chat`, { method: "POST", headers: { ...bearer(secret), "content-type": "application/json" }, body: '{"message":"Hi"}' })).status, 401);
    await page.close();
  });

  test("keyboard only: sign in, move through the console, sign out; every field labelled, focus visible", async () => {
    const page = await open("keyboard");
    await page.waitForSelector("#token:focus");
    await page.keyboard.type(ADMIN_TOKEN);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.id), "signin-button");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.body.dataset.view === "overview" && document.body.dataset.busy === "0");
    await page.focus("a.skip"); // the first thing on the page; Tab on from there
    const order = [];
    for (let i = 0; i < 5; i++) {
      if (i) await page.keyboard.press("Tab");
      order.push(await page.evaluate(() => {
        const e = document.activeElement;
        return { id: e.id || e.className, tag: e.tagName, visible: e.matches(":focus-visible"), outline: getComputedStyle(e).outlineStyle };
      }));
    }
    assert.deepEqual(order.map((o) => o.id), ["skip", "nav-overview", "nav-keys", "refresh", "signout"]);
    assert.ok(order.slice(1).every((o) => o.visible && o.outline === "solid"), JSON.stringify(order));
    assert.ok(order.slice(1).every((o) => o.tag === "BUTTON"));
    await page.keyboard.down("Shift");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.up("Shift");
    await page.keyboard.press("Enter"); // API keys
    assert.equal(await page.evaluate(() => document.body.dataset.view), "keys");
    const unlabeled = await page.$$eval("input", (els) => els.filter((e) => !e.labels?.length && !e.getAttribute("aria-label")).map((e) => e.id));
    assert.deepEqual(unlabeled, []);
    const clickableNonButtons = await page.$$eval("div[onclick], span[onclick], td[onclick], [role=button]", (els) => els.length);
    assert.equal(clickableNonButtons, 0);
    await page.focus("#signout");
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.body.dataset.view), "signin");
    assert.equal(await page.evaluate(() => document.activeElement.id), "token");
    const s = await storage(page);
    assert.deepEqual([s.session, s.local], [{}, {}], "signing out forgets the token");
    assert.equal(await page.$$eval("#keys-table tr, #top-keys tr, #budgets *", (e) => e.length), 0, "and the data shown");
    await page.reload({ waitUntil: "load" });
    assert.equal(await page.evaluate(() => document.body.dataset.view), "signin", "a reload after sign out asks again");
    await page.close();
  });

  test("375 px wide: no horizontal scroll; the overview and keys fit", async () => {
    const page = await open("375", { viewport: { width: 375, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } });
    await signIn(page);
    const fits = async (when, sels) => {
      const l = await page.evaluate((sels) => ({
        width: document.documentElement.scrollWidth,
        boxes: sels.flatMap((s) => [...document.querySelectorAll(s)].map((e) => ({ s, ...e.getBoundingClientRect().toJSON() }))),
      }), sels);
      assert.ok(l.width <= 375, `${when}: the page is ${l.width} px wide`);
      for (const b of l.boxes) assert.ok(b.width > 0 && b.left >= 0 && b.right <= 375, `${when}: ${b.s} ${JSON.stringify(b)}`);
    };
    await fits("overview", ["nav button", "#spend .card", "#budgets .card", "#chart canvas", "#top-keys tr", "#errors tr", "#check-providers"]);
    await page.screenshot({ path: path.join(SHOTS, "overview-375.png"), fullPage: true });
    await page.click("#nav-keys");
    await fits("keys", ["#create-form input", "#create-key", "#keys-table tr", "#keys-table button"]);
    await page.screenshot({ path: path.join(SHOTS, "keys-375.png"), fullPage: true });
    await page.close();
  });

  test("no page threw, logged an error or broke the Content-Security-Policy", () => {
    assert.deepEqual(problems, []);
  });
});
