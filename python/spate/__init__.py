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

from ._native import DEFAULT_MAX_DEPTH, DEFAULT_MAX_ITEM_SIZE, JSONError, ItemsIter as _ItemsIter
from ._native import validate as _validate

__all__ = ["items", "validate", "JSONError", "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_ITEM_SIZE"]


def items(source, path, *, max_depth=DEFAULT_MAX_DEPTH, max_item_size=DEFAULT_MAX_ITEM_SIZE,
          limit=None, json_lines=False):
    """Yield the items at ``path`` of the JSON document ``source``, one at a time.

    Values are what ``json.loads`` gives: dict, list, str, int (any size), float
    (``1E400`` is ``inf``), bool, None. Every byte of the input is validated as it is read
    (up to the last item taken): invalid JSON raises :class:`JSONError` with its position.

    ``max_depth``: deeper nesting is a :class:`JSONError`. ``max_item_size``: an item
    larger than this many bytes is a :class:`JSONError` naming the limit (never an
    out-of-memory kill). ``limit``: stop after that many items (the rest is not read).
    ``json_lines``: the input is a sequence of JSON values (JSON Lines, concatenated JSON)
    and the path applies inside each.

    The iteration is lazy: breaking out of the loop (or dropping the iterator) closes the
    input. The GIL is released while the input is scanned.
    """
    return _ItemsIter(source, path, max_depth=max_depth, max_item_size=max_item_size,
                      limit=limit, multiple_values=json_lines)


def validate(source, *, max_depth=DEFAULT_MAX_DEPTH, json_lines=False):
    """Validate the whole of ``source`` against RFC 8259 (structure, escapes, numbers,
    UTF-8). Returns the number of bytes read; raises :class:`JSONError` at the first error,
    with ``.file``, ``.offset``, ``.line``, ``.column`` and ``.excerpt``."""
    return _validate(source, max_depth=max_depth, multiple_values=json_lines)
