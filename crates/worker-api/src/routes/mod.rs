//! Route handlers: small free functions, one module per route.

pub mod chat;
pub mod health;
