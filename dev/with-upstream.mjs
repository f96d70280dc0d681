// `--with-upstream` (or DEV_UPSTREAM=1) for dev/serve.mjs: the served tenant gets an extra
// HTTP provider `corp` (openai-compatible, OAuth2 client credentials, max_completion_tokens),
// set up like the seed's AI gateway client, so OAuth2, discovery, tiers, cross-provider
// fallback and deep health can be tried locally:
//
//   - by default against the stand-ins in tests/support/: a token endpoint
//     (oauth-server.mjs) and an OpenAI-compatible server (openai-upstream.mjs) listing
//     gpt-5.1, gpt-5.1-chat-latest, gpt-5 and gpt-5-mini, both on 127.0.0.1;
//     DEV_UPSTREAM_SCENARIOS='{"gpt-5.1":{"status":500}}' adds scenario knobs (merged per model),
//     DEV_TOKEN_EXPIRES_IN=45 sets the tokens' expires_in (default 3600);
//   - with DEV_PROVIDER_BASE_URL set, against a real server instead:
//     DEV_PROVIDER_BASE_URL (…/v1), DEV_PROVIDER_TOKEN_URL, DEV_PROVIDER_CLIENT_ID,
//     DEV_PROVIDER_CLIENT_SECRET, and optionally DEV_PROVIDER_SCOPE, DEV_PROVIDER_AUDIENCE,
//     DEV_PROVIDER_AUTH_METHOD (basic | post) and DEV_PROVIDER_MAX_TOKENS_FIELD.
//
// The tenant's fast/standard/premium tiers become preference lists with the corp models in
// front and the tier's Workers AI model last (the fallback when corp is down); a non-empty
// allow-list gets the corp refs added. The client secret reaches the worker as the secret
// CORP_CLIENT_SECRET. dev/serve.mjs makes sure an ADMIN_TOKEN is set, so GET /health/providers
// can be tried. The tenant files stay as they are.
import crypto from "node:crypto";
import { startTokenServer } from "../tests/support/oauth-server.mjs";
import { startUpstream } from "../tests/support/openai-upstream.mjs";

const SEED_TIERS = {
  fast: ["corp/gpt-5.1-chat-latest", "corp/gpt-5-mini"],
  standard: ["corp/gpt-5.1", "corp/gpt-5"],
  premium: ["corp/gpt-5.1", "corp/gpt-5"],
};
const STAND_IN_MODELS = ["gpt-5.1", "gpt-5.1-chat-latest", "gpt-5", "gpt-5-mini"];

/**
 * Adds the `corp` provider to `tenant` (mutated) and its secret to `vars` (mutated).
 * @returns {Promise<{ describe(gatewayUrl, { admin, auth }): string, close(): Promise<void> }>}
 *   `describe` gives the lines to print: `admin` is the ADMIN_TOKEN to show (or a placeholder),
 *   `auth` the curl option for the dev API key ("" in open mode).
 */
export async function addDevProvider(tenant, vars, env = process.env) {
  const real = Boolean(env.DEV_PROVIDER_BASE_URL);
  let ts = null, up = null, baseUrl, tokenUrl, clientId, secret;
  if (real) {
    const missing = ["DEV_PROVIDER_TOKEN_URL", "DEV_PROVIDER_CLIENT_ID", "DEV_PROVIDER_CLIENT_SECRET"].filter((k) => !env[k]);
    if (missing.length) throw new Error(`DEV_PROVIDER_BASE_URL is set: also set ${missing.join(", ")}`);
    ({ DEV_PROVIDER_BASE_URL: baseUrl, DEV_PROVIDER_TOKEN_URL: tokenUrl, DEV_PROVIDER_CLIENT_ID: clientId, DEV_PROVIDER_CLIENT_SECRET: secret } = env);
  } else {
    clientId = "gateway-dev";
    secret = crypto.randomBytes(18).toString("base64url");
    ts = await startTokenServer({ clients: { [clientId]: secret }, expiresIn: Number(env.DEV_TOKEN_EXPIRES_IN ?? 3600) });
    const extra = env.DEV_UPSTREAM_SCENARIOS ? JSON.parse(env.DEV_UPSTREAM_SCENARIOS) : {};
    const base = { "*": { models: STAND_IN_MODELS, tokenDelayMs: 40, requireField: "max_completion_tokens" } };
    const scenarios = Object.fromEntries(
      [...new Set([...Object.keys(base), ...Object.keys(extra)])].map((k) => [k, { ...base[k], ...extra[k] }]),
    );
    up = await startUpstream({ scenarios, requireValidToken: ts });
    baseUrl = up.url;
    tokenUrl = ts.url;
  }

  const auth = { type: "oauth2", tokenUrl, clientId, clientSecret: { secret: "CORP_CLIENT_SECRET" } };
  if (env.DEV_PROVIDER_SCOPE) auth.scope = env.DEV_PROVIDER_SCOPE;
  if (env.DEV_PROVIDER_AUDIENCE) auth.audience = env.DEV_PROVIDER_AUDIENCE;
  if (env.DEV_PROVIDER_AUTH_METHOD) auth.method = env.DEV_PROVIDER_AUTH_METHOD;
  tenant.providers = {
    ...tenant.providers,
    corp: { kind: "openai-compatible", baseUrl, auth, maxTokensField: env.DEV_PROVIDER_MAX_TOKENS_FIELD || "max_completion_tokens" },
  };
  vars.CORP_CLIENT_SECRET = secret;

  // Tiers as in the seed (fast/standard/premium from discovery), Workers AI last.
  const models = (tenant.models ??= {});
  const tiers = (models.tiers ??= {});
  for (const [name, prefs] of Object.entries(SEED_TIERS)) {
    const own = [tiers[name] ?? []].flat().filter((m) => !prefs.includes(m));
    tiers[name] = [...prefs, ...own];
  }
  if (Array.isArray(tenant.modelAllowList) && tenant.modelAllowList.length) {
    const refs = [...Object.values(SEED_TIERS).flat(), ...(real ? [] : STAND_IN_MODELS.map((m) => `corp/${m}`))];
    tenant.modelAllowList = [...new Set([...tenant.modelAllowList, ...refs])];
  }

  const where = real
    ? `the real server ${baseUrl} (token endpoint ${tokenUrl}, client ${clientId})`
    : `the stand-ins: token endpoint ${tokenUrl}, OpenAI-compatible server ${baseUrl}`;
  return {
    describe: (gw, { admin, auth = "" }) => [
      `Provider "corp" (OAuth2 client credentials) on ${where}`,
      `Tiers: ${Object.entries(tiers).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join("; ")}`,
      `  curl ${gw}/v1/models${auth}`,
      `  curl ${gw}/chat${auth} -H 'content-type: application/json' -d '{"message":"Hello!","modelId":"premium"}'`,
      `  curl -N ${gw}/v1/chat/completions${auth} -H 'content-type: application/json' -d '{"model":"corp/gpt-5.1","stream":true,"messages":[{"role":"user","content":"Hello!"}]}'`,
      `  curl ${gw}/health/providers -H 'authorization: Bearer ${admin}'`,
    ].join("\n"),
    async close() {
      await Promise.all([up?.close(), ts?.close()]);
    },
  };
}
