// The benchmark's floors (bench/run.mjs): the least a Worker can do for the same requests, run
// in workerd like the gateway, so the gateway's cost is read as a difference to these.
//
//   POST /ai                    parse the body, `env.AI.run(model, { messages })` and answer
//                               its result as JSON; with "stream": true pass the binding's SSE
//                               stream through untouched. `AI` is the same Workers AI stand-in
//                               (tests/support/ai-sim.mjs, a wrapped binding) the gateway gets.
//   POST /v1/chat/completions   forward the request body to `${env.UPSTREAM}/chat/completions`
//                               (the OpenAI-compatible upstream stand-in) and pass the answer
//                               through: the floor of the HTTP provider path.
//   POST /relay/v1/chat/completions  the relay floor (bench/relay-floor.mjs): calls the same
//                               upstream, parses its JSON or each SSE event and writes an
//                               OpenAI answer of its own: the least a relay that re-encodes does.
import { relay } from "./relay-floor.mjs";

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (request.method === "POST" && pathname === "/ai") {
      const body = await request.json();
      if (body.stream) {
        const stream = await env.AI.run(body.model, { messages: body.messages, stream: true });
        return new Response(stream, { headers: { "content-type": "text/event-stream" } });
      }
      return Response.json(await env.AI.run(body.model, { messages: body.messages }));
    }
    if (request.method === "POST" && pathname === "/v1/chat/completions") {
      const res = await fetch(`${env.UPSTREAM}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: request.body,
      });
      return new Response(res.body, {
        status: res.status,
        headers: { "content-type": res.headers.get("content-type") ?? "application/json" },
      });
    }
    if (request.method === "POST" && pathname === "/relay/v1/chat/completions") return relay(request, env);
    return new Response("not found", { status: 404 });
  },
};
