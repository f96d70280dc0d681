// bench/run.mjs's report on the Durable Object budget (goal 4 of issue 22): the rounds, and per phase where the CPU went and which ledger operations ran.
import { results, C, SAMPLE_MS, ROUNDS_LABEL } from "./options.mjs";
import { num, one, signed, pct, table } from "./format.mjs";

/** The rounds' pairs: [{ round, first (id of the one measured first), none, durable }]. */
function pairs() {
  const rounds = [...new Set(results.doRounds.map((r) => r.round))];
  return rounds.map((round) => {
    const rs = results.doRounds.filter((r) => r.round === round);
    return { round, first: rs.find((r) => r.position === 1)?.id, none: rs.find((r) => r.id === "gw"), durable: rs.find((r) => r.id === "gw-do") };
  });
}

/** The Durable Object row's c=16 req/s as a share of no budget's, per round with both rows. */
export function doShares() {
  return pairs()
    .filter((p) => p.none && p.durable)
    .map((p) => p.durable.rps / p.none.rps);
}

/** The second gateway's CPU per request minus the first's, per round with both rows. */
export function roundCpuDiffs() {
  return pairs()
    .filter((p) => p.none && p.durable)
    .map((p) => p.durable.cpuUs - p.none.cpuUs);
}

const where = (r) => (r.round ? `round ${r.round}${r.position === 1 ? ", first" : ""}` : `${r.section} ${r.mode}`);
const range = (a, b) => (a == null || b == null ? "–" : `${num(a)}–${num(b)}`);
/** reserve / settle / lease / report (release): counts, or per 1,000 requests with `per`. */
const opsText = (ops, per) => {
  if (!ops) return "–";
  const f = per ? (v) => one(v * per) : String;
  return `${f(ops.reserve)} / ${f(ops.settle)} / ${f(ops.lease)} / ${f(ops.report)} (${f(ops.release)})`;
};
const kb = (v) => (v == null ? "–" : v < 100 ? one(v) : num(v));

function roundsTable() {
  const rows = pairs().map((p) => [
    String(p.round),
    p.first === "gw-do" ? ROUNDS_LABEL : "no budget",
    num(p.none?.rps),
    num(p.durable?.rps),
    pct(p.durable?.rps, p.none?.rps),
    num(p.none?.cpuUs),
    num(p.durable?.cpuUs),
    p.none && p.durable ? signed(p.durable.cpuUs - p.none.cpuUs) : "–",
  ]);
  // BENCH_ROUNDS_WITH: what the second gateway of each pair has (with `none`, the share is noise).
  const other = ROUNDS_LABEL;
  return table(["round", "measured first", `no budget c=${C} req/s`, `${other} req/s`, "share", "no budget CPU µs/req", `${other} CPU µs/req`, "difference µs"], rows);
}

function phasesTable(rows) {
  return table(
    ["target", "where", `c=${C} req/s`, "CPU µs/req", "main thread µs/req", "V8 threads µs/req", "other threads µs/req", `${SAMPLE_MS} ms slices: req/s (slowest–fastest)`, "busiest slice (cores)", "V8 threads, busiest slice (cores)", "KB written per 1,000 req", "write syscalls/req"],
    rows.map((r) => {
      const p = r.phases.par;
      return [
        r.label,
        where(r),
        num(r.rps),
        num(r.cpuUs),
        num(p.mainUs),
        num(p.v8Us),
        num(p.otherUs),
        range(p.minRps, p.maxRps),
        p.maxCpu == null ? "–" : p.maxCpu.toFixed(2),
        p.maxV8 == null ? "–" : p.maxV8.toFixed(2),
        kb(p.writeBytes / 1024 / (p.requests / 1000)),
        one(p.syscwPerReq),
      ];
    }),
  );
}

function ledgerTable(rows) {
  return table(
    ["target", "where", "warm-up", "c=1", `c=${C}`, `c=${C} per 1,000 req`, "main thread µs/req: warm-up / c=1", "ledger after: leases, reservations, JSON bytes"],
    rows.map((r) => {
      const { warmup, seq, par } = r.phases;
      const l = r.ledger;
      return [
        r.label,
        where(r),
        opsText(warmup.ops),
        opsText(seq.ops),
        opsText(par.ops),
        opsText(par.ops, 1000 / par.requests),
        `${num(warmup.mainUs)} / ${num(seq.mainUs)}`,
        l ? `${l.leases}, ${l.reservations}, ${num(l.bytes)}` : "–",
      ];
    }),
  );
}

/** What a lease holds, from the ledger read after a phase: renewal at half use against c. */
function leaseNote(rows) {
  const granted = rows.map((r) => r.ledger?.granted).find((g) => g > 0);
  if (!granted) return "";
  const each = granted / 32;
  return ` Here a lease holds ${num(granted)} tokens, 32 reservations of about ${num(each)} (the output cap plus the prompt's estimate), and its successor is asked for once half of it is committed: ${num(granted / 2 / each)} requests in flight commit that half on their own, against c=${C}.`;
}

/** The report's lines for the Durable Object budget (empty when there is nothing to show). */
export function doSections() {
  const gatewayJson = results.rows.filter((r) => r.mode === "json" && ["gw", "gw-kv", "gw-do"].includes(r.id.replace(/-http$/, "")) && r.phases);
  const all = [...gatewayJson, ...results.doRounds.filter((r) => r.phases)];
  if (!all.length) return [];
  // The ledger table also takes the SSE rows: streams keep more requests in flight.
  const durable = [...results.rows.filter((r) => r.id.startsWith("gw-do") && r.phases), ...results.doRounds.filter((r) => r.id === "gw-do" && r.phases)];
  const out = [];
  if (results.doRounds.length) {
    out.push(`### Rounds: no budget against ${ROUNDS_LABEL} (fresh gateways, binding JSON)`, "", roundsTable(), "");
  }
  out.push(
    `### Durable Object budget: where the c=${C} CPU went`,
    "",
    `The c=${C} phase of the gateway's JSON rows: CPU per request by workerd thread (main: every isolate's JS and wasm, the ledger object's included; V8: its compiler and GC threads), the phase cut in ${SAMPLE_MS} ms slices (the slowest and fastest slice's req/s, the busiest slice's CPU in cores), and what workerd wrote to storage. An even slowdown is work per request; one slow or busy slice is a stall (GC, a compile, the ledger).`,
    "",
    phasesTable(all),
    "",
  );
  if (durable.some((r) => r.phases.par.ops || r.ledger)) {
    out.push(
      "### Durable Object budget: ledger operations per phase",
      "",
      `Operations the tenant's ledger object served in each phase, as reserve / settle / lease / report (of which releases). A request admitted from the isolate's lease makes none; a request that finds no room in it makes a reserve and a settle on its own path; each new lease is one lease and, once the one it replaces has drained, one release; usage goes in reports gathered for 50 ms.${leaseNote(durable)}`,
      "",
      ledgerTable(durable),
      "",
    );
  }
  return out;
}
