//! Sums an integer field of JSON Lines items on every core with the parallel executor.
//!
//! ```text
//! cargo run --release -p spate --example jsonl_sum -- message.usage.output_tokens DIR [-j N] [--range-size BYTES]
//! ```
//!
//! The visitor keeps one partial sum per worker; the partials are merged at the end.

use std::path::PathBuf;

use spate::inputs::{discover, parse_path, DiscoverOptions};
use spate::parallel::{run, ItemVisitor, RunOptions, VisitError};
use spate::ItemRef;

#[derive(Default)]
struct Sum {
    total: u128,
    items: u64,
}

impl ItemVisitor for Sum {
    fn visit(&mut self, item: ItemRef<'_>, _out: &mut Vec<u8>) -> Result<u64, VisitError> {
        let text = std::str::from_utf8(item.raw())?;
        self.total += text.trim().parse::<u64>()? as u128;
        self.items += 1;
        Ok(0)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = parse_path(&args.next().ok_or("usage: jsonl_sum PATH FILE... [-j N]")?)?;
    let mut files = Vec::new();
    let mut options = RunOptions::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-j" => options.threads = args.next().ok_or("-j N")?.parse()?,
            "--range-size" => options.range_size = args.next().ok_or("--range-size N")?.parse()?,
            _ => files.push(PathBuf::from(a)),
        }
    }
    let inputs = discover(&files, &DiscoverOptions::default())?;
    let (sums, summary) = run(
        &inputs,
        &[path],
        &options,
        Sum::default,
        &mut std::io::sink(),
    )?;
    let total: u128 = sums.iter().map(|s| s.total).sum();
    let items: u64 = sums.iter().map(|s| s.items).sum();
    println!("{total}");
    eprintln!("{items} items; {summary}");
    for e in &summary.errors {
        eprintln!("{e}");
    }
    Ok(())
}
