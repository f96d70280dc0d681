// The relay floor of the HTTP rows (bench/floor-worker.mjs routes POST /relay/v1/chat/completions here): plain JS that parses and re-encodes, the least a real relay does.
//
// It reads the client's body, calls `${UPSTREAM}/chat/completions` with the same messages (and
// `stream_options.include_usage`, as the gateway asks), and answers in OpenAI's format with
// its own id, created and model:
//   - JSON: parses the upstream's completion and writes its own `chat.completion`.
//   - SSE: one TransformStream reads the upstream's bytes with a streaming TextDecoder, splits
//     the events, JSON.parses each `data:` event and writes one `chat.completion.chunk` event
//     of its own per upstream event (role, content, finish_reason), batched per upstream chunk
//     into one encoded write; `data: [DONE]` at the end. The usage chunk is kept for the
//     client only when it asked for one.
// Idiomatic Workers code, not tuned against the gateway: one object and one JSON.stringify
// per event, no per-event buffers beyond the strings V8 makes anyway.

const encoder = new TextEncoder();

/** The SSE relay: upstream OpenAI chunks in, this worker's own chunks out. */
function relayEvents({ id, created, model, includeUsage }) {
  const decoder = new TextDecoder();
  let buffer = "";
  let done = false;
  const chunk = (choices, usage) => {
    const c = { id, object: "chat.completion.chunk", created, model, choices };
    if (usage) c.usage = usage;
    return `data: ${JSON.stringify(c)}\n\n`;
  };
  /** The events of `text` (complete events only) as this worker's SSE text. */
  const events = (text) => {
    let out = "";
    let start = 0;
    let end;
    while (!done && (end = text.indexOf("\n\n", start)) >= 0) {
      const event = text.slice(start, end);
      start = end + 2;
      // One `data:` line per event from an OpenAI-compatible server; other fields are ignored.
      let at = 5;
      if (!event.startsWith("data:")) {
        at = event.indexOf("\ndata:");
        if (at < 0) continue;
        at += 6;
      }
      const data = event.slice(at).trim();
      if (data === "[DONE]") {
        out += "data: [DONE]\n\n";
        done = true;
        break;
      }
      const up = JSON.parse(data);
      if (up.error) throw new Error(`upstream error: ${up.error.message ?? "unknown"}`);
      const choice = up.choices?.[0];
      if (choice) {
        const delta = {};
        if (choice.delta?.role) delta.role = choice.delta.role;
        if (typeof choice.delta?.content === "string") delta.content = choice.delta.content;
        out += chunk([{ index: 0, delta, finish_reason: choice.finish_reason ?? null }]);
      } else if (up.usage && includeUsage) {
        out += chunk([], up.usage);
      }
    }
    buffer = text.slice(start);
    return out;
  };
  return new TransformStream({
    transform(bytes, controller) {
      const out = events(buffer + decoder.decode(bytes, { stream: true }));
      if (out) controller.enqueue(encoder.encode(out));
    },
    flush(controller) {
      const out = events(`${buffer}${decoder.decode()}\n\n`);
      controller.enqueue(encoder.encode(done ? out : `${out}data: [DONE]\n\n`));
    },
  });
}

/** POST /relay/v1/chat/completions. */
export async function relay(request, env) {
  const body = await request.json();
  if (typeof body?.model !== "string" || !Array.isArray(body.messages)) {
    return Response.json({ error: { message: "model and messages are required", type: "invalid_request_error" } }, { status: 400 });
  }
  const stream = body.stream === true;
  const upstream = await fetch(`${env.UPSTREAM}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: body.model,
      messages: body.messages,
      ...(body.max_tokens === undefined ? {} : { max_tokens: body.max_tokens }),
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    }),
  });
  if (!upstream.ok) {
    return new Response(upstream.body, { status: upstream.status, headers: { "content-type": upstream.headers.get("content-type") ?? "application/json" } });
  }
  const id = `chatcmpl-${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  if (stream) {
    const includeUsage = body.stream_options?.include_usage === true;
    return new Response(upstream.body.pipeThrough(relayEvents({ id, created, model: body.model, includeUsage })), {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
    });
  }
  const up = await upstream.json();
  const choice = up.choices?.[0];
  return Response.json({
    id,
    object: "chat.completion",
    created,
    model: body.model,
    choices: [{ index: 0, message: { role: "assistant", content: choice?.message?.content ?? null }, finish_reason: choice?.finish_reason ?? null }],
    ...(up.usage ? { usage: up.usage } : {}),
  });
}
