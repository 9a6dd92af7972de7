"""word2vec's examples built on the device: subsampling, shrunk windows and shuffling as jitted code.

`jaxseq.word2vec` builds a chunk's examples with NumPy on the host (`word2vec._examples`). That costs
≈ 50-100 ns per example on one host core: enough for a CPU, whose device step is slower still, but
an accelerator trains at tens of millions of examples a second, and a host-side pipeline would
leave it idle. Here the same examples come from one jitted function of the chunk's ids, so only the
word ids cross to the device (once, for a corpus that is kept in memory) and nothing comes back but
the number of examples.

For a chunk of n words with ids w_1..w_n and sentence numbers s_1..s_n (padded to a bucket of N):

    keep_i ~ Bernoulli(keep_p[w_i])                     subsampling of frequent words (`sample`)
    the kept words, compacted in order: positions 1..m
    b_j ~ Uniform{1..window}                            the shrunk window of centre j
    skip-gram: one example (input w_{j+o}, target w_j) for each 0 < |o| ≤ b_j, j + o in 1..m,
               s_{j+o} = s_j (within the sentence)
    CBOW:      one example (inputs {w_{j+o}}, target w_j) per centre with at least one such context

which is exactly the definition of the host version; only the random draws differ. The examples are
then put in a random order (each valid one gets a uniform key, invalid ones sort last), and the first
E of them are valid. Shapes are static — 2 · window candidates per word — so one compilation serves
every chunk of a bucket.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxseq.typing import Array


def bucket(n: int, minimum: int = 1 << 12) -> int:
    """The padded chunk length for n words: the next power of two (≥ `minimum`), so that a stream of
    chunks of about the same size compiles `examples` once or twice."""
    size = minimum
    while size < n:
        size *= 2
    return size


def pairs(ids: Array, sid: Array, m, reach: Array, *, window: int, model: str):
    """Candidate examples of kept words ids[:m] (sentence numbers sid, shrunk windows reach), before shuffling.

    Skip-gram: x (2w·N, 1) inputs, y (2w·N,) targets, ok (2w·N,) validity, ordered by offset then
    centre. CBOW: x (N, 2w) contexts (−1 where none), y (N,), ok (N,) (centre has a context).
    """
    N = ids.shape[0]
    pos = jnp.arange(N)
    offsets = [o for o in range(-window, window + 1) if o != 0]
    cols, oks = [], []
    for o in offsets:
        j = pos + o
        jc = jnp.clip(j, 0, N - 1)
        ok = (j >= 0) & (j < m) & (pos < m) & (abs(o) <= reach) & (sid[jc] == sid)
        cols.append(ids[jc])
        oks.append(ok)
    if model == "skipgram":
        ok = jnp.concatenate(oks)
        x = jnp.concatenate(cols)[:, None]
        y = jnp.tile(ids, len(offsets))
        return x, y, ok
    ctx_ok = jnp.stack(oks, axis=1)  # (N, 2w)
    x = jnp.where(ctx_ok, jnp.stack(cols, axis=1), -1)
    return x, ids, ctx_ok.any(axis=1)


@functools.partial(jax.jit, static_argnames=("window", "model", "pad"))
def examples(key, ids: Array, sid: Array, n, keep_p: Array, *, window: int, model: str, pad: int):
    """The shuffled examples of one chunk: x (M, m) inputs, y (M,) targets (−1 past the valid ones), E.

    `ids`, `sid` (N,) int32: the chunk's word ids and sentence numbers, valid below `n`. The outputs
    have `pad` extra rows of no-op examples (y = −1), so that a fixed number of batches can be sliced
    past E without running off the end.
    """
    N = ids.shape[0]
    k_keep, k_reach, k_order = jax.random.split(key, 3)
    pos = jnp.arange(N)
    keep = (pos < n) & (jax.random.uniform(k_keep, (N,)) < keep_p[ids])
    m = keep.sum()
    kept = jnp.nonzero(keep, size=N, fill_value=0)[0]
    k_ids = ids[kept]
    k_sid = jnp.where(pos < m, sid[kept], -1)
    reach = jax.random.randint(k_reach, (N,), 1, window + 1)
    x, y, ok = pairs(k_ids, k_sid, m, reach, window=window, model=model)
    sort_key = jnp.where(ok, jax.random.uniform(k_order, ok.shape), 2.0)
    order = jnp.argsort(sort_key)
    x, y, ok = x[order], y[order], ok[order]
    y = jnp.where(ok, y, -1)
    x = jnp.concatenate([x, jnp.full((pad, x.shape[1]), -1, x.dtype)])
    y = jnp.concatenate([y, jnp.full((pad,), -1, y.dtype)])
    return x, y, ok.sum()
