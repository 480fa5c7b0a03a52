//! `spate serve`: the live usage daemon. Parses flags; the daemon is the `spate-serve`
//! library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use spate_serve::{ServeOptions, Server};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but a loopback address requires --token or
    /// --token-file.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7390")]
    bind: SocketAddr,
    #[command(flatten)]
    tree: super::agents::TreeFlags,
    /// IANA time zone of the reports when a request names none (default: the system's).
    #[arg(long, short = 'z', value_name = "TZ")]
    tz: Option<String>,
    /// Secret that every API request must carry (`Authorization: Bearer SECRET`, or
    /// `?token=SECRET`).
    #[arg(
        long,
        value_name = "SECRET",
        conflicts_with = "token_file",
        env = "SPATE_SERVE_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Read the secret from this file (its first line).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Seconds between re-scans of the tree where file watching is unavailable.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    rescan_interval: f64,
    /// Do not watch for file-system events; re-scan every --rescan-interval (for file
    /// systems whose changes raise no events, such as some network mounts).
    #[arg(long)]
    no_watch: bool,
    /// Most client connections open at once.
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_connections: usize,
    /// Close a connection on which nothing is read or written for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    idle_timeout: f64,
    /// Most reports with parameters computed at once; more wait their turn. Each analyses
    /// the whole tree on every core already, so more at once add memory, not speed.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    max_queries: u16,
    #[command(flatten)]
    pricing: super::agents::PricingFlag,
    /// The usage ledger, as for the `agents` reports: usage of deleted transcripts stays in
    /// the reports; entries are recorded after each refresh and flushed on exit.
    #[command(flatten)]
    ledger: super::ledger::LedgerFlags,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // a long-running process: large freed buffers go back to the system
    spate_serve::memory::return_freed_memory();
    super::inputs::init_logging(Some("spate_serve=info"));
    let tz = spate_agents::request::time_zone(args.tz.as_deref())?;
    let token = match (&args.token, &args.token_file) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("--token-file {}", file.display()))?;
            Some(text.lines().next().unwrap_or("").trim().to_owned())
        }
        (None, None) => None,
    };
    if !(args.rescan_interval.is_finite() && args.rescan_interval >= 0.05) {
        anyhow::bail!("--rescan-interval must be at least 0.05 seconds");
    }
    if !(args.idle_timeout.is_finite() && args.idle_timeout >= 0.1) {
        anyhow::bail!("--idle-timeout must be at least 0.1 seconds");
    }
    let options = ServeOptions {
        bind: args.bind,
        request: args.tree.request(),
        tz,
        prices: args.pricing.table()?,
        token,
        rescan_interval: Duration::from_secs_f64(args.rescan_interval),
        max_connections: args.max_connections,
        watch: !args.no_watch,
        idle_timeout: Duration::from_secs_f64(args.idle_timeout),
        max_queries: usize::from(args.max_queries),
        ledger: args.ledger.options(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let stop = spate_serve::shutdown_signal().context("cannot install signal handlers")?;
        let server = Server::start(options).await.map_err(|e| match e {
            spate_serve::ServeError::Load(e) => super::agents::no_transcripts_hint(e),
            e @ spate_serve::ServeError::TokenRequired { .. } => {
                anyhow::anyhow!("{e}: pass --token SECRET or --token-file FILE")
            }
            e => e.into(),
        })?;
        let addr = server.local_addr()?;
        eprintln!("spate: serving http://{addr}/ (Ctrl-C to stop)");
        server.run(stop, Duration::from_millis(800)).await?;
        anyhow::Ok(())
    })?;
    // analyses still running in the pool are not waited for
    runtime.shutdown_timeout(Duration::from_millis(100));
    eprintln!("spate: stopped");
    Ok(ExitCode::SUCCESS)
}
