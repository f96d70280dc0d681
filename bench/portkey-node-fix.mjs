// Preloaded into the Portkey peer (node --import): Portkey 1.15.2 on Node answers every
// streamed chat with 500 "Something went wrong" (TypeError: immutable, from appending its
// x-portkey-* headers to the upstream fetch Response's headers; Portkey-AI/gateway issues
// 1389 and 1550). This re-wraps streamed upstream responses in a Response with mutable
// headers, which is what the proposed upstream fix (pull request 1551) does. Non-streamed
// answers are left alone, so they are measured exactly as shipped.
const originalFetch = globalThis.fetch;
const NativeResponse = globalThis.Response;
globalThis.fetch = async (...args) => {
  const res = await originalFetch(...args);
  if (!(res.headers.get("content-type") || "").startsWith("text/event-stream")) return res;
  return new NativeResponse(res.body, { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
};
