//! Who may call: client authentication and rate limits (`auth`), and API key records (`keys`).

pub mod auth;
pub mod keys;
