// Bundles the parts of the AI SDK (`ai`, the version in package-lock.json) that the demo page
// uses into one ES module, examples/web-chat/vendor/ai.js, so the page stays build-free and is
// served as plain files. Generated (git-ignored): dev/serve.mjs (scripts/dev.sh) and the browser
// test run this when the file is missing or older than package-lock.json or this script.
//
//   node examples/web-chat/build-vendor.mjs [--force]
//
// The page imports `AbstractChat` (the state machine `useChat` wraps) and `DefaultChatTransport`
// (useChat's HTTP transport), unchanged. zod, which the SDK validates every stream chunk with,
// is set to `jitless`: the page's Content-Security-Policy has no 'unsafe-eval', and a jitless zod
// never tries to compile a validator with `new Function` (ai 6.0 parses chunks asynchronously,
// which does not compile either; this keeps it so whatever the versions do).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
export const VENDOR_FILE = path.join(HERE, "vendor", "ai.js");

const ENTRY = `
import { config } from "zod/v4/core";
config({ jitless: true });
export { AbstractChat, DefaultChatTransport } from "ai";
`;

/** Whether vendor/ai.js is missing or older than what it is made from. */
export function vendorStale(file = VENDOR_FILE) {
  if (!fs.existsSync(file)) return true;
  const built = fs.statSync(file).mtimeMs;
  const inputs = [path.join(ROOT, "package-lock.json"), fileURLToPath(import.meta.url)];
  return inputs.some((f) => fs.existsSync(f) && fs.statSync(f).mtimeMs > built);
}

/**
 * Builds vendor/ai.js when it is stale (or always with `force`). Returns what it did:
 * { built: boolean, file, bytes }.
 */
export async function buildVendor({ force = false, quiet = false } = {}) {
  if (!force && !vendorStale()) return { built: false, file: VENDOR_FILE, bytes: fs.statSync(VENDOR_FILE).size };
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch (e) {
    throw new Error(`esbuild is not installed (${e.message}); run npm ci (scripts/tools.sh) first`);
  }
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/ai/package.json"), "utf8"));
  fs.mkdirSync(path.dirname(VENDOR_FILE), { recursive: true });
  // Written next to the target and renamed, so a page loaded meanwhile never gets half a file.
  const tmp = `${VENDOR_FILE}.${process.pid}.tmp`;
  await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: ROOT, sourcefile: "web-chat-ai-entry.js", loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "eof",
    banner: {
      js: `// ai ${version} (AbstractChat, DefaultChatTransport), bundled by examples/web-chat/build-vendor.mjs. Generated: do not edit.\n` +
        "// Contains ai, @ai-sdk/provider and @ai-sdk/provider-utils (Apache-2.0, Vercel), zod (MIT) and eventsource-parser (MIT).",
    },
    outfile: tmp,
    logLevel: "warning",
  });
  fs.renameSync(tmp, VENDOR_FILE);
  const bytes = fs.statSync(VENDOR_FILE).size;
  if (!quiet) console.log(`built ${path.relative(ROOT, VENDOR_FILE)} (ai ${version}, ${Math.round(bytes / 1024)} KiB)`);
  return { built: true, file: VENDOR_FILE, bytes };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildVendor({ force: process.argv.includes("--force") }).then(
    (r) => { if (!r.built) console.log(`${path.relative(ROOT, r.file)} is up to date`); },
    (e) => { console.error(e.message); process.exit(1); },
  );
}
