//! Pure chat-gateway logic: no I/O, no clock, no `worker` or `wasm-bindgen`; runs under plain `cargo test`.

pub mod access;
pub mod analytics;
pub mod answer;
pub mod attempt;
pub mod budgets;
pub mod call;
pub mod conversation;
pub mod credential;
pub mod error;
pub mod events;
pub mod history;
pub mod history_query;
pub mod json;
pub mod key_spec;
pub mod log;
pub mod model;
pub mod oauth;
pub mod percent;
pub mod pricing;
pub mod problem;
pub mod provider_config;
pub mod relay;
pub mod route;
pub mod secret;
pub mod session;
pub mod sse;
pub mod surface;
pub mod tenant;
mod tenant_budget;
mod tenant_raw;
pub mod trace;
pub mod turn;
pub mod usage;
pub mod wire;

pub use error::{ConfigError, Error};
