"""word2vec (skip-gram, negative sampling) word vectors, evaluated on WordSim353, SimLex-999 and the
Google analogies.

    python experiments/word2vec.py                       # gensim's enwiki sample, ~15 s on a 2-core CPU
    python experiments/word2vec.py --model cbow --epochs 10
    python experiments/word2vec.py --corpus wikitext-2 --min-count 3
    python experiments/word2vec.py --corpus my_corpus.txt   # one sentence a line, streamed from disk
    python experiments/word2vec.py --preset gpu           # larger batches for an accelerator
    python experiments/word2vec.py --pipeline device      # build examples on the device (the default off the CPU)
    python experiments/word2vec.py --kernel xla           # the jitted step instead of the CPU kernel
    python experiments/word2vec.py --resume               # continue runs/word2vec from its last whole epoch

Default: the 452,944-word English Wikipedia sample of gensim's test data (tokenised by gensim's
WikiCorpus; without gensim, the embedded "pydocs" corpus), dim 100, window 5, 5 negatives, sample
1e-3, min count 5, 5 epochs, batches of 2048 examples at lr 0.13 with ÷√k per-row scaling — the
settings that matched or beat gensim's best alpha in benchmarks/README.md — and, on a CPU, the step
as a native kernel (`jaxseq.word2vec_kernel`, built on first use with the machine's C++ compiler).
Expected (seeds 0-5 on a CPU): WordSim353 ρ 0.49-0.57 (0.569 at the default seed 0, mean 0.52),
SimLex-999 ρ 0.23-0.27, analogies 2.9-3.6% (the corpus is far too small for analogies: gensim
reaches ≈ 2.3-2.8%). Run folder: runs/word2vec (see
`jaxseq.embedding_runs`), with checkpoint.msgpack written after every epoch: `--resume` continues
a stopped run to the vectors the whole run would have given (a checkpoint of another corpus or
config is refused, naming what differs; --out, --progress, --pictures, --cache-words and --kernel may
change).
"""
import dataclasses
import sys

from jaxseq import embedding_runs, experiment, word2vec, word_corpora


@dataclasses.dataclass(frozen=True)
class Config(word2vec.Word2VecConfig):
    """word2vec word vectors (see the module docstring)."""

    corpus: str = "enwiki-sample"  # a name (enwiki-sample, default, pydocs, wikitext-2, ...) or a text file, a sentence a line
    max_words: int = 0  # > 0: only the first sentences, up to this many words
    out: str = "runs/word2vec"
    pictures: bool = True
    progress: bool = True
    resume: bool = False  # continue the run in `out` from its last whole epoch


PRESETS = {
    # an accelerator: larger batches at a higher rate (÷√k keeps them stable)
    "gpu": dict(batch=16384, lr=0.3, steps_per_call=64),
    # seconds, for smoke tests and notebooks
    "tiny": dict(corpus="default", max_words=20_000, dim=16, epochs=2, min_count=3, batch=256, steps_per_call=4,
                 pictures=False, progress=False),
}


def train(config: Config, *, log=print):
    """Train, save and evaluate; returns (word2vec.Result, summary)."""
    word2vec.check_config(config)
    source = word_corpora.open_sentences(config.corpus, max_words=config.max_words, fallback_to_embedded=True)
    sentences = source.sentences
    fields = {f.name for f in dataclasses.fields(word2vec.Word2VecConfig)}
    core = word2vec.Word2VecConfig(**{k: v for k, v in dataclasses.asdict(config).items() if k in fields})
    with embedding_runs.open_run(config, word2vec.Checkpoint, {"params": word2vec.Params}, log) as (out, start, save):
        result = word2vec.train(sentences, core, log=log, progress=config.progress, on_epoch=save, resume=start)
    result.vocab.save(out / "vocab.json")
    log(f"{len(result.vocab):,} words; {result.words_per_s:,.0f} corpus words/s over {result.wall_s:.1f} s")
    summary = embedding_runs.finish_run(
        out, result.vectors, history=result.history, config=config, pictures=config.pictures, log=log,
        title=f"word2vec {config.model}, {config.loss}",
        extra={"words_per_s": result.words_per_s, "wall_s": result.wall_s, "final_loss": result.history[-1]["loss"],
               "corpus": source.name, "corpus_words": result.history[-1]["words"],
               "resumed_after_epoch": start.epoch if start else 0,  # words/s and wall_s: this process's epochs
               "pipeline": word2vec.resolve_pipeline(core.pipeline), "kernel": word2vec.resolve_kernel(core)})
    return result, summary


def main(argv=None):
    config = experiment.parse_config(Config, argv, presets=PRESETS, description=__doc__.split("\n\n")[0])
    _, summary = train(config)
    print(f"\nrun folder: {config.out}")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
