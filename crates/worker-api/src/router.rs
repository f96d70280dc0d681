//! Routing: the route table (pattern, method, error format, access, handler), CORS, the trace
//! id, errors to responses in the route's surface format, and one log line per request.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use gateway::credential::Principal;
use gateway::route::{capture, log_name};
use gateway::surface::{anthropic, native, openai, responses, ui};
use gateway::trace::accept_trace_id;
use worker::{Context, Env, Response};

use crate::access::auth;
use crate::clock::now_ms;
use crate::config::{self, Settings};
use crate::exchange::Exchange;
use crate::http::error::ApiError;
use crate::http::incoming::Request;
use crate::http::{self, ErrorFormat};
use crate::knowledge;
use crate::ops;
use crate::sessions;
use crate::surfaces;

/// What a handler gets: the request, the worker's bindings, the tenant's settings, the
/// exchange (log line, caller), and the path parameters of its pattern.
pub struct Call<'a> {
    pub req: Request,
    pub env: &'a Env,
    pub ctx: &'a Context,
    pub settings: Rc<Settings>,
    pub ex: &'a mut Exchange,
    pub params: Vec<String>,
}

impl Call<'_> {
    /// The first path parameter (`{id}`), or empty.
    pub fn param(&self) -> &str {
        self.params.first().map_or("", String::as_str)
    }
}

/// A handler's answer, boxed so every route fits one table.
pub type Pending<'a> = Pin<Box<dyn Future<Output = Result<Response, ApiError>> + 'a>>;
pub type Handler = for<'a> fn(Call<'a>) -> Pending<'a>;

/// Who may call a route.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health).
    Public,
    /// Only a bearer of `ADMIN_TOKEN`; everyone else gets a plain 404.
    Admin,
    /// An authenticated client with this scope, rate limited; browsers may preflight it.
    Client(&'static str),
}

/// One route: a pattern (`gateway::route`), a method, the surface's error format, who may
/// call it, and its handler.
pub struct Route {
    pub pattern: &'static str,
    pub method: &'static str,
    pub errors: ErrorFormat,
    pub access: Access,
    pub handler: Handler,
}

/// A table entry: `route!("/chat", "POST", native, Client("chat"), |c| body)`.
macro_rules! route {
    ($pattern:literal, $method:literal, $surface:ident, $access:expr, |$c:ident| $body:expr) => {
        Route {
            pattern: $pattern,
            method: $method,
            errors: $surface::error_body,
            access: $access,
            handler: {
                fn handle($c: Call<'_>) -> Pending<'_> {
                    Box::pin(async move { $body })
                }
                handle
            },
        }
    };
}

use Access::{Admin, Client, Public};

/// Every route. Adding a surface is one line here (plus its module).
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    route!("/health", "GET", native, Public, |c| ops::health::handle(c.env, &c.settings).await),
    route!("/health", "HEAD", native, Public, |c| ops::health::handle(c.env, &c.settings).await),
    route!("/health/providers", "GET", native, Admin, |c| ops::health::providers(c.env, &c.settings).await),
    route!("/admin/keys", "POST", native, Admin, |c| ops::admin::create(c.req, c.env, &c.settings).await),
    route!("/admin/keys", "GET", native, Admin, |c| ops::admin::list(c.env, &c.settings).await),
    route!("/admin/keys/{id}", "DELETE", native, Admin, |c| ops::admin::revoke(c.env, &c.settings, c.param()).await),
    route!("/admin/keys/{id}/rotate", "POST", native, Admin, |c| ops::admin::rotate(c).await),
    route!("/admin/usage", "GET", native, Admin, |c| ops::admin::usage(c.env, &c.settings).await),
    route!("/admin/usage/history", "GET", native, Admin, |c| ops::history::routes::handle(c).await),
    route!("/admin/knowledge/{kb}/documents", "GET", native, Admin, |c| knowledge::admin::list(c).await),
    route!("/admin/knowledge/{kb}/documents/{id}", "PUT", native, Admin, |c| knowledge::admin::put(c).await),
    route!("/admin/knowledge/{kb}/documents/{id}", "GET", native, Admin, |c| knowledge::admin::get(c).await),
    route!("/admin/knowledge/{kb}/documents/{id}", "DELETE", native, Admin, |c| knowledge::admin::delete(c).await),
    route!("/chat", "POST", native, Client("chat"), |c| surfaces::chat::handle(c).await),
    route!("/ui/chat", "POST", ui, Client("chat"), |c| surfaces::ui::handle(c).await),
    route!("/sessions", "GET", native, Client("chat"), |c| sessions::routes::list(c.env, &c.settings, c.ex).await),
    route!("/sessions/{id}", "GET", native, Client("chat"), |c| sessions::routes::get(c.env, &c.settings, c.ex, c.param()).await),
    route!("/sessions/{id}", "DELETE", native, Client("chat"), |c| sessions::routes::delete(c.env, &c.settings, c.ex, c.param()).await),
    route!("/v1/chat/completions", "POST", openai, Client("chat"), |c| surfaces::openai::completions(c).await),
    route!("/v1/responses", "POST", responses, Client("chat"), |c| surfaces::responses::handle(c).await),
    route!("/v1/messages", "POST", anthropic, Client("chat"), |c| surfaces::anthropic::handle(c).await),
    route!("/v1/embeddings", "POST", openai, Client("chat"), |c| surfaces::embeddings::handle(c).await),
    route!("/v1/models", "GET", openai, Client("models"), |c| surfaces::openai::models(c).await),
    route!("/v1/models/{id*}", "GET", openai, Client("models"), |c| surfaces::openai::model(c).await),
    // Anything else under /v1 is a 404 in OpenAI's shape, which OpenAI clients read.
    route!("/v1/{path*}", "", openai, Public, |c| Err(ApiError::NotFound { path: c.req.path() })),
];

/// The routes of the pattern `path` matches first, with its parameters.
fn matching(path: &str) -> Option<(&'static str, Vec<String>)> {
    ROUTES.iter().find_map(|r| {
        capture(r.pattern, path).map(|p| (r.pattern, p.into_iter().map(str::to_owned).collect()))
    })
}

/// Serves one request. Never fails: every error becomes a response here, in the matched
/// route's error format (the native one when none matched).
pub async fn serve(req: Request, env: Env, ctx: Context) -> Response {
    let started_ms = now_ms();
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let trace_id = accept_trace_id(header("x-trace-id").as_deref())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let origin = header("origin");
    let requested_headers = header("access-control-request-headers");
    let path = req.path();
    // The raw method: the runtime binding maps methods it does not know to GET.
    let method = req.inner().method().to_ascii_uppercase();
    let mut ex = Exchange::new(req.inner().signal(), trace_id, started_ms);
    ex.log.method.clone_from(&method);
    let matched = matching(&path);
    let metered = matched
        .as_ref()
        .is_some_and(|(p, _)| ops::history::METERED.contains(p));
    ex.log.route = log_name(matched.as_ref().map(|(p, _)| *p), &path);
    // An Anthropic SDK (it sends `anthropic-version`) reads Anthropic's error body on any
    // /v1 route (the model list, a 404), not only on /v1/messages.
    let anthropic_client = header("anthropic-version").is_some() && path.starts_with("/v1/");
    let errors: ErrorFormat = match matched
        .as_ref()
        .and_then(|(p, _)| ROUTES.iter().find(|r| r.pattern == *p))
    {
        _ if anthropic_client => anthropic::error_body,
        Some(r) => r.errors,
        None => native::error_body,
    };

    let settings = config::settings(&env);
    let granted = match (&settings, &origin) {
        (Ok(s), Some(o)) if s.tenant.allows_origin(o) => Some(o.clone()),
        _ => None,
    };
    // A credential in the URL ends up in logs and caches: refused on every route.
    // `/admin/usage/history` reads `key` as a key id filter (its values are still judged).
    let data_names: &[&str] = match matched {
        Some(("/admin/usage/history", _)) => &["key"],
        _ => &[],
    };
    let in_query = gateway::credential::credential_param(req.url(), data_names);
    let result = match (&settings, matched) {
        (Ok(s), _) if in_query.is_some() => {
            ex.log.tenant_id = s.tenant.tenant_id.to_string();
            Err(ApiError::CredentialsInQuery {
                param: in_query.unwrap_or_default(),
            })
        }
        (Ok(s), Some((pattern, params))) => {
            ex.log.tenant_id = s.tenant.tenant_id.to_string();
            let call = Call {
                req,
                env: &env,
                ctx: &ctx,
                settings: Rc::clone(s),
                ex: &mut ex,
                params,
            };
            let cors = Cors {
                origin: origin.as_deref(),
                granted: granted.is_some(),
                requested_headers: requested_headers.as_deref(),
            };
            dispatch(pattern, &method, call, &cors).await
        }
        (Ok(_), None) => Err(ApiError::NotFound { path }),
        (Err(e), Some(("/health", _))) if matches!(method.as_str(), "GET" | "HEAD") => {
            ops::health::unready(e)
        }
        (Err(e), _) => Err(ApiError::Config(e.clone())),
    };
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            ex.log.error_code = Some(e.status_and_code().1.to_string());
            ex.log.error_detail = e.log_detail();
            http::error(&e, &ex.trace_id, errors)
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
        // Preflights and refused methods never reached a model route: not usage.
        let counted = metered
            && ex.log.method != "OPTIONS"
            && ex.log.error_code.as_deref() != Some("method_not_allowed");
        if let (true, Ok(s)) = (counted, &settings) {
            if ops::history::note(&env, &s.tenant, &ex.log) {
                let (env, settings) = (env.clone(), Rc::clone(s));
                ctx.wait_until(async move {
                    ops::history::write_pending(&env, &settings.tenant).await;
                });
            }
        }
    }
    resp
}

/// What CORS needs to know about a request.
struct Cors<'a> {
    origin: Option<&'a str>,
    granted: bool,
    requested_headers: Option<&'a str>,
}

/// The methods of `pattern`'s routes, for `Allow` (with `OPTIONS` when clients may call it).
fn allowed(pattern: &str) -> String {
    let routes = || {
        ROUTES
            .iter()
            .filter(|r| r.pattern == pattern && !r.method.is_empty())
    };
    let mut methods: Vec<&str> = routes().map(|r| r.method).collect();
    if routes().any(|r| matches!(r.access, Client(_)) || r.pattern == "/health") {
        methods.push("OPTIONS");
    }
    methods.join(", ")
}

/// Checks method and access, then runs the route's handler.
async fn dispatch(
    pattern: &'static str,
    method: &str,
    mut call: Call<'_>,
    cors: &Cors<'_>,
) -> Result<Response, ApiError> {
    let route = ROUTES
        .iter()
        .find(|r| r.pattern == pattern && (r.method == method || r.method.is_empty()));
    let Some(route) = route else {
        let allow = allowed(pattern);
        if method == "OPTIONS" && allow.contains("OPTIONS") {
            return match cors.origin {
                Some(o) if !cors.granted => Err(ApiError::OriginNotAllowed {
                    origin: o.to_string(),
                }),
                _ => Ok(http::preflight(&allow, cors.requested_headers)?),
            };
        }
        let admin_only = ROUTES
            .iter()
            .filter(|r| r.pattern == pattern)
            .all(|r| r.access == Admin);
        if admin_only && !auth::is_admin(&call.req, call.env) {
            return Err(ApiError::NotFound {
                path: call.req.path(),
            });
        }
        return Err(ApiError::MethodNotAllowed {
            method: method.to_string(),
            path: call.req.path(),
            allow,
        });
    };
    match route.access {
        Public => {}
        Admin if auth::is_admin(&call.req, call.env) => {}
        Admin => {
            return Err(ApiError::NotFound {
                path: call.req.path(),
            })
        }
        Client(scope) => admit(&mut call, scope).await?,
    }
    (route.handler)(call).await
}

/// Authenticates the caller, checks it may use `scope`, and applies its rate limit; the
/// principal then rides in the exchange (budgets, metadata, the log line).
async fn admit(call: &mut Call<'_>, scope: &'static str) -> Result<(), ApiError> {
    let ip = auth::client_ip(&call.req);
    auth::check_throttled(&call.settings, &ip)?;
    let ex = &mut *call.ex;
    let principal = match auth::authenticate(&call.req, call.env, &call.settings).await {
        Ok(p) => p,
        Err(ApiError::Unauthorized(reason)) => {
            ex.log.auth_failure = Some(reason.as_str());
            return Err(auth::count_failure(call.env, &call.settings, &ip)
                .await
                .unwrap_or(ApiError::Unauthorized(reason)));
        }
        Err(e) => return Err(e),
    };
    match &principal {
        Principal::Key { id, .. } => ex.log.key_id = Some(id.clone()),
        Principal::User { sub, .. } => ex.log.user_id = Some(sub.clone()),
        Principal::Anonymous { .. } => {}
    }
    if !principal.allows(scope) {
        return Err(ApiError::InsufficientScope { scope });
    }
    ex.rate = auth::rate_limit(call.env, &call.settings, &principal).await?;
    ex.principal = Some(principal);
    Ok(())
}
