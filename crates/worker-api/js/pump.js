// The per-chunk loop of a committed stream, in JS (issue 13). Reading the model's stream,
// calling Rust's `feed` once per chunk and enqueueing what it returns costs one read promise,
// one wasm call and one enqueue per chunk. The same loop in Rust paid for a future, a waker,
// a microtask and closures on the read side and again on the write side of every chunk.
// Everything that decides (decoding, the output cap, encoding, failures, keep-alives, the books)
// stays in Rust (gateway::relay); this file only moves bytes, keeps the timers and passes the
// time in.

function ignore() {}

function chunkValue(r) {
  return r.done ? undefined : r.value;
}

/** Stops a model's stream (the output cap, a failed attempt, an abandoned answer). */
function cancelReader(reader) {
  reader.cancel().catch(ignore);
}

/**
 * The client's stream of a streamed answer. Before the model commits, Rust writes to it
 * directly (keep-alives while a slow model starts); `run(reader)` then relays the model's
 * stream at the client's pace: at most `highWaterMark` chunks wait for the client.
 * `feed(chunk, clientGone, nowMs)` is Rust: it takes a Uint8Array (or undefined at the end) and
 * returns the bytes for the client (a Uint8Array, empty for nothing yet), or undefined to stop
 * reading. `tick(nowMs)` is Rust too: while a read waits, it is asked every `keepAliveMs`
 * whether the client is due a keep-alive (bytes or undefined). When the client goes away the
 * model is still read to its end, so its usage is counted.
 */
export class RelayPump {
  /** A reader on a model's stream (binding or HTTP). */
  static openReader(stream) {
    return stream.getReader();
  }

  /** The next chunk of `reader`: a Uint8Array, or undefined at the end. */
  static readChunk(reader) {
    return reader.read().then(chunkValue);
  }

  static cancelReader(reader) {
    cancelReader(reader);
  }

  /**
   * Reads a whole answer's stream to its end (issue 22): one read and one call into Rust per
   * chunk, without a Rust future, a waker and a timer race per chunk. `fold(chunk, nowMs)` is
   * Rust: it takes a Uint8Array (or undefined at the end) and returns the read's deadline
   * (ms since the epoch; it moves on once the model has output), or a negative number to stop
   * reading. Resolves to whether the deadline passed first; rejects with the read error of a
   * failed stream. A stream it did not read to its end is cancelled (the provider stops).
   */
  static async collect(reader, fold, deadlineMs) {
    let deadline = deadlineMs;
    let timedOut = false;
    let ended = false;
    let timer;
    const arm = () => {
      timer = setTimeout(() => {
        if (Date.now() >= deadline) {
          timedOut = true;
          cancelReader(reader);
        } else {
          arm();
        }
      }, Math.max(0, deadline - Date.now()));
    };
    arm();
    try {
      for (;;) {
        let r;
        try {
          r = await reader.read();
        } catch (e) {
          if (timedOut) return true;
          throw e;
        }
        if (timedOut) return true;
        ended = r.done;
        if (!r.done && !(r.value instanceof Uint8Array)) {
          throw new TypeError("the model's stream sent a chunk that is not bytes");
        }
        const next = fold(chunkValue(r), Date.now());
        if (next < 0 || r.done) return false;
        deadline = next;
      }
    } finally {
      clearTimeout(timer);
      if (!ended) cancelReader(reader);
    }
  }

  constructor(feed, tick, keepAliveMs, highWaterMark) {
    this.reader = undefined;
    this.feed = feed;
    this.tick = tick;
    this.idleMs = 0;
    this.keepAliveMs = keepAliveMs;
    this.gone = false;
    this.reading = false;
    this.timedOut = false;
    this.readStartedAt = 0;
    this.timer = undefined;
    this.wake = undefined;
    this.controller = undefined;
    this.readable = new ReadableStream(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => this.resume(),
        cancel: () => {
          this.gone = true;
          this.resume();
        },
      },
      new CountQueuingStrategy({ highWaterMark }),
    );
  }

  get clientGone() {
    return this.gone;
  }

  resume() {
    const wake = this.wake;
    if (wake !== undefined) {
      this.wake = undefined;
      wake();
    }
  }

  /** Queues bytes for the client unless it left. */
  write(bytes) {
    if (!this.gone && bytes.length > 0) this.controller.enqueue(bytes);
  }

  /** Writes the last bytes and ends the client's stream. */
  finish(bytes) {
    if (this.gone) return;
    if (bytes.length > 0) this.controller.enqueue(bytes);
    this.controller.close();
  }

  /**
   * Relays `reader` until the model's stream ends, `feed` says stop, or no chunk arrives for
   * `idleMs` while one is awaited (time spent waiting for the client does not count). Resolves
   * to whether the idle timer ended it; rejects with the read error of a failed stream.
   */
  async run(reader, idleMs) {
    this.reader = reader;
    this.idleMs = idleMs;
    this.arm();
    let ended = false;
    try {
      for (;;) {
        if (!this.gone && this.controller.desiredSize <= 0) {
          await new Promise((r) => {
            this.wake = r;
          });
          continue;
        }
        this.reading = true;
        this.readStartedAt = Date.now();
        let r;
        try {
          r = await reader.read();
        } catch (e) {
          // A native stream (an HTTP body) rejects the read that the idle timer cancelled.
          if (this.timedOut) return true;
          throw e;
        } finally {
          this.reading = false;
        }
        if (this.timedOut) return true;
        ended = r.done;
        if (!r.done && !(r.value instanceof Uint8Array)) {
          throw new TypeError("the model's stream sent a chunk that is not bytes");
        }
        const out = this.feed(chunkValue(r), this.gone, Date.now());
        if (out === undefined || r.done) return false;
        if (out.length > 0 && !this.gone) this.controller.enqueue(out);
      }
    } finally {
      clearTimeout(this.timer);
      if (!ended) cancelReader(reader);
    }
  }

  /**
   * One timer however fast chunks arrive: it wakes at the idle deadline of the read under way
   * or at the next keep-alive check, whichever is sooner, and re-arms for what is left.
   */
  arm(ms = this.idleMs) {
    const step = this.keepAliveMs > 0 ? Math.min(ms, this.keepAliveMs) : ms;
    this.timer = setTimeout(() => {
      const now = Date.now();
      const idle = now - this.readStartedAt;
      if (this.reading && idle >= this.idleMs) {
        this.timedOut = true;
        cancelReader(this.reader);
        return;
      }
      if (this.reading && !this.gone && this.keepAliveMs > 0) {
        const comment = this.tick(now);
        if (comment !== undefined && comment.length > 0) this.controller.enqueue(comment);
      }
      this.arm(this.reading ? this.idleMs - idle : this.idleMs);
    }, step);
  }
}
