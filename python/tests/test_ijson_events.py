"""`spate.ijson`'s event interfaces — `basic_parse`, `parse`, `kvitems` — against ijson's C
backend on random documents: the same events, prefixes and values, and the same members."""

import io
import json
import random

import pytest

import spate
import spate.ijson

from test_items import as_floats, dumps, paths_of, random_value
from test_routes import damaged

ijson = pytest.importorskip("ijson")


def reference(run, text, use_float, *args):
    """ijson's answer; with ``use_float`` its C backend refuses integers beyond 64 bits
    ("integer overflow", where spate gives an ``int``), so there the Decimal answer is
    turned into floats as ``use_float`` would give them (integers stay ``int``)."""
    try:
        return [tuple(e) for e in run(io.BytesIO(text), *args, use_float=use_float)]
    except ijson.common.IncompleteJSONError:
        if not use_float:
            raise
        events = run(io.BytesIO(text), *args, use_float=False)
        return [tuple(as_floats(x) for x in e) for e in events]


def sources(text, tmp_path):
    p = tmp_path / "doc.json"
    p.write_bytes(text)
    return [text, io.BytesIO(text), str(p)]


@pytest.mark.parametrize("seed", range(200))
def test_events_equal_ijson(tmp_path, seed):
    rng = random.Random(7000 + seed)
    value = random_value(rng)
    text = dumps(value, rng)
    use_float = rng.random() < 0.3
    want_parse = reference(ijson.parse, text, use_float)
    want_basic = reference(ijson.basic_parse, text, use_float)
    for source in sources(text, tmp_path):
        assert list(spate.ijson.parse(source, use_float=use_float)) == want_parse
    assert list(spate.ijson.basic_parse(io.BytesIO(text), use_float=use_float)) == want_basic
    for prefix in sorted(set(paths_of(value)))[:6]:
        want = reference(ijson.kvitems, text, use_float, prefix)
        for source in sources(text, tmp_path):
            got = list(spate.ijson.kvitems(source, prefix, use_float=use_float))
            assert got == want, (text, prefix)


def test_kvitems_matches_dotted_names_as_ijson_does():
    text = b'{"a.b": {"x": 1}, "a": {"b": {"y": [2, {"z": null}]}, "c": 3}}'
    for prefix in ["a.b", "a", "", "a.b.y.item", "nope"]:
        assert (list(spate.ijson.kvitems(text, prefix))
                == list(ijson.kvitems(io.BytesIO(text), prefix)))


def test_events_across_read_blocks(tmp_path):
    """Strings, numbers and members longer than a read block (64 KiB) come out whole."""
    value = {"s": "x" * 200_000, "n": int("7" * 100), "a": [{"k": "é" * 70_000}] * 3,
             "f": 1.5, "e": "\\u00e9\\n" * 30_000}
    text = json.dumps(value).encode()
    assert list(spate.ijson.parse(text)) == list(ijson.parse(io.BytesIO(text)))
    assert list(spate.ijson.kvitems(text, "")) == list(ijson.kvitems(io.BytesIO(text), ""))
    assert (list(spate.ijson.kvitems(text, "a.item"))
            == list(ijson.kvitems(io.BytesIO(text), "a.item")))


def test_multiple_values():
    text = b'{"a": 1} [2, "x"] 3 "s" null'
    assert (list(spate.ijson.parse(text, multiple_values=True))
            == list(ijson.parse(io.BytesIO(text), multiple_values=True)))
    with pytest.raises(spate.JSONError):
        list(spate.ijson.parse(text))


def test_invalid_documents_raise_with_a_position():
    text = b'{"a": [1, 2, tru]}'
    got = []
    with pytest.raises(spate.JSONError) as e:
        for event in spate.ijson.parse(text):
            got.append(event)
    assert (e.value.offset, e.value.line, e.value.column) == (16, 1, 17)
    with pytest.raises(spate.JSONError) as v:
        spate.validate(text)
    assert str(v.value) == str(e.value)
    # The events before the error were handed out first.
    assert got == [("", "start_map", None), ("", "map_key", "a"), ("a", "start_array", None),
                   ("a.item", "number", 1), ("a.item", "number", 2)]
    with pytest.raises(spate.JSONError):
        list(spate.ijson.kvitems(b'{"a": {"b": [1, }}', "a"))
    with pytest.raises(spate.JSONError):
        list(spate.ijson.basic_parse(b'{"a": 1'))


@pytest.mark.parametrize("seed", range(100))
def test_damaged_documents_are_refused_like_json_loads(seed):
    rng = random.Random(9000 + seed)
    text = damaged(dumps(random_value(rng), rng), rng)
    try:
        json.loads(text)
        valid = True
    except ValueError:
        valid = False
    for run in (lambda: list(spate.ijson.parse(text)),
                lambda: list(spate.ijson.kvitems(text, ""))):
        if valid:
            run()
        else:
            with pytest.raises(spate.JSONError):
                run()


def test_missing_file_and_early_stop(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(spate.ijson.parse(str(tmp_path / "missing.json")))
    p = tmp_path / "big.json"
    p.write_text(json.dumps({"a": list(range(100_000))}))
    with open(p, "rb") as f:
        events = spate.ijson.parse(f)
        assert next(events) == ("", "start_map", None)
        events.close()
