import os
from typing import Any, Dict, Optional, Sequence, Union

Paths = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]], None]

def daily(path: Paths = ..., *, since: Optional[str] = ..., until: Optional[str] = ...,
          tz: Optional[str] = ..., mode: str = ..., cache: bool = ...,
          cache_dir: Optional[str] = ..., pricing: Optional[str] = ...,
          start_of_week: str = ..., descending: bool = ..., decimal: bool = ...) -> Dict[str, Any]: ...
weekly = daily
monthly = daily
session = daily
model = daily
project = daily
def delegations(path: Paths = ..., *, since: Optional[str] = ..., until: Optional[str] = ...,
                tz: Optional[str] = ..., mode: str = ..., cache: bool = ...,
                cache_dir: Optional[str] = ..., pricing: Optional[str] = ..., marathon: int = ...,
                decimal: bool = ...) -> Dict[str, Any]: ...
