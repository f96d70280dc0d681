//! The provider boundary: one model call (`ModelCall`) and how it is routed (`GatewayRoute`).
//!
//! `ModelCall` is provider-neutral: its `inputs()` is the body Workers AI takes, which is
//! also the body of an OpenAI-compatible `/chat/completions` call with `model` added.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::conversation::{Conversation, Message};

/// One call to one model. Unset options are left out, so the model's defaults apply.
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
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<&'a [Value]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<&'a Value>,
    /// Sent to HTTP providers only (`wire::openai_http::chat_body`).
    #[serde(skip)]
    pub reasoning_effort: Option<&'a str>,
}

impl<'a> ModelCall<'a> {
    /// The call for `model`, with the request's max tokens capped by the tenant's
    /// `max_output_tokens` (which is also the default).
    pub fn new(model: &'a str, c: &'a Conversation, max_output_tokens: u32) -> Self {
        let o = &c.options;
        Self {
            model,
            messages: &c.messages,
            stream: c.stream,
            max_tokens: c.output_cap(max_output_tokens),
            temperature: o.temperature,
            top_p: o.top_p,
            stop: &o.stop,
            seed: o.seed,
            frequency_penalty: o.frequency_penalty,
            presence_penalty: o.presence_penalty,
            tools: o.tools.as_deref(),
            tool_choice: o.tool_choice.as_ref(),
            parallel_tool_calls: o.parallel_tool_calls,
            response_format: o.response_format.as_ref(),
            reasoning_effort: o.reasoning_effort.as_deref(),
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
    /// The client's end-user id (OpenAI `user`).
    pub user: Option<&'a str>,
    /// The authenticated caller: `key:<id>` or `user:<sub>`.
    pub client: Option<&'a str>,
    pub route: &'a str,
}

/// AI Gateway accepts at most this many metadata entries.
pub const MAX_METADATA_ENTRIES: usize = 5;

impl GatewayRoute<'_> {
    /// `{ gateway: { id, metadata } }`, the options argument of `env.AI.run`.
    pub fn run_options(&self) -> Value {
        json!({ "gateway": { "id": self.gateway_id, "metadata": self.metadata() } })
    }

    /// The metadata AI Gateway logs with the call: `{tenantId, traceId, sessionId?, user?, route}`.
    pub fn metadata(&self) -> Map<String, Value> {
        let mut metadata = Map::new();
        metadata.insert("tenantId".into(), self.tenant_id.into());
        metadata.insert("traceId".into(), self.trace_id.into());
        metadata.insert("route".into(), self.route.into());
        // At most two of the optional entries fit in AI Gateway's five, in this order.
        let optional = [
            ("sessionId", self.session_id),
            ("client", self.client),
            ("user", self.user),
        ];
        for (k, v) in optional
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .take(2)
        {
            metadata.insert(k.into(), v.into());
        }
        debug_assert!(metadata.len() <= MAX_METADATA_ENTRIES);
        metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Message, Role};

    #[test]
    fn inputs_cap_max_tokens_and_skip_unset_fields() {
        let mut c = Conversation {
            messages: vec![Message::text(Role::User, "hi")],
            ..Default::default()
        };
        c.options.max_tokens = Some(5000);
        c.options.temperature = Some(0.5);
        assert_eq!(
            ModelCall::new("@cf/m", &c, 256).inputs(),
            json!({"messages":[{"role":"user","content":"hi"}],"stream":false,"max_tokens":256,"temperature":0.5})
        );
        c.options.max_tokens = Some(10);
        c.options.stop = vec!["END".into()];
        c.options.seed = Some(7);
        c.stream = true;
        let inputs = ModelCall::new("@cf/m", &c, 256).inputs();
        assert_eq!(inputs["max_tokens"], 10);
        assert_eq!(inputs["stop"], json!(["END"]));
        assert_eq!(inputs["seed"], 7);
        assert_eq!(inputs["stream"], true);
    }

    #[test]
    fn options_carry_gateway_and_metadata() {
        let r = GatewayRoute {
            gateway_id: "gw",
            tenant_id: "acme",
            trace_id: "t1",
            session_id: Some("s1"),
            user: Some("u1"),
            client: Some("key:k1"),
            route: "/chat",
        };
        assert_eq!(
            r.run_options(),
            json!({"gateway":{"id":"gw","metadata":{"tenantId":"acme","traceId":"t1","route":"/chat","sessionId":"s1","client":"key:k1"}}})
        );
        let r = GatewayRoute {
            session_id: None,
            user: None,
            client: None,
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
