#!/usr/bin/env bash
# Re-runs the sixteen reproductions of the reliability issue (issue 11) against a spate
# binary and prints, for each, what happened: exit code, wall time, peak RSS and the first
# line of standard error. Each row also states the promise and whether it held (PASS/FAIL),
# decided by the script, so a regression shows up as FAIL.
#
#   benchsuite/scenarios.sh [SPATE] [SCRATCH]
#
# SPATE defaults to target/release/spate; SCRATCH (default a temporary folder, removed at
# the end) receives the generated inputs (about 600 MB at peak).
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
spate="$(realpath "${1:-$here/target/release/spate}")"
scratch="${2:-$(mktemp -d)}"
mkdir -p "$scratch"
trap '[ -z "${2:-}" ] && rm -rf "$scratch"' EXIT
cd "$scratch" || exit 2
[ -x "$spate" ] || { echo "no spate binary at $spate" >&2; exit 2; }

pass=0
fail=0
# run LABEL LIMIT_MB EXPECT_RC CMD... : runs CMD through /usr/bin/time with a 120 s timeout,
# passes when the exit code is EXPECT_RC (a space-separated list) and the peak RSS is at most
# LIMIT_MB.
run() {
    local label="$1" limit="$2" expect="$3"
    shift 3
    local rc rss wall err verdict=PASS
    timeout 120 /usr/bin/time -f '%e %M' -o time.txt "$@" >out.txt 2>err.txt
    rc=$?
    read -r wall rss < <(tail -n 1 time.txt) || { wall=?; rss=0; }
    err="$(grep -v '^Command exited' err.txt | head -n 1 | cut -c1-110)"
    [[ " $expect " == *" $rc "* ]] || verdict=FAIL
    [ "$rc" = 124 ] && verdict="FAIL (timeout)"
    [ "$((rss / 1024))" -le "$limit" ] || verdict="FAIL (memory)"
    [ "$verdict" = PASS ] && pass=$((pass + 1)) || fail=$((fail + 1))
    printf '%-58s rc=%-3s %6ss %6s MB  %s\n    %s\n' "$label" "$rc" "$wall" "$((rss / 1024))" "$verdict" "$err"
}
# check LABEL CONDITION... : a verdict decided by a shell test rather than by a command run.
check() {
    local label="$1"
    shift
    if "$@"; then pass=$((pass + 1)); printf '%-58s PASS\n' "$label"; else fail=$((fail + 1)); printf '%-58s FAIL\n' "$label"; fi
}

echo "spate: $spate ($("$spate" --version))"
echo "date:  $(date -u '+%Y-%m-%d %H:%M UTC'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# 1. Bad lines do not grow memory; --max-errors stops reading.
yes x | head -n 10000000 >x.jsonl
run "1a validate --max-errors 5 (10M bad lines)" 64 1 "$spate" validate --max-errors 5 x.jsonl
run "1b 300 MB of 'x' on stdin, --max-errors 5" 64 1 \
    sh -c "yes x | head -c 300000000 | '$spate' validate --format jsonl --max-errors 5"
run "1c --format jsonl /dev/urandom --max-errors 5" 64 1 "$spate" validate --format jsonl --max-errors 5 /dev/urandom
run "1d items . --on-error skip --count (10M bad lines)" 64 "0 1" "$spate" items . x.jsonl --on-error skip --count
rm -f x.jsonl

# 2. A table over a big input keeps memory bounded.
python3 - <<'EOF'
import json
with open("big.jsonl", "w") as f:
    for i in range(1_500_000):
        f.write(json.dumps({"id": i, "name": f"user{i}", "tags": ["a", "b"], "score": i * 0.5}) + "\n")
EOF
run "2 items . big.jsonl -o table ($(du -m big.jsonl | cut -f1) MB)" 128 "0 1 2" \
    sh -c "'$spate' items . big.jsonl -o table > /dev/null"
run "2b ... -o table | head -1" 128 "0 1 2 141" sh -c "'$spate' items . big.jsonl -o table | head -1"
rm -f big.jsonl

# 3. Generators stream; --limit ends the program.
echo '{"a":1}' >one.jsonl
run "3a -f 'repeat(1)' --limit 5" 64 0 "$spate" items . one.jsonl -f 'repeat(1)' --limit 5
run "3b -f 'range(1e7)' --count" 64 0 "$spate" items . one.jsonl -f 'range(1e7)' --count

# 4. Deep nesting with a raised --max-depth never crashes.
python3 -c "print('['*10000 + ']'*10000)" >deep.json
run "4 10,000 nested arrays, --max-depth 20000 -f length" 256 "0 1" \
    "$spate" items . deep.json --max-depth 20000 -f length

# 5. Huge numbers: near-linear or a clear limit.
python3 -c "print('[' + '7'*10_000_000 + ']')" >num.json
run "5a a 10-million-digit number, --sum ." 256 "0 1" "$spate" items item num.json --sum .
run "5b ... --min ." 256 "0 1" "$spate" items item num.json --min .
run "5c ... -f '.+1'" 256 "0 1" "$spate" items item num.json -f '.+1'
rm -f num.json

# 6. Converting a file onto itself never destroys it.
printf 'a,b\n1,2\n' >s.csv
run "6a convert s.csv s.csv refused" 64 2 "$spate" convert s.csv s.csv
ln -sf s.csv link.csv
run "6b convert s.csv link.csv (a symlink to it) refused" 64 2 "$spate" convert s.csv link.csv
check "6c s.csv intact" test "$(cat s.csv)" = "$(printf 'a,b\n1,2')"

# 7. Ragged CSV with --flexible: a clear error or padding, no partial output.
printf 'a,b\n1,2,3,4\n5,6\n' >e.csv
rm -f o.csv
run "7 convert --flexible ragged CSV" 64 "0 1" "$spate" convert --flexible e.csv o.csv
check "7b no partial o.csv unless it succeeded" sh -c "[ ! -e o.csv ] || grep -q . o.csv"

# 8. Invalid UTF-8 in CSV: exit 1 with a position, before any output.
printf 'caf\xe9,b\n1,2\n' >h.csv
run "8a schema of a CSV with invalid UTF-8" 64 1 "$spate" schema h.csv
rm -f h.jsonl
run "8b convert of it" 64 1 "$spate" convert h.csv h.jsonl
check "8c no output file left" test ! -e h.jsonl

# 9. SIGINT during the first cache write leaves no temporary files.
python3 "$here/../shared/bench/gen_data.py" --scale 0.2 claude tree >/dev/null 2>&1 || true
if [ -d tree ]; then
    for i in $(seq 1 10); do
        rm -rf cache9
        SPATE_LEDGER_DIR="$PWD/ledger9" "$spate" agents daily --cache-dir cache9 --path tree >/dev/null 2>&1 &
        pid=$!
        sleep "0.0$((RANDOM % 9 + 1))"
        kill -INT "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        if find cache9 -name '.tmp*' 2>/dev/null | grep -q .; then
            echo "    run $i left $(find cache9 -name '.tmp*' | wc -l) temporary files"
            leftovers=1
        fi
    done
    check "9 SIGINT during the first cache write, 10 runs: no .tmp files" test -z "${leftovers:-}"
else
    echo "9 skipped: gen_data.py could not make a transcript tree"
fi

# 10. Group keys compare numbers by value.
printf '{"v":1E2}\n{"v":100}\n{"v":100.0}\n{"v":0}\n{"v":-0}\n' >g.jsonl
groups=$("$spate" items . g.jsonl --format jsonl --group-by .v --count -o jsonl | wc -l)
groups_jq=$("$spate" items . g.jsonl --format jsonl --group-by '.v|.' --count -o jsonl | wc -l)
check "10 numeric group keys: 2 groups on both routes (got $groups and $groups_jq)" \
    test "$groups" = 2 -a "$groups_jq" = 2

printf '{"k":"A"}\n{"k":"\\u0041"}\n' >a.jsonl
groups=$("$spate" items . a.jsonl --format jsonl --group-by .k --count -o jsonl | wc -l)
groups_jq=$("$spate" items . a.jsonl --format jsonl --group-by '.k|.' --count -o jsonl | wc -l)
check "10b \"A\" and \"\\u0041\" are one group on both routes (got $groups and $groups_jq)" \
    test "$groups" = 1 -a "$groups_jq" = 1

# 11. A million distinct group keys: small per group, a limit that ends with a clear error.
python3 -c "
import sys
w = sys.stdout.write
for i in range(1_000_000): w('{\"k\":\"key%d\"}\n' % i)
" >k.jsonl
run "11a --group-by .k over 1M distinct keys" 400 0 "$spate" items . k.jsonl --group-by .k --count -o jsonl
python3 -c "
import sys
w = sys.stdout.write
for i in range(4_000_000): w('{\"k\":%d}\n' % i)
" >k4.jsonl
run "11b 4M distinct keys (limit error or success, no abort)" 1600 "0 1" \
    "$spate" items . k4.jsonl --group-by .k --count -o jsonl
rm -f k.jsonl k4.jsonl

# 12. Errors show an excerpt, not the whole item.
python3 -c "print('{\"x\": \"' + 'y'*50_000_000 + '\"}')" >bigstr.jsonl
run "12 -f '.x' error on a 50 MB string item" 512 "0 1 5" \
    sh -c "'$spate' items . bigstr.jsonl -f '.x | . + 1' > /dev/null"
check "12b the error message is short ($(wc -c <err.txt) bytes)" test "$(wc -c <err.txt)" -lt 2000
rm -f bigstr.jsonl

# 13. Hints name flags the command has.
python3 -c "print('{\"a\":' * 200 + '1' + '}' * 200)" >deep.jsonl
"$spate" schema deep.jsonl >/dev/null 2>err13.txt
check "13 schema's depth hint names no --max-depth" sh -c "! grep -q -- '--max-depth' err13.txt"

# 14. A broken symlink in the transcript tree is reported.
mkdir -p t14/projects/p
ln -sf /nonexistent t14/projects/p/gone.jsonl
printf '{"type":"user","timestamp":"2026-01-01T00:00:00Z"}\n' >t14/projects/p/ok.jsonl
SPATE_LEDGER_DIR="$PWD/ledger14" run "14 broken symlink, agents daily --strict" 64 "1 2" \
    "$spate" agents daily --strict --no-cache --path t14

# 15. A mean over an overflowing number says why.
printf '{"v":1e400}\n' >m.jsonl
"$spate" items v m.jsonl --format jsonl --mean . >out15.txt 2>err15.txt
# (a mean beyond f64 is now given exactly, as text, rather than null)
check "15 mean of 1e400 is 1e400, not null" grep -q '"mean(.)":1e400' out15.txt

# 16. Every agents line is accounted for.
mkdir -p t16/projects/p
printf '{"type":"assistant","timestamp":"2026-01-01T00:00:00Z","requestId":"r","message":{"id":"m","model":"claude-opus-4-7","usage":"notanobject"}}\n' \
    >t16/projects/p/s.jsonl
SPATE_LEDGER_DIR="$PWD/ledger16" "$spate" agents daily --no-cache --path t16 >out16.txt 2>err16.txt
check "16 a line with a non-object usage is counted as skipped" grep -qi 'skipped' err16.txt

echo
echo "passed: $pass, failed: $fail"
[ "$fail" = 0 ]
