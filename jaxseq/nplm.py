"""A neural probabilistic language model (Bengio, Ducharme, Vincent & Jauvin 2003) — the course's
first way to learn word embeddings: predict a word from its context, train everything, keep C.

    x = [C[w_1]; C[w_2]; ...; C[w_n]]          the context's embeddings, concatenated (n · e)
    a = tanh(x H + d)                          hidden layer (h units)
    y = b + a U  (+ x W with direct connections, the paper's optional term)
    P(target | context) = softmax(y)           over the whole vocabulary

Context kinds (the course's list; the last three are for learning embeddings, not a language model):

* ``"last"``:      the n words before the target (the language model of the paper);
* ``"both"``:      n words on each side of the target (2n context words);
* ``"last_word"``: only the word before the target (n = 1);
* ``"nearby"``:    one word drawn uniformly from the n words on either side (the skip-gram idea).

Only positions whose whole context lies inside their sentence are used. Words below `min_count`
(or past `max_vocab`) become ``"<unk>"``. The embedding C is a `jaxseq.embedding.Params` and the
output layer a `jaxseq.head.Params`; the optimiser is optax's Adam. ``train(..., on_epoch=f)`` hands
`f` a `Checkpoint` after every epoch and ``train(..., resume=checkpoint)`` continues it to the
vectors an uninterrupted run gives (bit for bit on a CPU with one device).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import serialization

from jaxseq import _checks, embedding, head, parallel
from jaxseq._ops import add_bias
from jaxseq._resume import check_checkpoint, corpus_digest
from jaxseq.typing import Array
from jaxseq.vocab import Vocab
from jaxseq.word2vec import Sentences, _count, iter_sentences
from jaxseq.word_vectors import WordVectors

__all__ = ["NPLMConfig", "Params", "Result", "Checkpoint", "CONTEXTS", "context_width", "init", "apply", "loss",
           "examples", "build_vocab", "check_config", "train"]

CONTEXTS = ("last", "both", "last_word", "nearby")
UNK = "<unk>"


@dataclasses.dataclass(frozen=True)
class NPLMConfig:
    """Hyperparameters of `train`."""

    context: str = "last"  # which words predict the target: last, both, last_word or nearby
    n: int = 4  # context words (per side for "both", the reach for "nearby")
    dim: int = 64  # e
    hidden: int = 128  # h
    direct: bool = False  # the paper's direct connections x W
    min_count: int = 5  # words seen fewer times become <unk>
    max_vocab: int = 10_000  # keep at most this many words, the most frequent
    epochs: int = 3  # passes over the corpus
    batch: int = 512  # examples per step
    lr: float = 1e-3  # Adam's learning rate
    valid_frac: float = 0.05  # the last sentences, held out to report a validation loss
    seed: int = 0  # the same seed gives the same vectors


class Params(NamedTuple):
    embedding: embedding.Params  # C: (v, e)
    H: Array  # (context width · e, h)
    d: Array  # (h,)
    head: head.Params  # U = w_ya (h, v), b = b_y (v,)
    W: Optional[Array]  # (context width · e, v) direct connections, or None


class Checkpoint(NamedTuple):
    """Where a run stands after an epoch (`train`'s ``on_epoch``), enough to continue it (``resume``)."""

    params: dict  # flax.serialization.to_state_dict of the Params (NumPy arrays)
    opt_state: dict  # the same of Adam's state
    epoch: int  # epochs done
    rng: dict  # the state of the host generator (examples, shuffling) after them
    history: list  # the rows of Result.history so far
    settings: dict  # the NPLMConfig's fields and a SHA-256 of the vocabulary and the examples


class Result(NamedTuple):
    vectors: WordVectors  # the rows of C (without <unk>)
    params: Params
    vocab: Vocab
    history: list  # per epoch: epoch, loss, valid_loss, valid_perplexity, seconds
    wall_s: float
    devices: int = 1  # how many devices each batch was split over (`jaxseq.parallel`)


def context_width(context: str, n: int) -> int:
    """Number of context words the model sees."""
    _checks.one_of("context", context, CONTEXTS)
    return {"last": n, "both": 2 * n, "last_word": 1, "nearby": 1}[context]


def init(key, vocab_size: int, width: int, *, dim: int, hidden: int, direct: bool = False,
         dtype=jnp.float32) -> Params:
    """C ~ N(0, 1/e) rows; H Glorot-uniform, d = 0; the output layer as `jaxseq.head.init`; W = 0."""
    for name, value in (("vocab_size", vocab_size), ("width", width), ("dim", dim), ("hidden", hidden)):
        _checks.positive_int(name, value)
    k_c, k_h, k_u = jax.random.split(key, 3)
    H = jax.nn.initializers.glorot_uniform()(k_h, (width * dim, hidden), dtype)
    return Params(embedding.init(k_c, vocab_size, dim, dtype=dtype), H, jnp.zeros((hidden,), dtype),
                  head.init(k_u, hidden, vocab_size, dtype=dtype),
                  jnp.zeros((width * dim, vocab_size), dtype) if direct else None)


def apply(params: Params, context: Array) -> Array:
    """Logits (..., v) for context ids (..., width)."""
    _checks.integer("context", context)
    x = embedding.lookup(params.embedding, context)  # (..., width, e)
    x = x.reshape(*x.shape[:-2], x.shape[-2] * x.shape[-1])
    _checks.last_axis("context", x, params.H.shape[0], "context width × embedding dim (flattened)")
    a = jnp.tanh(add_bias(x @ params.H, params.d))
    y = head.apply(params.head, a)
    return y if params.W is None else y + x @ params.W


def loss(params: Params, context: Array, target: Array, mask: Optional[Array] = None) -> Array:
    """Mean −log P(target | context) over the examples (where `mask` is true)."""
    _checks.integer("target", target)
    nll = optax.softmax_cross_entropy_with_integer_labels(apply(params, context), target)
    if mask is None:
        return jnp.mean(nll)
    m = mask.astype(nll.dtype)
    return jnp.sum(nll * m) / jnp.maximum(jnp.sum(m), 1.0)


def examples(ids: np.ndarray, sid: np.ndarray, context: str, n: int, rng: np.random.Generator):
    """(contexts (N, width), targets (N,)) from word ids with their sentence numbers."""
    _checks.one_of("context", context, CONTEXTS)
    _checks.positive_int("n", n)
    L = len(ids)
    pos = np.arange(L)
    if context in ("last", "last_word"):
        offsets = np.arange(-(n if context == "last" else 1), 0)
    elif context == "both":
        offsets = np.concatenate([np.arange(-n, 0), np.arange(1, n + 1)])
    else:
        offsets = np.concatenate([np.arange(-n, 0), np.arange(1, n + 1)])
    j = pos[:, None] + offsets[None, :]
    ok = ((j >= 0) & (j < L)).all(axis=1)
    jc = np.clip(j, 0, L - 1)
    ok &= (sid[jc] == sid[:, None]).all(axis=1)
    ctx, tgt = ids[jc[ok]], ids[ok]
    if context == "nearby":  # one of the 2n neighbours, uniformly (the whole window must fit)
        pick = rng.integers(0, 2 * n, size=len(tgt))
        ctx = ctx[np.arange(len(tgt)), pick][:, None]
    return ctx.astype(np.int32), tgt.astype(np.int32)


def _check_vocab_options(min_count: int, max_vocab: int) -> None:
    _checks.positive_int("min_count", min_count)
    _checks.nonnegative_int("max_vocab", max_vocab)
    if max_vocab == 1:
        raise ValueError("`max_vocab` must be 0 (no cap) or at least 2 (<unk> and one word); got 1")


def build_vocab(sentences: Sentences, *, min_count: int = 5, max_vocab: int = 10_000) -> Vocab:
    """``"<unk>"``, then the words seen at least `min_count` times, most frequent first (`max_vocab` in
    all, <unk> included, so at least 2; 0: no cap)."""
    _check_vocab_options(min_count, max_vocab)
    counts = _count(sentences)
    if not counts:
        raise ValueError("`sentences` is empty: no words to build a vocabulary from")
    ranked = [w for w, c in sorted(counts.items(), key=lambda wc: -wc[1]) if c >= min_count and w != UNK]
    if not ranked:
        top = max(counts.items(), key=lambda wc: wc[1])
        raise ValueError(f"`min_count`={min_count} is above every word count: the most frequent word "
                         f"{top[0]!r} appears {top[1]} times")
    return Vocab(tokens=(UNK, *ranked[: max_vocab - 1 if max_vocab else None]))


@functools.partial(jax.jit, static_argnames=("optimizer",), donate_argnums=(0, 1))
def _train_step(params, opt_state, context, target, mask, *, optimizer):
    value, grads = jax.value_and_grad(loss)(params, context, target, mask)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value


@jax.jit
def _eval_step(params, context, target, mask):
    nll = optax.softmax_cross_entropy_with_integer_labels(apply(params, context), target)
    return jnp.sum(nll * mask.astype(nll.dtype))


@functools.lru_cache(maxsize=None)
def _adam(lr: float) -> optax.GradientTransformation:
    return optax.adam(lr)  # one object per rate, so the jitted step compiles once per rate


def _padded(a: np.ndarray, size: int, fill=0) -> np.ndarray:
    pad = size - len(a)
    return a if pad == 0 else np.concatenate([a, np.full((pad,) + a.shape[1:], fill, a.dtype)])


def check_config(config: NPLMConfig) -> None:
    """Refuse a config `train` cannot run, naming the field."""
    _checks.one_of("context", config.context, CONTEXTS)
    for name in ("n", "dim", "hidden", "epochs", "batch"):
        _checks.positive_int(name, getattr(config, name))
    _check_vocab_options(config.min_count, config.max_vocab)
    _checks.nonnegative_int("seed", config.seed)
    if not 0 <= config.valid_frac < 1:
        raise ValueError(f"`valid_frac` must lie in [0, 1); got {config.valid_frac}")
    _checks.positive_finite("lr", config.lr)


def train(sentences: Sentences, config: NPLMConfig = NPLMConfig(), *,
          log: Optional[Callable[[str], Any]] = None, on_epoch: Optional[Callable[[Checkpoint], Any]] = None,
          resume: Optional[Checkpoint] = None) -> Result:
    """Fit the model on `sentences` (held in memory as ids), data-parallel over every local device
    (`jaxseq.parallel`); returns C as word vectors and a history. `on_epoch` gets a `Checkpoint` after
    each epoch; `resume`, a checkpoint of a run of the same corpus and config, continues that run."""
    check_config(config)
    t_start = time.perf_counter()
    vocab = build_vocab(sentences, min_count=config.min_count, max_vocab=config.max_vocab)
    ids, sid = [], []
    for s, sentence in enumerate(iter_sentences(sentences)):
        ids.append(vocab.encode(sentence))
        sid.append(np.full(len(sentence), s, np.int64))
    n_sent = len(ids)
    cut = n_sent - int(round(config.valid_frac * n_sent)) if n_sent > 1 else n_sent
    if cut < 1:
        raise ValueError(f"`valid_frac`={config.valid_frac} leaves no training sentence of the {n_sent}; lower it")
    rng = np.random.default_rng(config.seed)
    train_ids, train_sid = np.concatenate(ids[:cut]), np.concatenate(sid[:cut])
    width = context_width(config.context, config.n)
    x_tr, y_tr = examples(train_ids, train_sid, config.context, config.n, rng)
    if len(y_tr) == 0:
        raise ValueError(f"no sentence is long enough for a `{config.context}` context of n={config.n} words")
    if cut < n_sent:
        x_va, y_va = examples(np.concatenate(ids[cut:]), np.concatenate(sid[cut:]), config.context, config.n, rng)
    else:
        x_va, y_va = np.zeros((0, width), np.int32), np.zeros(0, np.int32)
    key = jax.random.PRNGKey(config.seed)
    params = init(key, len(vocab), width, dim=config.dim, hidden=config.hidden, direct=config.direct)
    optimizer = _adam(config.lr)
    opt_state = optimizer.init(params)
    # the batch split over every local device (one device: the jitted step itself); B examples a step,
    # in arrays of Bp rows (B rounded up to a multiple of the device count, the extra rows masked out)
    step = parallel.data_parallel(functools.partial(_train_step, optimizer=optimizer), batch_argnums=(2, 3, 4))
    n_dev = parallel.device_count(step)
    B = min(config.batch, len(y_tr))
    Bp = -(-B // n_dev) * n_dev
    history: list = []
    settings = None  # what the run's vectors depend on: only for runs that checkpoint or resume
    if on_epoch is not None or resume is not None:
        settings = {**{f.name: getattr(config, f.name) for f in dataclasses.fields(NPLMConfig)},
                    "corpus": corpus_digest(vocab, None, x_tr, y_tr, x_va, y_va)}
    first_epoch = 0
    if resume is not None:
        check_checkpoint(resume, Checkpoint, settings, config.epochs)
        restored = serialization.from_state_dict(params, resume.params)
        _checks.same_tree("resume.params", restored, params, "this vocabulary and config")
        params = jax.tree_util.tree_map(jnp.asarray, restored)
        opt_state = jax.tree_util.tree_map(jnp.asarray, serialization.from_state_dict(opt_state, resume.opt_state))
        rng.bit_generator.state = resume.rng
        history, first_epoch = list(resume.history), int(resume.epoch)
    for epoch in range(first_epoch, config.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(y_tr))
        total, count = 0.0, 0
        for start in range(0, len(order), B):
            idx = order[start:start + B]
            mask = _padded(np.ones(len(idx), bool), Bp, False)
            params, opt_state, value = step(params, opt_state, jnp.asarray(_padded(x_tr[idx], Bp)),
                                            jnp.asarray(_padded(y_tr[idx], Bp)), jnp.asarray(mask))
            total, count = total + value * len(idx), count + len(idx)
        row = {"epoch": epoch + 1, "loss": float(total) / count, "seconds": time.perf_counter() - t0}
        if len(y_va):
            nll = 0.0
            for start in range(0, len(y_va), B):
                sl = slice(start, start + B)
                mask = _padded(np.ones(len(y_va[sl]), bool), B, False)
                nll += float(_eval_step(params, jnp.asarray(_padded(x_va[sl], B)), jnp.asarray(_padded(y_va[sl], B)),
                                        jnp.asarray(mask)))
            row.update(valid_loss=nll / len(y_va), valid_perplexity=math.exp(nll / len(y_va)))
        history.append(row)
        if log is not None:
            valid = f", valid perplexity {row['valid_perplexity']:.1f}" if "valid_loss" in row else ""
            log(f"epoch {epoch + 1}/{config.epochs}: loss {row['loss']:.3f}{valid} ({row['seconds']:.1f} s)")
        if on_epoch is not None:
            state_dict = lambda tree: serialization.to_state_dict(jax.tree_util.tree_map(np.asarray, tree))
            on_epoch(Checkpoint(state_dict(params), state_dict(opt_state), epoch + 1, rng.bit_generator.state,
                                list(history), settings))
    C = np.asarray(params.embedding.E)
    vectors = WordVectors(vocab.tokens[1:], C[1:])
    return Result(vectors, params, vocab, history, time.perf_counter() - t_start, n_dev)
