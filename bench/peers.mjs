// The benchmark's peers (bench/run.mjs): Portkey's AI gateway (npm) and the LiteLLM proxy
// (PyPI), pinned, installed on first use into bench/.peers/ (git-ignored; `rm -rf bench/.peers`
// reinstalls), and started on 127.0.0.1 in front of the same upstream stand-in as the gateway.
//
// Installing is the only part of the benchmark that talks to anything but 127.0.0.1: the npm
// registry and PyPI, through npm and pip. A peer that cannot be installed or started is skipped
// with the reason; the rest of the run goes on.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./lib.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PEERS_DIR = path.join(HERE, ".peers");
export const PORTKEY_VERSION = "1.15.2";
// The newest LiteLLM whose `[proxy]` extra resolves on PyPI as reachable from here: the
// litellm[proxy] of 1.108.x and later pin litellm-proxy / litellm-proxy-extras /
// litellm-enterprise releases that cannot be installed.
export const LITELLM_VERSION = "1.106.12";

const log = (line) => process.stderr.write(`[bench] ${line}\n`);

/** Runs a command to its end; { ok, out } with stdout+stderr (last 2,000 characters). */
function run(cmd, args, { timeoutMs = 600_000, cwd = HERE, env = process.env } = {}) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`.trim();
  return { ok: r.status === 0 && !r.error, out: out.slice(-2000) };
}

const lastLine = (text) => text.split("\n").filter(Boolean).at(-1) ?? "";


/** Installs Portkey into bench/.peers/node; returns { entry } or { skip: reason }. */
export function ensurePortkey() {
  const dir = path.join(PEERS_DIR, "node");
  const pkg = path.join(dir, "node_modules/@portkey-ai/gateway/package.json");
  const entry = path.join(dir, "node_modules/@portkey-ai/gateway/build/start-server.js");
  const installed = () => {
    try {
      return JSON.parse(fs.readFileSync(pkg, "utf8")).version === PORTKEY_VERSION && fs.existsSync(entry);
    } catch {
      return false;
    }
  };
  if (installed()) return { entry };
  log(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${path.relative(process.cwd(), dir)} ...`);
  const view = run("npm", ["view", "--fetch-retries=1", "--fetch-timeout=30000", `@portkey-ai/gateway@${PORTKEY_VERSION}`, "version"], { timeoutMs: 90_000 });
  if (!view.ok || !view.out.includes(PORTKEY_VERSION)) {
    return { skip: `the npm registry did not answer for @portkey-ai/gateway@${PORTKEY_VERSION}: ${lastLine(view.out)}` };
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "package.json"),
    `${JSON.stringify({ private: true, dependencies: { "@portkey-ai/gateway": PORTKEY_VERSION } }, null, 2)}\n`,
  );
  const inst = run("npm", ["install", "--no-audit", "--no-fund", "--prefix", dir], { timeoutMs: 300_000 });
  if (!inst.ok || !installed()) return { skip: `npm install failed: ${lastLine(inst.out)}` };
  return { entry };
}

/** Installs LiteLLM's proxy into the venv bench/.peers/venv; returns { bin } or { skip: reason }. */
export function ensureLitellm() {
  const venv = path.join(PEERS_DIR, "venv");
  const python = path.join(venv, "bin/python");
  const bin = path.join(venv, "bin/litellm");
  const installed = () =>
    fs.existsSync(bin) &&
    run(python, ["-c", "import importlib.metadata as m, uvicorn, fastapi; print(m.version('litellm'))"], { timeoutMs: 60_000 }).out === LITELLM_VERSION;
  if (installed()) return { bin };
  log(`installing litellm[proxy]==${LITELLM_VERSION} into ${path.relative(process.cwd(), venv)} (a minute or two) ...`);
  if (!fs.existsSync(python)) {
    const mk = run(process.env.BENCH_PYTHON ?? "python3", ["-m", "venv", venv], { timeoutMs: 120_000 });
    if (!mk.ok) return { skip: `could not make a Python venv: ${lastLine(mk.out)}` };
  }
  const pip = path.join(venv, "bin/pip");
  const tmp = fs.mkdtempSync(path.join(PEERS_DIR, "pip-check-"));
  try {
    const dl = run(pip, ["download", "--quiet", "--retries", "1", "--timeout", "30", "--no-deps", "--dest", tmp, `litellm==${LITELLM_VERSION}`], { timeoutMs: 180_000 });
    if (!dl.ok) return { skip: `PyPI did not answer for litellm==${LITELLM_VERSION}: ${lastLine(dl.out)}` };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const inst = run(pip, ["install", "--quiet", `litellm[proxy]==${LITELLM_VERSION}`], { timeoutMs: 900_000 });
  if (!inst.ok || !installed()) return { skip: `pip install litellm[proxy]==${LITELLM_VERSION} failed: ${lastLine(inst.out)}` };
  return { bin };
}

/**
 * Starts `cmd args` in its own process group (so stopping it stops its workers too), output to
 * bench/.peers/logs/<name>.log, and waits until GET `readyPath` answers `readyOk`. `track(stop)`
 * is called right after the spawn (so the caller can stop it even while it is starting) and
 * returns the stop to use. Resolves { url, pid, stop() } or { skip: reason } (stopped then).
 */
async function startProcess(name, cmd, args, { port, env, readyPath, readyOk, timeoutMs, track }) {
  const logs = path.join(PEERS_DIR, "logs");
  fs.mkdirSync(logs, { recursive: true });
  const logFile = path.join(logs, `${name}.log`);
  const fd = fs.openSync(logFile, "w");
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd: PEERS_DIR, detached: true, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  let exited = null;
  child.on("exit", (code, signal) => { exited = signal ?? code; });
  child.on("error", (e) => { exited = String(e); });
  // SIGTERM to the whole group (workers too), SIGKILL after 5 s; done when the leader is gone.
  const kill = async () => {
    try { process.kill(-child.pid, "SIGTERM"); } catch { return; /* the group is gone */ }
    const until = Date.now() + 5000;
    while (exited === null && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ }
  };
  const stop = track(kill);
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (exited !== null) break;
    try {
      const res = await fetch(url + readyPath, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (readyOk(res.status)) return { url, pid: child.pid, stop, logFile };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  const tail = fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-3).join(" | ");
  return { skip: `${name} did not become ready within ${timeoutMs / 1000} s (exit: ${exited ?? "none"}): ${tail.slice(-300)}` };
}

/**
 * Portkey's gateway (Node) with bench/portkey-node-fix.mjs preloaded: without it every
 * streamed chat fails on Node (see that file). Requests name the upstream per request with
 * x-portkey-provider: openai and x-portkey-custom-host (127.0.0.1 is a trusted custom host).
 */
export async function startPortkey(upstreamUrl, { track = (stop) => stop } = {}) {
  const inst = ensurePortkey();
  if (inst.skip) return inst;
  const port = await freePort();
  const fix = path.join(HERE, "portkey-node-fix.mjs");
  const started = await startProcess("portkey", process.execPath, ["--import", fix, inst.entry, `--port=${port}`, "--headless"], {
    port,
    env: {},
    readyPath: "/",
    readyOk: (s) => s === 200,
    timeoutMs: 60_000,
    track,
  });
  if (started.skip) return started;
  return {
    ...started,
    version: PORTKEY_VERSION,
    headers: { "x-portkey-provider": "openai", "x-portkey-custom-host": upstreamUrl, authorization: "Bearer none" },
  };
}

/**
 * LiteLLM's proxy (uvicorn, BENCH_LITELLM_WORKERS workers, default 1) with every model routed to
 * the upstream as `openai/<model>`. No master key (LiteLLM refuses that outside local
 * development: LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY), and the model cost map
 * read from the package instead of fetched (LITELLM_LOCAL_MODEL_COST_MAP).
 */
export async function startLitellm(upstreamUrl, { workers = 1, track = (stop) => stop } = {}) {
  const inst = ensureLitellm();
  if (inst.skip) return inst;
  const port = await freePort();
  const config = path.join(PEERS_DIR, "litellm.yaml");
  fs.writeFileSync(
    config,
    [
      "model_list:",
      '  - model_name: "*"',
      "    litellm_params:",
      '      model: "openai/*"',
      `      api_base: "${upstreamUrl}"`,
      '      api_key: "none"',
      "litellm_settings:",
      "  telemetry: false",
      "",
    ].join("\n"),
  );
  const started = await startProcess(
    "litellm",
    inst.bin,
    ["--config", config, "--host", "127.0.0.1", "--port", String(port), "--num_workers", String(workers)],
    {
      port,
      env: { LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY: "true", LITELLM_LOCAL_MODEL_COST_MAP: "True" },
      readyPath: "/health/liveliness",
      readyOk: (s) => s === 200,
      timeoutMs: 120_000,
      track,
    },
  );
  if (started.skip) return started;
  return { ...started, version: LITELLM_VERSION, headers: {} };
}
