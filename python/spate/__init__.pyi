import decimal
import os
from typing import IO, Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

Source = Union[str, os.PathLike, bytes, bytearray, IO[bytes]]
JSON = Any
Exprs = Union[str, Sequence[str], None]

DEFAULT_MAX_DEPTH: int
DEFAULT_MAX_ITEM_SIZE: int

class JSONError(ValueError):
    """Invalid JSON, or an item over the size limit, at a position of an input."""
    file: str
    offset: int
    line: int
    column: int
    excerpt: str

class Results(Iterator[JSON]):
    def __next__(self) -> JSON: ...
    def close(self) -> None: ...

def items(source: Source, path: str, *, filter: Optional[str] = ...,
          with_: Optional[Mapping[str, str]] = ..., max_depth: int = ...,
          max_item_size: int = ..., limit: Optional[int] = ...,
          json_lines: Optional[bool] = ..., threads: int = ...) -> Results: ...
def aggregate(source: Source, path: str, *, group_by: Exprs = ..., count: bool = ...,
              sum: Exprs = ..., min: Exprs = ..., max: Exprs = ..., mean: Exprs = ...,
              filter: Optional[str] = ..., with_: Optional[Mapping[str, str]] = ...,
              max_depth: int = ..., max_item_size: int = ..., json_lines: Optional[bool] = ...,
              threads: int = ..., decimal: bool = ...) -> List[Dict[str, JSON]]: ...
def schema(path: Union[str, os.PathLike], *, json_path: Optional[str] = ...,
           sample: Optional[int] = ..., delimiter: Optional[str] = ...,
           header: Optional[bool] = ..., threads: int = ...) -> Dict[str, JSON]: ...
def validate(source: Source, *, max_depth: int = ..., json_lines: bool = ...) -> int: ...
def convert(source: Union[str, os.PathLike], output: Union[str, os.PathLike], *,
            path: Optional[str] = ..., with_: Optional[Mapping[str, str]] = ...,
            filter: Optional[str] = ..., schema: Union[None, str, Mapping[str, Any]] = ...,
            format: Optional[str] = ..., compression: str = ...,
            row_group_size: Optional[int] = ...,
            partition_by: Union[None, str, Sequence[str]] = ...,
            arrays: str = ..., flatten: bool = ...,
            compression_level: Optional[int] = ...) -> Dict[str, int]: ...
def arrow_batches(source: Union[str, os.PathLike], path: Optional[str] = ..., *,
                  batch_size: int = ..., with_: Optional[Mapping[str, str]] = ...,
                  filter: Optional[str] = ...,
                  schema: Union[None, str, Mapping[str, Any]] = ...,
                  arrays: str = ..., flatten: bool = ...,
                  byte_range: Optional[Tuple[int, int]] = ...) -> Iterator[Any]: ...
