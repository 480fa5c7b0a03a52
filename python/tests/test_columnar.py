"""spate.convert and spate.arrow_batches: Parquet written by spate read back with pyarrow,
DuckDB and Polars (values, types and row counts equal the input's); Arrow IPC read by
pyarrow; partitioned output read as one table equals the unpartitioned one; JSON arrays of
one scalar type as list columns, arrays of objects as lists of structs, arrays of arrays as
nested lists (arrays="json": their JSON text)."""

import csv
import datetime as dt
import decimal
import json

import pytest

import spate

pa = pytest.importorskip("pyarrow", reason="pyarrow is installed by scripts/test.sh")
pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb", reason="duckdb is installed by scripts/test.sh")
pl = pytest.importorskip("polars", reason="polars is installed by scripts/test.sh")

UTC = dt.timezone.utc


def sessions_doc(tmp_path):
    """A sessions document whose delegations are the rows; the session id comes after the
    delegations (the items wait for it)."""
    sessions, want = [], []
    for s in range(30):
        ds = []
        for d in range((s % 5) * 40):
            n = s * 1000 + d
            item = {"id": n, "agent": f"a{n % 4} ✓ \"q\"", "cost": n / 4,
                    "at": f"2025-01-01T00:{(n // 60) % 60:02}:{n % 60:02}Z",
                    "ok": n % 3 == 0, "usage": {"input": n * 2}, "tags": [n % 2]}
            if n % 5:
                item["note"] = f"n{n}"
            ds.append(item)
            row = {"id": n, "agent": item["agent"], "cost": n / 4,
                   "at": dt.datetime(2025, 1, 1, 0, (n // 60) % 60, n % 60, tzinfo=UTC),
                   "ok": n % 3 == 0, "usage": {"input": n * 2}, "tags": [n % 2],
                   "note": item.get("note"), "session_id": f"s{s}"}
            want.append(row)
        sessions.append({"delegations": ds, "session_id": f"s{s}"})
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"meta": {}, "sessions": sessions}, indent=1), encoding="utf-8")
    return path, want


def test_json_items_with_enclosing_field_read_by_pyarrow_duckdb_polars(tmp_path):
    src, want = sessions_doc(tmp_path)
    out = tmp_path / "d.parquet"
    report = spate.convert(src, out, path="sessions.item.delegations.item",
                           with_={"session_id": "sessions.item.session_id"},
                           row_group_size=1000)
    assert report["rows"] == len(want)
    table = pq.read_table(out)
    assert table.num_rows == len(want)
    assert pq.ParquetFile(out).metadata.num_row_groups > 1
    types = {f.name: f.type for f in table.schema}
    assert types == {"id": pa.int64(), "agent": pa.string(), "cost": pa.float64(),
                     "at": pa.timestamp("us", tz="UTC"), "ok": pa.bool_(),
                     "usage": pa.struct([pa.field("input", pa.int64(), nullable=False)]),
                     "tags": pa.list_(pa.field("item", pa.int64(), nullable=False)),
                     "note": pa.string(),
                     "session_id": pa.string()}
    got = table.to_pylist()
    assert [{k: r[k] for k in want[0]} for r in got] == want

    con = duckdb.connect()
    n, s, k = con.execute(
        f"select count(*), sum(id), count(distinct session_id) from '{out}'").fetchone()
    assert (n, s, k) == (len(want), sum(r["id"] for r in want), len({r["session_id"] for r in want}))
    first = con.execute(f"select id, agent, \"at\", usage.input from '{out}' limit 1").fetchone()
    assert first[0] == want[0]["id"] and first[1] == want[0]["agent"]
    assert first[2] == want[0]["at"] and first[3] == want[0]["usage"]["input"]

    df = pl.read_parquet(out)
    assert df.height == len(want)
    assert df["cost"].sum() == sum(r["cost"] for r in want)
    assert df.schema["at"] == pl.Datetime("us", "UTC")
    assert df.row(0, named=True)["note"] == want[0]["note"]
    assert df.schema["tags"] == pl.List(pl.Int64)
    assert df["tags"].list.sum().sum() == sum(r["tags"][0] for r in want)
    assert df["usage"].struct.field("input").sum() == sum(r["usage"]["input"] for r in want)

    # flatten=True: the nested object's members as dotted columns.
    flat = tmp_path / "flat.parquet"
    spate.convert(src, flat, path="sessions.item.delegations.item",
                  with_={"session_id": "sessions.item.session_id"}, flatten=True)
    t = pq.read_table(flat)
    assert "usage" not in t.column_names and t.schema.field("usage.input").type == pa.int64()
    assert t.column("usage.input").to_pylist() == [r["usage"]["input"] for r in want]


def test_nested_objects_as_structs_read_by_pyarrow_duckdb_polars(tmp_path):
    """Transcript-like lines: a message object holding a usage object, sometimes null or
    missing; members named with dots stay one field; a path seen both as an object and as a
    value is its text; partitioning by a struct's field keeps the struct in the files."""
    lines, want = [], []
    for i in range(3000):
        line = {"uuid": f"u{i}", "a.b": i}
        if i % 7 == 0:
            line["message"] = None
        elif i % 11 != 0:
            usage = {"input_tokens": i, "cache": {"read": i % 13}}
            if i % 5 == 0:
                usage["tier"] = "x"
            line["message"] = {"model": f"m{i % 3}", "usage": usage}
        line["mixed"] = {"k": [i]} if i % 2 else i
        lines.append(json.dumps(line))
        m = line.get("message")
        want.append({"uuid": f"u{i}", "a.b": i,
                     "message": None if m is None else {
                         "model": m["model"],
                         "usage": {"input_tokens": i, "cache": {"read": i % 13},
                                   "tier": m["usage"].get("tier")}},
                     "mixed": json.dumps(line["mixed"], separators=(",", ":"))
                     if i % 2 else str(i)})
    src = tmp_path / "t.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "t.parquet"
    assert spate.convert(src, out)["rows"] == 3000
    table = pq.read_table(out)
    assert table.column_names == ["uuid", "a.b", "message", "mixed"]
    usage = table.schema.field("message").type.field("usage").type
    assert usage.field("cache").type == pa.struct([pa.field("read", pa.int64(), nullable=True)])
    assert table.to_pylist() == want

    con = duckdb.connect()
    got = dict(con.execute(f"""select message.model, sum(message.usage.input_tokens) from '{out}'
                               where message is not null group by 1""").fetchall())
    spate_sums = {r[".message.model"]: r["sum(.message.usage.input_tokens)"]
                  for r in spate.aggregate(src, "$", group_by=".message.model",
                                           sum=".message.usage.input_tokens")
                  if r[".message.model"] is not None}
    assert got == spate_sums
    df = pl.read_parquet(out)
    assert df["message"].struct.field("usage").struct.field("input_tokens").sum() == \
        sum(w["message"]["usage"]["input_tokens"] for w in want if w["message"])

    parts = tmp_path / "parts"
    spate.convert(src, parts, partition_by="message.model")
    names = sorted(p.name for p in parts.iterdir())
    assert names == ["message.model=__HIVE_DEFAULT_PARTITION__", "message.model=m0",
                     "message.model=m1", "message.model=m2"]
    import pyarrow.dataset as ds
    back = ds.dataset(parts, format="parquet", partitioning="hive").to_table()
    assert sorted(back.drop_columns(["message.model"]).to_pylist(),
                  key=lambda r: int(r["uuid"][1:])) == want

    batches = list(spate.arrow_batches(src, batch_size=1000))
    assert pa.Table.from_batches(batches).to_pylist() == want
    flat = list(spate.arrow_batches(src, batch_size=1000, flatten=True))
    assert "message.usage.cache.read" in flat[0].schema.names


def test_json_lines_types_and_values(tmp_path):
    lines, want = [], []
    for i in range(5000):
        big = 12345678901234567890123 + i
        if i % 3 == 0:
            lines.append(json.dumps({"n": i, "big": big, "day": f"2024-02-{1 + i % 28:02}",
                                     "f": i + 0.5, "s": "é\n"}))
            want.append({"n": i, "big": decimal.Decimal(big),
                         "day": dt.date(2024, 2, 1 + i % 28), "f": i + 0.5, "s": "é\n"})
        else:
            lines.append(json.dumps({"n": -i, "big": -1, "f": 3}))
            want.append({"n": -i, "big": decimal.Decimal(-1), "day": None, "f": 3.0, "s": None})
    src = tmp_path / "e.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "e.parquet"
    assert spate.convert(src, out)["rows"] == 5000
    table = pq.read_table(out)
    assert table.schema.field("big").type == pa.decimal128(38, 0)
    assert table.schema.field("day").type == pa.date32()
    assert table.to_pylist() == want
    assert duckdb.sql(f"select sum(big) from '{out}'").fetchall()[0][0] == sum(r["big"] for r in want)
    assert pl.read_parquet(out).height == 5000

    # The same rows in an Arrow IPC file, and as batches.
    arrow = tmp_path / "e.arrow"
    spate.convert(src, arrow)
    with pa.ipc.open_file(arrow) as f:
        assert f.read_all().to_pylist() == want
    batches = list(spate.arrow_batches(src, batch_size=1024))
    assert [b.num_rows for b in batches] == [1024] * 4 + [904]
    assert pa.Table.from_batches(batches).to_pylist() == want


def test_csv_types_and_values(tmp_path):
    src = tmp_path / "c.csv"
    rows = [["id", "name", "amount", "day", "zip"]]
    want = []
    for i in range(3000):
        amount = "" if i % 4 == 0 else f"{i}.25"
        rows.append([str(i), f"n,{i} \"q\"", amount, "2024-02-29", f"0{i}"])
        want.append({"id": i, "name": f"n,{i} \"q\"", "amount": None if i % 4 == 0 else i + 0.25,
                     "day": dt.date(2024, 2, 29), "zip": f"0{i}"})
    with open(src, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    out = tmp_path / "c.parquet"
    spate.convert(src, out, compression="snappy")
    assert pq.read_table(out).to_pylist() == want
    assert duckdb.sql(f"select count(*), count(amount) from '{out}'").fetchall()[0] == (3000, 2250)
    assert pl.read_parquet(out)["zip"].dtype == pl.String


def test_partitioned_read_as_one_table_equals_unpartitioned(tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_text("".join(
        json.dumps({"id": i, "kind": ["a/b", "x=y", "é", "plain"][i % 4], "day": f"2024-01-0{1 + i % 3}",
                    "v": i * 1.5}) + "\n" for i in range(4000)), encoding="utf-8")
    whole = tmp_path / "w.parquet"
    spate.convert(src, whole)
    parts = tmp_path / "parts"
    report = spate.convert(src, parts, partition_by=["day", "kind"])
    assert report["files"] == 12
    q = "select id, kind, cast(day as varchar) as day, v from {} order by id"
    a = duckdb.sql(q.format(f"'{whole}'")).fetchall()
    b = duckdb.sql(q.format(f"read_parquet('{parts}/**/*.parquet', hive_partitioning=true)")).fetchall()
    assert a == b
    t = pl.read_parquet(str(parts) + "/**/*.parquet", hive_partitioning=True).sort("id")
    assert t["id"].to_list() == list(range(4000))
    assert t["kind"].to_list() == [["a/b", "x=y", "é", "plain"][i % 4] for i in range(4000)]
    import pyarrow.dataset as ds
    d = ds.dataset(parts, format="parquet", partitioning="hive").to_table()
    assert sorted(d.column("id").to_pylist()) == list(range(4000))


def test_errors(tmp_path):
    src = tmp_path / "g.jsonl"
    src.write_text('{"a": 1}\n{"a": 2.5}\n')
    with pytest.raises(ValueError, match=r'row 2 \(byte 9\), column "a"'):
        spate.convert(src, tmp_path / "g.parquet",
                      schema={"fields": [{"name": "a", "type": "integer"}]})
    assert not (tmp_path / "g.parquet").exists()
    bad = tmp_path / "bad.json"
    bad.write_text('[{"a": 1}, {"a": tru}]')
    with pytest.raises(spate.JSONError) as e:
        list(spate.arrow_batches(bad))
    assert e.value.offset == 20
    with pytest.raises(FileNotFoundError):
        spate.convert(tmp_path / "missing.json", tmp_path / "m.parquet")
    with pytest.raises(ValueError, match="same file"):
        spate.convert(src, src, format="parquet")
    assert src.read_text() == '{"a": 1}\n{"a": 2.5}\n'


def test_breaking_out_stops_the_scan(tmp_path):
    src = tmp_path / "big.jsonl"
    src.write_text("".join(f'{{"i": {i}}}\n' for i in range(200_000)))
    it = spate.arrow_batches(src, batch_size=100)
    first = next(it)
    assert first.num_rows == 100
    it.close()


def lists_jsonl(tmp_path):
    """JSON Lines whose arrays cover the edge cases: empty, null, missing, null elements,
    integer/float widening, dates; arrays of objects (lists of structs); and arrays that stay
    JSON text (mixed kinds)."""
    lines, want = [], []
    for i in range(3000):
        row = {"id": i, "k": f"g{i % 3}", "ints": list(range(i % 4)), "tags": [f"t{j}" for j in range(i % 3)],
               "nums": [i, i + 0.5] if i % 2 else [i], "days": ["2024-01-0%d" % (1 + i % 5)],
               "mixed": [i, "x"], "objs": [{"a": i}]}
        if i % 5 == 0:
            row["ints"].append(None)
        if i % 7 == 0:
            row["tags"] = None
        if i % 11 == 0:
            del row["nums"]
        lines.append(json.dumps(row))
        want.append({"id": i, "k": row["k"], "ints": row["ints"], "tags": row["tags"],
                     "nums": None if "nums" not in row else [float(x) for x in row["nums"]],
                     "days": [dt.date(2024, 1, 1 + i % 5)],
                     "mixed": json.dumps(row["mixed"], separators=(",", ":")),
                     "objs": row["objs"]})
    src = tmp_path / "l.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src, want


def test_arrays_as_lists_read_by_pyarrow_duckdb_polars(tmp_path):
    src, want = lists_jsonl(tmp_path)
    out = tmp_path / "l.parquet"
    assert spate.convert(src, out, row_group_size=1000)["rows"] == len(want)
    table = pq.read_table(out)
    item = lambda t, nullable: pa.list_(pa.field("item", t, nullable=nullable))  # noqa: E731
    assert {f.name: f.type for f in table.schema} == {
        "id": pa.int64(), "k": pa.string(), "ints": item(pa.int64(), True), "tags": item(pa.string(), False),
        "nums": item(pa.float64(), False), "days": item(pa.date32(), False),
        "mixed": pa.string(),
        "objs": item(pa.struct([pa.field("a", pa.int64(), nullable=False)]), False)}
    assert table.to_pylist() == want

    con = duckdb.connect()
    got = con.execute(f"""select count(*), sum(len(ints)), sum(list_sum(ints)),
                                count(tags), sum(len(tags)), sum(list_sum(nums))
                         from '{out}'""").fetchone()
    assert got == (len(want), sum(len(r["ints"]) for r in want),
                   sum(x for r in want for x in r["ints"] if x is not None),
                   sum(r["tags"] is not None for r in want),
                   sum(len(r["tags"]) for r in want if r["tags"] is not None),
                   sum(x for r in want if r["nums"] for x in r["nums"]))
    assert con.execute(f"select count(*) from (select unnest(tags) from '{out}')").fetchone()[0] \
        == sum(len(r["tags"]) for r in want if r["tags"] is not None)

    df = pl.read_parquet(out)
    assert df.schema["ints"] == pl.List(pl.Int64) and df.schema["days"] == pl.List(pl.Date)
    assert df["ints"].to_list() == [r["ints"] for r in want]
    assert df["tags"].list.len().sum() == sum(len(r["tags"]) for r in want if r["tags"] is not None)

    # Arrow IPC, and batches.
    arrow = tmp_path / "l.arrow"
    spate.convert(src, arrow)
    with pa.ipc.open_file(arrow) as f:
        assert f.read_all().to_pylist() == want
    batches = list(spate.arrow_batches(src, batch_size=1000))
    assert pa.Table.from_batches(batches).to_pylist() == want


def test_arrays_json_keeps_json_text(tmp_path):
    src, want = lists_jsonl(tmp_path)
    out = tmp_path / "j.parquet"
    spate.convert(src, out, arrays="json")
    table = pq.read_table(out)
    assert all(f.type == pa.string() for f in table.schema if f.name not in ("id", "k"))
    assert table.column("ints").to_pylist()[:2] == ["[null]", "[0]"]
    batch = next(spate.arrow_batches(src, arrays="json"))
    assert batch.schema.field("ints").type == pa.string()
    with pytest.raises(ValueError, match="list, json"):
        spate.convert(src, tmp_path / "x.parquet", arrays="struct")


def test_partitioned_list_columns_read_as_one_table(tmp_path):
    src, want = lists_jsonl(tmp_path)
    whole = tmp_path / "w.parquet"
    spate.convert(src, whole)
    parts = tmp_path / "parts"
    assert spate.convert(src, parts, partition_by="k")["files"] == 3
    q = "select id, k, ints, tags, nums, days, mixed, objs from {} order by id"
    a = duckdb.sql(q.format(f"'{whole}'")).fetchall()
    b = duckdb.sql(q.format(f"read_parquet('{parts}/**/*.parquet', hive_partitioning=true)")).fetchall()
    assert a == b
    t = pl.read_parquet(str(parts) + "/**/*.parquet", hive_partitioning=True).sort("id")
    assert t["ints"].to_list() == [r["ints"] for r in want]
    with pytest.raises(ValueError, match="list or struct column"):
        spate.convert(src, tmp_path / "bad", partition_by="ints")


def nested_sessions(tmp_path):
    """A sessions document whose delegations are objects with differing keys, a nested
    usage object, a list of tools, dates, datetimes and big integers inside; a matrix of
    arrays of arrays."""
    sessions = []
    for s in range(60):
        ds = []
        for d in range(s % 6):
            n = s * 10 + d
            o = {"agent_type": f"a{n % 4}", "input_tokens": n * 7, "tools": ["Read"] * (n % 3),
                 "at": f"2025-01-01T00:00:{n % 60:02}Z", "day": f"2025-01-{1 + n % 28:02}",
                 "usage": {"cache": n, "cost": n / 8}}
            if n % 4 == 0:
                o["note"] = f"n{n}"
            if n % 9 == 0:
                o["usage"] = None
            ds.append(o)
        sessions.append({"session_id": f"s{s}", "delegations": ds,
                         "matrix": [[s, d] for d in range(s % 3)],
                         "big": [10 ** 20 + s]})
    path = tmp_path / "sessions.json"
    path.write_text(json.dumps({"sessions": sessions}), encoding="utf-8")
    return path, sessions


def test_lists_of_structs_read_by_pyarrow_duckdb_polars(tmp_path):
    src, sessions = nested_sessions(tmp_path)
    out = tmp_path / "s.parquet"
    assert spate.convert(src, out, path="sessions.item", row_group_size=16)["rows"] == 60
    table = pq.read_table(out)
    assert table.num_rows == 60
    f = lambda n, t, null: pa.field(n, t, nullable=null)  # noqa: E731
    delegation = pa.struct([f("agent_type", pa.string(), False), f("input_tokens", pa.int64(), False),
                            f("tools", pa.list_(f("item", pa.string(), False)), False),
                            f("at", pa.timestamp("us", tz="UTC"), False), f("day", pa.date32(), False),
                            f("usage", pa.struct([f("cache", pa.int64(), False),
                                                  f("cost", pa.float64(), False)]), True),
                            f("note", pa.string(), True)])
    assert {x.name: x.type for x in table.schema} == {
        "session_id": pa.string(),
        "delegations": pa.list_(f("item", delegation, False)),
        "matrix": pa.list_(f("item", pa.list_(f("item", pa.int64(), False)), False)),
        "big": pa.list_(f("item", pa.decimal128(38, 0), False))}
    want = []
    for s in sessions:
        ds = [{"agent_type": o["agent_type"], "input_tokens": o["input_tokens"], "tools": o["tools"],
               "at": dt.datetime.fromisoformat(o["at"].replace("Z", "+00:00")),
               "day": dt.date.fromisoformat(o["day"]), "usage": o["usage"], "note": o.get("note")}
              for o in s["delegations"]]
        want.append({"session_id": s["session_id"], "delegations": ds, "matrix": s["matrix"],
                     "big": [decimal.Decimal(x) for x in s["big"]]})
    assert table.to_pylist() == want

    # DuckDB: unnest the delegations; the aggregate equals spate's own group-by over them.
    con = duckdb.connect()
    got = dict(con.execute(f"""select d.agent_type, sum(d.input_tokens)
                               from (select unnest(delegations) as d from '{out}')
                               group by 1""").fetchall())
    spate_groups = {r[".agent_type"]: r["sum(.input_tokens)"]
                    for r in spate.aggregate(src, "sessions.item.delegations.item",
                                             group_by=".agent_type", sum=".input_tokens")}
    assert got == spate_groups
    assert con.execute(f"select sum(len(matrix)), count(*) from '{out}'").fetchone() == \
        (sum(len(s["matrix"]) for s in sessions), 60)
    assert con.execute(f"""select count(*) from (select unnest(delegations) as d from '{out}')
                           where d.usage is null""").fetchone()[0] == \
        sum(o["usage"] is None for s in sessions for o in s["delegations"])

    # Polars: explode and unnest.
    df = pl.read_parquet(out)
    flat = df.select("delegations").explode("delegations").drop_nulls().unnest("delegations")
    assert flat.height == sum(len(s["delegations"]) for s in sessions)
    assert flat["input_tokens"].sum() == sum(o["input_tokens"] for s in sessions for o in s["delegations"])
    assert flat.schema["at"] == pl.Datetime("us", "UTC")

    # Arrow IPC and batches carry the same types and values.
    arrow = tmp_path / "s.arrow"
    spate.convert(src, arrow, path="sessions.item")
    with pa.ipc.open_file(arrow) as r:
        assert r.read_all().to_pylist() == want
    batches = list(spate.arrow_batches(src, "sessions.item", batch_size=7))
    assert batches[0].schema == table.schema.remove_metadata()
    assert pa.Table.from_batches(batches).to_pylist() == want


def test_schema_with_element_types_gives_one_pass_lists(tmp_path):
    """spate.schema names the element types (spate.items); given back, the single pass
    writes the same lists and structs (every element and field nullable)."""
    src, sessions = nested_sessions(tmp_path)
    schema = spate.schema(src, json_path="sessions.item")
    items = {f["name"]: f["spate"].get("items") for f in schema["fields"]}
    assert items["delegations"]["type"] == "object"
    assert [x["name"] for x in items["delegations"]["fields"]] == \
        ["agent_type", "input_tokens", "tools", "at", "day", "usage", "note"]
    assert items["session_id"] is None
    # (the big integers need more than 64 bits, which a given schema's integers are not)
    schema["fields"] = [x for x in schema["fields"] if x["name"] != "big"]
    twice, once = tmp_path / "a.parquet", tmp_path / "b.parquet"
    spate.convert(src, twice, path="sessions.item")
    src2 = tmp_path / "nobig.json"
    for s in sessions:
        del s["big"]
    src2.write_text(json.dumps({"sessions": sessions}), encoding="utf-8")
    spate.convert(src2, once, path="sessions.item", schema=schema)
    a, b = pq.read_table(twice), pq.read_table(once)
    assert b.column("delegations").to_pylist() == a.column("delegations").to_pylist()
    assert b.column("matrix").to_pylist() == a.column("matrix").to_pylist()
    assert b.schema.field("delegations").type.value_type.field("usage").nullable


def test_nested_value_that_does_not_fit_a_given_schema(tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_text('{"ds": [{"n": 1}]}\n{"ds": [{"n": 2}, {"n": "x"}]}\n')
    schema = {"fields": [{"name": "ds", "type": "array", "spate": {"items": {
        "type": "object", "fields": [{"name": "n", "type": "integer"}]}}}]}
    with pytest.raises(ValueError) as e:
        spate.convert(src, tmp_path / "d.parquet", schema=schema)
    assert str(e.value) == (f'{src}: row 2 (byte 19), column "ds": element 2: field "n": '
                            '"x" is not an integer within 64 bits')
    assert not (tmp_path / "d.parquet").exists()
    with pytest.raises(ValueError, match='element 2: field "n"'):
        list(spate.arrow_batches(src, schema=schema))


def test_partitioned_lists_of_structs_read_as_one_table(tmp_path):
    src, sessions = nested_sessions(tmp_path)
    whole, parts = tmp_path / "w.parquet", tmp_path / "parts"
    spate.convert(src, whole, path="sessions.item")
    spate.convert(src, parts, path="sessions.item", partition_by="session_id")
    q = """select d.agent_type, count(*), sum(d.input_tokens), sum(len(d.tools))
           from (select unnest(delegations) as d from {}) group by 1 order by 1"""
    a = duckdb.sql(q.format(f"'{whole}'")).fetchall()
    b = duckdb.sql(q.format(f"read_parquet('{parts}/**/*.parquet', hive_partitioning=true)")).fetchall()
    assert a == b and sum(r[1] for r in a) == sum(len(s["delegations"]) for s in sessions)
    with pytest.raises(ValueError, match="list or struct column"):
        spate.convert(src, tmp_path / "bad", path="sessions.item", partition_by="delegations")


def test_compression_level_and_json_lines_with_a_path(tmp_path):
    """A codec's level changes the bytes, not the rows; a level out of range is a
    ValueError. A path given for JSON Lines applies inside each line (it used to be
    dropped: the rows were the lines)."""
    lines = tmp_path / "r.jsonl"
    lines.write_text("".join(json.dumps({"run": {"id": i % 7, "items": [{"k": i}, {"k": -i}]},
                                         "pad": "x" * (i % 50)}) + "\n"
                             for i in range(3000)))
    sizes, tables = [], []
    for level in (1, 19):
        out = tmp_path / f"l{level}.parquet"
        report = spate.convert(lines, out, path="run.items.item", with_={"rid": "run.id"},
                               compression_level=level)
        assert report["rows"] == 6000
        sizes.append(out.stat().st_size)
        tables.append(pq.read_table(out).to_pylist())
    assert sizes[0] > sizes[1]
    assert tables[0] == tables[1]
    assert tables[0][:3] == [{"k": 0, "rid": 0}, {"k": 0, "rid": 0}, {"k": 1, "rid": 1}]
    with pytest.raises(ValueError, match="zstd takes 1 to 22"):
        spate.convert(lines, tmp_path / "bad.parquet", compression_level=0)
    assert not (tmp_path / "bad.parquet").exists()
