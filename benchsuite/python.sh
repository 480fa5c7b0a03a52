#!/usr/bin/env bash
# The Python package against ijson (yajl2_c) and orjson on the sessions document, from Python,
# answers checked first (every task's answer must equal ijson's before anything is timed).
#
#   benchsuite/python.sh [RUNS]      (default 3; data in $BENCH_DATA or ./benchdata;
#                                     DOC=path overrides the document)
# Builds the package into target/bench-venv (maturin, ijson, orjson from PyPI).
# EVENTS=1 adds ijson's event interfaces (kvitems over sessions.item, parse with a Counter of
# the events) against spate.ijson's.
# VENV=dir times the spate already installed there instead (an older build, for before/after
# figures: python3 -m venv dir; dir/bin/pip install ijson orjson spate-*.whl).
# CPU is user + system time of the whole process (every thread), which is what to compare
# when the machine is busy.
source "$(dirname "$0")/lib.sh"
RUNS=${1:-3}
DOC=${DOC:-$DATA/s160.json}
[ -f "$DOC" ] || python3 "$SHARED/bench/gen_data.py" sessions "$DOC" --scale 160
if [ -n "${VENV:-}" ]; then
  [ -x "$VENV/bin/python" ] || { echo "VENV=$VENV has no bin/python" >&2; exit 2; }
else
  VENV=$REPO/target/bench-venv
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check maturin ijson orjson
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$REPO/python"
fi
PY=$VENV/bin/python
TASKS=$(mktemp)
trap 'rm -f "$TASKS"' EXIT
cat >"$TASKS" <<'PY'
import collections, sys, time, resource
import ijson, spate, spate.ijson

def ijson_count(doc):
    with open(doc, "rb") as f:
        return sum(1 for _ in ijson.items(f, "sessions.item"))

def spate_count(doc):
    return sum(1 for _ in spate.items(doc, "sessions.item"))

def spate_ijson_count(doc):
    with open(doc, "rb") as f:
        return sum(1 for _ in spate.ijson.items(f, "sessions.item"))

def ijson_agents(doc):
    c = collections.Counter()
    with open(doc, "rb") as f:
        for d in ijson.items(f, "sessions.item.delegations.item"):
            c[d["agent_type"]] += 1
    return sorted(c.items())

def spate_agents(doc):
    return sorted(collections.Counter(d["agent_type"] for d in spate.items(doc, "sessions.item.delegations.item")).items())

def spate_agents_in_rust(doc):
    rows = spate.aggregate(doc, "sessions.item.delegations.item", group_by=".agent_type", count=True)
    return sorted((r[".agent_type"], r["count"]) for r in rows)

def spate_marathons_in_rust(doc):
    return list(spate.items(doc, "sessions.item",
                            filter="select(.delegations | length > 20) | .session_id"))

def ijson_marathons(doc):
    with open(doc, "rb") as f:
        return [s["session_id"] for s in ijson.items(f, "sessions.item") if len(s["delegations"]) > 20]

def spate_marathons(doc):
    return [s["session_id"] for s in spate.items(doc, "sessions.item") if len(s["delegations"]) > 20]

def ijson_kvitems(doc):
    with open(doc, "rb") as f:
        return sum(1 for _ in ijson.kvitems(f, "sessions.item"))

def spate_kvitems(doc):
    with open(doc, "rb") as f:
        return sum(1 for _ in spate.ijson.kvitems(f, "sessions.item"))

def ijson_parse(doc):
    with open(doc, "rb") as f:
        return collections.Counter(event for _, event, _ in ijson.parse(f))

def spate_parse(doc):
    with open(doc, "rb") as f:
        return collections.Counter(event for _, event, _ in spate.ijson.parse(f))

def orjson_whole(doc):
    import orjson
    with open(doc, "rb") as f:
        return len(orjson.loads(f.read())["sessions"])

TASKS = {name: f for name, f in globals().items() if callable(f) and "_" in name and not name.startswith("_")}
if __name__ == "__main__":
    name, doc = sys.argv[1], sys.argv[2]
    t = time.perf_counter()
    answer = TASKS[name](doc)
    elapsed = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime
    import hashlib
    print(f"{elapsed:.3f} {rss:.0f} {hashlib.md5(repr(answer).encode()).hexdigest()} {cpu:.3f}")
PY
run() { "$PY" "$TASKS" "$1" "$DOC"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# Answers first.
for pair in "ijson_count spate_count" "ijson_count spate_ijson_count" "ijson_agents spate_agents" \
  "ijson_agents spate_agents_in_rust" "ijson_marathons spate_marathons" "ijson_marathons spate_marathons_in_rust" \
  ${EVENTS:+"ijson_kvitems spate_kvitems" "ijson_parse spate_parse"}; do
  set -- $pair
  a=$(run "$1" | cut -d' ' -f3); b=$(run "$2" | cut -d' ' -f3)
  [ "$a" = "$b" ] || { echo "answers differ: $1 vs $2" >&2; exit 1; }
done
machine
echo "Data: $DOC ($(stat -c %s "$DOC") bytes), median wall and CPU of $RUNS runs, largest peak RSS"
echo "spate: $("$PY" -c 'import spate, os; print(os.path.dirname(spate.__file__))'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| task | median wall | median CPU | peak RSS |"
echo "|---|---|---|---|"
for task in ijson_count spate_count spate_ijson_count ijson_agents spate_agents spate_agents_in_rust \
  ijson_marathons spate_marathons spate_marathons_in_rust ${ORJSON:+orjson_whole} \
  ${EVENTS:+ijson_kvitems spate_kvitems ijson_parse spate_parse}; do
  ts=() cs=() rss=0
  for _ in $(seq "$RUNS"); do
    read -r t m _ c < <(run "$task")
    ts+=("$t"); cs+=("$c"); ((${m%.*} > rss)) && rss=${m%.*}
  done
  echo "| $task | $(median "${ts[@]}") s | $(median "${cs[@]}") s | $rss MB |"
done
