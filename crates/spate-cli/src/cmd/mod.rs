//! One module per subcommand; each exposes `XxxArgs` (clap) and `run(args) -> anyhow::Result<ExitCode>`.

pub mod agents;
mod common;
pub mod convert;
pub mod inputs;
pub mod items;
pub mod ledger;
mod output;
pub mod schema;
pub mod serve;
pub mod validate;
