//! Infers the schema of a JSON Lines file and prints it as JSON: a small binary to profile
//! the library's JSON Lines path (`cargo run --release --example jsonl_schema -- FILE [THREADS]`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: jsonl_schema FILE [THREADS]")?;
    let threads = args.next().map(|t| t.parse()).transpose()?.unwrap_or(0);
    let options = spate_csv::JsonOptions {
        threads,
        ..spate_csv::JsonOptions::default()
    };
    let schema = spate_csv::infer_jsonl_path(std::path::Path::new(&path), &options)?;
    println!("{}", serde_json::to_string(&schema)?);
    Ok(())
}
