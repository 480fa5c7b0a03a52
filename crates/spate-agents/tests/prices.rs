//! A model whose long-context threshold is not 200k (Haiku 5.5: 100k) is priced request by
//! request, also from the per-file sums a report normally uses and through the cache.

use spate_agents::load::{self, CacheMode};
use spate_agents::pricing::{format_usd_exact, PriceTable};
use spate_agents::report::{self, Period};
use spate_agents::usage::{self, Query};

#[test]
fn a_100k_threshold_is_applied_per_request_in_reports() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("projects").join("-home-me-app");
    std::fs::create_dir_all(&project).unwrap();
    let line = |i: u32, input: u32| {
        format!(
            concat!(
                r#"{{"type":"assistant","timestamp":"2026-05-01T10:0{}:00Z","sessionId":"s","#,
                r#""requestId":"r{}","message":{{"id":"m{}","model":"claude-haiku-5-5","#,
                r#""usage":{{"input_tokens":{},"output_tokens":1000}}}}}}"#,
                "\n"
            ),
            i, i, i, input
        )
    };
    // one request above 100k prompt tokens, one below
    std::fs::write(project.join("s.jsonl"), line(1, 150_000) + &line(2, 50_000)).unwrap();
    let price = PriceTable::embedded().lookup("claude-haiku-5-5").unwrap();
    let long = price.long_context.unwrap();
    // 150,000 × $0.5 + 1,000 × $2.5 (long) and 50,000 × $0.1 + 1,000 × $0.5 per million
    assert_eq!((long.input, long.output), (500_000, 2_500_000));
    let cache = tempfile::tempdir().unwrap();
    for (mode, per_request) in [
        (CacheMode::Off, false),
        (CacheMode::Off, true),
        (CacheMode::Dir(cache.path().into()), false),
        (CacheMode::Dir(cache.path().into()), false),
    ] {
        let roots = spate_agents::discover::resolve_roots(&[dir.path().to_owned()], None).unwrap();
        let corpus = load::load(&roots, &mode).unwrap();
        let u = usage::analyze(
            &corpus,
            Query {
                per_request,
                ..Query::default()
            },
        );
        let r = report::build(&u, Period::Daily, false);
        assert_eq!(
            format_usd_exact(r.totals.cost),
            "0.083",
            "{mode:?} {per_request}"
        );
    }
}
