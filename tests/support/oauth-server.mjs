// An OAuth2 token endpoint for tests and the dev server (never shipped): the client credentials
// grant of RFC 6749 section 4.4, on loopback, with Node's `http`.
//
//   const ts = await startTokenServer({ clients: { "gw-client": "s3cr3t" }, expiresIn: 3600 });
//   ts.url            http://127.0.0.1:PORT/oauth2/token (POST only)
//   ts.requests       every request, oldest first: { method, path, contentType, auth
//                     ("basic" | "post" | "both" | "none"), clientId, form (parsed body),
//                     authorization (the raw header), status, error (OAuth2 code or null), at }
//   ts.count          requests.length
//   ts.issued         tokens handed out: { token, clientId, scope, audience, expiresAt, revoked }
//   ts.isValid(t)     issued here, not revoked, not expired (the upstream stand-in's
//                     `requireValidToken` uses it)
//   ts.revoke(t?)     revokes one token (default: every token issued so far)
//   ts.set(opts)      changes any knob below at run time; ts.reset() clears requests and issued
//   ts.close()
//
// Knobs (startTokenServer options and ts.set):
//   clients     { clientId: secret }: the registered confidential clients
//   methods     client authentication the server accepts: ["basic", "post"] (default both);
//               a client using another gets 401 invalid_client
//   scopes      allowed scope values (space-separated request scopes must all be in it); null
//               (default) = any. Anything else: 400 invalid_scope
//   expiresIn   expires_in of new tokens in seconds (default 3600); null leaves it out (it is
//               only RECOMMENDED)
//   expiresInAsString  true: send expires_in as a JSON string ("3600"), as some servers do
//   tokenType   token_type (default "Bearer"; RFC 6749 7.1 says it is case-insensitive)
//   delayMs     wait this long before answering (a slow server; also what makes concurrent
//               requests overlap)
//   fail        500 | 503 | any status: answer with that status and an OAuth2-style JSON error;
//               "reset": destroy the connection without an answer; "html": a proxy's 502 HTML
//               page; "not-json": 200 with a body that is not JSON; "no-token": 200 JSON
//               without access_token. null (default): work
//
// What it checks, as RFC 6749 says: POST only (405 otherwise), content type
// application/x-www-form-urlencoded (400 invalid_request), grant_type present (400
// invalid_request) and client_credentials (400 unsupported_grant_type), exactly one client
// authentication method (2.3: "MUST NOT use more than one" -> 400 invalid_request), Basic
// credentials as base64(form-urlencode(id) ":" form-urlencode(secret)) (2.3.1), unknown client
// or wrong secret -> 401 invalid_client (with WWW-Authenticate when Basic was used, 5.2).
// Success (5.1): 200 JSON {access_token, token_type, expires_in, scope?} with
// Cache-Control: no-store and Pragma: no-cache. Tokens are opaque random strings.
import http from "node:http";
import crypto from "node:crypto";

const DEFAULTS = { clients: {}, methods: ["basic", "post"], scopes: null, expiresIn: 3600, expiresInAsString: false, tokenType: "Bearer", delayMs: 0, fail: null };
const sleep = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

/** application/x-www-form-urlencoded decoding ("+" is a space), null when malformed. */
function formDecode(s) {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return null;
  }
}

function parseForm(body) {
  const form = {};
  for (const pair of body.split("&")) {
    if (!pair) continue;
    const i = pair.indexOf("=");
    const k = formDecode(i < 0 ? pair : pair.slice(0, i));
    const v = formDecode(i < 0 ? "" : pair.slice(i + 1));
    if (k === null || v === null) return null;
    if (Object.hasOwn(form, k)) return null; // RFC 6749 3.2: parameters MUST NOT repeat
    form[k] = v;
  }
  return form;
}

/** The Basic credentials of an Authorization header: { id, secret } | "malformed" | null. */
function basicCredentials(header) {
  const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m) return null;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return "malformed";
  const id = formDecode(decoded.slice(0, i));
  const secret = formDecode(decoded.slice(i + 1));
  return id === null || secret === null ? "malformed" : { id, secret };
}

export async function startTokenServer(options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const requests = [];
  const issued = [];

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(e?.stack ?? e));
    }));
  });

  function json(res, status, body, headers = {}) {
    res.writeHead(status, { "content-type": "application/json;charset=UTF-8", "cache-control": "no-store", pragma: "no-cache", ...headers });
    res.end(JSON.stringify(body));
  }

  async function handle(req, res, body) {
    const path = new URL(req.url, "http://x").pathname;
    const contentType = req.headers["content-type"] ?? null;
    const rec = { method: req.method, path, contentType, auth: "none", clientId: null, form: null, authorization: req.headers.authorization ?? null, status: 0, error: null, at: Date.now() };
    requests.push(rec);
    const oauthError = (status, error, description, headers) => {
      rec.status = status;
      rec.error = error;
      json(res, status, { error, error_description: description }, headers);
    };

    await sleep(opts.delayMs);
    if (path !== "/oauth2/token") {
      rec.status = 404;
      return json(res, 404, { error: "not_found" });
    }
    if (req.method !== "POST") {
      rec.status = 405;
      res.writeHead(405, { allow: "POST" }).end();
      return;
    }
    const form = /^application\/x-www-form-urlencoded\b/i.test(contentType ?? "") ? parseForm(body) : null;
    rec.form = form;
    const basic = basicCredentials(req.headers.authorization);
    const post = form && (form.client_id !== undefined || form.client_secret !== undefined);
    rec.auth = basic && post ? "both" : basic ? "basic" : post ? "post" : "none";
    rec.clientId = basic && basic !== "malformed" ? basic.id : form?.client_id ?? null;

    // Failures the test asked for come after the request is recorded, like a real outage.
    const fail = opts.fail;
    if (fail === "reset") return void req.socket.destroy();
    if (fail === "html") {
      rec.status = 502;
      res.writeHead(502, { "content-type": "text/html" });
      return void res.end("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n");
    }
    if (typeof fail === "number") {
      return oauthError(fail, fail === 503 ? "temporarily_unavailable" : "server_error", "the token service failed (test stand-in)");
    }

    if (!form) return oauthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded");
    if (rec.auth === "both") return oauthError(400, "invalid_request", "the client used more than one authentication method");
    if (!form.grant_type) return oauthError(400, "invalid_request", "missing grant_type");
    if (form.grant_type !== "client_credentials") return oauthError(400, "unsupported_grant_type", `unsupported grant_type ${form.grant_type}`);

    const challenge = rec.auth === "basic" ? { "www-authenticate": 'Basic realm="oauth2", charset="UTF-8"' } : {};
    if (basic === "malformed") return oauthError(401, "invalid_client", "malformed Basic credentials", challenge);
    if (rec.auth === "none") return oauthError(401, "invalid_client", "client authentication failed");
    if (!opts.methods.includes(rec.auth)) return oauthError(401, "invalid_client", `client authentication method ${rec.auth} not allowed`, challenge);
    const secret = rec.auth === "basic" ? basic.secret : form.client_secret;
    const known = Object.hasOwn(opts.clients, rec.clientId);
    // Constant-time compare, as a real server does (and the secret never appears in an answer).
    const a = Buffer.from(String(secret ?? "")), b = Buffer.from(known ? String(opts.clients[rec.clientId]) : "");
    if (!known || a.length !== b.length || !crypto.timingSafeEqual(a, b)) {
      return oauthError(401, "invalid_client", "client authentication failed", challenge);
    }
    const scope = form.scope ?? null;
    if (scope !== null && opts.scopes && !scope.split(" ").every((s) => opts.scopes.includes(s))) {
      return oauthError(400, "invalid_scope", "the requested scope is invalid, unknown, or malformed");
    }

    if (fail === "not-json") {
      rec.status = 200;
      res.writeHead(200, { "content-type": "text/plain" });
      return void res.end("OK");
    }
    if (fail === "no-token") {
      rec.status = 200;
      return json(res, 200, { token_type: opts.tokenType, expires_in: 3600 });
    }

    const token = `at_${crypto.randomBytes(18).toString("base64url")}`;
    const expiresIn = opts.expiresIn;
    const lifetime = expiresIn === null ? 3600 : Number(expiresIn);
    issued.push({ token, clientId: rec.clientId, scope, audience: form.audience ?? null, expiresAt: Date.now() + lifetime * 1000, revoked: false });
    const out = { access_token: token, token_type: opts.tokenType };
    if (expiresIn !== null) out.expires_in = opts.expiresInAsString ? String(expiresIn) : expiresIn;
    if (scope !== null) out.scope = scope;
    rec.status = 200;
    json(res, 200, out);
  }

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const base = `http://127.0.0.1:${server.address().port}`;

  return {
    url: `${base}/oauth2/token`,
    origin: base,
    requests,
    issued,
    get count() {
      return requests.length;
    },
    isValid(token) {
      const t = issued.find((i) => i.token === token);
      return Boolean(t && !t.revoked && t.expiresAt > Date.now());
    },
    revoke(token) {
      for (const t of issued) if (token === undefined || t.token === token) t.revoked = true;
    },
    set(patch) {
      Object.assign(opts, patch);
    },
    reset() {
      requests.length = 0;
      issued.length = 0;
    },
    close() {
      return new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}
