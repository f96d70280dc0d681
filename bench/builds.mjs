// Compares worker builds side by side in one run: CPU per request (workerd, stand-in
// included), c=1 p50 latency and c=16 throughput, for /chat (JSON and SSE) and, where the
// build has it, /v1/chat/completions.
//
//   node bench/builds.mjs NAME=DIR[:nohistory] [...]  e.g. before=/tmp/before/build after=build
//
// Every build runs in its own workerd on the same AI stand-in (32-token answer, no delay).
// Numbers from a shared 2-core machine are noisy: compare ratios within one run.
import fs from "node:fs";
import path from "node:path";
import { startGateway, testTenant, ROOT } from "../tests/support/runtime.mjs";
import { workerdPids, cpuSeconds, quantile, load, drain } from "./lib.mjs";

const N = Number(process.env.BENCH_REQUESTS ?? 2000);
const C = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 300);
// Warm-up requests per case before measuring (BENCH_WARMUP); the first case also carries the
// tier-up compile of a fresh module, which a longer warm-up takes out of the numbers.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const ANSWER = Array.from({ length: 32 }, (_, i) => `word${i}`).join(" ");

const builds = process.argv.slice(2).map((a) => {
  // NAME=DIR:nohistory runs the build without its USAGE_HISTORY binding (what the rollups cost).
  const [name, spec] = a.split("=");
  const [dir, flag] = spec.split(":");
  return { name, dir: path.resolve(ROOT, dir), noHistory: flag === "nohistory" };
});
if (!builds.length) {
  console.error("usage: node bench/builds.mjs NAME=BUILD_DIR [NAME=BUILD_DIR ...]");
  process.exit(2);
}

const cases = [
  { name: "/chat json", path: "/chat", body: { message: "Hello there" } },
  { name: "/chat sse", path: "/chat", body: { message: "Hello there", stream: true } },
  { name: "/v1 json", path: "/v1/chat/completions", body: { messages: [{ role: "user", content: "Hello there" }] } },
  { name: "/v1 sse", path: "/v1/chat/completions", body: { messages: [{ role: "user", content: "Hello there" }], stream: true } },
];

const rows = [];
const notes = [];
for (const b of builds) {
  const before = new Set(workerdPids());
  // A build from before usage history (issue 20) has no UsageHistory class: bind it only where it exists.
  const objects = (history) => ({
    BUDGET_LEDGER: { className: "BudgetLedger", useSQLite: true },
    SESSIONS: { className: "ChatSession", useSQLite: true },
    ...(history ? { USAGE_HISTORY: { className: "UsageHistory", useSQLite: true } } : {}),
  });
  const hasHistory = !b.noHistory && fs.readFileSync(path.join(b.dir, "index.js"), "utf8").includes("UsageHistory");
  const start = (tenant) => startGateway({ buildDir: b.dir, tenant, scenarios: { "*": { text: ANSWER, anyModel: true } }, recordCalls: false, durableObjects: objects(hasHistory) });
  // A model with a built-in price, so a build with cost accounting prices every answer.
  const tenant = testTenant({ models: { chat: "@cf/meta/llama-3.1-8b-instruct", fallbacks: [] }, limits: { maxRequestBytes: 4096, maxOutputTokens: 256, attemptTimeoutMs: 5000 } });
  let gw = await start(tenant);
  // A build from before client authentication refuses the tenant's `auth` (open mode): run it without.
  const health = await fetch(`${gw.url}/health`);
  await health.arrayBuffer();
  if (health.status !== 200) {
    await gw.close();
    delete tenant.auth;
    gw = await start(tenant);
    notes.push(`${b.name}: /health answered ${health.status} with auth.mode = "open"; ran without \`auth\``);
  }
  const pids = workerdPids().filter((p) => !before.has(p));
  try {
    for (const c of cases) {
      const send = () =>
        fetch(`${gw.url}${c.path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(c.body) }).then(drain);
      try {
        await send();
      } catch (e) {
        notes.push(`${b.name} ${c.name}: skipped (${e.message}; this build has no such route?)`);
        continue;
      }
      await load(send, WARMUP, C); // warm-up
      const seq = await load(send, SEQUENTIAL, 1);
      const cpu0 = cpuSeconds(pids);
      const par = await load(send, N, C);
      const cpu = cpuSeconds(pids) - cpu0;
      rows.push({
        build: b.name,
        case: c.name,
        p50_c1_ms: quantile(seq.latencies, 0.5).toFixed(2),
        p99_c1_ms: quantile(seq.latencies, 0.99).toFixed(2),
        rps_c16: Math.round(N / par.wall),
        cpu_us_per_req: Math.round((cpu / N) * 1e6),
        failures: par.failures + seq.failures,
      });
    }
  } finally {
    await gw.close();
  }
}
console.table(rows);
for (const n of notes) console.log(`- ${n}`);
