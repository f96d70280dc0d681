//! Routing: method and path to handler, CORS, the trace id, errors to responses, one log line.

use gateway::trace::accept_trace_id;
use worker::{Context, Env, Method, Request, Response};

use crate::clock::now_ms;
use crate::config::{self, Settings};
use crate::error::ApiError;
use crate::exchange::Exchange;
use crate::http;
use crate::routes;

/// Serves one request. Never fails: every error becomes a JSON response here.
pub async fn serve(req: Request, env: Env, ctx: Context) -> Response {
    let started_ms = now_ms();
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let trace_id = accept_trace_id(header("x-trace-id").as_deref())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let origin = header("origin");
    let path = req.path();
    let method = req.method();

    let mut ex = Exchange {
        trace_id,
        started_ms,
        log: Default::default(),
        log_in_background: false,
    };
    ex.log.trace_id.clone_from(&ex.trace_id);
    ex.log.method = method.to_string();
    ex.log.route = path.clone();

    let settings = config::settings(&env);
    let granted = match (&settings, &origin) {
        (Ok(s), Some(o)) if s.tenant.allows_origin(o) => Some(o.clone()),
        _ => None,
    };
    let result = match &settings {
        Ok(s) => {
            ex.log.tenant_id = s.tenant.tenant_id.to_string();
            route(
                req,
                &env,
                &ctx,
                s,
                &mut ex,
                origin.as_deref(),
                granted.is_some(),
            )
            .await
        }
        Err(e) => Err(ApiError::Config(e.clone())),
    };
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            ex.log.error_code = Some(e.status_and_code().1.to_string());
            ex.log.error_detail = e.log_detail();
            http::error(&e, &ex.trace_id)
        }
    };
    http::finish(&mut resp, &ex.trace_id, granted.as_deref());
    if !ex.log_in_background {
        ex.log.status = resp.status_code();
        ex.log.latency_ms = now_ms().saturating_sub(started_ms);
        worker::console_log!("{}", ex.log.to_line());
    }
    resp
}

async fn route(
    req: Request,
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    ex: &mut Exchange,
    origin: Option<&str>,
    origin_granted: bool,
) -> Result<Response, ApiError> {
    let path = req.path();
    let method = req.method();
    let not_allowed = |allow: &'static str| ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: path.clone(),
        allow,
    };
    let preflight = |allow: &'static str| match origin {
        Some(o) if !origin_granted => Err(ApiError::OriginNotAllowed {
            origin: o.to_string(),
        }),
        _ => Ok(http::preflight(allow)?),
    };
    match path.as_str() {
        "/health" => match method {
            Method::Get | Method::Head => routes::health::handle(settings),
            Method::Options => preflight("GET, HEAD, OPTIONS"),
            _ => Err(not_allowed("GET, HEAD, OPTIONS")),
        },
        "/chat" => match method {
            Method::Post => routes::chat::handle(req, env, ctx, settings, ex).await,
            Method::Options => preflight("POST, OPTIONS"),
            _ => Err(not_allowed("POST, OPTIONS")),
        },
        _ => Err(ApiError::NotFound { path: path.clone() }),
    }
}
