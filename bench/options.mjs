// bench/run.mjs's options (environment, documented in its header), request bodies, stand-in scenarios and the results every part of the run writes to.
import path from "node:path";
import { ROOT } from "../tests/support/runtime.mjs";

const env = process.env;
const int = (v, d) => (v === undefined || v === "" ? d : Math.max(0, Math.floor(Number(v))));
export const N = int(env.BENCH_REQUESTS, 2000);
export const C = Math.max(1, int(env.BENCH_CONCURRENCY, 16));
export const SEQ = Math.max(1, int(env.BENCH_SEQUENTIAL, Math.max(50, Math.round(N / 4))));
export const WARMUP = int(env.BENCH_WARMUP, 200);
export const TOKENS = Math.max(2, int(env.BENCH_ANSWER_TOKENS, 32));
export const LONG = Math.max(TOKENS + 1, int(env.BENCH_STREAM_TOKENS, 500));
export const LONG_N = Math.max(1, int(env.BENCH_STREAM_REQUESTS, Math.max(30, Math.round(N / 20))));
export const TTFT_N = Math.max(1, int(env.BENCH_TTFT_REQUESTS, 50));
export const COLD = Math.max(1, int(env.BENCH_COLD_STARTS, 5));
export const DO_ROUNDS = int(env.BENCH_DO_ROUNDS, 3);
export const DO_PROBE = env.BENCH_DO_PROBE !== "0";
/** What the rounds pair with a gateway without a budget: `durable-object` (goal 4), `api-key`, or `none` (a control). */
export const ROUNDS_WITH = ["durable-object", "api-key", "none"].includes(env.BENCH_ROUNDS_WITH) ? env.BENCH_ROUNDS_WITH : "durable-object";
export const ROUNDS_LABEL = { "durable-object": "Durable Object", "api-key": "API key", none: "control (no budget)" }[ROUNDS_WITH];
export const DO_WARMUP = int(env.BENCH_DO_WARMUP, 0);
export const SAMPLE_MS = Math.max(20, int(env.BENCH_SAMPLE_MS, 100));
export const PEERS = (env.BENCH_PEERS ?? "portkey,litellm").split(",").map((s) => s.trim()).filter((s) => s && s !== "none");
export const LITELLM_WORKERS = Math.max(1, int(env.BENCH_LITELLM_WORKERS, 1));
export const BUILD_SOURCE = path.resolve(ROOT, env.BENCH_BUILD ?? "build");
export const JSON_OUT = env.BENCH_JSON;
export const COLD_BUILDS = (env.BENCH_COLD_BUILDS ?? "").split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
  const [name, dir] = s.includes("=") ? [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)] : [path.basename(s), s];
  return { name, dir: path.resolve(ROOT, dir) };
});
export const ONLY = ["cold", "do"].includes(env.BENCH_ONLY) ? env.BENCH_ONLY : null;

export const ADMIN_TOKEN = "bench-admin-token-1c9e4f27a0b3d865";
export const BINDING_MODEL = "@cf/meta/llama-3.1-8b-instruct";
export const BINDING_LONG = "@cf/bench/long";
export const HTTP_MODEL = "m";
export const HTTP_LONG = "long";
export const LAST = `tok${TOKENS - 1}`;
export const LAST_LONG = `tok${LONG - 1}`;
export const SIM_SCENARIOS = { "*": { tokens: TOKENS, anyModel: true }, [BINDING_LONG]: { tokens: LONG } };
export const UPSTREAM_SCENARIOS = { "*": { tokens: TOKENS }, [HTTP_LONG]: { tokens: LONG } };

export const say = (line) => process.stderr.write(`[bench] ${line}\n`);
export const body = (model, stream) => Buffer.from(JSON.stringify({ model, messages: [{ role: "user", content: "Hello there" }], ...(stream ? { stream: true } : {}) }));

/**
 * Every measurement of the run: `rows` (JSON and SSE per target), `long` (the long stream),
 * `cold` (cold starts), `doRounds` (the Durable Object rounds), `skipped`, `wasm` (sizes),
 * `storage` (where workerd keeps Durable Object and KV data).
 */
export const results = { rows: [], long: [], cold: [], doRounds: [], skipped: [], wasm: null, storage: null };

export function options(extra = {}) {
  return {
    requests: N,
    concurrency: C,
    sequential: SEQ,
    warmup: WARMUP,
    answerTokens: TOKENS,
    streamTokens: LONG,
    streamRequests: LONG_N,
    ttftRequests: TTFT_N,
    coldStarts: COLD,
    doRounds: DO_ROUNDS,
    doProbe: DO_PROBE,
    doWarmup: DO_WARMUP,
    sampleMs: SAMPLE_MS,
    peers: PEERS,
    litellmWorkers: LITELLM_WORKERS,
    ...extra,
  };
}
