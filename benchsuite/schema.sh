#!/usr/bin/env bash
# Times `spate schema` on the 1M-row CSV against the installed peers (DuckDB, Polars), after
# checking that spate's answer is right. A wrong answer fails the run instead of timing it.
#
#   benchsuite/schema.sh [ROWS]        (default 1000000; data in $BENCHDATA or ./benchdata)
#
# Needs: cargo, python3 (data generation and the answer check). Optional: hyperfine (medians of
# runs; without it each command runs 5 times and the median is printed), /usr/bin/time (peak
# RSS), python modules duckdb and polars (peers; skipped when missing).
set -euo pipefail

ROWS="${1:-1000000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA_DIR="${BENCHDATA:-$ROOT/benchdata}"
GEN="${GEN_DATA:-$ROOT/../shared/bench/gen_data.py}"
[ -f "$GEN" ] || GEN=/work/shared/bench/gen_data.py
mkdir -p "$DATA_DIR"
if [ "$ROWS" = 1000000 ]; then CSV="$DATA_DIR/c1m.csv"; else CSV="$DATA_DIR/c$ROWS.csv"; fi

if [ ! -s "$CSV" ]; then
  echo "generating $CSV ($ROWS rows)"
  python3 "$GEN" csv "$CSV.tmp" --rows "$ROWS" && mv "$CSV.tmp" "$CSV"
fi

if [ -z "${SPATE:-}" ]; then  # SPATE=/path/to/spate skips the build
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
  (cd "$ROOT" && cargo build --release -q -p spate-cli)
  SPATE="$CARGO_TARGET_DIR/release/spate"
fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== file: $CSV ($(du -h "$CSV" | cut -f1))"

# 1. The answer: every column's type, null count and min/max, checked against a plain Python
#    pass over the same file (csv module, the same rules for the columns of this data set).
"$SPATE" schema --json "$CSV" > "$DATA_DIR/schema.spate.json"
python3 - "$CSV" "$DATA_DIR/schema.spate.json" <<'EOF'
import csv, json, re, sys, datetime
path, got_path = sys.argv[1], sys.argv[2]
got = {f["name"]: f for f in json.load(open(got_path))["fields"]}
INT = re.compile(r"[+-]?(0|[1-9][0-9]*)\Z")
FLOAT = re.compile(r"[+-]?(0|[1-9][0-9]*)?(\.[0-9]*)?([eE][+-]?[0-9]+)?\Z")
def kind(v):
    if INT.match(v): return "integer"
    if FLOAT.match(v) and any(c.isdigit() for c in v) and (("." in v) or ("e" in v.lower())): return "float"
    if v.lower() in ("true", "false"): return "boolean"
    try:
        if len(v) == 10: datetime.date.fromisoformat(v); return "date"
        if len(v) == 19 and v[10] == " ": datetime.datetime.fromisoformat(v); return "datetime"
    except ValueError:
        pass
    return "string"
def join(a, b):
    if a == b or b is None: return a
    if a is None: return b
    if {a, b} == {"integer", "float"}: return "float"
    if {a, b} == {"date", "datetime"}: return "datetime"
    return "string"
types, nulls, lo, hi = {}, {}, {}, {}
with open(path, newline="", encoding="utf-8") as f:
    r = csv.reader(f)
    names = next(r)
    for row in r:
        for n, v in zip(names, row):
            if v in ("", "NULL", "null", "NA"):
                nulls[n] = nulls.get(n, 0) + 1
                continue
            k = kind(v)
            t = join(types.get(n), k)
            types[n] = t
            if t == "integer":
                x = int(v); lo[n] = min(lo.get(n, x), x); hi[n] = max(hi.get(n, x), x)
bad = []
for n in names:
    g = got[n]["spate"]
    want = types.get(n, "null")
    if g["type"] != want: bad.append(f"{n}: type {g['type']} != {want}")
    if g["nulls"] != nulls.get(n, 0): bad.append(f"{n}: nulls {g['nulls']} != {nulls.get(n, 0)}")
    if want == "integer" and (g["min"], g["max"]) != (lo[n], hi[n]): bad.append(f"{n}: min/max")
assert got["zip"]["spate"]["type"] == "string", "zip must be string (leading zeros)"
assert got["mixed"]["spate"]["type"] == "string", "mixed must be string (late text)"
if bad:
    print("WRONG ANSWER:", *bad, sep="\n  "); sys.exit(1)
print("answer checked: %d columns, types/nulls/min/max agree with a Python pass" % len(names))
EOF

# 1b. The same answers from the JSON Lines conversion of the file.
"$SPATE" convert "$CSV" "$DATA_DIR/c-conv.jsonl" --stats
"$SPATE" schema --json "$DATA_DIR/c-conv.jsonl" > "$DATA_DIR/schema.jsonl.json"
python3 - "$DATA_DIR/schema.spate.json" "$DATA_DIR/schema.jsonl.json" <<'EOF2'
import json, sys
a, b = (json.load(open(p))["fields"] for p in sys.argv[1:3])
if a != b:
    print("WRONG: the JSON Lines conversion has another schema"); sys.exit(1)
print("answer checked: the JSON Lines conversion has the same schema (%d fields)" % len(a))
EOF2
rm -f "$DATA_DIR/c-conv.jsonl"

# 2. Timings.
PEERS=()
if python3 -c 'import duckdb' 2>/dev/null; then
  PEERS+=("python3 -c \"import duckdb\"")  # baseline: interpreter start and import
  PEERS+=("python3 -c \"import duckdb; duckdb.sql(\\\"DESCRIBE SELECT * FROM read_csv('$CSV', sample_size=-1)\\\").fetchall()\"")
  PEERS+=("python3 -c \"import duckdb; duckdb.sql(\\\"DESCRIBE SELECT * FROM read_csv('$CSV')\\\").fetchall()\"")
fi
if python3 -c 'import polars' 2>/dev/null; then
  PEERS+=("python3 -c \"import polars as pl; pl.scan_csv('$CSV', infer_schema_length=None).collect_schema()\"")
fi
if command -v hyperfine >/dev/null; then
  hyperfine -N -w 2 -r "${RUNS:-10}" "$SPATE schema $CSV" "$SPATE schema -j 1 $CSV" \
    --export-json "$DATA_DIR/schema-spate.json"
  files=("$DATA_DIR/schema-spate.json")
  if [ ${#PEERS[@]} -gt 0 ]; then
    hyperfine -w 1 -r "${PEER_RUNS:-5}" "${PEERS[@]}" --export-json "$DATA_DIR/schema-peers.json"
    files+=("$DATA_DIR/schema-peers.json")
  fi
  echo "== medians"
  python3 - "${files[@]}" <<'PY'
import json, sys
for f in sys.argv[1:]:
    for r in json.load(open(f))["results"]:
        print(f"{r['median']:8.3f} s  (min {r['min']:.3f}, max {r['max']:.3f}, {len(r['times'])} runs)  {r['command']}")
PY
else
  for c in "$SPATE schema $CSV" "${PEERS[@]}"; do
    ts=(); for _ in 1 2 3 4 5; do s=$(date +%s.%N); bash -c "$c" >/dev/null; e=$(date +%s.%N); ts+=("$(echo "$e - $s" | bc)"); done
    printf '%s: median %s s\n' "$c" "$(printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p)"
  done
fi

# 3. Peak memory.
if [ -x /usr/bin/time ]; then
  for c in "$SPATE schema $CSV" "${PEERS[@]}"; do
    rss=$( { /usr/bin/time -v bash -c "exec $c" >/dev/null; } 2>&1 | awk -F: '/Maximum resident/ {print $2}' | xargs)
    echo "peak RSS ${rss} KB: $c"
  done
fi

# 4. What the peers answer for the trap columns.
if python3 -c 'import duckdb' 2>/dev/null; then
  python3 -c "import duckdb; print('duckdb exact  :', [r[:2] for r in duckdb.sql(\"DESCRIBE SELECT zip, mixed FROM read_csv('$CSV', sample_size=-1)\").fetchall()])"
  python3 -c "import duckdb; print('duckdb sampled:', [r[:2] for r in duckdb.sql(\"DESCRIBE SELECT zip, mixed FROM read_csv('$CSV')\").fetchall()])"
fi
if python3 -c 'import polars' 2>/dev/null; then
  python3 -c "import polars as pl; s = pl.scan_csv('$CSV', infer_schema_length=None).collect_schema(); print('polars full   :', [('zip', s['zip']), ('mixed', s['mixed'])])"
fi
