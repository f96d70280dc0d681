// Every tenant under tenants/ validates, dry-run deploys with wrangler (offline), and runs locally.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, startGateway, optionsFromWranglerToml } from "../support/runtime.mjs";

const TENANT_CHECK = path.join(ROOT, "target/debug/tenant-check");
const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");
const tenants = fs.readdirSync(path.join(ROOT, "tenants")).filter((d) => fs.existsSync(path.join(ROOT, "tenants", d, "wrangler.toml"))).sort();

test("there are at least two example tenants and a template", () => {
  assert.ok(tenants.includes("_template"));
  assert.ok(tenants.filter((t) => !t.startsWith("_")).length >= 2);
});

test("tenant-check validates every tenant", () => {
  const out = execFileSync(TENANT_CHECK, { cwd: ROOT, encoding: "utf8" });
  for (const t of tenants) assert.match(out, new RegExp(`^ok    tenants/${t} `, "m"));
  assert.match(out, new RegExp(`^${tenants.length} tenants checked, 0 failed$`, "m"));
});

describe("a deliberately broken copy fails with the path of the broken field", () => {
  const breakages = [
    ["daily = 500000", "daily = 0", "budget.daily: must be > 0"],
    ['fallbacks = ["@cf/meta/llama-3.2-3b-instruct"', 'fallbacks = ["@cf/meta/llama-3.1-8b-instruct"', "models.fallbacks[0]: `@cf/meta/llama-3.1-8b-instruct` is already the chat model"],
    ['premium = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"', 'premium = "@cf/other/model"', "models.tiers.premium: `@cf/other/model` is not in modelAllowList"],
    ["maxOutputTokens = 800", "maxOutputTokens = -5", "limits.maxOutputTokens: must be > 0"],
    ['new_sqlite_classes = ["BudgetLedger"]', 'new_classes = ["BudgetLedger"]', "wrangler.toml: migrations: budget.store is durable-object"],
  ];
  for (const [from, to, message] of breakages) {
    test(message, () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tenant-broken-"));
      try {
        const dir = path.join(tmp, "tenants", "broken");
        fs.mkdirSync(dir, { recursive: true });
        fs.symlinkSync(path.join(ROOT, "build"), path.join(tmp, "build"));
        const text = fs.readFileSync(path.join(ROOT, "tenants/acme/wrangler.toml"), "utf8");
        assert.ok(text.includes(from), `fixture text "${from}" missing`);
        fs.writeFileSync(path.join(dir, "wrangler.toml"), text.replace(from, to));
        const r = spawnSync(TENANT_CHECK, ["tenants/broken"], { cwd: tmp, encoding: "utf8" });
        assert.equal(r.status, 1);
        assert.ok(r.stdout.includes("FAIL  tenants/broken: 1 problem(s)"), r.stdout);
        assert.ok(r.stdout.includes(`      tenants/broken: ${message}`), r.stdout);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
});

describe("tenant-check reports every problem in one run, and a newcomer's slips", () => {
  /** Writes `tenants/<name>/wrangler.toml` for each entry in a temp repo and runs tenant-check there. */
  function run(files, args = []) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tenant-check-"));
    try {
      fs.symlinkSync(path.join(ROOT, "build"), path.join(tmp, "build"));
      for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.join(tmp, "tenants", name), { recursive: true });
        fs.writeFileSync(path.join(tmp, "tenants", name, "wrangler.toml"), text);
      }
      return spawnSync(TENANT_CHECK, args, { cwd: tmp, encoding: "utf8" });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const acme = fs.readFileSync(path.join(ROOT, "tenants/acme/wrangler.toml"), "utf8");
  const template = fs.readFileSync(path.join(ROOT, "tenants/_template/wrangler.toml"), "utf8");

  test("several problems: all listed, no Rust debug text", () => {
    const broken = acme.replace("daily = 500000", "daily = 0").replace('compatibility_date = "2026-04-26"', 'compatibility_date = "2026-09-01"')
      .replace('chat = "@cf/meta/llama-3.1-8b-instruct"', 'chat = "llama-3.1-8b-instruct"');
    const r = run({ broken });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /FAIL {2}tenants\/broken: [34] problem\(s\)/);
    assert.match(r.stdout, /compatibility_date: must be a YYYY-MM-DD date <= 2026-05-03 \(the pinned workerd\), got "2026-09-01"/);
    assert.match(r.stdout, /models\.chat: `llama-3\.1-8b-instruct` is neither a Workers AI id/);
    assert.doesNotMatch(r.stdout, /Some\(|None\b/);
  });

  test("a TOML syntax error names its line and column", () => {
    const r = run({ broken: acme.replace('name = "chat-gateway-acme"', 'name = "chat-gateway-acme') });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /tenants\/broken: wrangler\.toml: line \d+, column \d+: /);
  });

  test("a copy of the template with its placeholders fails; the template itself passes", () => {
    const r = run({ _template: template, copy: template });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^ok {4}tenants\/_template /m);
    assert.match(r.stdout, /tenants\/copy: wrangler\.toml: vars\.TENANT\.tenantId: is still the template's placeholder `example`/);
    assert.match(r.stdout, /tenants\/copy: wrangler\.toml: line \d+, column \d+: is still a placeholder \(`REPLACE-WITH-\.\.\.`\)/);
  });

  test("two tenants sharing a worker name fail", () => {
    const other = acme.replace('tenantId = "acme"', 'tenantId = "acme-two"');
    const r = run({ a: acme, b: other });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /tenants\/b: wrangler\.toml: name: `chat-gateway-acme` is also the worker name of tenants\/a/);
  });

  test("--help explains itself", () => {
    const r = spawnSync(TENANT_CHECK, ["--help"], { encoding: "utf8" });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /usage: cargo run -q -p tenant-check/);
  });
});

describe("wrangler deploy --dry-run works offline for every tenant", () => {
  for (const t of tenants) {
    test(t, () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), `dry-${t}-`));
      try {
        const r = spawnSync(WRANGLER, ["deploy", "--dry-run", "--outdir", out, "-c", `tenants/${t}/wrangler.toml`], {
          cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" }, timeout: 120_000,
        });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout + r.stderr, /--dry-run: exiting now/);
        const files = fs.readdirSync(out);
        assert.ok(files.includes("index.js"), files.join(","));
        assert.ok(files.some((f) => f.endsWith(".wasm")), files.join(","));
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    });
  }
});

describe("every tenant runs locally from its own wrangler.toml", () => {
  for (const t of tenants) {
    test(t, async () => {
      const opts = optionsFromWranglerToml(path.join(ROOT, "tenants", t, "wrangler.toml"));
      opts.vars = { ...opts.vars, ADMIN_TOKEN: "tenants-test-admin-token-0123456789" };
      const gw = await startGateway(opts);
      try {
        const health = await (await fetch(`${gw.url}/health`)).json();
        assert.equal(health.tenantId, opts.tenant.tenantId);
        assert.equal(health.models.chat, opts.tenant.models.chat);
        assert.equal(health.budget.store, opts.tenant.budget?.store ?? null);
        const headers = { "content-type": "application/json" };
        const body = JSON.stringify({ message: "Hi" });
        // Every tenant requires a key: refused without one, served with one made by the admin route.
        assert.equal(health.auth.mode, "api-keys");
        assert.equal((await fetch(`${gw.url}/chat`, { method: "POST", headers, body })).status, 401);
        const { key } = await gw.adminKey({ name: "tenants-test" });
        const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body });
        assert.equal(res.status, 200, await res.clone().text());
        assert.ok(res.headers.get("x-ratelimit-limit"), "rate limited per key");
        assert.equal(gw.aiCalls().at(-1).options.gateway.id, opts.tenant.aiGatewayId);
        if (opts.tenant.budget) assert.ok(res.headers.get("x-budget-remaining-daily"));
      } finally {
        await gw.close();
      }
    });
  }
});
