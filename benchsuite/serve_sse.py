#!/usr/bin/env python3
"""The writer of benchsuite/serve.sh, and the append-to-event clock.

Appends one valid usage line at a time to a transcript, then waits for the daemon's next
`update` event on /api/events and records the delay; repeats for DURATION seconds (a
bounded number of appends, PAUSE seconds apart). Prints one JSON object: appends, events,
delays (ms) p50/p99/max, and the requests the daemon reports at the end.

    serve_sse.py HOST:PORT TRANSCRIPT DURATION [PAUSE]
"""
import http.client
import json
import sys
import time


def main():
    addr, transcript, duration = sys.argv[1], sys.argv[2], float(sys.argv[3])
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/api/events", headers={"Accept": "text/event-stream"})
    resp = conn.getresponse()
    assert resp.status == 200, resp.status

    def next_event():
        name, data = None, ""
        while True:
            line = resp.fp.readline()
            if not line:
                raise SystemExit("event stream closed")
            line = line.decode().rstrip("\r\n")
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif line == "" and name:
                return name, data

    name, _ = next_event()
    assert name == "hello", name
    delays, last = [], None
    end = time.monotonic() + duration
    i = 0
    while time.monotonic() < end and i < 10000:
        i += 1
        line = json.dumps({
            "type": "assistant",
            "sessionId": "bench-writer",
            "timestamp": "2025-11-20T10:%02d:%02d.000Z" % (i // 60 % 60, i % 60),
            "requestId": "req_bench_%d_%d" % (int(time.time()), i),
            "message": {"id": "msg_bench_%d_%d" % (int(time.time()), i),
                        "model": "claude-sonnet-4-5-20250929",
                        "usage": {"input_tokens": 100, "output_tokens": 10}},
        })
        t0 = time.monotonic()
        with open(transcript, "a") as f:
            f.write(line + "\n")
        while True:
            name, data = next_event()
            if name in ("update", "resync"):
                break
        delays.append((time.monotonic() - t0) * 1000)
        last = json.loads(data)
        time.sleep(pause)
    delays.sort()

    def pct(p):
        return round(delays[min(len(delays) - 1, int(len(delays) * p))], 1)

    print(json.dumps({
        "appends": i,
        "events": len(delays),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(delays[-1], 1),
        "requests_now": last["stats"]["requests"] if last else None,
    }))


if __name__ == "__main__":
    main()
