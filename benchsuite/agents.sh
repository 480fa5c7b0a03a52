#!/usr/bin/env bash
# Benchmark `spate agents` against ccusage on a generated Claude Code transcript tree.
#
#   benchsuite/agents.sh [DATA_DIR]
#
# 1. generates the data set if absent (gen_data.py claude DIR --scale 1: 2,354 files, ~183 MB);
# 2. builds spate (release);
# 3. checks the answer before timing anything: spate's daily report from per-file sums must
#    equal the one summed request by request, and its token totals per day must equal
#    ccusage's when ccusage is installed (a wrong answer fails the run);
# 4. times `spate agents daily --json --no-cache`, the cached re-run after appending one line
#    to one file, the cached re-run of an unchanged tree, and ccusage, with hyperfine when
#    installed (else repeated /usr/bin/time runs), and records peak RSS with /usr/bin/time -v.
#
# Environment: SCALE (default 1), RUNS (default 10), CCUSAGE (default: ccusage on PATH),
# GEN (path to gen_data.py; default ../shared/bench/gen_data.py beside the repository),
# BASE (a baseline spate binary timed beside this one on the status line), RUNS_FAST
# (hyperfine runs of the status line, default 40), STATUSLINE_ONLY=1 (only the status line
# section), SKIP_BUILD=1 (use the release binary as built).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-$repo/benchdata/claude${SCALE:-1}}"
runs="${RUNS:-10}"
gen="${GEN:-$repo/../shared/bench/gen_data.py}"
ccusage="${CCUSAGE:-$(command -v ccusage || true)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -d "$data/projects" ]; then
    echo "== generating $data (scale ${SCALE:-1})"
    python3 "$gen" claude "$data" --scale "${SCALE:-1}"
fi
echo "== data: $data ($(find "$data" -name '*.jsonl' | wc -l) files, $(du -sh "$data" | cut -f1))"

echo "== building spate (release)"
[ -n "${SKIP_BUILD:-}" ] || (cd "$repo" && cargo build --release -q -p spate-cli)
target="${CARGO_TARGET_DIR:-$repo/target}"
spate="$target/release/spate"

if [ -z "${STATUSLINE_ONLY:-}" ]; then
echo "== checking the answer"
"$spate" agents daily --json --no-cache --timezone UTC --path "$data" >"$work/spate.json" 2>"$work/spate.err"
"$spate" agents daily --json --no-cache --timezone UTC --per-request --path "$data" >"$work/spate-per-request.json" 2>/dev/null
if ! cmp -s "$work/spate.json" "$work/spate-per-request.json"; then
    echo "FAIL: per-file sums and per-request sums disagree" >&2
    exit 1
fi
echo "ok: per-file sums equal per-request sums"
if [ -n "$ccusage" ]; then
    for report in daily weekly monthly session; do
        "$spate" agents "$report" --json --no-cache --timezone UTC --path "$data" >"$work/spate-$report.json" 2>/dev/null
        CLAUDE_CONFIG_DIR="$data" "$ccusage" claude "$report" --offline --json --timezone UTC >"$work/ccusage-$report.json"
        python3 - "$report" "$work/spate-$report.json" "$work/ccusage-$report.json" <<'PY'
import json, sys
report, a, b = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
list_key, label = {"daily": ("daily", "date"), "weekly": ("weekly", "week"),
                   "monthly": ("monthly", "month"), "session": ("sessions", "sessionId")}[report]
keys = ["inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens"]
da = {d[label]: d for d in a[list_key]}; db = {d[label]: d for d in b[list_key]}
bad = [(k, f) for k in sorted(set(da) | set(db)) for f in keys
       if da.get(k, {}).get(f) != db.get(k, {}).get(f)]
bad += [("totals", f) for f in keys if a["totals"][f] != b["totals"][f]]
if bad:
    print(f"FAIL: {report}: token totals differ from ccusage:", bad[:10], file=sys.stderr); sys.exit(1)
cost_a, cost_b = a["totals"]["totalCost"], b["totals"]["totalCost"]
print(f"ok: {report}: {len(da)} lines, token totals equal ccusage's "
      f"({a['totals']['totalTokens']:,} tokens); cost spate ${cost_a:,.6f} vs ccusage ${cost_b:,.6f}")
PY
    done
else
    echo "(ccusage not installed: comparison skipped; npm install -g ccusage)"
fi

echo "== peak RSS"
/usr/bin/time -f "spate agents daily --json --no-cache: %e s, %M KB max RSS" \
    "$spate" agents daily --json --no-cache --path "$data" >/dev/null 2>"$work/rss-spate.txt" || true
tail -1 "$work/rss-spate.txt"
if [ -n "$ccusage" ]; then
    CLAUDE_CONFIG_DIR="$data" /usr/bin/time -f "ccusage claude daily --offline --json: %e s, %M KB max RSS" \
        "$ccusage" claude daily --offline --json >/dev/null 2>"$work/rss-cc.txt" || true
    tail -1 "$work/rss-cc.txt"
fi

# The cached runs use a copy of the tree, so that appending never touches the data set.
cp -r "$data" "$work/tree"
one="$(find "$work/tree/projects" -name '*.jsonl' | sort | sed -n 1p)"
line="$(grep -m1 '"usage"' "$one")"
cat >"$work/append.sh" <<SH
#!/usr/bin/env bash
n=\$(date +%s%N)
printf '%s\n' '$line' | sed "s/\"msg_/\"msg_\$n/; s/\"req_/\"req_\$n/" >>"$one"
SH
chmod +x "$work/append.sh"
cache="$work/cache"
"$spate" agents daily --json --cache-dir "$cache" --path "$work/tree" >/dev/null 2>&1

echo "== timing ($runs runs each)"
if command -v hyperfine >/dev/null; then
    bench() { hyperfine -N -w 2 -r "$runs" "$@" 2>&1 | grep -E "^Benchmark|Time|Range"; }
    bench -n "spate --no-cache" "$spate agents daily --json --no-cache --path $data"
    bench -n "spate cached, one file appended" --prepare "$work/append.sh" \
        "$spate agents daily --json --cache-dir $cache --path $work/tree"
    bench -n "spate cached, unchanged" "$spate agents daily --json --cache-dir $cache --path $work/tree"
    if [ -n "$ccusage" ]; then
        bench -n "ccusage --offline" "env CLAUDE_CONFIG_DIR=$data $ccusage claude daily --offline --json"
    fi
else
    for i in $(seq "$runs"); do
        /usr/bin/time -f "spate --no-cache %e s" "$spate" agents daily --json --no-cache --path "$data" >/dev/null 2>>"$work/t.txt"
        "$work/append.sh"
        /usr/bin/time -f "spate cached+append %e s" "$spate" agents daily --json --cache-dir "$cache" --path "$work/tree" >/dev/null 2>>"$work/t.txt"
    done
    grep -E " s$" "$work/t.txt" | sort | uniq -c
fi

# ---------------------------------------------------------------------------------------
# Blocks, statusline and prices (issue 13). Answers first: `blocks --json` must equal
# ccusage's `blocks --offline --json` block for block (ids, times, entries, token counts,
# models, cost to the cent), and on a copy of the tree renamed to the 2026 models the cost
# of every model ccusage prices must equal to the cent. Then CPU time and peak RSS, medians
# of RUNS runs, spate warm (cache written) side by side with ccusage.
echo "== blocks: checking the answer against ccusage"
if [ -n "$ccusage" ]; then
    "$spate" agents blocks --json --timezone UTC --cache-dir "$work/bcache" --path "$data" >"$work/spate-blocks.json" 2>/dev/null
    CLAUDE_CONFIG_DIR="$data" "$ccusage" claude blocks --offline --json --timezone UTC >"$work/ccusage-blocks.json"
    python3 - "$work/spate-blocks.json" "$work/ccusage-blocks.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["blocks"] for p in sys.argv[1:3])
keys = ["id", "startTime", "endTime", "actualEndTime", "isActive", "isGap", "entries",
        "tokenCounts", "totalTokens"]
bad = [] if len(a) == len(b) else [("count", len(a), len(b))]
for x, y in zip(a, b):
    bad += [(x["id"], k) for k in keys if x[k] != y[k]]
    if round(x["costUSD"], 2) != round(y["costUSD"], 2) or sorted(x["models"]) != sorted(y["models"]):
        bad.append((x["id"], "cost or models"))
if bad:
    print("FAIL: blocks differ from ccusage:", bad[:10], file=sys.stderr); sys.exit(1)
print(f"ok: blocks: {len(a)} blocks and gaps equal ccusage's (ids, times, entries, tokens, models, cost to the cent)")
PY
    # the 2026 models: a copy of the tree with the model names replaced
    cp -r "$data" "$work/current"
    python3 - "$work/current" <<'PY'
import os, sys
names = {"claude-opus-4-1-20250805": "claude-opus-4-7-20260416", "claude-opus-4-20250514": "claude-opus-4-6",
         "claude-sonnet-4-20250514": "claude-sonnet-4-6", "claude-sonnet-4-5-20250929": "claude-sonnet-5",
         "claude-3-5-haiku-20241022": "claude-haiku-5-5", "claude-3-7-sonnet-20250219": "claude-opus-4-8",
         "claude-3-5-sonnet-20241022": "claude-opus-5", "claude-3-opus-20240229": "claude-opus-5-5",
         "claude-3-haiku-20240307": "claude-sonnet-5-5", "claude-opus-4-5-20251101": "claude-fable-5"}
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        if f.endswith(".jsonl"):
            p = os.path.join(root, f); s = open(p).read()
            for old, new in names.items():
                s = s.replace(f'"{old}"', f'"{new}"')
            open(p, "w").write(s)
PY
    "$spate" agents daily --json --breakdown --no-cache --timezone UTC --path "$work/current" >"$work/spate-current.json" 2>/dev/null
    CLAUDE_CONFIG_DIR="$work/current" "$ccusage" claude daily --offline --json --breakdown --timezone UTC >"$work/ccusage-current.json"
    python3 - "$work/spate-current.json" "$work/ccusage-current.json" <<'PY'
import collections, json, sys
def per_model(doc):
    m = collections.defaultdict(lambda: [0, 0.0])
    for d in doc["daily"]:
        for x in d["modelBreakdowns"]:
            m[x["modelName"]][0] += x["inputTokens"] + x["outputTokens"] + x["cacheCreationTokens"] + x["cacheReadTokens"]
            m[x["modelName"]][1] += x["cost"]
    return m
a, b = (json.load(open(p)) for p in sys.argv[1:3])
unpriced_cc = set(b["totals"].get("unpricedModels", []))
ma, mb = per_model(a), per_model(b)
bad = [k for k in sorted(set(ma) | set(mb)) if ma[k][0] != mb[k][0]
       or (k not in unpriced_cc and round(ma[k][1], 2) != round(mb[k][1], 2))]
if bad:
    print("FAIL: 2026 models: costs differ from ccusage:", bad, file=sys.stderr); sys.exit(1)
print(f"ok: 2026 models: {len(ma) - len(unpriced_cc)} models priced by both cost the same to the cent; "
      f"unpriced by ccusage, priced by spate: {sorted(unpriced_cc)}")
PY
else
    echo "(ccusage not installed: comparison skipped; npm install -g ccusage@20)"
fi

fi

# CPU time (user + system) and wall time, medians, and the largest peak RSS; standard input
# from the file $cpu_in (default /dev/null)
cpu() {
    local name=$1; shift
    local i
    : >"$work/cpu.txt"
    for i in $(seq "$runs"); do
        /usr/bin/time -f "%e %U %S %M" -a -o "$work/cpu.txt" "$@" >/dev/null 2>&1 <"${cpu_in:-/dev/null}" || true
    done
    python3 - "$name" "$work/cpu.txt" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip() and l[0].isdigit()]
wall = statistics.median(r[0] for r in rows); cpu = statistics.median(r[1] + r[2] for r in rows)
print(f"| {sys.argv[1]} | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms | {max(r[3] for r in rows) / 1024:.1f} MB |")
PY
}
session_file="$(find "$data/projects" -maxdepth 2 -name '*.jsonl' | sort | sed -n 1p)"
session_id="$(basename "$session_file" .jsonl)"
printf '{"session_id":"%s","transcript_path":"%s","model":{"id":"claude-opus-4-7","display_name":"Opus"}}' \
    "$session_id" "$session_file" >"$work/status.json"
echo "== blocks and statusline ($runs runs each; warm: the cache is written)"
echo "| command | wall (median) | CPU user+sys (median) | peak RSS |"
echo "| --- | ---: | ---: | ---: |"
if [ -z "${STATUSLINE_ONLY:-}" ]; then
    cpu "spate agents blocks --json, warm" "$spate" agents blocks --json --cache-dir "$work/bcache" --path "$data"
    cpu "spate agents blocks --json --no-cache" "$spate" agents blocks --json --no-cache --path "$data"
fi
# The status line in three states of the tree, each warm (its cache written first), side by
# side with a baseline build when BASE names one (e.g. a build of the previous commit):
# - "as generated": every file modified today (the generated tree as it is);
# - "aged": a copy whose files were modified 3 days ago, one session file touched now;
# - "live": a copy whose timestamps are moved so that the last request was 30 minutes ago
#   (an active block, today's cost), the files with requests of the last day modified now,
#   the others 3 days ago; the status line names the session of the last request.
# Answers first: the line must equal the baseline's for the same tree and input (run twice
# when the block's minutes left ticked over in between). Then RUNS_FAST runs (default 40) of
# each build, interleaved, with wall and CPU time (user + system, from getrusage) and peak
# RSS per run, and hyperfine (through a shell, for the standard input).
cp -r "$data" "$work/aged"
find "$work/aged" -name '*.jsonl' -exec touch -d '3 days ago' {} +
aged_session="$work/aged/${session_file#"$data"/}"
touch "$aged_session"
sed "s#$session_file#$aged_session#" "$work/status.json" >"$work/status-aged.json"
python3 - "$data" "$work/live" <<'PY'
import datetime, os, re, sys, time
src, dst = sys.argv[1], sys.argv[2]
rx = re.compile(rb'"timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z"')
fmt, utc = "%Y-%m-%dT%H:%M:%S", datetime.timezone.utc
ts = lambda b: datetime.datetime.strptime(b.decode(), fmt).replace(tzinfo=utc)
last = max(m.group(1) for root, _, fs in os.walk(src) for f in fs if f.endswith(".jsonl")
           for m in rx.finditer(open(os.path.join(root, f), "rb").read()))
end = ts(last)
shift = datetime.datetime.now(utc).replace(microsecond=0) - datetime.timedelta(minutes=30) - end
old = time.time() - 3 * 86400
for root, _, files in os.walk(src):
    for f in files:
        s = os.path.join(root, f); d = os.path.join(dst, os.path.relpath(s, src))
        os.makedirs(os.path.dirname(d), exist_ok=True)
        data, recent = open(s, "rb").read(), [False]
        def sub(m):
            t = ts(m.group(1)) + shift
            recent[0] |= (end + shift - t).total_seconds() < 86400
            return b'"timestamp":"' + t.strftime(fmt).encode() + (m.group(2) or b"") + b'Z"'
        if f.endswith(".jsonl"):
            data = rx.sub(sub, data)
        open(d, "wb").write(data)
        if not recent[0]:
            os.utime(d, (old, old))
PY
live_session="$(grep -rl "\"timestamp\":\"$(grep -rhoE '"timestamp":"[^"]+"' "$work/live" | sort | tail -1 | cut -d'"' -f4)\"" "$work/live" | grep -v /subagents/ | head -1)"
printf '{"session_id":"%s","transcript_path":"%s","model":{"id":"claude-opus-4-7","display_name":"Opus"}}' \
    "$(basename "$live_session" .jsonl)" "$live_session" >"$work/status-live.json"
runs_fast="${RUNS_FAST:-40}"
for state in generated aged live; do
    case $state in
        generated) tree="$data" input="$work/status.json" ;;
        aged) tree="$work/aged" input="$work/status-aged.json" ;;
        live) tree="$work/live" input="$work/status-live.json" ;;
    esac
    for build in new ${BASE:+base}; do
        bin="$spate"; [ "$build" = base ] && bin="$BASE"
        "$bin" agents statusline --cache-dir "$work/s-$state-$build" --path "$tree" <"$input" >"$work/line-$state-$build.txt"
    done
    echo "statusline, $state: $(cat "$work/line-$state-new.txt")"
    if [ -n "${BASE:-}" ] && ! cmp -s "$work/line-$state-new.txt" "$work/line-$state-base.txt"; then
        "$spate" agents statusline --cache-dir "$work/s-$state-new" --path "$tree" <"$input" >"$work/line-$state-new.txt"
        if ! cmp -s "$work/line-$state-new.txt" "$work/line-$state-base.txt"; then
            echo "FAIL: statusline ($state) differs from the baseline's: $(cat "$work/line-$state-base.txt")" >&2
            exit 1
        fi
    fi
    [ -n "${BASE:-}" ] && echo "ok: equal to the baseline's line"
    # CPU per run from getrusage (microseconds, where /usr/bin/time rounds to 10 ms),
    # the two builds interleaved run by run
    python3 - "$runs_fast" "$input" "$state" "$spate" "$work/s-$state-new" ${BASE:+"$BASE" "$work/s-$state-base"} -- "$tree" <<'PY'
import os, resource, statistics, subprocess, sys, time
runs, stdin, state = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rest = sys.argv[4:]; tree = rest[rest.index("--") + 1]; rest = rest[:rest.index("--")]
builds = [("new", rest[0], rest[1])] + ([("base", rest[2], rest[3])] if len(rest) > 2 else [])
res = {b[0]: [] for b in builds}
for _ in range(runs):
    for name, binary, cache in builds:
        with open(stdin, "rb") as f:
            t0 = time.perf_counter()
            p = subprocess.Popen([binary, "agents", "statusline", "--cache-dir", cache, "--path", tree],
                                 stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            res[name].append((time.perf_counter() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss))
for name, rows in res.items():
    wall = sorted(r[0] for r in rows); cpu = sorted(r[1] for r in rows)
    print(f"| statusline, {state}, {name} | min {wall[0]*1e3:.1f} / median {statistics.median(wall)*1e3:.1f} ms "
          f"| min {cpu[0]*1e3:.1f} / median {statistics.median(cpu)*1e3:.1f} ms | {max(r[2] for r in rows)/1024:.1f} MB |")
PY
    if command -v hyperfine >/dev/null; then
        args=(-w 3 -r "$runs_fast" -n "statusline $state new"
              "$spate agents statusline --cache-dir $work/s-$state-new --path $tree <$input")
        [ -n "${BASE:-}" ] && args+=(-n "statusline $state base" "$BASE agents statusline --cache-dir $work/s-$state-base --path $tree <$input")
        hyperfine "${args[@]}" --export-json "$work/hf-$state.json" >/dev/null 2>&1
        python3 - "$work/hf-$state.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = sorted(r["times"])
    print(f"  hyperfine {r['command'][:60]}: min {t[0]*1e3:.1f} ms, median {r['median']*1e3:.1f} ms, "
          f"mean {r['mean']*1e3:.1f} ms, user {r['user']*1e3:.1f} ms + sys {r['system']*1e3:.1f} ms ({len(t)} runs)")
PY
    fi
done
if [ -n "$ccusage" ] && [ -z "${STATUSLINE_ONLY:-}" ]; then
    cpu "ccusage claude blocks --offline --json" env CLAUDE_CONFIG_DIR="$data" "$ccusage" claude blocks --offline --json
    # its own output cache off: the figures computed, as spate does
    cpu_in="$work/status.json" cpu "ccusage statusline --offline --no-cache" env CLAUDE_CONFIG_DIR="$data" "$ccusage" statusline --offline --no-cache
fi
