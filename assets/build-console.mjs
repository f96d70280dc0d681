// Builds the operator console's vendor files (assets/console/vendor/, git-ignored) from the npm packages pinned in package-lock.json: uPlot as one minified ES module (vendor/uplot.js) and its stylesheet (vendor/uplot.css).
//
//   node assets/build-console.mjs [--force]
//
// The console itself (assets/console/*.js, *.css, index.html) is plain files, served as they are
// by Workers Static Assets at /console/ (the [assets] table points at assets/; assets/_headers
// gives /console/* its Content-Security-Policy; assets/.assetsignore keeps this script out of
// the upload). Run this before `wrangler deploy` (or as the config's [build] command);
// dev/serve.mjs, tests/support/runtime.mjs users and tests/e2e/console.test.mjs run it when
// the files are missing or older than package-lock.json or this script.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
export const ASSETS_DIR = HERE;
export const VENDOR_DIR = path.join(HERE, "console", "vendor");
const OUT = { js: path.join(VENDOR_DIR, "uplot.js"), css: path.join(VENDOR_DIR, "uplot.css") };

/** Whether a vendor file is missing or older than what it is made from. */
export function consoleStale() {
  const inputs = [path.join(ROOT, "package-lock.json"), fileURLToPath(import.meta.url)];
  return Object.values(OUT).some((f) => {
    if (!fs.existsSync(f)) return true;
    const built = fs.statSync(f).mtimeMs;
    return inputs.some((i) => fs.existsSync(i) && fs.statSync(i).mtimeMs > built);
  });
}

/** Writes `data` (or esbuild's output) next to `file` and renames it: a page loaded meanwhile never gets half a file. */
function replace(file, write) {
  const tmp = `${file}.${process.pid}.tmp`;
  write(tmp);
  fs.renameSync(tmp, file);
}

/** Builds the vendor files when stale (or always with `force`): { built, files, bytes }. */
export async function buildConsole({ force = false, quiet = false } = {}) {
  const files = Object.values(OUT);
  const size = () => files.reduce((n, f) => n + fs.statSync(f).size, 0);
  if (!force && !consoleStale()) return { built: false, files, bytes: size() };
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch (e) {
    throw new Error(`esbuild is not installed (${e.message}); run npm ci (scripts/tools.sh) first`);
  }
  const pkgDir = path.join(ROOT, "node_modules", "uplot");
  if (!fs.existsSync(path.join(pkgDir, "package.json"))) {
    throw new Error("uplot is not installed; run npm ci (scripts/tools.sh) first");
  }
  const { version, license } = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  fs.mkdirSync(VENDOR_DIR, { recursive: true });
  const banner = `uPlot ${version} (${license}, Leon Sorokin), bundled by assets/build-console.mjs. Generated: do not edit.`;
  const tmpJs = `${OUT.js}.${process.pid}.tmp`;
  await esbuild.build({
    stdin: { contents: 'export { default } from "uplot";\n', resolveDir: ROOT, sourcefile: "console-uplot-entry.js", loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    minify: true,
    legalComments: "eof",
    banner: { js: `// ${banner}` },
    outfile: tmpJs,
    logLevel: "warning",
  });
  fs.renameSync(tmpJs, OUT.js);
  const css = fs.readFileSync(path.join(pkgDir, "dist", "uPlot.min.css"), "utf8");
  replace(OUT.css, (tmp) => fs.writeFileSync(tmp, `/* ${banner} */\n${css}\n`));
  if (!quiet) console.log(`built ${path.relative(ROOT, VENDOR_DIR)}/ (uPlot ${version}, ${Math.round(size() / 1024)} KiB)`);
  return { built: true, files, bytes: size() };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildConsole({ force: process.argv.includes("--force") }).then(
    (r) => { if (!r.built) console.log(`${path.relative(ROOT, VENDOR_DIR)}/ is up to date`); },
    (e) => { console.error(e.message); process.exit(1); },
  );
}
