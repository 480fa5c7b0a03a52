# Shared helpers for the benchsuite scripts (source it).
#   measure NAME RUNS CMD...   runs CMD RUNS times (stdout to /dev/null), prints the median
#                              wall time and the largest peak RSS, as a Markdown table row.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$REPO/../shared}
DATA=${BENCH_DATA:-$REPO/benchdata}
SPATE=$REPO/target/release/spate
mkdir -p "$DATA"

build_spate() {
  (cd "$REPO" && cargo build --release -q -p spate-cli)
}

have() { command -v "$1" >/dev/null 2>&1; }

measure() {
  local name=$1 runs=$2
  shift 2
  local times=() rss=0 t m
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o /tmp/spate-bench-time "$@" >/dev/null 2>/tmp/spate-bench-err || {
      echo "| $name | failed: $(tail -1 /tmp/spate-bench-err) | |"
      return 0
    }
    read -r t m </tmp/spate-bench-time
    times+=("$t")
    ((m > rss)) && rss=$m
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  awk -v n="$name" -v t="$median" -v r="$rss" 'BEGIN {printf "| %s | %.3f s | %.1f MB |\n", n, t, r / 1024}'
}

machine() {
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%Y-%m-%d)"
}
