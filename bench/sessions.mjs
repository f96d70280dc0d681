// What a session round trip costs on POST /chat: one gateway (build/) with `sessions: {enabled:
// true}` in open mode, the same request without a session, continuing one session per client
// lane (its history grows by 2 messages a turn) and with a fresh sessionId every request
// (history stays empty). c=1 p50/p99 latency and CPU per request (workerd, stand-in and
// session objects included), then c=16 throughput and CPU per request, JSON and SSE.
//
//   node bench/sessions.mjs                  (after scripts/build.sh; about 1 to 2 minutes)
//
// Options: BENCH_REQUESTS (c=16 run, default 1000), BENCH_CONCURRENCY (16), BENCH_SEQUENTIAL
// (c=1 run, 300), BENCH_BUILD (build). Open mode: every session has the one owner `anonymous`,
// so the fresh-id rows grow that owner's index (one object, read and rewritten whole by every
// session turn) by one entry a request; "index" says how many entries it held when each row
// started (check requests and warm-up included) and ended. "stored_msgs": messages in
// the c=1 session / the longest c=16 lane session when the row ended. Noisy on a shared 2-core
// machine: compare ratios within one run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startGateway, testTenant, ROOT } from "../tests/support/runtime.mjs";
import { workerdPids, cpuSeconds, quantile, load, keepAliveAgent, post } from "./lib.mjs";

const N = Number(process.env.BENCH_REQUESTS ?? 1000);
const C = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 300);
const ANSWER = Array.from({ length: 32 }, (_, i) => `word${i}`).join(" ");

// A copy of the build, so a rebuild while this runs changes nothing.
const source = path.resolve(ROOT, process.env.BENCH_BUILD ?? "build");
const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-sessions-"));
fs.cpSync(source, buildDir, { recursive: true });
const stamp = fs.existsSync(path.join(buildDir, ".stamp")) ? fs.readFileSync(path.join(buildDir, ".stamp"), "utf8").trim().slice(0, 12) : "none";

// Session ids per phase: "lane" continues one session per client lane, "fresh" never repeats one.
const sessionId = { none: () => undefined, lane: (phase, i, lane) => `l-${phase}-${lane}`, fresh: (phase, i) => `f-${phase}-${i}` };
const cases = [];
// The fresh-id rows last: they grow the owner's index, which every session turn updates.
for (const [kind, name] of [["none", "no session"], ["lane", "session, continued per lane"], ["fresh", "session, fresh id per request"]]) {
  for (const stream of [false, true]) cases.push({ name, kind, mode: stream ? "sse" : "json", stream });
}

const before = new Set(workerdPids());
const gw = await startGateway({
  buildDir,
  tenant: testTenant({ limits: { maxRequestBytes: 4096, maxOutputTokens: 256, attemptTimeoutMs: 5000 }, sessions: { enabled: true } }),
  scenarios: { "*": { text: ANSWER, anyModel: true } },
  recordCalls: false,
});
const pids = workerdPids().filter((p) => !before.has(p));
const agent = keepAliveAgent(C);
const rows = [];
try {
  for (const c of cases) {
    const payload = (phase, i, lane) => Buffer.from(JSON.stringify({ message: "Hello there", stream: c.stream || undefined, sessionId: sessionId[c.kind](phase, i, lane) }));
    const send = (phase) => async (i, lane) => {
      const r = await post(`${gw.url}/chat`, payload(phase, i, lane), { agent });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    };
    // Check: the answer is complete, and a session's second turn sends the first one along.
    const check = async (i) => (await post(`${gw.url}/chat`, payload(`${c.mode}-check`, i, 0), { agent, collect: true })).text;
    await check(0);
    const second = await check(1);
    const history = c.kind === "lane" ? 2 : c.kind === "fresh" ? 0 : null;
    if (!second.includes("word31") || (history !== null && !second.includes(`"historyMessages":${history}`))) throw new Error(`${c.name} ${c.mode}: ${second.slice(-300)}`);

    const entries = async () => (await (await fetch(`${gw.url}/sessions`)).json()).sessions ?? [];
    const indexAtStart = (await entries()).length;
    await load(send(`${c.mode}-warm`), 200, C);
    let cpu0 = cpuSeconds(pids);
    const seq = await load(send(`${c.mode}-c1`), SEQUENTIAL, 1);
    const seqCpu = cpuSeconds(pids) - cpu0;
    cpu0 = cpuSeconds(pids);
    const par = await load(send(`${c.mode}-c${C}`), N, C);
    const parCpu = cpuSeconds(pids) - cpu0;
    const index = await entries();
    const stored = (prefix) => Math.max(0, ...index.filter((s) => s.id.startsWith(prefix)).map((s) => s.messages));
    rows.push({
      case: c.name,
      mode: c.mode,
      p50_c1_ms: quantile(seq.latencies, 0.5),
      p99_c1_ms: quantile(seq.latencies, 0.99),
      cpu_us_c1: (seqCpu / SEQUENTIAL) * 1e6,
      [`rps_c${C}`]: N / par.wall,
      [`cpu_us_c${C}`]: (parCpu / N) * 1e6,
      stored_msgs: c.kind === "lane" ? `${stored(`l-${c.mode}-c1-`)} / ${stored(`l-${c.mode}-c${C}-`)}` : "-",
      index: `${indexAtStart} → ${index.length}`,
      failures: seq.failures + par.failures,
    });
    process.stderr.write(`[sessions] ${c.name} ${c.mode} done\n`);
  }
} finally {
  agent.destroy();
  await gw.close();
  fs.rmSync(buildDir, { recursive: true, force: true });
}

const fmt = (v, d = 0) => (typeof v === "number" ? v.toFixed(d) : v);
console.log(`build ${path.relative(ROOT, source) || source} (stamp ${stamp}); ${SEQUENTIAL} requests at c=1, ${N} at c=${C}, after 200 warm-up; answers of 32 words\n`);
console.table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fmt(v, k.includes("_ms") ? 2 : 0)]))));
// What a session round trip adds over the same request without one (same mode).
console.table(
  rows
    .filter((r) => r.case !== "no session")
    .map((r) => {
      const base = rows.find((b) => b.case === "no session" && b.mode === r.mode);
      return {
        case: r.case,
        mode: r.mode,
        added_p50_c1_ms: fmt(r.p50_c1_ms - base.p50_c1_ms, 2),
        added_p99_c1_ms: fmt(r.p99_c1_ms - base.p99_c1_ms, 2),
        added_cpu_us_c1: fmt(r.cpu_us_c1 - base.cpu_us_c1),
        [`added_cpu_us_c${C}`]: fmt(r[`cpu_us_c${C}`] - base[`cpu_us_c${C}`]),
        [`rps_c${C}_vs_none`]: `${Math.round((100 * r[`rps_c${C}`]) / base[`rps_c${C}`])} %`,
      };
    }),
);
