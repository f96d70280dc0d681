//! Wire formats, one module per provider format: bytes or JSON in, `ModelEvent`s out, and
//! what each provider is sent. A provider's output carries its own `Decode`r.

pub mod openai_http;
pub mod workers_ai;

use crate::events::ModelEvent;
use crate::sse::DecodeError;

/// A provider's stream decoder: the bytes of its answer in, normalized events out.
pub trait Decode {
    /// Decodes the complete events in `bytes` into `out`.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<ModelEvent>) -> Result<(), DecodeError>;
    /// Ends the stream; one that ended before its end marker is `Truncated`.
    fn finish(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), DecodeError>;
    /// Whether the stream's end marker has been seen.
    fn is_done(&self) -> bool;
}

impl Decode for workers_ai::StreamDecoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<ModelEvent>) -> Result<(), DecodeError> {
        workers_ai::StreamDecoder::feed(self, bytes, out)
    }

    fn finish(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), DecodeError> {
        workers_ai::StreamDecoder::finish(self, out)
    }

    fn is_done(&self) -> bool {
        workers_ai::StreamDecoder::is_done(self)
    }
}
