//! The four seed analyses of a sessions document, each a few lines on the stream:
//!
//! 1. marathons: sessions with more than 20 delegations (ids and counts, by count);
//! 2. P4 marathons: marathons whose first delegation falls in period P4 (the document's
//!    `metadata.periods` maps P1..P4 to months);
//! 3. developer delegations, with their session id;
//! 4. per-agent statistics: count and summed `input_tokens` per `agent_type`.
//!
//! Run: `cargo run --release -p spate --example analyses [FILE]` (default: the sample in
//! `testdata/sample/sessions.json`).

use std::fs::File;
use std::io::BufReader;

use spate::query::Query;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/sample/sessions.json"
        )
        .to_owned()
    });
    let open = || File::open(&path).map(BufReader::new);

    // 1. Marathons, sorted by delegation count (then id).
    let mut marathons = Query::new("sessions.item")?
        .jq("select(.delegations | length > 20) | {session_id, delegations: (.delegations | length)}")?
        .results(open()?)?;
    marathons.sort_by_key(|m| {
        (
            m["delegations"].as_u64(),
            m["session_id"].as_str().map(str::to_owned),
        )
    });
    println!("marathons: {}", marathons.len());
    for m in &marathons {
        println!(
            "  {} {}",
            m["session_id"].as_str().unwrap_or("?"),
            m["delegations"]
        );
    }

    // 2. P4 marathons: the period table is read from the document on the way.
    let p4 = Query::new("sessions.item")?
        .with("periods", "metadata.periods")?
        .jq("select((.delegations | length) > 20 and (.delegations[0].timestamp[0:7] == .periods.P4)) | .session_id")?
        .results(open()?)?;
    println!("P4 marathons: {}", p4.len());

    // 3. Developer delegations with the id of their session.
    let developer = Query::new("sessions.item.delegations.item")?
        .with("session_id", "sessions.item.session_id")?
        .filter(|d| d["agent_type"] == "developer")
        .jq("{session_id, delegation_id}")?
        .results(open()?)?;
    println!("developer delegations: {}", developer.len());

    // 4. Per-agent statistics.
    let report = Query::new("sessions.item.delegations.item")?
        .group_by(".agent_type")?
        .count()
        .sum(".input_tokens")?
        .aggregate(open()?)?;
    print!("per agent:\n{}", report.to_json_lines());
    Ok(())
}
