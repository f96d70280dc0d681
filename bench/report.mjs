// bench/run.mjs's report: the Markdown tables (binding and HTTP rows, long stream, cold start, size), the goals of issues 22 and 13, and what was skipped.
import os from "node:os";
import { results, N, C, SEQ, WARMUP, TOKENS, LONG, LONG_N, TTFT_N, COLD, ROUNDS_WITH } from "./options.mjs";
import { ms, num, one, signed, times, pct, table } from "./format.mjs";
import { doSections, doShares, roundCpuDiffs } from "./report-do.mjs";

const find = (section, id, mode) => results.rows.find((r) => r.section === section && r.id === id && r.mode === mode);
const findLong = (section, id) => results.long.find((r) => r.section === section && r.id === id);
const findCold = (id) => results.cold.find((r) => r.id === id);
/** Marginal CPU per streamed token: (CPU per long stream − CPU per short SSE answer) / extra tokens. */
const perToken = (section, id) => {
  const l = findLong(section, id);
  const s = find(section, id, "sse");
  return l?.cpuUs != null && s?.cpuUs != null ? (l.cpuUs - s.cpuUs) / (LONG - TOKENS) : null;
};

function sectionTable(section, floorId) {
  const head = ["target", "mode", "c=1 p50 ms", "c=1 p99 ms", `c=${C} req/s`, "CPU µs/req", "p50 vs floor", "req/s vs floor", "CPU − floor µs"];
  if (section === "http") head.push("CPU vs relay floor", "p50 − direct ms");
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
        const relay = find("http", "relay", r.mode);
        line.push(r.id === "relay" ? "1" : r.id === "direct" ? "–" : times(r.cpuUs, relay?.cpuUs));
        const d = find("http", "direct", r.mode);
        line.push(r.id === "direct" ? "0" : d ? signed(r.p50 - d.p50, ms) : "–");
      }
      line.push(String(r.failed));
      return line;
    });
  return table(head, rows);
}

function longTable() {
  const head = ["target", "TTFT p50 ms", "TTFT p99 ms", "TTFT − floor ms", "whole stream p50 ms", "CPU µs/stream", "CPU µs/token", "µs/token − floor", "µs/token − relay floor", "failed"];
  const relay = perToken("http", "relay");
  const rows = results.long.map((r) => {
    const floorId = r.section === "binding" ? "floor" : "pass";
    const f = findLong(r.section, floorId);
    const mine = perToken(r.section, r.id);
    const theirs = f ? perToken(r.section, floorId) : null;
    const via = r.id.startsWith("gw") ? (r.section === "http" ? " (HTTP provider)" : " (binding)") : "";
    return [
      `${r.label}${via}`,
      ms(r.ttftP50),
      ms(r.ttftP99),
      r.id === floorId ? "0" : f ? signed(r.ttftP50 - f.ttftP50, ms) : "–",
      ms(r.wholeP50),
      num(r.cpuUs),
      mine === null ? "–" : one(mine),
      r.id === floorId ? "0" : mine !== null && theirs !== null ? signed(mine - theirs, one) : "–",
      r.section !== "http" || r.id === "direct" ? "–" : r.id === "relay" ? "0" : mine !== null && relay !== null ? signed(mine - relay, one) : "–",
      String(r.failed),
    ];
  });
  return table(head, rows);
}

function coldTable() {
  const floor = findCold("floor");
  return table(
    ["target", "start → ready ms", "first request ms", "start → first 200 ms", "vs floor", "next request ms", "each start → first 200 ms"],
    results.cold.map((r) => [r.label, num(r.ready), ms(r.first), num(r.total), r.id === "floor" ? "1" : times(r.total, floor?.total), ms(r.next), r.totals.map(num).join(", ")]),
  );
}

/** How the gateway's cold start divides: the floor, the wasm module's presence, the rest. */
function coldShares() {
  const [f, w, g] = ["floor", "floor-wasm", "gw"].map(findCold);
  if (!f || !w || !g) return "";
  return `Of the gateway's ${num(g.total)} ms to the first 200: the floor's ${num(f.total)} ms, ${signed(w.total - f.total)} ms for merely bundling a wasm module of its size (workerd compiles every wasm module when it loads a worker), and ${signed(g.total - w.total)} ms for the rest (instantiating it, the gateway's own start and first request).`;
}

function goals() {
  const out = [];
  const add = (issue, goal, measured, ok) => out.push([`${goal} (#${issue})`, measured, ok === null ? "–" : ok ? "met" : "**not met**"]);
  if (results.wasm) add(22, "wasm ≤ 256,000 B gzipped", `${num(results.wasm.gzip)} B`, results.wasm.gzip <= 256_000);
  const [cf, cg] = [findCold("floor"), findCold("gw")];
  if (cf && cg) add(22, "cold start (start → first 200) ≤ 1.6x the floor", times(cg.total, cf.total), cg.total <= 1.6 * cf.total);
  const [tr, tg] = [perToken("http", "relay"), perToken("http", "gw-http")];
  if (tr !== null && tg !== null) add(22, "HTTP stream ≤ relay floor + 8 µs per token", `relay floor ${signed(tg - tr, one)} µs/token (${one(tg)} vs ${one(tr)})`, tg - tr <= 8);
  for (const mode of ["json", "sse"]) {
    const [r, g] = [find("http", "relay", mode), find("http", "gw-http", mode)];
    if (r?.cpuUs && g?.cpuUs) add(22, `HTTP ${mode.toUpperCase()}: CPU ≤ 1.3x the relay floor's`, `${times(g.cpuUs, r.cpuUs)} (${num(g.cpuUs)} vs ${num(r.cpuUs)} µs)`, g.cpuUs <= 1.3 * r.cpuUs);
  }
  const floor = find("binding", "floor", "json");
  const gw = find("binding", "gw", "json");
  const gdo = find("binding", "gw-do", "json");
  if (floor && gw) {
    const d = gw.cpuUs - floor.cpuUs;
    add(22, "JSON, no budget: CPU ≤ floor + 150 µs", `floor ${signed(d)} µs`, d <= 150);
    add(22, `JSON, no budget: c=${C} req/s ≥ 70 % of the floor`, pct(gw.rps, floor.rps), gw.rps >= 0.7 * floor.rps);
  }
  if (gw && gdo) {
    add(22, `Durable Object budget: c=${C} req/s ≥ 85 % of no budget`, pct(gdo.rps, gw.rps), gdo.rps >= 0.85 * gw.rps);
    const d = gdo.cpuUs - gw.cpuUs;
    add(22, "Durable Object budget: CPU ≤ no budget + 60 µs", `no budget ${signed(d)} µs`, d <= 60);
  }
  const shares = doShares();
  if (shares.length && ROUNDS_WITH === "durable-object") {
    const lo = Math.min(...shares);
    add(22, `Durable Object budget: ≥ 85 % in every round (${shares.length} fresh pairs)`, `${shares.map((s) => Math.round(100 * s)).join(", ")} %`, lo >= 0.85);
  }
  const diffs = roundCpuDiffs();
  if (diffs.length && ROUNDS_WITH !== "none") {
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    const [what, base, limit] = ROUNDS_WITH === "api-key" ? ["API key", "no key", 30] : ["Durable Object budget", "no budget", 60];
    add(22, `${what}: CPU ≤ ${base} + ${limit} µs, mean of ${diffs.length} fresh pairs`, `${signed(mean)} µs (${diffs.map((d) => signed(d)).join(", ")})`, mean <= limit);
  }
  const [lf, lg] = [perToken("binding", "floor"), perToken("binding", "gw")];
  if (lf !== null && lg !== null) add(13, "binding stream: ≤ 5 µs CPU per relayed token above the floor", `${one(lg - lf)} µs/token above`, lg - lf <= 5);
  const [tf, tgw] = [findLong("binding", "floor"), findLong("binding", "gw")];
  if (tf && tgw) {
    const t = tgw.ttftP50 - tf.ttftP50;
    add(13, "binding stream: time to first token ≤ floor + 1 ms", `floor ${signed(t, ms)} ms`, t <= 1);
  }
  const hg = find("http", "gw-http", "json");
  const pk = find("http", "portkey", "json");
  const dir = find("http", "direct", "json");
  if (hg && pk) add(13, `HTTP path: c=${C} req/s ≥ 2x Portkey's`, `${(hg.rps / pk.rps).toFixed(2)}x`, hg.rps >= 2 * pk.rps);
  if (hg && pk && dir) {
    const a = hg.p50 - dir.p50;
    const b = pk.p50 - dir.p50;
    add(13, "HTTP path: p50 overhead over direct ≤ ¼ of Portkey's", `${a.toFixed(2)} ms vs Portkey's ${b.toFixed(2)} ms (${b > 0 ? Math.round((100 * a) / b) : "–"} %)`, a <= b / 4);
  }
  if (!out.length) return "(not enough rows to judge any goal)";
  return table(["goal (issue)", "this run", ""], out);
}

/** The whole report; `run`: { started, ended, load (1-minute load average at the start), build, stamp, probe }. */
export function render(run) {
  const cpu = os.cpus();
  const lines = [
    `## Run of ${run.started.toISOString().slice(0, 16).replace("T", " ")} UTC (${Math.round((run.ended - run.started) / 1000)} s)`,
    "",
    `Machine: ${cpu.length} × ${cpu[0]?.model?.trim() ?? "?"}, Linux ${os.release()}, Node ${process.version}, load average ${run.load.toFixed(2)} when the run started. Build: ${run.build} (stamp ${run.stamp}).`,
    `Requests per target: ${N} at c=${C} (throughput, CPU), ${SEQ} at c=1 (latency), after ${WARMUP} warm-up; answers of ${TOKENS} tokens; ${LONG}-token streams: ${LONG_N} at c=${C} (CPU) and ${TTFT_N} at c=1 (TTFT).`,
    `Durable Object and KV data: ${results.storage?.dir} (${results.storage?.fs}); ledger probe ${run.probe ? "on (the Durable Object rows count their ledger operations)" : "off"}.`,
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
    `### Cold start (median of ${COLD} fresh starts, interleaved)`,
    "",
    coldTable(),
    "",
    coldShares(),
    "",
    "### Size of the build",
    "",
    table(
      ["file", "bytes", "gzip bytes (Node zlib level 9; `gzip -9` of scripts/wasm-ceiling.sh gives about 1 % fewer)"],
      [
        ["index_bg.wasm", num(results.wasm.raw), num(results.wasm.gzip)],
        ["index.js", num(results.wasm.js), num(results.wasm.jsGzip)],
      ],
    ),
    "",
    ...doSections(),
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
