"""The routes of `items` give the same answers: a plain file by path or as `open(p, "rb")`
(mapped and scanned in place), bytes (scanned in place) and any other file object (read
through the engine's window) — same items, and for invalid input the same error with the
same position and excerpt."""

import io
import json
import os
import random
import subprocess
import sys
import textwrap

import pytest

import spate
import spate.ijson

from test_items import dumps, paths_of, random_value


def outcome(source, prefix, **kw):
    """The items, then the error (type, message, position) if one ended the iteration."""
    got = []
    try:
        for x in spate.items(source, prefix, **kw):
            got.append(x)
    except spate.JSONError as e:
        head = str(e).split("\n")[0].replace(getattr(e, "file", ""), "<name>")
        return got, (type(e), head, e.offset, e.line, e.column, up_to_caret(e.excerpt))
    return got, None


def up_to_caret(excerpt):
    """The excerpt's character under the caret. The context around it is what the engine
    had in memory: a stream's first read is the 4 bytes sniffed for compression (an error
    in them shows nothing after it), and an item over the size limit found when it outgrew
    the stream's window shows nothing before it; in place the context is all there. Offset,
    line, column and message are compared exactly."""
    if not excerpt:
        return excerpt
    text, caret = excerpt.split("\n")
    i = caret.index("^")
    return text[i:i + 1]


def routes(tmp_path, text, prefix, **kw):
    p = tmp_path / "doc.json"
    p.write_bytes(text)
    with open(p, "rb") as f:
        mapped_file_object = outcome(f, prefix, **kw)
    results = {
        "path": outcome(str(p), prefix, **kw),
        "bytes": outcome(text, prefix, **kw),
        "file object": mapped_file_object,
        "stream": outcome(io.BytesIO(text), prefix, **kw),
    }
    return results


def assert_same(results, context):
    first = results["stream"]
    for name, r in results.items():
        assert r == first, (name, context)


def damaged(text, rng):
    """`text` cut short, or with one byte replaced, inserted or removed."""
    i = rng.randrange(len(text) + 1)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i]
    b = bytes([rng.choice(b'{}[],:"\\ \n0a\xff\xc3-.eE')])
    if kind == 1:
        return text[:i] + b + text[i + 1:]
    if kind == 2:
        return text[:i] + b + text[i:]
    return text[:i] + text[i + 1:]


@pytest.mark.parametrize("seed", range(150))
def test_routes_agree_on_random_documents(tmp_path, seed):
    rng = random.Random(1000 + seed)
    value = random_value(rng)
    text = dumps(value, rng)
    prefixes = sorted(set(paths_of(value)))[:4]
    for prefix in prefixes:
        assert_same(routes(tmp_path, text, prefix), (text, prefix))
    bad = damaged(text, rng)
    for prefix in prefixes[:2]:
        assert_same(routes(tmp_path, bad, prefix), (bad, prefix))


def test_routes_agree_on_limits(tmp_path):
    text = json.dumps({"a": [list(range(50)), {"b": "x" * 300}, [1, 2]], "c": [[0] * 40]}).encode()
    for prefix in ["a.item", "a", "", "c.item", "$.a[-1:]", "$..b"]:
        for size in [5, 64, 150, 400, 10_000]:
            assert_same(routes(tmp_path, text, prefix, max_item_size=size), (prefix, size))
        for depth in [1, 2, 3, 10]:
            assert_same(routes(tmp_path, text, prefix, max_depth=depth), (prefix, depth))
        assert_same(routes(tmp_path, text, prefix, limit=2), prefix)


def test_routes_agree_across_slices(tmp_path):
    """A document larger than the slices the in-place scan works in (2 MiB), with items,
    strings and an error placed across the slice boundaries."""
    rng = random.Random(7)
    items = [{"id": i, "text": "é" * rng.randrange(1, 40_000), "n": [i] * rng.randrange(3)}
             for i in range(300)]
    text = json.dumps({"items": items}).encode()
    assert len(text) > 5 << 20
    assert_same(routes(tmp_path, text, "items.item"), "valid")
    for at in [2 << 20, (4 << 20) + 1, len(text) - 3]:
        bad = text[:at] + b"\x01" + text[at:]
        assert_same(routes(tmp_path, bad, "items.item"), at)
    assert_same(routes(tmp_path, text, "items.item", max_item_size=60_000), "limit")


def test_gzip_file_and_json_lines_still_stream(tmp_path):
    import gzip
    p = tmp_path / "d.json.gz"
    p.write_bytes(gzip.compress(b'{"a": [1, 2, 3]}'))
    assert list(spate.items(p, "a.item")) == [1, 2, 3]
    q = tmp_path / "d.json"
    q.write_bytes(b'{"a": 1}\n{"a": 2}\n')
    assert list(spate.items(q, "a", json_lines=True)) == [1, 2]
    e = tmp_path / "empty.json"
    e.write_bytes(b"")
    with pytest.raises(spate.JSONError):
        list(spate.items(e, "item"))


def test_memory_stays_bounded_on_a_mapped_file(tmp_path):
    """The pages of a mapped file behind the scan are given back: a 96 MB file does not
    make the process 96 MB bigger."""
    p = tmp_path / "big.json"
    row = json.dumps({"k": "v" * 4000, "n": 1})
    with open(p, "w") as f:
        f.write('{"rows": [')
        f.write(",".join([row] * 24_000))
        f.write("]}")
    assert os.path.getsize(p) > 90_000_000
    script = textwrap.dedent(f"""
        import resource, spate
        list(spate.items(b'[1]', 'item'))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        n = sum(1 for _ in spate.items({str(p)!r}, "rows.item"))
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(n, grown)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout.split()
    n, grown_kb = int(out[0]), int(out[1])
    assert n == 24_000
    assert grown_kb < 40_000, f"resident size grew by {grown_kb} KB"


def test_file_objects_that_are_not_plain_files_at_their_start_are_read(tmp_path):
    import bz2
    import gzip
    p = tmp_path / "d.json"
    p.write_bytes(b'xx{"a": [1, 2]}')
    with open(p, "rb") as f:
        f.seek(2)  # not at its start: read from where it is, as before
        assert list(spate.items(f, "a.item")) == [1, 2]
    with open(p, "rb", buffering=0) as f:
        f.read(2)
        assert list(spate.items(f, "a.item")) == [1, 2]
    # Their fileno() is the compressed file's: read() is what counts.
    for opener, suffix in [(bz2.open, ".bz2"), (gzip.open, ".gz")]:
        z = tmp_path / ("z.json" + suffix)
        with opener(z, "wb") as f:
            f.write(b'{"a": [3]}')
        with opener(z, "rb") as f:
            assert list(spate.items(f, "a.item")) == [3]
    with open(p, "rb") as f:
        f.seek(2)
        ours = list(spate.ijson.items(f, "a.item"))
    assert ours == [1, 2]


def test_mapped_file_object_stays_usable(tmp_path):
    p = tmp_path / "d.json"
    p.write_bytes(b'{"a": [1, 2, 3]}')
    with open(p, "rb") as f:
        it = spate.items(f, "a.item")
        assert next(it) == 1
        del it
        assert not f.closed
        f.seek(0)
        assert f.read(1) == b"{"


def validate_outcome(source, **kw):
    try:
        return spate.validate(source, **kw)
    except spate.JSONError as e:
        head = str(e).split("\n")[0].replace(getattr(e, "file", ""), "<name>")
        return (head, e.offset, e.line, e.column, up_to_caret(e.excerpt))


@pytest.mark.parametrize("seed", range(60))
def test_validate_routes_agree(tmp_path, seed):
    rng = random.Random(5000 + seed)
    text = dumps(random_value(rng), rng)
    for doc in [text, damaged(text, rng), damaged(text, rng)]:
        p = tmp_path / "v.json"
        p.write_bytes(doc)
        with open(p, "rb") as f:
            mapped_file_object = validate_outcome(f)
        got = {"path": validate_outcome(str(p)), "bytes": validate_outcome(doc),
               "file object": mapped_file_object, "stream": validate_outcome(io.BytesIO(doc))}
        assert all(v == got["stream"] for v in got.values()), (doc, got)
    lines = b'{"a": 1}\n[2]\n'
    assert spate.validate(lines, json_lines=True) == len(lines)
    with pytest.raises(spate.JSONError):
        spate.validate(lines)
    with pytest.raises(spate.JSONError):
        spate.validate(b"[" * 20 + b"]" * 20, max_depth=5)


@pytest.mark.parametrize("seed", range(80))
def test_results_walked_on_either_thread_are_the_same(tmp_path, monkeypatch, seed):
    """The engine thread may walk results for the Python side (a tape) or leave them to it;
    `SPATE_TAPE` fixes the choice. Both give what json.loads and ijson give, on every route,
    floats and Decimals alike, and through a query run."""
    rng = random.Random(5000 + seed)
    value = random_value(rng)
    text = dumps(value, rng)
    prefixes = sorted(set(paths_of(value)))[:3]
    by_mode = {}
    for mode in ["always", "never"]:
        monkeypatch.setenv("SPATE_TAPE", mode)
        got = []
        for prefix in prefixes:
            results = routes(tmp_path, text, prefix)
            assert_same(results, (mode, text, prefix))
            got.append(results["path"])
            got.append(list(spate.ijson.items(io.BytesIO(text), prefix)))
            got.append(list(spate.items(text, prefix, filter=".")))
        by_mode[mode] = got
    assert by_mode["always"] == by_mode["never"]


def test_tape_keeps_strings_numbers_and_surrogates(monkeypatch):
    monkeypatch.setenv("SPATE_TAPE", "always")
    text = (b'[{"k\\n": "x\\u00e9", "\\ud800": "\\udc00z", "n": [1, -0.0, 2.5e3, 1E400, '
            b'123456789012345678901234, -123456789012345678]}, "\\"", [], {}]')
    assert list(spate.items(text, "item")) == json.loads(text)
    decimals = list(spate.ijson.items(io.BytesIO(text), "item"))
    assert decimals[0]["n"][2] == __import__("decimal").Decimal("2.5e3")
    assert decimals[0]["n"][4] == 123456789012345678901234
