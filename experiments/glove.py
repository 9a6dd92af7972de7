"""GloVe word vectors (Pennington et al. 2014), evaluated like experiments/word2vec.py.

    python experiments/glove.py                        # gensim's enwiki sample, ~1-2 min on a 2-core CPU
    python experiments/glove.py --x-max 100 --epochs 50 --corpus wikitext-2
    python experiments/glove.py --resume               # continue runs/glove from its last whole epoch

Default: the enwiki sample of gensim's test data (without gensim, the embedded corpus), window 10
with 1/distance weighting, symmetric, dim 100, AdaGrad at 0.05 for 25 epochs, W + W̃. x_max is 10
here rather than the paper's 100: in a corpus of half a million words almost every co-occurrence
count lies far below 100, so f(X) = (X/100)^¾ would all but switch the loss off (ρ ≈ 0 after 10
epochs; 0.2 with x_max = 10). Measured on the sample (2026-11-26): WordSim353 ρ 0.24, SimLex-999
ρ 0.13, analogies 1.8% — below word2vec's 0.50 / 0.24 / 3.5%: GloVe needs much larger corpora. Run
folder: runs/glove (see `jaxseq.embedding_runs`), plus the number of non-zero co-occurrences in
summary.json, and checkpoint.msgpack after every epoch: `--resume` continues a stopped run to the
vectors the whole run would have given (the co-occurrences are counted again; another corpus or
config is refused, naming what differs; --out, --pictures and --chunk-words may change).
"""
import dataclasses
import sys

from jaxseq import embedding_runs, experiment, glove, word_corpora


@dataclasses.dataclass(frozen=True)
class Config(glove.GloVeConfig):
    """GloVe word vectors (see the module docstring)."""

    corpus: str = "enwiki-sample"  # a name (enwiki-sample, default, pydocs, wikitext-2, ...) or a text file, a sentence a line
    max_words: int = 0
    dim: int = 100
    x_max: float = 10.0
    out: str = "runs/glove"
    pictures: bool = True
    resume: bool = False  # continue the run in `out` from its last whole epoch


PRESETS = {
    "tiny": dict(corpus="default", max_words=20_000, dim=16, epochs=3, min_count=3, window=5, pictures=False),
}


def train(config: Config, *, log=print):
    """Count, fit, save and evaluate; returns (glove.Result, summary)."""
    glove.check_config(config)
    source = word_corpora.open_sentences(config.corpus, max_words=config.max_words, fallback_to_embedded=True)
    sentences = source.sentences
    fields = {f.name for f in dataclasses.fields(glove.GloVeConfig)}
    core = glove.GloVeConfig(**{k: v for k, v in dataclasses.asdict(config).items() if k in fields})
    arrays = {"params": glove.Params, "adagrad": glove.AdaGradState}
    with embedding_runs.open_run(config, glove.Checkpoint, arrays, log) as (out, start, save):
        result = glove.train(sentences, core, log=log, on_epoch=save, resume=start)
    result.vocab.save(out / "vocab.json")
    summary = embedding_runs.finish_run(
        out, result.vectors, history=result.history, config=config, pictures=config.pictures, log=log,
        title="GloVe", extra={"wall_s": result.wall_s, "final_loss": result.history[-1]["loss"],
                              "cooccurrences": int(len(result.cooccurrence.values)), "corpus": source.name,
                              "resumed_after_epoch": start.epoch if start else 0})  # wall_s: this process's
    return result, summary


def main(argv=None):
    config = experiment.parse_config(Config, argv, presets=PRESETS, description=__doc__.split("\n\n")[0])
    _, summary = train(config)
    print(f"\nrun folder: {config.out}")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
