"""Queries run in Rust (filter, with_, aggregate), schema and agents reports, each against an
oracle: json.load of the whole document, or the spate binary's --json output."""

import collections
import decimal
import io
import json
import os
import pathlib
import random
import subprocess
import sys
import warnings

import pytest

import spate
import spate.agents

REPO = pathlib.Path(__file__).resolve().parents[2]


def make_doc(seed, sessions=60):
    rng = random.Random(seed)
    agents = ["developer", "architect", "code-reviewer", "debugger"]
    out = {"metadata": {"seed": seed}, "sessions": []}
    for i in range(sessions):
        out["sessions"].append({
            "session_id": f"s{i}",
            "message_count": rng.randrange(500),
            "delegations": [{
                "delegation_id": f"d{i}-{j}",
                "agent_type": rng.choice(agents),
                "input_tokens": rng.randrange(10**6),
                "cost_usd": round(rng.random(), 4),
                "ok": rng.random() < 0.8,
            } for j in range(rng.randrange(30))],
        })
    return out


@pytest.fixture(params=[1, 2, 3])
def doc(request, tmp_path):
    data = make_doc(request.param)
    path = tmp_path / "sessions.json"
    path.write_text(json.dumps(data, indent=1))
    return path, data


def test_filter_runs_in_rust(doc):
    path, data = doc
    got = list(spate.items(path, "sessions.item",
                           filter="select(.delegations | length > 20) | .session_id"))
    assert got == [s["session_id"] for s in data["sessions"] if len(s["delegations"]) > 20]
    assert list(spate.items(path.read_bytes(), "$.sessions[*]", filter=".message_count")) == [
        s["message_count"] for s in data["sessions"]]


def test_with_attaches_parent_fields(doc):
    path, data = doc
    got = list(spate.items(path, "sessions.item.delegations.item",
                           with_={"session_id": "sessions.item.session_id"}))
    want = [{**d, "session_id": s["session_id"]} for s in data["sessions"] for d in s["delegations"]]
    assert got == want


def test_aggregate_equals_a_python_count(doc):
    path, data = doc
    counts, tokens, costs = collections.Counter(), collections.Counter(), collections.Counter()
    for s in data["sessions"]:
        for d in s["delegations"]:
            counts[d["agent_type"]] += 1
            tokens[d["agent_type"]] += d["input_tokens"]
            costs[d["agent_type"]] += decimal.Decimal(str(d["cost_usd"]))
    rows = spate.aggregate(path, "sessions.item.delegations.item", group_by=".agent_type",
                           count=True, sum=[".input_tokens", ".cost_usd"], decimal=True)
    assert [r[".agent_type"] for r in rows] == sorted(counts)
    for r in rows:
        a = r[".agent_type"]
        assert r["count"] == counts[a]
        assert r["sum(.input_tokens)"] == tokens[a]
        assert r["sum(.cost_usd)"] == costs[a]  # exact decimal sum
    total = spate.aggregate(path, "sessions.item.delegations.item", count=True)
    assert total == [{"count": sum(counts.values())}]


def test_query_errors():
    with pytest.raises(ValueError, match="does not compile"):
        spate.items(b"[1]", "item", filter="select(")
    with pytest.raises(ValueError):
        spate.aggregate(b"[1]", "item")
    with pytest.raises(spate.JSONError):
        list(spate.items(b"[1, 2,, 3]", "item", filter="."))
    with pytest.raises(FileNotFoundError):
        spate.items("/nonexistent/spate.json", "item", filter=".")


def test_json_lines_query(tmp_path):
    p = tmp_path / "log.jsonl"
    p.write_text("".join(json.dumps({"type": t, "n": i}) + "\n"
                         for i, t in enumerate(["a", "b", "a", "c"] * 50)))
    assert sum(spate.items(p, "n", filter="select(. % 2 == 0)")) == sum(range(0, 200, 2))
    rows = spate.aggregate(p, ".", group_by=".type", count=True, sum=".n")
    assert [(r[".type"], r["count"]) for r in rows] == [("a", 100), ("b", 50), ("c", 50)]
    assert list(spate.items(p, "type", limit=3)) == ["a", "b", "a"]


def test_filter_iteration_can_stop_early(tmp_path):
    p = tmp_path / "big.jsonl"
    p.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(2_000_000)))
    size = p.stat().st_size

    class Counting(io.RawIOBase):
        def __init__(self, f):
            self.f, self.read_bytes = f, 0

        def readable(self):
            return True

        def read(self, n=-1):
            chunk = self.f.read(min(n, 64 * 1024))
            self.read_bytes += len(chunk)
            return chunk

    with open(p, "rb") as f:
        counting = Counting(f)
        it = spate.items(counting, "i", filter=". * 2", json_lines=True)
        assert [next(it) for _ in range(3)] == [0, 2, 4]
        it.close()
        # The run stopped: most of the file was never read.
        assert counting.read_bytes < size // 2


# --- schema --------------------------------------------------------------------------------

def test_schema_of_csv_and_json_items(tmp_path, doc):
    csv = tmp_path / "t.csv"
    csv.write_text("id,zip,price,day\n1,007,1.5,2024-01-02\n2,123,,2024-02-03\n")
    s = spate.schema(csv)
    types = {f["name"]: f["type"] for f in s["fields"]}
    assert types == {"id": "integer", "zip": "string", "price": "number", "day": "date"}
    assert s["spate"]["rows"] == 2
    path, data = doc
    s = spate.schema(path, json_path="sessions.item.delegations.item")
    assert s["spate"]["rows"] == sum(len(x["delegations"]) for x in data["sessions"])
    with pytest.raises(FileNotFoundError):
        spate.schema(tmp_path / "missing.csv")


def _spate_binary():
    for candidate in (os.environ.get("SPATE_BIN"), REPO / "target/debug/spate",
                      REPO / "target/release/spate"):
        if candidate and pathlib.Path(candidate).exists():
            return str(candidate)
    return None


def test_schema_equals_the_cli(tmp_path):
    binary = _spate_binary()
    if binary is None:
        pytest.skip("no spate binary built (cargo build)")
    csv = REPO / "testdata/csv/edge.csv"
    cli = json.loads(subprocess.run([binary, "schema", "--json", str(csv)], check=True,
                                    capture_output=True).stdout)
    assert spate.schema(csv) == cli


# --- agents --------------------------------------------------------------------------------

@pytest.mark.parametrize("report", ["daily", "weekly", "monthly", "session", "model",
                                    "project", "delegations"])
def test_agents_reports_equal_the_cli(report):
    binary = _spate_binary()
    if binary is None:
        pytest.skip("no spate binary built (cargo build)")
    tree = REPO / "testdata/agents/tree"
    cli = subprocess.run([binary, "agents", report, "--json", "--no-cache", "--path", str(tree),
                          "-z", "UTC"], check=True, capture_output=True).stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = getattr(spate.agents, report)(tree, tz="UTC", cache=False, decimal=True)
    assert ours == json.loads(cli, parse_float=decimal.Decimal)


def test_agents_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        spate.agents.daily(tmp_path / "nothing-here", cache=False)
    with pytest.raises(ValueError, match="time zone"):
        spate.agents.daily(REPO / "testdata/agents/tree", tz="Mars/Olympus", cache=False)


# --- the seed analyses ---------------------------------------------------------------------

def test_seed_analyses_example(tmp_path):
    gen = REPO.parent / "shared/bench/gen_data.py"
    doc = tmp_path / "s1.json"
    if gen.exists():
        subprocess.run([sys.executable, str(gen), "sessions", str(doc), "--scale", "1"],
                       check=True)
    else:
        doc.write_text(json.dumps(make_doc(7, sessions=200)))
    sys.path.insert(0, str(REPO / "examples/python"))
    try:
        import analyses
        analyses.check(str(doc))
    finally:
        sys.path.pop(0)
