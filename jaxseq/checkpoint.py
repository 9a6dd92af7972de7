"""Checkpoints: a pytree of arrays (plus JSON-able extras) written atomically, restored into a template.

The file is msgpack from `flax.serialization`; writing goes to a temporary file in the same folder,
then `os.replace`, so a crash leaves either the old checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

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
    try:
        state = serialization.msgpack_restore(path.read_bytes())
    except Exception as e:  # msgpack's own errors (ExtraData, ...) name no file
        raise ValueError(f"{path} is not a checkpoint written by jaxseq.checkpoint.save (it does not parse: "
                         f"{type(e).__name__}: {e})") from None
    if defaults and isinstance(state, dict):
        state = {**defaults, **state}
    want, got = _flat(serialization.to_state_dict(template)), _flat(state)
    if set(want) != set(got):
        missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        raise ValueError(f"checkpoint {path} does not fit the template: "
                         + "; ".join(part for part in (f"missing {missing[:5]}" if missing else "",
                                                       f"unexpected {extra[:5]}" if extra else "") if part))
    for where, w in want.items():
        g = got[where]
        if hasattr(w, "shape") and hasattr(w, "dtype"):
            ok = np.shape(g) == tuple(w.shape) and np.result_type(g) == np.dtype(w.dtype)
            expected, found = f"{tuple(w.shape)} {np.dtype(w.dtype)}", f"{np.shape(g)} {np.result_type(g)}"
        elif isinstance(w, (bool, int, float)):  # a Python number: a number (of the same kind) back
            number = np.ndim(g) == 0 and (isinstance(g, (bool, int, float)) or (
                isinstance(g, (np.ndarray, np.generic)) and np.issubdtype(np.asarray(g).dtype, np.number)))
            ok = number and (isinstance(w, float) or not np.issubdtype(np.asarray(g).dtype, np.floating))
            expected, found = type(w).__name__, f"{type(g).__name__} {g!r:.40}"
        else:
            continue
        if not ok:
            raise ValueError(f"checkpoint {path} does not fit the template at {where}: expected {expected}, "
                             f"found {found}")
    return serialization.from_state_dict(template, state)


def _flat(tree: Any, prefix: str = "") -> dict:
    """{"a/b/c": leaf} of a nested state dict."""
    if isinstance(tree, dict):
        out: dict = {}
        for k, v in tree.items():
            out.update(_flat(v, f"{prefix}/{k}" if prefix else str(k)))
        return out
    return {prefix: tree}
