"""Debiasing word vectors (Bolukbasi et al. 2016, "Man is to Computer Programmer as Woman is to
Homemaker?"), with the course's formulas.

1. **Bias direction** g: the difference of a definitional pair, g = e_woman − e_man; or the mean of
   several pairs' differences (``method="mean"``); or, as the paper, the first principal component
   of the pairs' vectors centred on each pair's mean (``method="pca"``, unit length, its sign
   turned to agree with the mean difference).

2. **Neutralise** a word that should not carry the bias (receptionist, doctor): remove its
   component along g,

       e_bias = (e · g / ‖g‖²) g,        e_debiased = e − e_bias          so e_debiased · g = 0.

3. **Equalise** a pair that should differ only along g (actor / actress): move both to the same
   distance from every neutral word, keeping their norm 1:

       μ = (e_w1 + e_w2) / 2,   μ_B = (μ · g / ‖g‖²) g,   μ_⊥ = μ − μ_B
       e_wiB = (e_wi · g / ‖g‖²) g
       e_wiB' = √|1 − ‖μ_⊥‖²| · (e_wiB − μ_B) / ‖(e_wi − μ_⊥) − μ_B‖
       e_wi' = e_wiB' + μ_⊥

   Both words end at the same distance from every neutral word (their difference lies along g).
   The course divides by ‖(e_wi − μ_⊥) − μ_B‖ = ‖e_wi − μ‖; the paper divides by ‖e_wiB − μ_B‖,
   which puts both words exactly on the unit sphere (``denominator="paper"``); the course's form
   (the default) leaves them a little inside it. Both assume unit vectors: `debias` scales every
   vector to unit length first, as the paper does; call `evaluation.unit_rows` before using
   `equalize` on raw vectors.

All functions are jnp and take leading batch axes: ``neutralize(E, g)`` neutralises a (n, e) matrix.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import _checks
from jaxseq.evaluation import unit_rows
from jaxseq.word_vectors import WordVectors

__all__ = ["bias_direction", "project", "neutralize", "equalize", "debias", "GENDER_PAIRS", "EQUALIZE_PAIRS"]

GENDER_PAIRS = (("woman", "man"), ("girl", "boy"), ("she", "he"), ("mother", "father"), ("daughter", "son"),
                ("gal", "guy"), ("female", "male"), ("her", "his"), ("herself", "himself"), ("mary", "john"))
"""Bolukbasi et al.'s ten definitional pairs, female first (lower case)."""

EQUALIZE_PAIRS = (("actress", "actor"), ("girl", "boy"), ("girlfriend", "boyfriend"), ("mother", "father"),
                  ("lady", "gentleman"), ("grandmother", "grandfather"), ("woman", "man"), ("she", "he"),
                  ("queen", "king"), ("sister", "brother"), ("daughter", "son"), ("wife", "husband"))


def bias_direction(vectors: WordVectors, pairs: Sequence[tuple[str, str]] = GENDER_PAIRS, *,
                   method: str = "mean", skip_missing: bool = True):
    """g from definitional pairs (w1, w2): w1 − w2 (one pair), their mean difference, or the PCA direction.

    Pairs with a word missing from `vectors` are skipped (``skip_missing``) or raise KeyError; at
    least one pair must remain. Returns an (e,) jnp array.
    """
    if method not in ("mean", "pca"):
        raise ValueError(f"`method` must be 'mean' or 'pca'; got {method!r}")
    usable = [(a, b) for a, b in pairs if a in vectors and b in vectors] if skip_missing else list(pairs)
    if not usable:
        raise ValueError(f"none of the pairs {list(pairs)[:5]}... has both words in the vectors")
    a = jnp.asarray(vectors.matrix[vectors.indices([p[0] for p in usable])])
    b = jnp.asarray(vectors.matrix[vectors.indices([p[1] for p in usable])])
    mean_diff = jnp.mean(a - b, axis=0)
    if method == "mean":
        return mean_diff
    if len(usable) < 2:
        raise ValueError("`method='pca'` needs at least 2 usable pairs; got 1 (use method='mean')")
    centre = (a + b) / 2.0
    centred = jnp.concatenate([a - centre, b - centre], axis=0)  # (2p, e)
    _, _, vt = jnp.linalg.svd(centred, full_matrices=False)
    g = vt[0]
    return jnp.where(jnp.dot(g, mean_diff) < 0, -g, g)


def _check_direction(g, shape: tuple) -> None:
    """`g` must be one nonzero direction (e,) for vectors of ``shape`` (..., e)."""
    if len(shape) == 0 or g.shape != (shape[-1],):
        raise ValueError(f"`g` must be one direction of the vectors' dimension, shape ({shape[-1] if shape else '?'},); "
                         f"got {g.shape} against vectors of shape {shape}")
    if not isinstance(g, jax.core.Tracer) and not float(jnp.dot(g, g)) > 0:
        raise ValueError("`g` must be a nonzero direction; got the zero vector (or NaN)")


def project(e, g):
    """The component of e along g: (e · g / ‖g‖²) g, for e of shape (..., e)."""
    e, g = jnp.asarray(e), jnp.asarray(g)
    _check_direction(g, e.shape)
    gb = jnp.reshape(g, (1,) * (e.ndim - 1) + g.shape)  # g with e's rank (no implicit rank promotion)
    return (jnp.sum(e * gb, axis=-1, keepdims=True) / jnp.dot(g, g)) * gb


def neutralize(e, g):
    """e − (e · g / ‖g‖²) g: e with no component along g."""
    return jnp.asarray(e) - project(e, g)


def equalize(e1, e2, g, *, denominator: str = "course"):
    """The course's equalisation of a pair (unit vectors e1, e2) about the bias axis g; returns (e1', e2').

    ``denominator="paper"``: divide by ‖e_wiB − μ_B‖ (Bolukbasi et al.), giving unit-norm outputs.
    Where that denominator is 0 (a pair with no difference to place along g, e.g. a word and itself)
    both outputs are μ⊥, the pair's mean off the bias axis, instead of 0 / 0 = NaN.
    """
    if denominator not in ("course", "paper"):
        raise ValueError(f"`denominator` must be 'course' or 'paper'; got {denominator!r}")
    e1, e2 = jnp.asarray(e1), jnp.asarray(e2)
    if e1.shape != e2.shape:
        raise ValueError(f"`e1` and `e2` must have the same shape (a pair, or rows of pairs); got {e1.shape} and {e2.shape}")
    mu = (e1 + e2) / 2.0
    mu_b = project(mu, g)
    mu_orth = mu - mu_b
    scale = jnp.sqrt(jnp.abs(1.0 - jnp.sum(mu_orth ** 2, axis=-1, keepdims=True)))
    out = []
    for e in (e1, e2):
        e_b = project(e, g)
        gap = (e - mu_orth) - mu_b if denominator == "course" else e_b - mu_b
        denom = jnp.linalg.norm(gap, axis=-1, keepdims=True)
        out.append(scale * (e_b - mu_b) / jnp.where(denom > 0, denom, 1.0) * (denom > 0) + mu_orth)
    return out[0], out[1]


def debias(vectors: WordVectors, g, *, neutral_words: Iterable[str] = None,
           equalize_pairs: Sequence[tuple[str, str]] = EQUALIZE_PAIRS, denominator: str = "course") -> WordVectors:
    """Unit-normalise every vector, neutralise `neutral_words` (default: every word not in a definitional
    or equalise pair), then equalise `equalize_pairs` (pairs with a missing word are skipped)."""
    matrix = unit_rows(vectors.matrix)
    g = jnp.asarray(g)
    _check_direction(g, matrix.shape)  # before any row is touched
    _checks.word_list("neutral_words", neutral_words)
    pairs = [(a, b) for a, b in equalize_pairs if a in vectors and b in vectors]
    seen: dict = {}
    for pair in pairs:  # one row set twice would keep only the last pair's result, silently
        for w in pair:
            if w in seen:
                raise ValueError(f"`equalize_pairs` must name each word once; {w!r} is in {seen[w]} and {pair}")
            seen[w] = pair
    if neutral_words is None:
        specific = {w for p in (*GENDER_PAIRS, *equalize_pairs) for w in p}
        neutral_words = [w for w in vectors.words if w not in specific]
    rows = vectors.indices([w for w in neutral_words if w in vectors])
    if len(rows):
        matrix = matrix.at[rows].set(neutralize(matrix[rows], g))
    if pairs:
        i1, i2 = vectors.indices([p[0] for p in pairs]), vectors.indices([p[1] for p in pairs])
        a, b = equalize(matrix[i1], matrix[i2], g, denominator=denominator)
        matrix = matrix.at[i1].set(a).at[i2].set(b)
    return WordVectors(vectors.words, np.asarray(matrix))
