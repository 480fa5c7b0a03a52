//! One module per subcommand; each exposes `XxxArgs` (clap) and `run(args) -> anyhow::Result<ExitCode>`.

pub mod agents;
mod common;
mod output;
pub mod convert;
pub mod inputs;
pub mod items;
pub mod schema;
pub mod validate;
