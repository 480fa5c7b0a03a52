"""Dask DataFrames built by spate inside the workers.

    import spate.dask
    df = spate.dask.read_items("logs/*.json", "sessions.item.delegations.item",
                               with_={"session_id": "sessions.item.session_id"})
    df.groupby("agent_type").size().compute()

One partition per file, and per ``blocksize`` bytes of a large uncompressed JSON Lines file:
each is read by :func:`spate.arrow_batches` in the worker that computes it (the client only
lists the files, their sizes, and reads the schema of the first one), so no data passes
through the client. Needs ``dask[dataframe]`` and ``pyarrow``.
"""

import glob as _glob
import os

import spate

__all__ = ["read_items"]


def _files(paths_or_glob):
    if isinstance(paths_or_glob, (str, os.PathLike)):
        pattern = os.fspath(paths_or_glob)
        found = sorted(_glob.glob(pattern))
        if not found:
            raise FileNotFoundError(2, f"no file matches {pattern!r}")
        return found
    files = [os.fspath(p) for p in paths_or_glob]
    if not files:
        raise ValueError("no files given")
    return files


def _partition(part, path, with_, filter, schema, batch_size, empty, flatten=False):
    """One part — a file, or ``(file, start, end)``: the lines starting in that byte range
    of a JSON Lines file — as a pandas DataFrame, read in the worker (``empty``: the frame
    of a part without rows)."""
    import pyarrow as pa
    file, byte_range = (part, None) if isinstance(part, str) else (part[0], part[1:])
    batches = list(spate.arrow_batches(file, path, batch_size=batch_size, with_=with_,
                                       filter=filter, schema=schema, flatten=flatten,
                                       byte_range=byte_range))
    if not batches:
        return empty.copy()
    return _to_pandas(pa.Table.from_batches(batches))


def _to_pandas(table):
    """A pandas frame of ``table``; list and struct columns keep their Arrow type
    (``pd.ArrowDtype``: each value a list, of dicts for structs), since Dask would turn
    columns of Python objects into strings."""
    import pandas as pd
    import pyarrow as pa

    def nested(t):
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_struct(t):
            return pd.ArrowDtype(t)
        return None
    return table.to_pandas(types_mapper=nested)


BLOCKSIZE = 128 << 20
"""Bytes of a JSON Lines file per partition unless told otherwise."""


def _parts(files, blocksize, path, with_, filter):
    """The partitions: each file, or byte ranges of ``blocksize`` of an uncompressed JSON
    Lines file that is larger (without a path inside the lines, fields of enclosing values
    or a filter, which read whole values)."""
    parts = []
    for f in files:
        lines = f.lower().endswith((".jsonl", ".ndjson", ".jsonlines"))
        size = os.path.getsize(f)
        whole = path is not None or with_ or filter
        if blocksize and lines and size > blocksize and not whole:
            parts.extend((f, s, min(s + blocksize, size)) for s in range(0, size, blocksize))
        else:
            parts.append(f)
    return parts


def read_items(paths_or_glob, path=None, *, with_=None, filter=None, schema=None,
               batch_size=65536, flatten=False, blocksize=BLOCKSIZE):
    """A Dask DataFrame of the items at ``path`` of each file (JSON documents, JSON Lines
    or CSV, as :func:`spate.convert` reads them), one partition per file.

    ``with_`` and ``filter`` are those of :func:`spate.convert`. Column types: with
    ``schema`` (a dict as :func:`spate.schema` returns), those; otherwise the first file's
    exact schema (read on the client), given to every worker so that all partitions agree —
    a value of another file that does not fit raises ``ValueError`` in its worker. List
    columns (arrays of scalars, of objects, of arrays) keep their element types: in the
    partitions they are ``pd.ArrowDtype`` columns whose values are lists (of dicts for
    structs), every element and field nullable. Nested objects are struct columns (also
    ``pd.ArrowDtype``, each value a dict); ``flatten=True`` makes them dotted columns, as
    for :func:`spate.convert`. (The first file's schema reaches the workers with each
    struct's fields as dotted names, so a member whose own name holds a dot needs
    ``flatten=True``.) An uncompressed JSON Lines file (``.jsonl``, ``.ndjson``) larger than
    ``blocksize`` bytes is several partitions, one per byte range (each line read once, by
    the range it starts in); ``blocksize=None``: one partition per file.
    """
    import dask.dataframe as dd
    files = _files(paths_or_glob)
    if schema is None:
        schema = _first_schema(files, path, with_, filter, flatten)
    meta = _partition_meta(files, path, with_, filter, schema, flatten)
    parts = _parts(files, blocksize, path, with_, filter)
    return dd.from_map(_partition, parts, path=path, with_=with_, filter=filter,
                       schema=schema, batch_size=batch_size, empty=meta, flatten=flatten,
                       meta=meta, enforce_metadata=False)


def _first_schema(files, path, with_, filter, flatten):
    """The exact schema of the rows of the first file that has rows, as a dict of names and
    spate types; a list column names its element type (``spate.items``, as
    :func:`spate.schema` writes it), and a struct column's fields are listed under dotted
    names (as :func:`spate.schema` lists a nested object's), so that the workers build the
    same lists and structs."""
    import pyarrow as pa

    def leaves(name, t):
        if pa.types.is_struct(t):
            for i in range(t.num_fields):
                yield from leaves(f"{name}.{t.field(i).name}", t.field(i).type)
            return
        field = {"name": name, "type": _spate_type(t)}
        if field["type"] == "array":
            field["spate"] = {"items": _element(t.value_field)}
        yield field
    for file in files:
        for batch in spate.arrow_batches(file, path, batch_size=1, with_=with_, filter=filter,
                                         flatten=flatten):
            return {"fields": [leaf for f in batch.schema for leaf in leaves(f.name, f.type)]}
    return {"fields": []}


def _element(field):
    """The descriptor of a list's elements or a struct's field (a pyarrow field):
    ``{"name", "type", "nullable"}``, with ``items`` for a list, ``fields`` for a struct, and
    the datetime format of timestamps without a zone (so that they stay without one)."""
    import pyarrow as pa
    t = field.type
    d = {"name": field.name, "type": _spate_type(t), "nullable": field.nullable}
    if d["type"] == "array":
        d["items"] = _element(t.value_field)
    elif d["type"] == "object":
        d["fields"] = [_element(t.field(i)) for i in range(t.num_fields)]
    elif pa.types.is_timestamp(t) and t.tz is None:
        d["format"] = "%Y-%m-%dT%H:%M:%S"
    return d


def _spate_type(t):
    import pyarrow as pa
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return "integer"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "datetime"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "array"
    if pa.types.is_struct(t):
        return "object"
    return "string"


def _partition_meta(files, path, with_, filter, schema, flatten):
    """The empty frame of the partitions (names and dtypes)."""
    import pyarrow as pa
    for file in files:
        for batch in spate.arrow_batches(file, path, batch_size=1, with_=with_, filter=filter,
                                         schema=schema, flatten=flatten):
            return _to_pandas(pa.Table.from_batches([batch]).slice(0, 0))
    return pa.schema([]).empty_table().to_pandas()
