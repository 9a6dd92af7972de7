"""Checkpoints: a pytree of arrays (plus JSON-able extras) written atomically, restored into a template.

The file is msgpack from `flax.serialization`; writing goes to a temporary file in the same folder,
then `os.replace`, so a crash leaves either the old checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from flax import serialization


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def save(path: str | os.PathLike, tree: Any) -> None:
    """Write ``tree`` (NamedTuples, dicts, lists, arrays, numbers) to ``path`` atomically."""
    write_bytes_atomic(path, serialization.msgpack_serialize(serialization.to_state_dict(tree)))


def restore(path: str | os.PathLike, template: Any) -> Any:
    """Read a checkpoint into the structure of ``template`` (e.g. a freshly initialised state)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = serialization.msgpack_restore(path.read_bytes())
    return serialization.from_state_dict(template, state)
