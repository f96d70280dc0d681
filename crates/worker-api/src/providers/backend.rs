//! Which provider serves a model ref: the Workers AI binding or one of the tenant's HTTP providers.

use gateway::attempt::AttemptFailure;
use gateway::call::{GatewayRoute, ModelCall};
use gateway::provider_config::ModelRef;
use gateway::tenant::TenantConfig;
use worker::Env;

use crate::providers::http::HttpProvider;
use crate::providers::workers_ai::{WorkersAi, AI_BINDING};
use crate::providers::{ChatProvider, ModelOutput};

/// The provider for one attempt.
pub enum Backend<'a> {
    Binding(WorkersAi),
    Http(HttpProvider<'a>),
}

impl<'a> Backend<'a> {
    /// The backend of `model`; `None` when it is the binding and the binding is missing.
    pub fn for_model(model: &str, tenant: &'a TenantConfig, env: &'a Env) -> Option<Self> {
        match ModelRef::parse(model, &tenant.providers) {
            ModelRef::Binding(_) => WorkersAi::from_env(env, AI_BINDING)
                .ok()
                .map(Backend::Binding),
            ModelRef::Provider { provider, .. } => tenant
                .providers
                .get(provider)
                .map(|cfg| Backend::Http(HttpProvider { cfg, env })),
        }
    }

    /// Whether the provider is trusted to stop at `max_tokens`, so a whole answer may be one
    /// non-streamed call (`trustMaxTokens`, `limits.trustWorkersAiMaxTokens`).
    pub fn trusts_max_tokens(&self, tenant: &TenantConfig) -> bool {
        match self {
            Self::Binding(_) => tenant.trust_workers_ai_max_tokens,
            Self::Http(h) => h.cfg.trust_max_tokens,
        }
    }

    /// The provider's own per-attempt timeout, if it has one.
    pub fn timeout_ms(&self) -> Option<u32> {
        match self {
            Self::Binding(_) => None,
            Self::Http(h) => h.cfg.timeout_ms,
        }
    }
}

impl ChatProvider for Backend<'_> {
    async fn run(
        &self,
        call: &ModelCall<'_>,
        route: &GatewayRoute<'_>,
    ) -> Result<ModelOutput, AttemptFailure> {
        match self {
            Self::Binding(b) => b.run(call, route).await,
            Self::Http(h) => h.run(call, route).await,
        }
    }
}
