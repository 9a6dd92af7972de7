"""The scan's unroll factor, measured rather than guessed: ``unroll(..., unroll="auto")``.

The best factor depends on the shape and the device (on an H100 the hoisted LSTM at 100×256×1024
wants 4, at 512×32×256 wants 32 or more: see benchmarks/README.md), so `best_unroll` compiles the training
computation — forward and backward of the mean squared outputs — for each candidate factor, times
each once (median of ``repeats`` runs after a warm-up) on random inputs of the same shapes and dtypes,
and caches the winner per (device kind, cell, shapes, dtypes, options) for the life of the process.
The first call at a new shape therefore costs a few compilations; later calls cost a dict lookup.
It works inside `jax.jit` (only shapes and dtypes are read; the timing runs outside the trace).

    u = jaxseq.tune.best_unroll(lstm.step, params, carry, xs)          # e.g. 4
    jaxseq.unroll(lstm.step, params, carry, xs, unroll="auto")        # the same, inside unroll
    jaxseq.tune.timings()                                              # what was measured
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq.typing import Array, PyTree

CANDIDATES = (1, 2, 4, 8, 16, 32)
_BEST: dict = {}
_TIMINGS: dict = {}


def _describe(tree) -> tuple:
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return str(treedef), tuple((tuple(np.shape(x)), jnp.result_type(x).name) for x in leaves)


def _random_like(tree, seed: int):
    rng = np.random.default_rng(seed)

    def one(x):
        dt = jnp.result_type(x)
        if dt == jnp.bool_:
            return np.ones(np.shape(x), bool)
        return (0.5 * rng.standard_normal(np.shape(x))).astype(dt)

    return jax.tree_util.tree_map(one, tree)


def best_unroll(step, params: PyTree, carry: PyTree, xs: Array, *, mask: Optional[Array] = None,
                reverse: bool = False, impl: str = "auto", compute_dtype: Any = None, hoist: Optional[bool] = None,
                remat: bool = False, candidates: Sequence[int] = CANDIDATES, repeats: int = 3) -> int:
    """The fastest of ``candidates`` (those ≤ t) for ``unroll(step, params, carry, xs, ...)``'s fwd + bwd.

    Only the shapes and dtypes of the arguments are used. The answer is cached per device kind, step,
    shapes, dtypes and options; `timings` shows the measured milliseconds.
    """
    from jaxseq.unroll import unroll

    t = int(np.shape(xs)[0])
    cands = sorted({int(c) for c in candidates if 1 <= int(c) <= t}) or [1]
    device = jax.devices()[0]
    key = (device.platform, device.device_kind, getattr(step, "__module__", ""), getattr(step, "__qualname__", repr(step)),
           _describe(params), _describe(carry), _describe(xs), None if mask is None else _describe(mask),
           bool(reverse), impl, None if compute_dtype is None else jnp.dtype(compute_dtype).name, hoist, bool(remat),
           tuple(cands))
    if key in _BEST:
        return _BEST[key]
    structs = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(np.shape(x), jnp.result_type(x)),
                                     (params, carry, xs, mask))
    with jax.ensure_compile_time_eval():  # best_unroll may run while a jit traces its caller
        inputs = jax.device_put(_random_like(structs, 0))  # on the device once: the timings hold no uploads
    ms = {}
    for u in cands:
        def loss(p, c, x, m, u=u):
            _, ys = unroll(step, p, c, x, mask=m, reverse=reverse, unroll=u, impl=impl, compute_dtype=compute_dtype,
                           hoist=hoist, remat=remat)
            return jnp.mean(jnp.square(ys.astype(jnp.float32)))

        compiled = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2))).lower(*structs).compile()
        jax.block_until_ready(compiled(*inputs))  # warm-up
        runs = []
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            jax.block_until_ready(compiled(*inputs))
            runs.append(time.perf_counter() - t0)
        ms[u] = 1e3 * statistics.median(runs)
    best = min(ms, key=ms.get)
    _BEST[key], _TIMINGS[key] = best, ms
    return best


def timings() -> dict:
    """{cache key: {unroll factor: milliseconds}} of every measurement made in this process."""
    return dict(_TIMINGS)


def clear_cache() -> None:
    _BEST.clear()
    _TIMINGS.clear()
