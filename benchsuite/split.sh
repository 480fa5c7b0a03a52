#!/usr/bin/env bash
# One JSON document on every core: the same queries at -j1 (one sequential scan) and -j2
# (the document cut into pieces, see docs/parallel.md), the old build as a peer, and jq on
# the small document. Answers are checked equal (byte for byte) before anything is timed.
# Usage: benchsuite/split.sh [RUNS]   (OLD=path/to/old/spate, BENCH_DATA=dir with the data)
# Prints Markdown rows: median wall time, median CPU (user+sys), peak RSS, load average.
source "$(dirname "$0")/lib.sh"
RUNS=${1:-5}
OLD=${OLD:-/work/old-target/release/spate}
build_spate

# measure_cpu NAME CMD...: median wall, median user+sys, largest peak RSS over RUNS runs.
measure_cpu() {
  local name=$1
  shift
  local walls=() cpus=() rss=0 e u s m load
  load=$(cut -d' ' -f1 /proc/loadavg)
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %U %S %M" -o /tmp/spate-split-time "$@" >/dev/null 2>/tmp/spate-split-err || {
      echo "| $name | failed: $(tail -1 /tmp/spate-split-err) | | | |"
      return 0
    }
    read -r e u s m </tmp/spate-split-time
    walls+=("$e")
    cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')")
    ((m > rss)) && rss=$m
  done
  local mw mc
  mw=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  mc=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  awk -v n="$name" -v w="$mw" -v c="$mc" -v r="$rss" -v l="$load" \
    'BEGIN {printf "| %s | %.3f s | %.3f s | %.1f MB | %s |\n", n, w, c, r / 1024, l}'
}

# Same output at -j1 and -j2 (and from the old build), or stop.
check() {
  local doc=$1
  shift
  local a b
  a=$("$SPATE" "$@" "$doc" -j1 | sha256sum)
  b=$("$SPATE" "$@" "$doc" -j2 | sha256sum)
  [ "$a" = "$b" ] || { echo "-j1 and -j2 differ: $* $doc" >&2; exit 1; }
  if [ -x "$OLD" ]; then
    b=$("$OLD" "$@" "$doc" -j2 | sha256sum)
    [ "$a" = "$b" ] || { echo "old build differs: $* $doc" >&2; exit 1; }
  fi
}

QUERIES=(
  "items sessions.item --count"
  "items sessions.item.delegations.item --count"
  "items sessions.item.delegations.item --group-by .agent_type --count"
  "items sessions.item -f select(.delegations|length>20)|.session_id"
  "items sessions.item.delegations.item --with session_id=sessions.item.session_id -f select(.agent_type==\"developer\")|.session_id"
)

machine
echo
for doc in "$DATA/s160.json" "$DATA/sessions-10.json"; do
  [ -f "$doc" ] || continue
  for q in "${QUERIES[@]}"; do
    # shellcheck disable=SC2206
    args=($q)
    check "$doc" "${args[@]}"
  done
  echo "Data: $doc ($(stat -c %s "$doc") bytes), median of $RUNS runs; answers checked equal"
  echo
  echo "| command | median wall | median CPU | peak RSS | load |"
  echo "|---|---|---|---|---|"
  for q in "${QUERIES[@]}"; do
    # shellcheck disable=SC2206
    args=($q)
    measure_cpu "spate $q -j1" "$SPATE" "${args[@]}" "$doc" -j1
    measure_cpu "spate $q -j2" "$SPATE" "${args[@]}" "$doc" -j2
    [ -x "$OLD" ] && measure_cpu "old build: $q -j2" "$OLD" "${args[@]}" "$doc" -j2
  done
  if have jq && [ "$(stat -c %s "$doc")" -lt 200000000 ]; then
    measure_cpu "jq '.sessions | length'" jq '.sessions | length' "$doc"
  fi
  echo
done
