"""Evaluating word vectors: similarity, nearest neighbours, analogies, word-similarity benchmarks.

Similarity of two vectors u, v (the course's two measures):

    cosine_similarity(u, v) = u·v / (‖u‖ ‖v‖)        in [-1, 1]; 1 = same direction
    euclidean_distance(u, v) = ‖u − v‖                0 = the same vector

Analogies "a is to b as c is to d" (man : king :: woman : ?), over the whole vocabulary, with
every vector first scaled to unit length (â) and the three question words never answers:

    3CosAdd (Mikolov et al. 2013):   d = argmax_w  cos(w, b) − cos(w, a) + cos(w, c)
                                               = argmax_w  ŵ · (b̂ − â + ĉ)
    3CosMul (Levy & Goldberg 2014):  d = argmax_w  cos'(w, b) · cos'(w, c) / (cos'(w, a) + ε),
                                     cos' = (cos + 1) / 2 in [0, 1], ε = 0.001

The scores of a batch of questions against all v words are one (q, e) @ (e, v) matmul in jnp.

Benchmarks, read from gensim's test data when gensim is installed (or from any path in the same
format): the Google analogy set ``questions-words.txt`` (Mikolov et al. 2013; 8,869 semantic and
10,675 syntactic questions in 14 sections, the syntactic ones named ``gram*``), WordSim353
(``wordsim353.tsv``) and SimLex-999 (``simlex999.txt``), scored by Spearman's ρ between the
human ratings and the cosine similarities. The conventions follow gensim's
``evaluate_word_analogies`` / ``evaluate_word_pairs`` (and word2vec's ``compute-accuracy``), so
the figures agree with gensim's on the same vectors:

* only the first `restrict_vocab` words (300,000; the most frequent when the vectors are sorted
  by count) are looked up or proposed;
* ``case_insensitive=True`` compares upper-cased words, a word standing for the first (most
  frequent) of its case variants;
* a question or pair with a word outside that vocabulary is skipped and counted in ``oov``.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import _checks
from jaxseq.word_vectors import WordVectors

__all__ = [
    "cosine_similarity", "euclidean_distance", "unit_rows", "nearest", "most_similar", "doesnt_match", "analogy",
    "analogy_ids",
    "load_analogies", "load_word_pairs", "evaluate_analogies", "evaluate_word_pairs", "evaluate", "spearman",
    "test_data_path", "copy_test_data", "ANALOGY_SETS", "SIMILARITY_SETS",
]

ANALOGY_SETS = {"google": "questions-words.txt"}
SIMILARITY_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
METHODS = ("3cosadd", "3cosmul")
COSMUL_EPS = 1e-3


# --------------------------------------------------------------------------------------------------
# Similarity and neighbours


def cosine_similarity(u, v, *, eps: float = 1e-12):
    """u·v / (‖u‖ ‖v‖) along the last axis; shapes (..., e) broadcast to (...). Zero vectors give 0."""
    u, v = jnp.asarray(u), jnp.asarray(v)
    _same_last_axis(u, v)
    num = jnp.sum(u * v, axis=-1)
    # each norm floored (as `unit_rows` does), not their product: tiny vectors keep their cosine
    return num / (jnp.maximum(jnp.linalg.norm(u, axis=-1), eps) * jnp.maximum(jnp.linalg.norm(v, axis=-1), eps))


def euclidean_distance(u, v):
    """‖u − v‖ along the last axis."""
    _same_last_axis(jnp.asarray(u), jnp.asarray(v))
    return jnp.linalg.norm(jnp.asarray(u) - jnp.asarray(v), axis=-1)


def _same_last_axis(u, v) -> None:
    if u.ndim == 0 or v.ndim == 0 or u.shape[-1] != v.shape[-1]:
        raise ValueError(f"`u` and `v` must be vectors of one dimension e, shapes (..., e); got {u.shape} and {v.shape}")


def unit_rows(matrix, *, eps: float = 1e-12):
    """Every row scaled to length 1 (a zero row stays zero)."""
    m = jnp.asarray(matrix, jnp.float32)
    return m / jnp.maximum(jnp.linalg.norm(m, axis=-1, keepdims=True), eps)


def nearest(vectors: WordVectors, query: Union[str, np.ndarray], k: int = 10, *, metric: str = "cosine",
            exclude: Iterable[str] = ()) -> list[tuple[str, float]]:
    """The `k` words closest to `query` (a word, excluded from the answer, or a vector).

    ``metric="cosine"`` ranks by cosine similarity (returned, highest first); ``"euclidean"`` by
    distance (returned, lowest first).
    """
    _check_vectors(vectors)
    _checks.positive_int("k", k)
    if metric not in ("cosine", "euclidean"):
        raise ValueError(f"`metric` must be 'cosine' or 'euclidean'; got {metric!r}")
    _checks.word_list("exclude", exclude)
    skip = set(exclude)
    if isinstance(query, str):
        q = vectors[query]
        skip.add(query)
    else:
        q = np.asarray(query, np.float32)
        if q.shape != (vectors.dim,):
            raise ValueError(f"`query` must be a word or a vector of shape ({vectors.dim},); got shape {q.shape}")
    m = jnp.asarray(vectors.matrix)
    if metric == "cosine":
        scores = np.asarray(cosine_similarity(m, jnp.asarray(q)[None, :]))
        order = np.argsort(-scores, kind="stable")
    else:
        scores = np.asarray(euclidean_distance(m, jnp.asarray(q)[None, :]))
        order = np.argsort(scores, kind="stable")
    out = []
    for i in order:
        if vectors.words[i] in skip:
            continue
        out.append((vectors.words[i], float(scores[i])))
        if len(out) == k:
            break
    return out


def most_similar(vectors: WordVectors, positive: Sequence[str] = (), negative: Sequence[str] = (), k: int = 10
                 ) -> list[tuple[str, float]]:
    """gensim's ``most_similar``: the `k` words nearest (by cosine) to the mean of the unit vectors of
    `positive` minus those of `negative`, the query words excluded; (word, cosine), highest first.

        q = (Σ_{w ∈ positive} ŵ − Σ_{w ∈ negative} ŵ) / (|positive| + |negative|)

    ``most_similar(wv, ["king", "woman"], ["man"])`` is the 3CosAdd analogy man : king :: woman : ?.
    """
    _check_vectors(vectors)
    for name, words in (("positive", positive), ("negative", negative)):
        _checks.word_list(name, words)
    positive, negative = list(positive), list(negative)
    if not positive and not negative:
        raise ValueError("`positive` and `negative` are both empty: give at least one word")
    unit = np.asarray(unit_rows(vectors.matrix))
    rows = vectors.indices(positive + negative)
    weights = np.asarray([1.0] * len(positive) + [-1.0] * len(negative), np.float32)
    query = weights @ unit[rows] / len(rows)
    return nearest(vectors, query, k, exclude=positive + negative)


def doesnt_match(vectors: WordVectors, words: Sequence[str]) -> str:
    """The word of `words` (at least 2, all known) farthest from the others: the lowest cosine to the
    mean of their unit vectors (gensim's ``doesnt_match``)."""
    _check_vectors(vectors)
    _checks.word_list("words", words)
    words = list(words)
    if len(words) < 2:
        raise ValueError(f"`words` must hold at least 2 words; got {words!r}")
    unit = np.asarray(unit_rows(vectors.matrix))[vectors.indices(words)]
    mean = unit.mean(axis=0)
    return words[int(np.argmin(unit @ (mean / max(float(np.linalg.norm(mean)), 1e-12))))]


# --------------------------------------------------------------------------------------------------
# Analogies


@functools.partial(jax.jit, static_argnames=("method",))
def _analogy_chunk(unit, a, b, c, groups, method: str):
    """Best answer per question: unit (n, e) unit rows; a, b, c (q,) ids; groups (n,) case groups.
    A NaN score (a row that is not finite) is never the answer; a question with no finite score gets −1."""
    ua, ub, uc = unit[a], unit[b], unit[c]
    if method == "3cosadd":
        scores = (ub - ua + uc) @ unit.T
    else:
        pa, pb, pc = ((u @ unit.T + 1.0) / 2.0 for u in (ua, ub, uc))
        scores = pb * pc / (pa + COSMUL_EPS)
    g = groups[None, :]
    banned = (g == groups[a][:, None]) | (g == groups[b][:, None]) | (g == groups[c][:, None])
    scores = jnp.where(banned | jnp.isnan(scores), -jnp.inf, scores)
    return jnp.where(jnp.max(scores, axis=-1) > -jnp.inf, jnp.argmax(scores, axis=-1), -1)


def analogy_ids(matrix, a, b, c, *, method: str = "3cosadd", groups=None, chunk: Optional[int] = None) -> np.ndarray:
    """Answers d (ids) to the questions a : b :: c : d, ids (q,) each, over all rows of `matrix` (n, e).

    The question words (and words in the same ``groups`` entry, e.g. case variants) are never
    answers, nor are rows that are not finite (as in `analogy` and `nearest`); a question left with no
    answer (its own words not finite) gets −1. Questions run in chunks of `chunk` (padded, so one
    compilation serves all; by default as many as keep the (chunk, n) score matrix near 2²⁴ floats,
    at most 512).
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}; got {method!r}")
    unit = unit_rows(matrix)
    n = unit.shape[0]
    for name, x in (("a", a), ("b", b), ("c", c)):
        if np.size(x):
            _checks.integer(name, np.asarray(x))
    a, b, c = (np.asarray(x, np.int32).reshape(-1) for x in (a, b, c))
    if not (len(a) == len(b) == len(c)):
        raise ValueError(f"`a`, `b`, `c` must have the same length; got {len(a)}, {len(b)}, {len(c)}")
    for name, x in (("a", a), ("b", b), ("c", c)):
        if x.size and (x.min() < 0 or x.max() >= n):
            raise ValueError(f"`{name}` must hold row ids in [0, {n}); got values in [{x.min()}, {x.max()}]")
    if groups is not None and np.shape(groups) != (n,):
        raise ValueError(f"`groups` must give one group id per row of `matrix`, shape ({n},); got {np.shape(groups)}")
    groups = jnp.arange(n, dtype=jnp.int32) if groups is None else jnp.asarray(groups, jnp.int32)
    chunk = chunk or max(1, min(512, 2 ** 24 // max(n, 1)))
    out = np.empty(len(a), np.int32)
    size = max(1, min(chunk, len(a)))
    for start in range(0, len(a), size):
        stop = min(start + size, len(a))
        pad = size - (stop - start)
        ids = [np.pad(x[start:stop], (0, pad)) for x in (a, b, c)]
        out[start:stop] = np.asarray(_analogy_chunk(unit, *ids, groups, method))[: stop - start]
    return out


def analogy(vectors: WordVectors, a: str, b: str, c: str, *, method: str = "3cosadd", k: int = 1):
    """"a is to b as c is to ?": the best `k` answers (words, best first), question words excluded
    (so at most len(vectors) − 3 of them, fewer where a, b, c repeat a word)."""
    _check_vectors(vectors)
    _checks.positive_int("k", k)
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}; got {method!r}")
    ia, ib, ic = vectors.indices([a, b, c])
    unit = unit_rows(vectors.matrix)
    if method == "3cosadd":
        scores = unit @ (unit[ib] - unit[ia] + unit[ic])
    else:
        pa, pb, pc = ((unit @ unit[i] + 1.0) / 2.0 for i in (ia, ib, ic))
        scores = pb * pc / (pa + COSMUL_EPS)
    scores = np.asarray(scores).copy()
    scores[[ia, ib, ic]] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return [vectors.words[i] for i in order if scores[i] > -np.inf]


# --------------------------------------------------------------------------------------------------
# Benchmark files


def test_data_path(name: str) -> str:
    """The path of `name` (``questions-words.txt``, ``wordsim353.tsv``, ...): gensim's test data, or else
    a copy in the data cache, ``$JAXSEQ_DATA/word-benchmarks/`` (default ``~/.cache/jaxseq``), for
    machines without gensim (`copy_test_data` puts them there)."""
    from jaxseq.corpora import data_dir

    cached = data_dir() / "word-benchmarks" / name
    try:
        from gensim.test.utils import datapath
    except ImportError:
        if cached.is_file():
            return str(cached)
        raise ImportError(f"reading {name!r} from gensim's test data needs gensim (pip install gensim, or "
                          f"jaxseq[embeddings]); or put a copy at {cached}; or pass the path of your own copy") from None
    path = datapath(name)
    if not os.path.isfile(path):
        if cached.is_file():
            return str(cached)
        raise FileNotFoundError(f"{name!r} is not in gensim's test data ({os.path.dirname(path)}) nor at {cached}")
    return path


def copy_test_data(dest: Optional[Union[str, os.PathLike]] = None) -> list[str]:
    """Copy the analogy and word-pair sets from gensim's test data to ``dest/word-benchmarks/`` (default:
    the data cache), where `test_data_path` finds them on a machine without gensim. Returns the paths."""
    import shutil

    from jaxseq._files import atomic_write
    from jaxseq.corpora import data_dir

    folder = Path(dest if dest is not None else data_dir()) / "word-benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in [*ANALOGY_SETS.values(), *SIMILARITY_SETS.values()]:
        source = test_data_path(name)
        target = folder / name
        if Path(source).resolve() != target.resolve():
            with open(source, "rb") as src, atomic_write(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
        written.append(str(target))
    return written


def _resolve(path_or_name: Optional[str], sets: dict, default: str) -> str:
    name = default if path_or_name is None else os.fspath(path_or_name)
    if name in sets:
        return test_data_path(sets[name])
    if not os.path.isfile(name):
        raise ValueError(f"`path` must be one of {tuple(sets)} (gensim's test data) or an existing file; got {name!r}")
    return name


def load_analogies(path: Optional[str] = None) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """Sections of analogy questions: ``[(section name, [(a, b, c, d), ...]), ...]``.

    `path`: a file in the ``questions-words.txt`` format (``: section`` lines, then 4 words a line),
    or ``"google"`` (the default, from gensim's test data). Lines without 4 words are skipped.
    """
    path = _resolve(path, ANALOGY_SETS, "google")
    sections: list[tuple[str, list]] = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if line.startswith(": "):
                sections.append((line[2:].strip(), []))
                continue
            words = line.split()
            if len(words) != 4:
                continue
            if not sections:
                raise ValueError(f"{path}, line {line_no}: a question before the first `: section` line")
            sections[-1][1].append(tuple(words))
    if not any(qs for _, qs in sections):
        raise ValueError(f"{path}: no analogy questions found (expected `: section` lines and 4 words a line)")
    return sections


def load_word_pairs(path: Optional[str] = None) -> list[tuple[str, str, float]]:
    """Rated word pairs ``[(a, b, human score), ...]`` from a tab-separated file (``#`` comments);
    ``"wordsim353"`` (the default) or ``"simlex999"`` name gensim's copies."""
    path = _resolve(path, SIMILARITY_SETS, "wordsim353")
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            try:
                pairs.append((parts[0], parts[1], float(parts[2])))
            except (IndexError, ValueError):
                continue
    if not pairs:
        raise ValueError(f"{path}: no word pairs found (expected `word<TAB>word<TAB>score` lines)")
    return pairs


def _lookup(vectors: WordVectors, restrict_vocab: int, case_insensitive: bool):
    """key → row (first of its case variants) over the first `restrict_vocab` words, and row → group."""
    _checks.positive_int("restrict_vocab", restrict_vocab)
    n = min(len(vectors), restrict_vocab)
    table: dict[str, int] = {}
    groups = np.arange(n, dtype=np.int32)
    for i, w in enumerate(vectors.words[:n]):
        key = w.upper() if case_insensitive else w
        groups[i] = table.setdefault(key, i)
    return table, groups, n


def evaluate_analogies(vectors: WordVectors, path: Optional[str] = None, *, method: str = "3cosadd",
                       restrict_vocab: int = 300_000, case_insensitive: bool = True) -> dict:
    """Accuracy on an analogy set (default: Google's), per section and for the semantic / syntactic parts.

    Returns ``{"accuracy", "correct", "total", "oov", "questions", "semantic": {...},
    "syntactic": {...}, "sections": {name: {"accuracy", "correct", "total", "oov"}}}``; ``total``
    counts the questions answered (all four words known), ``oov`` those skipped. Sections whose
    name starts with "gram" are syntactic (the Google set's convention), the others semantic.
    """
    _check_vectors(vectors)
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}; got {method!r}")
    sections = load_analogies(path)
    table, groups, n = _lookup(vectors, restrict_vocab, case_insensitive)
    norm = (lambda w: w.upper()) if case_insensitive else (lambda w: w)
    known, where, oov = [], [], {}
    for s, (name, questions) in enumerate(sections):
        oov[name] = 0
        for q in questions:
            ids = [table.get(norm(w)) for w in q]
            if None in ids:
                oov[name] += 1
            else:
                known.append(ids)
                where.append(s)
    ids = np.asarray(known, np.int32).reshape(-1, 4)
    answers = analogy_ids(vectors.matrix[:n], ids[:, 0], ids[:, 1], ids[:, 2], method=method, groups=groups)
    right = (answers >= 0) & (groups[answers] == groups[ids[:, 3]]) if len(ids) else np.zeros(0, bool)
    where = np.asarray(where, np.int32)

    def score(mask_sections):
        sel = np.isin(where, mask_sections)
        correct, total = int(right[sel].sum()), int(sel.sum())
        return {"accuracy": correct / total if total else 0.0, "correct": correct, "total": total,
                "oov": int(sum(oov[sections[i][0]] for i in mask_sections))}

    per = {name: score([i]) for i, (name, _) in enumerate(sections)}
    syn = [i for i, (name, _) in enumerate(sections) if name.startswith("gram")]
    sem = [i for i in range(len(sections)) if i not in syn]
    result = score(list(range(len(sections))))
    result.update(questions=sum(len(q) for _, q in sections), method=method, semantic=score(sem),
                  syntactic=score(syn), sections=per)
    return result


def evaluate_word_pairs(vectors: WordVectors, path: Optional[str] = None, *, restrict_vocab: int = 300_000,
                        case_insensitive: bool = True) -> dict:
    """Spearman's ρ (and Pearson's r) between human ratings and cosine similarities.

    Returns ``{"spearman", "pearson", "pairs", "oov", "oov_ratio"}``: ``pairs`` scored, ``oov``
    skipped for an unknown word, ``oov_ratio`` their fraction of all pairs (a fraction in [0, 1], where
    gensim's ``evaluate_word_pairs`` gives a percentage); ρ is NaN if fewer than 2 pairs could be scored.
    """
    _check_vectors(vectors)
    pairs = load_word_pairs(path)
    table, _, n = _lookup(vectors, restrict_vocab, case_insensitive)
    norm = (lambda w: w.upper()) if case_insensitive else (lambda w: w)
    gold, ia, ib = [], [], []
    for a, b, s in pairs:
        i, j = table.get(norm(a)), table.get(norm(b))
        if i is None or j is None:
            continue
        gold.append(s)
        ia.append(i)
        ib.append(j)
    oov = len(pairs) - len(gold)
    if len(gold) >= 2:
        m = jnp.asarray(vectors.matrix[:n])
        model = np.asarray(cosine_similarity(m[np.asarray(ia)], m[np.asarray(ib)]), np.float64)
        rho, r = spearman(gold, model), _pearson(np.asarray(gold, np.float64), model)
    else:
        rho = r = float("nan")
    return {"spearman": rho, "pearson": r, "pairs": len(gold), "oov": oov, "oov_ratio": oov / len(pairs)}


def evaluate(vectors: WordVectors, *, analogies: Optional[str] = "google",
             word_pairs: Sequence[str] = ("wordsim353", "simlex999"), method: str = "3cosadd") -> dict:
    """The usual figures in one flat dict (for summary.json): ρ and OOV per word-pair set, analogy
    accuracy overall / semantic / syntactic and OOV. Sets that cannot be read are reported as errors."""
    out: dict = {}
    for name in word_pairs:
        key = os.path.splitext(os.path.basename(name))[0]
        try:
            r = evaluate_word_pairs(vectors, name)
            out.update({f"{key}_spearman": r["spearman"], f"{key}_pairs": r["pairs"], f"{key}_oov": r["oov"]})
        except (ImportError, FileNotFoundError) as e:
            out[f"{key}_error"] = str(e)
    if analogies:
        key = "analogy" if analogies in ANALOGY_SETS else os.path.splitext(os.path.basename(analogies))[0]
        try:
            r = evaluate_analogies(vectors, analogies, method=method)
            out.update({f"{key}_accuracy": r["accuracy"], f"{key}_semantic": r["semantic"]["accuracy"],
                        f"{key}_syntactic": r["syntactic"]["accuracy"], f"{key}_answered": r["total"],
                        f"{key}_oov": r["oov"]})
        except (ImportError, FileNotFoundError) as e:
            out[f"{key}_error"] = str(e)
    return out


# --------------------------------------------------------------------------------------------------
# Rank correlation


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given their average rank (scipy.stats.rankdata's "average")."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x), np.float64)
    bounds = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        ranks[order[lo:hi]] = (lo + hi + 1) / 2.0
    return ranks


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den > 0 else float("nan")


def spearman(x, y) -> float:
    """Spearman's ρ: Pearson's r between the ranks (ties averaged), as scipy.stats.spearmanr; NaN where
    either input holds a NaN (as scipy's default), so diverged vectors never pass for a plausible ρ."""
    x, y = np.asarray(x, np.float64).reshape(-1), np.asarray(y, np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"`x` and `y` must have the same length; got {len(x)} and {len(y)}")
    if np.isnan(x).any() or np.isnan(y).any():
        return float("nan")
    return _pearson(_ranks(x), _ranks(y))


def _check_vectors(vectors) -> None:
    if not isinstance(vectors, WordVectors):
        raise TypeError(f"`vectors` must be a jaxseq.word_vectors.WordVectors; got {type(vectors).__name__}")
