//! What an OpenAI-compatible HTTP upstream is sent (the chat body, AI Gateway headers), and the
//! pure reading of its answers: error codes, model lists, `Retry-After`, and its stream decoder.

use serde_json::{json, Value};

use crate::call::{GatewayRoute, ModelCall};
use crate::provider_config::GatewayHeaders;

/// The `POST /chat/completions` body: the call's inputs with the upstream model id, usage
/// asked for on streams, and the output cap under the provider's field name.
pub fn chat_body(call: &ModelCall<'_>, upstream_model: &str, max_tokens_field: &str) -> Value {
    let mut body = call.inputs();
    body["model"] = upstream_model.into();
    if call.stream {
        body["stream_options"] = json!({ "include_usage": true });
    }
    if let Some(effort) = call.reasoning_effort {
        body["reasoning_effort"] = effort.into();
    }
    if max_tokens_field != "max_tokens" {
        if let Some(obj) = body.as_object_mut() {
            if let Some(v) = obj.remove("max_tokens") {
                obj.insert(max_tokens_field.to_string(), v);
            }
        }
    }
    body
}

/// Cloudflare AI Gateway request headers (`cf-aig-*`) for a call on `route`.
pub fn gateway_headers(cf: &GatewayHeaders, route: &GatewayRoute<'_>) -> Vec<(String, String)> {
    let mut h = vec![
        ("cf-aig-gateway-id".to_string(), cf.gateway_id.clone()),
        (
            "cf-aig-metadata".to_string(),
            Value::Object(route.metadata()).to_string(),
        ),
    ];
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            h.push((k.to_string(), v));
        }
    };
    push("cf-aig-cache-ttl", cf.cache_ttl.map(|v| v.to_string()));
    push("cf-aig-skip-cache", cf.skip_cache.map(|v| v.to_string()));
    push(
        "cf-aig-request-timeout",
        cf.request_timeout_ms.map(|v| v.to_string()),
    );
    push(
        "cf-aig-max-attempts",
        cf.max_attempts.map(|v| v.to_string()),
    );
    push("cf-aig-collect-log", cf.collect_log.map(|v| v.to_string()));
    h
}

/// The ids in a `GET /models` answer (`{data: [{id}]}`); `None` when it is not that shape.
pub fn model_ids(body: &[u8]) -> Option<Vec<String>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let data = v.get("data")?.as_array()?;
    Some(
        data.iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect(),
    )
}

/// The error code of an error answer's body, never its message (some upstreams quote the input
/// in their messages): a Workers AI code leading the message (`5007: ...`), else the error's
/// `code`, else its `type`, when it is a short identifier.
pub fn error_code(body: &str) -> Option<String> {
    let parsed: Value = serde_json::from_str(body).ok()?;
    let field = |p: &str| parsed.pointer(p).and_then(Value::as_str);
    let message = field("/error/message")
        .or_else(|| field("/errors/0/message"))
        .or_else(|| field("/error"));
    let workers_ai = message.and_then(|m| {
        let digits = m.bytes().take_while(u8::is_ascii_digit).count();
        (digits == 4 && m.as_bytes().get(4) == Some(&b':')).then(|| m[..4].to_string())
    });
    let identifier = |v: Option<&str>| {
        v.filter(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
        })
        .map(str::to_owned)
    };
    workers_ai
        .or_else(|| identifier(field("/error/code")))
        .or_else(|| identifier(field("/error/type")))
}

/// The decoder of an OpenAI-compatible upstream's stream: its `chat.completion.chunk`s are
/// read by the chunk reader Workers AI's newer models share (`wire::workers_ai`).
pub fn stream_decoder() -> super::workers_ai::StreamDecoder {
    super::workers_ai::StreamDecoder::new()
}

/// `Retry-After` in seconds (the delta form; an HTTP date is not parsed).
pub fn retry_after_secs(value: Option<&str>) -> Option<u64> {
    value?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Conversation, Message, Role};

    #[test]
    fn bodies_name_the_upstream_model_and_the_cap_field() {
        let mut c = Conversation {
            messages: vec![Message::text(Role::User, "hi")],
            stream: true,
            ..Default::default()
        };
        c.options.max_tokens = Some(50);
        let call = ModelCall::new("corp/gpt-5.1", &c, 256);
        let b = chat_body(&call, "gpt-5.1", "max_completion_tokens");
        assert_eq!(b["model"], "gpt-5.1");
        assert_eq!(b["max_completion_tokens"], 50);
        assert!(b.get("max_tokens").is_none());
        assert_eq!(b["stream_options"], json!({"include_usage": true}));
        c.options.reasoning_effort = Some("low".into());
        let b = chat_body(&ModelCall::new("corp/x", &c, 256), "x", "max_tokens");
        assert_eq!(b["reasoning_effort"], "low", "forwarded to HTTP providers");
        assert!(ModelCall::new("@cf/x", &c, 256)
            .inputs()
            .get("reasoning_effort")
            .is_none());
        c.options.reasoning_effort = None;
        c.stream = false;
        let b = chat_body(&ModelCall::new("corp/x", &c, 256), "x", "max_tokens");
        assert_eq!(
            (b["max_tokens"].as_u64(), b.get("stream_options")),
            (Some(50), None)
        );
    }

    #[test]
    fn gateway_headers_carry_metadata_and_options() {
        let cf = GatewayHeaders {
            gateway_id: "gw".into(),
            cache_ttl: Some(60),
            max_attempts: Some(2),
            ..Default::default()
        };
        let route = GatewayRoute {
            gateway_id: "ignored",
            tenant_id: "acme",
            trace_id: "t1",
            session_id: None,
            user: Some("u"),
            client: None,
            route: "/chat",
        };
        let h = gateway_headers(&cf, &route);
        let get = |k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("cf-aig-gateway-id"), Some("gw"));
        let meta: Value = serde_json::from_str(get("cf-aig-metadata").unwrap()).unwrap();
        assert_eq!(
            meta,
            json!({"tenantId":"acme","traceId":"t1","route":"/chat","user":"u"})
        );
        assert_eq!(
            (
                get("cf-aig-cache-ttl"),
                get("cf-aig-max-attempts"),
                get("cf-aig-skip-cache")
            ),
            (Some("60"), Some("2"), None)
        );
    }

    #[test]
    fn error_codes_never_carry_the_message() {
        let check = |body: &str, want: Option<&str>| {
            assert_eq!(error_code(body).as_deref(), want, "{body}")
        };
        check(
            r#"{"errors":[{"message":"5007: No such model"}]}"#,
            Some("5007"),
        );
        check(
            r#"{"error":{"message":"3040: busy","code":"x"}}"#,
            Some("3040"),
        );
        check(r#"{"error":"3006: too large"}"#, Some("3006"));
        check(
            r#"{"error":{"message":"You said: secret","code":"rate_limit_exceeded"}}"#,
            Some("rate_limit_exceeded"),
        );
        check(
            r#"{"error":{"message":"m","type":"invalid_request_error"}}"#,
            Some("invalid_request_error"),
        );
        check(
            r#"{"error":{"message":"m","code":"has spaces in it"}}"#,
            None,
        );
        check(r#"{"error":{"message":"m","code":""}}"#, None);
        check(
            &format!(r#"{{"error":{{"code":"{}"}}}}"#, "a".repeat(65)),
            None,
        );
        check(r#"{"error":{"message":"12345: five digits"}}"#, None);
        check("the prompt echoed", None);
    }

    #[test]
    fn model_lists_and_retry_after() {
        assert_eq!(
            model_ids(br#"{"object":"list","data":[{"id":"a"},{"id":"b"},{"x":1}]}"#),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(model_ids(b"[]"), None);
        assert_eq!(retry_after_secs(Some(" 7 ")), Some(7));
        assert_eq!(
            retry_after_secs(Some("Wed, 21 Oct 2026 07:28:00 GMT")),
            None
        );
    }
}
