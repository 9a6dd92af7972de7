"""Connectionist temporal classification (Graves et al. 2006): a loss and decoders for T_y ≤ T_x
outputs that are not aligned with the inputs (speech → characters).

The network emits, at every input frame t, a distribution ŷ<t> over the labels and one extra *blank*
symbol (id ``blank_id``, 0 by default). An alignment π (one symbol per frame) collapses to a label
sequence by B: merge repeated symbols, then remove blanks — B("_cc_aa_t_") = "cat", and a repeated
label needs a blank between its copies: B("aa") = "a", B("a_a") = "aa". Then

    P(y | x) = Σ_{π : B(π) = y} Π_t ŷ<t>[π<t>],        loss = −log P(y | x)

summed by the forward algorithm (`optax.ctc_loss`). A target y of length U fits T frames only if
T ≥ U + (number of adjacent repeats in y): each repeat costs one blank frame. `loss` and
`check_targets` reject targets that cannot fit, empty targets, and labels equal to the blank.

Layout, as everywhere in jaxseq: time first, batch axes after.

    loss(logits (t, ..., v), logit_lengths (...), labels (n, ..., ), label_lengths (...)) -> (...) or scalar

Value checks (lengths, fitting) need concrete numbers, so they run when `loss` is called outside
`jax.jit`; inside jit only the static checks run — call `check_targets` on the data once.

Decoders:

* `greedy_decode` (jittable): the best path, argmax per frame, collapsed by B. Not the most likely
  label sequence (many paths sum to one y), but close when the network is confident.
* `prefix_beam_search` (NumPy, on the host, one example): the prefix beam search of Hannun et al.
  2014, which keeps for each label prefix the probability of all paths that collapse to it, split by
  whether the path ends in a blank (p_b) or not (p_nb). Exact when the beam holds every prefix.
  It is a Python loop over frames and beams, so it runs on the host; it is meant for evaluation.

`label_error_rate`: Σ edit distance(hypothesis, reference) / Σ |reference|.
"""
from __future__ import annotations

import functools
import math
from typing import Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxseq import _checks
from jaxseq.typing import Array

REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------------------------------
# Checks


def collapse(path: Sequence[int], blank_id: int = 0) -> list[int]:
    """B(π): merge repeated symbols, then drop blanks. ``collapse([1, 1, 0, 1, 2, 2]) == [1, 1, 2]``."""
    out, prev = [], None
    for s in path:
        s = int(s)
        if s != prev and s != blank_id:
            out.append(s)
        prev = s
    return out


def min_frames(labels: Sequence[int]) -> int:
    """The fewest frames a label sequence fits: its length plus one blank per adjacent repeat."""
    labels = list(labels)
    return len(labels) + sum(a == b for a, b in zip(labels, labels[1:]))


def _concrete(x) -> Optional[np.ndarray]:
    """x as a NumPy array, or None when it is a tracer (inside jit, grad or vmap)."""
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def check_targets(logit_lengths, labels, label_lengths, *, num_classes: Optional[int] = None,
                  blank_id: int = 0) -> None:
    """Raise ValueError for targets CTC cannot learn: empty, containing the blank or an unknown id,
    longer than their label array, or needing more frames than the input has (repeats included).

    Host-side (NumPy) values; labels (n, ...) with label_lengths and logit_lengths (...).
    """
    logit_lengths, labels, label_lengths = (np.asarray(a) for a in (logit_lengths, labels, label_lengths))
    if labels.ndim < 1:
        raise ValueError(f"`labels` must have shape (n, ...); got {labels.shape}")
    for name, a in (("label_lengths", label_lengths), ("logit_lengths", logit_lengths)):
        if a.shape != labels.shape[1:]:
            raise ValueError(f"`{name}` must have the batch shape of `labels` (n, ...), {labels.shape[1:]}; "
                             f"got {a.shape}")
    n = labels.shape[0]
    flat_labels = labels.reshape(n, -1)
    flat_ll = label_lengths.reshape(-1)
    flat_tl = logit_lengths.reshape(-1)
    for b in range(flat_ll.size):
        u, t = int(flat_ll[b]), int(flat_tl[b])
        where = f" (example {b})" if flat_ll.size > 1 else ""
        if u < 1:
            raise ValueError(f"`label_lengths`{where} must be >= 1: CTC needs a non-empty target; got {u}")
        if u > n:
            raise ValueError(f"`label_lengths`{where} must be <= {n} (the label array's length); got {u}")
        if t < 1:
            raise ValueError(f"`logit_lengths`{where} must be >= 1; got {t}")
        seq = flat_labels[:u, b].tolist()
        if blank_id in seq:
            raise ValueError(f"`labels`{where} must not contain the blank id {blank_id}; got {seq}")
        if num_classes is not None and (min(seq) < 0 or max(seq) >= num_classes):
            raise ValueError(f"`labels`{where} must be ids in [0, {num_classes}); got {seq}")
        need = min_frames(seq)
        if need > t:
            raise ValueError(f"`labels`{where} is too long for its input: {u} labels with {need - u} adjacent "
                             f"repeat(s) need at least {need} frames (one blank between repeats); "
                             f"`logit_lengths` gives {t}")


# --------------------------------------------------------------------------------------------------
# Loss


def loss(logits: Array, logit_lengths: Array, labels: Array, label_lengths: Array, *, blank_id: int = 0,
         reduction: str = "mean") -> Array:
    """−log P(y | x) per sequence, by `optax.ctc_loss` on right-padded batches.

    logits (t, ..., v) unnormalised; logit_lengths (...) valid frames; labels (n, ...) ids (not the
    blank) with label_lengths (...). reduction: "mean" over the batch, "sum", or "none" → (...).
    """
    _checks.floating("logits", logits)
    _checks.rank_at_least("logits", logits, 2, "(time, ..., vocab)")
    _checks.integer("labels", labels)
    _checks.integer("logit_lengths", logit_lengths)
    _checks.integer("label_lengths", label_lengths)
    _checks.one_of("reduction", reduction, REDUCTIONS)
    t, batch, v = logits.shape[0], logits.shape[1:-1], logits.shape[-1]
    _checks.token_id("blank_id", blank_id, v, "the logits' last axis")
    _checks.rank_at_least("labels", labels, 1, "(n, ...)")
    _checks.same_shape("labels", labels, labels.shape[:1] + batch, "(n, ...) with the batch shape of `logits`")
    _checks.same_shape("logit_lengths", logit_lengths, batch, "logits.shape[1:-1] (the batch shape)")
    _checks.same_shape("label_lengths", label_lengths, batch, "logits.shape[1:-1] (the batch shape)")
    values = [_concrete(a) for a in (logit_lengths, labels, label_lengths)]
    if all(a is not None for a in values):
        if values[0].size and values[0].max() > t:
            raise ValueError(f"`logit_lengths` must be <= {t} (the logits' time axis); got {values[0].max()}")
        check_targets(*values, num_classes=v, blank_id=blank_id)
    if isinstance(blank_id, jax.core.Tracer):
        raise TypeError("`blank_id` must be a concrete id (it fixes the compiled loss); got a traced value")
    return _loss(logits, logit_lengths, labels, label_lengths, blank_id=int(blank_id), reduction=reduction)


@functools.partial(jax.jit, static_argnames=("blank_id", "reduction"))
def _loss(logits, logit_lengths, labels, label_lengths, *, blank_id: int, reduction: str):
    """The checked computation, compiled once per shape (also when `loss` is called eagerly)."""
    t, batch, v = logits.shape[0], logits.shape[1:-1], logits.shape[-1]
    n = labels.shape[0]
    flat_logits = jnp.moveaxis(logits.reshape(t, -1, v), 0, 1)  # (B, t, v), optax's layout
    flat_labels = labels.reshape(n, -1).T
    logit_pad = (jnp.arange(t)[None] >= logit_lengths.reshape(-1, 1)).astype(logits.dtype)
    label_pad = (jnp.arange(n)[None] >= label_lengths.reshape(-1, 1)).astype(logits.dtype)
    per_seq = optax.ctc_loss(flat_logits, logit_pad, flat_labels, label_pad, blank_id=blank_id).reshape(batch)
    if reduction == "none":
        return per_seq
    return jnp.sum(per_seq) if reduction == "sum" else jnp.mean(per_seq)


# --------------------------------------------------------------------------------------------------
# Decoders


def greedy_decode(logits: Array, logit_lengths: Array, *, blank_id: int = 0) -> tuple[Array, Array]:
    """Best-path decoding: π<t> = argmax ŷ<t>, then B(π) (merge repeats, drop blanks).

    logits (t, ..., v), logit_lengths (...). Returns (labels (t, ...) int32, lengths (...)): the
    first ``lengths`` entries of each column are the labels; the rest hold ``blank_id``. Concrete
    lengths are checked here, before the compiled part.
    """
    _checks.floating("logits", logits)
    _checks.integer("logit_lengths", logit_lengths)
    _checks.rank_at_least("logits", logits, 2, "(time, ..., vocab)")
    _checks.same_shape("logit_lengths", logit_lengths, logits.shape[1:-1], "logits.shape[1:-1] (the batch shape)")
    _checks.lengths_within("logit_lengths", logit_lengths, logits.shape[0])
    _checks.token_id("blank_id", blank_id, logits.shape[-1], "the logits' last axis")
    return _greedy_decode(logits, logit_lengths, blank_id=int(blank_id))


@functools.partial(jax.jit, static_argnames=("blank_id",))
def _greedy_decode(logits: Array, logit_lengths: Array, *, blank_id: int) -> tuple[Array, Array]:
    t = logits.shape[0]
    best = jnp.argmax(logits, axis=-1).astype(jnp.int32)  # (t, ...)
    prev = jnp.concatenate([jnp.full_like(best[:1], -1), best[:-1]], axis=0)
    steps = jnp.arange(t).reshape((t,) + (1,) * logit_lengths.ndim)
    keep = (best != blank_id) & (best != prev) & (steps < logit_lengths[None])
    slot = jnp.cumsum(keep, axis=0) - 1  # where each kept label goes
    lengths = jnp.sum(keep, axis=0).astype(jnp.int32)
    flat_best, flat_slot, flat_keep = (a.reshape(t, -1) for a in (best, slot, keep))
    cols = jnp.broadcast_to(jnp.arange(flat_best.shape[1])[None], flat_best.shape)
    out = jnp.full_like(flat_best, blank_id).at[jnp.where(flat_keep, flat_slot, t), cols].set(flat_best, mode="drop")
    return out.reshape(best.shape), lengths


def _logsumexp2(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) for Python floats (faster than NumPy on scalars)."""
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def prefix_beam_search(log_probs, length: Optional[int] = None, *, beam_width: int, blank_id: int = 0,
                       top: Optional[int] = None) -> list[tuple[tuple[int, ...], float]]:
    """CTC prefix beam search (Hannun et al. 2014) for one example, on the host.

    log_probs (t, v): per-frame log-probabilities (log-softmax of the logits); only the first
    ``length`` frames are read. Returns up to ``top`` (default ``beam_width``) pairs
    ``(labels, log P(labels | x))``, best first; log P sums every path that collapses to the labels.

    For each prefix ℓ the beam keeps p_b(ℓ) (paths ending in a blank) and p_nb(ℓ) (ending in ℓ's last
    label). At frame t, with ŷ = exp(log_probs[t]):

        blank:              p_b'(ℓ)  += (p_b(ℓ) + p_nb(ℓ)) · ŷ[blank]
        repeat last label:  p_nb'(ℓ) += p_nb(ℓ) · ŷ[ℓ_last]           (merged into ℓ)
        new label c:        p_nb'(ℓ+c) += (p_b(ℓ) + p_nb(ℓ)) · ŷ[c]   (only p_b(ℓ) if c = ℓ_last)

    then the ``beam_width`` prefixes with the largest p_b + p_nb survive (in log space throughout).
    """
    lp = np.asarray(log_probs, np.float64)
    if lp.ndim != 2:
        raise ValueError(f"`log_probs` must have shape (t, v); got {lp.shape}")
    _checks.positive_int("beam_width", beam_width)
    t_all, v = lp.shape
    _checks.token_id("blank_id", blank_id, v, "the columns of `log_probs`")
    if length is not None:
        _checks.nonnegative_int("length", length)  # 2.7 frames was cut to 2
    t_len = t_all if length is None else int(length)
    if not 0 <= t_len <= t_all:
        raise ValueError(f"`length` must be in [0, {t_all}] (the frames of `log_probs`); got {length}")
    top = beam_width if top is None else top
    _checks.positive_int("top", top)
    neg = -np.inf
    beams: dict = {(): (0.0, neg)}  # prefix -> (log p_b, log p_nb)
    labels = [c for c in range(v) if c != blank_id]
    for t in range(t_len):
        row = lp[t].tolist()
        nxt: dict = {}

        def add(prefix, b=neg, nb=neg):
            ob, onb = nxt.get(prefix, (neg, neg))
            nxt[prefix] = (_logsumexp2(ob, b), _logsumexp2(onb, nb))

        for prefix, (pb, pnb) in beams.items():
            total = _logsumexp2(pb, pnb)
            add(prefix, b=total + row[blank_id])
            last = prefix[-1] if prefix else None
            for c in labels:
                if c == last:
                    add(prefix, nb=pnb + row[c])
                    add(prefix + (c,), nb=pb + row[c])
                else:
                    add(prefix + (c,), nb=total + row[c])
        ranked = sorted(nxt.items(), key=lambda kv: -_logsumexp2(*kv[1]))
        beams = dict(ranked[:beam_width])
    ranked = sorted(((p, _logsumexp2(*s)) for p, s in beams.items()), key=lambda ps: -ps[1])
    return [(p, s) for p, s in ranked[:top] if s > -math.inf]  # a prefix with no path is no hypothesis


def prefix_beam_decode(logits, logit_lengths, *, beam_width: int, blank_id: int = 0) -> list[list[int]]:
    """The best prefix-beam-search labels of every example: logits (t, b, v), logit_lengths (b,)."""
    _checks.positive_int("beam_width", beam_width)
    lp = np.asarray(jax.nn.log_softmax(jnp.asarray(logits), axis=-1))
    lengths = np.asarray(logit_lengths)
    if lp.ndim != 3 or lengths.shape != lp.shape[1:2]:
        raise ValueError(f"`logits` must have shape (t, b, v) and `logit_lengths` (b,); got {lp.shape} and {lengths.shape}")
    out = []
    for b in range(lp.shape[1]):
        best = prefix_beam_search(lp[:, b], int(lengths[b]), beam_width=beam_width, blank_id=blank_id, top=1)
        if not best:  # every path has probability 0: log-probabilities of −inf or NaN
            raise ValueError(f"`logits` of example {b} give no label sequence a finite log-probability (are they NaN "
                             f"or −inf?)")
        out.append(list(best[0][0]))
    return out


def to_lists(labels, lengths) -> list[list[int]]:
    """Host side: (t, b) decoded labels with lengths (b,) (from `greedy_decode`) → b lists of ids."""
    labels, lengths = np.asarray(labels), np.asarray(lengths)
    return [labels[: int(n), b].tolist() for b, n in enumerate(lengths.tolist())]


# --------------------------------------------------------------------------------------------------
# Label error rate


def edit_distance(hypothesis: Sequence, reference: Sequence) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions from one to the other."""
    hyp, ref = list(hypothesis), list(reference)
    row = np.arange(len(ref) + 1)
    for i, h in enumerate(hyp, start=1):
        new = np.empty_like(row)
        new[0] = i
        for j, r in enumerate(ref, start=1):
            new[j] = min(row[j] + 1, new[j - 1] + 1, row[j - 1] + (h != r))
        row = new
    return int(row[-1])


def label_error_rate(hypotheses: Sequence[Sequence], references: Sequence[Sequence]) -> float:
    """Σ edit_distance(h, r) / Σ |r| over a corpus (0 is perfect; can exceed 1 with insertions)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"`hypotheses` and `references` must have the same length; got {len(hypotheses)} and "
                         f"{len(references)}")
    total = sum(len(r) for r in references)
    if total == 0:
        raise ValueError("`references` are all empty: the label error rate divides by their total length")
    return sum(edit_distance(h, r) for h, r in zip(hypotheses, references)) / total
