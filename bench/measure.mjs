// Measuring for bench/run.mjs: a target's JSON and SSE rows (with per-phase accounting), its long stream, the Durable Object rounds and the cold starts.
import { results, N, C, SEQ, WARMUP, LONG, LONG_N, TTFT_N, COLD, LAST, LAST_LONG, SAMPLE_MS, BINDING_MODEL, say, body } from "./options.mjs";
import { cpuSeconds, quantile, load, keepAliveAgent, post } from "./lib.mjs";
import { mark, phase, sampler, series } from "./phases.mjs";
import { opsBetween } from "./ledger-probe.mjs";

export function skip(row, reason) {
  const what = `${row.label}${row.mode ? ` (${row.mode})` : ""}${row.round ? ` (round ${row.round})` : ""}`;
  results.skipped.push({ what, reason });
  say(`skipped ${what}: ${reason}`);
  return null;
}

/**
 * Measures one target: checks one answer, warms up, c=1 latencies, then BENCH_REQUESTS at
 * c=BENCH_CONCURRENCY with the CPU of `pids()` read around it. Each phase (warm-up, c=1,
 * c=16) also gets its wall time, CPU per request by thread and I/O (phases.mjs), the c=16
 * phase a time series, and with a `probe` (ledger-probe.mjs) the ledger operations it caused
 * and the ledger's state after it.
 */
export async function measure(row, { url, headers = {}, payload, pids, probe, into = results.rows }) {
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
    const ids = pids();
    // At each boundary: the end of the phase before, the probe's read, the start of the next.
    const boundary = async () => {
      const end = mark(ids);
      const read = probe ? await probe.read() : null;
      return { end, read, start: mark(ids) };
    };
    const b0 = await boundary();
    await load(send, WARMUP, C);
    const b1 = await boundary();
    const seq = await load(send, SEQ, 1);
    const b2 = await boundary();
    const cpu0 = cpuSeconds(ids);
    const samples = sampler(ids, SAMPLE_MS);
    const par = await load(send, N, C);
    const slices = samples.stop();
    const cpu = cpuSeconds(ids) - cpu0;
    const b3 = await boundary();
    const failed = seq.failures + par.failures;
    if (failed > 0.1 * (SEQ + N)) return skip(row, `${failed} of ${SEQ + N} requests failed`);
    const ph = (a, b, n) => ({ ...phase(a.start, b.end, n), ops: opsBetween(a.read, b.read) });
    const r = {
      ...row,
      p50: quantile(seq.latencies, 0.5),
      p99: quantile(seq.latencies, 0.99),
      rps: N / par.wall,
      cpuUs: ids.length ? (cpu / N) * 1e6 : null,
      failed,
      phases: {
        warmup: ph(b0, b1, WARMUP),
        seq: ph(b1, b2, SEQ),
        par: { ...ph(b2, b3, N), ...series(slices, par.ends) },
      },
      ledger: b3.read?.ledger ?? null,
    };
    into.push(r);
    const ops = r.phases.par.ops;
    const opsText = ops ? `; ledger ops at c=${C}: ${ops.reserve} reserve, ${ops.settle} settle, ${ops.lease} lease, ${ops.report} report` : "";
    say(`${row.section} ${row.label} ${row.mode}${row.round ? ` (round ${row.round})` : ""}: p50 ${r.p50.toFixed(2)} ms, ${Math.round(r.rps)} req/s, ${r.cpuUs === null ? "-" : Math.round(r.cpuUs)} µs CPU${r.failed ? `, ${r.failed} failed` : ""}${opsText}`);
    return r;
  } catch (e) {
    return skip(row, e.message);
  } finally {
    agent.destroy();
  }
}

/** The long stream: time to first token at c=1, then CPU per stream at c=BENCH_CONCURRENCY. */
export async function measureLong(row, { url, headers = {}, payload, pids }) {
  const agent = keepAliveAgent(C);
  const send = async () => {
    const r = await post(url, payload, { headers, agent });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  };
  const longRow = { ...row, mode: `${LONG}-token stream` };
  try {
    const first = await post(url, payload, { headers, agent, collect: true });
    if (first.status !== 200 || !first.text.includes(LAST_LONG)) {
      return skip(longRow, `answered ${first.status}: ${first.text.replace(/\s+/g, " ").slice(0, 200)}`);
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
    if (failed > 0.1 * (LONG_N + TTFT_N)) return skip(longRow, `${failed} of ${LONG_N + TTFT_N} streams failed`);
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
    return skip(longRow, e.message);
  } finally {
    agent.destroy();
  }
}

/** Both modes (JSON, SSE) of one target, plus its long stream when `long` is set. */
export async function measureTarget(section, id, label, { url, headers, model, longModel, pids, probe, long = true }) {
  for (const stream of [false, true]) {
    await measure({ section, id, label, mode: stream ? "sse" : "json" }, { url, headers, payload: body(model, stream), pids, probe });
  }
  if (long) await measureLong({ section, id, label }, { url, headers, payload: body(longModel, true), pids });
}

/**
 * BENCH_DO_ROUNDS rounds of the goal-4 pair, binding JSON only: a fresh gateway without a
 * budget and a fresh one with the Durable Object budget, measured as in the main table; odd
 * rounds start without the budget, even rounds with it, so an effect of order shows. `targets`: [{ id, label, start }]
 * where start() resolves to { url, pids, probe, stop }.
 */
export async function doRounds(rounds, targets) {
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 ? targets : [...targets].reverse();
    for (const [i, t] of order.entries()) {
      const g = await t.start();
      try {
        await measure(
          { section: "binding", id: t.id, label: t.label, mode: "json", round, position: i + 1 },
          { url: `${g.url}/v1/chat/completions`, headers: g.headers, payload: body(BINDING_MODEL, false), pids: () => g.pids, probe: g.probe, into: results.doRounds },
        );
      } finally {
        await g.stop();
      }
    }
  }
}

/**
 * Cold starts, interleaved: BENCH_COLD_STARTS rounds, each starting every target once
 * (`targets`: [{ label, start, path, payload }]), so a drift of the machine reaches all alike.
 * Per target the medians of start -> ready, the first request, their sum, the next request.
 */
export async function coldStarts(targets) {
  const runs = new Map(targets.map((t) => [t, []]));
  const failed = new Set();
  for (let i = 0; i < COLD; i++) {
    for (const t of targets) {
      if (failed.has(t)) continue;
      const t0 = performance.now();
      const srv = await t.start();
      const ready = performance.now() - t0;
      try {
        const first = await post(srv.url + t.path, t.payload, { collect: true });
        const next = await post(srv.url + t.path, t.payload);
        if (first.status !== 200 || !first.text.includes(LAST)) {
          failed.add(t);
          skip({ label: t.label, mode: "cold start" }, `first request answered ${first.status}: ${first.text.slice(0, 200)}`);
          continue;
        }
        runs.get(t).push({ ready, first: first.ms, total: ready + first.ms, next: next.ms });
      } finally {
        await srv.stop();
      }
    }
  }
  for (const t of targets) {
    const rs = runs.get(t);
    if (!rs.length) continue;
    const med = (k) => quantile(rs.map((r) => r[k]).sort((a, b) => a - b), 0.5);
    const r = { label: t.label, id: t.id, ready: med("ready"), first: med("first"), total: med("total"), next: med("next"), runs: rs.length, totals: rs.map((x) => x.total) };
    results.cold.push(r);
    say(`cold start ${t.label}: ${Math.round(r.total)} ms to the first 200 (first request ${r.first.toFixed(1)} ms)`);
  }
}
