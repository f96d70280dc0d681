// The benchmark's OpenAI-compatible upstream (bench/run.mjs forks it): the stand-in of
// tests/support/openai-upstream.mjs on 127.0.0.1, in a process of its own so that its CPU is
// not the load generator's and can be read apart. The scenario map comes as argv[2] (JSON).
// Sends { url, origin } to the parent once listening; exits when the parent goes away.
import { startUpstream } from "../tests/support/openai-upstream.mjs";

const up = await startUpstream({ scenarios: JSON.parse(process.argv[2] ?? "{}") });
// The stand-in records every request for the tests; a benchmark sends tens of thousands.
setInterval(() => { up.requests.length = 0; }, 500).unref();
process.on("disconnect", () => process.exit(0));
process.send({ url: up.url, origin: up.origin });
