#!/usr/bin/env bash
# Old build against new build, side by side in one run: first every command's output must be
# byte-identical (stdout and exit code; throughput figures in messages are masked), then the
# workloads named by issue 10 are timed alternately with hyperfine (wall-clock median and
# mean CPU time, user + system, with the load average before and after: on a shared machine
# CPU time is the steadier figure).
#
#   benchsuite/ab.sh OLD_SPATE NEW_SPATE [RUNS]
#
# Data (made when absent, in $BENCH_DATA or ./benchdata): gen_data.py sessions --scale 10
# (65 MB) and --scale 160 (1.1 GB), claude --scale 1 (2,354 files), csv --rows 1000000.
# Needs hyperfine for the timing part (Debian package); without it only outputs are compared.
source "$(dirname "$0")/lib.sh"
OLD=${1:?usage: ab.sh OLD_SPATE NEW_SPATE [RUNS]}
NEW=${2:?usage: ab.sh OLD_SPATE NEW_SPATE [RUNS]}
RUNS=${3:-10}
GEN=$SHARED/bench/gen_data.py
S10=$DATA/sessions-10.json
S160=$DATA/s160.json
TREE=$DATA/claude1
CSV=$DATA/c1m.csv
[ -f "$S10" ] || python3 "$GEN" sessions "$S10" --scale 10
[ -f "$S160" ] || python3 "$GEN" sessions "$S160" --scale 160
[ -d "$TREE" ] || python3 "$GEN" claude "$TREE" --scale 1
[ -f "$CSV" ] || python3 "$GEN" csv "$CSV" --rows 1000000
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
JSONL=$WORK/claude.jsonl
find "$TREE" -name '*.jsonl' | sort >"$WORK/files"
sed -n 1,800p "$WORK/files" | xargs cat >"$JSONL"
sed -n 1,200000p "$CSV" >"$WORK/c.csv"

# --- 1. identical outputs --------------------------------------------------------------
same=0 differ=0
# compare NAME ARGS... : runs both binaries with ARGS (the word OUT is replaced by a fresh
# output file path, whose bytes are compared too).
compare() {
  local name=$1
  shift
  local side bin rc
  for side in old new; do
    [ $side = old ] && bin=$OLD || bin=$NEW
    local args=()
    for a in "$@"; do [ "$a" = OUT ] && args+=("$WORK/$side.out") || args+=("$a"); done
    rm -f "$WORK/$side.out"
    set +e
    (cd "$WORK" && TZ=UTC "$bin" "${args[@]}") >"$WORK/$side.stdout" 2>"$WORK/$side.stderr"
    rc=$?
    set -e
    echo "exit $rc" >>"$WORK/$side.stdout"
    sed -E -i 's/[0-9.]+ (MB|GB)\/s/N MB\/s/g; s/in [0-9.]+ (s|ms)/in T/g' "$WORK/$side.stdout"
    [ -f "$WORK/$side.out" ] && cat "$WORK/$side.out" >>"$WORK/$side.stdout"
  done
  if cmp -s "$WORK/old.stdout" "$WORK/new.stdout"; then
    same=$((same + 1))
  else
    differ=$((differ + 1))
    echo "DIFFERENT: $name"
    diff <(head -c 2000 "$WORK/old.stdout") <(head -c 2000 "$WORK/new.stdout") | head -10
  fi
}
D=sessions.item.delegations.item
compare "count" items sessions.item "$S10" --count
compare "items" items sessions.item "$S10"
compare "nested count" items $D "$S10" --count
compare "jsonpath" items '$.sessions[*].session_id' "$S10"
compare "limit" items sessions.item "$S10" --limit 3
compare "with" items $D "$S10" --with session_id=sessions.item.session_id
compare "filter -r" items sessions.item "$S10" -f 'select(.delegations | length > 20) | .session_id' -r
compare "filter object" items $D "$S10" --with session_id=sessions.item.session_id -f 'select(.agent_type == "developer") | {session_id, delegation_id}'
for o in jsonl json csv table; do
  compare "group-by -o $o" items $D "$S10" --group-by .agent_type --count --sum .input_tokens --min .input_tokens --max .input_tokens --mean .input_tokens -o $o
  compare "items -o $o" items $D "$S10" --limit 200 -o $o
done
compare "several paths" items -p metadata -p sessions.item.session_id "$S10"
compare "several paths count" items -p metadata -p sessions.item.session_id "$S10" --count
compare "tree sum" items message.usage.output_tokens "$TREE" --sum . --no-progress
compare "tree sum -j1" items message.usage.output_tokens "$TREE" --sum . --no-progress -j1
compare "tree filter sum" items . "$TREE" --no-progress -f 'select(.type == "assistant") | .message.usage.output_tokens' --sum .
compare "tree group-by" items . "$TREE" --no-progress --group-by .type --sum .message.usage.output_tokens --count
compare "tree items" items message.id "$TREE" --no-progress
compare "validate tree" validate -q "$TREE" --no-progress
compare "validate doc" validate "$S10"
compare "schema csv" schema "$CSV"
compare "schema csv json" schema --json "$CSV"
compare "schema jsonl" schema "$JSONL"
compare "schema jsonl json" schema --json "$JSONL"
compare "schema items" schema sessions.item.delegations.item "$S10"
compare "schema items json" schema --json sessions.item "$S10"
compare "convert csv jsonl" convert "$WORK/c.csv" OUT --to jsonl
compare "convert csv json" convert "$WORK/c.csv" OUT --to json
compare "convert jsonl csv" convert "$JSONL" OUT --to csv
compare "convert items csv" convert "$S10" OUT --path $D --to csv
for r in daily weekly monthly session model project delegations; do
  for tz in UTC Asia/Kolkata; do
    compare "agents $r $tz" agents $r --json --no-cache --path "$TREE" -z $tz
  done
  compare "agents $r table" agents $r --no-cache --path "$TREE" -z UTC
done
compare "agents daily breakdown" agents daily --breakdown --no-cache --path "$TREE" -z UTC
echo "outputs: $same identical, $differ different"

# --- 2. timings ---------------------------------------------------------------------------
[ -z "${NO_TIMING:-}" ] || exit $((differ > 0))
have hyperfine || { echo "hyperfine not installed: no timings"; exit $((differ > 0)); }
machine
CACHE=$WORK/cache
hf() {
  local name=$1
  shift
  hyperfine -N -w 1 -r "$RUNS" --export-json "$WORK/hf.json" -n old "${1//@/$OLD}" -n new "${1//@/$NEW}" >/dev/null 2>&1
  python3 - "$WORK/hf.json" "$name" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
o, n = r["old"], r["new"]
cpu = lambda x: (x["user"] + x["system"]) * 1e3
print(f"| {sys.argv[2]} | {o['median']*1e3:.1f} ms ± {o['stddev']*1e3:.1f} | {n['median']*1e3:.1f} ms ± {n['stddev']*1e3:.1f} | {n['median']/o['median']:.3f} | {cpu(o):.0f} / {cpu(n):.0f} ms | {cpu(n)/cpu(o):.3f} |")
PY
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| workload (median of $RUNS, alternated) | old | new | new/old | CPU old / new (user+sys, mean) | CPU new/old |"
echo "|---|---|---|---|---|---|"
hf "items sessions.item --count, 1.1 GB" "@ items sessions.item $S160 --count"
hf "items PATH tree --sum . (2,354 files)" "@ items message.usage.output_tokens $TREE --sum . --no-progress"
hf "agents daily --json --no-cache" "@ agents daily --json --no-cache --path $TREE -z UTC"
hf "schema c1m.csv (91 MB)" "@ schema $CSV"
hf "schema JSON Lines ($(du -h "$JSONL" | cut -f1))" "@ schema $JSONL"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for side in old new; do
  [ $side = old ] && bin=$OLD || bin=$NEW
  printf "peak RSS %s: " $side
  for cmd in "items sessions.item $S160 --count" "items message.usage.output_tokens $TREE --sum . --no-progress" \
    "agents daily --json --no-cache --path $TREE -z UTC" "schema $CSV" "schema $JSONL"; do
    # shellcheck disable=SC2086
    /usr/bin/time -f "%M" -o "$WORK/rss" "$bin" $cmd >/dev/null 2>&1 || true
    printf "%s MB  " $(($(cat "$WORK/rss") / 1024))
  done
  echo
done
exit $((differ > 0))
