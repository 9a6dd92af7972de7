"""Supervised training on padded batches of sequences: the parts the seq2seq, tagger and CTC
experiments share.

    ids, lengths = pad([seq_1, seq_2, ...])              # (t, b) time-first, (b,)
    order = Minibatches(n_examples, batch_size, seed)    # order.at(step) → indices of that step
    state = fit(train_step, state, lambda s: batch_of(order.at(s)), steps=..., eval_every=...,
                evaluate=lambda state: {"valid_acc": ...}, metrics=experiment.Metrics(...))

`Minibatches` makes the run a pure function of the seed: step s reads the same examples on any
machine (epoch e is the permutation drawn by ``np.random.default_rng([seed, e])``).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from jaxseq import _checks


def pad(seqs: Sequence, *, pad_value=0, length: Optional[int] = None, dtype=None) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad sequences of shapes (t_i, ...) into one time-first array (t, b, ...) with lengths (b,).

    ``t`` is the longest t_i, or ``length`` (which must be at least that). Integer ids stay int32.
    """
    if len(seqs) == 0:
        raise ValueError("`seqs` is empty: nothing to pad")
    arrays = [np.asarray(s) for s in seqs]
    tail = arrays[0].shape[1:]
    for i, a in enumerate(arrays):
        if a.ndim < 1 or a.shape[1:] != tail:
            raise ValueError(f"`seqs[{i}]` must have shape (t, *{tail}) like seqs[0]; got {a.shape}")
    lengths = np.asarray([a.shape[0] for a in arrays], np.int32)
    t = int(lengths.max()) if length is None else length
    if t < lengths.max():
        raise ValueError(f"`length` must be at least the longest sequence, {lengths.max()}; got {length}")
    if dtype is None:  # the common type of the non-empty sequences (an empty list alone says float64)
        common = np.result_type(*[a.dtype for a in arrays if a.size] or [np.int32])
        dtype = np.int32 if np.issubdtype(common, np.integer) else common
    out = np.full((t, len(arrays), *tail), pad_value, dtype)
    for b, a in enumerate(arrays):
        out[: a.shape[0], b] = a
    return out, lengths


class Minibatches:
    """Example indices of each training step: epoch-wise shuffles, deterministic in (seed, step)."""

    def __init__(self, n_examples: int, batch_size: int, seed: int = 0):
        _checks.positive_int("n_examples", n_examples)
        _checks.positive_int("batch_size", batch_size)
        if batch_size > n_examples:
            raise ValueError(f"`batch_size` must be <= the number of examples {n_examples}; got {batch_size}")
        self.n, self.batch_size, self.seed = n_examples, batch_size, seed
        self.per_epoch = n_examples // batch_size
        self._epoch, self._perm = -1, None

    def at(self, step: int) -> np.ndarray:
        epoch, k = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            self._epoch, self._perm = epoch, np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return self._perm[k * self.batch_size:(k + 1) * self.batch_size]


def fit(train_step: Callable, state: Any, batch_at: Callable[[int], tuple], *, steps: int, eval_every: int,
        evaluate: Callable[[Any], Mapping[str, float]], metrics, progress: bool = True, desc: str = "",
        prefix: str = "", log: Callable[[str], None] = print) -> tuple[Any, dict]:
    """Run ``state, loss = train_step(state, *batch_at(step))`` for ``steps`` steps.

    Every ``eval_every`` steps and at the end a row {step, train_loss (mean since the last row),
    steps_per_s, **evaluate(state)} goes to ``metrics`` (an `experiment.Metrics`), every key but
    "step" prefixed by ``prefix`` (to keep several models' columns apart in one CSV). Returns
    (state, {"wall_s", "train_s"}), train_s excluding evaluation and the first step's compilation.
    """
    _checks.positive_int("steps", steps)
    _checks.positive_int("eval_every", eval_every)
    t0 = time.perf_counter()
    recent: list = []
    t_first, t_eval, n_timed = None, 0.0, 0
    bar = tqdm(total=steps, disable=not progress, unit="step", dynamic_ncols=True, desc=desc or None)
    for s in range(steps):
        batch = batch_at(s)
        state, loss = train_step(state, *batch)
        if s == 0:
            loss.block_until_ready()
            t_first = time.perf_counter()
        else:
            n_timed += 1
        recent.append(loss)
        done = s + 1
        if done % eval_every == 0 or done == steps:
            train_loss = float(np.mean([float(x) for x in recent]))
            recent = []
            t_side = time.perf_counter()
            train_s = t_side - t_first - t_eval
            row = {"step": done, "train_loss": train_loss,
                   "steps_per_s": round(n_timed / train_s, 2) if n_timed and train_s > 0 else None}
            row.update(evaluate(state))
            metrics.append(**{(k if k == "step" else prefix + k): v for k, v in row.items()})
            shown = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k not in ("step", "steps_per_s")
                              and isinstance(v, (int, float)))
            bar.set_postfix(loss=f"{train_loss:.3f}")
            if progress:
                bar.write(f"{desc + ' ' if desc else ''}step {done}: {shown}")
            elif log is not None and done == steps:
                log(f"{desc + ' ' if desc else ''}step {done}: {shown}")
            t_eval += time.perf_counter() - t_side
        bar.update(1)
    bar.close()
    end = time.perf_counter()
    return state, {"wall_s": end - t0, "train_s": (end - t_first - t_eval) if t_first is not None else 0.0}
