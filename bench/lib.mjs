// Shared pieces of the benchmarks: workerd CPU accounting from /proc, a closed-loop load
// generator, and percentile summaries. Linux only (reads /proc). Not part of CI.
import fs from "node:fs";

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
 * Sends `total` requests made by `makeRequest(i)` (a function returning a Promise that
 * resolves when the whole response body has been read) with `concurrency` in flight.
 * Returns latencies in ms and the wall time in s.
 */
export async function load(makeRequest, total, concurrency) {
  const latencies = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  async function lane() {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      try {
        await makeRequest(i);
      } catch {
        failures++;
      }
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  const wall = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, wall, failures };
}

/** Reads a response body to its end and fails on a non-2xx status. */
export async function drain(res) {
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}
