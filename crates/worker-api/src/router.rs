//! Routing: method and path to handler, CORS, the trace id, errors to responses, one log line.

use gateway::route::{capture, log_name};
use gateway::trace::accept_trace_id;
use worker::{Context, Env, Response};

use crate::auth;
use crate::clock::now_ms;
use crate::config::{self, Settings};
use crate::error::ApiError;
use crate::exchange::Exchange;
use crate::http::{self, ErrorStyle};
use crate::incoming::Request;
use crate::routes;

/// Serves one request. Never fails: every error becomes a JSON response here.
pub async fn serve(req: Request, env: Env, ctx: Context) -> Response {
    let started_ms = now_ms();
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let trace_id = accept_trace_id(header("x-trace-id").as_deref())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let origin = header("origin");
    let path = req.path();
    // The raw method: the runtime binding maps methods it does not know to GET.
    let method = req.inner().method().to_ascii_uppercase();
    let signal = req.inner().signal();
    let style = if path.starts_with("/v1/") {
        ErrorStyle::OpenAi
    } else {
        ErrorStyle::Native
    };

    let mut ex = Exchange {
        client_signal: signal,
        trace_id,
        started_ms,
        log: Default::default(),
        log_in_background: false,
        principal: None,
        rate: None,
    };
    ex.log.trace_id.clone_from(&ex.trace_id);
    ex.log.method.clone_from(&method);
    let matched = ROUTES
        .iter()
        .find_map(|p| capture(p, &path).map(|params| (*p, params)));
    ex.log.route = log_name(matched.as_ref().map(|(p, _)| *p), &path);

    let settings = config::settings(&env);
    let granted = match (&settings, &origin) {
        (Ok(s), Some(o)) if s.tenant.allows_origin(o) => Some(o.clone()),
        _ => None,
    };
    // A credential in the URL ends up in logs and caches: refused on every route.
    let in_query = gateway::secret::credential_param(req.url());
    let result = match &settings {
        Ok(s) if in_query.is_some() => {
            ex.log.tenant_id = s.tenant.tenant_id.to_string();
            Err(ApiError::CredentialsInQuery {
                param: in_query.unwrap_or_default(),
            })
        }
        Ok(s) => {
            ex.log.tenant_id = s.tenant.tenant_id.to_string();
            let cors = Cors {
                origin: origin.as_deref(),
                granted: granted.is_some(),
                requested_headers: header("access-control-request-headers"),
            };
            match matched {
                Some((pattern, params)) => {
                    let to = Target { pattern, params };
                    route(req, &method, &env, &ctx, s, &mut ex, &cors, to).await
                }
                None => Err(ApiError::NotFound { path: path.clone() }),
            }
        }
        Err(e) if path == "/health" && matches!(method.as_str(), "GET" | "HEAD") => {
            routes::health::unready(e)
        }
        Err(e) => Err(ApiError::Config(e.clone())),
    };
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            ex.log.error_code = Some(e.status_and_code().1.to_string());
            ex.log.error_detail = e.log_detail();
            http::error(&e, &ex.trace_id, style)
        }
    };
    let credentials = settings.as_ref().is_ok_and(|s| s.tenant.allow_credentials);
    http::finish(&mut resp, &ex.trace_id, granted.as_deref(), credentials);
    if let Some((limit, left)) = ex.rate {
        let h = resp.headers_mut();
        let _ = h.set("x-ratelimit-limit", &limit.to_string());
        let _ = h.set("x-ratelimit-remaining", &left.to_string());
    }
    if !ex.log_in_background {
        ex.log.status = match ex.log.error_code.as_deref() {
            Some("client_closed") => 499,
            _ => resp.status_code(),
        };
        ex.log.latency_ms = now_ms().saturating_sub(started_ms);
        ex.log.client_disconnected = ex.client_signal.aborted();
        worker::console_log!("{}", ex.log.to_line());
    }
    resp
}

/// What CORS needs to know about a request.
struct Cors<'a> {
    origin: Option<&'a str>,
    granted: bool,
    requested_headers: Option<String>,
}

/// Every route's pattern (`gateway::route`); the log names requests by these.
const ROUTES: &[&str] = &[
    "/health",
    "/health/providers",
    "/admin/keys",
    "/admin/keys/{id}",
    "/admin/keys/{id}/rotate",
    "/admin/usage",
    "/chat",
    "/sessions",
    "/sessions/{id}",
    "/v1/chat/completions",
    "/v1/models",
    "/v1/models/{id*}",
];

/// The route a request matched and its path parameters.
struct Target<'a> {
    pattern: &'static str,
    params: Vec<&'a str>,
}

#[allow(clippy::too_many_arguments)]
async fn route(
    req: Request,
    method: &str,
    env: &Env,
    ctx: &Context,
    settings: &Settings,
    ex: &mut Exchange,
    cors: &Cors<'_>,
    to: Target<'_>,
) -> Result<Response, ApiError> {
    let path = req.path();
    let not_allowed = |allow: &'static str| ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: path.clone(),
        allow,
    };
    let preflight = |allow: &'static str| match cors.origin {
        Some(o) if !cors.granted => Err(ApiError::OriginNotAllowed {
            origin: o.to_string(),
        }),
        _ => Ok(http::preflight(allow, cors.requested_headers.as_deref())?),
    };
    let id = to.params.first().copied().unwrap_or_default();
    match to.pattern {
        "/health" => match method {
            "GET" | "HEAD" => routes::health::handle(env, settings).await,
            "OPTIONS" => preflight("GET, HEAD, OPTIONS"),
            _ => Err(not_allowed("GET, HEAD, OPTIONS")),
        },
        p if p.starts_with("/admin/") => {
            if !auth::is_admin(&req, env) {
                return Err(ApiError::NotFound { path: path.clone() });
            }
            match (p, method) {
                ("/admin/keys", "POST") => routes::admin::create(req, env, settings).await,
                ("/admin/keys", "GET") => routes::admin::list(env, settings).await,
                ("/admin/keys", _) => Err(not_allowed("GET, POST")),
                ("/admin/usage", "GET") => routes::admin::usage(env, settings).await,
                ("/admin/usage", _) => Err(not_allowed("GET")),
                ("/admin/keys/{id}", "DELETE") => routes::admin::revoke(env, settings, id).await,
                ("/admin/keys/{id}", _) => Err(not_allowed("DELETE")),
                ("/admin/keys/{id}/rotate", "POST") => {
                    routes::admin::rotate(req, env, settings, id).await
                }
                _ => Err(not_allowed("POST")),
            }
        }
        "/health/providers" => match (auth::is_admin(&req, env), method) {
            (false, _) => Err(ApiError::NotFound { path: path.clone() }),
            (true, "GET") => routes::health::providers(env, settings).await,
            (true, _) => Err(not_allowed("GET")),
        },
        "/chat" => match method {
            "POST" => {
                admit(&req, env, settings, ex, "chat").await?;
                routes::chat::handle(req, env, ctx, settings, ex).await
            }
            "OPTIONS" => preflight("POST, OPTIONS"),
            _ => Err(not_allowed("POST, OPTIONS")),
        },
        "/sessions" => match method {
            "GET" => {
                admit(&req, env, settings, ex, "chat").await?;
                routes::sessions::list(env, settings, ex).await
            }
            "OPTIONS" => preflight("GET, OPTIONS"),
            _ => Err(not_allowed("GET, OPTIONS")),
        },
        "/sessions/{id}" => match method {
            "GET" => {
                admit(&req, env, settings, ex, "chat").await?;
                routes::sessions::get(env, settings, ex, id).await
            }
            "DELETE" => {
                admit(&req, env, settings, ex, "chat").await?;
                routes::sessions::delete(env, settings, ex, id).await
            }
            "OPTIONS" => preflight("GET, DELETE, OPTIONS"),
            _ => Err(not_allowed("GET, DELETE, OPTIONS")),
        },
        "/v1/chat/completions" => match method {
            "POST" => {
                admit(&req, env, settings, ex, "chat").await?;
                routes::openai::completions(req, env, ctx, settings, ex).await
            }
            "OPTIONS" => preflight("POST, OPTIONS"),
            _ => Err(not_allowed("POST, OPTIONS")),
        },
        "/v1/models" => match method {
            "GET" => {
                admit(&req, env, settings, ex, "models").await?;
                routes::openai::models(settings, env).await
            }
            "OPTIONS" => preflight("GET, OPTIONS"),
            _ => Err(not_allowed("GET, OPTIONS")),
        },
        "/v1/models/{id*}" => match method {
            "GET" => {
                admit(&req, env, settings, ex, "models").await?;
                routes::openai::model(settings, env, id).await
            }
            "OPTIONS" => preflight("GET, OPTIONS"),
            _ => Err(not_allowed("GET, OPTIONS")),
        },
        _ => Err(ApiError::NotFound { path: path.clone() }),
    }
}

/// Authenticates the caller, checks it may use `scope`, and applies its rate limit; the
/// principal then rides in the exchange (budgets, metadata, the log line).
async fn admit(
    req: &Request,
    env: &Env,
    settings: &Settings,
    ex: &mut Exchange,
    scope: &'static str,
) -> Result<(), ApiError> {
    let ip = auth::client_ip(req);
    auth::check_throttled(settings, &ip)?;
    let principal = match auth::authenticate(req, env, settings).await {
        Ok(p) => p,
        Err(ApiError::Unauthorized(reason)) => {
            ex.log.auth_failure = Some(reason.as_str());
            return Err(auth::count_failure(env, settings, &ip)
                .await
                .unwrap_or(ApiError::Unauthorized(reason)));
        }
        Err(e) => return Err(e),
    };
    match &principal {
        gateway::credential::Principal::Key { id, .. } => ex.log.key_id = Some(id.clone()),
        gateway::credential::Principal::User { sub, .. } => ex.log.user_id = Some(sub.clone()),
        gateway::credential::Principal::Anonymous { .. } => {}
    }
    if !principal.allows(scope) {
        return Err(ApiError::InsufficientScope { scope });
    }
    ex.rate = auth::rate_limit(env, settings, &principal).await?;
    ex.principal = Some(principal);
    Ok(())
}
