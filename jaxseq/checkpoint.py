"""Checkpoints: a pytree of arrays (plus JSON-able extras) written atomically, restored into a template.

The file is msgpack from `flax.serialization`; writing goes to a temporary file in the same folder,
then `os.replace`, so a crash leaves either the old checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import jax
import numpy as np
from flax import serialization

from jaxseq._files import atomic_write


def save(path: str | os.PathLike, tree: Any) -> None:
    """Write ``tree`` (NamedTuples, dicts, lists, arrays, numbers) to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(serialization.msgpack_serialize(serialization.to_state_dict(tree)))


def restore(path: str | os.PathLike, template: Any, *, defaults: Optional[dict] = None) -> Any:
    """Read a checkpoint into the structure of ``template`` (e.g. a freshly initialised state); every
    array must have the template's shape and dtype (a mismatch names the first path that differs).
    ``defaults`` fills top-level keys that an older checkpoint lacks."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = serialization.msgpack_restore(path.read_bytes())
    if defaults and isinstance(state, dict):
        state = {**defaults, **state}
    restored = serialization.from_state_dict(template, state)
    for (where, want), got in zip(jax.tree_util.tree_leaves_with_path(template), jax.tree_util.tree_leaves(restored)):
        if hasattr(want, "shape") and hasattr(want, "dtype"):
            got_dtype = np.result_type(got)
            if np.shape(got) != tuple(want.shape) or got_dtype != np.dtype(want.dtype):
                raise ValueError(f"checkpoint {path} does not fit the template at {jax.tree_util.keystr(where)}: "
                                 f"expected {tuple(want.shape)} {np.dtype(want.dtype)}, found {np.shape(got)} {got_dtype}")
    return restored
