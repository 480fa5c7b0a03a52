#!/usr/bin/env bash
# Issue 2 benchmark: stream the sessions of a ~1.1 GB document (gen_data.py --scale 160),
# next to the peer tools that are installed (ijson, jq, jaq) and `cat`.
# Usage: benchsuite/items.sh [RUNS]   (data goes to $BENCH_DATA, default ./benchdata)
source "$(dirname "$0")/lib.sh"
RUNS=${1:-5}
DOC=$DATA/s160.json
[ -f "$DOC" ] || python3 "$SHARED/bench/gen_data.py" sessions "$DOC" --scale 160
build_spate
SIZE=$(stat -c %s "$DOC")

# Check the answer before timing anything.
WANT=27680
GOT=$("$SPATE" items sessions.item "$DOC" --count)
[ "$GOT" = "$WANT" ] || { echo "spate counted $GOT sessions, want $WANT" >&2; exit 1; }
if python3 -c 'import ijson' 2>/dev/null; then
  IJ=$(python3 -c "import ijson,sys; print(sum(1 for _ in ijson.items(open(sys.argv[1],'rb'), 'sessions.item', use_float=True)))" "$DOC")
  [ "$IJ" = "$WANT" ] || { echo "ijson counted $IJ" >&2; exit 1; }
fi
# The item bytes equal ijson's re-serialised values on a sample (first 50 sessions).
if python3 -c 'import ijson' 2>/dev/null; then
  python3 - "$DOC" "$SPATE" <<'PY'
import ijson, json, subprocess, sys, itertools
doc, spate = sys.argv[1], sys.argv[2]
ours = subprocess.run([spate, "items", "sessions.item", doc, "--limit", "50"], capture_output=True, check=True).stdout.splitlines()
theirs = list(itertools.islice(ijson.items(open(doc, "rb"), "sessions.item", use_float=True), 50))
assert [json.loads(l) for l in ours] == theirs, "items differ from ijson's"
PY
fi

machine
echo "Data: $DOC ($SIZE bytes), median of $RUNS runs, peak RSS"
echo
echo "| command | median | peak RSS |"
echo "|---|---|---|"
measure "cat > /dev/null" "$RUNS" cat "$DOC"
measure "spate items sessions.item --count" "$RUNS" "$SPATE" items sessions.item "$DOC" --count
measure "spate items sessions.item (JSONL out)" "$RUNS" "$SPATE" items sessions.item "$DOC"
measure "spate items sessions.item.delegations.item --count" "$RUNS" "$SPATE" items sessions.item.delegations.item "$DOC" --count
measure "spate validate" "$RUNS" "$SPATE" validate "$DOC"
measure "spate items sessions.item --limit 1" "$RUNS" "$SPATE" items sessions.item "$DOC" --limit 1
if python3 -c 'import ijson' 2>/dev/null; then
  B=$(python3 -c 'import ijson; print(ijson.backend)')
  measure "ijson ($B) items count" 3 python3 -c "import ijson,sys; print(sum(1 for _ in ijson.items(open(sys.argv[1],'rb'), 'sessions.item')))" "$DOC"
fi
if have jaq; then measure "jaq '.sessions | length'" 1 jaq '.sessions | length' "$DOC"; fi
if have jq; then measure "jq '.sessions | length'" 1 jq '.sessions | length' "$DOC"; fi
echo
echo "Throughput of spate items --count: $(python3 -c "print(round($SIZE/1e9, 3))") GB / median time above."
