//! Route handlers: small free functions, one module per surface.

pub mod chat;
pub mod health;
pub mod openai;
