// The benchmark of issues 13 and 22 (docs/performance.md): one command, every target side by side in one run on this machine, against the same stand-ins.
//
//   node bench/run.mjs                      (after scripts/build.sh; prints Markdown tables)
//
// Targets: the floors (a minimal JS worker calling env.AI.run; in front of the HTTP upstream a
// JS pass-through worker and a JS relay that parses and re-encodes every event), this gateway
// (build/) with no budget / KV / Durable Object budget, through the Workers AI binding and an
// HTTP provider, with and without an API key; the upstream itself ("direct"); the peers
// Portkey and LiteLLM (installed on first use into bench/.peers/). Then the Durable Object
// rounds (goal 4 of issue 22, repeated on fresh gateways) and the cold starts (the floor, the
// floor with the gateway's wasm bundled but unused, the gateway). Every request is
// POST /v1/chat/completions (the floors' own routes excepted); everything listens on and
// talks to 127.0.0.1 only.
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
//   BENCH_COLD_STARTS      fresh starts per cold-start target, interleaved (default 5; medians)
//   BENCH_DO_ROUNDS        rounds of fresh no-budget / Durable Object gateways, binding JSON
//                          only, for the spread of goal 4 (default 3; 0: none)
//   BENCH_DO_PROBE         1 (default): the Durable Object targets run a copy of the build whose
//                          ledger counts its operations (bench/ledger-probe.mjs); 0: untouched
//   BENCH_ROUNDS_WITH      what the rounds pair with a gateway without a budget: durable-object
//                          (default), api-key, or none (a control: the share's own noise)
//   BENCH_DO_WARMUP        lease grants (each given back at once) sent straight to the ledger
//                          of a fresh Durable Object gateway before it is measured (default 0)
//   BENCH_SAMPLE_MS        the c=16 phase's CPU time series interval (default 100)
//   BENCH_PEERS            comma list of peers to run: portkey,litellm (default both; "none")
//   BENCH_LITELLM_WORKERS  LiteLLM's uvicorn workers (default 1)
//   BENCH_BUILD            the gateway build to run (default build/)
//   BENCH_COLD_BUILDS      more builds to cold-start beside it: name=dir,name=dir (default none)
//   BENCH_ONLY             "cold": the cold starts only; "do": the Durable Object rounds and the
//                          cold starts (no throughput or stream rows of the targets)
//   BENCH_JSON             also write every measurement to this file as JSON
//
// Numbers from a shared 2-core machine are noisy: read the ratios within one run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { startGateway, testTenant, ROOT } from "../tests/support/runtime.mjs";
import { workerdPids, processTree, startUpstream, startFloor } from "./lib.mjs";
import { startPortkey, startLitellm } from "./peers.mjs";
import * as o from "./options.mjs";
import { results, say, body } from "./options.mjs";
import { measureTarget, doRounds, coldStarts } from "./measure.mjs";
import { probeBuild, ledgerProbe, storageInfo } from "./ledger-probe.mjs";
import { render } from "./report.mjs";

// The run uses a copy taken at its start, so a rebuild while it runs changes nothing; the
// Durable Object targets use a probe copy of that (ledger-probe.mjs) unless BENCH_DO_PROBE=0.
let BUILD = o.BUILD_SOURCE;
let PROBE_BUILD = null;

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
    models: { chat: o.BINDING_MODEL, fallbacks: [], tiers: {} },
    limits: { maxRequestBytes: 65536, maxOutputTokens: 1024, attemptTimeoutMs: 30000 },
    ...(upstreamUrl ? { providers: { bench: { kind: "openai-compatible", baseUrl: upstreamUrl, auth: { type: "none" } } } } : {}),
    ...(budget ? { budget: { daily: 1e12, monthly: 1e12, store: budget } } : {}),
    ...(auth ? { auth: { mode: auth } } : {}),
  });
  if (!authSupported) delete t.auth;
  return t;
}

/**
 * This gateway in one configuration: { url, gw, pids (its new workerd processes), probe
 * (the tenant ledger's reader, Durable Object budget only), stop }.
 */
async function startThisGateway(upstreamUrl, config = {}, buildDir = BUILD) {
  const before = new Set(workerdPids());
  const isDo = config.budget === "durable-object";
  const gw = await startGateway({
    buildDir: isDo && PROBE_BUILD ? PROBE_BUILD : buildDir,
    tenant: gatewayTenant(upstreamUrl, config),
    vars: config.auth === "api-keys" ? { ADMIN_TOKEN: o.ADMIN_TOKEN } : {},
    scenarios: o.SIM_SCENARIOS,
    recordCalls: false,
  });
  const stop = track(() => gw.close());
  const probe = isDo ? ledgerProbe(gw, "bench", { counts: Boolean(PROBE_BUILD) }) : null;
  if (probe && o.DO_WARMUP > 0) await probe.warm(o.DO_WARMUP);
  return { url: gw.url, gw, pids: workerdPids().filter((p) => !before.has(p)), probe, stop };
}

// ---- the steady phases: every target's JSON, SSE and long-stream rows ----------------------------
async function steadyPhases(upstream, upstreamPids) {
  // The floors: one workerd with the binding floor, the pass-through and the relay.
  {
    const floor = await startFloor({ upstreamUrl: upstream.url, scenarios: o.SIM_SCENARIOS, track });
    const pids = () => floor.pids;
    await measureTarget("binding", "floor", "floor: JS worker calling env.AI.run", { url: `${floor.url}/ai`, model: o.BINDING_MODEL, longModel: o.BINDING_LONG, pids });
    await measureTarget("http", "pass", "floor: JS pass-through worker", { url: `${floor.url}/v1/chat/completions`, model: o.HTTP_MODEL, longModel: o.HTTP_LONG, pids });
    await measureTarget("http", "relay", "relay floor: JS worker parsing and re-encoding", { url: `${floor.url}/relay/v1/chat/completions`, model: o.HTTP_MODEL, longModel: o.HTTP_LONG, pids });
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
      const probe = g.probe;
      await measureTarget("binding", c.id, c.label, { url, headers, model: o.BINDING_MODEL, longModel: o.BINDING_LONG, pids, probe, long });
      await measureTarget("http", `${c.id}-http`, c.label, { url, headers, model: `bench/${o.HTTP_MODEL}`, longModel: `bench/${o.HTTP_LONG}`, pids, probe, long });
    } finally {
      await g.stop();
    }
  }

  // The upstream itself.
  await measureTarget("http", "direct", "direct: the upstream stand-in itself (CPU: its own)", { url: `${upstream.url}/chat/completions`, model: o.HTTP_MODEL, longModel: o.HTTP_LONG, pids: upstreamPids });

  // The peers.
  for (const name of o.PEERS) {
    const start = { portkey: () => startPortkey(upstream.url, { track }), litellm: () => startLitellm(upstream.url, { workers: o.LITELLM_WORKERS, track }) }[name];
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
      const label = name === "portkey" ? `Portkey ${p.version}` : `LiteLLM proxy ${p.version}${o.LITELLM_WORKERS > 1 ? ` (${o.LITELLM_WORKERS} workers)` : ""}`;
      await measureTarget("http", name, label, { url: `${p.url}/v1/chat/completions`, headers: p.headers, model: o.HTTP_MODEL, longModel: o.HTTP_LONG, pids: () => processTree(p.pid) });
    } finally {
      await p.stop();
    }
  }
}

// ---- the run -------------------------------------------------------------------------------
async function main() {
  const SRC = o.BUILD_SOURCE;
  if (!fs.existsSync(path.join(SRC, "index_bg.wasm"))) throw new Error(`${SRC}/index_bg.wasm is missing: run scripts/build.sh first`);
  const started = new Date();
  const load = os.loadavg()[0];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-build-"));
  track(() => fs.rmSync(tmp, { recursive: true, force: true }));
  BUILD = path.join(tmp, "build");
  fs.cpSync(SRC, BUILD, { recursive: true });
  if (o.DO_PROBE) PROBE_BUILD = probeBuild(BUILD, path.join(tmp, "probe"));
  results.storage = storageInfo();
  say(`requests ${o.N} at c=${o.C}, ${o.SEQ} at c=1, warm-up ${o.WARMUP}; ${o.LONG}-token streams: ${o.LONG_N} (+${o.TTFT_N} at c=1); build ${buildName()} (stamp ${stamp()}), copied to ${BUILD}`);
  say(`Durable Object and KV storage: ${results.storage.dir} (${results.storage.fs}); ledger probe ${PROBE_BUILD ? "on" : "off"}`);

  const wasm = fs.readFileSync(path.join(BUILD, "index_bg.wasm"));
  const js = fs.readFileSync(path.join(BUILD, "index.js"));
  results.wasm = { raw: wasm.length, gzip: gzipped(wasm), js: js.length, jsGzip: gzipped(js) };

  const upstream = await startUpstream(o.UPSTREAM_SCENARIOS, track);
  say(`upstream stand-in at ${upstream.url} (pid ${upstream.pid})`);
  const upstreamPids = () => [upstream.pid];

  if (o.ONLY) say(`BENCH_ONLY=${o.ONLY}: the ${o.ONLY === "do" ? "Durable Object rounds and the cold starts" : "cold starts"} only`);
  else await steadyPhases(upstream, upstreamPids);

  // Goal 4's pair again on fresh gateways, alternating which goes first.
  if (o.DO_ROUNDS > 0 && o.ONLY !== "cold") {
    await doRounds(o.DO_ROUNDS, [
      { id: "gw", label: "gateway, no budget", start: () => startThisGateway(upstream.url, { auth: "open" }) },
      {
        "durable-object": { id: "gw-do", label: "gateway, Durable Object budget", start: () => startThisGateway(upstream.url, { auth: "open", budget: "durable-object" }) },
        "api-key": { id: "gw-do", label: "gateway, API key, no budget", start: () => withKey(startThisGateway(upstream.url, { auth: "api-keys" })) },
        none: { id: "gw-do", label: "gateway, no budget (control: the same as the other)", start: () => startThisGateway(upstream.url, { auth: "open" }) },
      }[o.ROUNDS_WITH],
    ]);
  }

  // Cold starts: a fresh Miniflare each time, to the first 200, the targets interleaved.
  const kb = Math.round(results.wasm.raw / 1000).toLocaleString("en-US");
  await coldStarts([
    { id: "floor", label: "floor: JS worker calling env.AI.run", path: "/ai", payload: body(o.BINDING_MODEL, false), start: () => startFloor({ upstreamUrl: upstream.url, scenarios: o.SIM_SCENARIOS, track }) },
    { id: "floor-wasm", label: `floor with the gateway's wasm (${kb} KB) bundled, unused`, path: "/ai", payload: body(o.BINDING_MODEL, false), start: () => startFloor({ upstreamUrl: upstream.url, scenarios: o.SIM_SCENARIOS, unusedWasm: wasm, track }) },
    { id: "gw", label: "gateway (no budget, binding)", path: "/v1/chat/completions", payload: body(o.BINDING_MODEL, false), start: () => startThisGateway(upstream.url, { auth: "open" }) },
    ...o.COLD_BUILDS.map(({ name, dir }) => ({ id: `gw-${name}`, label: `gateway ${name} (${sizeOf(dir)}; no budget, binding)`, path: "/v1/chat/completions", payload: body(o.BINDING_MODEL, false), start: () => startThisGateway(upstream.url, { auth: "open" }, dir) })),
  ]);

  await upstream.stop();
  const report = render({ started, ended: new Date(), load, build: buildName(), stamp: stamp(), probe: Boolean(PROBE_BUILD) });
  process.stdout.write(report);
  if (o.JSON_OUT) fs.writeFileSync(o.JSON_OUT, `${JSON.stringify({ options: o.options({ build: buildName(), stamp: stamp() }), ...results }, null, 2)}\n`);
}

/** A started gateway with one API key made, sent on every request of its rounds. */
async function withKey(started) {
  const g = await started;
  const made = await g.gw.admin("POST", "/admin/keys", { name: "bench" });
  if (made.status !== 201 || !made.body?.key) throw new Error(`POST /admin/keys answered ${made.status}`);
  return { ...g, headers: { authorization: `Bearer ${made.body.key}` } };
}

/** Bytes gzipped with Node's zlib at level 9 (the report's size column). */
const gzipped = (bytes) => zlib.gzipSync(bytes, { level: 9 }).length;

/** A build's wasm size for a label: raw and gzipped KB. */
function sizeOf(dir) {
  const wasm = fs.readFileSync(path.join(dir, "index_bg.wasm"));
  const kb = (n) => `${Math.round(n / 1000).toLocaleString("en-US")} KB`;
  return `${kb(wasm.length)}, ${kb(gzipped(wasm))} gzipped`;
}

function buildName() {
  return path.relative(ROOT, o.BUILD_SOURCE) || o.BUILD_SOURCE;
}

/** The first 12 characters of the build's .stamp (scripts/build.sh's hash of its inputs). */
function stamp() {
  try {
    return fs.readFileSync(path.join(BUILD, ".stamp"), "utf8").trim().slice(0, 12);
  } catch {
    return "none";
  }
}

try {
  await main();
} catch (e) {
  say(`failed: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
