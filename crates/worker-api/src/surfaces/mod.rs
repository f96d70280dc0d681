//! The client-facing surfaces: each parses its requests with its `gateway::surface` parser,
//! answers through the engine with its encoder, and owns its error format.

pub mod anthropic;
pub mod chat;
pub mod embeddings;
pub mod openai;
pub mod responses;
pub mod ui;
