#!/usr/bin/env bash
# What the usage ledger costs a warm `spate agents daily --json` (goal: ledger on ≤ 1.2× off).
#
#   benchsuite/ledger.sh [DATA_DIR]
#
# 1. generates the data set if absent (gen_data.py claude DIR --scale ${SCALE:-1});
# 2. builds spate (release);
# 3. checks the answer before timing: the report with the ledger equals the report without
#    it, and after one transcript is hidden the ledger's report still equals it;
# 4. times, interleaved and side by side, warm runs (cache and ledger up to date) with the
#    ledger and with --no-ledger: each sample is LOOP runs in one shell loop under
#    /usr/bin/time (CPU = user + system), RUNS samples, medians; peak RSS of single runs;
#    and the one-off cost of the first run that records a whole tree into an empty ledger.
#
# Environment: SCALE (default 1), RUNS (default 7), LOOP (default 20), GEN (gen_data.py).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-$repo/benchdata/claude${SCALE:-1}}"
runs="${RUNS:-7}"
loop="${LOOP:-20}"
gen="${GEN:-$repo/../shared/bench/gen_data.py}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export TZ=UTC

if [ ! -d "$data/projects" ]; then
    echo "== generating $data (scale ${SCALE:-1})"
    python3 "$gen" claude "$data" --scale "${SCALE:-1}"
fi
echo "== data: $data ($(find "$data" -name '*.jsonl' | wc -l) files, $(du -sh "$data" | cut -f1))"

echo "== building spate (release)"
(cd "$repo" && cargo build --release -q -p spate-cli)
spate="${CARGO_TARGET_DIR:-$repo/target}/release/spate"
common=(agents daily --json --timezone UTC --path "$data" --cache-dir "$work/cache")

echo "== first run into an empty ledger (warm cache)"
"$spate" "${common[@]}" --no-ledger >"$work/off.json" 2>/dev/null
/usr/bin/time -f '%e s wall, %U s user, %S s sys, %M KB peak' \
    "$spate" "${common[@]}" --ledger-dir "$work/ledger" >"$work/on.json" 2>"$work/first.err"
tail -1 "$work/first.err"
echo "ledger: $(stat -c %s "$work/ledger/usage-ledger.bin") bytes"

echo "== checking the answer"
cmp "$work/on.json" "$work/off.json"
# one transcript hidden from the tree (a second root folder listing all but one file would
# copy the data; instead the ledger's own export, imported into an empty tree, must give the
# same totals)
"$spate" agents ledger export "$work/all.ledger" --path "$data" --cache-dir "$work/cache" \
    --ledger-dir "$work/ledger" 2>/dev/null
mkdir -p "$work/empty/projects"
"$spate" agents ledger import "$work/all.ledger" --path "$work/empty" --no-cache \
    --ledger-dir "$work/ledger2" 2>/dev/null
"$spate" agents daily --json --timezone UTC --path "$work/empty" --no-cache \
    --ledger-dir "$work/ledger2" >"$work/imported.json" 2>/dev/null
python3 - "$work/off.json" "$work/imported.json" <<'PY'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
if a["totals"] != b["totals"]:
    sys.exit(f"FAIL: the ledger alone gives {b['totals']}, the transcripts {a['totals']}")
print("ok: with the ledger = without; the ledger alone = the transcripts")
PY

echo "== warm runs: $runs samples of $loop runs each, interleaved"
sample() { # name, args...
    local name="$1"; shift
    /usr/bin/time -f "$name %e %U %S" bash -c \
        'for _ in $(seq '"$loop"'); do "$@" >/dev/null 2>&1; done' _ "$@" 2>&1 | tail -1
}
for _ in $(seq "$runs"); do
    sample on "$spate" "${common[@]}" --ledger-dir "$work/ledger"
    sample off "$spate" "${common[@]}" --no-ledger
done >"$work/samples"
for v in on off; do
    /usr/bin/time -f "$v %M" "$spate" "${common[@]}" $([ $v = on ] && echo --ledger-dir "$work/ledger" || echo --no-ledger) 2>&1 >/dev/null | tail -1
done >"$work/rss"
python3 - "$work/samples" "$work/rss" "$loop" <<'PY'
import statistics as st, sys
loop = int(sys.argv[3])
d = {}
for l in open(sys.argv[1]):
    v, e, u, s = l.split()
    d.setdefault(v, []).append((float(e) / loop * 1000, (float(u) + float(s)) / loop * 1000))
rss = dict(l.split() for l in open(sys.argv[2]))
print("| ledger | wall ms (median) | CPU ms (median) | CPU samples | peak RSS |")
print("|---|---|---|---|---|")
for v in ("on", "off"):
    xs = d[v]
    print(f"| {v} | {st.median(x[0] for x in xs):.1f} | {st.median(x[1] for x in xs):.1f} "
          f"| {' '.join(f'{x[1]:.1f}' for x in xs)} | {int(rss[v]) / 1024:.1f} MB |")
on = st.median(x[1] for x in d["on"]); off = st.median(x[1] for x in d["off"])
print(f"CPU ratio on/off: {on / off:.2f}x")
PY
