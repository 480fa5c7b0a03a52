"""spate: stream the items at a path of JSON documents of any size, validated, in
constant memory — the engine of the `spate` command-line tool, from Python.

    import spate
    for session in spate.items("big.json", "sessions.item"):
        ...

Paths are ijson prefixes (``sessions.item``, ``item``, ``""`` for the whole document) or
RFC 9535 JSONPath (``$.sessions[*]``). Inputs are a path (``str`` or ``os.PathLike``;
``.gz``/``.zst`` are decompressed by content), ``bytes``, or a binary file object
(``open(..., "rb")``, ``sys.stdin.buffer``, a socket's ``makefile("rb")``).
"""

from ._native import DEFAULT_MAX_DEPTH, DEFAULT_MAX_ITEM_SIZE, JSONError
from . import _native
from . import agents  # noqa: E402  (spate.agents.daily(...))

__all__ = ["items", "aggregate", "schema", "validate", "agents", "convert", "arrow_batches",
           "JSONError", "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_ITEM_SIZE"]


def _list(x):
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def items(source, path, *, filter=None, with_=None, max_depth=DEFAULT_MAX_DEPTH,
          max_item_size=DEFAULT_MAX_ITEM_SIZE, limit=None, json_lines=None, threads=0):
    """Yield the items at ``path`` of ``source``, one at a time.

    Values are what ``json.loads`` gives: dict, list, str, int (any size), float
    (``1E400`` is ``inf``), bool, None. Every byte of the input is validated as it is read
    (up to the last item taken): invalid JSON raises :class:`JSONError` with its position.

    ``filter``: a jq program run on each item in Rust (jq syntax and standard library);
    its outputs are the results. ``with_``: ``{"name": "path"}`` adds the value at
    ``path`` — a field of a value enclosing the items — to each item as member ``name``
    (as ``spate items --with``). ``max_depth``: deeper nesting is a :class:`JSONError`.
    ``max_item_size``: an item larger than this many bytes is a :class:`JSONError` naming
    the limit (never an out-of-memory kill). ``limit``: stop after that many results (the
    rest is not read). ``json_lines``: ``True`` for JSON Lines / concatenated JSON (the path
    applies inside each value), ``False`` for one document, ``None`` to decide by name and
    content. ``threads`` (with ``filter``/``with_``, for big JSON Lines files): workers, 0
    for one per core.

    The iteration is lazy: breaking out of the loop (or dropping the iterator) stops the
    scan and closes the input. The GIL is released while the input is scanned. A plain file
    (by path, or ``open(path, "rb")`` at its start) and ``bytes`` are scanned in place: the
    file is mapped (``mmap``; its pages are given back behind the scan) instead of copied;
    set ``SPATE_NO_MMAP=1`` to read files as streams.
    """
    plain = filter is None and not with_
    if plain and (json_lines is not None or not _looks_like_lines(source)):
        return _native.items(source, path, max_depth=max_depth, max_item_size=max_item_size,
                             limit=limit, multiple_values=bool(json_lines))
    return _native.query(source, path, filter=filter, with_=list((with_ or {}).items()),
                         limit=limit, max_depth=max_depth, max_item_size=max_item_size,
                         json_lines=json_lines, threads=threads)


def _looks_like_lines(source):
    """A path named like JSON Lines goes through the executor (which reads it by lines,
    on every core)."""
    import os
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source).lower()
        for ext in (".gz", ".zst"):
            if name.endswith(ext):
                name = name[: -len(ext)]
        return name.endswith((".jsonl", ".ndjson"))
    return False


def aggregate(source, path, *, group_by=None, count=False, sum=None, min=None, max=None,
              mean=None, filter=None, with_=None, max_depth=DEFAULT_MAX_DEPTH,
              max_item_size=DEFAULT_MAX_ITEM_SIZE, json_lines=None, threads=0,
              decimal=False):
    """Group-by aggregates computed in Rust, as a list of dicts, one per group, sorted by
    key in jq's order — the rows of ``spate items --group-by ... --count --sum ...``.

    ``group_by``, ``sum``, ``min``, ``max``, ``mean``: a jq expression or a list of them
    (``".agent_type"``, ``".usage.input_tokens"``). Each row has the group keys under
    their expressions and ``count``, ``sum(EXPR)``, ``min(EXPR)``, ``max(EXPR)``,
    ``mean(EXPR)``. Sums are exact: integers of any size are ``int``; decimal sums are
    ``float``, or ``decimal.Decimal`` of their exact value with ``decimal=True``.
    Without ``group_by`` all results are one group. ``filter`` and ``with_`` apply before
    aggregating, as in :func:`items`.
    """
    if not (count or sum or min or max or mean):
        raise ValueError("aggregate needs at least one of count, sum, min, max, mean")
    return list(_native.query(
        source, path, filter=filter, with_=list((with_ or {}).items()),
        group_by=_list(group_by), count=count, sum=_list(sum), min=_list(min),
        max=_list(max), mean=_list(mean), max_depth=max_depth, max_item_size=max_item_size,
        json_lines=json_lines, threads=threads, decimal=decimal))


def schema(path, *, json_path=None, sample=None, delimiter=None, header=None, threads=0):
    """The exact schema of a CSV/TSV file, a JSON Lines file, or the items at ``json_path`` of
    a JSON document, as a dict: the Frictionless Table Schema with spate's statistics that
    ``spate schema --json`` prints (``fields`` with ``type``, ``constraints``, null counts,
    min and max; ``spate`` with rows, bytes and the format). Every row is read (on every
    core for a big file) unless ``sample`` is given.

    ``path`` is a file path (``.gz``/``.zst`` decompressed; ``"-"`` for standard input).
    ``delimiter`` and ``header`` override CSV sniffing. Invalid JSON raises
    :class:`JSONError`; invalid CSV a ``ValueError`` naming the line and column.
    """
    import json
    import os
    return json.loads(_native.schema(os.fspath(path), json_path=json_path, sample=sample,
                                     delimiter=delimiter, header=header, threads=threads))


def validate(source, *, max_depth=DEFAULT_MAX_DEPTH, json_lines=False):
    """Validate the whole of ``source`` against RFC 8259 (structure, escapes, numbers,
    UTF-8). Returns the number of bytes read; raises :class:`JSONError` at the first error,
    with ``.file``, ``.offset``, ``.line``, ``.column`` and ``.excerpt``."""
    return _native.validate(source, max_depth=max_depth, multiple_values=json_lines)


def _schema_text(schema):
    """A given schema: a dict (as :func:`schema` returns) or JSON text."""
    import json
    if schema is None or isinstance(schema, str):
        return schema
    return json.dumps(schema)


def convert(source, output, *, path=None, with_=None, filter=None, schema=None, format=None,
            compression="zstd", row_group_size=None, partition_by=None, arrays="list",
            flatten=False, compression_level=None):
    """Convert ``source`` (CSV/TSV, JSON Lines, or the items at ``path`` of a JSON document;
    ``.gz``/``.zst`` decompressed) into a Parquet (``.parquet``) or Arrow IPC (``.arrow``)
    file, in constant memory — what ``spate convert`` does. Returns a dict with ``rows``,
    ``bytes_in``, ``bytes_out`` and ``files``.

    Column types come from spate's exact inference over the whole input (a first pass), or
    from ``schema`` (a dict such as :func:`schema` returns, or its JSON text): then the input
    is read once and a value that does not fit raises ``ValueError`` naming the row, byte
    and column. ``with_``: ``{"name": "path"}`` attaches fields of enclosing values (as
    ``spate convert --with``). ``filter``: a jq program whose outputs are the rows.
    ``compression``: ``"zstd"``, ``"snappy"``, ``"gzip"`` or ``"none"``;
    ``compression_level``: zstd 1-22 (default 3), gzip 0-10 (default 6).
    ``partition_by``: a column or a list: ``output`` is then a folder of hive-style
    ``COLUMN=VALUE/part-N.parquet`` files. The output is written to a temporary file renamed
    at the end; an output that is the input is refused. ``arrays``: ``"list"`` stores JSON
    arrays as list columns — of scalars of one type, of structs (arrays of objects: a field
    per key), of lists (arrays of arrays) — and arrays whose elements share no type as their
    JSON text (with ``schema``: lists where it names the element types, ``spate.items``);
    ``"json"`` every array as its JSON text. Nested objects are struct columns
    (``usage: struct<input_tokens: int64, ...>``); ``flatten=True`` makes them dotted columns
    (``usage.input_tokens``) instead. ``partition_by`` may name a struct's field
    (``"message.model"``). See docs/columnar.md for the types.
    """
    import os
    return _native.convert(os.fspath(source), os.fspath(output), path=path,
                           with_=list((with_ or {}).items()), filter=filter,
                           schema=_schema_text(schema), format=format, compression=compression,
                           row_group_size=row_group_size, partition_by=_list(partition_by),
                           arrays=arrays, flatten=flatten, compression_level=compression_level)


def arrow_batches(source, path=None, *, batch_size=65536, with_=None, filter=None, schema=None,
                  arrays="list", flatten=False, byte_range=None):
    """Yield ``pyarrow.RecordBatch`` objects of at most ``batch_size`` rows: the rows of
    ``source`` (as :func:`convert` reads them) with the schema of spate's inference, built in
    Rust and handed over through the Arrow C data interface (no copy). Needs ``pyarrow``.

    The scan runs ahead on a thread of its own, at most two batches ahead: memory is
    bounded whatever the input's size. Breaking out of the loop stops it. ``arrays`` and
    ``flatten``: as for :func:`convert`. ``byte_range=(start, end)``: of an uncompressed JSON
    Lines file, only the lines that start in that byte range (ranges that tile the file
    read each line once: how :func:`spate.dask.read_items` splits a large file); without
    ``schema`` the types are inferred over those lines. Line and row numbers in errors then
    count from the range's first line (byte offsets are the file's).
    """
    import os
    try:
        import pyarrow
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("spate.arrow_batches needs pyarrow (pip install pyarrow)") from e
    batches = _native.arrow_batches(os.fspath(source), path, batch_size=batch_size,
                                    with_=list((with_ or {}).items()), filter=filter,
                                    schema=_schema_text(schema), arrays=arrays,
                                    flatten=flatten,
                                    byte_range=None if byte_range is None else tuple(byte_range))
    try:
        for b in batches:
            yield pyarrow.record_batch(b)
    finally:
        batches.close()
