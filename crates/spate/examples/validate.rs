//! Validates JSON files with the library API and prints each one's size and throughput.
//!
//! Run: `cargo run --release -p spate --example validate FILE...`

use std::time::Instant;

fn main() {
    let mut failed = false;
    for path in std::env::args().skip(1) {
        let started = Instant::now();
        let result = spate::source::open(path.as_ref())
            .and_then(|input| spate::validate_with(input.reader, &input.name, Default::default()));
        match result {
            Ok(bytes) => {
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "{path}: valid, {bytes} bytes, {:.0} MB/s",
                    bytes as f64 / secs / 1e6
                );
            }
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}
