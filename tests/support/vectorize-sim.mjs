// Vectorize (V2) stand-in, service side: indexes held in the Node process (optionally persisted to files), with the real service's limits and errors, served over loopback HTTP to the binding in vectorize-binding.mjs. Not shipped.
//
// Sources (cloudflare/cloudflare-docs, src/content/docs/vectorize/...):
//   reference/client-api.mdx @b88c04ea   insert skips existing ids, upsert replaces whole
//     vectors, both (and deleteByIds) async with a mutationId; topK default 5, up to 100, up
//     to 20 with returnValues or returnMetadata "all"; returnMetadata none|indexed|all
//     (indexed: indexed fields only, long strings truncated); queryById; getByIds
//   reference/metadata-filtering.mdx @819cf982, platform/limits.mdx @1db3529d   filters (see
//     vectorize-filter.mjs); 1536 dimensions max, float32; id <= 64 bytes; metadata <= 10 KiB;
//     upsert batch <= 1000 from a Worker; namespace name <= 64 bytes; namespace applied before
//     metadata filters
//   best-practices/create-indexes.mdx @265260e2   metrics: cosine (-1..1, higher closer),
//     euclidean (distance, lower closer), dot-product (negative dot product, lower closer)
// workerd types/defines/vectorize.d.ts (VectorizeMatches {count, matches[{id, score, values?,
// metadata?, namespace?}]}, VectorizeAsyncMutation {mutationId}, VectorizeIndexInfo
// {vectorCount, dimensions, processedUpToDatetime, processedUpToMutation}).
//
// Errors are {code, error} bodies the binding turns into `${OP}_ERROR (code = N): error`.
// Codes and wording seen from the real service (quoted in public code and issues): 40006
// "invalid query vector, expected D dimensions, and got N dimensions"; 40012 "invalid vector
// for id=\"x\", expected D dimensions, and got N dimensions"; 40008 "id too long; max is 64
// bytes, got N bytes"; 40023 "failed to parse upsert vectors request in json format" (a lone
// surrogate, a non-number value); 40025 "with returnValues=true or returnMetadata=all, max top
// K is 50, but got 100; ..." (the service said 50 where the docs say 20: the stand-in keeps the
// documented 20, per index `topKWithValuesOrMetadata`); 40026 "Failed to parse the request body
// as JSON: returnMetadata: expected value" (returnMetadata: false). Made up (UNVERIFIED): 40025
// for topK over 100 or under 1, 40005 batch over 1000, 40009 namespace too long, 40010 metadata
// too large, 40001 filter rule violations. Also UNVERIFIED: queryById of an unknown id answers
// no matches; ids are unique per index, not per namespace; describe's processedUpTo* are an
// ISO date string and the mutation id (null before the first mutation).

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";
import { FilterError, validateFilter, matchesFilter, indexedValues, indexedMetadata } from "./vectorize-filter.mjs";

export const BINDING_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), "vectorize-binding.mjs");
export const LIMITS = {
  maxDimensions: 1536, idBytes: 64, metadataBytes: 10 * 1024, topK: 100, topKWithValuesOrMetadata: 20,
  batch: 1000, namespaceBytes: 64, metadataIndexes: 10, defaultTopK: 5,
};
const METRICS = ["cosine", "euclidean", "dot-product"];
const bytes = (s) => Buffer.byteLength(s, "utf8");
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

class ServiceError extends Error {
  constructor(code, message, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

function hasLoneSurrogate(v) {
  if (typeof v === "string") return LONE_SURROGATE.test(v);
  if (Array.isArray(v)) return v.some(hasLoneSurrogate);
  if (v && typeof v === "object") return Object.entries(v).some(([k, x]) => LONE_SURROGATE.test(k) || hasLoneSurrogate(x));
  return false;
}

function score(metric, a, b) {
  let dot = 0, na = 0, nb = 0, sq = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
    sq += (a[i] - b[i]) ** 2;
  }
  if (metric === "euclidean") return Math.sqrt(sq);
  if (metric === "dot-product") return -dot;
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

function checkDefinition(name, def) {
  const { dimensions, metric = "cosine", metadataIndexes = {} } = def ?? {};
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > LIMITS.maxDimensions) throw new Error(`vectorize index ${name}: dimensions must be 1..${LIMITS.maxDimensions}, got ${dimensions}`);
  if (!METRICS.includes(metric)) throw new Error(`vectorize index ${name}: metric must be one of ${METRICS.join(", ")}, got ${metric}`);
  const props = Object.entries(metadataIndexes);
  if (props.length > LIMITS.metadataIndexes) throw new Error(`vectorize index ${name}: at most ${LIMITS.metadataIndexes} metadata indexes, got ${props.length}`);
  for (const [p, t] of props) if (!["string", "number", "boolean"].includes(t)) throw new Error(`vectorize index ${name}: metadata index ${p} has type ${t}; string, number or boolean`);
  return {
    dimensions, metric, metadataIndexes: { ...metadataIndexes },
    mutationDelayMs: def.mutationDelayMs ?? 0,
    topKWithValuesOrMetadata: def.topKWithValuesOrMetadata ?? LIMITS.topKWithValuesOrMetadata,
  };
}

/**
 * The service. `VectorizeSim.start(defs, {persistDir})` defines the indexes and listens on a
 * loopback port (`url`); `define(name, {dimensions, metric, metadataIndexes, mutationDelayMs,
 * topKWithValuesOrMetadata})` adds one later. With `persistDir`, each index lives in
 * `<persistDir>/<name>.json` and is loaded from there when defined again (a restart).
 */
export class VectorizeSim {
  constructor({ persistDir } = {}) {
    this.persistDir = persistDir ?? null;
    this.indexes = new Map();
    this.faults = new Map();
    this.log = new Map();
    this.server = null;
    this.url = null;
    this.hanging = new Set();
  }

  static async start(defs = {}, opts = {}) {
    const sim = new VectorizeSim(opts);
    for (const [name, def] of Object.entries(defs)) sim.define(name, def);
    await sim.listen();
    return sim;
  }

  define(name, def) {
    const d = checkDefinition(name, def);
    const have = this.indexes.get(name) ?? this.#load(name);
    if (have && (have.def.dimensions !== d.dimensions || have.def.metric !== d.metric)) {
      throw new Error(`vectorize index ${name} exists with ${have.def.dimensions} dimensions (${have.def.metric}); cannot redefine it as ${d.dimensions} (${d.metric})`);
    }
    const ix = have ?? { name, vectors: new Map(), pending: [], processedUpToMutation: null, processedUpToDatetime: null };
    ix.def = d;
    this.indexes.set(name, ix);
    this.#save(ix);
    return this;
  }

  /** Like `wrangler vectorize create-metadata-index`: vectors written before it are not in it. */
  createMetadataIndex(name, property, type) {
    const ix = this.#index(name);
    ix.def = checkDefinition(name, { ...ix.def, metadataIndexes: { ...ix.def.metadataIndexes, [property]: type } });
    this.#save(ix);
  }

  deleteMetadataIndex(name, property) {
    const ix = this.#index(name);
    delete ix.def.metadataIndexes[property];
    for (const v of ix.vectors.values()) delete v.indexed[property];
    this.#save(ix);
  }

  /** Every vector of an index the service has processed: [{id, namespace?, values, metadata?}]. */
  vectors(name) {
    const ix = this.#index(name);
    this.#settle(ix);
    return [...ix.vectors.values()].map((v) => this.#plain(v, true, "all"));
  }

  /** The requests an index received, oldest first: [{op, body, at}] (op: info, query, upsert, ...). */
  requests(name) {
    return [...(this.log.get(name) ?? [])];
  }

  /**
   * Makes every call to an index fail: true (HTTP 503, no body: `${OP}_ERROR: Status + 503`),
   * {status?, code?, error} (a JSON error body), {latencyMs} (slow but working), {hang: true}
   * (never answers); false clears it.
   */
  fault(name, f = true) {
    if (f) this.faults.set(name, f);
    else this.faults.delete(name);
  }

  /** One service call: the answer's JSON, or throws ServiceError {code, message, status}. */
  call(name, op, body) {
    const ix = this.indexes.get(name);
    if (!ix) throw new ServiceError(40004, `index ${name} not found`, 404);
    this.#settle(ix);
    switch (op) {
      case "info": return { vectorCount: ix.vectors.size, dimensions: ix.def.dimensions, processedUpToDatetime: ix.processedUpToDatetime, processedUpToMutation: ix.processedUpToMutation };
      case "query": return this.#query(ix, body ?? {});
      case "insert":
      case "upsert": return this.#write(ix, op, body);
      case "getByIds": return this.#ids(op, body).flatMap((id) => (ix.vectors.has(id) ? [this.#plain(ix.vectors.get(id), true, "all")] : []));
      case "deleteByIds": {
        const ids = this.#ids(op, body);
        return this.#mutate(ix, () => ids.forEach((id) => ix.vectors.delete(id)));
      }
      default: throw new ServiceError(40000, `unknown operation ${op}`, 404);
    }
  }

  #ids(op, body) {
    if (!Array.isArray(body?.ids) || body.ids.some((id) => typeof id !== "string")) throw new ServiceError(40026, `Failed to parse the request body as JSON: ids: expected an array of strings`);
    return body.ids;
  }

  #query(ix, o) {
    const parse = (detail) => new ServiceError(40026, `Failed to parse the request body as JSON: ${detail}`);
    const level = o.returnMetadata ?? "none";
    if (!["none", "indexed", "all"].includes(level)) throw parse("returnMetadata: expected value");
    if (o.returnValues !== undefined && typeof o.returnValues !== "boolean") throw parse("returnValues: expected a boolean");
    const topK = o.topK ?? LIMITS.defaultTopK;
    if (typeof topK !== "number" || !Number.isInteger(topK)) throw parse("topK: expected an integer");
    const heavy = o.returnValues === true || level === "all";
    const max = ix.def.topKWithValuesOrMetadata;
    if (topK < 1) throw new ServiceError(40025, `top K must be at least 1, but got ${topK}`);
    if (topK > LIMITS.topK) throw new ServiceError(40025, `max top K is ${LIMITS.topK}, but got ${topK}`);
    if (heavy && topK > max) throw new ServiceError(40025, `with returnValues=true or returnMetadata=all, max top K is ${max}, but got ${topK}; for a top K up to ${LIMITS.topK}, retry with returnValues=false and returnMetadata=indexed`);
    if (o.namespace !== undefined && typeof o.namespace !== "string") throw parse("namespace: expected a string");
    let conditions = null;
    if (o.filter !== undefined) {
      try {
        conditions = validateFilter(o.filter);
      } catch (e) {
        if (e instanceof FilterError) throw new ServiceError(e.code, e.message);
        throw e;
      }
    }
    let q;
    if (o.vectorId !== undefined) {
      const v = ix.vectors.get(String(o.vectorId));
      if (!v) return { count: 0, matches: [] };
      q = v.values;
    } else {
      q = o.vector;
      if (!Array.isArray(q) || q.some((x) => typeof x !== "number")) throw parse("vector: expected an array of numbers");
      if (q.length !== ix.def.dimensions) throw new ServiceError(40006, `invalid query vector, expected ${ix.def.dimensions} dimensions, and got ${q.length} dimensions`);
      q = q.map(Math.fround);
    }
    const lowerIsCloser = ix.def.metric !== "cosine";
    const matches = [...ix.vectors.values()]
      .filter((v) => o.namespace === undefined || v.namespace === o.namespace)
      .filter((v) => !conditions || matchesFilter(v, conditions, ix.def.metadataIndexes))
      .map((v) => ({ v, score: score(ix.def.metric, q, v.values) }))
      .sort((a, b) => (lowerIsCloser ? a.score - b.score : b.score - a.score) || (a.v.id < b.v.id ? -1 : 1))
      .slice(0, topK)
      .map(({ v, score: s }) => {
        const m = { id: v.id, score: s };
        if (o.returnValues === true) m.values = [...v.values];
        if (v.namespace !== undefined) m.namespace = v.namespace;
        if (level === "all" && v.metadata !== undefined) m.metadata = structuredClone(v.metadata);
        if (level === "indexed") m.metadata = indexedMetadata(v, ix.def.metadataIndexes);
        return m;
      });
    return { count: matches.length, matches };
  }

  #write(ix, op, body) {
    const bad = () => new ServiceError(40023, `failed to parse ${op} vectors request in json format`);
    const list = body?.vectors;
    if (!Array.isArray(list)) throw bad();
    if (list.length > LIMITS.batch) throw new ServiceError(40005, `too many vectors in one request; max is ${LIMITS.batch}, got ${list.length}`);
    const dims = ix.def.dimensions;
    const clean = list.map((v) => {
      if (!v || typeof v !== "object" || typeof v.id !== "string" || hasLoneSurrogate(v)) throw bad();
      if (!Array.isArray(v.values) || v.values.some((x) => typeof x !== "number" || !Number.isFinite(x))) throw bad();
      if (v.namespace !== undefined && typeof v.namespace !== "string") throw bad();
      if (v.metadata !== undefined && (v.metadata === null || typeof v.metadata !== "object" || Array.isArray(v.metadata))) throw bad();
      if (bytes(v.id) > LIMITS.idBytes) throw new ServiceError(40008, `id too long; max is ${LIMITS.idBytes} bytes, got ${bytes(v.id)} bytes`);
      if (v.values.length !== dims) throw new ServiceError(40012, `invalid vector for id="${v.id}", expected ${dims} dimensions, and got ${v.values.length} dimensions`);
      if (v.namespace !== undefined && bytes(v.namespace) > LIMITS.namespaceBytes) throw new ServiceError(40009, `namespace too long; max is ${LIMITS.namespaceBytes} bytes, got ${bytes(v.namespace)} bytes`);
      const metaBytes = v.metadata === undefined ? 0 : bytes(JSON.stringify(v.metadata));
      if (metaBytes > LIMITS.metadataBytes) throw new ServiceError(40010, `metadata too large for id="${v.id}"; max is ${LIMITS.metadataBytes} bytes, got ${metaBytes} bytes`);
      return {
        id: v.id, namespace: v.namespace, values: v.values.map(Math.fround),
        metadata: v.metadata === undefined ? undefined : structuredClone(v.metadata),
        indexed: indexedValues(v.metadata ?? {}, ix.def.metadataIndexes),
      };
    });
    return this.#mutate(ix, () => {
      for (const v of clean) if (op === "upsert" || !ix.vectors.has(v.id)) ix.vectors.set(v.id, v);
    });
  }

  #mutate(ix, apply) {
    const mutationId = crypto.randomUUID();
    ix.pending.push({ mutationId, at: Date.now() + ix.def.mutationDelayMs, apply });
    this.#settle(ix);
    return { mutationId };
  }

  /** Applies the mutations whose time has come, in order. */
  #settle(ix) {
    let changed = false;
    while (ix.pending.length && ix.pending[0].at <= Date.now()) {
      const m = ix.pending.shift();
      m.apply();
      ix.processedUpToMutation = m.mutationId;
      ix.processedUpToDatetime = new Date().toISOString();
      changed = true;
    }
    if (changed) this.#save(ix);
  }

  #plain(v, values, level) {
    const out = { id: v.id };
    if (v.namespace !== undefined) out.namespace = v.namespace;
    if (values) out.values = [...v.values];
    if (level === "all" && v.metadata !== undefined) out.metadata = structuredClone(v.metadata);
    return out;
  }

  #index(name) {
    const ix = this.indexes.get(name);
    if (!ix) throw new Error(`no vectorize index ${name} (defined: ${[...this.indexes.keys()].join(", ") || "none"})`);
    return ix;
  }

  #file(name) {
    return this.persistDir && path.join(this.persistDir, `${encodeURIComponent(name)}.json`);
  }

  #load(name) {
    const file = this.#file(name);
    if (!file || !fs.existsSync(file)) return null;
    const j = JSON.parse(fs.readFileSync(file, "utf8"));
    return { name, def: j.def, vectors: new Map(j.vectors.map((v) => [v.id, v])), pending: [], processedUpToMutation: j.processedUpToMutation, processedUpToDatetime: j.processedUpToDatetime };
  }

  #save(ix) {
    const file = this.#file(ix.name);
    if (!file) return;
    fs.mkdirSync(this.persistDir, { recursive: true });
    const { def, processedUpToMutation, processedUpToDatetime } = ix;
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ def, processedUpToMutation, processedUpToDatetime, vectors: [...ix.vectors.values()] }));
    fs.renameSync(`${file}.tmp`, file);
  }

  listen() {
    this.server = http.createServer((req, res) => {
      let text = "";
      req.on("data", (c) => (text += c));
      req.on("end", () => this.#serve(req, res, text));
    });
    return new Promise((resolve) => {
      this.server.listen(0, "127.0.0.1", () => {
        this.url = `http://127.0.0.1:${this.server.address().port}`;
        resolve(this.url);
      });
    });
  }

  async #serve(req, res, text) {
    const [, rawName = "", op = ""] = new URL(req.url, "http://x").pathname.split("/");
    const name = decodeURIComponent(rawName);
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    if (!this.log.has(name)) this.log.set(name, []);
    this.log.get(name).push({ op, body, at: Date.now() });
    const f = this.faults.get(name);
    if (f?.hang) {
      this.hanging.add(res);
      return;
    }
    if (f?.latencyMs) await new Promise((r) => setTimeout(r, f.latencyMs));
    const send = (status, value) => {
      res.writeHead(status, { "content-type": typeof value === "string" ? "text/plain" : "application/json" });
      res.end(typeof value === "string" ? value : JSON.stringify(value));
    };
    if (f === true) return send(503, "Service Unavailable");
    if (f && (f.error || f.status)) return send(f.status ?? 500, f.error ? { ...(f.code === undefined ? {} : { code: f.code }), error: f.error } : "error");
    try {
      send(200, this.call(name, op, body));
    } catch (e) {
      if (!(e instanceof ServiceError)) return send(500, { error: String(e?.stack ?? e) });
      send(e.status, { code: e.code, error: e.message });
    }
  }

  async close() {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise((r) => this.server.close(() => r()));
    this.server = null;
  }
}

/**
 * Miniflare options binding Vectorize indexes as wrapped bindings: `defs` maps binding name ->
 * {indexName?} (the index name defaults to the binding name). Returns {wrappedBindings, worker},
 * the worker to add to Miniflare's `workers` (after the entry worker).
 */
export function vectorizeWorkerOptions(sim, defs) {
  return {
    wrappedBindings: Object.fromEntries(Object.entries(defs).map(([binding, def]) => [
      binding, { scriptName: "vectorize-sim", bindings: { url: sim.url, index: def?.indexName ?? binding } },
    ])),
    worker: { name: "vectorize-sim", modules: [{ type: "ESModule", path: BINDING_PATH }], modulesRoot: path.dirname(BINDING_PATH) },
  };
}
