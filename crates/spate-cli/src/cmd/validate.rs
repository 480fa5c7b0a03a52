//! `spate validate`: check JSON documents against RFC 8259.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use spate::ItemsOptions;

use super::common::stdout;
use crate::exit;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Files to check (`-` or none: standard input). `.gz` and `.zst` are decompressed.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Deepest nesting accepted.
    #[arg(long, value_name = "N", default_value_t = spate_json::DEFAULT_MAX_DEPTH)]
    max_depth: u32,

    /// Print nothing for valid files.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files
    };
    let options = ItemsOptions {
        max_depth: args.max_depth,
        ..ItemsOptions::default()
    };
    let mut worst = 0u8;
    let mut out = stdout();
    for file in &files {
        let started = Instant::now();
        let result = spate::source::open(file)
            .and_then(|input| spate::validate_with(input.reader, &input.name, options));
        match result {
            Ok(bytes) => {
                if !args.quiet {
                    let secs = started.elapsed().as_secs_f64();
                    let rate = bytes as f64 / secs.max(1e-9) / 1e6;
                    writeln!(
                        out,
                        "{}: valid JSON ({bytes} bytes, {rate:.0} MB/s)",
                        file.display()
                    )?;
                }
            }
            Err(e) => {
                out.flush()?;
                let e = anyhow::Error::from(e);
                eprintln!("spate: {e:#}");
                worst = worst.max(exit::code_for(&e));
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::from(worst))
}
