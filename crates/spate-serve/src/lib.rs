//! `spate serve`: a live usage daemon over [`spate_agents`].
//!
//! The daemon loads a transcript tree once ([`spate_agents::load::load_usage`], through the
//! cache like the command line), then keeps it current: one refresh thread owns the
//! [`Corpus`](spate_agents::corpus::Corpus), wakes on file-system events ([`notify`]) or on a
//! periodic re-scan, calls [`Corpus::refresh`](spate_agents::corpus::Corpus::refresh)
//! (which reads appended bytes only) and publishes an immutable [`Snapshot`](state::Snapshot)
//! of every report for the default query through an [`arc_swap::ArcSwap`]. HTTP readers of
//! the default reports load the snapshot and never wait for a refresh; a request with query
//! parameters, or for `/api/blocks` (whose active block follows the clock), analyses the
//! corpus under a read lock (see [`state`]).
//!
//! Every JSON body is built by spate-agents' reports and serialized by its `report_json`:
//! the daemon has no report logic of its own, so `/api/daily` equals `spate agents daily
//! --json` on the same tree.
//!
//! Security: [`ServeOptions::token`] is checked on every API request (constant-time); the
//! API is read-only; connections and request sizes are bounded ([`limits`]); the dashboard's
//! assets are compiled into the binary ([`assets`]) and no request path reaches the file
//! system.

pub mod api;
pub mod assets;
pub mod auth;
pub mod blocks_cache;
pub mod limits;
pub mod memory;
pub mod metrics;
pub mod params;
pub mod state;
pub mod stats;
mod watch;

use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use spate_agents::load::UsageRequest;
use spate_agents::pricing::PriceTable;

pub use state::Shared;

/// How to run the daemon.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Which transcripts, and whether to use the cache.
    pub request: UsageRequest,
    /// The time zone of the default reports (and of requests without `tz`).
    pub tz: spate_agents::jiff::tz::TimeZone,
    /// Prices.
    pub prices: PriceTable,
    /// The secret every API request must carry (`Authorization: Bearer`, or `token=` in the
    /// query for the browser's event stream). Required when `bind` is not a loopback address.
    pub token: Option<String>,
    /// Period of the re-scan when watching is unavailable (and, ten times longer, the safety
    /// re-scan when it works).
    pub rescan_interval: Duration,
    /// Watch the tree for file-system events (else re-scan only).
    pub watch: bool,
    /// Most connections open at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// A connection on which nothing moves for this long is closed.
    pub idle_timeout: Duration,
    /// Most parameterized reports computed at once (each analyses the whole corpus, in
    /// parallel already, and holds its rows and its body until answered). One at a time
    /// keeps the peak of a burst of them lowest (2,354-file tree, 4 clients: 66 MB against
    /// 75–83 MB with 2, BENCHMARKS.md); more add memory, not throughput.
    pub max_queries: usize,
    /// The usage ledger (see spate-agents' `ledger`): entries seen are recorded after each
    /// refresh and flushed when the daemon stops; reports include the entries only the
    /// ledger holds (usage of deleted transcripts). `None`: no ledger.
    pub ledger: Option<spate_agents::ledger::LedgerOptions>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            request: UsageRequest {
                cache: true,
                ..UsageRequest::default()
            },
            tz: spate_agents::time::system_time_zone(),
            prices: PriceTable::embedded(),
            token: None,
            rescan_interval: Duration::from_secs(5),
            watch: true,
            max_connections: 512,
            idle_timeout: Duration::from_secs(60),
            max_queries: 1,
            ledger: None,
        }
    }
}

/// The port used when none is given.
pub const DEFAULT_PORT: u16 = 7390;

/// Why the daemon could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The options do not make sense together (e.g. a public address without a token).
    #[error("{0}")]
    Config(String),
    /// Listening on an address that is not a loopback address without a token.
    #[error("listening on {addr} (not a loopback address) requires a token")]
    TokenRequired {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Loading the transcripts failed.
    #[error(transparent)]
    Load(#[from] spate_agents::Error),
    /// The address could not be bound (in use, not permitted, ...).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// A loaded daemon, bound to its address, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    refresher: state::Refresher,
    options: ServeOptions,
}

impl Server {
    /// Checks the options, loads the tree and binds the address. Must be called inside a
    /// tokio runtime.
    pub async fn start(options: ServeOptions) -> Result<Server, ServeError> {
        let loopback = options.bind.ip().is_loopback();
        match &options.token {
            Some(t) if t.is_empty() => {
                return Err(ServeError::Config(String::from("the token is empty")))
            }
            None if !loopback => return Err(ServeError::TokenRequired { addr: options.bind }),
            _ => {}
        }
        // bind first: a port in use is reported before a long load
        let listener = tokio::net::TcpListener::bind(options.bind)
            .await
            .map_err(|source| ServeError::Bind {
                addr: options.bind,
                source,
            })?;
        let opts = options.clone();
        let (shared, refresher) =
            tokio::task::spawn_blocking(move || state::Refresher::load(&opts))
                .await
                .map_err(|e| ServeError::Io(std::io::Error::other(e)))??;
        Ok(Server {
            listener,
            shared,
            refresher,
            options,
        })
    }

    /// The address actually bound (the port chosen when 0 was asked).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The state shared by the refresh thread and the handlers.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Serves until `shutdown` completes, then stops accepting, ends the event streams,
    /// lets in-flight requests finish (for at most `grace`), stops the refresh thread and
    /// returns.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        grace: Duration,
    ) -> Result<(), ServeError> {
        let Server {
            listener,
            shared,
            refresher,
            options,
        } = self;
        let refresh_thread = refresher.spawn(options.rescan_interval, options.watch)?;
        let app = api::router(shared.clone(), options.token.clone(), options.max_queries);
        let listener =
            limits::LimitedListener::new(listener, options.max_connections, options.idle_timeout);
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let stopping = shared.clone();
        tokio::spawn(async move {
            shutdown.await;
            stopping.begin_shutdown();
            let _ = stop_tx.send(true);
        });
        let mut stop_wait = stop_rx.clone();
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_wait.wait_for(|s| *s).await;
            })
            .into_future();
        tokio::pin!(server);
        tokio::select! {
            r = &mut server => r?,
            _ = async {
                let _ = stop_rx.wait_for(|s| *s).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!("requests still open after {grace:?}: stopping anyway");
            }
        }
        let _ = tokio::task::spawn_blocking(move || refresh_thread.stop()).await;
        Ok(())
    }
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when
/// this is called (not when the future is first polled), so a signal arriving any time
/// after the call stops the daemon cleanly.
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
