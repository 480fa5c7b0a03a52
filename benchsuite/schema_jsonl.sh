#!/usr/bin/env bash
# JSON Lines schema inference, old build against new build, side by side in one run
# (issue 10: "JSON Lines schema inference is >= 2x faster than today").
#
#   benchsuite/schema_jsonl.sh OLD_SPATE NEW_SPATE [RUNS]
#
# Data (in $BENCH_DATA or ./benchdata, made when absent): the first 800 transcripts of
# gen_data.py claude --scale 1 concatenated into one JSON Lines file (62 MB, as ab.sh makes
# it), and the first 300,000 rows of gen_data.py csv --rows 1000000 converted to JSON Lines
# (flat records: integers, floats, dates, datetimes, booleans, strings, nulls; 56 MB).
# First the outputs must be identical (schema as text and --json, -j1 and default, a bad
# line's error message and exit code, a document's items); then each workload is timed
# with hyperfine, old and new alternated, at -j1 and at the default thread count, and the
# user+system CPU of one run of each is shown. With CALLGRIND=1 the -j1 runs are also
# counted in instructions (valgrind --tool=callgrind: repeatable on a busy machine).
source "$(dirname "$0")/lib.sh"
OLD=${1:?usage: schema_jsonl.sh OLD_SPATE NEW_SPATE [RUNS]}
NEW=${2:?usage: schema_jsonl.sh OLD_SPATE NEW_SPATE [RUNS]}
RUNS=${3:-15}
GEN=$SHARED/bench/gen_data.py
TREE=$DATA/claude1
CSV=$DATA/c1m.csv
S10=$DATA/sessions-10.json
[ -d "$TREE" ] || python3 "$GEN" claude "$TREE" --scale 1
[ -f "$CSV" ] || python3 "$GEN" csv "$CSV" --rows 1000000
[ -f "$S10" ] || python3 "$GEN" sessions "$S10" --scale 10
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CLAUDE=$WORK/claude.jsonl
FLAT=$WORK/flat.jsonl
find "$TREE" -name '*.jsonl' | sort | sed -n 1,800p | xargs cat >"$CLAUDE"
sed -n 1,300001p "$CSV" >"$WORK/c.csv"
"$OLD" convert "$WORK/c.csv" "$FLAT" --to jsonl >/dev/null 2>&1
BAD=$WORK/bad.jsonl
{ sed -n 1,20000p "$FLAT"; echo '{"id": 1, "x": tru}'; sed -n 20001,40000p "$FLAT"; } >"$BAD"

# --- 1. identical outputs -------------------------------------------------------------
same=0 differ=0
compare() {
  local name=$1
  shift
  (cd "$WORK" && "$OLD" "$@") >"$WORK/old.out" 2>&1 && echo "exit 0" >>"$WORK/old.out" || echo "exit $?" >>"$WORK/old.out"
  (cd "$WORK" && "$NEW" "$@") >"$WORK/new.out" 2>&1 && echo "exit 0" >>"$WORK/new.out" || echo "exit $?" >>"$WORK/new.out"
  if cmp -s "$WORK/old.out" "$WORK/new.out"; then
    same=$((same + 1))
  else
    differ=$((differ + 1))
    echo "DIFFERENT: $name"
    diff "$WORK/old.out" "$WORK/new.out" | head -10
  fi
}
for f in "$CLAUDE" "$FLAT"; do
  for j in "" "-j1" "-j3"; do
    # shellcheck disable=SC2086
    compare "schema $j $(basename "$f")" schema $j "$f"
    # shellcheck disable=SC2086
    compare "schema --json $j $(basename "$f")" schema --json $j "$f"
  done
  compare "schema --sample 1000 $(basename "$f")" schema --sample 1000 "$f"
done
compare "schema items" schema sessions.item.delegations.item "$S10"
echo "outputs: $same identical, $differ different"
# The error names the line and column the same way (validate's form); old builds before
# issue 10 worded it differently, so it is shown rather than compared.
for side in OLD NEW; do
  bin=${!side}
  printf '%s bad line: ' $side
  "$bin" schema "$BAD" 2>&1 | head -1 || true
done

# --- 2. timings -----------------------------------------------------------------------
[ -z "${NO_TIMING:-}" ] || exit $((differ > 0))
have hyperfine || { echo "hyperfine not installed: no timings"; exit $((differ > 0)); }
machine
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
hf() {
  local name=$1 args=$2
  hyperfine -N -w 2 -r "$RUNS" --export-json "$WORK/hf.json" \
    -n old "$OLD $args" -n new "$NEW $args" >/dev/null 2>&1
  local cpu_old cpu_new
  # shellcheck disable=SC2086
  cpu_old=$(/usr/bin/time -f '%U %S %M' "$OLD" $args 2>&1 >/dev/null | tail -1)
  # shellcheck disable=SC2086
  cpu_new=$(/usr/bin/time -f '%U %S %M' "$NEW" $args 2>&1 >/dev/null | tail -1)
  python3 - "$WORK/hf.json" "$name" "$cpu_old" "$cpu_new" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
o, n = r["old"], r["new"]
def cpu(s):
    u, sy, m = s.split()
    return f"{(float(u) + float(sy)) * 1e3:.0f} ms, {int(m) / 1024:.1f} MB"
print(f"| {sys.argv[2]} | {o['median']*1e3:.1f} ms ± {o['stddev']*1e3:.1f} | {n['median']*1e3:.1f} ms ± {n['stddev']*1e3:.1f} | {o['median']/n['median']:.2f}x | {cpu(sys.argv[3])} | {cpu(sys.argv[4])} |")
PY
}
echo "| workload (median of $RUNS, alternated) | old | new | old/new | old CPU, RSS | new CPU, RSS |"
echo "|---|---|---|---|---|---|"
hf "schema, 800 transcripts ($(du -h "$CLAUDE" | cut -f1))" "schema $CLAUDE"
hf "schema -j1, 800 transcripts" "schema -j1 $CLAUDE"
hf "schema, flat records ($(du -h "$FLAT" | cut -f1))" "schema $FLAT"
hf "schema -j1, flat records" "schema -j1 $FLAT"
hf "schema PATH, items of sessions-10.json" "schema sessions.item.delegations.item $S10"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${CALLGRIND:-}" ] && have valgrind; then
  for f in "$CLAUDE" "$FLAT"; do
    for side in OLD NEW; do
      bin=${!side}
      valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$bin" schema -j1 "$f" \
        >/dev/null 2>"$WORK/cg.err"
      printf 'callgrind %s schema -j1 %s: %s instructions\n' $side "$(basename "$f")" \
        "$(grep -o 'Collected : [0-9]*' "$WORK/cg.err" | grep -o '[0-9]*$')"
    done
  done
fi
exit $((differ > 0))
