import os
from typing import Any, Mapping, Optional, Sequence, Union

def read_items(paths_or_glob: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]],
               path: Optional[str] = ..., *, with_: Optional[Mapping[str, str]] = ...,
               filter: Optional[str] = ..., schema: Optional[Mapping[str, Any]] = ...,
               batch_size: int = ..., flatten: bool = ...,
               blocksize: Optional[int] = ...) -> Any: ...
