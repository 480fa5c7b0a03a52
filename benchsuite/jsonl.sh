#!/usr/bin/env bash
# JSON Lines at scale: sum message.usage.output_tokens of the assistant lines of a Claude
# Code transcript tree (many small files), and of one big file made by concatenating them,
# with spate at -j1 and -jN, jq and jaq (when installed), next to `cat`.
#
# Usage: benchsuite/jsonl.sh [TREE]   (default: ../benchdata/claude1, made with
#        python3 ../shared/bench/gen_data.py claude TREE --scale 1 when missing)
# Env: RUNS (best of, default 5), SPATE_BIN (skip the build), BENCH_WORK (where the big
#      concatenated file goes, default ../benchdata).
#
# Every tool's answer is checked against spate -j1's before anything is timed; a wrong
# answer stops the run. Data stays outside the repository.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tree=${1:-$here/../benchdata/claude1}
work=${BENCH_WORK:-$here/../benchdata}
big=$work/claude1-all.jsonl
runs=${RUNS:-5}

if [ ! -d "$tree" ]; then
    python3 "$here/../shared/bench/gen_data.py" claude "$tree" --scale 1
fi
if [ -n "${SPATE_BIN:-}" ]; then
    spate=$SPATE_BIN # an already built binary
else
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
    cargo build --release -q -p spate-cli --manifest-path "$here/Cargo.toml"
    spate=$CARGO_TARGET_DIR/release/spate
fi

mapfile -t files < <(find "$tree" -type f -name '*.jsonl' | sort)
if [ ! -s "$big" ]; then
    cat "${files[@]}" > "$big"
fi
cores=$(nproc)
echo "machine: $(uname -m), $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tree: $tree (${#files[@]} files, $(du -sb "$tree" | cut -f1) bytes); big file: $(stat -c %s "$big") bytes"

sum_path() { "$spate" items message.usage.output_tokens "$@" --sum . --no-progress; }
sum_filter() {
    "$spate" items . "$@" --no-progress \
        -f 'select(.type == "assistant") | .message.usage.output_tokens' --sum .
}
jq_prog='reduce (inputs | select(.type == "assistant") | .message.usage.output_tokens // 0) as $x (0; . + $x)'

want=$(sum_path "$tree" -j1 | sed 's/.*://; s/}//')
echo "answer: $want"
check() {
    local name=$1 got=$2
    got=$(printf '%s' "$got" | sed 's/.*://; s/}//')
    if [ "$got" != "$want" ]; then
        echo "WRONG ANSWER from $name: $got (want $want)" >&2
        exit 1
    fi
}
check "spate path -jN tree" "$(sum_path "$tree")"
check "spate filter -jN tree" "$(sum_filter "$tree")"
check "spate path -j1 big" "$(sum_path "$big" -j1)"
check "spate path -jN big" "$(sum_path "$big")"
check "spate filter -jN big" "$(sum_filter "$big")"
check "spate group-by -jN tree" "$("$spate" items . "$tree" --no-progress --group-by .type \
    --sum .message.usage.output_tokens 2> /dev/null | grep '"assistant"')"
have_jq=$(command -v jq || true)
have_jaq=$(command -v jaq || true)
[ -n "$have_jq" ] && check jq "$(jq -n "$jq_prog" "$big")"
[ -n "$have_jaq" ] && check jaq "$(jaq -n "$jq_prog" "$big")"

# Best of $runs wall times and the peak RSS of the last run.
measure() {
    local name=$1
    shift
    local best="" rss=0 t
    for _ in $(seq "$runs"); do
        local s e
        s=$(date +%s.%N)
        /usr/bin/time -f %M -o "$work/.rss" "$@" > /dev/null 2> /dev/null
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc)
        rss=$(cat "$work/.rss")
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    done
    printf '| %-52s | %7.3f s | %6d MB |\n' "$name" "$best" $((rss / 1024))
}

echo
echo "| command | best of $runs | peak RSS |"
echo "|---|---|---|"
measure "cat tree > /dev/null" cat "${files[@]}"
measure "spate items PATH tree --sum . (-j$cores)" "$spate" items message.usage.output_tokens "$tree" --sum . --no-progress
measure "spate items PATH tree --sum . (-j1)" "$spate" items message.usage.output_tokens "$tree" --sum . --no-progress -j1
measure "spate items . tree -f 'select(..)|..' --sum . (-j$cores)" "$spate" items . "$tree" --no-progress -f 'select(.type == "assistant") | .message.usage.output_tokens' --sum .
measure "spate items . tree --group-by .type --sum PATH (-j$cores)" "$spate" items . "$tree" --no-progress --group-by .type --sum .message.usage.output_tokens
measure "spate validate tree (-j$cores)" "$spate" validate -q "$tree" --no-progress
measure "cat big > /dev/null" cat "$big"
measure "spate items PATH big --sum . (-j1)" "$spate" items message.usage.output_tokens "$big" --sum . --no-progress -j1
measure "spate items PATH big --sum . (-j$cores)" "$spate" items message.usage.output_tokens "$big" --sum . --no-progress
measure "spate items . big -f 'select(..)|..' --sum . (-j1)" "$spate" items . "$big" --no-progress -j1 -f 'select(.type == "assistant") | .message.usage.output_tokens' --sum .
measure "spate items . big -f 'select(..)|..' --sum . (-j$cores)" "$spate" items . "$big" --no-progress -f 'select(.type == "assistant") | .message.usage.output_tokens' --sum .
measure "spate items PATH big (print every item, -j$cores)" "$spate" items message.usage.output_tokens "$big" --no-progress
if [ -n "$have_jq" ]; then
    runs=1 measure "jq -n 'reduce inputs ...' big ($(jq --version))" jq -n "$jq_prog" "$big"
fi
if [ -n "$have_jaq" ]; then
    runs=1 measure "jaq -n 'reduce inputs ...' big ($(jaq --version))" jaq -n "$jq_prog" "$big"
fi
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "spate user+sys CPU seconds for the sum on the big file (independent of other load):"
for j in 1 "$cores"; do
    /usr/bin/time -f "  -j$j: %U user + %S sys, %e wall" "$spate" items message.usage.output_tokens "$big" --sum . --no-progress -j"$j" > /dev/null
done
rm -f "$work/.rss"
