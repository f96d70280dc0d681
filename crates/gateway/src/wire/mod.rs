//! Wire decoders, one module per provider format: bytes or JSON in, `ModelEvent`s out.

pub mod workers_ai;
