//! Wire formats, one module per provider format: bytes or JSON in, `ModelEvent`s out, and
//! what each provider is sent.

pub mod openai_http;
pub mod workers_ai;
