//! Pure chat-gateway logic: no I/O, no clock, no `worker` or `wasm-bindgen`; runs under plain `cargo test`.

pub mod call;
pub mod chat;
pub mod completion;
pub mod error;
pub mod events;
pub mod fallback;
pub mod log;
pub mod model;
pub mod sse;
pub mod tenant;
pub mod trace;
pub mod usage;

pub use error::{ConfigError, Error};
