#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60) on the nightly toolchain,
# installing what is missing (the nightly toolchain through rustup, cargo-fuzz through
# cargo install). Each target starts from the small seed corpus kept in fuzz/seeds/ and
# grows its own corpus under fuzz/target/corpus/ (not kept). A finding fails the script;
# the input that found it is in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(items_oracle jq_projection byte_filters split_document jsonl_split csv_reader agents_lines aggregate_members)
fi
for t in "${targets[@]}"; do
    mkdir -p "target/corpus/$t"
    echo "fuzz: $t for ${seconds}s"
    log="target/fuzz-$t.log"
    extra=()
    # csv_reader runs the parallel reader, whose rayon threads outlive each input: their
    # thread-local destructor records (64 bytes, glibc's) read as leaks to LeakSanitizer.
    [ "$t" = csv_reader ] && extra=(-detect_leaks=0)
    # aggregate_members needs member names written through escapes, which random bytes
    # rarely spell: a dictionary of them.
    [ "$t" = aggregate_members ] && extra=(-dict=aggregate_members.dict)
    if ! cargo +nightly fuzz run -O "$t" "target/corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 "${extra[@]}" \
        >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $t found a failure (the input is in fuzz/artifacts/$t/)"
        exit 1
    fi
    grep -E '^(#[0-9]+.*DONE|Done )' "$log" || true
done
