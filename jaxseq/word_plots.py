"""2-D pictures of word vectors: PCA and t-SNE (scikit-learn), drawn with matplotlib.

PCA is a linear projection onto the two directions of largest variance: straight lines and
parallelograms in e dimensions stay straight lines and parallelograms (flattened), so the
man → woman and king → queen offsets of an analogy keep their direction when they lie near the
plane shown. t-SNE (van der Maaten & Hinton 2008) is a non-linear map that keeps *neighbourhoods*
(who is close to whom) and nothing else: distances between clusters, directions and
parallelograms are not preserved, so an analogy that holds in e dimensions need not look like one
in a t-SNE picture (the course's warning). Use t-SNE to see clusters, PCA to see offsets.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from jaxseq._files import save_figure_atomic
from jaxseq.word_vectors import WordVectors

__all__ = ["project_2d", "plot_words"]


def project_2d(matrix, *, method: str = "pca", seed: int = 0, perplexity: Optional[float] = None) -> np.ndarray:
    """(n, e) → (n, 2) by PCA or t-SNE (perplexity default: min(30, (n − 1) / 3))."""
    matrix = np.asarray(matrix, np.float64)
    if matrix.ndim != 2 or matrix.shape[0] < 2:
        raise ValueError(f"`matrix` must have shape (n, e) with n >= 2; got {matrix.shape}")
    try:
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE
    except ImportError:
        raise ImportError("2-D projections need scikit-learn: pip install scikit-learn (jaxseq[embeddings])") from None
    if method not in ("pca", "tsne"):
        raise ValueError(f"`method` must be 'pca' or 'tsne'; got {method!r}")
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    n = matrix.shape[0]
    # A few hundred words gain nothing from threads, and OpenMP's spinning workers next to XLA's
    # thread pool can slow a 12-point t-SNE from 0.2 s to 40 s on a busy machine.
    with threadpool_limits(limits=1 if n < 2000 else None):
        if method == "pca":
            return PCA(n_components=2, random_state=seed).fit_transform(matrix)
        p = perplexity if perplexity is not None else max(1.0, min(30.0, (n - 1) / 3))
        return TSNE(n_components=2, perplexity=p, init="pca", random_state=seed).fit_transform(matrix)


def plot_words(vectors: WordVectors, words: Sequence[str], path: str | os.PathLike, *, method: str = "pca",
               seed: int = 0, title: Optional[str] = None, arrows: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Save a PNG of `words` (those in `vectors`; returns them) projected to 2-D, each point labelled.

    `arrows` draws an arrow from the first word to the second of each pair (e.g. man → woman).
    """
    words = [w for w in dict.fromkeys(words) if w in vectors]
    if len(words) < 3:
        raise ValueError(f"`words` must hold at least 3 words of the vectors; got {words}")
    xy = project_2d(vectors.matrix[vectors.indices(words)], method=method, seed=seed)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    ax.scatter(xy[:, 0], xy[:, 1], s=12)
    for (x, y), w in zip(xy, words):
        ax.annotate(w, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    where = {w: i for i, w in enumerate(words)}
    for a, b in arrows:
        if a in where and b in where:
            ax.annotate("", xy=xy[where[b]], xytext=xy[where[a]], arrowprops=dict(arrowstyle="->", alpha=0.5))
    ax.set_title(title or f"{method.upper()} of {len(words)} word vectors")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=100)
    plt.close(fig)
    return words
