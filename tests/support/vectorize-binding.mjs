// Vectorize stand-in, binding side: the V2 `env.<INDEX>` object a Miniflare wrapped binding gives the worker; it calls the Node-side service in vectorize-sim.mjs over loopback HTTP. Not shipped.
//
// A copy of workerd's own binding, `cloudflare-internal:vectorize-api` (VectorizeIndexImpl,
// V2 path, JSON bodies; read from the installed workerd 1.20260426.1 binary), with its fetcher
// replaced by fetch(`${url}/${index}/${endpoint}`): same method names and argument handling
// (values as number[] | Float32Array | Float64Array, Array.from'd; options and metadata sent
// through JSON.stringify, so a JS Map arrives as {}), same client-side checks (returnMetadata
// true -> "all", but `false` is sent as is and the service rejects it, as the real one does),
// and the same errors: a non-200 answer with a JSON body {code, error} throws
// Error(`${OP}_ERROR (code = ${code}): ${error}`), without one Error(`${OP}_ERROR: Status + ${status}`).
// Its class name is the real one's, for code that checks the constructor name.
// Must stay one self-contained module (Miniflare wrapped bindings take a single ES module).
//
// Inner bindings: `url` (the service, VectorizeSim#url) and `index` (the index name).

const Operation = {
  INDEX_GET: "INDEX_GET",
  VECTOR_QUERY: "VECTOR_QUERY",
  VECTOR_INSERT: "VECTOR_INSERT",
  VECTOR_UPSERT: "VECTOR_UPSERT",
  VECTOR_GET: "VECTOR_GET",
  VECTOR_DELETE: "VECTOR_DELETE",
};

function isRetrievalLevel(v) {
  return typeof v === "string" && (v === "all" || v === "indexed" || v === "none");
}

async function toJson(res) {
  const body = await res.text();
  try {
    return JSON.parse(body);
  } catch {
    throw new Error(`Failed to parse body as JSON, got: ${body.length > 1000 ? `${body.slice(0, 1000)}…` : body}`);
  }
}

export class VectorizeIndexImpl {
  constructor(env) {
    this.url = String(env?.url ?? "").replace(/\/$/, "");
    this.indexId = String(env?.index ?? "");
  }

  async describe() {
    return toJson(await this._send(Operation.INDEX_GET, "info", { method: "GET" }));
  }

  async query(vector, options) {
    return this._queryV2({ vector: Array.isArray(vector) ? vector : Array.from(vector) }, options);
  }

  async queryById(vectorId, options) {
    return this._queryV2({ vectorId }, options);
  }

  async insert(vectors) {
    return this._mutate(Operation.VECTOR_INSERT, "insert", vectors);
  }

  async upsert(vectors) {
    return this._mutate(Operation.VECTOR_UPSERT, "upsert", vectors);
  }

  async getByIds(ids) {
    return toJson(await this._send(Operation.VECTOR_GET, "getByIds", this._post({ ids })));
  }

  async deleteByIds(ids) {
    return toJson(await this._send(Operation.VECTOR_DELETE, "deleteByIds", this._post({ ids })));
  }

  async _mutate(op, endpoint, vectors) {
    const body = vectors.map((vec) => ({ ...vec, values: Array.isArray(vec.values) ? vec.values : Array.from(vec.values) }));
    const init = this._post({ vectors: body });
    init.headers["cf-vector-search-dim-width"] = String(vectors.length ? vectors.at(0)?.values?.length : 0);
    init.headers["cf-vector-search-dim-height"] = String(vectors.length);
    return toJson(await this._send(op, endpoint, init));
  }

  async _queryV2(vectorParams, options) {
    if (options?.returnMetadata) {
      if (typeof options.returnMetadata !== "boolean" && !isRetrievalLevel(options.returnMetadata)) {
        throw new Error(`Invalid returnMetadata option. Expected: true, false, "none", "indexed" or "all"; got: ${options.returnMetadata}`);
      }
      if (typeof options.returnMetadata === "boolean") options.returnMetadata = options.returnMetadata ? "all" : "none";
    }
    const body = { ...options, ...(vectorParams.vector ? { vector: vectorParams.vector } : { vectorId: vectorParams.vectorId }) };
    return toJson(await this._send(Operation.VECTOR_QUERY, "query", this._post(body)));
  }

  _post(body) {
    return { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", accept: "application/json" } };
  }

  async _send(operation, endpoint, init) {
    const res = await fetch(`${this.url}/${encodeURIComponent(this.indexId)}/${endpoint}`, init);
    if (res.status !== 200) {
      let err = null;
      try {
        const e = await res.json();
        err = new Error(`${Operation[operation]}_ERROR${typeof e.code === "number" ? ` (code = ${e.code})` : ""}: ${e.error}`, { cause: new Error(e.error) });
      } catch {
        // not JSON: the status is all there is
      }
      if (err) throw err;
      throw new Error(`${Operation[operation]}_ERROR: Status + ${res.status}`, { cause: new Error(`Status ${res.status}`) });
    }
    return res;
  }
}

export default function makeBinding(env) {
  return new VectorizeIndexImpl(env);
}
