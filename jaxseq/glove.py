"""GloVe (Pennington, Socher & Manning 2014): word vectors from a weighted least-squares fit to log co-occurrences.

    X_ij   = Σ over occurrences of word i of  1/d  for each occurrence of word j at distance d ≤ window
             (within one sentence; ``symmetric=False`` counts only the words to the left, as GloVe's
             ``-symmetric 0``; ``distance_weighting=False`` counts 1 instead of 1/d)
    J      = Σ_{X_ij > 0}  f(X_ij) · (w_i·w̃_j + b_i + b̃_j − log X_ij)²
    f(x)   = (x / x_max)^α  if x < x_max, else 1          (x_max = 100, α = 3/4)

The fit is AdaGrad over the non-zero X_ij in random order, as GloVe's ``glove.c`` (v0.2) does it: with
learning rate η = 0.05, each entry's gradient is first scaled, g = clip(η · f(X_ij) · diff · w, ±100),
then the parameter moves by −g / √G and G += g², G starting at 1. Because G sums the *scaled*
squares, the step stays close to η · gradient for a long time: this is not textbook AdaGrad,
whose steps η g / √(1 + Σ g²) shrink much sooner and leave GloVe under-trained. (v0.2 has no clip;
later versions of glove.c clip f · diff · w to ±100 *before* the η, and not the biases' steps, so
theirs binds at steps of ±5 where ours, at the default `grad_clip`, almost never does.) Batched here:
each step takes `batch` entries; each entry's update uses G as it was at the start of the step —
what glove.c's Hogwild threads do — and the updates of a row hit several times are added
(``.at[rows].add``, sparse). The word vectors returned are
W + W̃ (glove.c's ``-model 2``), most frequent word first.

    result = glove.train("corpus.txt", GloVeConfig(dim=50, epochs=25))
    result.vectors  # a jaxseq.word_vectors.WordVectors

``train(..., on_epoch=f)`` hands `f` a `Checkpoint` after every epoch (params, AdaGrad sums, where
the shuffling stands); ``train(..., resume=checkpoint)`` continues it to the vectors an uninterrupted
run gives (bit for bit on a CPU), after checking that the corpus (vocabulary, counts, X) and the
config are the checkpoint's.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import _checks
from jaxseq._resume import check_checkpoint, corpus_digest
from jaxseq.typing import Array
from jaxseq.vocab import Vocab
from jaxseq.word2vec import Sentences, build_vocab, iter_sentences
from jaxseq.word_vectors import WordVectors

__all__ = ["GloVeConfig", "Params", "AdaGradState", "Cooccurrence", "Result", "Checkpoint", "cooccurrence", "weight",
           "loss", "init", "train", "run_settings"]


@dataclasses.dataclass(frozen=True)
class GloVeConfig:
    """Hyperparameters of `train` (glove.c's defaults where it has them)."""

    dim: int = 50  # the size of a word vector
    window: int = 10  # co-occurrences counted up to this many words away
    symmetric: bool = True  # count both sides of a word (--no-symmetric: the left only, as GloVe's -symmetric 0)
    distance_weighting: bool = True  # count 1/d for words d apart (--no-distance-weighting: 1)
    min_count: int = 5  # words seen fewer times are dropped
    max_vocab: int = 0  # 0: no cap
    x_max: float = 100.0  # f(x) = (x / x_max)^alpha below x_max, 1 above
    alpha: float = 0.75  # the exponent of the weighting f
    lr: float = 0.05  # AdaGrad's learning rate
    epochs: int = 25  # passes over the co-occurrences
    batch: int = 4096  # co-occurrences per step
    grad_clip: float = 100.0  # each scaled gradient entry η·f·diff·w (and η·f·diff) is clipped to ± this
    chunk_words: int = 1_000_000  # corpus words counted at a time
    seed: int = 0  # the same seed gives the same vectors


class StepOptions(NamedTuple):
    """What a step depends on (static under jit)."""

    x_max: float
    alpha: float
    lr: float
    grad_clip: float


class Params(NamedTuple):
    W: Array  # (v, e) word vectors w_i
    W_tilde: Array  # (v, e) context vectors w̃_j
    b: Array  # (v,)
    b_tilde: Array  # (v,)


class AdaGradState(NamedTuple):
    """Σ g² so far, per parameter entry (glove.c starts them at 1)."""

    W: Array
    W_tilde: Array
    b: Array
    b_tilde: Array


class Cooccurrence(NamedTuple):
    """The non-zero entries of X as coordinates: X[rows[k], cols[k]] = values[k], sorted by (row, col)."""

    rows: np.ndarray  # (n,) int32
    cols: np.ndarray  # (n,) int32
    values: np.ndarray  # (n,) float32
    vocab_size: int

    def dense(self) -> np.ndarray:
        """X as a (v, v) array (small vocabularies only)."""
        x = np.zeros((self.vocab_size, self.vocab_size), np.float64)
        np.add.at(x, (self.rows, self.cols), self.values)
        return x


class Result(NamedTuple):
    vectors: WordVectors  # W + W̃
    params: Params
    vocab: Vocab
    counts: np.ndarray
    cooccurrence: Cooccurrence
    history: list  # per epoch: epoch, loss (J / number of entries), seconds
    wall_s: float


class Checkpoint(NamedTuple):
    """Where a run stands after an epoch (`train`'s ``on_epoch``), enough to continue it (``resume``)."""

    params: Params  # NumPy arrays
    adagrad: AdaGradState  # NumPy arrays: the sums G
    epoch: int  # epochs done
    rng: dict  # the state of the host generator that shuffles the entries, after them
    history: list  # the rows of Result.history so far
    settings: dict  # `run_settings`: what the run's vectors depend on


# --------------------------------------------------------------------------------------------------
# Co-occurrence counts (host side)


def cooccurrence(sentences: Sentences, vocab: Vocab, *, window: int = 10, symmetric: bool = True,
                 distance_weighting: bool = True, chunk_words: int = 1_000_000) -> Cooccurrence:
    """The co-occurrence counts X of `sentences` over the words of `vocab` (others are dropped first).

    Read in chunks of about `chunk_words` words; each chunk's counts are summed into the total, so
    memory follows the number of distinct pairs, not the corpus length.
    """
    _checks.positive_int("window", window)
    _checks.positive_int("chunk_words", chunk_words)
    v = len(vocab)
    index = {w: i for i, w in enumerate(vocab.tokens)}
    keys = np.zeros(0, np.int64)
    vals = np.zeros(0, np.float64)
    ids: list[int] = []
    sid: list[int] = []
    s = 0

    def flush(keys, vals):
        a, b = np.asarray(ids, np.int64), np.asarray(sid, np.int64)
        new_k, new_v = [keys], [vals]
        for d in range(1, window + 1):
            same = b[d:] == b[:-d] if len(a) > d else np.zeros(0, bool)
            left, right = a[:-d][same], a[d:][same]  # `left` is d words before `right`
            w = np.full(len(left), 1.0 / d if distance_weighting else 1.0)
            new_k.append(right * v + left)  # X[right, left]: a word and a context word to its left
            new_v.append(w)
            if symmetric:
                new_k.append(left * v + right)
                new_v.append(w)
        k = np.concatenate(new_k)
        uniq, inv = np.unique(k, return_inverse=True)
        return uniq, np.bincount(inv.reshape(-1), weights=np.concatenate(new_v), minlength=len(uniq))

    for sentence in iter_sentences(sentences):
        known = [i for i in map(index.get, sentence) if i is not None]
        ids.extend(known)
        sid.extend([s] * len(known))
        s += 1
        if len(ids) >= chunk_words:
            keys, vals = flush(keys, vals)
            ids, sid = [], []
    if ids:
        keys, vals = flush(keys, vals)
    if len(keys) == 0:
        raise ValueError(f"no two vocabulary words occur within {window} words of each other in one sentence: "
                         f"the co-occurrence matrix is empty")
    return Cooccurrence((keys // v).astype(np.int32), (keys % v).astype(np.int32), vals.astype(np.float32), v)


# --------------------------------------------------------------------------------------------------
# Model


def weight(x, x_max: float = 100.0, alpha: float = 0.75):
    """f(x) = (x / x_max)^α below x_max, 1 above."""
    x = jnp.asarray(x)
    return jnp.where(x < x_max, (x / x_max) ** alpha, 1.0)


def loss(params: Params, i, j, x, *, x_max: float = 100.0, alpha: float = 0.75):
    """J over the entries (i, j, X_ij) given: Σ f(X_ij) (w_i·w̃_j + b_i + b̃_j − log X_ij)²."""
    _checks.integer("i", i)
    _checks.integer("j", j)
    diff = jnp.sum(params.W[i] * params.W_tilde[j], axis=-1) + params.b[i] + params.b_tilde[j] - jnp.log(x)
    return jnp.sum(weight(x, x_max, alpha) * diff ** 2)


def init(key, vocab_size: int, dim: int, *, dtype=jnp.float32) -> tuple[Params, AdaGradState]:
    """glove.c's initialisation: every parameter ~ Uniform(−0.5, 0.5) / e; AdaGrad sums at 1."""
    _checks.positive_int("vocab_size", vocab_size)
    _checks.positive_int("dim", dim)
    k = jax.random.split(key, 4)
    u = lambda kk, shape: (jax.random.uniform(kk, shape, dtype) - 0.5) / dim
    params = Params(u(k[0], (vocab_size, dim)), u(k[1], (vocab_size, dim)), u(k[2], (vocab_size,)),
                    u(k[3], (vocab_size,)))
    return params, AdaGradState(*(jnp.ones_like(p) for p in params))


def _step(params: Params, state: AdaGradState, i, j, x, *, config: StepOptions):
    """One batched AdaGrad step over entries (i, j, x); x = 0 marks padding. Returns J of the batch."""
    valid = x > 0
    logx = jnp.log(jnp.where(valid, x, 1.0))
    f = jnp.where(valid, weight(x, config.x_max, config.alpha), 0.0)
    wi, wj = params.W[i], params.W_tilde[j]
    diff = jnp.sum(wi * wj, axis=-1) + params.b[i] + params.b_tilde[j] - logx
    fdiff = config.lr * f * diff  # lr · ½ dJ/d(diff), glove.c's `fdiff *= eta`
    J = jnp.sum(f * diff ** 2)
    clip = lambda g: jnp.clip(g, -config.grad_clip, config.grad_clip)
    g_wi, g_wj = clip(fdiff[:, None] * wj), clip(fdiff[:, None] * wi)
    g_b = clip(fdiff)

    def adagrad(p, s, rows, g):  # glove.c: p −= g / √G (G as it was), then G += g², g already × lr
        return p.at[rows].add(-g / jnp.sqrt(s[rows])), s.at[rows].add(g * g)

    W, sW = adagrad(params.W, state.W, i, g_wi)
    Wt, sWt = adagrad(params.W_tilde, state.W_tilde, j, g_wj)
    b, sb = adagrad(params.b, state.b, i, g_b)
    bt, sbt = adagrad(params.b_tilde, state.b_tilde, j, g_b)
    return Params(W, Wt, b, bt), AdaGradState(sW, sWt, sb, sbt), J


@functools.partial(jax.jit, static_argnames=("config",), donate_argnums=(0, 1))
def _epoch(params, state, i, j, x, *, config: StepOptions):
    """One pass over entries arranged as (steps, batch)."""

    def body(carry, batch):
        params, state, total = carry
        params, state, J = _step(params, state, *batch, config=config)
        return (params, state, total + J), None

    (params, state, total), _ = jax.lax.scan(body, (params, state, jnp.zeros((), params.W.dtype)), (i, j, x))
    return params, state, total


def check_config(config: GloVeConfig) -> None:
    for name in ("dim", "window", "min_count", "epochs", "batch", "chunk_words"):
        _checks.positive_int(name, getattr(config, name))
    _checks.nonnegative_int("max_vocab", config.max_vocab)
    _checks.nonnegative_int("seed", config.seed)
    if config.max_vocab == 1:
        raise ValueError("`max_vocab` must be 0 (no cap) or at least 2 (GloVe needs 2 words); got 1")
    for name in ("x_max", "alpha"):
        if not getattr(config, name) > 0:
            raise ValueError(f"`{name}` must be positive; got {getattr(config, name)}")
    _checks.positive_finite("lr", config.lr)
    _checks.clip_norm("grad_clip", config.grad_clip)


def run_settings(config: GloVeConfig, vocab: Vocab, counts: np.ndarray, X: Cooccurrence) -> dict:
    """What a run's vectors depend on: the config's fields (less `chunk_words`, which changes only how X
    is counted) and a SHA-256 of the vocabulary, its counts (None: not given) and X."""
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(GloVeConfig) if f.name != "chunk_words"}
    return {**settings, "corpus": corpus_digest(vocab, counts, X.rows, X.cols, X.values)}


def train(sentences: Sentences, config: GloVeConfig = GloVeConfig(), *, log: Optional[Callable[[str], Any]] = None,
          vocab: Optional[Vocab] = None, counts: Optional[np.ndarray] = None,
          on_epoch: Optional[Callable[[Checkpoint], Any]] = None, resume: Optional[Checkpoint] = None) -> Result:
    """Count co-occurrences, then fit GloVe for `config.epochs` passes; same seed → same vectors (CPU).

    `on_epoch` gets a `Checkpoint` after each epoch; `resume`, a checkpoint of a run of the same corpus
    and config, continues that run (the co-occurrences are counted again and must be the same).
    """
    check_config(config)
    if vocab is None and counts is not None:
        raise ValueError("`counts` is given without `vocab`: pass `vocab` with them, or neither to count the corpus")
    t_start = time.perf_counter()
    if vocab is None:
        vocab, counts = build_vocab(sentences, min_count=config.min_count, max_vocab=config.max_vocab)
    v = len(vocab)
    if v < 2:
        raise ValueError(f"the vocabulary has {v} word(s); GloVe needs at least 2 (lower `min_count`?)")
    X = cooccurrence(sentences, vocab, window=config.window, symmetric=config.symmetric,
                     distance_weighting=config.distance_weighting, chunk_words=config.chunk_words)
    n = len(X.values)
    B = min(config.batch, n)
    steps = -(-n // B)
    pad = steps * B - n
    key = jax.random.PRNGKey(config.seed)
    params, state = init(jax.random.fold_in(key, 0), v, config.dim)
    rng = np.random.default_rng(config.seed)
    options = StepOptions(config.x_max, config.alpha, config.lr, config.grad_clip)
    history: list = []
    # hashing X costs a pass over it: only for runs that checkpoint or resume
    settings = run_settings(config, vocab, counts, X) if on_epoch is not None or resume is not None else None
    start = 0
    if resume is not None:
        check_checkpoint(resume, Checkpoint, settings, config.epochs)
        _checks.same_tree("resume.params", resume.params, params, "this vocabulary and dim")
        _checks.same_tree("resume.adagrad", resume.adagrad, state, "this vocabulary and dim")
        params = Params(*(jnp.asarray(a, jnp.float32) for a in resume.params))
        state = AdaGradState(*(jnp.asarray(a, jnp.float32) for a in resume.adagrad))
        rng.bit_generator.state = resume.rng
        history, start = list(resume.history), int(resume.epoch)
    for epoch in range(start, config.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        cols = [np.concatenate([a[order], np.zeros(pad, a.dtype)]).reshape(steps, B)
                for a in (X.rows, X.cols, X.values)]
        params, state, J = _epoch(params, state, *cols, config=options)
        row = {"epoch": epoch + 1, "loss": float(J) / n, "seconds": time.perf_counter() - t0}
        history.append(row)
        if log is not None:
            log(f"epoch {epoch + 1}/{config.epochs}: J / entries {row['loss']:.4f}")
        if on_epoch is not None:
            on_epoch(Checkpoint(Params(*map(np.asarray, params)), AdaGradState(*map(np.asarray, state)), epoch + 1,
                                rng.bit_generator.state, list(history), settings))
    vectors = WordVectors(vocab.tokens, np.asarray(params.W + params.W_tilde))
    return Result(vectors, params, vocab, counts, X, history, time.perf_counter() - t_start)
