//! Route handlers: small free functions, one module per surface.

pub mod admin;
pub mod chat;
pub mod health;
pub mod openai;
pub mod sessions;
