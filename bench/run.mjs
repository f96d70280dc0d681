// The benchmark of issue 13 (docs/performance.md): one command, every target side by side in
// one run on this machine, against the same stand-ins.
//
//   node bench/run.mjs                      (after scripts/build.sh; prints Markdown tables)
//
// Targets: the floor (a minimal JS worker calling env.AI.run, and a JS pass-through worker in
// front of the HTTP upstream), this gateway (build/) with no budget / KV / Durable Object
// budget, through the Workers AI binding and an HTTP provider, with and without an API key;
// the upstream itself ("direct"); the peers Portkey and LiteLLM (installed on first use into
// bench/.peers/). Every request is POST /v1/chat/completions (the floor's binding route
// excepted); everything listens on and talks to 127.0.0.1 only.
//
// Options (environment):
//   BENCH_REQUESTS         requests per target at concurrency BENCH_CONCURRENCY (default 2000)
//   BENCH_CONCURRENCY      the throughput run's concurrency (default 16)
//   BENCH_SEQUENTIAL       requests per target at c=1 for p50/p99 (default BENCH_REQUESTS/4, >= 50)
//   BENCH_WARMUP           warm-up requests per target and mode before measuring (default 200)
//   BENCH_ANSWER_TOKENS    tokens of the ordinary answer (default 32)
//   BENCH_STREAM_TOKENS    tokens of the long stream (default 500)
//   BENCH_STREAM_REQUESTS  long streams per target for CPU per token (default BENCH_REQUESTS/20, >= 30)
//   BENCH_TTFT_REQUESTS    long streams per target at c=1 for time to first token (default 50)
//   BENCH_COLD_STARTS      fresh starts per target for the cold start (default 3)
//   BENCH_PEERS            comma list of peers to run: portkey,litellm (default both; "none")
//   BENCH_LITELLM_WORKERS  LiteLLM's uvicorn workers (default 1)
//   BENCH_BUILD            the gateway build to run (default build/)
//   BENCH_JSON             also write every measurement to this file as JSON
//
// Numbers from a shared 2-core machine are noisy: read the ratios within one run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { startGateway, testTenant, ROOT } from "../tests/support/runtime.mjs";
import { workerdPids, processTree, cpuSeconds, quantile, load, keepAliveAgent, post, startUpstream, startFloor } from "./lib.mjs";
import { startPortkey, startLitellm } from "./peers.mjs";

const env = process.env;
const int = (v, d) => (v === undefined || v === "" ? d : Math.max(0, Math.floor(Number(v))));
const N = int(env.BENCH_REQUESTS, 2000);
const C = Math.max(1, int(env.BENCH_CONCURRENCY, 16));
const SEQ = Math.max(1, int(env.BENCH_SEQUENTIAL, Math.max(50, Math.round(N / 4))));
const WARMUP = int(env.BENCH_WARMUP, 200);
const TOKENS = Math.max(2, int(env.BENCH_ANSWER_TOKENS, 32));
const LONG = Math.max(TOKENS + 1, int(env.BENCH_STREAM_TOKENS, 500));
const LONG_N = Math.max(1, int(env.BENCH_STREAM_REQUESTS, Math.max(30, Math.round(N / 20))));
const TTFT_N = Math.max(1, int(env.BENCH_TTFT_REQUESTS, 50));
const COLD = Math.max(1, int(env.BENCH_COLD_STARTS, 3));
const PEERS = (env.BENCH_PEERS ?? "portkey,litellm").split(",").map((s) => s.trim()).filter((s) => s && s !== "none");
const LITELLM_WORKERS = Math.max(1, int(env.BENCH_LITELLM_WORKERS, 1));
const BUILD_SOURCE = path.resolve(ROOT, env.BENCH_BUILD ?? "build");
// The run uses a copy taken at its start, so a rebuild while it runs changes nothing.
let BUILD = BUILD_SOURCE;

const ADMIN_TOKEN = "bench-admin-token-1c9e4f27a0b3d865";
const BINDING_MODEL = "@cf/meta/llama-3.1-8b-instruct";
const BINDING_LONG = "@cf/bench/long";
const HTTP_MODEL = "m";
const HTTP_LONG = "long";
const LAST = `tok${TOKENS - 1}`;
const LAST_LONG = `tok${LONG - 1}`;
const SIM_SCENARIOS = { "*": { tokens: TOKENS, anyModel: true }, [BINDING_LONG]: { tokens: LONG } };
const UPSTREAM_SCENARIOS = { "*": { tokens: TOKENS }, [HTTP_LONG]: { tokens: LONG } };

const say = (line) => process.stderr.write(`[bench] ${line}\n`);
const body = (model, stream) => Buffer.from(JSON.stringify({ model, messages: [{ role: "user", content: "Hello there" }], ...(stream ? { stream: true } : {}) }));

// ---- everything started is stopped at the end, also on error or Ctrl-C -----------------------
const running = new Set();
let stopping = false;
/** Registers how to stop something just started; returns that stop, idempotent. */
function track(stop) {
  let done = false;
  const once = async () => {
    if (done) return;
    done = true;
    running.delete(once);
    await stop();
  };
  running.add(once);
  if (stopping) {
    // Started while a signal was being handled: stop it at once and end the run.
    once().catch(() => {});
    throw new Error("stopping");
  }
  return once;
}
async function stopAll() {
  for (const stop of [...running].reverse()) {
    try {
      await stop();
    } catch (e) {
      say(`stopping: ${e.message}`);
    }
  }
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    say(`${sig}: stopping everything`);
    stopAll().finally(() => process.exit(130));
  });
}

// ---- the servers ---------------------------------------------------------------------------
let authSupported = true;
function gatewayTenant(upstreamUrl, { budget, auth } = {}) {
  const t = testTenant({
    tenantId: "bench",
    aiGatewayId: "bench-gateway",
    models: { chat: BINDING_MODEL, fallbacks: [], tiers: {} },
    limits: { maxRequestBytes: 65536, maxOutputTokens: 1024, attemptTimeoutMs: 30000 },
    ...(upstreamUrl ? { providers: { bench: { kind: "openai-compatible", baseUrl: upstreamUrl, auth: { type: "none" } } } } : {}),
    ...(budget ? { budget: { daily: 1e12, monthly: 1e12, store: budget } } : {}),
    ...(auth ? { auth: { mode: auth } } : {}),
  });
  if (!authSupported) delete t.auth;
  return t;
}

/** This gateway in one configuration; its new workerd processes. */
async function startThisGateway(upstreamUrl, config = {}) {
  const before = new Set(workerdPids());
  const gw = await startGateway({
    buildDir: BUILD,
    tenant: gatewayTenant(upstreamUrl, config),
    vars: config.auth === "api-keys" ? { ADMIN_TOKEN } : {},
    scenarios: SIM_SCENARIOS,
    recordCalls: false,
  });
  const stop = track(() => gw.close());
  return { url: gw.url, gw, pids: workerdPids().filter((p) => !before.has(p)), stop };
}

// ---- measuring -----------------------------------------------------------------------------
const results = { rows: [], long: [], cold: [], skipped: [], wasm: null };

/**
 * Measures one target: checks one answer, warms up, c=1 latencies, then BENCH_REQUESTS at
 * c=BENCH_CONCURRENCY with the CPU of `pids()` read around it.
 */
async function measure(row, { url, headers = {}, payload, pids }) {
  const agent = keepAliveAgent(C);
  const send = async () => {
    const r = await post(url, payload, { headers, agent });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  };
  try {
    const first = await post(url, payload, { headers, agent, collect: true });
    if (first.status !== 200 || !first.text.includes(LAST)) {
      return skip(row, `answered ${first.status}: ${first.text.replace(/\s+/g, " ").slice(0, 200)}`);
    }
    await load(send, WARMUP, C);
    const seq = await load(send, SEQ, 1);
    const ids = pids();
    const cpu0 = cpuSeconds(ids);
    const par = await load(send, N, C);
    const cpu = cpuSeconds(ids) - cpu0;
    const failed = seq.failures + par.failures;
    if (failed > 0.1 * (SEQ + N)) return skip(row, `${failed} of ${SEQ + N} requests failed`);
    const r = {
      ...row,
      p50: quantile(seq.latencies, 0.5),
      p99: quantile(seq.latencies, 0.99),
      rps: N / par.wall,
      cpuUs: ids.length ? (cpu / N) * 1e6 : null,
      failed,
    };
    results.rows.push(r);
    say(`${row.section} ${row.label} ${row.mode}: p50 ${r.p50.toFixed(2)} ms, ${Math.round(r.rps)} req/s, ${r.cpuUs === null ? "-" : Math.round(r.cpuUs)} µs CPU${r.failed ? `, ${r.failed} failed` : ""}`);
    return r;
  } catch (e) {
    return skip(row, e.message);
  } finally {
    agent.destroy();
  }
}

/** The long stream: time to first token at c=1, then CPU per stream at c=BENCH_CONCURRENCY. */
async function measureLong(row, { url, headers = {}, payload, pids }) {
  const agent = keepAliveAgent(C);
  const send = async () => {
    const r = await post(url, payload, { headers, agent });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  };
  try {
    const first = await post(url, payload, { headers, agent, collect: true });
    if (first.status !== 200 || !first.text.includes(LAST_LONG)) {
      return skip({ ...row, mode: `${LONG}-token stream` }, `answered ${first.status}: ${first.text.replace(/\s+/g, " ").slice(0, 200)}`);
    }
    await load(send, Math.min(WARMUP, LONG_N), C);
    const ttft = [];
    const whole = [];
    for (let i = 0; i < TTFT_N; i++) {
      const r = await post(url, payload, { headers, agent, mark: "tok0" });
      if (r.status === 200 && r.ttft !== null) {
        ttft.push(r.ttft);
        whole.push(r.ms);
      }
    }
    ttft.sort((a, b) => a - b);
    whole.sort((a, b) => a - b);
    const ids = pids();
    const cpu0 = cpuSeconds(ids);
    const par = await load(send, LONG_N, C);
    const cpu = cpuSeconds(ids) - cpu0;
    const failed = par.failures + (TTFT_N - ttft.length);
    if (failed > 0.1 * (LONG_N + TTFT_N)) return skip({ ...row, mode: `${LONG}-token stream` }, `${failed} of ${LONG_N + TTFT_N} streams failed`);
    const r = {
      ...row,
      ttftP50: quantile(ttft, 0.5),
      ttftP99: quantile(ttft, 0.99),
      wholeP50: quantile(whole, 0.5),
      rps: LONG_N / par.wall,
      cpuUs: ids.length ? (cpu / LONG_N) * 1e6 : null,
      failed,
    };
    results.long.push(r);
    say(`long ${row.label}: TTFT p50 ${r.ttftP50.toFixed(2)} ms, ${r.cpuUs === null ? "-" : Math.round(r.cpuUs)} µs CPU per ${LONG}-token stream`);
    return r;
  } catch (e) {
    return skip({ ...row, mode: `${LONG}-token stream` }, e.message);
  } finally {
    agent.destroy();
  }
}

function skip(row, reason) {
  results.skipped.push({ what: `${row.label}${row.mode ? ` (${row.mode})` : ""}`, reason });
  say(`skipped ${row.label}${row.mode ? ` (${row.mode})` : ""}: ${reason}`);
  return null;
}

/** Both modes (JSON, SSE) of one target, plus its long stream when `long` is given. */
async function measureTarget(section, id, label, { url, headers, model, longModel, pids, long = true }) {
  for (const stream of [false, true]) {
    await measure({ section, id, label, mode: stream ? "sse" : "json" }, { url, headers, payload: body(model, stream), pids });
  }
  if (long) await measureLong({ section, id, label }, { url, headers, payload: body(longModel, true), pids });
}

/** Median over BENCH_COLD_STARTS fresh starts: start -> ready, the first request, the next one. */
async function coldStart(label, start, requestUrl, payload) {
  const runs = [];
  for (let i = 0; i < COLD; i++) {
    const t0 = performance.now();
    const srv = await start();
    const ready = performance.now() - t0;
    try {
      const first = await post(srv.url + requestUrl, payload, { collect: true });
      const firstMs = first.ms;
      const firstOk = first.status === 200 && first.text.includes(LAST);
      const next = await post(srv.url + requestUrl, payload);
      if (!firstOk) return skip({ label, mode: "cold start" }, `first request answered ${first.status}: ${first.text.slice(0, 200)}`);
      runs.push({ ready, first: firstMs, total: ready + firstMs, next: next.ms });
    } finally {
      await srv.stop();
    }
  }
  const med = (k) => quantile(runs.map((r) => r[k]).sort((a, b) => a - b), 0.5);
  const r = { label, ready: med("ready"), first: med("first"), total: med("total"), next: med("next"), runs: runs.length };
  results.cold.push(r);
  say(`cold start ${label}: ${Math.round(r.total)} ms to the first 200 (first request ${r.first.toFixed(1)} ms)`);
  return r;
}

// ---- the run -------------------------------------------------------------------------------
async function main() {
  if (!fs.existsSync(path.join(BUILD_SOURCE, "index_bg.wasm"))) throw new Error(`${BUILD_SOURCE}/index_bg.wasm is missing: run scripts/build.sh first`);
  const started = new Date();
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "bench-build-"));
  track(() => fs.rmSync(copy, { recursive: true, force: true }));
  fs.cpSync(BUILD_SOURCE, copy, { recursive: true });
  BUILD = copy;
  say(`requests ${N} at c=${C}, ${SEQ} at c=1, warm-up ${WARMUP}; ${LONG}-token streams: ${LONG_N} (+${TTFT_N} at c=1); build ${buildName()} (stamp ${stamp()}), copied to ${copy}`);

  const wasm = fs.readFileSync(path.join(BUILD, "index_bg.wasm"));
  const js = fs.readFileSync(path.join(BUILD, "index.js"));
  results.wasm = { raw: wasm.length, gzip: zlib.gzipSync(wasm, { level: 9 }).length, js: js.length, jsGzip: zlib.gzipSync(js, { level: 9 }).length };

  const upstream = await startUpstream(UPSTREAM_SCENARIOS, track);
  say(`upstream stand-in at ${upstream.url} (pid ${upstream.pid})`);
  const upstreamPids = () => [upstream.pid];

  // The floors: one workerd with the binding floor and the pass-through.
  {
    const floor = await startFloor({ upstreamUrl: upstream.url, scenarios: SIM_SCENARIOS, track });
    await measureTarget("binding", "floor", "floor: JS worker calling env.AI.run", { url: `${floor.url}/ai`, model: BINDING_MODEL, longModel: BINDING_LONG, pids: () => floor.pids });
    await measureTarget("http", "pass", "floor: JS pass-through worker", { url: `${floor.url}/v1/chat/completions`, model: HTTP_MODEL, longModel: HTTP_LONG, pids: () => floor.pids });
    await floor.stop();
  }

  // This gateway: does the build know `auth` (client authentication, issue 11)?
  {
    const probe = await startThisGateway(upstream.url, { auth: "open" });
    const health = await fetch(`${probe.url}/health`);
    await health.arrayBuffer();
    await probe.stop();
    if (health.status !== 200) {
      authSupported = false;
      say(`/health answered ${health.status} with auth.mode = "open": this build has no client authentication; running without \`auth\``);
    }
  }

  const configs = [
    { id: "gw", label: "gateway, no budget", config: { auth: "open" } },
    { id: "gw-kv", label: "gateway, KV budget", config: { auth: "open", budget: "kv" } },
    { id: "gw-do", label: "gateway, Durable Object budget", config: { auth: "open", budget: "durable-object" } },
    { id: "gw-key", label: "gateway, API key, no budget", config: { auth: "api-keys" } },
  ];
  for (const c of configs) {
    if (c.id === "gw-key" && !authSupported) {
      results.skipped.push({ what: c.label, reason: "this build has no client authentication (tenant `auth` refused)" });
      continue;
    }
    const g = await startThisGateway(upstream.url, c.config);
    try {
      let headers = {};
      if (c.id === "gw-key") {
        const made = await g.gw.admin("POST", "/admin/keys", { name: "bench" });
        if (made.status !== 201 || !made.body?.key) {
          results.skipped.push({ what: c.label, reason: `POST /admin/keys answered ${made.status}${made.status === 404 ? " (no API keys in this build)" : `: ${made.text.slice(0, 200)}`}` });
          say(`skipped ${c.label}: POST /admin/keys answered ${made.status}`);
          continue;
        }
        headers = { authorization: `Bearer ${made.body.key}` };
      }
      const pids = () => g.pids;
      const url = `${g.url}/v1/chat/completions`;
      const long = c.id === "gw" || c.id === "gw-key";
      await measureTarget("binding", c.id, c.label, { url, headers, model: BINDING_MODEL, longModel: BINDING_LONG, pids, long });
      await measureTarget("http", `${c.id}-http`, c.label, { url, headers, model: `bench/${HTTP_MODEL}`, longModel: `bench/${HTTP_LONG}`, pids, long });
    } finally {
      await g.stop();
    }
  }

  // The upstream itself.
  await measureTarget("http", "direct", "direct: the upstream stand-in itself (CPU: its own)", { url: `${upstream.url}/chat/completions`, model: HTTP_MODEL, longModel: HTTP_LONG, pids: upstreamPids });

  // The peers.
  for (const name of PEERS) {
    const start = { portkey: () => startPortkey(upstream.url, { track }), litellm: () => startLitellm(upstream.url, { workers: LITELLM_WORKERS, track }) }[name];
    if (!start) {
      results.skipped.push({ what: name, reason: "unknown peer (BENCH_PEERS takes portkey, litellm)" });
      continue;
    }
    say(`starting ${name} ...`);
    const p = await start();
    if (p.skip) {
      results.skipped.push({ what: name, reason: p.skip });
      say(`skipped ${name}: ${p.skip}`);
      continue;
    }
    try {
      const label = name === "portkey" ? `Portkey ${p.version}` : `LiteLLM proxy ${p.version}${LITELLM_WORKERS > 1 ? ` (${LITELLM_WORKERS} workers)` : ""}`;
      await measureTarget("http", name, label, { url: `${p.url}/v1/chat/completions`, headers: p.headers, model: HTTP_MODEL, longModel: HTTP_LONG, pids: () => processTree(p.pid) });
    } finally {
      await p.stop();
    }
  }

  // Cold starts: a fresh Miniflare each time, to the first 200.
  await coldStart("floor: JS worker calling env.AI.run", () => startFloor({ upstreamUrl: upstream.url, scenarios: SIM_SCENARIOS, track }), "/ai", body(BINDING_MODEL, false));
  await coldStart("gateway (no budget, binding)", () => startThisGateway(upstream.url, { auth: "open" }), "/v1/chat/completions", body(BINDING_MODEL, false));

  await upstream.stop();
  const report = render(started, new Date());
  process.stdout.write(report);
  if (env.BENCH_JSON) fs.writeFileSync(env.BENCH_JSON, `${JSON.stringify({ options: options(), ...results }, null, 2)}\n`);
}

// ---- the report ----------------------------------------------------------------------------
function buildName() {
  return path.relative(ROOT, BUILD_SOURCE) || BUILD_SOURCE;
}

/** The first 12 characters of the build's .stamp (scripts/build.sh's hash of its inputs). */
function stamp() {
  try {
    return fs.readFileSync(path.join(BUILD, ".stamp"), "utf8").trim().slice(0, 12);
  } catch {
    return "none";
  }
}

function options() {
  return { requests: N, concurrency: C, sequential: SEQ, warmup: WARMUP, answerTokens: TOKENS, streamTokens: LONG, streamRequests: LONG_N, ttftRequests: TTFT_N, coldStarts: COLD, peers: PEERS, litellmWorkers: LITELLM_WORKERS, build: buildName(), stamp: stamp() };
}

const find = (section, id, mode) => results.rows.find((r) => r.section === section && r.id === id && r.mode === mode);
const findLong = (section, id) => results.long.find((r) => r.section === section && r.id === id);
const ms = (v) => (v === undefined || v === null || Number.isNaN(v) ? "–" : v < 10 ? v.toFixed(2) : v.toFixed(1));
const num = (v) => (v === undefined || v === null || Number.isNaN(v) ? "–" : Math.round(v).toLocaleString("en-US"));
const signed = (v, f = num) => (v === undefined || v === null || Number.isNaN(v) ? "–" : `${v >= 0 ? "+" : "−"}${f(Math.abs(v))}`);
const times = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : "–");
const pct = (a, b) => (a && b ? `${Math.round((100 * a) / b)} %` : "–");

function table(head, rows) {
  return [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function sectionTable(section, floorId) {
  const head = ["target", "mode", "c=1 p50 ms", "c=1 p99 ms", `c=${C} req/s`, "CPU µs/req", "p50 vs floor", "req/s vs floor", "CPU − floor µs"];
  if (section === "http") head.push("p50 − direct ms");
  head.push("failed");
  const rows = results.rows
    .filter((r) => r.section === section)
    .sort((a, b) => (a.mode === b.mode ? 0 : a.mode === "json" ? -1 : 1))
    .map((r) => {
      const f = find(section, floorId, r.mode);
      const isFloor = r.id === floorId;
      const line = [
        r.label,
        r.mode,
        ms(r.p50),
        ms(r.p99),
        num(r.rps),
        num(r.cpuUs),
        isFloor ? "1" : times(r.p50, f?.p50),
        isFloor ? "100 %" : pct(r.rps, f?.rps),
        isFloor ? "0" : r.id !== "direct" && r.cpuUs !== null && f?.cpuUs != null ? signed(r.cpuUs - f.cpuUs) : "–",
      ];
      if (section === "http") {
        const d = find("http", "direct", r.mode);
        line.push(r.id === "direct" ? "0" : d ? signed(r.p50 - d.p50, ms) : "–");
      }
      line.push(String(r.failed));
      return line;
    });
  return table(head, rows);
}

function longTable() {
  const head = ["target", "TTFT p50 ms", "TTFT p99 ms", "TTFT − floor ms", "whole stream p50 ms", "CPU µs/stream", "CPU µs/token", "µs/token − floor", "failed"];
  const rows = results.long.map((r) => {
    const floorId = r.section === "binding" ? "floor" : "pass";
    const f = findLong(r.section, floorId);
    const short = find(r.section, r.id, "sse");
    const perToken = (x, s) => (x?.cpuUs != null && s?.cpuUs != null ? (x.cpuUs - s.cpuUs) / (LONG - TOKENS) : null);
    const mine = perToken(r, short);
    const theirs = f ? perToken(f, find(r.section, floorId, "sse")) : null;
    return [
      `${r.label}${r.section === "http" && r.id.startsWith("gw") ? " (HTTP provider)" : r.section === "binding" && r.id.startsWith("gw") ? " (binding)" : ""}`,
      ms(r.ttftP50),
      ms(r.ttftP99),
      r.id === floorId ? "0" : f ? signed(r.ttftP50 - f.ttftP50, ms) : "–",
      ms(r.wholeP50),
      num(r.cpuUs),
      mine === null ? "–" : mine.toFixed(1),
      r.id === floorId ? "0" : mine !== null && theirs !== null ? signed(mine - theirs, (v) => v.toFixed(1)) : "–",
      String(r.failed),
    ];
  });
  return table(head, rows);
}

function goals() {
  const out = [];
  const add = (goal, measured, ok) => out.push([goal, measured, ok === null ? "–" : ok ? "met" : "**not met**"]);
  const floor = find("binding", "floor", "json");
  const gw = find("binding", "gw", "json");
  const gdo = find("binding", "gw-do", "json");
  if (floor && gw) {
    const d = gw.cpuUs - floor.cpuUs;
    add("non-streaming, no budget: CPU ≤ floor + 100 µs", `floor + ${Math.round(d)} µs`, d <= 100);
    add(`non-streaming, no budget: c=${C} req/s ≥ 80 % of the floor`, pct(gw.rps, floor.rps), gw.rps >= 0.8 * floor.rps);
  }
  if (gw && gdo) {
    add(`Durable Object budget: c=${C} req/s ≥ 70 % of no budget`, pct(gdo.rps, gw.rps), gdo.rps >= 0.7 * gw.rps);
    const d = gdo.cpuUs - gw.cpuUs;
    add("Durable Object budget: CPU ≤ no budget + 100 µs", `no budget + ${Math.round(d)} µs`, d <= 100);
  }
  const lf = findLong("binding", "floor");
  const lg = findLong("binding", "gw");
  const sf = find("binding", "floor", "sse");
  const sg = find("binding", "gw", "sse");
  if (lf && lg && sf && sg) {
    const per = (x, s) => (x.cpuUs - s.cpuUs) / (LONG - TOKENS);
    const d = per(lg, sg) - per(lf, sf);
    add("streaming: ≤ 5 µs CPU per relayed token above the floor", `${d.toFixed(1)} µs/token above`, d <= 5);
    const t = lg.ttftP50 - lf.ttftP50;
    add("streaming: time to first token ≤ floor + 1 ms", `floor ${t >= 0 ? "+" : "−"} ${Math.abs(t).toFixed(2)} ms`, t <= 1);
  }
  const hg = find("http", "gw-http", "json");
  const pk = find("http", "portkey", "json");
  const dir = find("http", "direct", "json");
  if (hg && pk) add(`HTTP path: c=${C} req/s ≥ 2x Portkey's`, `${(hg.rps / pk.rps).toFixed(2)}x`, hg.rps >= 2 * pk.rps);
  if (hg && pk && dir) {
    const a = hg.p50 - dir.p50;
    const b = pk.p50 - dir.p50;
    add("HTTP path: p50 overhead over direct ≤ ¼ of Portkey's", `${a.toFixed(2)} ms vs Portkey's ${b.toFixed(2)} ms (${b > 0 ? Math.round((100 * a) / b) : "–"} %)`, a <= b / 4);
  }
  if (results.wasm) add("wasm ≤ 250 KB gzipped", `${(results.wasm.gzip / 1000).toFixed(1)} KB`, results.wasm.gzip <= 250_000);
  if (!out.length) return "(not enough rows to judge any goal)";
  return table(["goal (issue 13)", "this run", ""], out);
}

function render(started, ended) {
  const cpu = os.cpus();
  const o = options();
  const lines = [
    `## Run of ${started.toISOString().slice(0, 16).replace("T", " ")} UTC (${Math.round((ended - started) / 1000)} s)`,
    "",
    `Machine: ${cpu.length} × ${cpu[0]?.model?.trim() ?? "?"}, Linux ${os.release()}, Node ${process.version}. Build: ${o.build} (stamp ${o.stamp}).`,
    `Requests per target: ${N} at c=${C} (throughput, CPU), ${SEQ} at c=1 (latency), after ${WARMUP} warm-up; answers of ${TOKENS} tokens; ${LONG}-token streams: ${LONG_N} at c=${C} (CPU) and ${TTFT_N} at c=1 (TTFT).`,
    "",
    "### Workers AI binding (the same AI stand-in, in workerd)",
    "",
    sectionTable("binding", "floor"),
    "",
    "### HTTP upstream (the same OpenAI-compatible stand-in on 127.0.0.1)",
    "",
    sectionTable("http", "pass"),
    "",
    `### ${LONG}-token stream`,
    "",
    longTable(),
    "",
    "### Cold start (median of " + COLD + " fresh starts)",
    "",
    table(
      ["target", "start → ready ms", "first request ms", "start → first 200 ms", "next request ms"],
      results.cold.map((r) => [r.label, num(r.ready), ms(r.first), num(r.total), ms(r.next)]),
    ),
    "",
    "### Size of the build",
    "",
    table(
      ["file", "bytes", "gzip -9 bytes"],
      [
        ["index_bg.wasm", num(results.wasm.raw), num(results.wasm.gzip)],
        ["index.js", num(results.wasm.js), num(results.wasm.jsGzip)],
      ],
    ),
    "",
    "### Goals",
    "",
    goals(),
    "",
    "### Skipped",
    "",
    results.skipped.length ? results.skipped.map((s) => `- ${s.what}: ${s.reason}`).join("\n") : "- nothing",
    "",
  ];
  return lines.join("\n");
}

try {
  await main();
} catch (e) {
  say(`failed: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
