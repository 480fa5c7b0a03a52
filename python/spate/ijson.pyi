import os
from typing import IO, Any, Callable, Iterator, Optional, Tuple, Union

from . import JSONError as JSONError

Source = Union[str, os.PathLike, bytes, bytearray, IO[bytes]]

def items(source: Source, prefix: str, map_type: Optional[Callable[..., Any]] = ...,
          buf_size: int = ..., use_float: bool = ...,
          multiple_values: bool = ...) -> Iterator[Any]:
    """The values at ``prefix`` (an ijson prefix), as ``ijson.items`` yields them."""
    ...

def kvitems(source: Source, prefix: str, map_type: Optional[Callable[..., Any]] = ...,
            buf_size: int = ..., use_float: bool = ...,
            multiple_values: bool = ...) -> Iterator[Tuple[str, Any]]:
    """``(key, value)`` for each member of the objects at ``prefix``, as ``ijson.kvitems``."""
    ...

def parse(source: Source, buf_size: int = ..., use_float: bool = ...,
          multiple_values: bool = ...) -> Iterator[Tuple[str, str, Any]]:
    """``(prefix, event, value)`` for every token, as ``ijson.parse``."""
    ...

def basic_parse(source: Source, buf_size: int = ..., use_float: bool = ...,
                multiple_values: bool = ...) -> Iterator[Tuple[str, Any]]:
    """``(event, value)`` for every token, as ``ijson.basic_parse``."""
    ...
