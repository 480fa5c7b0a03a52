"""ijson's ``items`` on spate's engine: ``import spate.ijson as ijson`` in a script written
for ijson and it runs unchanged, several times faster.

Values are those of ijson's default backends: objects as ``dict``, arrays as ``list``,
integers as ``int`` and other numbers as ``decimal.Decimal`` of their exact text unless
``use_float=True`` (then ``float``). Prefixes are ijson's (``sessions.item``, ``item``, ``""``).

What differs, and why:

- every byte of the input is validated as strictly as RFC 8259 says (ijson's C backend
  accepts a few invalid documents); an error is ``spate.JSONError`` (a ``ValueError``,
  where ijson raises ``ijson.JSONError``, also a ``ValueError``... subclass of ``Exception``)
  with the position;
- ``items``, ``kvitems``, ``parse`` and ``basic_parse`` are provided (not the ``*_async``
  variants, ``items`` over an event iterator, or ``allow_comments``); an event stream yields
  the events before the first error, then raises it;
- the scalars of ``parse``/``basic_parse`` and the members ``kvitems`` builds are held whole
  while read, up to ``spate.DEFAULT_MAX_ITEM_SIZE`` (256 MiB), where ijson has no limit;
- ``buf_size`` is accepted and ignored (spate sizes its window itself, 64 KiB to 4 MiB);
- a file object of a plain file still at its start (``open(path, "rb")``) is read in place
  (mapped), so its position is left at the start, where ijson leaves it where it stopped
  reading;
- ``map_type`` is honoured by converting each dict after it is built (slower than dict).
"""

from . import DEFAULT_MAX_DEPTH, DEFAULT_MAX_ITEM_SIZE, JSONError
from . import _native

__all__ = ["items", "kvitems", "parse", "basic_parse", "JSONError"]


def items(source, prefix, map_type=None, buf_size=64 * 1024, use_float=False,
          multiple_values=False):
    """Yield the values at ``prefix`` of the JSON document ``source`` (a binary file object,
    ``bytes``, or a path), like ``ijson.items``."""
    del buf_size
    values = _native.items(source, prefix, max_depth=DEFAULT_MAX_DEPTH,
                           max_item_size=DEFAULT_MAX_ITEM_SIZE, decimal=not use_float,
                           multiple_values=multiple_values)
    if map_type is None or map_type is dict:
        return values
    return (_convert(v, map_type) for v in values)


def kvitems(source, prefix, map_type=None, buf_size=64 * 1024, use_float=False,
            multiple_values=False):
    """Yield ``(key, value)`` for each member of the objects at ``prefix``, like
    ``ijson.kvitems``: the objects themselves are never built whole, only one member's value
    at a time."""
    del buf_size
    pairs = _events(source, "kvitems", prefix, use_float, multiple_values)
    if map_type is None or map_type is dict:
        return pairs
    return ((k, _convert(v, map_type)) for k, v in pairs)


def parse(source, buf_size=64 * 1024, use_float=False, multiple_values=False):
    """Yield ``(prefix, event, value)`` for every token of the document, like
    ``ijson.parse``: events ``start_map``, ``map_key``, ``end_map``, ``start_array``,
    ``end_array``, ``string``, ``number``, ``boolean``, ``null``."""
    del buf_size
    return _events(source, "parse", "", use_float, multiple_values)


def basic_parse(source, buf_size=64 * 1024, use_float=False, multiple_values=False):
    """Yield ``(event, value)`` for every token of the document, like
    ``ijson.basic_parse``."""
    del buf_size
    return _events(source, "basic_parse", "", use_float, multiple_values)


def _events(source, mode, prefix, use_float, multiple_values):
    blocks = _native.events(source, mode, prefix, max_depth=DEFAULT_MAX_DEPTH,
                            max_item_size=DEFAULT_MAX_ITEM_SIZE, decimal=not use_float,
                            multiple_values=multiple_values)
    for block in blocks:
        yield from block


def _convert(value, map_type):
    if isinstance(value, dict):
        return map_type((k, _convert(v, map_type)) for k, v in value.items())
    if isinstance(value, list):
        return [_convert(v, map_type) for v in value]
    return value
