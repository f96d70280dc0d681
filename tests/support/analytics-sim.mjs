// Stand-in for a Workers Analytics Engine dataset binding (Miniflare's own discards every data
// point): writeDataPoint checks the documented limits (one index of at most 96 bytes, at most
// 20 blobs totalling at most 16 KB, at most 20 doubles, at most 250 data points per invocation
// is not tracked here) and prints each accepted point as one log line
// `{"analyticsDataPoint": {dataset, indexes, blobs, doubles}}` for tests to read
// (gw.analyticsPoints()). Limits: https://developers.cloudflare.com/analytics/analytics-engine/limits/
const enc = new TextEncoder();
const size = (v) => (typeof v === "string" ? enc.encode(v).length : v?.byteLength ?? 0);

class Dataset {
  constructor(env) {
    this.dataset = env.dataset;
  }
  writeDataPoint(point = {}) {
    const indexes = point.indexes ?? [];
    const blobs = point.blobs ?? [];
    const doubles = point.doubles ?? [];
    if (indexes.length > 1) throw new TypeError("writeDataPoint(): only one index is supported");
    if (indexes.some((i) => size(i) > 96)) throw new TypeError("writeDataPoint(): an index is at most 96 bytes");
    if (blobs.length > 20) throw new TypeError("writeDataPoint(): at most 20 blobs");
    if (blobs.reduce((n, b) => n + size(b), 0) > 16 * 1024) throw new TypeError("writeDataPoint(): blobs total at most 16 KB");
    if (doubles.length > 20) throw new TypeError("writeDataPoint(): at most 20 doubles");
    if (doubles.some((d) => typeof d !== "number")) throw new TypeError("writeDataPoint(): doubles must be numbers");
    console.log(JSON.stringify({ analyticsDataPoint: { dataset: this.dataset, indexes, blobs, doubles } }));
  }
}

export default function (env) {
  return new Dataset(env);
}
