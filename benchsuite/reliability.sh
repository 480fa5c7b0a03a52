#!/usr/bin/env bash
# CPU time of the paths the reliability work touched (executor, query runner, aggregates,
# JSON Lines reader), old build against new, side by side, answers checked first.
#
#   benchsuite/reliability.sh OLD_SPATE NEW_SPATE [RUNS]
# Data: /work/main/benchdata (s160.json, sessions-10.json) and a JSON Lines file made
# from sessions-10.json. Prints, per case, the median user+sys CPU seconds and peak RSS.
set -euo pipefail
old=$1 new=$2 runs=${3:-3}
data=${BENCHDATA:-/work/main/benchdata}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$new" items sessions.item "$data/sessions-10.json" > "$tmp/s.jsonl"
cases=(
  "items sessions.item $data/s160.json --count"
  "items sessions.item $data/sessions-10.json -f .session_id"
  "items . $tmp/s.jsonl --group-by .project --count --sum .message_count"
  "items . $tmp/s.jsonl --group-by .session_id --count"
  "items . $tmp/s.jsonl -f .delegations|length"
  "validate $tmp/s.jsonl"
)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for c in "${cases[@]}"; do
  # shellcheck disable=SC2086
  if ! cmp -s <($old $c 2>/dev/null) <($new $c 2>/dev/null); then
    echo "DIFFERENT ANSWERS: $c"
  fi
  for bin in "$old" "$new"; do
    : > "$tmp/t"
    for _ in $(seq "$runs"); do
      # shellcheck disable=SC2086
      /usr/bin/time -f '%U %S %M' -a -o "$tmp/t" $bin $c > /dev/null 2>&1 || true
    done
    # (lines of /usr/bin/time's own, "Command exited with ...", are left out)
    cpu=$(awk '$1 ~ /^[0-9.]+$/ {print $1+$2}' "$tmp/t" | median)
    rss=$(awk '$1 ~ /^[0-9.]+$/ {print $3}' "$tmp/t" | median)
    printf '%-6s cpu %6.2f s  rss %7d KB  %s\n' "$([ "$bin" = "$old" ] && echo old || echo new)" "$cpu" "$rss" "$c"
  done
done
