//! Helpers shared by the integration tests: every input is run with several window sizes.

#![allow(dead_code)]

use spate::{Error, Items, ItemsOptions, Path};

/// Window sizes every test runs with: tiny windows split every token; `None` is the default.
pub const WINDOWS: [Option<usize>; 5] = [Some(1), Some(2), Some(7), Some(4096), None];

/// The raw items at `paths` of `doc` with the given window, or the error.
pub fn items_with(
    doc: &[u8],
    paths: &[&str],
    window: Option<usize>,
) -> Result<Vec<(usize, Vec<u8>)>, Error> {
    let paths = paths.iter().map(|p| Path::parse(p).unwrap()).collect();
    let options = ItemsOptions {
        window,
        ..ItemsOptions::default()
    };
    let mut items = Items::with_options(doc, "test", paths, options)?;
    let mut out = Vec::new();
    while let Some(item) = items.next_item()? {
        out.push((item.path_index(), item.raw().to_vec()));
    }
    Ok(out)
}

/// Runs `items_with` for every window size, checks that all agree, and returns the answer.
/// Errors agree when their offsets and messages agree.
pub fn items_all_windows(doc: &[u8], paths: &[&str]) -> Result<Vec<(usize, Vec<u8>)>, String> {
    let mut answers = WINDOWS
        .iter()
        .map(|&w| items_with(doc, paths, w).map_err(|e| e.to_string()));
    let first = answers.next().unwrap();
    for (w, other) in WINDOWS[1..].iter().zip(answers) {
        assert_eq!(
            normalise(&first),
            normalise(&other),
            "window {w:?} disagrees with window 1 on {:?}",
            String::from_utf8_lossy(&doc[..doc.len().min(200)])
        );
    }
    first
}

/// Error messages include an excerpt whose extent depends on the window; compare the first
/// line only (location and message).
fn normalise(r: &Result<Vec<(usize, Vec<u8>)>, String>) -> Result<Vec<(usize, Vec<u8>)>, String> {
    r.clone()
        .map_err(|e| e.lines().next().unwrap_or("").to_owned())
}
