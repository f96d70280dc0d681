//! Pure knowledge-base logic for grounded answers: no I/O, no clock, no randomness.
//! A document becomes clean text ([`text`]), then heading-aware chunks ([`chunk`]) stored
//! as one vector per audience group under index-wide ids ([`ids`], [`audience`]); at
//! question time vector and keyword hits are fused into numbered sources ([`rank`]) for the
//! model's grounding block, whose `[n]` citations are parsed back ([`prompt`]). The shell
//! (D1, Vectorize, Queues, the AI binding) lives in `worker-api`.

pub mod audience;
pub mod chunk;
pub mod error;
pub mod filter;
mod html;
pub mod ids;
pub mod ingest;
mod markdown;
pub mod prompt;
pub mod rank;
pub mod store;
pub mod text;
pub mod upload;

pub use audience::{Audience, Placement, Viewer};
pub use chunk::{estimate_tokens, Chunk, ChunkSpec};
pub use error::KnowledgeError;
pub use ids::{DocId, GroupName, KbName, VectorScope};
pub use rank::{ChunkRef, FuseSpec, Fused, Source, StoredChunk, VectorHit};
pub use text::Extracted;
