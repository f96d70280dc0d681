//! Operator routes: the admin API (keys, usage, usage history) and health.

pub mod admin;
pub mod health;
pub mod history;
