#!/usr/bin/env bash
# Load test of `spate serve` (issue 14), loopback only and bounded in time: 64 connections
# for DURATION seconds (default 30) against /api/stats, then /api/daily, each while a writer
# appends a usage line to a transcript every 100 ms and times the append-to-event delay on
# /api/events. Before timing, the daemon's answers are checked against `spate agents --json`
# on the same tree. Peers in the same run: the same report from the command line (warm
# cache), which is what a client without the daemon would run.
#
#   benchsuite/serve.sh [DURATION] [CONNECTIONS]
#
# Data: the 2,354-file transcript tree (gen_data.py claude --scale 1), copied to a scratch
# folder (the writer appends to the copy). Needs wrk (Debian package) and python3.
source "$(dirname "$0")/lib.sh"
DURATION=${1:-30}
CONNS=${2:-64}
have wrk || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
build_spate
TREE=$DATA/claude1
[ -d "$TREE" ] || python3 "$SHARED/bench/gen_data.py" claude "$TREE" --scale 1
WORK=$(mktemp -d)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
cp -r "$TREE" "$WORK/tree"
# the usage ledger (on by default, as for a user) lives with the scratch copy
export SPATE_LEDGER_DIR=$WORK/ledger
FILE=$(find "$WORK/tree" -name '*.jsonl' -not -path '*subagents*' | sort | awk 'NR == 1')
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
# the cache is warmed by a first report, as a user's would be
"$SPATE" agents daily --json --path "$WORK/tree" --cache-dir "$WORK/cache" -z UTC >"$WORK/cli-daily.json"
# SERVE_ARGS: more flags for the daemon (e.g. "--max-queries 2")
# shellcheck disable=SC2086
"$SPATE" serve ${SERVE_ARGS:-} --bind "$ADDR" --path "$WORK/tree" --cache-dir "$WORK/cache" -z UTC 2>"$WORK/serve.log" &
PID=$!
for _ in $(seq 200); do
  curl -sf "http://$ADDR/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done
rss() { awk '/VmRSS/ {r = $2} /VmHWM/ {h = $2} END {printf "%.1f MB (peak %.1f MB)", r / 1024, h / 1024}' "/proc/$PID/status"; }
echo "daemon resident size after start: $(rss)"
curl -sf "http://$ADDR/api/daily" >"$WORK/api-daily.json"
cmp -s "$WORK/cli-daily.json" "$WORK/api-daily.json" || { echo "FAIL: /api/daily differs from agents daily --json"; exit 1; }
for r in session project delegations; do
  "$SPATE" agents "$r" --json --path "$WORK/tree" --cache-dir "$WORK/cache" -z UTC >"$WORK/cli.json"
  curl -sf "http://$ADDR/api/$r" | cmp -s - "$WORK/cli.json" || { echo "FAIL: /api/$r differs"; exit 1; }
done
echo "answers checked: /api/daily, session, project, delegations equal agents --json"
# /api/blocks is selected for each request from blocks cut once per change (the active
# block follows the clock): equal to the CLI run just before or after it, then timed one
# request at a time
"$SPATE" agents blocks --json --path "$WORK/tree" --cache-dir "$WORK/cache" -z UTC >"$WORK/cli-b1.json"
curl -sf "http://$ADDR/api/blocks" >"$WORK/api-blocks.json"
"$SPATE" agents blocks --json --path "$WORK/tree" --cache-dir "$WORK/cache" -z UTC >"$WORK/cli-b2.json"
cmp -s "$WORK/cli-b1.json" "$WORK/api-blocks.json" || cmp -s "$WORK/cli-b2.json" "$WORK/api-blocks.json" ||
  { echo "FAIL: /api/blocks differs from agents blocks --json"; exit 1; }
echo "answers checked: /api/blocks equals agents blocks --json ($(wc -c <"$WORK/api-blocks.json") bytes)"
for q in "" "?active=true"; do
  times=$(for _ in $(seq 9); do curl -s -o /dev/null -w '%{time_total}\n' "http://$ADDR/api/blocks$q"; done | sort -n)
  echo "/api/blocks$q, 9 requests one at a time: median $(echo "$times" | awk 'NR == 5 {printf "%.1f ms", $1 * 1000}'), max $(echo "$times" | awk 'END {printf "%.1f ms", $1 * 1000}')"
done

echo "daemon resident size after these requests: $(rss)"
# every endpoint, without and with parameters, three times over from 4 clients at once
ALL=()
for r in stats daily weekly monthly session model project delegations blocks; do
  ALL+=("/api/$r" "/api/$r?tz=Asia/Tokyo&since=2025-01-01" "/api/$r?mode=calculate&project=an-22")
done
ALL+=("/api/blocks?active=true&token_limit=max" "/api/blocks?recent=true&order=desc"
  "/api/blocks?session_length=3" "/api/delegations?marathon=5" "/metrics")
burst_start=$(date +%s.%N)
for _ in 1 2 3; do
  P=()
  for _ in 1 2 3 4; do
    (for u in "${ALL[@]}"; do curl -s -o /dev/null "http://$ADDR$u"; done) &
    P+=($!)
  done
  wait "${P[@]}"
done
burst_s=$(awk -v a="$burst_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f s", b - a}')
echo "daemon resident size after every endpoint with and without parameters (${#ALL[@]} URLs x 3 rounds x 4 clients, $burst_s): $(rss)"
echo "blocks cuts so far: $(curl -s "http://$ADDR/metrics" | awk '/^spate_blocks_cuts_total/ {print $2}')"

cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)
# idle: no client, no writer
c0=$(cpu)
sleep 10
c1=$(cpu)
echo "idle CPU over 10 s: $(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN {printf "%.0f ms", (b - a) * 1000 / hz}')"

# the peak so far (start, checks, every endpoint from 4 clients) is kept; the kernel's peak
# counter is then reset so that the load tests' own peak is reported apart from it
PEAK_BEFORE=$(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$PID/status")
RESET_PEAK=no
echo 5 >"/proc/$PID/clear_refs" 2>/dev/null && RESET_PEAK=yes

machine
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
# the append-to-event delay alone (no HTTP load)
python3 "$(dirname "$0")/serve_sse.py" "$ADDR" "$FILE" 10 0.1 >"$WORK/sse.json"
echo "append→event without load: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("p50 %s / p99 %s / max %s ms (%d events)" % (d["p50_ms"], d["p99_ms"], d["max_ms"], d["events"]))' "$WORK/sse.json")"
echo
echo "| endpoint | requests/s | p50 | p99 | errors | append→event p50 / p99 / max | daemon CPU |"
echo "|---|---|---|---|---|---|---|"
for ep in stats daily; do
  python3 "$(dirname "$0")/serve_sse.py" "$ADDR" "$FILE" "$DURATION" 0.1 >"$WORK/sse.json" &
  WRITER=$!
  c0=$(cpu)
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://$ADDR/api/$ep" >"$WORK/wrk.txt"
  c1=$(cpu)
  wait "$WRITER"
  rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt")
  sock=$(awk -F'[ ,]+' '/Socket errors/ {print $5 + $7 + $9 + $11}' "$WORK/wrk.txt")
  errors=$((${non2xx:-0} + ${sock:-0}))
  sse=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%s / %s / %s ms (%d events)" % (d["p50_ms"], d["p99_ms"], d["max_ms"], d["events"]))' "$WORK/sse.json")
  cpus=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN {printf "%.1f s", (b - a) / hz}')
  echo "| /api/$ep | $rps | $p50 | $p99 | $errors | $sse | $cpus |"
done
echo
PEAK_LOAD=$(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$PID/status")
if [ "$RESET_PEAK" = yes ]; then
  echo "peak RSS of the daemon during the load tests (appends, SSE, wrk): $PEAK_LOAD; before them (start, checks, every endpoint from 4 clients): $PEAK_BEFORE; now $(rss)"
else
  echo "peak RSS of the daemon over the whole run (the peak could not be reset): $PEAK_LOAD (now $(rss))"
fi
# the peer: the same reports without the daemon (a process per request, warm cache)
measure "peer: agents daily --json (warm cache, one process per request)" 5 \
  "$SPATE" agents daily --json --path "$WORK/tree" --cache-dir "$WORK/cache" -z UTC
measure "peer: agents blocks --active --json (warm cache, one process per request)" 5 \
  "$SPATE" agents blocks --active --json --path "$WORK/tree" --cache-dir "$WORK/cache" -z UTC
# the daemon still agrees after the writes
"$SPATE" agents daily --json --path "$WORK/tree" --cache-dir "$WORK/cache2" -z UTC >"$WORK/cli-daily.json"
curl -sf "http://$ADDR/api/daily" | cmp -s - "$WORK/cli-daily.json" || { echo "FAIL: /api/daily differs after the writes"; exit 1; }
echo "after the writes: /api/daily equals agents daily --json (fresh cache)"
kill -TERM "$PID"
wait "$PID" && echo "daemon stopped: exit 0"
PID=
