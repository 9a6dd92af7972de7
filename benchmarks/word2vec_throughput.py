"""jaxseq's word2vec alone: corpus words/s and quality, on whatever device JAX has (the GPU check of issue 5).

    python benchmarks/word2vec_throughput.py --preset gpu --json out/word2vec.json
    python benchmarks/word2vec_throughput.py --export .gpu_data   # here, with gensim: the data for a machine without it
    JAXSEQ_DATA=.gpu_data python benchmarks/word2vec_throughput.py --preset gpu   # there

Settings: benchmarks/word2vec_vs_gensim.py's (skip-gram, negative sampling, dim 100, window 5,
5 negatives, sample 1e-3, min count 5, 5 epochs) on the same corpus (gensim's enwiki sample,
452,944 words), with the batch settings of a preset of experiments/word2vec.py ("gpu": batch 16,384,
lr 0.3) and the example pipeline that `pipeline="auto"` picks (on an accelerator, the device one).
`--runs` identical runs in one process; the first pays the compilation. Reported per run:

* whole call: corpus words × epochs / the whole `word2vec.train` call (vocabulary pass included);
* steady: corpus words × (epochs − 2) / the time of epochs 2 … E − 1 (the speed once compiled and going;
  each of those epochs' time holds one epoch of training and the building of the next epoch's examples,
  which the last epoch lacks, so it is left out);
* WordSim353 and SimLex-999 Spearman ρ and the Google analogy accuracy of the last run's vectors.

On an accelerator the JSON's "met" is issue 5's target, judged on the best whole call (≥ 10M words/s;
with `--runs 2` or more, a run that does not pay the compilation); "met_steady" says the same of the
steady rate.

Without gensim, the corpus and the benchmark files are read from the data cache ($JAXSEQ_DATA):
`--export DIR`, run where gensim is installed, writes them into DIR (enwiki-sample/tokens.txt and
word-benchmarks/), a folder to carry to the machine without it.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "experiments"))
import word2vec as w2v_experiment  # noqa: E402  (experiments/word2vec.py: its presets)

from jaxseq import evaluation, experiment, word2vec, word_corpora  # noqa: E402
from jaxseq._files import write_text_atomic  # noqa: E402

SETTINGS = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)
TARGET_GPU_WORDS_PER_S = 10_000_000


def export(dest: Path) -> None:
    tokens = word_corpora.enwiki_sample_path(cache=dest)
    files = evaluation.copy_test_data(dest)
    print(f"wrote {tokens} and {', '.join(files)}\nuse: JAXSEQ_DATA={dest} python benchmarks/word2vec_throughput.py ...")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="gpu", choices=["", *sorted(w2v_experiment.PRESETS)],
                    help="a preset of experiments/word2vec.py ('' = its defaults): 'gpu' sets the batch settings; "
                    "'tiny', a smoke test, also shrinks dim, epochs and min count")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--set", default="", help="further config overrides, e.g. 'batch=32768,lr=0.4'")
    ap.add_argument("--repeat", type=int, default=1, help="train on the corpus written this many times over "
                    "(whole-call words/s where the one-off costs weigh less; the quality figures then mean little)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--export", type=Path, default=None, metavar="DIR", help="write the corpus and benchmark files "
                    "into DIR for a machine without gensim, then stop")
    args = ap.parse_args(argv)
    if args.export:
        export(args.export)
        return {}
    fields = {f.name for f in dataclasses.fields(word2vec.Word2VecConfig)}
    overrides = {k: v for k, v in (w2v_experiment.PRESETS[args.preset] if args.preset else {}).items() if k in fields}
    try:
        overrides.update(experiment.parse_overrides(word2vec.Word2VecConfig, args.set, flag="--set"))
    except ValueError as e:
        ap.error(str(e))
    config = dataclasses.replace(word2vec.Word2VecConfig(), **{**SETTINGS, **overrides})
    for flag, value in (("--repeat", args.repeat), ("--runs", args.runs)):
        if value < 1:
            ap.error(f"{flag} must be a positive integer; got {value}")
    path = word_corpora.enwiki_sample_path()
    n_words = sum(len(line.split()) for line in path.open(encoding="utf-8")) * args.repeat
    if args.repeat > 1:
        text = path.read_text(encoding="utf-8")
        scratch = tempfile.TemporaryDirectory(prefix="jaxseq-w2v-")  # removed when the process ends
        path = Path(scratch.name) / "repeated.txt"
        path.write_text((text if text.endswith("\n") else text + "\n") * args.repeat, encoding="utf-8")

    import jax

    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "device": str(jax.devices()[0]), "backend": jax.default_backend(), "jax": jax.__version__,
        "python": sys.version.split()[0], "pipeline": word2vec.resolve_pipeline(config.pipeline),
        "kernel": word2vec.resolve_kernel(config),
        "corpus_words": n_words, "repeat": args.repeat, "config": dataclasses.asdict(config), "runs": [],
    }

    def save():
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(args.json, json.dumps(report, indent=1))

    runs = report["runs"]
    for r in range(args.runs):
        t = time.perf_counter()
        result = word2vec.train(str(path), config)
        wall = time.perf_counter() - t
        # epochs 2 … E − 1: training + the next epoch's examples each (with 2 epochs: the second alone)
        middle = result.history[1:-1] or result.history[1:]
        later = sum(h["seconds"] for h in middle)
        runs.append({"whole_call_words_per_s": n_words * config.epochs / wall, "wall_s": wall,
                     "steady_words_per_s": n_words * len(middle) / later if later else float("nan"),
                     "epoch_seconds": [h["seconds"] for h in result.history],
                     "final_loss": result.history[-1]["loss"]})
        report["best_steady_words_per_s"] = max(r["steady_words_per_s"] for r in runs)
        report["median_whole_call_words_per_s"] = statistics.median(r["whole_call_words_per_s"] for r in runs)
        # the best run is one after the first (which pays the compilation) when there are several
        report["best_whole_call_words_per_s"] = max(r["whole_call_words_per_s"] for r in runs)
        if report["backend"] != "cpu":  # the target counts the whole call, vocabulary pass included
            report["target_words_per_s"] = TARGET_GPU_WORDS_PER_S
            report["met"] = report["best_whole_call_words_per_s"] >= TARGET_GPU_WORDS_PER_S
            report["met_steady"] = report["best_steady_words_per_s"] >= TARGET_GPU_WORDS_PER_S
        save()  # after every run: a run cut short by a time limit keeps the earlier ones
        print(f"run {r + 1}: {runs[-1]['whole_call_words_per_s']:,.0f} words/s whole call, "
              f"{runs[-1]['steady_words_per_s']:,.0f} steady (epochs 2-{max(config.epochs - 1, 2)}), {wall:.2f} s", flush=True)
    figures = evaluation.evaluate(result.vectors)
    report.update({k: v for k, v in figures.items() if k.endswith(("_spearman", "_accuracy", "_error"))})
    save()
    fmt = lambda key, scale=1.0, unit="": f"{scale * report[key]:.3f}{unit}" if report.get(key) is not None else "—"
    print(f"{report['device']} ({report['pipeline']} pipeline, kernel {report['kernel']}), batch {config.batch}, lr {config.lr}: "
          f"best steady {report['best_steady_words_per_s']:,.0f} words/s; WordSim353 ρ {fmt('wordsim353_spearman')}, "
          f"SimLex-999 ρ {fmt('simlex999_spearman')}, analogies {fmt('analogy_accuracy', 100, '%')}"
          + "".join(f"; {k}: {v}" for k, v in report.items() if k.endswith("_error")))
    if "met" in report:
        print(f"target {TARGET_GPU_WORDS_PER_S:,} words/s, whole call: {'met' if report['met'] else 'NOT met'} "
              f"(best whole call {report['best_whole_call_words_per_s']:,.0f}; steady "
              f"{'met' if report['met_steady'] else 'not met'})")
    return report


if __name__ == "__main__":
    main()
