#!/usr/bin/env bash
# Benchmark `spate agents` against ccusage on a generated Claude Code transcript tree.
#
#   benchsuite/agents.sh [DATA_DIR]
#
# 1. generates the data set if absent (gen_data.py claude DIR --scale 1: 2,354 files, ~183 MB);
# 2. builds spate (release);
# 3. checks the answer before timing anything: spate's daily report from per-file sums must
#    equal the one summed request by request, and its token totals per day must equal
#    ccusage's when ccusage is installed (a wrong answer fails the run);
# 4. times `spate agents daily --json --no-cache`, the cached re-run after appending one line
#    to one file, the cached re-run of an unchanged tree, and ccusage, with hyperfine when
#    installed (else repeated /usr/bin/time runs), and records peak RSS with /usr/bin/time -v.
#
# Environment: SCALE (default 1), RUNS (default 10), CCUSAGE (default: ccusage on PATH),
# GEN (path to gen_data.py; default ../shared/bench/gen_data.py beside the repository).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-$repo/benchdata/claude${SCALE:-1}}"
runs="${RUNS:-10}"
gen="${GEN:-$repo/../shared/bench/gen_data.py}"
ccusage="${CCUSAGE:-$(command -v ccusage || true)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -d "$data/projects" ]; then
    echo "== generating $data (scale ${SCALE:-1})"
    python3 "$gen" claude "$data" --scale "${SCALE:-1}"
fi
echo "== data: $data ($(find "$data" -name '*.jsonl' | wc -l) files, $(du -sh "$data" | cut -f1))"

echo "== building spate (release)"
(cd "$repo" && cargo build --release -q -p spate-cli)
target="${CARGO_TARGET_DIR:-$repo/target}"
spate="$target/release/spate"

echo "== checking the answer"
"$spate" agents daily --json --no-cache --timezone UTC --path "$data" >"$work/spate.json" 2>"$work/spate.err"
"$spate" agents daily --json --no-cache --timezone UTC --per-request --path "$data" >"$work/spate-per-request.json" 2>/dev/null
if ! cmp -s "$work/spate.json" "$work/spate-per-request.json"; then
    echo "FAIL: per-file sums and per-request sums disagree" >&2
    exit 1
fi
echo "ok: per-file sums equal per-request sums"
if [ -n "$ccusage" ]; then
    for report in daily weekly monthly session; do
        "$spate" agents "$report" --json --no-cache --timezone UTC --path "$data" >"$work/spate-$report.json" 2>/dev/null
        CLAUDE_CONFIG_DIR="$data" "$ccusage" claude "$report" --offline --json --timezone UTC >"$work/ccusage-$report.json"
        python3 - "$report" "$work/spate-$report.json" "$work/ccusage-$report.json" <<'PY'
import json, sys
report, a, b = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
list_key, label = {"daily": ("daily", "date"), "weekly": ("weekly", "week"),
                   "monthly": ("monthly", "month"), "session": ("sessions", "sessionId")}[report]
keys = ["inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens"]
da = {d[label]: d for d in a[list_key]}; db = {d[label]: d for d in b[list_key]}
bad = [(k, f) for k in sorted(set(da) | set(db)) for f in keys
       if da.get(k, {}).get(f) != db.get(k, {}).get(f)]
bad += [("totals", f) for f in keys if a["totals"][f] != b["totals"][f]]
if bad:
    print(f"FAIL: {report}: token totals differ from ccusage:", bad[:10], file=sys.stderr); sys.exit(1)
cost_a, cost_b = a["totals"]["totalCost"], b["totals"]["totalCost"]
print(f"ok: {report}: {len(da)} lines, token totals equal ccusage's "
      f"({a['totals']['totalTokens']:,} tokens); cost spate ${cost_a:,.6f} vs ccusage ${cost_b:,.6f}")
PY
    done
else
    echo "(ccusage not installed: comparison skipped; npm install -g ccusage)"
fi

echo "== peak RSS"
/usr/bin/time -f "spate agents daily --json --no-cache: %e s, %M KB max RSS" \
    "$spate" agents daily --json --no-cache --path "$data" >/dev/null 2>"$work/rss-spate.txt" || true
tail -1 "$work/rss-spate.txt"
if [ -n "$ccusage" ]; then
    CLAUDE_CONFIG_DIR="$data" /usr/bin/time -f "ccusage claude daily --offline --json: %e s, %M KB max RSS" \
        "$ccusage" claude daily --offline --json >/dev/null 2>"$work/rss-cc.txt" || true
    tail -1 "$work/rss-cc.txt"
fi

# The cached runs use a copy of the tree, so that appending never touches the data set.
cp -r "$data" "$work/tree"
one="$(find "$work/tree/projects" -name '*.jsonl' | sort | sed -n 1p)"
line="$(grep -m1 '"usage"' "$one")"
cat >"$work/append.sh" <<SH
#!/usr/bin/env bash
n=\$(date +%s%N)
printf '%s\n' '$line' | sed "s/\"msg_/\"msg_\$n/; s/\"req_/\"req_\$n/" >>"$one"
SH
chmod +x "$work/append.sh"
cache="$work/cache"
"$spate" agents daily --json --cache-dir "$cache" --path "$work/tree" >/dev/null 2>&1

echo "== timing ($runs runs each)"
if command -v hyperfine >/dev/null; then
    bench() { hyperfine -N -w 2 -r "$runs" "$@" 2>&1 | grep -E "^Benchmark|Time|Range"; }
    bench -n "spate --no-cache" "$spate agents daily --json --no-cache --path $data"
    bench -n "spate cached, one file appended" --prepare "$work/append.sh" \
        "$spate agents daily --json --cache-dir $cache --path $work/tree"
    bench -n "spate cached, unchanged" "$spate agents daily --json --cache-dir $cache --path $work/tree"
    if [ -n "$ccusage" ]; then
        bench -n "ccusage --offline" "env CLAUDE_CONFIG_DIR=$data $ccusage claude daily --offline --json"
    fi
else
    for i in $(seq "$runs"); do
        /usr/bin/time -f "spate --no-cache %e s" "$spate" agents daily --json --no-cache --path "$data" >/dev/null 2>>"$work/t.txt"
        "$work/append.sh"
        /usr/bin/time -f "spate cached+append %e s" "$spate" agents daily --json --cache-dir "$cache" --path "$work/tree" >/dev/null 2>>"$work/t.txt"
    done
    grep -E " s$" "$work/t.txt" | sort | uniq -c
fi
