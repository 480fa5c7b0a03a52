#!/usr/bin/env bash
# Plain files scanned in place (mapped) against read(): an old build (or the same build with
# SPATE_NO_MMAP=1) against a new one, run alternately on the 1.1 GB sessions document (and,
# with a JSON Lines file given, `items` and `schema` over it). Outputs are compared first (must be
# byte-identical); then each command prints the medians of wall time and CPU time (user +
# system) and the largest peak RSS of RUNS runs per side, with the load average around.
#
#   benchsuite/mapped.sh OLD_SPATE NEW_SPATE [RUNS] [JSONL]
#
# OLD_SPATE may be `noMMAP`: NEW_SPATE with SPATE_NO_MMAP=1.
source "$(dirname "$0")/lib.sh"
OLD=${1:?usage: mapped.sh OLD_SPATE NEW_SPATE [RUNS] [JSONL]}
NEW=${2:?usage: mapped.sh OLD_SPATE NEW_SPATE [RUNS] [JSONL]}
RUNS=${3:-5}
JSONL=${4:-}
S160=$DATA/s160.json
[ -f "$S160" ] || python3 "$SHARED/bench/gen_data.py" sessions "$S160" --scale 160
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

run() { # SIDE ARGS... : runs one side
  local side=$1
  shift
  if [ "$side" = old ] && [ "$OLD" = noMMAP ]; then
    SPATE_NO_MMAP=1 "$NEW" "$@"
  elif [ "$side" = old ]; then
    "$OLD" "$@"
  else
    "$NEW" "$@"
  fi
}

D=sessions.item.delegations.item
cmds=(
  "count|items sessions.item $S160 --count"
  "aggregate|items $D $S160 --group-by .agent_type --count --sum .input_tokens"
  "filter|items sessions.item $S160 -f select(.delegations|length>20)|.session_id --count"
)
if [ -n "$JSONL" ]; then
  cmds+=("jsonl sum|items message.usage.output_tokens $JSONL --sum .")
  cmds+=("jsonl group-by|items . $JSONL --group-by .type --count")
  cmds+=("schema jsonl|schema $JSONL")
fi

split_args() { # "name|args" -> ARGS array (the filter is one word)
  local spec=${1#*|}
  ARGS=()
  read -r -a ARGS <<<"$spec"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for spec in "${cmds[@]}"; do
  name=${spec%%|*}
  split_args "$spec"
  run old "${ARGS[@]}" >"$WORK/old" 2>&1 || true
  run new "${ARGS[@]}" >"$WORK/new" 2>&1 || true
  if cmp -s "$WORK/old" "$WORK/new"; then echo "$name: outputs identical"; else
    echo "$name: OUTPUTS DIFFER"
    diff "$WORK/old" "$WORK/new" | head -5
  fi
done
echo
echo "| command | old wall | new wall | old CPU | new CPU | old RSS | new RSS |"
echo "|---|---|---|---|---|---|---|"
for spec in "${cmds[@]}"; do
  name=${spec%%|*}
  split_args "$spec"
  : >"$WORK/t.old"
  : >"$WORK/t.new"
  for _ in $(seq "$RUNS"); do
    for side in old new; do
      if [ "$side" = old ] && [ "$OLD" = noMMAP ]; then
        SPATE_NO_MMAP=1 /usr/bin/time -f '%e %U %S %M' -a -o "$WORK/t.$side" "$NEW" "${ARGS[@]}" >/dev/null 2>&1
      else
        bin=$OLD
        [ $side = new ] && bin=$NEW
        /usr/bin/time -f '%e %U %S %M' -a -o "$WORK/t.$side" "$bin" "${ARGS[@]}" >/dev/null 2>&1
      fi
    done
  done
  med() { # FILE FIELD-EXPR
    awk "{print $2}" "$1" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
  }
  printf '| %s | %.2f s | %.2f s | %.2f s | %.2f s | %.0f MB | %.0f MB |\n' "$name" \
    "$(med "$WORK/t.old" '$1')" "$(med "$WORK/t.new" '$1')" \
    "$(med "$WORK/t.old" '$2+$3')" "$(med "$WORK/t.new" '$2+$3')" \
    "$(awk 'm<$4{m=$4} END{print m/1024}' "$WORK/t.old")" "$(awk 'm<$4{m=$4} END{print m/1024}' "$WORK/t.new")"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
