//! The usage ledger on the command line: the flags every `spate agents` report takes
//! (`--no-ledger`, `--ledger-dir`, `--ledger-fsync`), holding the run's ledger until it is
//! flushed at exit, and `spate agents ledger export|import|path`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use spate_agents::ledger::{self, FsyncPolicy, Ledger, LedgerOptions};
use spate_agents::request::{self, OpenLedgerError};

/// The ledger flags of a report.
#[derive(Debug, Clone, clap::Args)]
pub struct LedgerFlags {
    /// Do not read or write the usage ledger (the durable record of usage that outlives
    /// deleted transcripts): count only the transcripts on disk.
    #[arg(long)]
    no_ledger: bool,
    #[command(flatten)]
    place: LedgerPlace,
}

/// Where the ledger is and how it is synced.
#[derive(Debug, Clone, clap::Args)]
struct LedgerPlace {
    /// Usage ledger folder (default: SPATE_LEDGER_DIR, else the user data folder's
    /// `spate/`, e.g. ~/.local/share/spate).
    #[arg(long, value_name = "DIR", env = ledger::LEDGER_DIR_ENV)]
    ledger_dir: Option<PathBuf>,
    /// When the ledger is synced to disk: always (after every batch), batch (once per
    /// run), never (left to the system).
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = Fsync::Batch)]
    ledger_fsync: Fsync,
    /// Entries per ledger batch.
    #[arg(long, hide = true, default_value_t = 4096, value_name = "N")]
    ledger_batch: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Fsync {
    Always,
    Batch,
    Never,
}

impl LedgerPlace {
    fn options(&self) -> LedgerOptions {
        LedgerOptions {
            dir: self.ledger_dir.clone(),
            fsync: match self.ledger_fsync {
                Fsync::Always => FsyncPolicy::Always,
                Fsync::Batch => FsyncPolicy::Batch,
                Fsync::Never => FsyncPolicy::Never,
            },
            batch_entries: self.ledger_batch.max(1),
            ..LedgerOptions::default()
        }
    }
}

impl LedgerFlags {
    /// The ledger options, or `None` with `--no-ledger`.
    pub fn options(&self) -> Option<LedgerOptions> {
        (!self.no_ledger).then(|| self.place.options())
    }
}

/// The ledger of this run, flushed by [`finish`] (or by the interrupt handler).
static HELD: Mutex<Option<Ledger>> = Mutex::new(None);

/// Keeps the run's ledger until [`finish`].
pub fn keep(ledger: Option<Ledger>) {
    if let Ok(mut held) = HELD.lock() {
        *held = ledger;
    }
}

/// Writes what the run's ledger still holds; a failure is a warning (the entries are
/// still in the transcripts and written by a later run).
pub fn finish() {
    let ledger = HELD.lock().ok().and_then(|mut h| h.take());
    if let Some(l) = ledger {
        if let Err(e) = l.flush() {
            eprintln!("spate: warning: cannot write the usage ledger: {e}");
        }
        for n in l.take_notices() {
            eprintln!("spate: warning: {n}");
        }
    }
}

/// `spate agents ledger`.
#[derive(Debug, clap::Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    command: LedgerCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LedgerCommand {
    /// Write every usage entry the ledger holds for these transcript folders (after
    /// recording the transcripts on disk) to FILE, to import on another machine.
    Export {
        /// The file to write (replaced).
        file: PathBuf,
        #[command(flatten)]
        tree: TreeArgs,
    },
    /// Merge ledger files (from `ledger export`) into this ledger. An entry already held
    /// is skipped, so importing a file twice changes nothing.
    Import {
        /// Ledger files to merge.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        tree: TreeArgs,
    },
    /// Print the path of the ledger file.
    Path {
        #[command(flatten)]
        place: LedgerPlace,
    },
}

#[derive(Debug, clap::Args)]
struct TreeArgs {
    #[command(flatten)]
    tree: super::agents::TreeFlags,
    #[command(flatten)]
    place: LedgerPlace,
}

/// Loads the tree (recording its new entries in the ledger) and returns the ledger.
fn open(tree: &TreeArgs) -> anyhow::Result<Ledger> {
    let (ledger, warnings) = request::open_ledger(&tree.tree.request(), &tree.place.options())
        .map_err(|e| match e {
            OpenLedgerError::Load(e) => super::agents::no_transcripts_hint(e),
            OpenLedgerError::Unusable { warning, before } => {
                for w in &before {
                    eprintln!("spate: warning: {w}");
                }
                anyhow::anyhow!("{warning}")
            }
            e => e.into(),
        })?;
    for w in &warnings {
        eprintln!("spate: warning: {w}");
    }
    Ok(ledger)
}

pub fn run(args: LedgerArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        LedgerCommand::Export { file, tree } => {
            let l = open(&tree)?;
            let stats = l.export(&file)?;
            eprintln!(
                "spate: exported {} usage entries ({} bytes) from {} to {}",
                stats.entries,
                stats.bytes,
                l.path().display(),
                file.display()
            );
        }
        LedgerCommand::Import { files, tree } => {
            let l = open(&tree)?;
            let stats = l.import(&files)?;
            eprintln!(
                "spate: read {} usage entries from {} files: {} added, {} already held ({})",
                stats.read,
                stats.files,
                stats.added,
                stats.already,
                l.path().display()
            );
        }
        LedgerCommand::Path { place } => {
            let dir = match place.options().dir {
                Some(d) => d,
                None => ledger::default_dir()
                    .ok_or_else(|| anyhow::anyhow!("no user data folder; pass --ledger-dir DIR"))?,
            };
            println!("{}", ledger::ledger_path(&dir).display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
