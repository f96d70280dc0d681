// A V8 CPU profile of the gateway's hot path in workerd (issue 13: "if a goal cannot be reached
// on workerd, show the profile that says why"). See docs/performance.md, "Profile".
//
//   node --experimental-websocket bench/profile.mjs        (after scripts/build.sh; Node 20)
//   PROFILE_PROVIDER=http node --experimental-websocket bench/profile.mjs     (the HTTP provider)
//
// Starts build/ with tests/support/runtime.mjs startGateway (no budget, open auth, the Workers AI
// stand-in, the same tenant and scenarios as bench/run.mjs) with workerd's V8 inspector on a
// free 127.0.0.1 port, attaches to the gateway worker's isolate (the AI stand-in is a wrapped
// binding, so it runs in that isolate too) and records one profile per phase:
//   json    PROFILE_REQUESTS non-streaming requests at c=PROFILE_CONCURRENCY
//   stream  PROFILE_STREAMS streams of PROFILE_STREAM_TOKENS tokens (model @cf/bench/long)
// Each phase prints the sampled time, the self time per category, the self time per category
// with runtime builtins charged to the JS or wasm frame that called them, and the top functions
// by self time; the raw .cpuprofile files go to bench/.profiles/ (git-ignored) and open in
// Chrome DevTools (Performance tab) or speedscope.
//
// With PROFILE_PROVIDER=http the same two phases go through the gateway's HTTP provider instead:
// the OpenAI-compatible stand-in runs in a Node process of its own (bench/upstream.mjs, forked as
// bench/run.mjs does, with the same scenarios: 32-token answers, a long model), the tenant gets
// the provider `bench` (kind openai-compatible, baseUrl the stand-in's /v1, no auth) as in
// bench/run.mjs, and the models are bench/m (json) and bench/long (stream). The stand-in is not
// in workerd, so neither its CPU nor its frames are in the profile; the floor is the JS
// pass-through worker (bench/floor-worker.mjs, POST /v1/chat/completions, UPSTREAM = the
// stand-in) with the models m and long. The stand-in is stopped at the end, also on failure.
//
// Options (environment):
//   PROFILE_REQUESTS        non-streaming requests (default 3000)
//   PROFILE_STREAMS         long streams (default 300)
//   PROFILE_STREAM_TOKENS   tokens per long stream (default 500)
//   PROFILE_CONCURRENCY     requests in flight (default 8)
//   PROFILE_PROVIDER        binding (default): the Workers AI binding (the stand-in in workerd);
//                           http: the HTTP provider in front of bench/upstream.mjs (see above)
//   PROFILE_INTERVAL_US     sampling interval in µs (default 50)
//   PROFILE_ROUTE           /v1/chat/completions (default; what the goals are judged on) or /chat
//   PROFILE_WARMUP          warm-up requests per phase, not profiled (default 300)
//   PROFILE_TOP             how many functions to list (default 25)
//   PROFILE_FLOOR           1 (default): also profile the floor (bench/floor-worker.mjs, POST /ai,
//                           the same stand-in; with PROFILE_PROVIDER=http its pass-through,
//                           POST /v1/chat/completions) under the same load, for comparison; 0: skip it
//   BENCH_BUILD             the gateway build to run (default build/)
//
// The sampler costs CPU itself (more at shorter intervals): read shares, not absolute times.
// Time workerd spends in C++ outside any JS frame (HTTP parsing, the KJ event loop, stream
// plumbing between isolates) shows as "(program)"; CPU on workerd's other threads is not in
// the profile at all, which the "workerd CPU" line (from /proc) makes visible.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startGateway, testTenant, ROOT } from "../tests/support/runtime.mjs";
import { load, keepAliveAgent, post, workerdPids, cpuSeconds, freePort, startUpstream, startFloor } from "./lib.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const int = (v, d) => (v === undefined || v === "" ? d : Math.max(0, Math.floor(Number(v))));
const N = int(env.PROFILE_REQUESTS, 3000);
const STREAMS = int(env.PROFILE_STREAMS, 300);
const LONG = Math.max(2, int(env.PROFILE_STREAM_TOKENS, 500));
const C = Math.max(1, int(env.PROFILE_CONCURRENCY, 8));
const INTERVAL = Math.max(1, int(env.PROFILE_INTERVAL_US, 50));
const ROUTE = env.PROFILE_ROUTE || "/v1/chat/completions";
const WARMUP = int(env.PROFILE_WARMUP, 300);
const TOP = Math.max(1, int(env.PROFILE_TOP, 25));
const BUILD = path.resolve(ROOT, env.BENCH_BUILD ?? "build");
const FLOOR = env.PROFILE_FLOOR !== "0";
const OUT = path.join(HERE, ".profiles");
const PROVIDER = env.PROFILE_PROVIDER || "binding";
const HTTP = PROVIDER === "http";

// The same stand-in and tenant as bench/run.mjs (32-token answers, a long model).
const MODEL = "@cf/meta/llama-3.1-8b-instruct";
const LONG_MODEL = "@cf/bench/long";
const SCENARIOS = { "*": { tokens: 32, anyModel: true }, [LONG_MODEL]: { tokens: LONG } };
// PROFILE_PROVIDER=http: the upstream stand-in's models and scenarios, as in bench/run.mjs; the
// gateway names them through its provider `bench`.
const HTTP_MODEL = "m";
const HTTP_LONG = "long";
const UPSTREAM_SCENARIOS = { "*": { tokens: 32 }, [HTTP_LONG]: { tokens: LONG } };

const say = (line) => process.stderr.write(`[profile] ${line}\n`);

if (PROVIDER !== "binding" && PROVIDER !== "http") {
  say(`PROFILE_PROVIDER must be binding or http, not ${JSON.stringify(PROVIDER)}`);
  process.exit(2);
}
if (typeof WebSocket === "undefined") {
  say("no global WebSocket: run with `node --experimental-websocket bench/profile.mjs` (Node 20)");
  process.exit(2);
}

function body(model, stream, route = ROUTE) {
  const b =
    route === "/chat"
      ? { messages: [{ role: "user", content: "Hello there" }], modelId: model, ...(stream ? { stream: true } : {}) }
      : { model, messages: [{ role: "user", content: "Hello there" }], ...(stream ? { stream: true } : {}) };
  return Buffer.from(JSON.stringify(b));
}

// ---- a minimal DevTools protocol client ----------------------------------------------------
async function connectInspector(port, workerName) {
  let targets = [];
  for (let i = 0; i < 50 && !targets.length; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json`);
      targets = await res.json();
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const target = targets.find((t) => `${t.id} ${t.title} ${t.url}`.includes(workerName));
  if (!target) throw new Error(`no inspector target for ${workerName}; targets: ${JSON.stringify(targets.map((t) => t.id ?? t.title))}`);
  const wsUrl = target.webSocketDebuggerUrl ?? `ws://127.0.0.1:${port}/${target.id}`;
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error(`cannot open ${wsUrl}`)), { once: true });
  });
  let nextId = 1;
  const pending = new Map();
  ws.addEventListener("message", (ev) => {
    const msg = JSON.parse(typeof ev.data === "string" ? ev.data : Buffer.from(ev.data).toString("utf8"));
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
      else resolve(msg.result);
    }
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { target, send, close: () => ws.close() };
}

// ---- the summary ---------------------------------------------------------------------------
const CATEGORIES = [
  ["wasm", "wasm (the gateway's Rust code)"],
  ["glue", "JS glue (build/index.js, shim.mjs) and JS↔wasm trampolines"],
  ["sim", "AI stand-in (tests/support/ai-sim.mjs)"],
  ["runtime", "runtime builtins (streams, promises, JSON, TextEncoder, fetch, ...)"],
  ["otherjs", "other JS (Miniflare / workerd internal modules)"],
  ["program", "(program): workerd C++ outside JS"],
  ["gc", "(garbage collector)"],
  ["idle", "(idle)"],
];

function categoryOf(frame) {
  const { functionName: fn, url } = frame;
  if (fn === "(idle)") return "idle";
  if (fn === "(program)" || fn === "(root)") return "program";
  if (fn === "(garbage collector)") return "gc";
  if (/^js-to-wasm|^wasm-to-js/.test(fn)) return "glue"; // the boundary's trampolines
  if (url.startsWith("wasm://") || /^\$?func\d+$|^wasm-function\[/.test(fn)) return "wasm";
  if (url.includes("ai-sim")) return "sim";
  if (/(^|\/)index\.js$|(^|\/)shim\.mjs$/.test(url)) return "glue";
  if (!url || /^(node|cloudflare|internal|workerd):/.test(url)) return "runtime";
  return "otherjs";
}

function summarise(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node: the delta to the next sample is charged to this sample's node.
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const total = profile.endTime - profile.startTime; // µs
  const cat = new Map(CATEGORIES.map(([k]) => [k, 0]));
  const charged = new Map(CATEGORIES.map(([k]) => [k, 0])); // builtins charged to their caller
  const fns = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const c = categoryOf(n.callFrame);
    cat.set(c, cat.get(c) + us);
    let owner = c;
    if (c === "runtime") {
      for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
        const pc = categoryOf(byId.get(p).callFrame);
        if (pc === "wasm" || pc === "glue" || pc === "sim" || pc === "otherjs") {
          owner = pc;
          break;
        }
      }
    }
    charged.set(owner, charged.get(owner) + us);
    const f = n.callFrame;
    // Native frames (no url) are told apart by the nearest JS or wasm frame that called them.
    let caller = "";
    if (!f.url) {
      for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
        const pf = byId.get(p).callFrame;
        if (pf.url || pf.functionName === "(root)") {
          caller = pf.functionName === "(root)" ? "(called from C++)" : pf.functionName || "(anonymous)";
          break;
        }
      }
    }
    const key = `${f.functionName}|${f.url}|${f.lineNumber}|${f.columnNumber}|${caller}`;
    const e = fns.get(key) ?? { name: f.functionName || "(anonymous)", url: f.url, line: f.lineNumber, col: f.columnNumber, cat: c, caller, us: 0 };
    e.us += us;
    fns.set(key, e);
  }
  const busy = total - cat.get("idle");
  const top = [...fns.values()].sort((a, b) => b.us - a.us).slice(0, TOP);
  return { total, busy, samples: samples.length, cat, charged, top };
}

const fmtMs = (us) => (us / 1000).toFixed(1);
const share = (us, of) => (of > 0 ? `${((100 * us) / of).toFixed(1)} %` : "–");

function where(f) {
  if (!f.url) return f.caller && f.cat === "runtime" ? `native, under ${f.caller}` : "native";
  if (f.url.startsWith("wasm://")) return "index_bg.wasm";
  if (f.url.startsWith("miniflare-internal:wrapped:ai-sim")) return `ai-sim.mjs:${f.line + 1}`;
  const rel = f.url.replace(/^file:\/\//, "").replace(`${ROOT}/`, "");
  return `${path.basename(rel)}:${f.line + 1}:${f.col + 1}`.replace(/`/g, "");
}

function render(phase, s, extra) {
  const rows = CATEGORIES.map(([k, label]) => `| ${label} | ${fmtMs(s.cat.get(k))} | ${share(s.cat.get(k), s.busy)} | ${k === "idle" || k === "program" || k === "gc" || k === "runtime" ? "–" : `${fmtMs(s.charged.get(k))} (${share(s.charged.get(k), s.busy)})`} |`);
  rows.push(`| runtime builtins not under any JS or wasm frame | – | – | ${fmtMs(s.charged.get("runtime"))} (${share(s.charged.get("runtime"), s.busy)}) |`);
  const top = s.top.map((f, i) => `| ${i + 1} | \`${f.name.replace(/\|/g, "\\|")}\` | ${where(f)} | ${f.cat} | ${fmtMs(f.us)} | ${share(f.us, s.busy)} |`);
  return [
    `#### ${phase}`,
    "",
    extra,
    `Sampled ${fmtMs(s.total)} ms (${s.samples.toLocaleString("en-US")} samples), of which ${fmtMs(s.busy)} ms not idle; shares are of the non-idle time.`,
    "",
    "| category | self ms | self share | with the builtins it called |",
    "|---|---:|---:|---:|",
    ...rows,
    "",
    `| # | function | where | category | self ms | share |`,
    "|---:|---|---|---|---:|---:|",
    ...top,
    "",
  ].join("\n");
}

// ---- the run -------------------------------------------------------------------------------
/** Profiles both phases against one worker; returns the Markdown of its summaries. */
async function profileTarget({ title, url, model, longModel = LONG_MODEL, route = ROUTE, pids, inspectorPort, workerName, stamp }) {
  const inspector = await connectInspector(inspectorPort, workerName);
  const out = [];
  try {
    say(`${title}: ${url}, inspector target ${inspector.target.id ?? inspector.target.title}`);
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: INTERVAL });
    const phases = [
      { name: "json", label: `${N} non-streaming requests (32-token answers) at c=${C}`, payload: body(model, false, route), count: N, last: "tok31" },
      { name: "stream", label: `${STREAMS} streams of ${LONG} tokens (model ${longModel}) at c=${C}`, payload: body(longModel, true, route), count: STREAMS, last: `tok${LONG - 1}` },
    ];
    for (const ph of phases) {
      if (!ph.count) continue;
      const agent = keepAliveAgent(C);
      try {
        const first = await post(url, ph.payload, { agent, collect: true });
        if (first.status !== 200 || !first.text.includes(ph.last)) throw new Error(`${title} ${ph.name}: answered ${first.status}: ${first.text.slice(0, 300)}`);
        const send = async () => {
          const r = await post(url, ph.payload, { agent });
          if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
        };
        await load(send, Math.min(WARMUP, ph.count), C);
        const cpu0 = cpuSeconds(pids);
        await inspector.send("Profiler.start");
        const run = await load(send, ph.count, C);
        const { profile } = await inspector.send("Profiler.stop");
        const cpu = cpuSeconds(pids) - cpu0;
        const file = path.join(OUT, `${stamp}-${workerName}${HTTP ? "-http" : ""}-${ph.name}.cpuprofile`);
        fs.writeFileSync(file, JSON.stringify(profile));
        const s = summarise(profile);
        const extra =
          `${ph.label}: ${run.wall.toFixed(2)} s wall, ${Math.round(ph.count / run.wall)} req/s, ${run.failures} failed; ` +
          `workerd CPU (from /proc, profiler included) ${(cpu * 1000).toFixed(0)} ms = ${Math.round((cpu / ph.count) * 1e6)} µs per request. ` +
          `Raw profile: \`${path.relative(ROOT, file)}\`.\n`;
        out.push(render(`${title}: ${ph.name}`, s, extra));
        say(`${title} ${ph.name}: ${s.samples} samples, ${fmtMs(s.busy)} ms busy, ${Math.round((cpu / ph.count) * 1e6)} µs workerd CPU/request; saved ${path.relative(ROOT, file)}`);
      } finally {
        agent.destroy();
      }
    }
    await inspector.send("Profiler.disable");
  } finally {
    inspector.close();
  }
  return out;
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const out = [];
  let upstream = null;
  try {
    if (HTTP) {
      upstream = await startUpstream(UPSTREAM_SCENARIOS);
      say(`upstream stand-in at ${upstream.url} (pid ${upstream.pid})`);
    }
    await profileAll(out, stamp, upstream);
  } finally {
    if (upstream) await upstream.stop();
  }
  process.stdout.write(
    [
      `### Profile of ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
      "",
      `Build ${path.relative(ROOT, BUILD) || BUILD}; sampling every ${INTERVAL} µs; Node ${process.version}.` +
        (HTTP ? ` Provider: HTTP (openai-compatible provider \`bench\` in front of bench/upstream.mjs, models bench/${HTTP_MODEL} and bench/${HTTP_LONG}; the stand-in's own CPU is not in the profile).` : ""),
      "",
      ...out,
    ].join("\n"),
  );
}

async function profileAll(out, stamp, upstream) {
  {
    const inspectorPort = await freePort();
    const before = new Set(workerdPids());
    const tenant = testTenant({
      tenantId: "bench",
      aiGatewayId: "bench-gateway",
      models: { chat: MODEL, fallbacks: [], tiers: {} },
      limits: { maxRequestBytes: 65536, maxOutputTokens: 1024, attemptTimeoutMs: 30000 },
      ...(HTTP ? { providers: { bench: { kind: "openai-compatible", baseUrl: upstream.url, auth: { type: "none" } } } } : {}),
    });
    const gw = await startGateway({ buildDir: BUILD, tenant, scenarios: SCENARIOS, recordCalls: false, inspectorPort });
    try {
      const pids = workerdPids().filter((p) => !before.has(p));
      out.push(
        ...(await profileTarget(
          HTTP
            ? { title: `gateway (POST ${ROUTE}, no budget, HTTP provider)`, url: `${gw.url}${ROUTE}`, model: `bench/${HTTP_MODEL}`, longModel: `bench/${HTTP_LONG}`, pids, inspectorPort, workerName: "gateway", stamp }
            : { title: `gateway (POST ${ROUTE}, no budget)`, url: `${gw.url}${ROUTE}`, model: MODEL, pids, inspectorPort, workerName: "gateway", stamp },
        )),
      );
    } finally {
      await gw.close();
    }
  }
  if (FLOOR) {
    const inspectorPort = await freePort();
    const floor = await startFloor({ upstreamUrl: HTTP ? upstream.url : undefined, scenarios: SCENARIOS, inspectorPort });
    try {
      const base = floor.url;
      const pids = floor.pids;
      out.push(
        ...(await profileTarget(
          HTTP
            ? { title: "floor (JS pass-through, POST /v1/chat/completions)", url: `${base}/v1/chat/completions`, model: HTTP_MODEL, longModel: HTTP_LONG, route: "/v1/chat/completions", pids, inspectorPort, workerName: "floor", stamp }
            : { title: "floor (POST /ai)", url: `${base}/ai`, model: MODEL, pids, inspectorPort, workerName: "floor", stamp },
        )),
      );
    } finally {
      await floor.stop();
    }
  }
}

try {
  await main();
} catch (e) {
  say(`failed: ${e.stack ?? e}`);
  process.exitCode = 1;
}
