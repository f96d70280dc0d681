// Vectorize stand-in helper: metadata indexes (what a vector gets indexed under) and query filters (validation and matching). Not shipped.
//
// Sources: cloudflare-docs src/content/docs/vectorize/reference/metadata-filtering.mdx
// (@819cf982: operators $eq $ne $in $nin $lt $lte $gt $gte; implicit $eq; dotted keys for
// nesting; filter non-empty, compact JSON < 2048 bytes; keys not empty, without `"`, `|`, not
// starting with `$`, at most 512 chars; only an upper bound combined with a lower bound; strings
// ordered lexicographically; string indexes hold the first 64 bytes, cut on a UTF-8 boundary;
// vectors upserted before a metadata index existed are not in it), platform/limits.mdx
// (@1db3529d: 10 metadata indexes per index, 64 bytes indexed per property per vector), and
// workerd types/defines/vectorize.d.ts (VectorizeVectorMetadataFilter).
//
// Behaviour the docs do not state, chosen here (UNVERIFIED against the real service):
// - a filter on a property with no metadata index matches no vector (whatever the operator);
// - on an indexed property, a vector without a value there (or with a value of another type
//   than the index's) fails $eq/$in/ranges and passes $ne/$nin; `$eq: null` matches exactly the
//   vectors without a value, `$ne: null` those with one;
// - filter errors are VECTOR_QUERY_ERROR code 40026 ("Failed to parse the request body as
//   JSON: ...", the code and wording seen for a malformed query body) for wrong value types or
//   unknown operators, and code 40001 (made up) for the documented rule violations.

export const INDEXED_BYTES = 64;
export const FILTER_MAX_BYTES = 2048;
export const FILTER_KEY_MAX_CHARS = 512;
const OPS = new Set(["$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte"]);
const encoder = new TextEncoder();

export class FilterError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** The first `max` bytes of `s`, cut back to the last whole UTF-8 character. */
export function truncateUtf8(s, max = INDEXED_BYTES) {
  if (encoder.encode(s).length <= max) return s;
  let out = "", n = 0;
  for (const c of s) {
    const len = encoder.encode(c).length;
    if (n + len > max) break;
    out += c;
    n += len;
  }
  return out;
}

/** The value at a dotted path of a metadata object (`pandas.nice` -> metadata.pandas.nice). */
export function atPath(metadata, key) {
  let v = metadata;
  for (const part of key.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = v[part];
  }
  return v;
}

/**
 * What a vector is indexed under for each metadata index {prop: "string"|"number"|"boolean"}:
 * {prop: value}, strings cut to 64 bytes, values of another type left out.
 */
export function indexedValues(metadata, metadataIndexes) {
  const out = {};
  for (const [prop, type] of Object.entries(metadataIndexes)) {
    const v = atPath(metadata, prop);
    if (typeof v !== type) continue;
    out[prop] = type === "string" ? truncateUtf8(v) : v;
  }
  return out;
}

/** The metadata a match returns with returnMetadata "indexed": indexed fields only, truncated. */
export function indexedMetadata(vector, metadataIndexes) {
  const out = {};
  for (const prop of Object.keys(metadataIndexes)) {
    if (!Object.hasOwn(vector.indexed, prop)) continue;
    const parts = prop.split(".");
    let o = out;
    for (const p of parts.slice(0, -1)) o = o[p] ??= {};
    o[parts.at(-1)] = vector.indexed[prop];
  }
  return out;
}

const scalar = (v) => v === null || ["string", "number", "boolean"].includes(typeof v);
const parseError = (detail) => new FilterError(40026, `Failed to parse the request body as JSON: filter: ${detail}`);
const ruleError = (detail) => new FilterError(40001, `invalid metadata filter: ${detail}`);

/** Throws FilterError when `filter` breaks the documented rules; returns [[key, {op: value}]]. */
export function validateFilter(filter) {
  if (filter === null || typeof filter !== "object" || Array.isArray(filter)) throw parseError("expected an object");
  const keys = Object.keys(filter);
  if (!keys.length) throw ruleError("filter must be a non-empty object");
  const bytes = encoder.encode(JSON.stringify(filter)).length;
  if (bytes >= FILTER_MAX_BYTES) throw ruleError(`filter is ${bytes} bytes of JSON; it must be under ${FILTER_MAX_BYTES}`);
  return keys.map((key) => {
    if (!key || key.startsWith("$") || /["|]/.test(key) || key.split(".").some((p) => !p) || key.length > FILTER_KEY_MAX_CHARS) {
      throw ruleError(`invalid key ${JSON.stringify(key.slice(0, 40))}`);
    }
    const cond = filter[key];
    const ops = scalar(cond) ? { $eq: cond } : cond;
    if (!ops || typeof ops !== "object" || Array.isArray(ops) || !Object.keys(ops).length) throw parseError(`${key}: expected a value or an operator object`);
    for (const [op, v] of Object.entries(ops)) {
      if (!OPS.has(op)) throw parseError(`${key}: unknown operator ${op}`);
      if ((op === "$eq" || op === "$ne") && !scalar(v)) throw parseError(`${key}.${op}: expected a string, number, boolean or null`);
      if ((op === "$in" || op === "$nin") && !(Array.isArray(v) && v.every(scalar))) throw parseError(`${key}.${op}: expected an array of strings, numbers, booleans or nulls`);
      if (["$lt", "$lte", "$gt", "$gte"].includes(op) && typeof v !== "string" && typeof v !== "number") throw parseError(`${key}.${op}: expected a string or a number`);
    }
    const names = Object.keys(ops);
    const upper = names.filter((o) => o === "$lt" || o === "$lte").length;
    const lower = names.filter((o) => o === "$gt" || o === "$gte").length;
    if ((upper || lower) && (names.length !== upper + lower || upper > 1 || lower > 1)) {
      throw ruleError(`${key}: a range takes at most one upper bound ($lt/$lte) and one lower bound ($gt/$gte), and nothing else`);
    }
    return [key, ops];
  });
}

function normalise(v, type) {
  if (v === null) return null;
  return type === "string" && typeof v === "string" ? truncateUtf8(v) : v;
}

/** Whether `vector` ({indexed}) passes every condition of a validated filter. */
export function matchesFilter(vector, conditions, metadataIndexes) {
  return conditions.every(([key, ops]) => {
    const type = metadataIndexes[key];
    if (!type) return false;
    const has = Object.hasOwn(vector.indexed, key);
    const val = has ? vector.indexed[key] : undefined;
    const eq = (x) => (normalise(x, type) === null ? !has : has && val === normalise(x, type));
    return Object.entries(ops).every(([op, x]) => {
      switch (op) {
        case "$eq": return eq(x);
        case "$ne": return !eq(x);
        case "$in": return x.some(eq);
        case "$nin": return !x.some(eq);
        default: {
          const bound = normalise(x, type);
          if (!has || typeof val !== typeof bound) return false;
          if (op === "$lt") return val < bound;
          if (op === "$lte") return val <= bound;
          if (op === "$gt") return val > bound;
          return val >= bound;
        }
      }
    });
  });
}
