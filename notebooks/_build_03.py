"""Write notebook 03 (word embeddings) from its cell sources.

    python notebooks/_build_03.py

Kept apart from `_build.py` so that each notebook's builder can change on its own; it uses the same
`write` helper.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from _build import write  # noqa: E402

WORD_EMBEDDINGS = [
    """md:# Word embeddings

The course's week 2 in code: an embedding matrix E whose row e_w is the vector of word w, learned
by word2vec (skip-gram with negative sampling), then used for similarity, analogies, pictures,
debiasing and transfer to a small task.

* `jaxseq.word2vec` trains the vectors (batched on the device, the same code on CPU and GPU);
* `jaxseq.evaluation` measures them (cosine similarity, analogies over the whole vocabulary,
  WordSim353 / SimLex-999 / the Google analogy set from gensim's test data);
* `jaxseq.word_plots`, `jaxseq.debias` and `jaxseq.classifier` do the rest.

Set `JAXSEQ_TINY=1` to run everything in seconds (on a small corpus: the vectors learn little).""",
    """
import os, time
import numpy as np
import jax, jax.numpy as jnp
from IPython.display import Image, display
from jaxseq import embedding, evaluation, word2vec, word_corpora, word_plots, debias
from jaxseq.word_vectors import save_word2vec, load_word2vec

TINY = os.environ.get("JAXSEQ_TINY") == "1"
""",
    """md:## The embedding matrix

The course writes e_w = E · o_w, the embedding matrix times the one-hot column of w. jaxseq stores
E with one *row* per word, so the product is `one_hot(w) @ E`, and it equals the row lookup `E[w]`
without the v-wide matmul.""",
    """
p = embedding.init(jax.random.PRNGKey(0), vocab_size=10, dim=4)
w = jnp.array([3, 7])
print(embedding.one_hot(w, 10) @ p.E)
print(embedding.lookup(p, w))
""",
    """md:## Training word2vec

Skip-gram with negative sampling: for each word and each context word within a (randomly shrunk)
window, raise σ(u_target · e_context) and lower σ(u_negative · e_context) for 5 words drawn from
P(w) ∝ count(w)^¾. Frequent words are subsampled. The corpus is gensim's English Wikipedia sample
(450k words) — tiny by word2vec standards, so analogies will be rare, but neighbours make sense.""",
    """
if TINY:
    sentences = word_corpora.sentences("default", max_words=20_000)
    config = word2vec.Word2VecConfig(dim=16, epochs=1, min_count=3, batch=256, steps_per_call=4)
else:
    sentences = word_corpora.sentences("enwiki-sample", fallback_to_embedded=True)
    config = word2vec.Word2VecConfig()          # dim 100, window 5, 5 negatives, 5 epochs
result = word2vec.train(sentences, config, log=print)
vectors = result.vectors
print(vectors, f"{result.words_per_s:,.0f} words/s")
save_word2vec("vectors.txt", vectors)           # the word2vec text format, readable by gensim
assert load_word2vec("vectors.txt").words == vectors.words
""",
    """md:## Similarity and neighbours

Cosine similarity u·v / (‖u‖‖v‖) and Euclidean distance ‖u − v‖, and each word's nearest neighbours
by cosine.""",
    """
probe = [w for w in ["king", "france", "music", "three", "war", "water"] if w in vectors]
probe = probe if len(probe) >= 2 else list(vectors.words[50:56])
a, b = vectors[probe[0]], vectors[probe[1]]
print(f"cos({probe[0]}, {probe[1]}) = {float(evaluation.cosine_similarity(a, b)):.3f},",
      f"distance = {float(evaluation.euclidean_distance(a, b)):.3f}")
for w in probe:
    print(f"{w:>8}:", ", ".join(n for n, _ in evaluation.nearest(vectors, w, 6)))
""",
    """md:## Analogies

"man is to king as woman is to ?": 3CosAdd answers argmax_w cos(w, king) − cos(w, man) + cos(w, woman),
3CosMul the product form of Levy & Goldberg. Both scan the whole vocabulary in one matmul. On the
Google set (19,544 questions) we report accuracy over the questions whose words we know, and how
many we could not answer (OOV).""",
    """
for q in [("man", "king", "woman"), ("france", "paris", "germany"), ("good", "better", "bad")]:
    if all(w in vectors for w in q):
        print(q, "→", evaluation.analogy(vectors, *q, k=3), "/", evaluation.analogy(vectors, *q, k=3, method="3cosmul"))
try:
    r = evaluation.evaluate_analogies(vectors)
    print(f"Google analogies: {100 * r['accuracy']:.2f}% of {r['total']} answered "
          f"(semantic {100 * r['semantic']['accuracy']:.1f}%, syntactic {100 * r['syntactic']['accuracy']:.1f}%), "
          f"{r['oov']} skipped for unknown words")
    for name in ("wordsim353", "simlex999"):
        s = evaluation.evaluate_word_pairs(vectors, name)
        print(f"{name}: Spearman ρ = {s['spearman']:.3f} on {s['pairs']} pairs ({s['oov']} OOV)")
except ImportError as e:
    print(e)
""",
    """md:## Pictures: PCA and t-SNE

PCA is linear: offsets such as man → woman and king → queen keep their direction when they lie near
the plane shown. t-SNE keeps only neighbourhoods — it is a non-linear map, so the parallelograms of
analogies are *not* preserved. Use it to see clusters.""",
    """
words = [w for w in ["king", "queen", "man", "woman", "france", "paris", "germany", "berlin", "italy", "rome",
                     "one", "two", "three", "four", "red", "blue", "green", "music", "art", "war"] if w in vectors]
words = words if len(words) >= 8 else list(vectors.words[40:70])
arrows = [("man", "woman"), ("king", "queen"), ("france", "paris"), ("germany", "berlin")]
try:
    for method in ("pca", "tsne"):
        word_plots.plot_words(vectors, words, f"{method}.png", method=method, arrows=arrows)
        display(Image(f"{method}.png"))
except ImportError as e:
    print(e)
""",
    """md:## Debiasing (Bolukbasi et al. 2016)

The bias direction g is the average of he → she style differences (or their first principal
component). *Neutralise* removes g's component from words that should not carry it; *equalise* moves
pairs like actor / actress to the same distance from every neutral word.""",
    """
pairs = [(a, b) for a, b in debias.GENDER_PAIRS if a in vectors and b in vectors]
if pairs:
    g = debias.bias_direction(vectors, pairs)
    jobs = [w for w in ["doctor", "nurse", "engineer", "teacher", "president", "scientist", "actor", "actress"]
            if w in vectors]
    before = {w: float(evaluation.cosine_similarity(vectors[w], g)) for w in jobs}
    fair = debias.debias(vectors, g)
    for w in jobs:
        print(f"{w:>10}: cos with g before {before[w]:+.3f}, after {float(evaluation.cosine_similarity(fair[w], g)):+.3f}")
    u = evaluation.unit_rows(vectors.matrix[vectors.indices([pairs[0][0], pairs[0][1]])])
    e1, e2 = debias.equalize(u[0], u[1], g)
    x = debias.neutralize(u[0] + u[1], g)  # some vector with no component along g
    print("after equalising, distances to a neutral vector:", float(jnp.linalg.norm(e1 - x)), float(jnp.linalg.norm(e2 - x)))
else:
    print("the vectors know none of the definitional pairs (tiny corpus)")
""",
    """md:## Transfer: sentence polarity with pretrained embeddings

`experiments/sentiment.py` trains `jaxseq.classifier` (embedding → LSTM → softmax) on 200 labelled
movie-review sentences with three embeddings: random, pretrained and frozen, pretrained and
fine-tuned, scored by cross-validation. Here it reuses the vectors above.""",
    """
import importlib.util, pathlib, jaxseq
path = pathlib.Path(jaxseq.__file__).resolve().parent.parent / "experiments" / "sentiment.py"
try:
    spec = importlib.util.spec_from_file_location("sentiment", path)
    sentiment = importlib.util.module_from_spec(spec); spec.loader.exec_module(sentiment)
    args = ["--vectors", "vectors.txt", "--out", "runs/sentiment"]
    args += ["--preset", "tiny"] if TINY else ["--folds", "5", "--seeds", "1"]
    summary = sentiment.main(args)
except (FileNotFoundError, ImportError) as e:
    print("skipped:", e)
""",
]

if __name__ == "__main__":
    write("03_word_embeddings.ipynb", WORD_EMBEDDINGS)
