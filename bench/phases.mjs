// Per-phase accounting for bench/run.mjs from /proc: workerd CPU split by thread, its I/O counters, and a CPU time series while a phase runs.
//
// Threads of a workerd process: the main thread (named "workerd": every isolate's JS and wasm,
// the Durable Objects included, and the event loop), V8's platform workers ("V8 DefaultWorke":
// concurrent TurboFan/Liftoff compilation, concurrent and parallel GC) and the rest (tokio
// and other runtime threads). A phase whose extra CPU sits on the V8 workers is compiling or
// collecting garbage; extra CPU on the main thread is work done per request (or GC pauses).
import fs from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds so far of the threads of `pids`, split: { main, v8, other }. */
export function threadCpu(pids) {
  const out = { main: 0, v8: 0, other: 0 };
  for (const pid of pids) {
    let tids;
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tids) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const s = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
        if (tid === String(pid)) out.main += s;
        else if (comm.startsWith("V8 ")) out.v8 += s;
        else out.other += s;
      } catch {
        // the thread ended while we looked
      }
    }
  }
  return out;
}

/** Write system calls and bytes written to storage so far by `pids` (/proc/<pid>/io). */
export function ioCounters(pids) {
  const out = { syscw: 0, writeBytes: 0 };
  for (const pid of pids) {
    try {
      const io = fs.readFileSync(`/proc/${pid}/io`, "utf8");
      out.syscw += Number(/^syscw: (\d+)/m.exec(io)?.[1] ?? 0);
      out.writeBytes += Number(/^write_bytes: (\d+)/m.exec(io)?.[1] ?? 0);
    } catch {
      // gone, or not readable
    }
  }
  return out;
}

/** Where `pids` stand now: a point to take a phase's difference from. */
export function mark(pids) {
  return { at: performance.now(), cpu: threadCpu(pids), io: ioCounters(pids) };
}

/** The phase between marks `a` and `b` of `requests` requests: wall ms, CPU µs per request by thread, I/O per request. */
export function phase(a, b, requests) {
  const per = (x) => (requests ? (x * 1e6) / requests : null);
  return {
    requests,
    wallMs: b.at - a.at,
    mainUs: per(b.cpu.main - a.cpu.main),
    v8Us: per(b.cpu.v8 - a.cpu.v8),
    otherUs: per(b.cpu.other - a.cpu.other),
    syscwPerReq: requests ? (b.io.syscw - a.io.syscw) / requests : null,
    writeBytes: b.io.writeBytes - a.io.writeBytes,
  };
}

/**
 * Samples the CPU of `pids` every `ms` until `stop()`, which returns the slices:
 * [{ t (ms since start), ms (slice length), main, v8, other (CPU ms in the slice) }].
 */
export function sampler(pids, ms) {
  const slices = [];
  const t0 = performance.now();
  let last = { at: t0, cpu: threadCpu(pids) };
  const take = () => {
    const now = { at: performance.now(), cpu: threadCpu(pids) };
    const d = (k) => (now.cpu[k] - last.cpu[k]) * 1000;
    slices.push({ t: last.at - t0, ms: now.at - last.at, main: d("main"), v8: d("v8"), other: d("other") });
    last = now;
  };
  const timer = setInterval(take, ms);
  return {
    stop() {
      clearInterval(timer);
      take();
      return slices;
    },
  };
}

/**
 * The time series of a phase: `slices` from `sampler` with the completions in each (`ends`:
 * completion times in ms from the phase's start, from lib.mjs `load`). Summarized as the
 * slowest and fastest full slice (req/s) and the busiest slice (CPU ms per wall ms, both cores
 * counted), so a phase with one stall (GC, a compile) reads apart from an evenly slower one.
 */
export function series(slices, ends) {
  const full = slices.filter((s) => s.ms > 0);
  const rows = full.map((s) => {
    const n = ends.filter((e) => e >= s.t && e < s.t + s.ms).length;
    return { t: Math.round(s.t), rps: (n * 1000) / s.ms, cpu: (s.main + s.v8 + s.other) / s.ms, v8: s.v8 / s.ms };
  });
  // The last slice is usually a stub (the phase ended inside it): leave it out of min/max.
  const body = rows.length > 2 ? rows.slice(0, -1) : rows;
  const rps = body.map((r) => r.rps);
  return {
    slices: rows,
    minRps: rps.length ? Math.min(...rps) : null,
    maxRps: rps.length ? Math.max(...rps) : null,
    maxCpu: body.length ? Math.max(...body.map((r) => r.cpu)) : null,
    maxV8: body.length ? Math.max(...body.map((r) => r.v8)) : null,
  };
}
