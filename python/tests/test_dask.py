"""Past one machine on Dask's distributed scheduler (a LocalCluster of 2 worker processes):
spate's partitioned Parquet read with dask.dataframe.read_parquet, and spate.dask.read_items
building each partition with spate's Arrow batches inside the workers, give the same
aggregate as spate's own group-by."""

import json

import pytest

import spate

pytest.importorskip("pyarrow", reason="pyarrow is installed by scripts/test.sh")
dd = pytest.importorskip("dask.dataframe", reason="dask[distributed] is installed by scripts/test.sh")
distributed = pytest.importorskip("distributed", reason="dask[distributed] is installed by scripts/test.sh")

PATH = "sessions.item.delegations.item"
WITH = {"session_id": "sessions.item.session_id"}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    d = tmp_path_factory.mktemp("docs")
    for f in range(4):
        sessions = []
        for s in range(20):
            ds = [{"agent": f"a{(f + s + i) % 5}", "tokens": f * 100 + s * 10 + i,
                   "at": f"2025-0{1 + f}-01T00:00:00Z"} for i in range(s % 6)]
            sessions.append({"session_id": f"f{f}s{s}", "delegations": ds})
        (d / f"s{f}.json").write_text(json.dumps({"sessions": sessions}))
    return d


def spate_groups(files):
    """spate's own group-by (the engine of `spate items --group-by`), over every file."""
    totals = {}
    for f in files:
        for row in spate.aggregate(f, PATH, group_by=".agent", count=True, sum=".tokens"):
            k = row[".agent"]
            c, s = totals.get(k, (0, 0))
            totals[k] = (c + row["count"], s + row["sum(.tokens)"])
    return totals


def dask_groups(df):
    g = df.groupby("agent")["tokens"].agg(["count", "sum"]).compute()
    return {k: (int(r["count"]), int(r["sum"])) for k, r in g.iterrows()}


def test_partitioned_parquet_read_by_dask(client, docs, tmp_path):
    files = sorted(docs.glob("*.json"))
    # One folder per file's conversion, all partitioned by agent, read as one dataset.
    for i, f in enumerate(files):
        spate.convert(f, tmp_path / "parts" / f"batch={i}", path=PATH, with_=WITH,
                      partition_by="agent")
    df = dd.read_parquet(str(tmp_path / "parts"))
    assert dask_groups(df) == spate_groups(files)


def test_read_items_builds_partitions_in_the_workers(client, docs):
    import spate.dask
    files = sorted(str(p) for p in docs.glob("*.json"))
    df = spate.dask.read_items(str(docs / "*.json"), PATH, with_=WITH)
    assert df.npartitions == len(files)
    assert list(df.columns) == ["agent", "tokens", "at", "session_id"]
    assert dask_groups(df) == spate_groups(files)
    # A filter runs in the workers too.
    big = spate.dask.read_items(files, PATH, filter="select(.tokens >= 200)")
    assert int(big["tokens"].count().compute()) == sum(
        1 for f in files for r in spate.items(f, PATH) if r["tokens"] >= 200)


def test_list_columns_in_dask(client, tmp_path):
    """List columns reach Dask as lists, both from spate's partitioned Parquet and through
    read_items (whose schema, handed to the workers, names the element types)."""
    import spate.dask
    src = tmp_path / "l.jsonl"
    src.write_text("".join(json.dumps({"k": f"g{i % 3}", "xs": list(range(i % 4))}) + "\n"
                           for i in range(600)))
    spate.convert(src, tmp_path / "parts", partition_by="k")
    df = dd.read_parquet(str(tmp_path / "parts"))
    assert int(df["xs"].map(len, meta=("xs", "int64")).sum().compute()) == \
        sum(i % 4 for i in range(600))
    got = spate.dask.read_items([str(src)]).compute()
    assert sorted(len(x) for x in got["xs"]) == sorted(i % 4 for i in range(600))
    assert all(list(x) == list(range(len(x))) for x in got["xs"])


def test_lists_of_structs_through_read_items(client, tmp_path):
    """Sessions whose delegations are arrays of objects, one partition per file, built in
    the workers with the first file's element types: the delegations come out as lists of
    dicts, and their aggregate equals spate's own group-by over the delegations."""
    import spate.dask
    files = []
    for f in range(3):
        sessions = [{"session_id": f"f{f}s{s}",
                     "delegations": [{"agent_type": f"a{(f + s + d) % 4}",
                                      "input_tokens": f * 1000 + s * 10 + d,
                                      "tools": ["Read"] * (d % 3),
                                      "at": "2025-01-01T00:00:00Z"}
                                     for d in range(s % 5)],
                     "matrix": [[s, d] for d in range(s % 3)]}
                    for s in range(25)]
        p = tmp_path / f"s{f}.json"
        p.write_text(json.dumps({"sessions": sessions}))
        files.append(str(p))
    df = spate.dask.read_items(files, "sessions.item")
    assert df.npartitions == 3
    pdf = df.compute()
    assert len(pdf) == 75
    totals = {}
    for ds in pdf["delegations"]:
        for d in ds:
            c, s = totals.get(d["agent_type"], (0, 0))
            totals[d["agent_type"]] = (c + 1, s + d["input_tokens"])
            assert len(d["tools"]) == (d["input_tokens"] % 10) % 3
    want = {}
    for f in files:
        for row in spate.aggregate(f, "sessions.item.delegations.item", group_by=".agent_type",
                                   count=True, sum=".input_tokens"):
            c, s = want.get(row[".agent_type"], (0, 0))
            want[row[".agent_type"]] = (c + row["count"], s + row["sum(.input_tokens)"])
    assert totals == want
    assert sorted(len(m) for m in pdf["matrix"]) == sorted(s % 3 for _ in files for s in range(25))
    # The schema handed to the workers names the element types.
    schema = spate.dask._first_schema(files, "sessions.item", None, None, False)
    items = {f["name"]: f.get("spate", {}).get("items") for f in schema["fields"]}
    assert items["delegations"]["type"] == "object"
    assert [f["name"] for f in items["delegations"]["fields"]] == \
        ["agent_type", "input_tokens", "tools", "at"]
    assert items["matrix"] == {"name": "item", "type": "array", "nullable": False,
                               "items": {"name": "item", "type": "integer", "nullable": False}}


def test_nested_objects_through_read_items(client, tmp_path):
    """Lines whose `message` holds objects: struct columns in the partitions (dicts), built
    in the workers from the first file's schema (the struct's fields as dotted names); the
    aggregate over a struct's field equals spate's own group-by; flatten=True gives dotted
    columns."""
    import spate.dask
    files = []
    for f in range(3):
        lines = []
        for i in range(40):
            m = None if i % 9 == 0 else {"model": f"m{(f + i) % 3}",
                                         "usage": {"input_tokens": f * 100 + i,
                                                   "tools": ["Read"] * (i % 2)}}
            lines.append(json.dumps({"uuid": f"{f}-{i}", "message": m}))
        p = tmp_path / f"t{f}.jsonl"
        p.write_text("\n".join(lines) + "\n")
        files.append(str(p))
    import pandas as pd
    df = spate.dask.read_items(files)
    assert df.npartitions == 3
    pdf = df.compute()
    assert len(pdf) == 120
    totals = {}
    for m in pdf["message"]:
        if m is None or m is pd.NA:  # a null struct
            continue
        totals[m["model"]] = totals.get(m["model"], 0) + m["usage"]["input_tokens"]
        assert len(m["usage"]["tools"]) == m["usage"]["input_tokens"] % 2
    want = {}
    for f in files:
        for row in spate.aggregate(f, "$", group_by=".message.model",
                                   sum=".message.usage.input_tokens"):
            k = row[".message.model"]
            if k is not None:
                want[k] = want.get(k, 0) + row["sum(.message.usage.input_tokens)"]
    assert totals == want
    flat = spate.dask.read_items(files, flatten=True)
    assert "message.usage.input_tokens" in flat.columns
    g = flat.groupby("message.model")["message.usage.input_tokens"].sum().compute()
    assert {k: int(v) for k, v in g.items()} == want


def test_a_large_json_lines_file_is_split_into_byte_ranges(client, tmp_path):
    """One JSON Lines file larger than blocksize: several partitions, one per byte range;
    every line is read once (by the range it starts in), even one that starts right at a
    range's first byte or spans several ranges; the aggregate equals spate's."""
    import spate.dask
    lines = []
    for i in range(3000):
        pad = "x" * (i % 97) if i % 500 else "y" * 5000  # some lines span ranges
        lines.append(json.dumps({"i": i, "k": f"k{i % 7}", "n": i * 3, "pad": pad,
                                 "m": {"v": i} if i % 3 else None}))
    p = tmp_path / "big.jsonl"
    text = "\n".join(lines) + "\n"
    p.write_text(text)
    # a range boundary exactly at a line's first byte
    blocksize = len(lines[0]) + 1
    parts = spate.dask._parts([str(p)], 4096, None, None, None)
    assert len(parts) == -(-len(text) // 4096) > 10
    df = spate.dask.read_items(str(p), blocksize=4096)
    assert df.npartitions == len(parts)
    pdf = df.compute()
    assert sorted(pdf["i"]) == list(range(3000))
    assert int(pdf["n"].sum()) == sum(i * 3 for i in range(3000))
    want = {r[".k"]: r["count"] for r in spate.aggregate(str(p), "$", group_by=".k", count=True)}
    assert pdf.groupby("k").size().to_dict() == want
    # byte ranges that tile the file, by hand, with a boundary at a line start
    got = []
    for s, e in [(0, blocksize), (blocksize, len(text) // 2), (len(text) // 2, len(text))]:
        for b in spate.arrow_batches(p, byte_range=(s, e)):
            got.extend(b.column("i").to_pylist())
    assert got == list(range(3000))
    with pytest.raises(ValueError, match="byte range"):
        list(spate.arrow_batches(p, byte_range=(0, 10), filter="."))
