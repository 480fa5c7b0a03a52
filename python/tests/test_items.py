"""The Python package against json.loads and ijson: same values, same accept/reject."""

import decimal
import gc
import gzip
import io
import json
import os
import random
import signal
import threading

import pytest

import spate
import spate.ijson

ijson = pytest.importorskip("ijson")


# --- random documents --------------------------------------------------------------------

STRINGS = ["", "a", "é", "日本", "😀", "tab\there", 'quote"', "back\\slash", "nl\n", "\u0001",
           "\u2028", "/", "a.b", "item", "\ud7ff", "\ue000"]


def random_value(rng, depth=0):
    kind = rng.randrange(10 if depth < 6 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 7, 2**53, -(2**63), 2**64 + 1, 10**40, -(10**30)])
    if kind == 3:
        return rng.choice([0.5, -1.25, 1e-7, 3.141592653589793, 1e300, -0.0, 2.5e-308])
    if kind in (4, 5):
        return rng.choice(STRINGS) + rng.choice(STRINGS)
    if kind in (6, 7):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(STRINGS) + str(i): random_value(rng, depth + 1) for i in range(rng.randrange(4))}


def dumps(value, rng):
    """JSON text of value with random spacing and escaping choices."""
    return json.dumps(value, ensure_ascii=rng.random() < 0.5,
                      indent=rng.choice([None, None, 1, 2])).encode()


def as_floats(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, list):
        return [as_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: as_floats(v) for k, v in value.items()}
    return value


def paths_of(value, prefix=""):
    """ijson prefixes of every value inside `value`."""
    yield prefix
    if isinstance(value, list):
        for v in value:
            yield from paths_of(v, f"{prefix}.item" if prefix else "item")
    elif isinstance(value, dict):
        for k, v in value.items():
            if "." not in k and k != "item":
                yield from paths_of(v, f"{prefix}.{k}" if prefix else k)


@pytest.mark.parametrize("seed", range(300))
def test_random_documents_equal_ijson_and_json_loads(seed):
    rng = random.Random(seed)
    value = random_value(rng)
    text = dumps(value, rng)
    for prefix in sorted(set(paths_of(value)))[:6]:
        ours = list(spate.ijson.items(io.BytesIO(text), prefix))
        theirs = list(ijson.items(io.BytesIO(text), prefix))
        assert ours == theirs, (text, prefix)
        assert [type(x) for x in ours] == [type(x) for x in theirs]
        # ijson's C backend cannot read big integers with use_float=True: compare with its
        # Decimal values turned into floats, as json.loads would give them.
        assert list(spate.items(text, prefix)) == [as_floats(x) for x in theirs]
    assert list(spate.items(text, "")) == [json.loads(text)]


INVALID = [b"", b"[1,]", b"{\"a\" 1}", b"[01]", b"[1.]", b"\"\x01\"", b"[\"\\x\"]", b"[1] 2",
           b"{\"a\":1,}", b"[nul]", b"\"\xff\"", b"[\"\\ud800\\u\"]", b"[-]", b"[1e]", b"{1:2}",
           b"[" * 5 + b"]" * 4, b"\"abc"]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_documents_are_refused_like_json_loads(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(spate.JSONError) as info:
        list(spate.items(text, ""))
    assert info.value.offset >= 0 and info.value.line >= 1 and info.value.column >= 1
    with pytest.raises(spate.JSONError):
        spate.validate(text)


def test_numbers_as_json_loads_gives_them():
    text = b"[1, -0, 12345678901234567890123, 1.5, 1E400, -1e400, 1e-400, 0.1]"
    assert list(spate.items(text, "item")) == json.loads(text)
    assert list(spate.ijson.items(text, "item")) == [
        1, 0, 12345678901234567890123, decimal.Decimal("1.5"), decimal.Decimal("1E400"),
        decimal.Decimal("-1e400"), decimal.Decimal("1e-400"), decimal.Decimal("0.1")]


def test_lone_surrogates_as_json_loads_gives_them():
    text = b'["\\ud800", "a\\udc00b", "\\ud83d\\ude00"]'
    assert list(spate.items(text, "item")) == json.loads(text)


# --- inputs --------------------------------------------------------------------------------

DOC = {"metadata": {"n": 3}, "sessions": [{"id": i, "tags": ["x"] * i} for i in range(3)]}


def test_inputs_path_bytes_file_gzip(tmp_path):
    text = json.dumps(DOC).encode()
    plain = tmp_path / "doc.json"
    plain.write_bytes(text)
    packed = tmp_path / "doc.json.gz"
    packed.write_bytes(gzip.compress(text))
    want = DOC["sessions"]
    assert list(spate.items(str(plain), "sessions.item")) == want
    assert list(spate.items(plain, "$.sessions[*]")) == want  # os.PathLike, JSONPath
    assert list(spate.items(packed, "sessions.item")) == want
    assert list(spate.items(text, "sessions.item")) == want
    assert list(spate.items(bytearray(text), "sessions.item")) == want
    with open(plain, "rb") as f:
        assert list(spate.items(f, "sessions.item")) == want
    assert list(spate.items(io.BytesIO(gzip.compress(text)), "sessions.item")) == want
    assert spate.validate(plain) == len(text)


class Trickle(io.RawIOBase):
    """A non-seekable stream that hands out a few bytes per read, like a pipe."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = min(n if n >= 0 else 7, 7)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk


def test_non_seekable_stream():
    text = json.dumps(DOC).encode()
    assert list(spate.items(Trickle(text), "sessions.item.id")) == [0, 1, 2]


def test_text_mode_file_is_a_clear_error(tmp_path):
    p = tmp_path / "d.json"
    p.write_text("[1]")
    with open(p) as f, pytest.raises(TypeError, match="binary mode"):
        list(spate.items(f, "item"))


def test_json_lines_and_limit():
    text = b'{"a": 1}\n{"a": 2}\n\n{"a": 3}\n'
    assert list(spate.items(text, "a", json_lines=True)) == [1, 2, 3]
    assert list(spate.items(text, "a", json_lines=True, limit=2)) == [1, 2]


# --- errors --------------------------------------------------------------------------------

def test_error_types():
    with pytest.raises(FileNotFoundError):
        spate.items("/nonexistent/spate/file.json", "item")
    with pytest.raises(ValueError, match="path"):
        spate.items(b"[]", "$[")
    with pytest.raises(TypeError):
        spate.items(12, "item")
    err = None
    try:
        list(spate.items(b'{"a": [1, 2,\n  tru]}', "a.item"))
    except spate.JSONError as e:
        err = e
    assert isinstance(err, ValueError)
    assert (err.line, err.column, err.offset, err.file) == (2, 6, 18, "<bytes>")
    assert "^" in err.excerpt


def test_truncated_file_raises_after_the_good_items(tmp_path):
    p = tmp_path / "t.json"
    p.write_bytes(b'{"s": [{"a": 1}, {"a": 2}, {"a": ')
    got = []
    with pytest.raises(spate.JSONError):
        for x in spate.items(p, "s.item"):
            got.append(x)
    assert got == [{"a": 1}, {"a": 2}]


def test_item_size_and_depth_limits():
    with pytest.raises(spate.JSONError, match="limit"):
        list(spate.items(b'[[1,2,3,4,5,6,7,8,9]]', "item", max_item_size=8))
    deep = b"[" * 50 + b"]" * 50
    with pytest.raises(spate.JSONError):
        list(spate.items(deep, "", max_depth=10))
    assert list(spate.items(deep, "", max_depth=60))


def test_very_deep_document_does_not_overflow_the_stack():
    depth = 100_000
    deep = b"[" * depth + b"]" * depth
    (value,) = spate.items(deep, "", max_depth=depth)
    n = 0
    while value:
        value, n = value[0], n + 1
    assert n == depth - 1


def test_exception_in_read_is_raised_as_itself():
    class Boom(io.RawIOBase):
        def readable(self):
            return True

        def read(self, n=-1):
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        list(spate.items(Boom(), "item"))


def test_keyboard_interrupt_stops_a_scan():
    import _thread

    class Interrupting(io.RawIOBase):
        """Endless `[1,1,1,...` that interrupts the main thread after a while."""

        def __init__(self):
            self.reads = 0

        def readable(self):
            return True

        def read(self, n=-1):
            self.reads += 1
            if self.reads == 1:
                return b"[" + b"1," * 1000
            if self.reads == 50:
                _thread.interrupt_main()
            return b"1," * 1000

    # A process started in the background by a non-interactive shell inherits SIGINT as
    # ignored, and then `interrupt_main` does nothing: give the test Python's own handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            for _ in spate.items(Interrupting(), "nothing.here"):
                pass
    finally:
        signal.signal(signal.SIGINT, previous)


# --- laziness, closing, threads ------------------------------------------------------------

def test_break_closes_the_file(tmp_path):
    p = tmp_path / "d.json"
    p.write_text(json.dumps(list(range(100_000))))
    with open(p, "rb") as f:
        it = spate.items(f, "item")
        assert next(it) == 0
        it.close()
        with pytest.raises(StopIteration):
            next(it)
    fd_dir = "/proc/self/fd"
    if os.path.isdir(fd_dir):
        before = len(os.listdir(fd_dir))
        for x in spate.items(p, "item"):
            if x == 10:
                break
        gc.collect()
        assert len(os.listdir(fd_dir)) == before


def test_unfinished_generator_is_collected(tmp_path):
    p = tmp_path / "d.json"
    p.write_text(json.dumps(list(range(1000))))
    fd_dir = "/proc/self/fd"
    before = len(os.listdir(fd_dir)) if os.path.isdir(fd_dir) else None
    its = [spate.items(p, "item") for _ in range(50)]
    for it in its:
        next(it)
    del its
    gc.collect()
    if before is not None:
        assert len(os.listdir(fd_dir)) == before  # every input closed with its iterator


def test_threads_scan_files_at_once(tmp_path):
    files = []
    for i in range(4):
        p = tmp_path / f"d{i}.json"
        p.write_text(json.dumps({"s": [{"i": i, "k": j} for j in range(20_000)]}))
        files.append(p)
    results = {}

    def work(p):
        results[p] = sum(x["k"] for x in spate.items(p, "s.item"))

    threads = [threading.Thread(target=work, args=(p,)) for p in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(v == sum(range(20_000)) for v in results.values())
    assert len(results) == 4
