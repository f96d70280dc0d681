// Shared pieces of the benchmarks: workerd CPU accounting from /proc, a closed-loop load
// generator, a keep-alive HTTP client that also times the first token, and percentile
// summaries. Linux only (reads /proc). Not part of CI.
import fs from "node:fs";
import http from "node:http";

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
 * Returns latencies in ms and the wall time in s.
 */
export async function load(makeRequest, total, concurrency) {
  const latencies = [];
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
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, l) => lane(l)));
  const wall = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, wall, failures };
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
