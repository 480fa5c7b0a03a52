import os
from typing import IO, Any, Iterator, Union

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]
JSON = Any

DEFAULT_MAX_DEPTH: int
DEFAULT_MAX_ITEM_SIZE: int

class JSONError(ValueError):
    """Invalid JSON, or an item over the size limit, at a position of an input."""
    file: str
    offset: int
    line: int
    column: int
    excerpt: str

class _ItemsIter(Iterator[JSON]):
    def __next__(self) -> JSON: ...
    def close(self) -> None: ...
    @property
    def bytes_scanned(self) -> int: ...

def items(source: Source, path: str, *, max_depth: int = ..., max_item_size: int = ...,
          limit: int | None = ..., json_lines: bool = ...) -> _ItemsIter: ...
def validate(source: Source, *, max_depth: int = ..., json_lines: bool = ...) -> int: ...
