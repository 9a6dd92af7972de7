"""word2vec (Mikolov et al. 2013): skip-gram and CBOW, batched on the device, the same code on CPU and GPU.

Two matrices: W_in (v, e), the word vectors kept at the end, and W_out, the output vectors (v, e),
or the inner nodes of a Huffman tree (v − 1, e) for the hierarchical softmax. An *example* is an
input — one context word (skip-gram) or the mean of the window's context vectors (CBOW) — and a
target word t. With h = W_in[c] (skip-gram) or h = mean_j W_in[c_j] (CBOW):

    negative sampling:      L = −log σ(u_t·h) − Σ_{k=1..K} log σ(−u_{n_k}·h),   n_k ~ P(w) ∝ count(w)^0.75
    hierarchical softmax:   L = −Σ_{nodes j on t's path} log σ((1 − 2 code_j) · u_j·h)
    full softmax:           L = −log softmax(W_out h)_t                  (small vocabularies only)

As word2vec.c, skip-gram uses the context word as input and the centre word as target (the
gradient is the same as the other way round, summed over a window). Corpus handling as word2vec.c
and gensim: words seen fewer than `min_count` times are dropped before windows are formed; each
occurrence of a word with count f is kept with probability (√(f / (s·N)) + 1) · s·N / f (s =
`sample`, N = total count; Mikolov et al.'s paper writes the discard probability as 1 − √(s·N/f));
each centre gets a window of b ~ Uniform{1..window} words on each side, within its sentence; the
learning rate falls linearly from `lr` towards 0 over the run (by corpus words read), floored at
`lr · min_lr_frac`, as in word2vec.c.

**Batched updates.** One step takes `batch` examples, computes the gradients of the rows it
touched, and adds them with ``.at[rows].add`` (sparse: a step costs O(batch · e), not O(v · e)).
A row hit k times in one step — "the" as a target, a frequent word as a negative — gets the sum
of its k gradients multiplied by ``1/√k`` (``row_scale="sqrt"``, the default for both matrices),
``1/k`` (``"mean"``) or 1 (``"sum"``, plain SGD); sequential SGD would apply those k updates one
after another, and at large batches the plain sum overshoots while the mean starves frequent words
(benchmarks/README.md, "What keeps quality at large batches"). The input and the output rows have their own rule
(`row_scale`, `output_row_scale`; k counts an example's negatives with their weights). The
examples of a step are drawn in random order from a chunk of the corpus: consecutive examples
share centres and topics, and batches taken in corpus order learn far less (WordSim353 ρ 0.16
against 0.51 on the enwiki sample at batch 1024). Measured on that sample (5 epochs, CPU):
batch 1024 at lr 0.1 gives ρ ≈ 0.51, batch 2048 at 0.11-0.15 ≈ 0.50-0.51 (the default: ≈ 10%
more words/s on a 2-core CPU), batch 4096 at 0.15 ≈ 0.52, batch 16,384 at 0.3 ≈ 0.50 (and
diverges at 0.5), where a naive trainer falls to ≈ 0.

Negatives: by default each example draws its own K (word2vec.c's estimator; K + 2 row reads and
writes per example); a draw that is the example's own target is skipped, as word2vec.c and gensim
skip it (weight 0). With ``neg_group=G`` each group of G examples shares ``neg_draws=D`` draws,
each weighted K / D: the same negative term in expectation, fewer row reads and writes, small
(G × e) @ (e × D) matmuls — but it costs quality: ρ 0.44 at G = 2 or 4, 0.40 at G = 64 on the
enwiki sample, against 0.51-0.52 without sharing.

**The CPU kernel.** On a CPU, skip-gram with negative sampling (and ``neg_group=1``) runs its step
as a native kernel by default (``kernel="auto"``; `jaxseq.word2vec_kernel`): the same update, to
rounding, with the rows changed in place instead of gathered into (b, 1 + K, e) arrays and
scatter-added back — 1.24-1.42× the words/s of the jitted step on the enwiki sample on a 2-core
CPU, and 1.18-1.34× gensim's with both cores (benchmarks/README.md). It is C++, built on first use
with the machine's compiler; without one, "auto" warns and keeps the jitted step (``kernel="xla"``),
which every other model, loss and device uses.

**Corpora larger than memory.** `sentences` is a path (one sentence a line, words separated by
whitespace), a list of sentences (token lists or strings), or a function returning a fresh
iterator of them. A corpus of at most `cache_words` words is read once, counted and encoded in the
same pass, and kept in memory; a larger one is read once to count the vocabulary, then once per
epoch, in chunks of about `chunk_words` words. Each chunk's examples (subsampling, windows,
shuffling) are built by one of two pipelines (`pipeline`): "host", NumPy in a background thread a few calls ahead of the
device (`jaxseq._prefetch`), so that it overlaps training — the choice on a CPU, where the device
step is the slower part; or "device", jitted code (`jaxseq.word2vec_pipeline`) that sends only the
chunk's word ids to the device (once, for a corpus kept in memory) — the choice on an accelerator,
whose steps would otherwise wait for a host that builds examples at ≈ 10-20 M/s on one core.
"auto" (the default) takes host on the CPU backend and device elsewhere. Both build the same
examples; only the random draws differ. A kept corpus is held as int32 ids and sentence numbers (8
bytes a word; with the device pipeline on the device, padded to a power of two: at most 16 bytes a
word) for the later epochs.

**Checkpoints.** ``train(..., on_epoch=f)`` hands `f` a `Checkpoint` after every epoch (the
params and where every random stream stands); ``train(..., resume=checkpoint)`` continues from it
to the vectors an uninterrupted run gives (bit for bit on a CPU).

**Reproducible.** The run is a function of the config and `seed`: the host draws come from
``numpy.random.default_rng(seed)``, the negatives from a counter-based hash of (seed, step, draw)
(`_bits`), and the device pipeline's draws from ``fold_in(fold_in(PRNGKey(seed), 2), chunk)``.
On CPU the same seed gives the same vectors bit for bit; GPU scatter-adds sum in an unspecified
order, so there the vectors agree only to rounding (XLA flag ``--xla_gpu_deterministic_ops``).
"""
from __future__ import annotations

import array
import collections
import contextlib
import dataclasses
import functools
import heapq
import itertools
import math
import operator
import os
import time
import warnings
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import _checks, word2vec_kernel
from jaxseq._files import not_utf8
from jaxseq._prefetch import prefetch
from jaxseq._resume import check_checkpoint, corpus_digest
from jaxseq.typing import Array
from jaxseq.vocab import Vocab
from jaxseq.word_vectors import WordVectors

__all__ = ["Word2VecConfig", "Params", "Result", "Tables", "Checkpoint", "train", "run_settings", "resolve_kernel", "build_vocab", "iter_sentences",
           "keep_probabilities", "alias_table", "huffman_tree", "init", "make_tables", "MODELS", "LOSSES"]

MODELS = ("skipgram", "cbow")
LOSSES = ("negative", "hierarchical", "softmax")
ROW_SCALES = ("sqrt", "mean", "sum")
PIPELINES = ("auto", "host", "device")
KERNELS = ("auto", "native", "xla")
MAX_SENTENCE = 10_000  # longer sentences are cut into pieces of this many words (gensim truncates them)

Sentences = Union[str, os.PathLike, Sequence, Callable[[], Iterable]]


@dataclasses.dataclass(frozen=True)
class Word2VecConfig:
    """Hyperparameters of `train`. The defaults are the settings benchmarked against gensim in
    benchmarks/README.md (skip-gram, negative sampling, dim 100, window 5, K = 5)."""

    model: str = "skipgram"  # "skipgram" or "cbow"
    loss: str = "negative"  # "negative" (sampling), "hierarchical" (softmax) or "softmax" (full)
    dim: int = 100  # e, the size of a word vector
    window: int = 5  # the largest window: each centre's is drawn from 1 .. window words a side
    negative: int = 5  # K, negatives per example
    neg_group: int = 1  # examples sharing one set of negative draws (1: word2vec.c, a fresh set per example)
    neg_draws: int = 0  # negatives drawn per group, each weighted K / neg_draws (0: = negative)
    sample: float = 1e-3  # s, the subsampling threshold of frequent words (0: none)
    min_count: int = 5  # words seen fewer times are dropped
    max_vocab: int = 0  # keep at most this many words, the most frequent (0: no cap)
    epochs: int = 5
    lr: float = 0.13  # the first learning rate, falling linearly towards 0 over the run
    min_lr_frac: float = 1e-4  # the floor of the learning rate, a fraction of lr
    batch: int = 2048  # examples per step
    row_scale: str = "sqrt"  # input rows hit k times in a step: "sqrt" (÷√k), "mean" (÷k), "sum"
    output_row_scale: str = "sqrt"  # the same for output rows
    steps_per_call: int = 32  # steps scanned inside one jitted call
    chunk_words: int = 1_000_000  # corpus words read (and examples built) at a time
    cache_words: int = 50_000_000  # corpora up to this size are read and encoded once, then kept as ids (0: never)
    pipeline: str = "auto"  # examples built by "host" NumPy or on the "device" (jaxseq.word2vec_pipeline); auto: host on CPU
    kernel: str = "auto"  # the step: "native" CPU kernel (jaxseq.word2vec_kernel) or "xla"; auto: native where it applies
    seed: int = 0  # the same seed gives the same vectors (bit for bit on a CPU)


class Params(NamedTuple):
    W_in: Array  # (v, e): the word vectors
    W_out: Array  # (v, e) output vectors, or (v - 1, e) Huffman inner nodes


class Tables(NamedTuple):
    """Device-side lookup tables: the alias table of P(w) ∝ count^0.75 and the Huffman paths."""

    alias_prob: Array  # (v,) float32
    alias_index: Array  # (v,) int32
    points: Array  # (v, depth) int32 inner-node ids, root first (zeros past the path)
    codes: Array  # (v, depth) float32 0/1
    path_mask: Array  # (v, depth) float32 1 on the path


class StepOptions(NamedTuple):
    """The part of the config a training step depends on (static under jit: one compilation per value)."""

    model: str
    loss: str
    negative: int
    neg_group: int
    neg_draws: int
    row_scale: str
    output_row_scale: str
    native: bool = False  # the update by jaxseq.word2vec_kernel (skip-gram, negative sampling, neg_group 1)

    @classmethod
    def of(cls, config: "Word2VecConfig") -> "StepOptions":
        return cls(*(getattr(config, f) for f in cls._fields[:-1]), resolve_kernel(config) == "native")


class Checkpoint(NamedTuple):
    """A run after `epoch` whole epochs, as `train` hands it to `on_epoch` and takes it back as `resume`."""

    params: Params  # NumPy arrays: W_in (v, dim), W_out
    epoch: int  # epochs done
    step: int  # steps done
    chunk: int  # corpus chunks read by the device pipeline, which draws per chunk (0 with the host one)
    rng: Optional[dict]  # the host pipeline's NumPy bit generator state (None with the device pipeline)
    history: list  # Result.history of the epochs done
    settings: dict  # what the run's numbers depend on (`run_settings`): a resume must match it


class Result(NamedTuple):
    vectors: WordVectors  # W_in's rows with their words, most frequent first
    params: Params
    vocab: Vocab
    counts: np.ndarray  # (v,) corpus counts of the vocabulary words
    history: list  # one dict per epoch: epoch, loss, examples, words, seconds, words_per_s
    words_per_s: float  # corpus words (before subsampling) × this call's epochs / training seconds
    wall_s: float


# --------------------------------------------------------------------------------------------------
# Corpus


def iter_sentences(sentences: Sentences, *, max_len: int = MAX_SENTENCE) -> Iterator[list[str]]:
    """One pass over `sentences` as token lists; sentences over `max_len` words are cut into pieces.

    A path is read line by line (UTF-8, words split on whitespace). A list holds token lists or
    strings (split on whitespace). A function is called for a fresh iterator. A one-shot iterator
    (a generator) is refused: training reads the corpus epochs + 1 times.
    """
    if isinstance(sentences, (str, os.PathLike)):
        path = os.fspath(sentences)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"`sentences` {path!r} is not a file (expected one sentence a line)")

        def lines():
            with open(path, encoding="utf-8") as f:
                try:
                    for line in f:
                        yield line.split()
                except UnicodeDecodeError as e:
                    raise not_utf8(path, e) from None

        it: Iterable = lines()
    elif callable(sentences):
        it = sentences()
    elif isinstance(sentences, Iterator):
        raise TypeError("`sentences` must be re-iterable (training reads it once per epoch and once for the "
                        "vocabulary); got a one-shot iterator. Pass a list, a path, or a function returning "
                        "a fresh iterator")
    elif isinstance(sentences, Iterable):
        it = sentences
    else:
        raise TypeError(f"`sentences` must be a path, a list of sentences or a function returning an iterator; "
                        f"got {type(sentences).__name__}")
    for s in it:
        tokens = s.split() if isinstance(s, str) else list(s)
        for i in range(0, len(tokens), max_len):
            yield tokens[i:i + max_len]


def build_vocab(sentences: Sentences, *, min_count: int = 5, max_vocab: int = 0) -> tuple[Vocab, np.ndarray]:
    """The vocabulary of a corpus (one pass) and its words' counts.

    Words seen at least `min_count` times, most frequent first, ties by first appearance; at most
    `max_vocab` of them if positive. No special tokens.
    """
    counts = _count(sentences)
    return _vocab_from_counts(list(counts), np.fromiter(counts.values(), np.int64, len(counts)), min_count, max_vocab)


def _count(sentences: Sentences) -> collections.Counter:
    """{word: count} in order of first appearance."""
    counts: collections.Counter = collections.Counter()
    for s in iter_sentences(sentences):
        counts.update(s)
    return counts


_SCAN_BLOCK = 1 << 20  # words counted (and kept or dropped) at a time by `_scan`


class _Scan(NamedTuple):
    """A corpus read once (`_scan`)."""
    words: list  # every distinct word, in order of first appearance
    counts: np.ndarray  # (n_words,) int64: how often each appears
    total: int  # words in the corpus
    ids: Optional[np.ndarray]  # (total,) int32: the corpus as indices into `words` (None: over keep_words)
    lengths: Optional[np.ndarray]  # (sentences,) int64: words per sentence (None likewise)


def _scan(sentences: Sentences, keep_words: int) -> _Scan:
    """Count the words of `sentences` in one pass, keeping the corpus itself as word numbers while it
    has at most `keep_words` words. A new word gets the next number (a defaultdict whose factory is a
    counter), and a sentence is numbered by one C-level `itemgetter` call (half the time of a Python
    loop or `map`), so the pass costs about what counting alone did and encoding a kept corpus later is
    one NumPy gather."""
    numbers = collections.defaultdict(itertools.count().__next__)
    counts = np.zeros(0, np.int64)
    kept: Optional[list] = []
    lengths: Optional[array.array] = array.array("q")
    total = 0
    block: list = []  # sentences' word numbers (int32 arrays), about _SCAN_BLOCK words
    in_block = 0

    def flush() -> None:
        nonlocal counts, kept, lengths, total, block, in_block
        ids = np.concatenate(block) if block else np.zeros(0, np.int32)
        block, in_block = [], 0
        c = np.bincount(ids, minlength=len(numbers))
        counts = np.concatenate([counts, np.zeros(len(c) - len(counts), np.int64)]) + c
        total += len(ids)
        if kept is not None:
            kept.append(ids)
            if total > keep_words:
                kept = lengths = None

    for sentence in iter_sentences(sentences):
        n = len(sentence)
        if n > 1:
            block.append(np.array(operator.itemgetter(*sentence)(numbers), np.int32))
        elif n == 1:
            block.append(np.array([numbers[sentence[0]]], np.int32))
        in_block += n
        if lengths is not None:
            lengths.append(n)
        if in_block >= _SCAN_BLOCK:
            flush()
    flush()
    if kept is None:
        return _Scan(list(numbers), counts, total, None, None)
    return _Scan(list(numbers), counts, total, np.concatenate(kept), np.frombuffer(lengths, np.int64))


def _vocab_from_counts(words: Sequence[str], counts: np.ndarray, min_count: int, max_vocab: int
                       ) -> tuple[Vocab, np.ndarray]:
    """(vocabulary, its counts) from `words` in order of first appearance and their `counts`."""
    _checks.positive_int("min_count", min_count)
    _checks.nonnegative_int("max_vocab", max_vocab)
    if not len(words):
        raise ValueError("`sentences` is empty: no words to build a vocabulary from")
    odd = next((w for w in words if not isinstance(w, str)), None)  # the distinct words: a quick look
    if odd is not None:
        raise TypeError(f"`sentences` must hold words as strings (token lists, or strings split on whitespace); "
                        f"got {odd!r} ({type(odd).__name__})")
    ranked = np.argsort(-counts, kind="stable")  # stable: ties keep first appearance
    kept = ranked[counts[ranked] >= min_count]
    if not len(kept):
        raise ValueError(f"`min_count`={min_count} is above every word count: the most frequent word "
                         f"{words[ranked[0]]!r} appears {counts[ranked[0]]} times")
    if max_vocab:
        kept = kept[:max_vocab]
    return Vocab(tokens=tuple(words[i] for i in kept)), counts[kept]


class _Encoded(NamedTuple):
    """A kept corpus in vocabulary ids (`_encode`), cut into chunks by `_split`."""
    ids: np.ndarray  # (known words,) int32: the ids of the words in the vocabulary, in corpus order
    known: np.ndarray  # (sentences,) int64: how many of each sentence's words those are
    lengths: np.ndarray  # (sentences,) int64: the words of each sentence


def _encode(scan: _Scan, index: dict) -> _Encoded:
    """A kept corpus (`_scan`) in `index`'s ids; unknown words are dropped, as `_chunks` does."""
    to_id = np.asarray([index.get(w, -1) for w in scan.words], np.int32)
    ids = to_id[scan.ids]
    is_known = ids >= 0
    known_through = np.concatenate([[0], np.cumsum(is_known, dtype=np.int64)])  # known words in ids[:i]
    known = np.diff(known_through[np.concatenate([[0], np.cumsum(scan.lengths)])])
    return _Encoded(ids[is_known], known, scan.lengths)


def _split(corpus: _Encoded, chunk_words: int, first: int = 0) -> list:
    """The chunks `_chunks` reads from the same corpus: (ids, sentence numbers within the chunk, corpus
    words read) for runs of whole sentences of at least `chunk_words` known words (the first `first`,
    if positive), the last run whatever is left."""
    known_before = np.concatenate([[0], np.cumsum(corpus.known)])  # known words before each sentence
    words_before = np.concatenate([[0], np.cumsum(corpus.lengths)])
    n, out, a = len(corpus.known), [], 0
    size = first if first > 0 else chunk_words
    while a < n:
        # the chunk ends after the first sentence b at which it holds `size` known words (size ≥ 1)
        b = min(int(np.searchsorted(known_before, known_before[a] + size, side="left")), n)
        lo, hi = known_before[a], known_before[b]
        sid = np.repeat(np.arange(b - a, dtype=np.int32), corpus.known[a:b])
        out.append((corpus.ids[lo:hi], sid, int(words_before[b] - words_before[a])))
        a, size = b, chunk_words
    return out


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """P(keep an occurrence) = (√(f/(s·N)) + 1) · s·N/f, capped at 1 (word2vec.c, gensim); all 1 if s = 0."""
    counts = np.asarray(counts, np.float64)
    if sample <= 0:
        return np.ones(len(counts))
    threshold = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)


def alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for sampling i with probability p[i] in O(1): draw j uniform in [0, v)
    and u in [0, 1); answer j if u < prob[j], else alias[j] (Vose's construction)."""
    p = np.asarray(p, np.float64)
    n = len(p)
    q = p * (n / p.sum())
    prob = np.ones(n)
    alias = np.arange(n, dtype=np.int64)
    small = [i for i in range(n) if q[i] < 1.0]
    large = [i for i in range(n) if q[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = q[s], g
        q[g] -= 1.0 - q[s]
        (small if q[g] < 1.0 else large).append(g)
    return prob.astype(np.float32), alias.astype(np.int32)


def huffman_tree(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Huffman tree of the counts (word2vec.c's hierarchical softmax).

    Returns points (v, depth) — the inner nodes (0 .. v − 2, root v − 2) from the root down to each
    word — codes (v, depth) — 0/1, the branch taken at each of them — and lengths (v,). Frequent
    words get short paths. Needs v ≥ 2.
    """
    v = len(counts)
    if v < 2:
        raise ValueError(f"a Huffman tree needs at least 2 words; got {v}")
    heap = [(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    parent = np.zeros(2 * v - 1, np.int64)
    branch = np.zeros(2 * v - 1, np.int8)
    for node in range(v, 2 * v - 1):
        c1, a = heapq.heappop(heap)
        c2, b = heapq.heappop(heap)
        parent[a] = parent[b] = node
        branch[b] = 1
        heapq.heappush(heap, (c1 + c2, node))
    paths, codes = [], []
    root = 2 * v - 2
    for w in range(v):
        pts, cds, node = [], [], w
        while node != root:
            cds.append(int(branch[node]))
            node = int(parent[node])
            pts.append(node - v)
        paths.append(pts[::-1])
        codes.append(cds[::-1])
    depth = max(len(p) for p in paths)
    points = np.zeros((v, depth), np.int32)
    code_arr = np.zeros((v, depth), np.float32)
    lengths = np.asarray([len(p) for p in paths], np.int32)
    for w in range(v):
        points[w, : lengths[w]] = paths[w]
        code_arr[w, : lengths[w]] = codes[w]
    return points, code_arr, lengths


def make_tables(counts: np.ndarray, *, hierarchical: bool = False) -> Tables:
    prob, alias = alias_table(np.asarray(counts, np.float64) ** 0.75)
    if hierarchical:
        points, codes, lengths = huffman_tree(counts)
        mask = (np.arange(points.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
    else:
        points, codes, mask = (np.zeros((len(counts), 1), t) for t in (np.int32, np.float32, np.float32))
    return Tables(jnp.asarray(prob), jnp.asarray(alias), jnp.asarray(points), jnp.asarray(codes), jnp.asarray(mask))


def init(key, vocab_size: int, dim: int, *, loss: str = "negative", dtype=jnp.float32) -> Params:
    """word2vec.c's initialisation: W_in ~ Uniform(−0.5, 0.5) / e, W_out = 0."""
    _checks.positive_int("vocab_size", vocab_size)
    _checks.positive_int("dim", dim)
    _checks.one_of("loss", loss, LOSSES)
    w_in = (jax.random.uniform(key, (vocab_size, dim), dtype) - 0.5) / dim
    rows = vocab_size - 1 if loss == "hierarchical" else vocab_size
    return Params(w_in, jnp.zeros((rows, dim), dtype))


def _pad_columns(params: Params, multiple: int = 8) -> Params:
    """W_in and W_out with zero columns added up to a multiple of `multiple`: rows of e = 100 floats
    took ≈ 15% longer to gather and scatter than rows of 104 on the CPU. The added columns stay
    exactly zero in training (h and every row update are zero there) and `train` cuts them off."""
    e = params.W_in.shape[1]
    pad = -e % multiple
    return Params(*(jnp.pad(w, ((0, 0), (0, pad))) for w in params))


# --------------------------------------------------------------------------------------------------
# Examples (host side)


def _examples(ids: np.ndarray, sid: np.ndarray, keep_p: np.ndarray, config: Word2VecConfig,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, m) (−1 = none) and targets (n,) of one chunk, subsampled and windowed, in corpus order.

    `ids` are the chunk's word ids, `sid` their sentence numbers. Skip-gram: m = 1, one example per
    (centre, context) pair; CBOW: m = 2 · window, one example per centre with at least one context.
    """
    if config.sample > 0:
        keep = rng.random(len(ids)) < keep_p[ids]
        ids, sid = ids[keep], sid[keep]
    n, w = len(ids), config.window
    reach = rng.integers(1, w + 1, size=n)  # the shrunk window of each centre
    offsets = [o for o in range(-w, w + 1) if o != 0]

    def pairs(o):
        """The centres (a slice of positions) whose context o away exists, and which of them use it."""
        lo = max(0, -o)
        hi = max(lo, min(n, n - o))  # centres i in [lo, hi) have i + o in [0, n)
        centre, context = slice(lo, hi), slice(lo + o, hi + o)
        return centre, context, (reach[centre] >= abs(o)) & (sid[context] == sid[centre])

    if config.model == "skipgram":
        xs, ys = [], []
        for o in offsets:
            centre, context, ok = pairs(o)
            xs.append(ids[context][ok])
            ys.append(ids[centre][ok])
        x = np.concatenate(xs).astype(np.int32)
        return x.reshape(-1, 1), np.concatenate(ys).astype(np.int32)
    ctx = np.full((n, len(offsets)), -1, np.int32)
    for k, o in enumerate(offsets):
        centre, context, ok = pairs(o)
        ctx[centre, k] = np.where(ok, ids[context], -1)
    has = (ctx >= 0).any(axis=1)
    return ctx[has], ids[has].astype(np.int32)


# --------------------------------------------------------------------------------------------------
# The step (device side)


def _row_scale(k, how: str):
    k = jnp.maximum(k, 1.0)
    if how == "sqrt":
        return jax.lax.rsqrt(k)
    if how == "mean":
        return 1.0 / k
    return jnp.ones_like(k)


def _mix32(x: Array) -> Array:
    """A bijective hash of uint32 words (Wellons' "lowbias32": xor-shifts and two odd multiplies)."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def _bits(key: Array, step: Array, shape) -> Array:
    """32 random bits for each draw of one step: a counter-based hash of (key (2,) uint32, step, the
    draw's index i), r_i = mix(mix(i + s₁) ⊕ s₂) with per-step words s₁, s₂ — distinct within a step,
    and the same (key, step) gives the same bits. Drawn this way, not with `jax.random`, because
    threefry is a rolled loop on the CPU that took ≈ 10% of a step's time; the negatives only need
    what word2vec.c's linear congruential generator gives them."""
    s1 = _mix32(key[0] ^ _mix32(key[1] ^ _mix32(step.astype(jnp.uint32))))
    s2 = _mix32(s1 ^ jnp.uint32(0x9E3779B9))
    i = jax.lax.iota(jnp.uint32, math.prod(shape)).reshape(shape)
    return _mix32(_mix32(i + s1) ^ s2)


def _sample(key: Array, step: Array, tables: Tables, shape) -> Array:
    """Draws from P(w) ∝ count^0.75 with the alias table, both parts from one 32-bit random r per draw
    (`_bits`): j = r mod v and u = (r div v) / (2³² / v) — uniform to within v / 2³² (2e-4 at v = 10⁶)."""
    v = tables.alias_prob.shape[0]
    r = _bits(key, step, shape)
    j = (r % jnp.uint32(v)).astype(jnp.int32)
    u = ((r // jnp.uint32(v)).astype(jnp.float32) + 0.5) * (v / 2.0 ** 32)
    return jnp.where(u < tables.alias_prob[j], j, tables.alias_index[j])


def _step(params: Params, tables: Tables, key, step, x, y, lr, *, config: StepOptions):
    """Step number `step` of a run: one batched SGD step on examples x (b, m) → y (b,); returns
    (params, summed loss, n examples). `key` (2,) uint32 and `step` seed the negatives."""
    W_in, W_out = params
    v, e = W_in.shape
    valid = (y >= 0).astype(W_in.dtype)
    xmask = (x >= 0).astype(W_in.dtype) * valid[:, None]  # (b, m)
    x0, y0 = jnp.maximum(x, 0), jnp.maximum(y, 0)
    rows = W_in[x0]  # (b, m, e)
    n_in = jnp.maximum(xmask.sum(axis=1), 1.0)  # contexts per example
    h = jnp.einsum("bm,bme->be", xmask, rows) / n_in[:, None] if x.shape[1] > 1 else rows[:, 0]
    out_idx, out_grad, out_hits = [], [], []

    if config.loss == "negative" and config.neg_group == 1:  # word2vec.c: K fresh negatives per example
        D = config.neg_draws or config.negative
        neg = _sample(key, step, tables, (y.shape[0], D))
        outs = jnp.concatenate([y0[:, None], neg], axis=1)  # (b, 1 + D): the target, then the negatives
        label = (jnp.arange(1 + D) == 0).astype(W_in.dtype)[None, :]
        weight = jnp.where(label > 0, 1.0, config.negative / D) * valid[:, None]  # (b, 1 + D)
        weight = jnp.where((label == 0) & (outs == y0[:, None]), 0.0, weight)  # a draw of the target: skipped
        if config.native:  # the same update by the CPU kernel, rows changed in place (skip-gram: m = 1)
            W_in, W_out, loss = word2vec_kernel.sgns_step(W_in, W_out, x0[:, 0], xmask[:, 0], outs, weight, lr,
                                                          row_scale=config.row_scale,
                                                          output_row_scale=config.output_row_scale)
            return Params(W_in, W_out), loss, valid.sum()
        U = W_out[outs]  # (b, 1 + D, e)
        s = jnp.einsum("be,bke->bk", h, U)
        g = (jax.nn.sigmoid(s) - label) * weight
        loss = -jnp.sum(jax.nn.log_sigmoid(jnp.where(label > 0, s, -s)) * weight)
        dh = jnp.einsum("bk,bke->be", g, U)
        out_idx.append(outs.reshape(-1))
        out_grad.append((g[:, :, None] * h[:, None, :]).reshape(-1, e))
        out_hits.append(weight.reshape(-1))
    elif config.loss == "negative":  # groups of G examples share D draws
        u = W_out[y0]
        sp = jnp.sum(h * u, axis=-1)
        gp = (jax.nn.sigmoid(sp) - 1.0) * valid
        loss = -jnp.sum(jax.nn.log_sigmoid(sp) * valid)
        dh = gp[:, None] * u
        out_idx.append(y0)
        out_grad.append(gp[:, None] * h)
        out_hits.append(valid)
        b, G = y.shape[0], config.neg_group
        D = config.neg_draws or config.negative
        neg = _sample(key, step, tables, (b // G, D))  # each group of G examples shares D draws
        N = W_out[neg]  # (b/G, D, e)
        weight = config.negative / D
        hg = h.reshape(b // G, G, e)
        # (b/G, G, D): example i of a group weighs draw d, unless that draw is its own target
        vg = (weight * valid).reshape(b // G, G, 1) * (neg[:, None, :] != y0.reshape(b // G, G, 1))
        sn = jnp.einsum("gie,gde->gid", hg, N)  # (b/G, G, D)
        gn = jax.nn.sigmoid(sn) * vg
        loss = loss - jnp.sum(jax.nn.log_sigmoid(-sn) * vg)
        dh = dh + jnp.einsum("gid,gde->gie", gn, N).reshape(b, e)
        out_idx.append(neg.reshape(-1))
        out_grad.append(jnp.einsum("gid,gie->gde", gn, hg).reshape(-1, e))
        out_hits.append(jnp.sum(vg, axis=1).reshape(-1))
    elif config.loss == "hierarchical":
        pts, codes = tables.points[y0], tables.codes[y0]  # (b, d)
        m = tables.path_mask[y0] * valid[:, None]
        U = W_out[pts]  # (b, d, e)
        s = jnp.einsum("be,bde->bd", h, U)
        g = (jax.nn.sigmoid(s) - (1.0 - codes)) * m  # d(−log σ((1 − 2 code) s)) / ds
        loss = -jnp.sum(jax.nn.log_sigmoid((1.0 - 2.0 * codes) * s) * m)
        dh = jnp.einsum("bd,bde->be", g, U)
        out_idx.append(pts.reshape(-1))
        out_grad.append((g[:, :, None] * h[:, None, :]).reshape(-1, e))
        out_hits.append(m.reshape(-1))
    else:  # full softmax: every output row is touched by every example
        logits = h @ W_out.T  # (b, v)
        logp = jax.nn.log_softmax(logits, axis=-1)
        p = jnp.exp(logp)
        onehot = jax.nn.one_hot(y0, v, dtype=W_in.dtype)
        g = (p - onehot) * valid[:, None]
        loss = -jnp.sum(jnp.sum(logp * onehot, axis=-1) * valid)
        dh = g @ W_out
        W_out = W_out - lr * _row_scale(valid.sum(), config.output_row_scale) * (g.T @ h)

    if out_idx:
        idx = jnp.concatenate(out_idx)
        grad = jnp.concatenate(out_grad)
        hits = jnp.zeros(W_out.shape[0], W_in.dtype).at[idx].add(jnp.concatenate(out_hits))
        W_out = W_out.at[idx].add(-lr * grad * _row_scale(hits, config.output_row_scale)[idx][:, None])

    # input rows: each of an example's inputs gets dh / (number of inputs) (CBOW averages them)
    flat = x0.reshape(-1)
    gin = (dh / n_in[:, None])[:, None, :] * xmask[:, :, None]  # (b, m, e)
    hits_in = jnp.zeros(v, W_in.dtype).at[flat].add(xmask.reshape(-1))
    W_in = W_in.at[flat].add(-lr * gin.reshape(-1, e) * _row_scale(hits_in, config.row_scale)[flat][:, None])
    return Params(W_in, W_out), loss, valid.sum()


@functools.partial(jax.jit, static_argnames=("config",), donate_argnums=(0,))
def _run(params: Params, tables: Tables, key, step0, xs, ys, lrs, *, config: StepOptions):
    """Scan `_step` over the leading axis of xs (s, b, m), ys (s, b), lrs (s,)."""

    def body(carry, batch):
        params, loss, n, step = carry
        x, y, lr = batch
        params, l, c = _step(params, tables, key, step, x, y, lr, config=config)
        return (params, loss + l, n + c, step + 1), None

    zero = jnp.zeros((), params.W_in.dtype)
    (params, loss, n, _), _ = jax.lax.scan(body, (params, zero, zero, step0), (xs, ys, lrs))
    return params, loss, n


# --------------------------------------------------------------------------------------------------
# Training


def check_config(config: Word2VecConfig) -> None:
    _checks.nonnegative_int("seed", config.seed)
    if config.max_vocab == 1:
        raise ValueError("`max_vocab` must be 0 (no cap) or at least 2 (word2vec needs 2 words); got 1")
    _checks.one_of("model", config.model, MODELS)
    _checks.one_of("loss", config.loss, LOSSES)
    _checks.one_of("row_scale", config.row_scale, ROW_SCALES)
    _checks.one_of("output_row_scale", config.output_row_scale, ROW_SCALES)
    _checks.one_of("pipeline", config.pipeline, PIPELINES)
    if config.neg_draws < 0:
        raise ValueError(f"`neg_draws` must be >= 0 (0: the same as `negative`); got {config.neg_draws}")
    if config.batch % config.neg_group:
        raise ValueError(f"`batch` must be a multiple of `neg_group`; got batch={config.batch}, "
                         f"neg_group={config.neg_group}")
    for name in ("dim", "window", "negative", "neg_group", "min_count", "epochs", "batch",
                 "steps_per_call", "chunk_words"):
        _checks.positive_int(name, getattr(config, name))
    if config.cache_words < 0:
        raise ValueError(f"`cache_words` must be >= 0 (0: never keep the corpus in memory); got {config.cache_words}")
    if config.max_vocab < 0:
        raise ValueError(f"`max_vocab` must be >= 0 (0: no cap); got {config.max_vocab}")
    if not config.sample >= 0:
        raise ValueError(f"`sample` must be >= 0 (0: no subsampling); got {config.sample}")
    _checks.one_of("kernel", config.kernel, KERNELS)
    _checks.positive_finite("lr", config.lr)
    if not 0 <= config.min_lr_frac <= 1:
        raise ValueError(f"`min_lr_frac` must lie in [0, 1]; got {config.min_lr_frac}")


def _chunks(sentences: Sentences, index: dict, chunk_words: int, first: int = 0
            ) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """(ids, sentence numbers, corpus words read) for successive chunks of about `chunk_words` words,
    the first of about `first` words if positive (whole sentences each)."""
    ids: list[int] = []
    sid: list[int] = []
    read, s = 0, 0
    size = first if first > 0 else chunk_words
    get = index.get
    for sentence in iter_sentences(sentences):
        read += len(sentence)
        known = [i for i in map(get, sentence) if i is not None]
        ids.extend(known)
        sid.extend([s] * len(known))
        s += 1
        if len(ids) >= size:
            yield np.asarray(ids, np.int32), np.asarray(sid, np.int32), read
            ids, sid, read, s = [], [], 0, 0
            size = chunk_words
    if ids or read:
        yield np.asarray(ids, np.int32), np.asarray(sid, np.int32), read


def train(sentences: Sentences, config: Word2VecConfig = Word2VecConfig(), *, vocab: Optional[Vocab] = None,
          counts: Optional[np.ndarray] = None, log: Optional[Callable[[str], Any]] = None,
          progress: bool = False, on_epoch: Optional[Callable[[Checkpoint], Any]] = None,
          resume: Optional[Checkpoint] = None) -> Result:
    """Train word2vec on `sentences` (see the module docstring); returns the vectors and a history.

    `vocab` and `counts` (from `build_vocab`) replace the vocabulary and counts of `sentences`. `log`
    gets one line per epoch. `on_epoch` gets a `Checkpoint` after each epoch (the host then waits for
    the device once an epoch); `resume`, a checkpoint of a run of the same corpus and config, continues
    that run.
    Result.words_per_s and wall_s count this call's epochs.
    """
    check_config(config)
    if vocab is None and counts is not None:
        raise ValueError("`counts` is given without `vocab`: pass both (from `build_vocab`), or neither to count "
                         "the corpus")
    if vocab is not None and (counts is None or len(counts) != len(vocab)):
        raise ValueError(f"`counts` must give the count of each of the {len(vocab)} words of `vocab`; "
                         f"got {None if counts is None else len(counts)}")
    scan = _scan(sentences, config.cache_words)  # the one pass before training
    if vocab is None:
        vocab, counts = _vocab_from_counts(scan.words, scan.counts, config.min_count, config.max_vocab)
    elif scan.total == 0:
        raise ValueError("`sentences` is empty: no words to train on")
    total_words = scan.total
    v = len(vocab)
    if v < 2:
        raise ValueError(f"the vocabulary has {v} word(s) ({vocab.tokens!r}); word2vec needs at least 2 "
                         f"(lower `min_count`?)")
    index = {w: i for i, w in enumerate(vocab.tokens)}
    if not any(w in index for w in scan.words):
        raise ValueError(f"no word of `sentences` is in `vocab` ({v} words, e.g. {vocab.tokens[:3]!r}): nothing to "
                         f"train on")
    # a corpus of at most cache_words words is kept, encoded, for every epoch; a larger one is read again
    corpus = None if scan.ids is None else _encode(scan, index)
    del scan
    if corpus is not None and not np.any(corpus.known >= 2):
        raise ValueError(_NO_EXAMPLES)
    keep_p = keep_probabilities(counts, config.sample)
    tables = make_tables(counts, hierarchical=config.loss == "hierarchical")
    key = jax.random.PRNGKey(config.seed)
    params = init(jax.random.fold_in(key, 0), v, config.dim, loss=config.loss)
    step_key = jax.random.fold_in(key, 1)
    S = config.steps_per_call
    run = functools.partial(_run, config=StepOptions.of(config))
    host_rng = np.random.default_rng(config.seed)
    settings = run_settings(config, vocab, counts, total_words)
    history: list = []
    step, start_epoch, start_chunk = 0, 0, 0
    if resume is not None:
        check_checkpoint(resume, Checkpoint, settings, config.epochs)
        params = _resumed_params(resume, params)
        history, step = list(resume.history), int(resume.step)
        start_epoch, start_chunk = int(resume.epoch), int(resume.chunk)
        if resume.rng is not None:
            host_rng.bit_generator.state = resume.rng
    params = _pad_columns(params)

    t_start = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_words * config.epochs, initial=total_words * start_epoch, unit="word",
                   unit_scale=True, dynamic_ncols=True)
    pending: list = []  # epochs whose losses are still on the device (read one epoch late: the
    last_done = time.perf_counter()  # host prepares epoch e + 1 while the device runs epoch e)

    def finish(record) -> None:
        nonlocal last_done
        epoch, ep_loss, ep_n, lr_end = record
        loss_sum = float(sum(float(l) for l in ep_loss))
        n_ex = float(sum(float(c) for c in ep_n))
        now = time.perf_counter()
        seconds, last_done = now - last_done, now
        row = {"epoch": epoch + 1, "loss": loss_sum / n_ex if n_ex else float("nan"), "examples": int(n_ex),
               "words": total_words,
               "seconds": seconds, "words_per_s": total_words / max(seconds, 1e-9), "lr_end": lr_end}
        history.append(row)
        if log is not None:
            log(f"epoch {epoch + 1}/{config.epochs}: loss {row['loss']:.4f} per example, {int(n_ex):,} examples, "
                f"{row['words_per_s']:,.0f} words/s")

    def epoch_done(params, step, epoch, position) -> None:
        W = Params(*(np.asarray(w[:, : config.dim]) for w in params))
        on_epoch(Checkpoint(W, epoch + 1, step, position.get("chunk", 0), position.get("rng"), list(history),
                            settings))

    if settings["pipeline"] == "host":
        host = _host_calls(sentences, corpus, index, keep_p, config, total_words, host_rng, start_epoch)
        # about 2²⁰ examples ready ahead (16 calls at the defaults): enough to cover building the next
        # chunk's examples at an epoch's end, where a queue of 8 calls of 1024 left the device idle ≈ 10%
        # of an epoch
        depth = max(2, min(64, (1 << 20) // (S * config.batch)))
        items: Iterable = _bind_host_calls(prefetch(host, depth=depth), run, S)
    else:
        items = _device_calls(sentences, corpus, index, keep_p, config, total_words, jax.random.fold_in(key, 2),
                              start_epoch, start_chunk)
    del corpus  # the pipeline holds it while it needs it
    with contextlib.closing(items):  # stops the background producer if training fails
        params, step = _consume(items, params, tables, step_key, step, finish, pending, bar,
                                None if on_epoch is None else epoch_done)
    if pending:
        finish(pending.pop())
    if history and not any(row["examples"] for row in history):
        raise ValueError(_NO_EXAMPLES)
    params = Params(*(w[:, : config.dim] for w in params))
    jax.block_until_ready(params)
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - t_start
    vectors = WordVectors(vocab.tokens, np.asarray(params.W_in))
    total = total_words * (config.epochs - start_epoch)
    return Result(vectors, params, vocab, counts, history, total / max(wall, 1e-9), wall)


_NO_EXAMPLES = ("`sentences` gives no training examples: no sentence holds 2 words of the vocabulary (or "
                "subsampling dropped them all), so there is no (context, target) pair to learn from; use sentences of "
                "several words, a lower `min_count` or `sample`")


def run_settings(config: Word2VecConfig, vocab: Vocab, counts: np.ndarray, total_words: int) -> dict:
    """What a run's vectors depend on: the config's fields (less `cache_words`, which changes nothing, and
    `kernel`, which changes only the rounding),
    the pipeline "auto" resolves to here, and a SHA-256 of the corpus's vocabulary, counts and length."""
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(Word2VecConfig)
                if f.name not in ("cache_words", "kernel")}
    return {**settings, "pipeline": resolve_pipeline(config.pipeline),
            "corpus": corpus_digest(vocab, counts, int(total_words))}


def _resumed_params(resume: Checkpoint, fresh: Params) -> Params:
    """The checkpoint's params, after checking that they fit this run."""
    for name, want, got in zip(Params._fields, fresh, resume.params):
        if np.shape(got) != want.shape:
            raise ValueError(f"`resume`: {name} has shape {np.shape(got)}; this vocabulary and config need "
                             f"{want.shape} (the same corpus, min_count, max_vocab, dim and loss)")
    return Params(*(jnp.asarray(w, fresh.W_in.dtype) for w in resume.params))


def _consume(items: Iterable[tuple], params, tables, key, step: int, finish, pending: list, bar, epoch_done=None):
    """Run the ("call", f, steps) items on the device; close an epoch at each ("epoch", e, lr_end,
    position), and, given `epoch_done`, hand it the params there (waiting for the device)."""
    ep_loss: list = []
    ep_n: list = []
    for item in items:
        if item[0] == "call":
            _, call, n_steps = item
            params, loss, n = call(params, tables, key, jnp.int32(step))
            ep_loss.append(loss)
            ep_n.append(n)
            step += n_steps
            if pending:  # after new work is queued, so reading the old losses does not idle the device
                finish(pending.pop())
        elif item[0] == "read":
            if bar is not None:
                bar.update(item[1])
        else:  # ("epoch", epoch, lr at its end, where the random streams stand)
            if pending:
                finish(pending.pop())
            record = (item[1], ep_loss, ep_n, item[2])
            ep_loss, ep_n = [], []
            if epoch_done is None:
                pending.append(record)
            else:
                finish(record)
                epoch_done(params, step, item[1], item[3])
    return params, step


def _host_calls(sentences: Sentences, corpus: Optional[_Encoded], index: dict, keep_p: np.ndarray,
                config: Word2VecConfig, total_words: int, rng: np.random.Generator, start_epoch: int = 0
                ) -> Iterator[tuple]:
    """The host side of `train`, run ahead of the device by `prefetch`. Yields, in order,
    ("call", xs (S, B, m), ys (S, B), lrs (S,)) for each jitted call of S steps, ("read", corpus
    words) after each chunk, and ("epoch", epoch, lr at its end, {"rng": rng's state}) after each
    epoch's last call, from epoch `start_epoch` on. Each chunk's examples are shuffled; an epoch's
    last call is padded with no-op examples (−1). `corpus`: the kept corpus's encoding (see `train`),
    or None to read `sentences` in every epoch."""
    B, S, m = config.batch, config.steps_per_call, 1 if config.model == "skipgram" else 2 * config.window
    total = total_words * config.epochs
    # a first chunk of an eighth: the device starts ≈ 0.2 s sooner on the CPU (the device pipeline
    # keeps whole chunks: a chunk of another size is another compilation there)
    first = config.chunk_words // 8
    cached = None if corpus is None else _split(corpus, config.chunk_words, first=first)
    del corpus  # the chunks hold what they need of it
    words_done = total_words * start_epoch
    for epoch in range(start_epoch, config.epochs):
        source: Iterable = cached if cached is not None else _chunks(sentences, index, config.chunk_words, first=first)
        buf_x = np.zeros((0, m), np.int32)
        buf_y = np.zeros(0, np.int32)
        buf_p = np.zeros(0, np.float64)
        for ids, sid, read in source:
            x, y = _examples(ids, sid, keep_p, config, rng)
            order = rng.permutation(np.arange(len(y), dtype=np.int32))  # = permutation(len(y)), faster
            p0, p1 = words_done / total, (words_done + read) / total
            words_done += read
            prog = p0 + (p1 - p0) * np.arange(len(y)) / max(len(y), 1)
            buf_x = np.concatenate([buf_x, x[order]])
            buf_y = np.concatenate([buf_y, y[order]])
            buf_p = np.concatenate([buf_p, prog])
            cut = len(buf_y) // (S * B) * S * B
            yield from _split_calls(buf_x[:cut], buf_y[:cut], buf_p[:cut], config)
            buf_x, buf_y, buf_p = buf_x[cut:], buf_y[cut:], buf_p[cut:]
            yield ("read", read)
        if len(buf_y):  # the epoch's tail, padded with −1 (no-op examples) to one whole call
            pad = -(-len(buf_y) // (S * B)) * S * B - len(buf_y)
            buf_x = np.concatenate([buf_x, np.full((pad, m), -1, np.int32)])
            buf_y = np.concatenate([buf_y, np.full(pad, -1, np.int32)])
            buf_p = np.concatenate([buf_p, np.full(pad, buf_p[-1])])
            yield from _split_calls(buf_x, buf_y, buf_p, config)
        yield ("epoch", epoch, float(_lr(config, words_done / total)), {"rng": rng.bit_generator.state})


def _bind_host_calls(items: Iterable[tuple], run, steps: int) -> Iterator[tuple]:
    """Turn `_host_calls`' ("call", xs, ys, lrs) into ("call", f(params, tables, key, step0), steps)."""
    with contextlib.closing(items):
        for item in items:
            if item[0] == "call":
                _, xs, ys, lrs = item
                yield ("call", functools.partial(run, xs=xs, ys=ys, lrs=lrs), steps)
            else:
                yield item


def resolve_pipeline(pipeline: str) -> str:
    """"host" or "device": where `train` builds its examples ("auto": host on a CPU backend, else device)."""
    _checks.one_of("pipeline", pipeline, PIPELINES)
    if pipeline == "auto":
        return "host" if jax.default_backend() == "cpu" else "device"
    return pipeline


def _kernel_fits(config: Word2VecConfig) -> bool:
    return (config.model == "skipgram" and config.loss == "negative" and config.neg_group == 1
            and 1 + (config.neg_draws or config.negative) <= word2vec_kernel.MAX_OUTPUTS)


def resolve_kernel(config: Word2VecConfig) -> str:
    """"native" or "xla": the step `train` runs. "auto" takes the native kernel (`jaxseq.word2vec_kernel`)
    on the CPU backend for skip-gram with negative sampling and ``neg_group=1`` — building it on first use
    — and the jitted step otherwise, or, with a warning, where the kernel cannot be built."""
    _checks.one_of("kernel", config.kernel, KERNELS)
    if config.kernel == "xla":
        return "xla"
    fits = _kernel_fits(config)
    if config.kernel == "native":
        if not fits:
            raise ValueError(f"`kernel='native'` runs skip-gram with negative sampling, neg_group=1 and at most "
                             f"{word2vec_kernel.MAX_OUTPUTS - 1} negatives an example; got model={config.model!r}, "
                             f"loss={config.loss!r}, neg_group={config.neg_group}, "
                             f"{config.neg_draws or config.negative} negatives (use kernel='auto' or 'xla')")
        if not word2vec_kernel.available():
            raise RuntimeError(f"`kernel='native'`: the native kernel is not available here: "
                               f"{word2vec_kernel.why_unavailable()}")
        return "native"
    if not fits or jax.default_backend() != "cpu":
        return "xla"
    if not word2vec_kernel.available():
        warnings.warn(f"word2vec: the native CPU kernel could not be built, so the jitted step runs "
                      f"(slower on a CPU): {word2vec_kernel.why_unavailable()}", RuntimeWarning, stacklevel=2)
        return "xla"
    return "native"


def _device_calls(sentences: Sentences, corpus: Optional[_Encoded], index: dict, keep_p: np.ndarray,
                  config: Word2VecConfig, total_words: int, key, start_epoch: int = 0, start_chunk: int = 0
                  ) -> Iterator[tuple]:
    """The `device` pipeline of `train`: the same items as `_host_calls` (after `_bind_host_calls`), with
    each chunk's examples built and shuffled on the device (`jaxseq.word2vec_pipeline`). Only the
    number of examples of a chunk comes back to the host, to count its steps."""
    from jaxseq import word2vec_pipeline as pipe

    B, S = config.batch, config.steps_per_call
    G = max(1, S // 8)
    total = total_words * config.epochs
    keep_d = jnp.asarray(keep_p, jnp.float32)
    cached = None if corpus is None else []  # the kept corpus's chunks, on the device after the first epoch
    run = functools.partial(_run_slices, config=StepOptions.of(config), batch=B)
    lr, min_frac = jnp.float32(config.lr), jnp.float32(config.min_lr_frac)
    words_done, n_chunk = total_words * start_epoch, start_chunk
    for epoch in range(start_epoch, config.epochs):
        if cached is not None and epoch > start_epoch:
            source: Iterable = cached
        elif corpus is not None:
            source, corpus = _split(corpus, config.chunk_words), None  # on the device after this epoch
        else:  # reading and encoding the text in a background thread
            source = prefetch(_chunks(sentences, index, config.chunk_words), depth=2)
        for chunk in source:
            if cached is None or epoch == start_epoch:
                ids, sid, read = chunk
                N = pipe.bucket(len(ids))
                pad = lambda a: jnp.asarray(np.concatenate([a, np.zeros(N - len(a), np.int32)]))
                chunk = (pad(ids), pad(sid), len(ids), read)
                del ids, sid  # slices of the kept corpus, which is on the device now (see `source` below)
                if cached is not None:
                    cached.append(chunk)
            ids_d, sid_d, n, read = chunk
            x, y, count = pipe.examples(jax.random.fold_in(key, n_chunk), ids_d, sid_d, n, keep_d,
                                        window=config.window, model=config.model, pad=G * B)
            n_chunk += 1
            E = int(count)
            p0, p1 = words_done / total, (words_done + read) / total
            words_done += read
            steps, first = -(-E // B), 0
            while first < steps:  # calls of S steps, then of G = S/8 for the rest: two compilations,
                k = S if steps - first >= S else G  # < G no-op steps a chunk (rows past E have y = −1)
                yield ("call", functools.partial(run, x=x, y=y, start=jnp.int32(first * B), count=jnp.int32(E),
                                                 progress=jnp.asarray([p0, p1], jnp.float32), lr=lr,
                                                 min_frac=min_frac, steps=k), k)
                first += k
            yield ("read", read)
        source = None  # the first epoch's host chunks of a kept corpus: on the device now
        yield ("epoch", epoch, float(_lr(config, words_done / total)), {"chunk": n_chunk})


@functools.partial(jax.jit, static_argnames=("config", "batch", "steps"), donate_argnums=(0,))
def _run_slices(params: Params, tables: Tables, key, step0, *, x, y, start, count, progress, lr, min_frac,
                config: StepOptions, batch: int, steps: int):
    """`steps` steps on the device-resident examples x[start + i·batch …], y[…] of a chunk with `count`
    examples (see `_device_calls`; rows past `count` are no-ops, y = −1). The learning rate of a step
    falls with its first example's place in the run, as in the host pipeline."""

    def body(carry, i):
        params, loss, n, step = carry
        first = start + i * batch
        xb = jax.lax.dynamic_slice_in_dim(x, first, batch)
        yb = jax.lax.dynamic_slice_in_dim(y, first, batch)
        p = progress[0] + (progress[1] - progress[0]) * first.astype(jnp.float32) / jnp.maximum(count, 1)
        params, l, c = _step(params, tables, key, step, xb, yb,
                             lr * jnp.maximum(min_frac, 1.0 - p), config=config)
        return (params, loss + l, n + c, step + 1), None

    zero = jnp.zeros((), params.W_in.dtype)
    (params, loss, n, _), _ = jax.lax.scan(body, (params, zero, zero, step0), jnp.arange(steps))
    return params, loss, n


def _split_calls(x, y, prog, config: Word2VecConfig) -> Iterator[tuple]:
    """("call", xs, ys, lrs) for each whole call of `steps_per_call` steps in examples x (n, m), y (n,)
    with their run progress (n,)."""
    B, S = config.batch, config.steps_per_call
    n_calls = len(y) // (S * B)
    xs = x.reshape(n_calls, S, B, x.shape[1])
    ys = y.reshape(n_calls, S, B)
    lrs = _lr(config, prog.reshape(n_calls, S, B)[:, :, 0]).astype(np.float32)
    for i in range(n_calls):
        yield ("call", xs[i], ys[i], lrs[i])


def _lr(config: Word2VecConfig, progress) -> Any:
    return config.lr * np.maximum(config.min_lr_frac, 1.0 - progress)
