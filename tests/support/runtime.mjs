// Runs the built worker (build/index.js + index_bg.wasm) in workerd through Miniflare, with
// local KV, Durable Objects, D1 and Queues, the Workers AI stand-in bound as `AI` and Vectorize
// stand-ins (vectorize-sim.mjs). Used by the e2e tests and by the local dev server
// (dev/serve.mjs). Not shipped.
import { Miniflare } from "miniflare";
import { createInterface } from "node:readline";
import http from "node:http";
import { fileURLToPath } from "node:url";
import path from "node:path";
import fs from "node:fs";
import { parse as parseToml } from "smol-toml";
import { mintToken } from "./jwt.mjs";
import { VectorizeSim, vectorizeWorkerOptions } from "./vectorize-sim.mjs";

export { mintToken };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const COMPATIBILITY_DATE = "2026-04-26";
export const COMPATIBILITY_FLAGS = ["enable_request_signal"];
const SIM_PATH = path.join(ROOT, "tests/support/ai-sim.mjs");
const ANALYTICS_SIM_PATH = path.join(ROOT, "tests/support/analytics-sim.mjs");

/**
 * Starts the gateway.
 * @param {object} o
 * @param {object} o.tenant        the TENANT var (tenant config object)
 * @param {object} [o.vars]        other vars (MODEL_ID, ...)
 * @param {object} [o.scenarios]   AI stand-in behaviour per model id ("*" = default)
 * @param {object} [o.kvNamespaces]  binding -> namespace id (default BUDGET_KV and AUTH_KV)
 * @param {object} [o.ratelimits]  rate limit binding -> { simple: { limit, period: 60 } }
 *                                 (KEY_RATE_LIMITER, USER_RATE_LIMITER, IP_RATE_LIMITER)
 * @param {object} [o.durableObjects] binding -> class name
 * @param {number} [o.port]        0 (default) picks a free port
 * @param {string} [o.persistRoot] persist KV/DO state under this folder (dev server)
 * @param {string} [o.upstream]    forward AI calls to this OpenAI-compatible base URL
 * @param {string} [o.buildDir]  the worker build to run (default: build/; the benchmark compares two)
 * @param {boolean} [o.omitAi]     true: bind no `AI` at all (a worker deployed without [ai])
 * @param {number} [o.inspectorPort] open workerd's V8 inspector (DevTools protocol) on this
 *                                 127.0.0.1 port; GET /json lists one target per worker
 *                                 (bench/profile.mjs)
 * @param {object} [o.vectorize]   Vectorize stand-ins: binding -> { dimensions, metric
 *                                 ("cosine" default | "euclidean" | "dot-product"),
 *                                 metadataIndexes: {prop: "string"|"number"|"boolean"},
 *                                 indexName (default: the binding), mutationDelayMs (default 0:
 *                                 writes are queryable at once), topKWithValuesOrMetadata (20) }
 * @param {VectorizeSim} [o.vectorizeSim] an existing stand-in service (VectorizeSim.start(...),
 *                                 or gw.vectorizeSim of an earlier gateway) to bind instead of a
 *                                 new one: its indexes outlive this gateway (a restart keeps
 *                                 them); close() leaves it running. Without `vectorize`, every
 *                                 index it holds is bound under its own name.
 * @param {string} [o.vectorizePersist] keep the indexes in files under this folder (default:
 *                                 <persistRoot>/vectorize when persistRoot is set)
 * @param {object} [o.d1Databases]  Miniflare's D1: binding -> database id
 * @param {object} [o.queueProducers] Miniflare's Queues: binding -> queue name (or {queueName,
 *                                 deliveryDelay})
 * @param {object} [o.queueConsumers] queue name -> {maxBatchSize, maxBatchTimeout, maxRetries,
 *                                 deadLetterQueue, retryDelay}: the gateway consumes them itself
 * @param {string} [o.analytics]  bind a USAGE_ANALYTICS Analytics Engine dataset of this name
 *                                 (tests/support/analytics-sim.mjs: it checks the documented
 *                                 limits and logs each data point; gw.analyticsPoints() reads them)
 * @param {boolean|string} [o.assets] Workers Static Assets in front of the worker, as the
 *                                 wrangler [assets] table serves them: true = assets/ (the
 *                                 operator console at /console/), or a folder. A path that is a
 *                                 file there is answered from it (with assets/_headers rules;
 *                                 .assetsignore honoured) and never reaches the worker.
 */
export async function startGateway(o) {
  const buildDir = o.buildDir ?? path.join(ROOT, "build");
  if (!fs.existsSync(path.join(buildDir, "index.js"))) {
    throw new Error(`${path.join(buildDir, "index.js")} is missing: run scripts/build.sh first`);
  }
  const logs = [];
  const waiters = [];
  const onLine = (line) => {
    logs.push(line);
    for (const w of [...waiters]) if (w.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    if (o.echoLogs) console.log(line);
  };
  const calls = [];
  const progress = new Map(); // AI call id -> { traceId, call, model, produced, done }
  const recorder = o.recordCalls === false ? null : await startRecorder(calls, progress);
  const aiBindings = { scenarios: o.scenarios ?? {} };
  if (recorder) {
    aiBindings.recorder = recorder.url;
    aiBindings.progress = recorder.progressUrl;
  }
  if (o.upstream) {
    aiBindings.upstream = o.upstream;
    if (o.upstreamModel) aiBindings.upstreamModel = o.upstreamModel;
    if (o.upstreamKey) aiBindings.upstreamKey = o.upstreamKey;
  }
  const persist = o.persistRoot ? { defaultPersistRoot: o.persistRoot } : {};
  const vdefs = o.vectorize ?? (o.vectorizeSim ? Object.fromEntries([...o.vectorizeSim.indexes.keys()].map((n) => [n, {}])) : {});
  let vsim = o.vectorizeSim ?? null;
  const ownSim = !vsim && Object.keys(vdefs).length > 0;
  if (ownSim) {
    const persistDir = o.vectorizePersist ?? (o.persistRoot ? path.join(o.persistRoot, "vectorize") : undefined);
    vsim = new VectorizeSim({ persistDir });
    await vsim.listen();
  }
  if (o.vectorize) for (const [binding, def] of Object.entries(o.vectorize)) vsim.define(def.indexName ?? binding, def);
  const vw = vsim ? vectorizeWorkerOptions(vsim, vdefs) : null;
  const indexOf = (binding) => {
    if (!Object.hasOwn(vdefs, binding)) throw new Error(`no Vectorize binding ${binding} (bound: ${Object.keys(vdefs).join(", ") || "none"})`);
    return vdefs[binding]?.indexName ?? binding;
  };
  const native = Object.fromEntries(["d1Databases", "queueProducers", "queueConsumers"].filter((k) => o[k]).map((k) => [k, o[k]]));
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: o.port ?? 0,
    ...persist,
    ...(o.inspectorPort === undefined ? {} : { inspectorPort: o.inspectorPort }),
    handleRuntimeStdio(stdout, stderr) {
      createInterface({ input: stdout }).on("line", onLine);
      createInterface({ input: stderr }).on("line", onLine);
    },
    workers: [
      {
        name: "gateway",
        modules: true,
        scriptPath: path.join(buildDir, "index.js"),
        ...(o.buildDir ? { modulesRoot: buildDir } : {}),
        modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
        compatibilityDate: COMPATIBILITY_DATE,
        // Request.signal aborts when the client disconnects (logged as clientDisconnected).
        compatibilityFlags: COMPATIBILITY_FLAGS,
        bindings: { TENANT: o.tenant, ...(o.vars ?? {}) },
        wrappedBindings: {
          ...(o.omitAi ? {} : { AI: { scriptName: "ai-sim", bindings: aiBindings } }),
          ...(vw?.wrappedBindings ?? {}),
          ...(o.analytics ? { USAGE_ANALYTICS: { scriptName: "analytics-sim", bindings: { dataset: o.analytics } } } : {}),
        },
        ...native,
        ...(o.assets ? { assets: staticAssets(o.assets) } : {}),
        kvNamespaces: o.kvNamespaces ?? { BUDGET_KV: "budget-kv", AUTH_KV: "auth-kv" },
        ...(o.ratelimits ? { ratelimits: o.ratelimits } : {}),
        durableObjects: o.durableObjects ?? {
          BUDGET_LEDGER: { className: "BudgetLedger", useSQLite: true },
          SESSIONS: { className: "ChatSession", useSQLite: true },
          USAGE_HISTORY: { className: "UsageHistory", useSQLite: true },
        },
      },
      // A module bound only as a wrapped binding (its non-function exports would not start as
      // a worker of its own, so it is left out when nothing binds it).
      ...(o.omitAi ? [] : [{
        name: "ai-sim",
        modules: [{ type: "ESModule", path: SIM_PATH }],
        modulesRoot: path.dirname(SIM_PATH),
      }]),
      ...(vw ? [vw.worker] : []),
      ...(o.analytics ? [{ name: "analytics-sim", modules: [{ type: "ESModule", path: ANALYTICS_SIM_PATH }], modulesRoot: path.dirname(ANALYTICS_SIM_PATH) }] : []),
    ],
  });
  const url = await mf.ready;
  const base = url.href.replace(/\/$/, "");

  return {
    url: base,
    mf,
    logs,
    /** Structured request log lines (parsed JSON) written by the worker. */
    requestLogs() {
      return logs.flatMap((l) => {
        const i = l.indexOf("{");
        if (i < 0) return [];
        try {
          const v = JSON.parse(l.slice(i));
          return v && v.traceId ? [v] : [];
        } catch {
          return [];
        }
      });
    },
    /** Resolves with the first log line (parsed) for `traceId`, waiting up to `ms`. */
    async logFor(traceId, ms = 10_000) {
      const find = () => this.requestLogs().find((l) => l.traceId === traceId);
      const found = find();
      if (found) return found;
      const line = await new Promise((resolve, reject) => {
        const w = { test: (l) => l.includes(`"traceId":"${traceId}"`), resolve };
        waiters.push(w);
        setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); reject(new Error(`no log line for ${traceId} within ${ms} ms`)); }, ms);
      });
      return JSON.parse(line.slice(line.indexOf("{")));
    },
    /** The tenant's Durable Object ledger state: { day, day_used, month, month_used, reservations }. */
    async ledger(tenantId) {
      const ns = await mf.getDurableObjectNamespace("BUDGET_LEDGER", "gateway");
      const res = await ns.get(ns.idFromName(tenantId)).fetch("https://budget-ledger/state");
      return res.json();
    },
    /** Sum of the KV shard counters of a tenant for the current day and month. */
    async kvTotals(tenantId) {
      const kv = await mf.getKVNamespace("BUDGET_KV", "gateway");
      const sum = async (kind) => {
        const { keys } = await kv.list({ prefix: `budget/${tenantId}/${kind}/` });
        return keys.reduce((n, k) => n + (k.metadata?.used ?? 0), 0);
      };
      return { daily: await sum("d"), monthly: await sum("m"), keys: (await kv.list({ prefix: "budget/" })).keys.map((k) => k.name) };
    },
    /** The Analytics Engine data points written so far (with o.analytics), oldest first. */
    analyticsPoints() {
      return logs.flatMap((l) => {
        const i = l.indexOf('{"analyticsDataPoint"');
        return i < 0 ? [] : [JSON.parse(l.slice(i)).analyticsDataPoint];
      });
    },
    /** Every AI call the stand-in received, oldest first: { model, inputs, options }. */
    aiCalls() {
      return [...calls];
    },
    /** The AI calls made for one trace id (read from the gateway metadata the binding got). */
    aiCallsFor(traceId) {
      return calls.filter((c) => c.options?.gateway?.metadata?.traceId === traceId);
    },
    /**
     * How many answer pieces the stand-in has produced so far for `traceId`, summed over its
     * AI calls (streams count as the reader pulls; whole answers count at once).
     */
    aiProduced(traceId) {
      return this.aiProgress(traceId).reduce((n, p) => n + p.produced, 0);
    },
    /** The stand-in's progress reports for `traceId`: [{ model, produced, done }], one per call. */
    aiProgress(traceId) {
      return [...progress.values()].filter((p) => p.traceId === traceId).map(({ model, produced, done }) => ({ model, produced, done }));
    },
    /**
     * An admin route with the ADMIN_TOKEN the test passed in `vars` (or `token`, `null` for
     * none): { status, headers, body (parsed JSON or null), text }.
     */
    async admin(method, route, body, { token = o.vars?.ADMIN_TOKEN } = {}) {
      const headers = { "content-type": "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(`${base}${route}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const text = await res.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      return { status: res.status, headers: res.headers, body: json, text };
    },
    /**
     * Creates an API key through POST /admin/keys (`opts`: name, scopes, budget, expiresAt;
     * name defaults to "test") and returns the 201 body: { id, key, name, scopes, budget,
     * expiresAt, createdAt }. Throws with the answer on any other status.
     */
    async adminKey(opts = {}) {
      const r = await this.admin("POST", "/admin/keys", { name: "test", ...opts });
      if (r.status !== 201) throw new Error(`POST /admin/keys answered ${r.status}: ${r.text}`);
      return r.body;
    },
    /** The Vectorize stand-in service (pass it as `vectorizeSim` to a new gateway to restart). */
    vectorizeSim: vsim,
    /** Every vector the index behind `binding` holds: [{id, namespace?, values, metadata?}]. */
    vectors(binding) {
      return vsim.vectors(indexOf(binding));
    },
    /** The requests the index behind `binding` received: [{op, body, at}] (body as sent). */
    vectorizeRequests(binding) {
      return vsim.requests(indexOf(binding));
    },
    /**
     * Makes every call to the index behind `binding` fail as the real binding does when the
     * service fails: true -> Error("VECTOR_QUERY_ERROR: Status + 503") (per operation);
     * {code, error, status} -> "<OP>_ERROR (code = N): error"; {latencyMs}; {hang: true};
     * false -> working again.
     */
    vectorizeDown(binding, fault = true) {
      vsim.fault(indexOf(binding), fault);
    },
    /** The D1 database bound as `binding` (Miniflare's local D1). */
    d1(binding) {
      return mf.getD1Database(binding, "gateway");
    },
    /** The Queue producer bound as `binding` (send test messages to the gateway's consumer). */
    queue(binding) {
      return mf.getQueueProducer(binding, "gateway");
    },
    async close() {
      await mf.dispose();
      recorder?.server.close();
      if (ownSim) await vsim.close();
    },
  };
}

/**
 * startGateway options for a tenant's wrangler.toml: its TENANT and other vars, its KV
 * namespaces, Durable Objects and rate limiters (the AI binding is always the stand-in).
 */
export function optionsFromWranglerToml(configPath) {
  const config = parseToml(fs.readFileSync(configPath, "utf8"));
  const { TENANT, ...vars } = config.vars ?? {};
  return {
    tenant: TENANT,
    vars,
    kvNamespaces: Object.fromEntries((config.kv_namespaces ?? []).map((k) => [k.binding, k.id])),
    durableObjects: Object.fromEntries(
      (config.durable_objects?.bindings ?? []).map((d) => [d.name, { className: d.class_name, useSQLite: true }]),
    ),
    // [[ratelimits]] name = "...", namespace_id = "...", simple = { limit = N, period = 60 }
    ...(config.ratelimits?.length ? { ratelimits: Object.fromEntries(config.ratelimits.map((r) => [r.name, { simple: r.simple }])) } : {}),
    ...queuesAndD1(config),
  };
}

/**
 * [[d1_databases]] and [[queues.producers]] / [[queues.consumers]] as Miniflare options (only
 * the ones a config declares). [[vectorize]] has no dimensions in wrangler.toml: see
 * dev/serve.mjs (knowledgeOptions).
 */
function queuesAndD1(config) {
  const out = {};
  const d1 = config.d1_databases ?? [];
  if (d1.length) out.d1Databases = Object.fromEntries(d1.map((d) => [d.binding, d.database_id ?? d.database_name]));
  const producers = config.queues?.producers ?? [];
  if (producers.length) {
    out.queueProducers = Object.fromEntries(producers.map((p) => [p.binding, { queueName: p.queue, ...(p.delivery_delay === undefined ? {} : { deliveryDelay: p.delivery_delay }) }]));
  }
  const consumers = config.queues?.consumers ?? [];
  if (consumers.length) {
    const keys = { max_batch_size: "maxBatchSize", max_batch_timeout: "maxBatchTimeout", max_retries: "maxRetries", dead_letter_queue: "deadLetterQueue", retry_delay: "retryDelay" };
    out.queueConsumers = Object.fromEntries(consumers.map((c) => [c.queue, Object.fromEntries(Object.entries(keys).filter(([k]) => c[k] !== undefined).map(([k, v]) => [v, c[k]]))]));
  }
  return out;
}

/**
 * Miniflare's `assets` option for startGateway's `assets` (true: ROOT/assets), as wrangler
 * derives it from [assets] (directory; a Worker script, so unmatched paths reach it).
 */
function staticAssets(dir) {
  const directory = dir === true ? path.join(ROOT, "assets") : path.resolve(ROOT, dir);
  return { directory, routerConfig: { has_user_worker: true }, assetConfig: { html_handling: "auto-trailing-slash", not_found_handling: "none" } };
}

/**
 * A loopback HTTP server the AI stand-in posts every call it receives to (/calls), and how many
 * pieces each call has produced so far (/progress).
 */
function startRecorder(calls, progress) {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        try {
          const v = JSON.parse(body);
          if (req.url === "/progress") {
            const prev = progress.get(v.call);
            progress.set(v.call, { ...v, produced: Math.max(prev?.produced ?? 0, v.produced), done: Boolean(prev?.done || v.done) });
          } else calls.push(v);
        } catch { /* ignore */ }
        res.end("ok");
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const base = `http://127.0.0.1:${server.address().port}`;
      resolve({ server, url: `${base}/calls`, progressUrl: `${base}/progress` });
    });
  });
}

/** A valid tenant config for tests; `patch` is merged on top (shallowly per section). */
export function testTenant(patch = {}) {
  const base = {
    tenantId: "acme",
    aiGatewayId: "acme-gateway",
    models: { chat: "@cf/test/primary", fallbacks: ["@cf/test/backup"], tiers: { fast: "@cf/test/fast" } },
    modelAllowList: [],
    limits: { maxRequestBytes: 4096, maxOutputTokens: 256, attemptTimeoutMs: 3000 },
    cors: { allowedOrigins: ["https://app.acme.example"] },
    // Most tests are about chat, not credentials: open mode unless a test sets `auth`.
    auth: { mode: "open" },
  };
  const out = { ...base, ...patch };
  for (const k of ["models", "limits", "cors", "auth"]) if (patch[k]) out[k] = { ...base[k], ...patch[k] };
  return out;
}
