// The Durable Object probe of bench/run.mjs: a copy of the gateway build whose BudgetLedger counts the ledger operations it serves, read between phases with the ledger's state.
//
// The copy keeps the build's index.js as gateway.mjs and gets a new index.js that re-exports
// everything and wraps BudgetLedger: each POST is counted by its `op` (reserve, settle, lease,
// report; `release` counts the reports that give a lease back) and handed to the gateway's own
// class unchanged. The cost is one body read and one Request per ledger operation, in JS;
// BENCH_DO_PROBE=0 runs the build untouched (no counts then). GET /bench-probe answers the
// counts; any other GET is the ledger's own state route.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const WRAPPER = `// bench/ledger-probe.mjs: the gateway as built, its BudgetLedger counting the operations it serves.
import { BudgetLedger as Ledger } from "./gateway.mjs";
export * from "./gateway.mjs";
export { default } from "./gateway.mjs";
const OP = /"op":"(\\w+)"/;
export class BudgetLedger {
  constructor(state, env) {
    this.ledger = new Ledger(state, env);
    this.ops = { reserve: 0, settle: 0, lease: 0, report: 0, release: 0, other: 0 };
  }
  async fetch(request) {
    if (request.method !== "POST") {
      if (new URL(request.url).pathname === "/bench-probe") return Response.json(this.ops);
      return this.ledger.fetch(request);
    }
    const text = await request.text();
    const op = OP.exec(text)?.[1];
    this.ops[op in this.ops ? op : "other"]++;
    if (op === "report" && text.includes('"release":true')) this.ops.release++;
    return this.ledger.fetch(new Request(request.url, { method: "POST", body: text }));
  }
}
`;

export const OPS = ["reserve", "settle", "lease", "report", "release", "other"];

/** Makes the probe build from `buildDir` in `dir` (created); returns `dir`. */
export function probeBuild(buildDir, dir) {
  fs.cpSync(buildDir, dir, { recursive: true });
  fs.renameSync(path.join(dir, "index.js"), path.join(dir, "gateway.mjs"));
  fs.writeFileSync(path.join(dir, "index.js"), WRAPPER);
  return dir;
}

/**
 * Reads the ledger `name` of a gateway started from a probe build (`gw` from startGateway):
 * `read()` resolves to { ops (counts so far, or null without the probe), ledger: { leases,
 * granted (the newest lease's tokens: 32 reservations' worth), reservations (open now), bytes
 * (the ledger's JSON, which every operation loads and saves), dayUsed } }.
 * `warm(n)` sends the ledger `n` lease grants, each given back at once (ids `bench-warm-*`,
 * so the ledger ends as it was): the ledger object's code runs as often as in a long run
 * before anything is measured (BENCH_DO_WARMUP).
 */
export function ledgerProbe(gw, name, { counts = true } = {}) {
  let stub;
  const open = async () => {
    if (!stub) {
      const ns = await gw.mf.getDurableObjectNamespace("BUDGET_LEDGER", "gateway");
      stub = ns.get(ns.idFromName(name));
    }
    return stub;
  };
  const op = async (text) => {
    const r = await (await open()).fetch("https://budget-ledger/op", { method: "POST", body: text });
    const answer = await r.text();
    if (r.status !== 200) throw new Error(`the ledger answered ${r.status}: ${answer.slice(0, 200)}`);
  };
  return {
    async warm(n) {
      // u64::MAX (no limit) does not fit a JS number: the JSON is written by hand.
      const max = "18446744073709551615";
      const limits = `{"daily":{"tokens":${max},"micros":${max}},"monthly":{"tokens":${max},"micros":${max}}}`;
      for (let i = 0; i < n; i++) {
        const id = `bench-warm-${i}`;
        await op(`{"op":"lease","now_ms":${Date.now()},"id":"${id}","amount":{"tokens":1000,"micros":0},"limits":${limits}}`);
        await op(`{"op":"report","now_ms":${Date.now()},"id":"${id}","used":{"tokens":0,"micros":0},"release":true,"limits":${limits}}`);
      }
    },
    async read() {
      await open();
      let ops = null;
      if (counts) {
        const r = await stub.fetch("https://budget-ledger/bench-probe");
        ops = r.ok ? await r.json() : (await r.arrayBuffer(), null);
      }
      const s = await stub.fetch("https://budget-ledger/state");
      const text = await s.text();
      let ledger = null;
      try {
        const v = JSON.parse(text);
        ledger = { leases: v.leases?.length ?? 0, granted: v.leases?.at(-1)?.granted ?? null, reservations: v.reservations?.length ?? 0, bytes: text.length, dayUsed: v.day_used ?? null };
      } catch {
        // not a ledger answer
      }
      return { ops, ledger };
    },
  };
}

/** Operations between two reads (null when either has no counts). */
export function opsBetween(a, b) {
  if (!a?.ops || !b?.ops) return null;
  return Object.fromEntries(OPS.map((k) => [k, (b.ops[k] ?? 0) - (a.ops[k] ?? 0)]));
}

/** Where Miniflare keeps Durable Object and KV data when not persisting: os.tmpdir() and its file system. */
export function storageInfo() {
  const dir = os.tmpdir();
  let fsType = "unknown";
  try {
    const t = fs.statfsSync(dir).type;
    fsType = { 0x01021994: "tmpfs", 0xef53: "ext4", 0x9123683e: "btrfs", 0x58465342: "xfs", 0x794c7630: "overlayfs" }[t] ?? `0x${t.toString(16)}`;
  } catch {
    // statfs unavailable
  }
  return { dir, fs: fsType };
}
