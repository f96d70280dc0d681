//! The JS side of a model stream (`js/pump.js`): a reader on it, the client's stream, and the per-chunk relay loop.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use worker::web_sys::ReadableStream;

// Everything from js/pump.js is reached through the `RelayPump` class (its static methods
// included): wasm-bindgen imports plain functions of a snippet straight into the module, once
// per function, which gave the bundle a duplicate key (esbuild's `Duplicate key` warning).
#[wasm_bindgen(module = "/js/pump.js")]
extern "C" {
    /// A `ReadableStreamDefaultReader` on a model's stream.
    pub type StreamReader;
    #[wasm_bindgen(static_method_of = RelayPump, js_name = openReader, catch)]
    fn open_reader(stream: &ReadableStream) -> Result<StreamReader, JsValue>;
    #[wasm_bindgen(static_method_of = RelayPump, js_name = readChunk)]
    fn read_chunk(reader: &StreamReader) -> Promise;
    #[wasm_bindgen(static_method_of = RelayPump, js_name = cancelReader)]
    fn cancel_reader(reader: &StreamReader);
    #[wasm_bindgen(static_method_of = RelayPump)]
    fn collect(reader: &StreamReader, fold: &Closure<Fold>, deadline_ms: f64) -> Promise;

    // Bytes go to JS as `Vec<u8>`: the glue copies them out of wasm memory (a `&[u8]` would
    // be a view that later writes overwrite).

    /// The client's stream of a streamed answer, and the relay loop (see `js/pump.js`).
    pub type RelayPump;
    #[wasm_bindgen(constructor)]
    pub fn new(
        feed: &Closure<Feed>,
        tick: &Closure<Tick>,
        keep_alive_ms: f64,
        high_water_mark: u32,
    ) -> RelayPump;
    #[wasm_bindgen(method, getter)]
    pub fn readable(this: &RelayPump) -> ReadableStream;
    #[wasm_bindgen(method, getter, js_name = clientGone)]
    pub fn client_gone(this: &RelayPump) -> bool;
    #[wasm_bindgen(method)]
    pub fn write(this: &RelayPump, bytes: Vec<u8>);
    #[wasm_bindgen(method)]
    pub fn finish(this: &RelayPump, bytes: Vec<u8>);
    #[wasm_bindgen(method)]
    fn run(this: &RelayPump, reader: &StreamReader, idle_ms: f64) -> Promise;
}

/// The relay's call into Rust per chunk: the chunk (`None` at the end), whether the client
/// left, and the time (ms); it returns the bytes for the client (empty for none yet), or
/// `None` to stop reading.
pub type Feed = dyn FnMut(Option<Vec<u8>>, bool, f64) -> Option<Vec<u8>>;

/// A whole answer's call into Rust per chunk (`RelayPump.collect`): the chunk (`None` at the
/// end) and the time (ms); it returns the read's deadline (ms), or a negative number to stop.
pub type Fold = dyn FnMut(Option<Vec<u8>>, f64) -> f64;

/// While a read waits: the time (ms) in, a keep-alive comment out when one is due.
pub type Tick = dyn FnMut(f64) -> Option<Vec<u8>>;

/// A model's byte stream, read chunk by chunk. Dropping it cancels the stream, unless it was
/// handed to a relay with `take`.
pub struct ModelBytes {
    reader: Option<StreamReader>,
}

/// One read of a model's byte stream.
pub enum Chunk {
    Bytes(Vec<u8>),
    End,
    /// The stream failed: the message of what it threw.
    Failed(JsValue),
}

impl ModelBytes {
    pub fn open(stream: &ReadableStream) -> Result<Self, JsValue> {
        Ok(Self {
            reader: Some(RelayPump::open_reader(stream)?),
        })
    }

    pub async fn next(&mut self) -> Chunk {
        let Some(reader) = &self.reader else {
            return Chunk::End;
        };
        match JsFuture::from(RelayPump::read_chunk(reader)).await {
            Ok(v) if v.is_undefined() => Chunk::End,
            Ok(v) => match v.dyn_into::<Uint8Array>() {
                Ok(bytes) => Chunk::Bytes(bytes.to_vec()),
                Err(_) => Chunk::Failed(JsValue::from_str(
                    "the stream sent a chunk that is not bytes",
                )),
            },
            Err(e) => Chunk::Failed(e),
        }
    }

    /// The reader, for a relay that reads the rest; this value no longer cancels it.
    pub fn take(&mut self) -> Option<StreamReader> {
        self.reader.take()
    }
}

impl Drop for ModelBytes {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            RelayPump::cancel_reader(&reader);
        }
    }
}

impl RelayPump {
    /// Reads `reader` to its end through `fold` (see `Fold`): `Ok(true)` when the deadline
    /// passed first, `Err` with what the model's stream threw.
    pub async fn read_whole(
        reader: &StreamReader,
        fold: &Closure<Fold>,
        deadline_ms: u64,
    ) -> Result<bool, JsValue> {
        JsFuture::from(Self::collect(reader, fold, deadline_ms as f64))
            .await
            .map(|v| v.is_truthy())
    }

    /// Relays `reader` to its end: `Ok(true)` when no chunk came for `idle_ms`, `Err` with
    /// what the model's stream threw.
    pub async fn relay(&self, reader: &StreamReader, idle_ms: f64) -> Result<bool, JsValue> {
        JsFuture::from(self.run(reader, idle_ms))
            .await
            .map(|v| v.is_truthy())
    }
}
