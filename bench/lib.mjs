// Shared pieces of the benchmarks: workerd CPU accounting from /proc, a closed-loop load
// generator, a keep-alive HTTP client that also times the first token, percentile summaries,
// and the servers every benchmark starts (the upstream stand-in, the floor worker, a free
// port). Linux only (reads /proc). Not part of CI.
import { fork } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { ROOT, COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "../tests/support/runtime.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SIM_PATH = path.join(ROOT, "tests/support/ai-sim.mjs");

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** PIDs of the workerd processes this Node process started (Miniflare spawns them directly). */
export function workerdPids() {
  const out = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm.startsWith("workerd") && ppid === process.pid) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** `root` and every process below it (children, grandchildren, ...), from /proc. */
export function processTree(root) {
  const children = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  const out = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop();
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU seconds (user + system) used so far by `pids`. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // gone
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/** The `q` quantile (0..1) of sorted numbers. */
export function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Sends `total` requests made by `makeRequest(i, lane)` (a function returning a Promise that
 * resolves when the whole response body has been read) with `concurrency` in flight; `lane`
 * (0 .. concurrency-1) is the client lane that sends it, one request at a time.
 * Returns latencies in ms (sorted), completion times in ms from the start (`ends`, in order of
 * completion) and the wall time in s.
 */
export async function load(makeRequest, total, concurrency) {
  const latencies = [];
  const ends = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  async function lane(l) {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      try {
        await makeRequest(i, l);
      } catch {
        failures++;
      }
      const t1 = performance.now();
      latencies.push(t1 - t0);
      ends.push(t1 - started);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, l) => lane(l)));
  const wall = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, ends, wall, failures };
}

/** Reads a response body to its end and fails on a non-2xx status. */
export async function drain(res) {
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

/** A keep-alive agent for `post` with up to `sockets` connections. */
export function keepAliveAgent(sockets) {
  return new http.Agent({ keepAlive: true, maxSockets: sockets });
}

/**
 * POSTs `body` (a Buffer) to `url` over node:http (cheaper per request than fetch, so the load
 * generator takes less of the shared cores) and reads the answer to its end. Resolves
 * { status, ms, ttft, text }: `ttft` is the ms until the bytes of `mark` first arrived (null
 * without a mark or when it never came), `text` the body when `collect` is set. Rejects on a
 * network error.
 */
export function post(url, body, { headers = {}, agent, mark, collect = false } = {}) {
  const u = new URL(url);
  const needle = mark ? Buffer.from(mark) : null;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": body.length, ...headers },
      },
      (res) => {
        let ttft = null;
        let tail = Buffer.alloc(0);
        const parts = [];
        res.on("data", (chunk) => {
          if (collect) parts.push(chunk);
          if (needle && ttft === null) {
            const window = tail.length ? Buffer.concat([tail, chunk]) : chunk;
            if (window.indexOf(needle) >= 0) ttft = performance.now() - t0;
            else tail = window.subarray(Math.max(0, window.length - needle.length + 1));
          }
        });
        res.on("end", () =>
          resolve({ status: res.statusCode, ms: performance.now() - t0, ttft, text: collect ? Buffer.concat(parts).toString("utf8") : "" }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * bench/upstream.mjs (the OpenAI-compatible stand-in) in a Node process of its own, with
 * `scenarios`: resolves to { url, pid, stop }. `track(stop)` lets the caller register the stop
 * with its own clean-up; the process is also killed if this one exits first.
 */
export function startUpstream(scenarios, track = (stop) => stop) {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(HERE, "upstream.mjs"), [JSON.stringify(scenarios)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const kill = () => child.kill("SIGTERM");
    process.once("exit", kill);
    const stop = track(
      () =>
        new Promise((r) => {
          process.removeListener("exit", kill);
          if (child.exitCode !== null || child.signalCode !== null) return r();
          child.once("exit", r);
          child.kill("SIGTERM");
        }),
    );
    child.once("error", (e) => Promise.resolve(stop()).then(() => reject(e)));
    child.once("exit", (code) => reject(new Error(`the upstream stand-in exited (${code})`)));
    child.once("message", (m) => resolve({ ...m, pid: child.pid, stop }));
  });
}

/**
 * Miniflare with bench/floor-worker.mjs and the Workers AI stand-in (`scenarios`), its
 * `UPSTREAM` bound to `upstreamUrl`: resolves to { url, pids (its new workerd processes), stop }.
 * `inspectorPort` opens workerd's V8 inspector (bench/profile.mjs). `unusedWasm` (a .wasm
 * file's path or bytes) is bundled with the worker as a module it imports and never instantiates: workerd
 * compiles every wasm module when it loads a worker, so this floor shows what the module's
 * presence alone costs at a cold start.
 */
export async function startFloor({ upstreamUrl, scenarios, inspectorPort, unusedWasm, track = (stop) => stop }) {
  const before = new Set(workerdPids());
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    ...(inspectorPort === undefined ? {} : { inspectorPort }),
    handleRuntimeStdio(stdout, stderr) {
      stdout.resume();
      stderr.resume();
    },
    workers: [
      {
        name: "floor",
        modules: true,
        ...(unusedWasm
          ? {
              modulesRoot: HERE,
              modules: [
                { type: "ESModule", path: path.join(HERE, "floor-with-wasm.mjs"), contents: 'import "./unused.wasm";\nexport { default } from "./floor-worker.mjs";\n' },
                { type: "ESModule", path: path.join(HERE, "floor-worker.mjs") },
                { type: "ESModule", path: path.join(HERE, "relay-floor.mjs") },
                { type: "CompiledWasm", path: path.join(HERE, "unused.wasm"), contents: Buffer.isBuffer(unusedWasm) ? unusedWasm : fs.readFileSync(unusedWasm) },
              ],
            }
          : { scriptPath: path.join(HERE, "floor-worker.mjs") }),
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: COMPATIBILITY_FLAGS,
        bindings: { UPSTREAM: upstreamUrl ?? "http://127.0.0.1:9/v1" },
        wrappedBindings: { AI: { scriptName: "ai-sim", bindings: { scenarios } } },
      },
      { name: "ai-sim", modules: [{ type: "ESModule", path: SIM_PATH }], modulesRoot: path.dirname(SIM_PATH) },
    ],
  });
  const stop = track(() => mf.dispose());
  const url = (await mf.ready).href.replace(/\/$/, "");
  return { url, pids: workerdPids().filter((p) => !before.has(p)), stop };
}
