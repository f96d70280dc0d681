// CPU per long stream for two or more builds, in interleaved rounds (issue 13). Finer than
// bench/run.mjs for one question, "does this build relay tokens cheaper than that one?",
// because each round restarts every build and the rounds alternate between them.
//
//   node bench/streams.mjs before=/tmp/before-build after=build
//
// Per build and round: a fresh gateway (tests/support/runtime.mjs, open auth, no budget, the
// Workers AI stand-in), STREAMS_WARMUP streams, then STREAMS_N streams of STREAMS_TOKENS tokens
// (model @cf/bench/long, POST /v1/chat/completions, stream: true) at c=STREAMS_CONCURRENCY; CPU is
// the gateway's workerd processes (stand-in included) from /proc, divided by the streams.
// Defaults: 3 rounds, 100 warm-up, 300 streams of 500 tokens at c=8.
import path from "node:path";
import { startGateway, testTenant, ROOT } from "../tests/support/runtime.mjs";
import { load, keepAliveAgent, post, workerdPids, cpuSeconds } from "./lib.mjs";

const env = process.env;
const num = (v, d) => (v ? Number(v) : d);
const ROUNDS = num(env.STREAMS_ROUNDS, 3);
const WARMUP = num(env.STREAMS_WARMUP, 100);
const N = num(env.STREAMS_N, 300);
const TOKENS = num(env.STREAMS_TOKENS, 500);
const C = num(env.STREAMS_CONCURRENCY, 8);
const LONG = "@cf/bench/long";

const builds = process.argv.slice(2).map((a) => {
  const [name, dir] = a.includes("=") ? a.split("=") : [a, a];
  return { name, dir: path.resolve(ROOT, dir) };
});
if (builds.length === 0) {
  console.error("usage: node bench/streams.mjs name=dir [name=dir ...]");
  process.exit(2);
}
const tenant = testTenant({
  tenantId: "bench",
  aiGatewayId: "bench-gateway",
  models: { chat: "@cf/meta/llama-3.1-8b-instruct", fallbacks: [], tiers: {} },
  limits: { maxRequestBytes: 65536, maxOutputTokens: TOKENS * 2, attemptTimeoutMs: 30000 },
});
const body = Buffer.from(JSON.stringify({ model: LONG, messages: [{ role: "user", content: "Hello there" }], stream: true }));
const results = new Map(builds.map((b) => [b.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const b of builds) {
    const before = new Set(workerdPids());
    const gw = await startGateway({ buildDir: b.dir, tenant, scenarios: { "*": { tokens: 32, anyModel: true }, [LONG]: { tokens: TOKENS } }, recordCalls: false });
    try {
      const pids = workerdPids().filter((p) => !before.has(p));
      const agent = keepAliveAgent(C);
      const send = () => post(`${gw.url}/v1/chat/completions`, body, { agent, headers: { "content-type": "application/json" }, mark: `tok${TOKENS - 1}` });
      await load(send, WARMUP, C);
      const cpu0 = cpuSeconds(pids);
      const run = await load(send, N, C);
      if (run.failures > 0) throw new Error(`${b.name}: ${run.failures} of ${N} streams failed`);
      results.get(b.name).push(((cpuSeconds(pids) - cpu0) / N) * 1e6);
    } finally {
      await gw.close();
    }
  }
}
console.log(`| build | CPU µs per ${TOKENS}-token stream, rounds | µs per token, rounds |`);
console.log("|---|---:|---:|");
for (const [name, us] of results) {
  console.log(`| ${name} | ${us.map((u) => Math.round(u).toLocaleString("en-US")).join(", ")} | ${us.map((u) => (u / TOKENS).toFixed(1)).join(", ")} |`);
}
process.exit(0);
