#!/usr/bin/env bash
# Filters at the speed of plain paths (issue 16, section 2): jq filters of the common shapes
# run on the items' bytes, timed next to the plain path over the same items, in one run.
#
#   marathons   items sessions.item S160 -f 'select(.delegations | length > 20) | .session_id'
#               vs  items sessions.item S160 --count                         (goal <= 1.3x)
#   developer   items sessions.item.delegations.item S160 --with session_id=sessions.item.session_id
#                   -f 'select(.agent_type == "developer") | .session_id'
#               vs  items sessions.item.delegations.item S160 --count        (goal <= 1.3x)
#   tree        items . TREE -f 'select(.type == "assistant") | .message.usage.output_tokens' --sum .
#               and items . TREE -f 'select(.type == "assistant")' --sum .message.usage.output_tokens
#               vs  items message.usage.output_tokens TREE --sum .   at -j1 and -j2 (goal <= 1.5x)
#
# Each filter is also run as `(PROGRAM)?`: the same program outside the byte route's grammar,
# so it goes the jaq route in the same binary (same answers on this data, which has no errors).
#
# Usage: benchsuite/filters.sh
# Env: BENCHDATA (default /work/main/benchdata: s160.json, sessions-10.json, claude1/),
#      RUNS (runs per command, median reported, default 5), SPATE_BIN (skip the build),
#      BASE_BIN (an older build whose answers are compared too, default
#      /work/old-target/release/spate when present; with BASE_ROWS=1 its byte route and
#      plain paths are also timed, row under row, for an A/B of two builds), CALLGRIND=1
#      (instruction counts on sessions-10.json and the tree at -j1, under valgrind),
#      TREE (the JSON Lines tree, default BENCHDATA/claude1).
#
# Answers are checked before anything is timed: the byte route against the jaq route of the
# same binary, against BASE_BIN, and against jq on sessions-10.json and the tree. A wrong
# answer stops the run. Times are CPU seconds (user+sys, /usr/bin/time), the median of RUNS.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
data=${BENCHDATA:-/work/main/benchdata}
s160=$data/s160.json
s10=$data/sessions-10.json
tree=${TREE:-$data/claude1}
runs=${RUNS:-5}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

if [ -n "${SPATE_BIN:-}" ]; then
    spate=$SPATE_BIN
else
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
    cargo build --release -q -p spate-cli --manifest-path "$here/Cargo.toml"
    spate=$CARGO_TARGET_DIR/release/spate
fi
base=${BASE_BIN:-}
if [ -z "$base" ] && [ -x /work/old-target/release/spate ]; then
    base=/work/old-target/release/spate
fi

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "spate: $spate; base: ${base:-none}"

marathons='select(.delegations | length > 20) | .session_id'
developer='select(.agent_type == "developer") | .session_id'
tree_filter='select(.type == "assistant") | .message.usage.output_tokens'
tree_select='select(.type == "assistant")'
dlg=sessions.item.delegations.item
with=(--with session_id=sessions.item.session_id)

# ---- answers ----
same() {
    local name=$1 a=$2 b=$3
    if ! cmp -s "$a" "$b"; then
        echo "WRONG ANSWER: $name differ ($(wc -l < "$a") vs $(wc -l < "$b") lines)" >&2
        diff "$a" "$b" | head -5 >&2
        exit 1
    fi
    echo "same answers: $name ($(wc -l < "$a") lines, $(md5sum < "$a" | cut -c1-12))"
}
answers() { # name file args... : byte route, jaq route (same binary) and base binary agree
    local name=$1 prog=$2
    shift 2
    "$spate" "$@" -f "$prog" --no-progress > "$scratch/bytes"
    "$spate" "$@" -f "($prog)?" --no-progress > "$scratch/jaq"
    same "$name: byte route vs jaq route" "$scratch/bytes" "$scratch/jaq"
    if [ -n "$base" ]; then
        "$base" "$@" -f "$prog" --no-progress > "$scratch/base"
        same "$name: byte route vs $base" "$scratch/bytes" "$scratch/base"
    fi
}
answers "marathons s160" "$marathons" items sessions.item "$s160"
answers "developer s160" "$developer" items "$dlg" "$s160" "${with[@]}"
answers "marathons sessions-10" "$marathons" items sessions.item "$s10"
answers "developer sessions-10" "$developer" items "$dlg" "$s10" "${with[@]}"
answers "tree filter-sum" "$tree_filter" items . "$tree" --sum .
answers "tree select-sum" "$tree_select" items . "$tree" --sum .message.usage.output_tokens
answers "tree filter lines -j1" "$tree_filter" items . "$tree" -j1
answers "tree select lines -j1" "$tree_select" items . "$tree" -j1

# jq where the document fits in memory
"$spate" items sessions.item "$s10" -f "$marathons" --no-progress > "$scratch/bytes"
jq -c ".sessions[] | $marathons" "$s10" > "$scratch/jq"
same "marathons sessions-10: spate vs jq" "$scratch/bytes" "$scratch/jq"
"$spate" items "$dlg" "$s10" "${with[@]}" -f "$developer" --no-progress > "$scratch/bytes"
jq -c '.sessions[] | .session_id as $s | .delegations[] | . + {session_id: $s} | '"$developer" \
    "$s10" > "$scratch/jq"
same "developer sessions-10: spate vs jq" "$scratch/bytes" "$scratch/jq"
"$spate" items . "$tree" -j1 -f "$tree_select" --no-progress > "$scratch/bytes"
find "$tree" -type f -name '*.jsonl' | sort | xargs cat | jq -c "$tree_select" > "$scratch/jq"
same "tree select lines: spate -j1 vs jq (file order)" "$scratch/bytes" "$scratch/jq"
want=$("$spate" items message.usage.output_tokens "$tree" --sum . --no-progress -j1)
for prog in "$tree_filter" "($tree_filter)?"; do
    got=$("$spate" items . "$tree" -f "$prog" --sum . --no-progress -j1)
    [ "${got#*:}" = "${want#*:}" ] || { echo "WRONG SUM $got vs $want" >&2; exit 1; }
done
echo "same sums: plain path vs filters: $want"

# ---- times ----
# median CPU seconds (user+sys) of $runs runs, and the peak RSS of the last
cpu() {
    local t=()
    for _ in $(seq "$runs"); do
        /usr/bin/time -f '%U %S %M' -o "$scratch/time" "$@" > /dev/null 2> /dev/null
        t+=("$(awk '{printf "%.3f", $1 + $2}' "$scratch/time")")
    done
    local median
    median=$(printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$median $(awk '{printf "%.1f", $3 / 1024}' "$scratch/time")"
}
row() { # label baseline-seconds command...
    local label=$1 basel=$2
    shift 2
    local r
    r=$(cpu "$@")
    local s=${r% *} m=${r#* }
    printf '%-58s %7.3f s %8.1f MB %6s\n' "$label" "$s" "$m" \
        "$(awk -v a="$s" -v b="$basel" 'BEGIN {if (b > 0) printf "%.2fx", a / b}')"
    last=$s
}
echo
printf '%-58s %9s %11s %6s\n' "command (CPU user+sys, median of $runs)" "cpu" "peak RSS" "ratio"
# base_row LABEL COMMAND-ARGS...: the same command by BASE_BIN, against its own plain path
base_row() {
    if [ "${BASE_ROWS:-0}" = 1 ] && [ -n "$base" ]; then
        local label=$1
        shift
        row "  $label (base build)" "$bb" "$base" "$@"
    fi
}
base_plain() {
    bb=0
    if [ "${BASE_ROWS:-0}" = 1 ] && [ -n "$base" ]; then
        local label=$1
        shift
        row "  $label (base build)" 0 "$base" "$@"
        bb=$last
    fi
}
row "s160: items sessions.item --count" 0 "$spate" items sessions.item "$s160" --count --no-progress
b=$last
base_plain "s160: items sessions.item --count" items sessions.item "$s160" --count --no-progress
row "s160: marathons (byte route)" "$b" "$spate" items sessions.item "$s160" -f "$marathons" --no-progress
base_row "s160: marathons (byte route)" items sessions.item "$s160" -f "$marathons" --no-progress
row "s160: marathons (jaq route, same binary)" "$b" "$spate" items sessions.item "$s160" -f "($marathons)?" --no-progress
row "s160: items $dlg --count" 0 "$spate" items "$dlg" "$s160" --count --no-progress
b=$last
base_plain "s160: items $dlg --count" items "$dlg" "$s160" --count --no-progress
row "s160: developer --with (byte route)" "$b" "$spate" items "$dlg" "$s160" "${with[@]}" -f "$developer" --no-progress
base_row "s160: developer --with (byte route)" items "$dlg" "$s160" "${with[@]}" -f "$developer" --no-progress
row "s160: developer --with (jaq route, same binary)" "$b" "$spate" items "$dlg" "$s160" "${with[@]}" -f "($developer)?" --no-progress
for j in 1 2; do
    row "tree -j$j: items message.usage.output_tokens --sum ." 0 "$spate" items message.usage.output_tokens "$tree" --sum . --no-progress -j$j
    b=$last
    base_plain "tree -j$j: plain path" items message.usage.output_tokens "$tree" --sum . --no-progress -j$j
    row "tree -j$j: -f 'select(..) | .message...' --sum . (bytes)" "$b" "$spate" items . "$tree" -f "$tree_filter" --sum . --no-progress -j$j
    base_row "tree -j$j: filter then --sum ." items . "$tree" -f "$tree_filter" --sum . --no-progress -j$j
    row "tree -j$j: -f 'select(..)' --sum .message... (bytes)" "$b" "$spate" items . "$tree" -f "$tree_select" --sum .message.usage.output_tokens --no-progress -j$j
    base_row "tree -j$j: select then --sum .message..." items . "$tree" -f "$tree_select" --sum .message.usage.output_tokens --no-progress -j$j
    row "tree -j$j: -f 'select(..) | .message...' --sum . (jaq)" "$b" "$spate" items . "$tree" -f "($tree_filter)?" --sum . --no-progress -j$j
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- instruction counts (repeatable under load) ----
if [ "${CALLGRIND:-0}" = 1 ]; then
    echo
    irs() {
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 > /dev/null |
            sed -n 's/.*Collected : //p'
    }
    printf '%-58s %15s %6s\n' "command (-j1, callgrind)" "instructions" "ratio"
    ir_row() {
        local label=$1 basel=$2
        shift 2
        last=$(irs "$@")
        printf '%-58s %15s %6s\n' "$label" "$last" \
            "$(awk -v a="$last" -v b="$basel" 'BEGIN {if (b > 0) printf "%.2fx", a / b}')"
    }
    ir_base() { # label baseline command-args...: the same by BASE_BIN (with BASE_ROWS=1)
        if [ "${BASE_ROWS:-0}" = 1 ] && [ -n "$base" ]; then
            local label=$1 basel=$2
            shift 2
            ir_row "  $label (base build)" "$basel" "$base" "$@"
        fi
    }
    ir_row "sessions-10: items sessions.item --count" 0 "$spate" items sessions.item "$s10" --count --no-progress -j1
    b=$last
    ir_base "sessions-10: items sessions.item --count" 0 items sessions.item "$s10" --count --no-progress -j1
    bb=${last}
    ir_row "sessions-10: marathons (bytes)" "$b" "$spate" items sessions.item "$s10" -f "$marathons" --no-progress -j1
    ir_base "sessions-10: marathons (bytes)" "$bb" items sessions.item "$s10" -f "$marathons" --no-progress -j1
    ir_row "sessions-10: marathons (jaq)" "$b" "$spate" items sessions.item "$s10" -f "($marathons)?" --no-progress -j1
    ir_row "sessions-10: items $dlg --count" 0 "$spate" items "$dlg" "$s10" --count --no-progress -j1
    b=$last
    ir_base "sessions-10: items $dlg --count" 0 items "$dlg" "$s10" --count --no-progress -j1
    bb=${last}
    ir_row "sessions-10: developer --with (bytes)" "$b" "$spate" items "$dlg" "$s10" "${with[@]}" -f "$developer" --no-progress -j1
    ir_base "sessions-10: developer --with (bytes)" "$bb" items "$dlg" "$s10" "${with[@]}" -f "$developer" --no-progress -j1
    ir_row "sessions-10: developer --with (jaq)" "$b" "$spate" items "$dlg" "$s10" "${with[@]}" -f "($developer)?" --no-progress -j1
    ir_row "tree: items message.usage.output_tokens --sum ." 0 "$spate" items message.usage.output_tokens "$tree" --sum . --no-progress -j1
    b=$last
    ir_base "tree: items message.usage.output_tokens --sum ." 0 items message.usage.output_tokens "$tree" --sum . --no-progress -j1
    bb=${last}
    ir_row "tree: -f 'select(..) | .message...' --sum . (bytes)" "$b" "$spate" items . "$tree" -f "$tree_filter" --sum . --no-progress -j1
    ir_base "tree: -f 'select(..) | .message...' --sum . (bytes)" "$bb" items . "$tree" -f "$tree_filter" --sum . --no-progress -j1
    ir_row "tree: -f 'select(..)' --sum .message... (bytes)" "$b" "$spate" items . "$tree" -f "$tree_select" --sum .message.usage.output_tokens --no-progress -j1
    ir_base "tree: -f 'select(..)' --sum .message... (bytes)" "$bb" items . "$tree" -f "$tree_select" --sum .message.usage.output_tokens --no-progress -j1
    ir_row "tree: -f 'select(..) | .message...' --sum . (jaq)" "$b" "$spate" items . "$tree" -f "($tree_filter)?" --sum . --no-progress -j1
fi
