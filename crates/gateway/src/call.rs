//! The provider boundary: one model call (`ModelCall`) and how it is routed (`GatewayRoute`).
//!
//! `ModelCall` is provider-neutral: its `inputs()` is the body Workers AI takes, which is
//! also the body of an OpenAI-compatible `/chat/completions` call with `model` added, so a
//! second provider can reuse it unchanged.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::chat::{ChatRequest, Message};

/// One call to one model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCall<'a> {
    #[serde(skip)]
    pub model: &'a str,
    pub messages: &'a [Message],
    pub stream: bool,
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<&'a [Value]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<&'a Value>,
}

impl<'a> ModelCall<'a> {
    /// The call for `model`, with the request's `maxTokens` capped by the tenant's
    /// `max_output_tokens` (which is also the default).
    pub fn new(model: &'a str, request: &'a ChatRequest, max_output_tokens: u32) -> Self {
        Self {
            model,
            messages: &request.messages,
            stream: request.stream,
            max_tokens: request.output_cap(max_output_tokens),
            temperature: request.temperature,
            tools: request.tools.as_deref(),
            response_format: request.response_format.as_ref(),
        }
    }

    /// The inputs object for `env.AI.run(model, inputs, options)`.
    pub fn inputs(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The AI Gateway a call goes through and the metadata it is logged with.
#[derive(Debug, Clone)]
pub struct GatewayRoute<'a> {
    pub gateway_id: &'a str,
    pub tenant_id: &'a str,
    pub trace_id: &'a str,
    pub session_id: Option<&'a str>,
    pub route: &'a str,
}

/// AI Gateway accepts at most this many metadata entries.
pub const MAX_METADATA_ENTRIES: usize = 5;

impl GatewayRoute<'_> {
    /// `{ gateway: { id, metadata } }`, the options argument of `env.AI.run`.
    pub fn run_options(&self) -> Value {
        let mut metadata = Map::new();
        metadata.insert("tenantId".into(), self.tenant_id.into());
        metadata.insert("traceId".into(), self.trace_id.into());
        if let Some(s) = self.session_id {
            metadata.insert("sessionId".into(), s.into());
        }
        metadata.insert("route".into(), self.route.into());
        debug_assert!(metadata.len() <= MAX_METADATA_ENTRIES);
        json!({ "gateway": { "id": self.gateway_id, "metadata": metadata } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_cap_max_tokens_and_skip_unset_fields() {
        let req = ChatRequest::from_json(br#"{"message":"hi","maxTokens":5000,"temperature":0.5}"#)
            .unwrap();
        let call = ModelCall::new("@cf/m", &req, 256);
        assert_eq!(
            call.inputs(),
            json!({"messages":[{"role":"user","content":"hi"}],"stream":false,"max_tokens":256,"temperature":0.5})
        );
        let req =
            ChatRequest::from_json(br#"{"message":"hi","maxTokens":10,"stream":true}"#).unwrap();
        assert_eq!(
            ModelCall::new("@cf/m", &req, 256).inputs()["max_tokens"],
            10
        );
    }

    #[test]
    fn options_carry_gateway_and_metadata() {
        let r = GatewayRoute {
            gateway_id: "gw",
            tenant_id: "acme",
            trace_id: "t1",
            session_id: Some("s1"),
            route: "/chat",
        };
        assert_eq!(
            r.run_options(),
            json!({"gateway":{"id":"gw","metadata":{"tenantId":"acme","traceId":"t1","sessionId":"s1","route":"/chat"}}})
        );
        let r = GatewayRoute {
            session_id: None,
            ..r
        };
        assert_eq!(
            r.run_options()["gateway"]["metadata"]
                .as_object()
                .map(Map::len),
            Some(3)
        );
    }
}
