//! The provider boundary: what every model backend (Workers AI today) must offer the chat route.

use gateway::call::{GatewayRoute, ModelCall};
use gateway::fallback::AttemptFailure;
use serde_json::Value;
use worker::ByteStream;

/// What a model call returned: a whole answer, or a stream of SSE bytes still arriving.
pub enum ModelOutput {
    Json(Value),
    Stream(ByteStream),
}

/// A model backend. Each call is one attempt; timeouts and fallback are the caller's.
#[allow(async_fn_in_trait)] // Workers are single-threaded: futures need not be Send.
pub trait ChatProvider {
    async fn run(
        &self,
        call: &ModelCall<'_>,
        route: &GatewayRoute<'_>,
    ) -> Result<ModelOutput, AttemptFailure>;
}
