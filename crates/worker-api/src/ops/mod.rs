//! Operator routes: the admin API (keys, usage) and health.

pub mod admin;
pub mod health;
