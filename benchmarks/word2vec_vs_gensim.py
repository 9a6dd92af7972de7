"""jaxseq's word2vec against gensim's: same corpus, same settings, side by side in one process.

    python benchmarks/word2vec_vs_gensim.py                  # 3 seeds, ~1.5 min on a 2-core CPU
    python benchmarks/word2vec_vs_gensim.py --seeds 1 --json out.json

Corpus: the English Wikipedia sample in gensim's test data
(``enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``), tokenised by gensim's
``WikiCorpus`` (452,944 words in 106 articles). Articles are cut
into pieces of at most 10,000 words for both systems, because gensim's trainer silently ignores
words past the 10,000th of a sentence.

Settings: skip-gram with negative sampling, dim 100, window 5, 5 negatives, sample 1e-3,
min_count 5, 5 epochs. gensim (all cores as workers) at its default alpha 0.025 and at 0.05 and
0.1; jaxseq at the defaults of `jaxseq.word2vec.Word2VecConfig` (= experiments/word2vec.py's).
The systems alternate within each seed, so a busy machine slows them alike. Words/s is corpus
words × epochs over the whole training call, vocabulary pass included. jaxseq compiles its step
once per process: a one-epoch warm-up run before the seeds pays for it (its time is printed,
not counted), so every seed measures training as a second run in a process sees it. Quality:
Spearman ρ on WordSim353 and SimLex-999, accuracy on the Google analogies (3CosAdd over the whole
vocabulary), all by `jaxseq.evaluation`, which gives gensim's own figures on the same vectors
(tests/test_evaluation.py checks this). `--jaxseq` changes jaxseq's own options only (batch, lr,
...); the settings above apply to both systems. On a CPU jaxseq's step is its native kernel
(`jaxseq.word2vec_kernel`; the row says which step ran); `--xla-step` adds a row with the jitted
step (``kernel="xla"``), so the kernel's gain is measured in the same process.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

WIKI = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
SETTINGS = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)


def corpus_file(cache: Path) -> Path:
    """The tokenised sample, one piece of ≤ 10,000 words a line (built once, then cached)."""
    path = cache / "enwiki-sample-tokens.txt"
    if path.is_file():
        return path
    from gensim.corpora import WikiCorpus
    from gensim.test.utils import datapath

    cache.mkdir(parents=True, exist_ok=True)
    lines = []
    for tokens in WikiCorpus(datapath(WIKI), dictionary={}, processes=1).get_texts():
        lines += [" ".join(tokens[i:i + 10_000]) for i in range(0, len(tokens), 10_000)]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def evaluate(vectors) -> dict:
    from jaxseq import evaluation

    ws = evaluation.evaluate_word_pairs(vectors, "wordsim353")
    sl = evaluation.evaluate_word_pairs(vectors, "simlex999")
    an = evaluation.evaluate_analogies(vectors)
    return {"wordsim353": ws["spearman"], "simlex999": sl["spearman"], "analogy": an["accuracy"],
            "analogy_answered": an["total"], "wordsim_pairs": ws["pairs"], "simlex_pairs": sl["pairs"]}


def run_gensim(sentences, n_words, alpha, seed, workers):
    from gensim.models import Word2Vec

    from jaxseq.word_vectors import WordVectors

    t = time.perf_counter()
    model = Word2Vec(sentences, vector_size=SETTINGS["dim"], window=SETTINGS["window"], negative=SETTINGS["negative"],
                     sample=SETTINGS["sample"], min_count=SETTINGS["min_count"], epochs=SETTINGS["epochs"], sg=1, hs=0,
                     alpha=alpha, seed=seed, workers=workers)
    wall = time.perf_counter() - t
    vectors = WordVectors(tuple(model.wv.index_to_key), model.wv.vectors)
    return {"words_per_s": n_words * SETTINGS["epochs"] / wall, "wall_s": wall, "vocab": len(vectors),
            **evaluate(vectors)}


def jaxseq_config(seed, overrides):
    from jaxseq import word2vec

    return dataclasses.replace(word2vec.Word2VecConfig(), seed=seed, **SETTINGS, **overrides)


def run_jaxseq(path, n_words, seed, overrides):
    from jaxseq import word2vec

    config = jaxseq_config(seed, overrides)
    t = time.perf_counter()
    result = word2vec.train(str(path), config)
    wall = time.perf_counter() - t  # the whole call, vocabulary pass included, as for gensim
    return {"words_per_s": n_words * SETTINGS["epochs"] / wall, "wall_s": wall,
            "vocab": len(result.vectors), **evaluate(result.vectors)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.025, 0.05, 0.1])
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--cache", default=os.environ.get("JAXSEQ_DATA") or "~/.cache/jaxseq")
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument("--jaxseq", default="", help="jaxseq config overrides, e.g. 'lr=0.15,batch=2048'")
    parser.add_argument("--xla-step", action="store_true",
                        help="also run jaxseq with kernel='xla' (the jitted step instead of the CPU kernel)")
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("gensim").setLevel(logging.WARNING)
    import gensim
    import jax

    from jaxseq import experiment, word2vec

    if args.seeds < 1:
        parser.error(f"--seeds must be a positive integer; got {args.seeds}")
    try:
        overrides = experiment.parse_overrides(word2vec.Word2VecConfig, args.jaxseq, flag="--jaxseq")
    except ValueError as e:
        parser.error(str(e))
    for key in overrides:
        if key in SETTINGS or key == "seed":
            parser.error(f"--jaxseq: {key!r} is set for both systems by the benchmark "
                         f"({', '.join(SETTINGS)}, seed); only jaxseq's own options may be changed")
    path = corpus_file(Path(args.cache).expanduser())
    sentences = [line.split() for line in open(path, encoding="utf-8")]
    n_words = sum(len(s) for s in sentences)
    systems = [(f"gensim {gensim.__version__}, {args.workers} workers, alpha {a}", "gensim", a) for a in args.alphas]
    label = "jaxseq defaults" + (f" ({args.jaxseq})" if args.jaxseq else "")
    kernel = word2vec.resolve_kernel(jaxseq_config(0, overrides))
    systems.append((label + f" (kernel {kernel})", "jaxseq", overrides))
    if args.xla_step and kernel != "xla":
        systems.append((label + " (kernel xla: the jitted step)", "jaxseq", {**overrides, "kernel": "xla"}))
    results = {name: [] for name, _, _ in systems}

    t = time.perf_counter()
    for _, kind, jaxseq_overrides in systems:
        if kind == "jaxseq":
            word2vec.train(str(path), dataclasses.replace(jaxseq_config(0, jaxseq_overrides), epochs=1))
    warmup_s = time.perf_counter() - t
    print(f"jaxseq warm-up (compilation + 1 epoch, not counted): {warmup_s:.2f} s", file=sys.stderr, flush=True)
    for seed in range(1, args.seeds + 1):
        for name, kind, setting in systems:  # setting: gensim's alpha, or jaxseq's config overrides
            r = (run_gensim(sentences, n_words, setting, seed, args.workers) if kind == "gensim"
                 else run_jaxseq(path, n_words, seed, setting))
            results[name].append(r)
            print(f"seed {seed} | {name}: {r['words_per_s']:,.0f} words/s, WS353 {r['wordsim353']:.3f}, "
                  f"SimLex {r['simlex999']:.3f}, analogy {100 * r['analogy']:.2f}%", file=sys.stderr, flush=True)
    device = f"{jax.devices()[0].device_kind} ({jax.devices()[0].platform}), {os.cpu_count()} CPU cores"
    print(f"\n{datetime.date.today()}, {device}, Python {platform.python_version()}, jax {jax.__version__}, "
          f"gensim {gensim.__version__}, numpy {np.__version__}; corpus {n_words:,} words, {args.seeds} seed(s): "
          f"median words/s, mean ± sd of the quality figures; jaxseq's warm-up (compilation + 1 epoch) "
          f"took {warmup_s:.2f} s\n")
    print("| system | corpus words/s | WordSim353 ρ | SimLex-999 ρ | analogy accuracy |")
    print("|---|---|---|---|---|")
    for name, _, _ in systems:
        rs = results[name]

        def ms(key, scale=1.0, digits=3):
            vals = [scale * r[key] for r in rs]
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            return f"{statistics.mean(vals):.{digits}f} ± {sd:.{digits}f}"

        wps = statistics.median(r["words_per_s"] for r in rs)
        print(f"| {name} | {wps:,.0f} | {ms('wordsim353')} | {ms('simlex999')} | {ms('analogy', 100, 2)}% |")
    if args.json:
        from jaxseq._files import write_text_atomic

        write_text_atomic(args.json, json.dumps({"device": device, "kernel": kernel, "warmup_s": warmup_s,
                                                 "results": results}, indent=2))


if __name__ == "__main__":
    main()
