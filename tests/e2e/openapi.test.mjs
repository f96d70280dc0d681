// docs/openapi.yaml matches the implementation: every documented route and method answers
// (not 404/405), undocumented methods are refused, and the documented error codes are exactly
// the codes the worker can produce.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { ROOT, startGateway, testTenant } from "../support/runtime.mjs";

const spec = parse(fs.readFileSync(path.join(ROOT, "docs/openapi.yaml"), "utf8"));
let gw;
const ADMIN_TOKEN = "openapi-admin-token-0123456789";
// Path values that must name something that exists (DELETE /admin/keys/{id} revokes a real key,
// GET and DELETE /sessions/{id} read and delete a real session). Sessions are on in this
// tenant, so every documented /sessions route answers (a tenant without them answers 404).
const FIXTURES = {};
before(async () => {
  gw = await startGateway({ tenant: testTenant({ sessions: { enabled: true } }), vars: { ADMIN_TOKEN } });
  FIXTURES["/admin/keys/{id}"] = { id: (await gw.adminKey({ name: "openapi" })).id };
  const res = await fetch(`${gw.url}/chat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message: "Hi", sessionId: "new" }) });
  assert.equal(res.status, 200, "a session for the /sessions/{id} routes");
  FIXTURES["/sessions/{id}"] = { id: (await res.json()).sessionId };
});
after(() => gw?.close());

const METHODS = ["get", "head", "post", "put", "patch", "delete", "options"];

/** A documented path with each `{param}` replaced by its documented example. */
function concrete(route, ops) {
  const param = (name) => Object.values(ops).flatMap((op) => op.parameters ?? [])
    .map((p) => (p.$ref ? spec.components.parameters[p.$ref.split("/").pop()] : p))
    .find((p) => p.in === "path" && p.name === name);
  return route.replace(/\{(\w+)\}/g, (_, n) => encodeURIComponent(FIXTURES[route]?.[n] ?? param(n)?.example ?? n));
}

test("every documented route and method exists; the others are 405", async () => {
  for (const [route, ops] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const init = { method: method.toUpperCase(), headers: { "content-type": "application/json" } };
      // Admin routes exist only for a caller with the admin token; without it they are 404.
      if (Object.values(ops).some((op) => op["x-admin-token"])) init.headers.authorization = `Bearer ${ADMIN_TOKEN}`;
      if (method === "post" || method === "put" || method === "patch") init.body = JSON.stringify({ message: "Hi" });
      const res = await fetch(`${gw.url}${concrete(route, ops)}`, init);
      await res.arrayBuffer();
      if (ops[method]) {
        assert.ok(res.status !== 404 && res.status !== 405, `${method} ${route} documented but answered ${res.status}`);
        assert.ok(Object.keys(ops[method].responses).includes(String(res.status)), `${method} ${route}: ${res.status} not documented`);
      } else {
        assert.equal(res.status, 405, `${method} ${route} undocumented but answered ${res.status}`);
      }
    }
  }
  const res = await fetch(`${gw.url}/not-documented`);
  assert.equal(res.status, 404);
});

test("documented error codes are exactly the implemented ones", () => {
  const documented = new Set(spec.components.schemas.ErrorCode.enum);
  // error.rs maps every ApiError; attempt.rs maps model failures (and the mid-stream codes).
  const sources = ["crates/worker-api/src/http/error.rs", "crates/gateway/src/attempt.rs"].map((f) => fs.readFileSync(path.join(ROOT, f), "utf8")).join("\n");
  const implemented = new Set([...sources.matchAll(/=> \(\d{3}, "([a-z_]+)"\)/g)].map((m) => m[1]));
  assert.ok(implemented.size >= 10, `found only ${[...implemented]}`);
  assert.deepEqual([...implemented].filter((c) => !documented.has(c)), [], "implemented but undocumented");
  assert.deepEqual([...documented].filter((c) => !implemented.has(c)), [], "documented but not implemented");
});

test("each documented status of an error code is the one the worker uses", () => {
  const errorRs = ["crates/worker-api/src/http/error.rs", "crates/gateway/src/attempt.rs"].map((f) => fs.readFileSync(path.join(ROOT, f), "utf8")).join("\n");
  const statuses = new Set([...errorRs.matchAll(/=> \((\d{3}), "[a-z_]+"\)/g)].map((m) => m[1]));
  const documented = new Set(Object.values(spec.paths).flatMap((ops) => Object.values(ops).flatMap((op) => Object.keys(op.responses))));
  for (const s of statuses) {
    if (s === "404" || s === "405") continue; // answered for undocumented routes/methods
    assert.ok(documented.has(s), `status ${s} is produced but documented nowhere`);
  }
});
