//! The HTTP routes: the JSON API, the event stream, health, metrics and the dashboard.
//!
//! Every report body comes from spate-agents (`report::build`, `blocks::build` or
//! `delegations::build`, serialized by `report_json::to_pretty`, exactly as
//! `spate agents ... --json` writes it).

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream, StreamExt};
use spate_agents::blocks::{self, BlockOptions};
use spate_agents::report::{self, Period};
use spate_agents::usage::{self, Query, Usage};
use spate_agents::{delegations, report_json};
use tokio::sync::Semaphore;

use crate::blocks_cache::CutKey;
use crate::params::{self, ParamError, Shape};
use crate::state::Shared;
use crate::{assets, auth, limits, metrics};

/// A JSON endpoint of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/api/stats`: see [`crate::stats::Stats`].
    Stats,
    /// `/api/daily`, `/api/weekly`, ...: a spate-agents report.
    Report(Period),
    /// `/api/delegations`.
    Delegations,
    /// `/api/blocks`: 5-hour billing blocks. Which block is active depends on the present,
    /// so this body is computed for each request, never taken from the snapshot.
    Blocks,
}

impl Endpoint {
    /// Every endpoint, in snapshot order.
    pub const ALL: [Endpoint; 9] = [
        Endpoint::Stats,
        Endpoint::Report(Period::Daily),
        Endpoint::Report(Period::Weekly),
        Endpoint::Report(Period::Monthly),
        Endpoint::Report(Period::Session),
        Endpoint::Report(Period::Model),
        Endpoint::Report(Period::Project),
        Endpoint::Delegations,
        Endpoint::Blocks,
    ];

    /// The endpoint's place in [`Endpoint::ALL`].
    pub fn index(self) -> usize {
        Endpoint::ALL.iter().position(|e| *e == self).unwrap_or(0)
    }

    /// The URL path.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Stats => "/api/stats",
            Endpoint::Report(Period::Daily) => "/api/daily",
            Endpoint::Report(Period::Weekly) => "/api/weekly",
            Endpoint::Report(Period::Monthly) => "/api/monthly",
            Endpoint::Report(Period::Session) => "/api/session",
            Endpoint::Report(Period::Model) => "/api/model",
            Endpoint::Report(Period::Project) => "/api/project",
            Endpoint::Delegations => "/api/delegations",
            Endpoint::Blocks => "/api/blocks",
        }
    }

    /// Whether the body depends on the present (and so is computed for each request).
    pub fn live(self) -> bool {
        self == Endpoint::Blocks
    }
}

/// The body of `endpoint` for `usage`, as the command line's `--json` writes it. For
/// [`Endpoint::Blocks`], `usage` must come from a query with one row per request and no
/// date range (see [`blocks_query`]); `now_ms` decides the active block.
pub fn render(
    endpoint: Endpoint,
    usage: &Usage,
    shape: &Shape,
    now_ms: i64,
) -> serde_json::Result<String> {
    match endpoint {
        Endpoint::Blocks => {
            report_json::to_pretty(&blocks::build(usage, &block_options(shape, now_ms)))
        }
        Endpoint::Stats => report_json::to_pretty(&crate::stats::Stats::of(usage)?),
        Endpoint::Report(period) => {
            report_json::to_pretty(&report::build(usage, period, shape.descending))
        }
        Endpoint::Delegations => report_json::to_pretty(&delegations::build(usage, shape.marathon)),
    }
}

/// The blocks report's options of a request's shape at `now_ms`.
pub fn block_options(shape: &Shape, now_ms: i64) -> BlockOptions {
    let b = &shape.blocks;
    BlockOptions {
        session_ms: b.session_ms,
        now_ms,
        since: b.since,
        until: b.until,
        descending: shape.descending,
        recent: b.recent,
        active_only: b.active,
        token_limit: b.token_limit,
    }
}

/// The body of `/api/blocks` for `query` (the request's, or the daemon's default) and
/// `shape`: from the blocks cut for this generation ([`crate::blocks_cache`]), equal to
/// [`render`] of a fresh analysis at the same present.
pub fn blocks_body(shared: &Shared, query: Query, mut shape: Shape) -> serde_json::Result<String> {
    let query = blocks_query(query, &mut shape);
    let key = CutKey::of(&query, &shape.projects, shape.blocks.session_ms);
    let generation = shared.snapshot.load().generation;
    let tz = query.tz.clone();
    let cuts = shared
        .blocks
        .get(generation, &key, query, |q| shared.analyze(q));
    let now_ms = spate_agents::jiff::Timestamp::now().as_millisecond();
    report_json::to_pretty(&cuts.select(&block_options(&shape, now_ms), &tz))
}

/// The query and shape of a blocks report, as `spate agents blocks` builds them: blocks
/// are cut from every request (one row per request, no date range), then selected by the
/// local date of their start.
pub fn blocks_query(mut query: Query, shape: &mut Shape) -> Query {
    shape.blocks.since = query.since.take();
    shape.blocks.until = query.until.take();
    query.per_request = true;
    query
}

/// What every handler needs.
#[derive(Debug, Clone)]
struct Ctx {
    shared: Arc<Shared>,
    token: Option<Arc<str>>,
    /// Parameterized reports computed at once (blocks reports too; those cut their blocks
    /// one at a time, see [`crate::blocks_cache`]).
    queries: Arc<Semaphore>,
}

/// The daemon's routes.
pub fn router(shared: Arc<Shared>, token: Option<String>, max_queries: usize) -> Router {
    let ctx = Ctx {
        shared,
        token: token.map(Arc::from),
        queries: Arc::new(Semaphore::new(max_queries.max(1))),
    };
    let mut app = Router::new()
        .route(
            "/",
            get(|| async { asset(assets::INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { asset(assets::APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/app.css",
            get(|| async { asset(assets::APP_CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/favicon.svg",
            get(|| async { asset(assets::FAVICON_SVG, "image/svg+xml") }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics_page))
        .route("/api/events", get(events));
    for e in Endpoint::ALL {
        app = app.route(
            e.path(),
            get(move |State(ctx): State<Ctx>, RawQuery(q): RawQuery| report_route(ctx, e, q)),
        );
    }
    app.fallback(|| async { json_error(StatusCode::NOT_FOUND, None, "no such endpoint") })
        .layer(middleware::from_fn_with_state(ctx.clone(), guard))
        .with_state(ctx)
}

fn route_index(path: &str) -> usize {
    let name = match path {
        "/api/events" => "events",
        p if p.starts_with("/api/") => "api",
        "/" | "/app.js" | "/app.css" | "/favicon.svg" => "dashboard",
        "/healthz" => "healthz",
        "/metrics" => "metrics",
        _ => "other",
    };
    metrics::ROUTES
        .iter()
        .position(|r| *r == name)
        .unwrap_or(metrics::ROUTES.len() - 1)
}

/// Counts, bounds and authorizes every request, and sets the security headers of every
/// response.
async fn guard(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let m = &ctx.shared.metrics;
    let path = req.uri().path();
    m.request(route_index(path));
    let mut resp = if let Some((code, why)) = limits::refuse(&req) {
        m.rejected();
        json_error(code, None, why)
    } else if ctx.token.as_deref().is_some_and(|t| {
        (path.starts_with("/api/") || path == "/metrics")
            && !auth::authorized(t, req.headers(), req.uri().query())
    }) {
        m.unauthorized();
        let mut r = json_error(StatusCode::UNAUTHORIZED, None, "a valid token is required");
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    resp
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// A JSON error body: `{"error": ..., "parameter": ...}`.
fn json_error(code: StatusCode, parameter: Option<&str>, error: &str) -> Response {
    let body = match parameter {
        Some(p) => serde_json::json!({ "error": error, "parameter": p }),
        None => serde_json::json!({ "error": error }),
    };
    json_response(code, body.to_string().into())
}

fn json_response(code: StatusCode, body: Body) -> Response {
    (
        code,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn bad_parameter(ctx: &Ctx, e: &ParamError) -> Response {
    ctx.shared.metrics.bad_request();
    json_error(
        StatusCode::BAD_REQUEST,
        Some(&e.parameter),
        &format!("{}: {}", e.parameter, e.error),
    )
}

async fn report_route(ctx: Ctx, endpoint: Endpoint, query: Option<String>) -> Response {
    let pairs = match query.as_deref() {
        None | Some("") => Vec::new(),
        Some(q) => match params::decode_query(q) {
            Some(p) => p,
            None => {
                let e = ParamError {
                    parameter: String::from("query"),
                    error: String::from("not a URL-encoded query string"),
                };
                return bad_parameter(&ctx, &e);
            }
        },
    };
    let parsed = match params::parse(endpoint, &pairs, &ctx.shared.default_query) {
        Ok(p) => p,
        Err(e) => return bad_parameter(&ctx, &e),
    };
    if !endpoint.live() && parsed.query.is_none() && parsed.shape == Shape::default() {
        let body = ctx.shared.snapshot.load().body(endpoint);
        return json_response(StatusCode::OK, body.into());
    }
    // each parameterized report analyses the whole corpus: a few at once
    let Ok(_permit) = ctx.queries.clone().acquire_owned().await else {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, None, "stopping");
    };
    let shared = ctx.shared.clone();
    let computed = tokio::task::spawn_blocking(move || {
        let shape = parsed.shape;
        let query = parsed.query.unwrap_or_else(|| shared.default_query.clone());
        if endpoint == Endpoint::Blocks {
            return blocks_body(&shared, query, shape);
        }
        let mut usage = shared.analyze(query);
        // the command line's `--project` filter
        usage::retain_projects(&mut usage, &shape.projects);
        render(endpoint, &usage, &shape, 0)
    })
    .await;
    match computed {
        Ok(Ok(body)) => json_response(StatusCode::OK, body.into()),
        Ok(Err(e)) => json_error(StatusCode::INTERNAL_SERVER_ERROR, None, &e.to_string()),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, None, &e.to_string()),
    }
}

async fn metrics_page(State(ctx): State<Ctx>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(&ctx.shared),
    )
        .into_response()
}

/// Decrements the open-streams gauge when a stream ends.
struct ClientGuard(Arc<Shared>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.metrics.event_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

struct EventState {
    first: Option<Event>,
    rx: tokio::sync::broadcast::Receiver<Arc<str>>,
    stop: tokio::sync::watch::Receiver<bool>,
    _guard: ClientGuard,
}

/// `/api/events`: a `hello` event with the current totals, then an `update` event after
/// each refresh that changed something (`resync` when this client fell behind); the stream
/// ends when the daemon stops.
async fn events(State(ctx): State<Ctx>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let shared = ctx.shared;
    let rx = shared.events.subscribe();
    let snap = shared.snapshot.load();
    let hello = Event::default().event("hello").data(format!(
        r#"{{"generation":{},"stats":{}}}"#,
        snap.generation, snap.stats_line
    ));
    shared.metrics.event_clients.fetch_add(1, Ordering::Relaxed);
    let state = EventState {
        first: Some(hello),
        rx,
        stop: shared.stopping.subscribe(),
        _guard: ClientGuard(shared.clone()),
    };
    let s = stream::unfold(state, move |mut st| {
        let shared = shared.clone();
        async move {
            if *st.stop.borrow() {
                return None;
            }
            if let Some(first) = st.first.take() {
                return Some((first, st));
            }
            let event = tokio::select! {
                msg = st.rx.recv() => match msg {
                    Ok(line) => Event::default().event("update").data(&*line),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let snap = shared.snapshot.load();
                        Event::default().event("resync").data(format!(
                            r#"{{"generation":{},"stats":{}}}"#,
                            snap.generation, snap.stats_line
                        ))
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
                _ = st.stop.wait_for(|s| *s) => return None,
            };
            Some((event, st))
        }
    })
    .map(Ok);
    Sse::new(s).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
