#!/usr/bin/env bash
# spate convert to Parquet (zstd) against DuckDB COPY and Polars sink_parquet, side by side in
# one run, after checking that every tool wrote the same rows (row count and a column sum
# read back from each file with pyarrow). A wrong answer fails the run instead of timing it.
#
#   benchsuite/columnar.sh [RUNS] [--big]
#
#   1. delegations of the 65 MB sessions document + session_id  (spate, DuckDB)
#   1b. the sessions of that document, delegations nested as list<struct> (spate, DuckDB)
#   1c. 800 Claude Code transcripts as one JSON Lines file, nested objects as structs
#       (spate, spate --flatten, DuckDB read_json)
#   2. the same as 1 on the 1.1 GB document, with --big         (spate, DuckDB capped at 8 GB)
#   3. the 1M-row CSV (91 MB)                                   (spate, DuckDB, Polars)
#
# Prints per tool: median wall time, median CPU time (user+sys), peak RSS, output size.
# Data in $BENCH_DATA (default ./benchdata; made by gen_data.py when absent). Peers run from
# the Python in $PY (default: python3) with duckdb, polars and pyarrow installed; a peer that
# is missing is reported as such. Python peers include the interpreter's start-up (~0.1 s).
# OLD_SPATE=/path/to/spate (an older build) adds its rows, checked and timed in the same run,
# and times `spate schema` (the inference pass alone) of both builds on the sessions document.
source "$(dirname "$0")/lib.sh"
RUNS=${1:-5}
OLD=${OLD_SPATE:-}
BIG=${2:-}
PY=${PY:-python3}
GEN=$SHARED/bench/gen_data.py
[ -f "$GEN" ] || GEN=/work/shared/bench/gen_data.py
S10=$DATA/sessions-10.json
S160=$DATA/s160.json
CSV=$DATA/c1m.csv
[ -f "$S10" ] || python3 "$GEN" sessions "$S10" --scale 10
[ -f "$CSV" ] || python3 "$GEN" csv "$CSV" --rows 1000000
[ -n "$BIG" ] && { [ -f "$S160" ] || python3 "$GEN" sessions "$S160" --scale 160; }
[ -x "$SPATE" ] || build_spate
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
D=sessions.item.delegations.item

# run NAME OUT CMD... : RUNS times; prints a table row (median wall, median CPU, peak RSS, size).
run() {
  local name=$1 out=$2
  shift 2
  local walls=() cpus=() rss=0 e u s m
  for _ in $(seq "$RUNS"); do
    rm -rf "$out"
    if ! /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err"; then
      echo "| $name | failed: $(grep -v '^Command' "$WORK/err" | tail -1 | cut -c1-100) | | | |"
      return 0
    fi
    read -r e u s m <"$WORK/time"
    walls+=("$e")
    cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')")
    ((m > rss)) && rss=$m
  done
  local size=-1
  [ -e "$out" ] && size=$(du -sb "$out" | cut -f1)
  awk -v n="$name" -v w="$(median "${walls[@]}")" -v c="$(median "${cpus[@]}")" -v r="$rss" -v z="$size" \
    'BEGIN {printf "| %s | %.2f s | %.2f s | %.0f MB | %s |\n", n, w, c, r / 1024, z < 0 ? "—" : sprintf("%.2f MB", z / 1e6)}'
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# check FILE... : every Parquet file (or folder) has the same row count and column sum.
check() {
  local col=$1
  shift
  "$PY" - "$col" "$@" <<'PYEOF'
import sys
import pyarrow.compute as pc
import pyarrow.parquet as pq
col, paths = sys.argv[1], sys.argv[2:]
seen = {}
kinds = {}
for p in paths:
    t = pq.read_table(p)
    seen[p] = (t.num_rows, pc.sum(t.column(col)).as_py())
    # How each tool stored the arrays (tools_used of the sessions' delegations).
    kinds[p] = ", ".join(f"{f.name}: {f.type}" for f in t.schema
                         if f.name == "tools_used")
answers = set(seen.values())
for p, a in seen.items():
    extra = f"; {kinds[p]}" if kinds[p] else ""
    print(f"  {p.rsplit('/', 1)[-1]}: rows {a[0]}, sum({col}) {a[1]}{extra}")
if len(answers) != 1:
    sys.exit("ANSWERS DIFFER: not timing")
PYEOF
}

peer_ok() { "$PY" -c "import $1" 2>/dev/null; }

machine
echo "Runs per command: $RUNS (median). Columns: wall time, CPU time (user+sys), peak RSS, output size."

# --- 1. delegations of the 65 MB document + session_id ----------------------------------
duck_sessions() { # IN OUT
  cat <<SQL
COPY (SELECT s.session_id AS session_id, unnest(s.delegations, recursive := true)
      FROM (SELECT unnest(sessions) AS s FROM read_json('$1', maximum_object_size = 2000000000)))
TO '$2' (FORMAT parquet, COMPRESSION zstd);
SQL
}
echo
echo "### delegations of $(basename "$S10") ($(du -m "$S10" | cut -f1) MB) + session_id → Parquet zstd"
"$SPATE" convert "$S10" "$WORK/spate.parquet" --path "$D" --with session_id=sessions.item.session_id
files=("$WORK/spate.parquet")
if [ -n "$OLD" ]; then
  "$OLD" convert "$S10" "$WORK/old.parquet" --path "$D" --with session_id=sessions.item.session_id
  files+=("$WORK/old.parquet")
fi
if peer_ok duckdb; then
  "$PY" -c "import duckdb, sys; duckdb.sql(sys.argv[1])" "$(duck_sessions "$S10" "$WORK/duck.parquet")"
  files+=("$WORK/duck.parquet")
fi
check input_tokens "${files[@]}"
[ -n "$OLD" ] && cmp "$WORK/spate.parquet" "$WORK/old.parquet" && echo "  delegations: this build's Parquet file is byte-identical to the old build's"
echo "| tool | wall | CPU | peak RSS | output |"
echo "|---|---|---|---|---|"
run "spate convert" "$WORK/spate.parquet" "$SPATE" convert "$S10" "$WORK/spate.parquet" --path "$D" --with session_id=sessions.item.session_id
[ -n "$OLD" ] && run "spate convert --arrays json" "$WORK/json.parquet" "$SPATE" convert "$S10" "$WORK/json.parquet" --path "$D" --with session_id=sessions.item.session_id --arrays json
[ -n "$OLD" ] && run "spate convert (old build)" "$WORK/old.parquet" "$OLD" convert "$S10" "$WORK/old.parquet" --path "$D" --with session_id=sessions.item.session_id
peer_ok duckdb && run "DuckDB COPY (python)" "$WORK/duck.parquet" "$PY" -c "import duckdb, sys; duckdb.sql(sys.argv[1])" "$(duck_sessions "$S10" "$WORK/duck.parquet")"

if [ -n "$OLD" ]; then
  echo
  echo "### inference pass alone: spate schema of the delegations (this build, old build)"
  "$SPATE" schema --json "$S10" --path "$D" >"$WORK/schema.new"
  "$OLD" schema --json "$S10" --path "$D" >"$WORK/schema.old"
  # This build names the element types of array fields (spate.items); without them the
  # output must be the old build's.
  "$PY" - "$WORK/schema.new" "$WORK/schema.old" <<'PYEOF'
import json, sys
new, old = (json.load(open(p)) for p in sys.argv[1:])
same = new == old
for f in new["fields"] + old["fields"]:
    f["spate"].pop("items", None)
if new != old:
    sys.exit("spate schema --json differs from the old build's beyond spate.items")
print("  spate schema --json: " + ("identical to the old build's" if same else
                                   "the old build's output, plus spate.items"))
PYEOF
  echo "| tool | wall | CPU | peak RSS | output |"
  echo "|---|---|---|---|---|"
  run "spate schema" "$WORK/schema.new" "$SPATE" schema --json "$S10" --path "$D"
  run "spate schema (old build)" "$WORK/schema.old" "$OLD" schema --json "$S10" --path "$D"
fi

# --- 1b. the sessions, delegations nested as list<struct> --------------------------------
# check_nested FILE... : the same sessions (rows, sum(message_count)), and where the
# delegations are a list of structs the same delegations (count, sum(input_tokens)).
check_nested() {
  "$PY" - "$@" <<'PYEOF'
import sys
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
seen, nested = {}, {}
for p in sys.argv[1:]:
    t = pq.read_table(p)
    seen[p] = (t.num_rows, pc.sum(t.column("message_count")).as_py())
    d = t.column("delegations").combine_chunks()
    kind = str(d.type)[:60]
    if pa.types.is_list(d.type):
        items = d.flatten()
        nested[p] = (len(items), pc.sum(items.field("input_tokens")).as_py())
        extra = f"; delegations {nested[p][0]}, sum(input_tokens) {nested[p][1]}"
    else:
        extra = ""
    print(f"  {p.rsplit('/', 1)[-1]}: rows {seen[p][0]}, sum(message_count) {seen[p][1]}{extra}; delegations: {kind}")
if len(set(seen.values())) != 1 or len(set(nested.values())) > 1 or not nested:
    sys.exit("ANSWERS DIFFER: not timing")
PYEOF
}
duck_nested() { # IN OUT
  cat <<SQL
COPY (SELECT unnest(s) FROM (SELECT unnest(sessions) AS s FROM read_json('$1', maximum_object_size = 2000000000)))
TO '$2' (FORMAT parquet, COMPRESSION zstd);
SQL
}
echo
echo "### sessions of $(basename "$S10") ($(du -m "$S10" | cut -f1) MB), delegations as list<struct> → Parquet zstd"
"$SPATE" convert "$S10" "$WORK/n.spate.parquet" --path sessions.item
files=("$WORK/n.spate.parquet")
if [ -n "$OLD" ]; then
  "$OLD" convert "$S10" "$WORK/n.old.parquet" --path sessions.item
  files+=("$WORK/n.old.parquet")
fi
if peer_ok duckdb; then
  "$PY" -c "import duckdb, sys; duckdb.sql(sys.argv[1])" "$(duck_nested "$S10" "$WORK/n.duck.parquet")"
  files+=("$WORK/n.duck.parquet")
fi
check_nested "${files[@]}"
echo "| tool | wall | CPU | peak RSS | output |"
echo "|---|---|---|---|---|"
run "spate convert (list<struct>)" "$WORK/n.spate.parquet" "$SPATE" convert "$S10" "$WORK/n.spate.parquet" --path sessions.item
[ -n "$OLD" ] && run "spate convert --arrays json" "$WORK/n.json.parquet" "$SPATE" convert "$S10" "$WORK/n.json.parquet" --path sessions.item --arrays json
[ -n "$OLD" ] && run "spate convert (old build: JSON text)" "$WORK/n.old.parquet" "$OLD" convert "$S10" "$WORK/n.old.parquet" --path sessions.item
peer_ok duckdb && run "DuckDB COPY (python)" "$WORK/n.duck.parquet" "$PY" -c "import duckdb, sys; duckdb.sql(sys.argv[1])" "$(duck_nested "$S10" "$WORK/n.duck.parquet")"

# --- 1c. transcripts: nested objects as struct columns ----------------------------------
# check_usage FILE... : the same rows and sum of message.usage.input_tokens, read as a struct
# field or as the flattened column of that name.
check_usage() {
  "$PY" - "$@" <<'PYEOF'
import sys
import pyarrow.compute as pc
import pyarrow.parquet as pq
seen = {}
for p in sys.argv[1:]:
    t = pq.read_table(p)
    if "message.usage.input_tokens" in t.column_names:
        col, kind = t.column("message.usage.input_tokens"), "dotted columns"
    else:
        col = pc.struct_field(pc.struct_field(t.column("message"), "usage"), "input_tokens")
        kind = "message: " + str(t.schema.field("message").type)[:50] + "..."
    seen[p] = (t.num_rows, pc.sum(col).as_py())
    print(f"  {p.rsplit('/', 1)[-1]}: rows {seen[p][0]}, sum(message.usage.input_tokens) {seen[p][1]}; {kind}")
if len(set(seen.values())) != 1:
    sys.exit("ANSWERS DIFFER: not timing")
PYEOF
}
TR=$WORK/transcripts.jsonl
TREE=$DATA/claude1
[ -d "$TREE" ] || python3 "$GEN" claude "$TREE" --scale 1
mapfile -t transcripts < <(find "$TREE" -name '*.jsonl' | sort)
cat "${transcripts[@]:0:800}" >"$TR"
DUCK_TR="import duckdb, sys; duckdb.sql(f\"COPY (SELECT * FROM read_json('{sys.argv[1]}', format = 'newline_delimited', sample_size = -1)) TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)\")"
echo
echo "### 800 transcripts as one JSON Lines file ($(du -m "$TR" | cut -f1) MB) → Parquet zstd, nested objects as structs"
"$SPATE" convert "$TR" "$WORK/t.spate.parquet"
"$SPATE" convert "$TR" "$WORK/t.flat.parquet" --flatten
files=("$WORK/t.spate.parquet" "$WORK/t.flat.parquet")
if peer_ok duckdb; then
  "$PY" -c "$DUCK_TR" "$TR" "$WORK/t.duck.parquet"
  files+=("$WORK/t.duck.parquet")
fi
check_usage "${files[@]}"
echo "| tool | wall | CPU | peak RSS | output |"
echo "|---|---|---|---|---|"
run "spate convert (structs)" "$WORK/t.spate.parquet" "$SPATE" convert "$TR" "$WORK/t.spate.parquet"
run "spate convert --flatten" "$WORK/t.flat.parquet" "$SPATE" convert "$TR" "$WORK/t.flat.parquet" --flatten
peer_ok duckdb && run "DuckDB COPY (python)" "$WORK/t.duck.parquet" "$PY" -c "$DUCK_TR" "$TR" "$WORK/t.duck.parquet"

# --- 2. the same on the 1.1 GB document -------------------------------------------------
if [ -n "$BIG" ]; then
  echo
  echo "### delegations of $(basename "$S160") ($(du -m "$S160" | cut -f1) MB) + session_id → Parquet zstd"
  echo "| tool | wall | CPU | peak RSS | output |"
  echo "|---|---|---|---|---|"
  RUNS=1 run "spate convert" "$WORK/big.parquet" "$SPATE" convert "$S160" "$WORK/big.parquet" --path "$D" --with session_id=sessions.item.session_id
  check input_tokens "$WORK/big.parquet" >/dev/null
  # DuckDB reads the whole document as one object: capped at 8 GB of address space.
  peer_ok duckdb && RUNS=1 run "DuckDB COPY (python, 8 GB cap)" "$WORK/bigduck.parquet" \
    bash -c 'ulimit -v 8000000; exec "$0" -c "import duckdb, sys; duckdb.sql(sys.argv[1])" "$1"' "$PY" "$(duck_sessions "$S160" "$WORK/bigduck.parquet")"
fi

# --- 3. the 1M-row CSV ------------------------------------------------------------------
echo
echo "### $(basename "$CSV") ($(du -m "$CSV" | cut -f1) MB, 1M rows) → Parquet zstd"
"$SPATE" convert "$CSV" "$WORK/c.spate.parquet"
files=("$WORK/c.spate.parquet")
if [ -n "$OLD" ]; then
  "$OLD" convert "$CSV" "$WORK/c.old.parquet"
  cmp "$WORK/c.spate.parquet" "$WORK/c.old.parquet" && echo "  CSV: this build's Parquet file is byte-identical to the old build's"
  files+=("$WORK/c.old.parquet")
fi
DUCK_CSV="import duckdb, sys; duckdb.sql(f\"COPY (SELECT * FROM read_csv('{sys.argv[1]}', sample_size = -1)) TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)\")"
POLARS_CSV="import polars as pl, sys; pl.scan_csv(sys.argv[1], infer_schema_length=None).sink_parquet(sys.argv[2], compression='zstd')"
if peer_ok duckdb; then
  "$PY" -c "$DUCK_CSV" "$CSV" "$WORK/c.duck.parquet"
  files+=("$WORK/c.duck.parquet")
fi
if peer_ok polars; then
  "$PY" -c "$POLARS_CSV" "$CSV" "$WORK/c.polars.parquet"
  files+=("$WORK/c.polars.parquet")
fi
check amount "${files[@]}"
echo "| tool | wall | CPU | peak RSS | output |"
echo "|---|---|---|---|---|"
run "spate convert" "$WORK/c.spate.parquet" "$SPATE" convert "$CSV" "$WORK/c.spate.parquet"
[ -n "$OLD" ] && run "spate convert (old build)" "$WORK/c.old.parquet" "$OLD" convert "$CSV" "$WORK/c.old.parquet"
peer_ok duckdb && run "DuckDB COPY (python)" "$WORK/c.duck.parquet" "$PY" -c "$DUCK_CSV" "$CSV" "$WORK/c.duck.parquet"
peer_ok polars && run "Polars sink_parquet (python)" "$WORK/c.polars.parquet" "$PY" -c "$POLARS_CSV" "$CSV" "$WORK/c.polars.parquet"
