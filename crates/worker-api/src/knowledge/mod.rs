//! The worker side of knowledge bases: bindings (D1, Vectorize, the queue), the admin
//! document API, ingestion in the queue consumer, retrieval for grounded answers, and what
//! `/health` finds of a tenant's knowledge bindings.

pub mod admin;
pub mod d1;
pub mod health;
pub mod ingest;
pub mod queue;
pub mod retrieve;
pub mod steps;
pub mod store;
pub mod vectorize;
