#!/usr/bin/env bash
# Issue 3 benchmark: queries on the stream over the ~1.1 GB sessions document, next to the
# peers that are installed (ijson, jq). Usage: benchsuite/query.sh [RUNS]
source "$(dirname "$0")/lib.sh"
RUNS=${1:-5}
DOC=$DATA/s160.json
[ -f "$DOC" ] || python3 "$SHARED/bench/gen_data.py" sessions "$DOC" --scale 160
build_spate

STATS=(items sessions.item.delegations.item "$DOC" --group-by .agent_type --count --sum .input_tokens)
# Check the answer first: spate's per-agent statistics equal ijson's.
"$SPATE" "${STATS[@]}" > /tmp/spate-stats.jsonl
IJSON_STATS='
import ijson, json, sys
acc = {}
for d in ijson.items(open(sys.argv[1], "rb"), "sessions.item.delegations.item"):
    c = acc.setdefault(d["agent_type"], [0, 0]); c[0] += 1; c[1] += d["input_tokens"]
for k in sorted(acc):
    print(json.dumps({".agent_type": k, "count": acc[k][0], "sum(.input_tokens)": acc[k][1]}, separators=(",", ":")))
'
if python3 -c 'import ijson' 2>/dev/null; then
  python3 -c "$IJSON_STATS" "$DOC" > /tmp/ijson-stats.jsonl
  cmp /tmp/spate-stats.jsonl /tmp/ijson-stats.jsonl || { echo "per-agent statistics differ from ijson's" >&2; exit 1; }
fi

machine
echo "Data: $DOC ($(stat -c %s "$DOC") bytes), median of $RUNS runs, peak RSS"
echo
echo "| command | median | peak RSS |"
echo "|---|---|---|"
measure "spate items sessions.item.delegations.item --count" "$RUNS" "$SPATE" items sessions.item.delegations.item "$DOC" --count
measure "spate per-agent stats (--group-by .agent_type --count --sum .input_tokens)" "$RUNS" "$SPATE" "${STATS[@]}"
measure "spate marathons (-f 'select(.delegations | length > 20) | .session_id')" 3 "$SPATE" items sessions.item "$DOC" -f 'select(.delegations | length > 20) | .session_id'
measure "spate developer delegations with --with session_id" 3 "$SPATE" items sessions.item.delegations.item "$DOC" --with session_id=sessions.item.session_id -f 'select(.agent_type == "developer") | {session_id, delegation_id}'
measure "spate items sessions.item --limit 1" "$RUNS" "$SPATE" items sessions.item "$DOC" --limit 1
if python3 -c 'import ijson' 2>/dev/null; then
  measure "ijson ($(python3 -c 'import ijson; print(ijson.backend)')) per-agent stats" 3 python3 -c "$IJSON_STATS" "$DOC"
fi
if python3 -c 'import ijson' 2>/dev/null; then
  measure "ijson marathons (sessions with > 20 delegations)" 3 python3 -c "import ijson,sys; print(sum(1 for s in ijson.items(open(sys.argv[1],'rb'), 'sessions.item') if len(s['delegations']) > 20))" "$DOC"
fi
if have jq; then
  measure "jq per-agent stats (whole document in memory)" 1 jq -c '[.sessions[].delegations[]] | group_by(.agent_type)[] | {agent: .[0].agent_type, count: length, sum: (map(.input_tokens) | add)}' "$DOC"
fi
