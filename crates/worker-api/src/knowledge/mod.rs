//! The worker side of knowledge bases: the Vectorize binding and what `/health` finds of a
//! tenant's knowledge bindings.

pub mod health;
pub mod vectorize;
