//! `HttpProvider`: an OpenAI-compatible upstream (or Cloudflare AI Gateway's REST API) called
//! with `fetch`, authenticated with a bearer key or OAuth2 client credentials.

use gateway::attempt::AttemptFailure;
use gateway::call::{GatewayRoute, ModelCall};
use gateway::provider_config::{ProviderAuth, ProviderConfig, SecretRef};
use gateway::wire::openai_http::{
    chat_body, error_code, gateway_headers, model_ids, retry_after_secs, stream_decoder,
};
use wasm_bindgen::JsValue;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit, Response, ResponseBody};

use crate::engine::pump::ModelBytes;
use crate::http;
use crate::providers::token::{self, access_token, TokenRequest};
use crate::providers::workers_ai::whole_answer_text;
use crate::providers::{ChatProvider, ModelOutput};

/// One HTTP provider of the tenant, with the worker's env for its secrets.
pub struct HttpProvider<'a> {
    pub cfg: &'a ProviderConfig,
    pub env: &'a Env,
}

/// Why a provider call could not even be answered.
pub enum SendError {
    /// Credentials could not be had (token endpoint, missing secret) or were refused.
    Auth(String),
    /// No HTTP answer (DNS, connection, TLS).
    Network(String),
}

impl From<SendError> for AttemptFailure {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Auth(d) => AttemptFailure::auth(&d),
            SendError::Network(d) => AttemptFailure::network(&d),
        }
    }
}

fn secret(env: &Env, name: &SecretRef) -> Result<String, SendError> {
    env.var(&name.0)
        .map(|v| v.to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            SendError::Auth(format!(
                "the secret `{}` is not set (wrangler secret put {})",
                name.0, name.0
            ))
        })
}

impl HttpProvider<'_> {
    fn token_request(&self) -> Result<Option<TokenRequest>, SendError> {
        Ok(match &self.cfg.auth {
            ProviderAuth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
                audience,
                basic,
            } => Some(TokenRequest {
                provider: self.cfg.name.clone(),
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: secret(self.env, client_secret)?,
                scope: scope.clone(),
                audience: audience.clone(),
                basic: *basic,
            }),
            _ => None,
        })
    }

    /// The `authorization` value to send, and the OAuth2 token in it (to invalidate on 401).
    async fn authorization(&self) -> Result<(Option<String>, Option<String>), SendError> {
        match &self.cfg.auth {
            ProviderAuth::None => Ok((None, None)),
            ProviderAuth::Bearer { key } => {
                Ok((Some(format!("Bearer {}", secret(self.env, key)?)), None))
            }
            ProviderAuth::OAuth2 { .. } => {
                let req = self
                    .token_request()?
                    .ok_or_else(|| SendError::Auth("no token request".into()))?;
                let tok = access_token(&req).await.map_err(SendError::Auth)?;
                Ok((Some(format!("Bearer {tok}")), Some(tok)))
            }
        }
    }

    /// Sends `{base}{path}` (POST with `body`, else GET). An OAuth2 token the upstream
    /// refuses (401) is replaced once and the request retried once.
    pub async fn send(
        &self,
        path: &str,
        body: Option<&str>,
        route: Option<&GatewayRoute<'_>>,
    ) -> Result<Response, SendError> {
        for attempt in 0..2 {
            let (authorization, oauth_token) = self.authorization().await?;
            let headers = Headers::new();
            let set = |k: &str, v: &str| {
                headers
                    .set(k, v)
                    .map_err(|_| SendError::Network(format!("bad header `{k}`")))
            };
            set(
                "accept",
                if body.is_some() {
                    "application/json, text/event-stream"
                } else {
                    "application/json"
                },
            )?;
            if body.is_some() {
                set("content-type", "application/json")?;
            }
            for (k, v) in &self.cfg.headers {
                set(k, v)?;
            }
            if let Some(a) = &authorization {
                set("authorization", a)?;
            }
            if let Some(r) = route {
                set("x-trace-id", r.trace_id)?;
            }
            if let (Some(cf), Some(r)) = (&self.cfg.cloudflare, route) {
                for (k, v) in gateway_headers(cf, r) {
                    set(&k, &v)?;
                }
                if let Some(t) = &cf.gateway_token {
                    set(
                        "cf-aig-authorization",
                        &format!("Bearer {}", secret(self.env, t)?),
                    )?;
                }
            }
            let mut init = RequestInit::new();
            init.with_method(if body.is_some() {
                Method::Post
            } else {
                Method::Get
            })
            .with_headers(headers);
            if let Some(b) = body {
                init.with_body(Some(JsValue::from_str(b)));
            }
            let url = format!("{}{path}", self.cfg.base_url);
            let request = Request::new_with_init(&url, &init)
                .map_err(|_| SendError::Network("invalid URL".into()))?;
            let resp = Fetch::Request(request)
                .send()
                .await
                .map_err(|_| SendError::Network(format!("`{}` is unreachable", self.cfg.name)))?;
            if resp.status_code() == 401 {
                match oauth_token {
                    Some(tok) if attempt == 0 => {
                        token::invalidate(&self.cfg.name, &tok);
                        continue;
                    }
                    _ => {
                        return Err(SendError::Auth(format!(
                            "`{}` refused the gateway's credentials (HTTP 401)",
                            self.cfg.name
                        )))
                    }
                }
            }
            return Ok(resp);
        }
        Err(SendError::Auth(format!(
            "`{}` refused a fresh token (HTTP 401)",
            self.cfg.name
        )))
    }

    /// The provider's model ids, from `GET {base}/models`.
    pub async fn list_models(&self) -> Result<Vec<String>, SendError> {
        let resp = self.send("/models", None, None).await?;
        let status = resp.status_code();
        if status == 403 {
            return Err(SendError::Auth(format!(
                "`{}` refused the model list (HTTP 403)",
                self.cfg.name
            )));
        }
        if !(200..300).contains(&status) {
            return Err(SendError::Network(format!(
                "model list answered HTTP {status}"
            )));
        }
        let text = http::body_text(&resp)
            .await
            .map_err(|_| SendError::Network("model list unreadable".into()))?;
        model_ids(text.as_bytes())
            .ok_or_else(|| SendError::Network("model list is not {data:[{id}]}".into()))
    }

    /// Fetches a token now, bypassing the cache (for the deep health check).
    pub async fn check_token(&self) -> Result<(), SendError> {
        if self.token_request()?.is_some() {
            token::forget(&self.cfg.name);
        }
        self.authorization().await.map(|_| ())
    }
}

impl ChatProvider for HttpProvider<'_> {
    async fn run(
        &self,
        call: &ModelCall<'_>,
        route: &GatewayRoute<'_>,
    ) -> Result<ModelOutput, AttemptFailure> {
        let upstream_model = call.model.split_once('/').map_or(call.model, |(_, m)| m);
        let body = chat_body(call, upstream_model, &self.cfg.max_tokens_field).to_string();
        let resp = self
            .send("/chat/completions", Some(&body), Some(route))
            .await?;
        let status = resp.status_code();
        if !(200..300).contains(&status) {
            let retry =
                retry_after_secs(resp.headers().get("retry-after").ok().flatten().as_deref());
            let text = http::body_text(&resp).await.unwrap_or_default();
            return Err(AttemptFailure::http(status, error_code(&text), retry));
        }
        if call.stream {
            let unreadable = || AttemptFailure::network("the stream could not be read");
            return match resp.body() {
                ResponseBody::Stream(body) => ModelBytes::open(body)
                    .map(|bytes| ModelOutput::stream(bytes, Box::new(stream_decoder())))
                    .map_err(|_| unreadable()),
                _ => Err(unreadable()),
            };
        }
        let text = http::body_text(&resp)
            .await
            .map_err(|_| AttemptFailure::network("the answer could not be read"))?;
        whole_answer_text(&text)
    }
}
