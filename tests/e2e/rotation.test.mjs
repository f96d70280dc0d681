// Issue 18 (hardening round 3), item 12: rotating an API key's secret
// (POST /admin/keys/{id}/rotate, with a grace period for the old secret; the key id, and with it
// budgets and usage, stays) and rotating the end-user token secret (CLIENT_TOKEN_SECRET_PREVIOUS
// verifies tokens signed with the old one while clients move over).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startGateway } from "../support/runtime.mjs";
import {
  ADMIN_TOKEN, KEY_RE, bearer, xApiKey, chatOn, request, assertUnauthorized,
  keysTenant, startAuthGateway, userToken, nowS, sleep, until, usageOf,
} from "../support/auth-kit.mjs";

const SURFACES = ["chat", "v1"];
let seq = 0;
const tid = (name) => `rot-${name}-${process.pid}-${++seq}`.slice(0, 120);

/** POST /admin/keys/{id}/rotate: `body` undefined sends no body and no content-type at all. */
async function rotate(gw, id, body, { token = ADMIN_TOKEN } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${gw.url}/admin/keys/${id}/rotate`, { method: "POST", headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: json, text };
}

async function status(gw, key, surface = "chat") {
  return (await chatOn(gw, surface, bearer(key), {}, { trace: tid("use") })).status;
}

describe("POST /admin/keys/{id}/rotate", () => {
  let gw;
  before(async () => { gw = await startAuthGateway({ tenant: keysTenant() }); });
  after(() => gw?.close());

  test("a new key for the same id; the new key works at once, the old one until the grace ends, then 401 (revoked)", async () => {
    const k = await gw.adminKey({ name: "rotating", scopes: ["chat"] });
    for (const surface of SURFACES) assert.equal(await status(gw, k.key, surface), 200, "the key works before");
    // Rotate just after a second starts: the grace (whole seconds) then lasts close to 2 s,
    // whatever the load on this machine.
    await sleep(1000 - (Date.now() % 1000) + 20);
    const before = nowS();
    const r = await rotate(gw, k.id, { graceSeconds: 2 });
    assert.equal(r.status, 200, r.text);
    const rotatedAtMs = Date.now();
    const b = r.body;
    assert.equal(b.id, k.id);
    assert.match(b.key, KEY_RE);
    assert.equal(KEY_RE.exec(b.key)[1], k.id, "the new key carries the same id");
    assert.notEqual(b.key, k.key);
    assert.equal(b.name, "rotating");
    assert.deepEqual(b.scopes, ["chat"]);
    assert.equal(b.revoked, false);
    assert.ok(Number.isInteger(b.rotatedAt) && b.rotatedAt >= before && b.rotatedAt <= nowS(), r.text);
    assert.equal(b.previousValidUntil - b.rotatedAt, 2, r.text);
    for (const hidden of ["hash", "previousHash", "secret"]) assert.ok(!(hidden in b), `the answer has ${hidden}`);

    // At once: the new key on both surfaces and both headers, the old one still.
    for (const surface of SURFACES) {
      assert.equal(await status(gw, b.key, surface), 200, `new key on ${surface}`);
      assert.equal((await chatOn(gw, surface, xApiKey(b.key))).status, 200, `new key as x-api-key on ${surface}`);
      assert.equal(await status(gw, k.key, surface), 200, `old key within the grace on ${surface}`);
    }
    assert.ok(Date.now() < b.previousValidUntil * 1000, "the checks above ran within the grace period");

    // The old key keeps working until previousValidUntil, then never again.
    const seen = [];
    let refusedAt = null;
    await until(async () => {
      const s = await status(gw, k.key);
      seen.push(s);
      if (s !== 200) refusedAt = Date.now();
      return s !== 200;
    }, 6000);
    console.log(`# rotated with graceSeconds 2: the old key answered ${seen.length - 1} x 200 over ${refusedAt - rotatedAtMs} ms, then ${seen.at(-1)}`);
    assert.equal(seen.at(-1), 401, `the old key is refused after the grace: ${seen}`);
    assert.ok(seen.slice(0, -1).every((s) => s === 200), `only 200s before the refusal: ${seen}`);
    assert.ok(refusedAt >= b.previousValidUntil * 1000 - 50, `refused ${b.previousValidUntil * 1000 - refusedAt} ms before previousValidUntil`);
    for (const surface of SURFACES) {
      const old = await chatOn(gw, surface, bearer(k.key), {}, { trace: tid("old") });
      assertUnauthorized(old, surface, k.key);
      assert.equal((await gw.logFor(old.trace)).authFailure, "revoked");
      const oldHeader = await chatOn(gw, surface, xApiKey(k.key), {}, { trace: tid("old") });
      assertUnauthorized(oldHeader, surface, k.key);
      assert.equal(await status(gw, b.key, surface), 200, "the new key still works");
    }
    await sleep(1200); // past keyCacheSeconds: the stored record says the same
    assert.equal(await status(gw, k.key), 401);
    assert.equal(await status(gw, b.key), 200);

    // The listing shows the rotation, never a key.
    const list = await gw.admin("GET", "/admin/keys");
    const entry = list.body.keys.find((x) => x.id === k.id);
    assert.equal(entry.rotatedAt, b.rotatedAt);
    assert.equal(entry.previousValidUntil, b.previousValidUntil);
    assert.ok(!list.text.includes(b.key) && !list.text.includes(KEY_RE.exec(b.key)[2]), "the listing shows no key");
  });

  test("budgets and usage stay with the key id: one ledger, acme/key/<id>, before, during and after the grace", async () => {
    const k = await gw.adminKey({ name: "budgeted", budget: { daily: 100000, monthly: 1000000 } });
    const ledgerName = `acme/key/${k.id}`;
    const settled = async (total) => until(async () => {
      const l = await gw.ledger(ledgerName);
      return l.reservations.length === 0 && l.day_used === total && l;
    });
    const spend = async (key, surface) => {
      const r = await chatOn(gw, surface, bearer(key));
      assert.equal(r.status, 200, r.text);
      return usageOf(r);
    };
    let total = await spend(k.key, "chat");
    assert.ok(await settled(total), `the ledger holds ${total} before the rotation`);
    const r = await rotate(gw, k.id, { graceSeconds: 60 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.budget, { daily: 100000, monthly: 1000000 }, "the budget stays");
    total += await spend(r.body.key, "chat");
    total += await spend(r.body.key, "v1");
    total += await spend(k.key, "v1"); // the old key, within its grace, bills the same ledger
    const l = await settled(total);
    assert.ok(l, `the one ledger holds all ${total} tokens: ${JSON.stringify(await gw.ledger(ledgerName))}`);
    assert.equal(l.month_used, total);
    const usage = await gw.admin("GET", "/admin/usage");
    const entries = usage.body.keys.filter((x) => x.id === k.id);
    assert.equal(entries.length, 1, usage.text);
    assert.deepEqual(entries[0].daily, { used: total, limit: 100000, remaining: 100000 - total });
    const logs = [await chatOn(gw, "chat", bearer(r.body.key)), await chatOn(gw, "chat", bearer(k.key))];
    for (const x of logs) assert.equal((await gw.logFor(x.trace)).keyId, k.id, "both secrets log the same key id");
  });

  test("the default grace is 3600 s (no body, or {}); graceSeconds 0 refuses the old key at once", async () => {
    for (const body of [undefined, {}]) {
      const k = await gw.adminKey({ name: "default-grace" });
      const r = await rotate(gw, k.id, body);
      assert.equal(r.status, 200, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.body.previousValidUntil - r.body.rotatedAt, 3600, r.text);
      assert.equal(await status(gw, k.key), 200, "the old key works within the hour");
      assert.equal(await status(gw, r.body.key), 200);
    }
    const k = await gw.adminKey({ name: "no-grace" });
    assert.equal(await status(gw, k.key), 200, "cached before the rotation");
    const r = await rotate(gw, k.id, { graceSeconds: 0 });
    assert.equal(r.status, 200, r.text);
    assert.ok(!(r.body.previousValidUntil > r.body.rotatedAt), `no grace: ${r.text}`);
    for (const surface of SURFACES) {
      const old = await chatOn(gw, surface, bearer(k.key), {}, { trace: tid("no-grace") });
      assertUnauthorized(old, surface, k.key);
      const reason = (await gw.logFor(old.trace)).authFailure;
      assert.ok(["revoked", "bad_secret"].includes(reason), `authFailure ${reason}`);
      assert.equal(await status(gw, r.body.key, surface), 200);
    }
  });

  test("graceSeconds outside 0-2592000: 400 invalid_request, field graceSeconds; 30 days is accepted", async () => {
    const k = await gw.adminKey({ name: "bad-grace" });
    for (const graceSeconds of [-1, 2592001]) {
      const r = await rotate(gw, k.id, { graceSeconds });
      assert.equal(r.status, 400, `${graceSeconds}: ${r.text}`);
      assert.equal(r.body.error.code, "invalid_request", r.text);
      assert.equal(r.body.error.field, "graceSeconds", r.text);
    }
    assert.equal(await status(gw, k.key), 200, "a refused rotation changes nothing");
    assert.ok(!("rotatedAt" in (await gw.admin("GET", "/admin/keys")).body.keys.find((x) => x.id === k.id)));
    const r = await rotate(gw, k.id, { graceSeconds: 2592000 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.previousValidUntil - r.body.rotatedAt, 2592000);
  });

  test("an unknown id is 404, a revoked key 400, and without the admin token the route does not exist (404)", async () => {
    const unknown = await rotate(gw, "0123456789ab", { graceSeconds: 2 });
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.body.error.code, "not_found");

    const gone = await gw.adminKey({ name: "revoked" });
    assert.equal((await gw.admin("DELETE", `/admin/keys/${gone.id}`)).status, 200);
    const revoked = await rotate(gw, gone.id, { graceSeconds: 2 });
    assert.equal(revoked.status, 400, revoked.text);
    assert.equal(revoked.body.error.code, "invalid_request", revoked.text);
    assert.ok(!revoked.text.includes("gwk_"), "no key for a revoked id");

    const k = await gw.adminKey({ name: "not-yours" });
    for (const token of [null, "not-the-admin-token", k.key]) {
      const r = await rotate(gw, k.id, { graceSeconds: 2 }, { token });
      assert.equal(r.status, 404, `token ${token}: ${r.text}`);
      assert.ok(!r.text.includes("gwk_"));
    }
    assert.equal(await status(gw, k.key), 200, "the key was not rotated");
    assert.ok(!("rotatedAt" in (await gw.admin("GET", "/admin/keys")).body.keys.find((x) => x.id === k.id)));
  });
});

describe("rotating CLIENT_TOKEN_SECRET: CLIENT_TOKEN_SECRET_PREVIOUS", () => {
  const OLD = "client-token-secret-old-7c1e0a9b3d5f2468";
  const NEW = "client-token-secret-new-4a8d2f6b0c9e1357";
  const OTHER = "client-token-secret-other-0000000000000";
  const signed = (secret, sub) => userToken({ sub }, { secret });

  test("with the previous secret set, tokens signed with either are accepted; a third secret is 401 bad_signature", async () => {
    const gw = await startGateway({ tenant: keysTenant(), vars: { ADMIN_TOKEN, CLIENT_TOKEN_SECRET: NEW, CLIENT_TOKEN_SECRET_PREVIOUS: OLD } });
    try {
      for (const surface of SURFACES) {
        for (const [secret, sub] of [[NEW, "new-user"], [OLD, "old-user"]]) {
          const r = await chatOn(gw, surface, bearer(signed(secret, sub)));
          assert.equal(r.status, 200, `${sub} on ${surface}: ${r.text}`);
          assert.equal((await gw.logFor(r.trace)).userId, sub);
        }
        const forged = signed(OTHER, "mallory");
        const r = await chatOn(gw, surface, bearer(forged));
        assertUnauthorized(r, surface, forged);
        assert.equal((await gw.logFor(r.trace)).authFailure, "bad_signature");
      }
      const h = await request(gw, "/health", { method: "GET" });
      assert.equal(h.status, 200, h.text);
      assert.ok(!h.text.includes(OLD) && !h.text.includes(NEW));
    } finally {
      await gw.close();
    }
  });

  test("without the previous secret, an old-secret token is 401 bad_signature; the new one works", async () => {
    const gw = await startGateway({ tenant: keysTenant(), vars: { ADMIN_TOKEN, CLIENT_TOKEN_SECRET: NEW } });
    try {
      for (const surface of SURFACES) {
        const old = signed(OLD, "old-user");
        const r = await chatOn(gw, surface, bearer(old));
        assertUnauthorized(r, surface, old);
        assert.equal((await gw.logFor(r.trace)).authFailure, "bad_signature");
        assert.equal((await chatOn(gw, surface, bearer(signed(NEW, "new-user")))).status, 200);
      }
    } finally {
      await gw.close();
    }
  });
});
