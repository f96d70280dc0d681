// Local dev server: the built worker in workerd on 127.0.0.1:8787 with local KV and Durable
// Objects (persisted under .dev-state/) and the Workers AI stand-in bound as AI, plus the demo
// chat page (examples/web-chat) on 127.0.0.1:8788 (its vendor/ai.js bundle of the AI SDK is
// built first when missing or older than package-lock.json: examples/web-chat/build-vendor.mjs).
//
//   node dev/serve.mjs [--tenant NAME] [--port 8787] [--web-port 8788] [--no-web] [--with-upstream]
//
// NAME picks tenants/NAME/wrangler.toml; without it the root wrangler.toml (tenant "demo").
// The demo page's origins (http://127.0.0.1:8788, http://localhost:8788) are added to the
// served tenant's cors.allowedOrigins here, at run time; the tenant files stay as they are.
// AI_SIM_SCENARIOS='{"*":{"tokenDelayMs":50}}'  chooses stand-in behaviour (tests/support/ai-sim.mjs)
// AI_SIM_UPSTREAM=http://127.0.0.1:11434/v1    forwards AI calls to a local OpenAI-compatible server
// AI_SIM_MODEL=llama3.2  AI_SIM_API_KEY=...     the model name and key to send it
// Secrets (a provider's client secret, ADMIN_TOKEN, ...) come from `.dev.vars` next to the
// wrangler.toml (KEY=value lines, as `wrangler dev` reads them).
// --with-upstream (or DEV_UPSTREAM=1): an extra OAuth2 provider `corp`, against local stand-ins
// or a real server (DEV_PROVIDER_BASE_URL, ...); see dev/with-upstream.mjs and docs/providers.md.
//
// Knowledge bases: when the wrangler.toml declares [[vectorize]] indexes, each is bound to the
// Vectorize stand-in (tests/support/vectorize-sim.mjs), kept under .dev-state/<tenant>/vectorize/
// (see knowledgeOptions below); [[d1_databases]] and [[queues.*]] run in Miniflare's own D1 and
// Queues (runtime.mjs, optionsFromWranglerToml). Without them nothing changes.
//
// The operator console (assets/console/, Workers Static Assets as in the [assets] table) is
// served by the gateway itself at <gateway>/console/ and its URL printed; its vendor files
// (uPlot) are built first when missing or stale (assets/build-console.mjs).
//
// Unless the tenant runs in open mode (auth.mode = "open"), every run gets a random
// ADMIN_TOKEN, revokes the dev keys of earlier runs, makes a new one with POST /admin/keys and
// prints it on a line starting with `API key:`; the printed curl lines and demo page URL use
// it. CLIENT_TOKEN_SECRET=... in the environment enables end-user tokens (docs/auth.md).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { parse as parseToml } from "smol-toml";
import { startGateway, optionsFromWranglerToml, ROOT } from "../tests/support/runtime.mjs";
import { EMBEDDING_MODELS } from "../tests/support/ai-sim.mjs";
import { serveStatic } from "./static.mjs";
import { addDevProvider } from "./with-upstream.mjs";
import { buildVendor } from "../examples/web-chat/build-vendor.mjs";
import { buildConsole } from "../assets/build-console.mjs";

const { values } = parseArgs({
  options: {
    tenant: { type: "string", default: process.env.TENANT ?? "" },
    port: { type: "string", default: "8787" },
    "web-port": { type: "string", default: "8788" },
    "no-web": { type: "boolean", default: false },
    "with-upstream": { type: "boolean", default: process.env.DEV_UPSTREAM === "1" },
  },
});
const configPath = values.tenant ? path.join(ROOT, "tenants", values.tenant, "wrangler.toml") : path.join(ROOT, "wrangler.toml");
if (!fs.existsSync(configPath)) {
  console.error(`no such tenant config: ${path.relative(ROOT, configPath)}`);
  process.exit(2);
}
const tenantOptions = optionsFromWranglerToml(configPath);
const TENANT = tenantOptions.tenant;
tenantOptions.vars = { ...tenantOptions.vars, ...readDevVars(path.join(path.dirname(configPath), ".dev.vars")) };
let devProvider = null;
if (values["with-upstream"] || process.env.DEV_PROVIDER_BASE_URL) {
  try {
    devProvider = await addDevProvider(TENANT, tenantOptions.vars);
  } catch (e) {
    console.error(`--with-upstream: ${e.message}`);
    process.exit(2);
  }
}
const OPEN = TENANT?.auth?.mode === "open";
const ADMIN_TOKEN = OPEN ? null : crypto.randomBytes(24).toString("base64url");
// --with-upstream: /health/providers needs an ADMIN_TOKEN, also in open mode (.dev.vars may set one).
let providerAdmin = ADMIN_TOKEN;
if (devProvider && !ADMIN_TOKEN) {
  providerAdmin = tenantOptions.vars.ADMIN_TOKEN ? "<ADMIN_TOKEN from .dev.vars>" : (tenantOptions.vars.ADMIN_TOKEN = crypto.randomBytes(24).toString("base64url"));
}
if (!OPEN && !("AUTH_KV" in tenantOptions.kvNamespaces)) {
  // Keys live in AUTH_KV; serve with a local namespace so the run works, and say so.
  tenantOptions.kvNamespaces.AUTH_KV = "dev-auth-kv";
  console.warn(`note: ${path.relative(ROOT, configPath)} has no AUTH_KV binding; serving with a local one. Add\n  [[kv_namespaces]]\n  binding = "AUTH_KV"\n  id = "<namespace id>"\nbefore deploying a tenant in api-keys mode (docs/auth.md).`);
}
// The demo page first, so the tenant allows exactly the origin it is served from.
let web = null;
if (!values["no-web"]) {
  const webPort = Number(values["web-port"]);
  try {
    // The page loads the AI SDK's chat client from vendor/ai.js (git-ignored): made when missing or stale.
    await buildVendor();
  } catch (e) {
    console.error(`could not build examples/web-chat/vendor/ai.js (${e.message}); the demo page will say so`);
  }
  try {
    web = await serveStatic(path.join(ROOT, "examples/web-chat"), { port: webPort });
  } catch (e) {
    console.error(`could not serve the demo page on port ${webPort} (${e.code ?? e.message}); try --web-port N or --no-web`);
  }
}
if (web && TENANT && typeof TENANT === "object") {
  const own = TENANT.cors?.allowedOrigins ?? [];
  const pageOrigins = [`http://127.0.0.1:${web.port}`, `http://localhost:${web.port}`];
  TENANT.cors = { ...TENANT.cors, allowedOrigins: [...new Set([...own, ...pageOrigins])] };
}

const knowledge = knowledgeOptions(parseToml(fs.readFileSync(configPath, "utf8")), TENANT);
try {
  await buildConsole(); // assets/console/vendor/ (git-ignored): made when missing or stale
} catch (e) {
  console.error(`could not build the console's vendor files (${e.message}); its charts will not load`);
}
const gw = await startGateway({
  ...tenantOptions,
  ...knowledge,
  vars: {
    ...tenantOptions.vars,
    ...(ADMIN_TOKEN ? { ADMIN_TOKEN } : {}),
    ...(process.env.CLIENT_TOKEN_SECRET ? { CLIENT_TOKEN_SECRET: process.env.CLIENT_TOKEN_SECRET } : {}),
  },
  assets: true, // assets/: the operator console at /console/
  port: Number(values.port),
  persistRoot: path.join(ROOT, ".dev-state", values.tenant || "demo"),
  scenarios: process.env.AI_SIM_SCENARIOS ? JSON.parse(process.env.AI_SIM_SCENARIOS) : {},
  upstream: process.env.AI_SIM_UPSTREAM,
  upstreamModel: process.env.AI_SIM_MODEL,
  upstreamKey: process.env.AI_SIM_API_KEY,
  recordCalls: false,
  echoLogs: true,
});

const DEV_KEY_NAME = "dev key (scripts/dev.sh)";
/** Revokes earlier runs' dev keys (their state persists in .dev-state/) and makes this run's. */
async function devKey() {
  const listed = await gw.admin("GET", "/admin/keys");
  for (const k of listed.body?.keys ?? []) {
    if (k.name === DEV_KEY_NAME && !k.revoked) await gw.admin("DELETE", `/admin/keys/${k.id}`);
  }
  return (await gw.adminKey({ name: DEV_KEY_NAME })).key;
}
let KEY = null;
if (!OPEN) {
  try {
    KEY = await devKey();
  } catch (e) {
    console.error(`could not create a dev API key: ${e.message}\n(GET ${gw.url}/health says what is missing)`);
  }
}

// Fills each knowledge base that is still empty with this project's docs/ (docs/knowledge.md):
// PUT every docs/*.md; ingestion runs in the worker's own queue consumer.
const KB_SEEDED = [];
if (ADMIN_TOKEN && TENANT?.knowledge) {
  for (const kb of Object.keys(TENANT.knowledge)) {
    try {
      const listed = await gw.admin("GET", `/admin/knowledge/${kb}/documents?limit=1`);
      if ((listed.body?.documents ?? []).length) continue;
      const files = fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md"));
      for (const f of files) {
        const res = await fetch(`${gw.url}/admin/knowledge/${kb}/documents/${path.basename(f, ".md")}`, {
          method: "PUT",
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "text/markdown" },
          body: fs.readFileSync(path.join(ROOT, "docs", f)),
        });
        if (res.status >= 300) console.error(`seeding knowledge base ${kb} with docs/${f}: ${res.status} ${await res.text()}`);
      }
      KB_SEEDED.push(`${kb} (${files.length} documents from docs/, indexing in the background)`);
    } catch (e) {
      console.error(`could not seed knowledge base ${kb}: ${e.message}`);
    }
  }
}
const firstKb = Object.keys(TENANT?.knowledge ?? {})[0];

const pageParams = new URLSearchParams();
if (firstKb) pageParams.set("knowledge", firstKb);
if (gw.url !== "http://127.0.0.1:8787") pageParams.set("gateway", gw.url);
if (KEY) pageParams.set("key", KEY);
const query = pageParams.toString();
const pageUrl = web && `${web.url}/${query ? `?${query}` : ""}`;
const auth = KEY ? ` -H "authorization: Bearer ${KEY}"` : "";

const indexes = Object.entries(knowledge.vectorize ?? {}).map(([b, d]) => `${b} (${d.dimensions} dims, ${d.metric})`).join(", ");
const consoleSignIn = ADMIN_TOKEN
  ? "sign in with the admin token below"
  : tenantOptions.vars.ADMIN_TOKEN
    ? `sign in with ${providerAdmin === tenantOptions.vars.ADMIN_TOKEN ? providerAdmin : "the ADMIN_TOKEN from .dev.vars"}`
    : "needs an ADMIN_TOKEN: open mode makes none; set one in .dev.vars";
const ai = process.env.AI_SIM_UPSTREAM ? `forwarded to ${process.env.AI_SIM_UPSTREAM}` : "the local stand-in (tests/support/ai-sim.mjs)";
console.log(`
Gateway for tenant "${TENANT?.tenantId}" (${path.relative(ROOT, configPath)}) on ${gw.url}
Operator console: ${gw.url}/console/   (${consoleSignIn})
AI binding: ${ai}${indexes ? `\nVectorize stand-ins (tests/support/vectorize-sim.mjs): ${indexes}` : ""}${pageUrl ? `\nDemo chat page: ${pageUrl}   (its origin is allowed for this run)` : ""}${devProvider ? `\n${devProvider.describe(gw.url, { admin: providerAdmin, auth })}\n` : ""}
${OPEN ? `Auth: open mode: anyone who can reach ${gw.url} can spend the budget (no key needed)` : `Admin token (this run only): ${ADMIN_TOKEN}`}
${KEY ? `API key: ${KEY}\n` : ""}
  curl ${gw.url}/health
  curl ${gw.url}/chat${auth} -H 'content-type: application/json' -d '{"message":"Hello!"}'
  curl -N ${gw.url}/chat${auth} -H 'content-type: application/json' -d '{"message":"Hello!","stream":true}'
  curl ${gw.url}/v1/chat/completions${auth} -H 'content-type: application/json' -d '{"model":"fast","messages":[{"role":"user","content":"Hello!"}]}'
${firstKb ? `  curl ${gw.url}/chat${auth} -H 'content-type: application/json' -d '{"message":"How do budgets work?","knowledge":"${firstKb}"}'
` : ""}${KB_SEEDED.length ? `Knowledge bases seeded: ${KB_SEEDED.join(", ")}
` : ""}
Ctrl-C to stop.`);

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => Promise.all([gw.close(), web?.close(), devProvider?.close()]).finally(() => process.exit(0)));
}

/**
 * The startGateway options binding a tenant's Vectorize indexes to the stand-in: {} unless the
 * wrangler.toml declares [[vectorize]] (binding, index_name). wrangler.toml does not hold an
 * index's dimensions or metadata indexes (they are set by `wrangler vectorize create` and
 * `create-metadata-index`), so they come from the tenant config when it says, else defaults:
 * - dimensions: `knowledge.<kb>.dimensions`, else those of `knowledge.<kb>.embeddingModel`
 *   (EMBEDDING_MODELS in ai-sim.mjs), for the kb whose `index` / `vectorize` / `binding` names the
 *   binding (or the only kb); else 768 (bge-base-en-v1.5);
 * - metric: that kb's `metric`, else "cosine";
 * - metadataIndexes: that kb's `metadataIndexes`, else {kb, aud, docId} as strings.
 * Adjust here once the knowledge config is settled; `defs` passed in directly win
 * ({BINDING: {dimensions, metric, metadataIndexes}}, as startGateway's `vectorize`).
 */
function knowledgeOptions(config, tenant, defs = {}) {
  const declared = config?.vectorize ?? [];
  if (!declared.length && !Object.keys(defs).length) return {};
  const kbs = Object.values(tenant?.knowledge ?? {});
  const vectorize = {};
  for (const v of declared) {
    const kb = kbs.find((k) => [k?.index, k?.vectorize, k?.binding].includes(v.binding)) ?? (kbs.length === 1 ? kbs[0] : {});
    vectorize[v.binding] = {
      dimensions: kb.dimensions ?? EMBEDDING_MODELS[kb.embeddingModel]?.dims ?? 768,
      metric: kb.metric ?? "cosine",
      metadataIndexes: kb.metadataIndexes ?? { kb: "string", aud: "string", docId: "string" },
      indexName: v.index_name ?? v.binding,
    };
  }
  return { vectorize: { ...vectorize, ...defs } };
}

/** `.dev.vars` (KEY=value lines, # comments, optional quotes) as an object; {} when absent. */
function readDevVars(file) {
  if (!fs.existsSync(file)) return {};
  const out = {};
  for (const line of fs.readFileSync(file, "utf8").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    const q = /^(["'])(.*)\1$/.exec(m[2]);
    out[m[1]] = q ? q[2] : m[2];
  }
  return out;
}
