"""Trace-time checks on user input: each error names the argument, what was expected and what arrived.

These run on static information only (shapes, dtypes, tree structure), so they cost nothing under
`jax.jit` beyond the first trace — except `ids_below`, which reads the values of ids given outside
`jax.jit` (and does nothing to traced ones).
"""
from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np


def shape_of(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def dtype_of(x: Any):
    try:
        return jnp.result_type(x)
    except TypeError:  # a Python list or tuple of numbers
        return np.asarray(x).dtype


def floating(name: str, x: Any) -> None:
    """Raise TypeError unless `x` has a floating dtype."""
    dt = dtype_of(x)
    if not jnp.issubdtype(dt, jnp.floating):
        raise TypeError(f"`{name}` must have a floating dtype; got {dt}")


def integer(name: str, x: Any) -> None:
    """Raise TypeError unless `x` holds integer ids (token ids, lengths)."""
    dt = dtype_of(x)
    if not jnp.issubdtype(dt, jnp.integer):
        raise TypeError(f"`{name}` must hold integer ids (an integer dtype such as int32); got {dt}")


def last_axis(name: str, x: Any, size: int, what: str) -> None:
    """Raise ValueError unless `x` has rank >= 1 and its last axis has `size` entries."""
    s = shape_of(x)
    if len(s) < 1 or s[-1] != size:
        raise ValueError(f"`{name}` must have shape (..., {size}) with {size} = {what}; got {s}")


def rank_at_least(name: str, x: Any, rank: int, layout: str) -> None:
    s = shape_of(x)
    if len(s) < rank:
        raise ValueError(f"`{name}` must have shape {layout} (rank >= {rank}); got {s}")


def same_shape(name: str, x: Any, expected: Sequence[int], layout: str) -> None:
    s, e = shape_of(x), tuple(expected)
    if s != e:
        raise ValueError(f"`{name}` must have shape {layout} = {e}; got {s}")


def one_of(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}; got {value!r}")


def batch_shape(name: str, value: Any) -> tuple[int, ...]:
    """A batch shape as a tuple: an int n is (n,); a sequence must hold integers >= 0."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = (value,)
    if not isinstance(value, (tuple, list)) or any(
            isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or d < 0 for d in value):
        raise ValueError(f"`{name}` must be a tuple of sizes >= 0 (or one int); got {value!r}")
    return tuple(int(d) for d in value)


def positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}")


def _extremes(values: Any) -> tuple[int, int]:
    """(min, max) of concrete integer values; (0, 0) — nothing to check — if they are traced or empty."""
    if isinstance(values, jax.core.Tracer) or np.size(values) == 0:
        return 0, 0
    a = np.asarray(values)
    return int(a.min()), int(a.max())


def ids_below(name: str, ids: Any, n: int) -> None:
    """Concrete integer ids must lie in [0, n): out of range, `jnp.take` gives NaN rows or wraps around."""
    lo, hi = _extremes(ids)
    if lo < 0 or hi >= n:
        raise ValueError(f"`{name}` must hold ids in [0, {n}) (the vocabulary size is {n}); got ids from {lo} to {hi}")


def cell_params(params: Any, gates_x: int, gates_a: int, extra: Sequence[tuple[str, str]] = (), *,
                bias: str = "b") -> int:
    """A cell's weights must fit one another: w_aa (h, gates_a·h), w_ax (i, gates_x·h), the field
    ``bias`` (gates_x·h,), and each ``extra`` field of layout "h" (h,) or "hh" (h, h) — no silent
    broadcasting of, say, a bias of shape (1,). Returns h."""
    w_ax, w_aa, bias_name = params.w_ax, params.w_aa, bias
    if np.ndim(w_aa) != 2 or np.ndim(w_ax) != 2:
        raise ValueError(f"`params.w_ax` and `params.w_aa` must be matrices; got shapes {np.shape(w_ax)} and "
                         f"{np.shape(w_aa)}")
    h, i = np.shape(w_aa)[0], np.shape(w_ax)[0]
    times = lambda g: "hidden" if g == 1 else f"{g}·hidden"
    want = [("w_aa", (h, gates_a * h), f"(hidden, {times(gates_a)})"), ("w_ax", (i, gates_x * h), f"(input, {times(gates_x)})"),
            (bias_name, (gates_x * h,), f"({times(gates_x)},)")]
    want += [(f, (h,) if layout == "h" else (h, h), "(hidden,)" if layout == "h" else "(hidden, hidden)")
             for f, layout in extra]
    for field, shape, layout in want:
        if tuple(np.shape(getattr(params, field))) != shape:
            raise ValueError(f"`params.{field}` must have shape {layout} = {shape} (hidden size {h} from "
                             f"params.w_aa); got {tuple(np.shape(getattr(params, field)))}")
    return h


def token_id(name: str, value: Any, n: int, what: str) -> None:
    """One integer id in [0, n) — a Python or NumPy int or a 0-d integer array (traced: unchecked);
    `what` says what n counts, e.g. "the target vocabulary"."""
    if isinstance(value, jax.core.Tracer):
        return
    ok = (not isinstance(value, (bool, np.bool_)) and np.ndim(value) == 0
          and np.issubdtype(np.asarray(value).dtype, np.integer) and 0 <= int(value) < n)
    if not ok:
        raise ValueError(f"`{name}` must be a token id in [0, {n}) ({what}); got {value!r}")


def lengths_within(name: str, lengths: Any, t: int) -> None:
    """Concrete sequence lengths must lie in [0, t] (t time steps); traced ones are not checked."""
    lo, hi = _extremes(lengths)
    if lo < 0 or hi > t:
        raise ValueError(f"`{name}` must lie in [0, {t}] (the number of time steps); got lengths from {lo} to {hi}")


def _real_scalar(value: Any) -> bool:
    return (not isinstance(value, (bool, np.bool_)) and np.ndim(value) == 0
            and np.issubdtype(np.asarray(value).dtype, np.number) and not np.iscomplexobj(value))


def positive_finite(name: str, value: Any) -> None:
    """A positive, finite number (a learning rate, a clipping norm): not 0, inf or NaN."""
    if isinstance(value, jax.core.Tracer):
        return
    if not _real_scalar(value) or not 0 < float(value) < float("inf"):
        raise ValueError(f"`{name}` must be a positive finite number; got {value!r}")


def nonnegative_finite(name: str, value: Any, what: str = "") -> None:
    """A finite number >= 0 (a temperature, a length-penalty exponent, a noise level): not inf or NaN;
    `what` (e.g. " (the length-normalisation exponent)") follows the name in the message."""
    if isinstance(value, jax.core.Tracer):
        return
    if not _real_scalar(value) or not 0 <= float(value) < float("inf"):
        raise ValueError(f"`{name}`{what} must be a finite number >= 0; got {value!r}")


def word_list(name: str, words: Any) -> None:
    """A collection of words: one string would be taken letter by letter, so it is refused."""
    if isinstance(words, str):
        raise TypeError(f"`{name}` must be a collection of words, e.g. [{words!r}]; got the string {words!r}")


def clip_norm(name: str, value: Any) -> None:
    """A gradient-clipping bound: positive, inf for no clipping (NaN and 0 refused)."""
    if not value > 0:
        raise ValueError(f"`{name}` must be positive (inf: no clipping); got {value}")


def nonnegative_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"`{name}` must be an integer >= 0; got {value!r}")


def same_tree(name: str, tree: Any, reference: Any, what: str) -> None:
    """Raise ValueError unless `tree` has the structure and leaf shapes of `reference`."""
    t_def, r_def = jax.tree_util.tree_structure(tree), jax.tree_util.tree_structure(reference)
    if t_def != r_def:
        raise ValueError(f"`{name}` must have the tree structure of {what}: {r_def}; got {t_def}")
    for t, r in zip(jax.tree_util.tree_leaves(tree), jax.tree_util.tree_leaves(reference)):
        if shape_of(t) != shape_of(r):
            got = jax.tree_util.tree_map(shape_of, tree)
            want = jax.tree_util.tree_map(shape_of, reference)
            raise ValueError(f"`{name}` must have leaf shapes {want} ({what}); got {got}")
