// The console's calls to the gateway (same origin): the admin token from sessionStorage as `Authorization: Bearer`, JSON in and out, and errors that say what the API answered.

const TOKEN_KEY = "gateway-console-admin-token";

/** The admin token of this tab (sessionStorage only: never a URL, localStorage or log). */
export const session = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** A refused or failed call: `status` (0 when the gateway was not reached), the API's `code` and `message`. */
export class ApiError extends Error {
  constructor(route, status, code, message, traceId) {
    super(status ? `${route}: the gateway answered ${status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}` : `${route}: ${message}`);
    this.route = route;
    this.status = status;
    this.code = code;
    this.detail = message;
    this.traceId = traceId;
  }
}

/**
 * Calls `route` (a path like "/admin/keys") with the token of this tab: resolves with the parsed
 * JSON body of a 2xx answer, rejects with an ApiError otherwise.
 */
export async function call(method, route, body, { token = session.get() } = {}) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const label = `${method} ${route.split("?")[0]}`;
  let res;
  try {
    res = await fetch(route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store", credentials: "omit" });
  } catch (e) {
    throw new ApiError(label, 0, null, `could not reach the gateway (${e.message})`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: said below when it matters.
  }
  if (res.ok) {
    if (json === null && text) throw new ApiError(label, res.status, null, "the answer is not JSON");
    return json;
  }
  const err = json?.error;
  const message = typeof err === "object" && err ? err.message : typeof err === "string" ? err : text.slice(0, 200);
  throw new ApiError(label, res.status, err?.code ?? null, message || res.statusText, err?.traceId ?? res.headers.get("x-trace-id"));
}

/** The sign-in check's words for a refused token (the admin routes answer a wrong one with 404). */
export function signInError(e) {
  if (e instanceof ApiError && e.status === 404) {
    return `Sign-in failed: the gateway answered 404 ${e.code ?? ""}: “${e.detail}”. ` +
      "The admin routes answer exactly so to a wrong admin token (they hide from anyone without it), " +
      "so check the token, and that this gateway has its ADMIN_TOKEN secret set.";
  }
  return `Sign-in failed: ${e.message}`;
}

/** Query string of `params` (undefined values left out). */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  return q.toString();
}
