"""Word embeddings from a neural probabilistic language model (Bengio et al. 2003), with the
course's four kinds of context.

    python experiments/nplm.py                            # last 4 words → next word, ~3 min on a 2-core CPU
    python experiments/nplm.py --context both --n 4       # 4 words each side → the middle word
    python experiments/nplm.py --context last_word
    python experiments/nplm.py --context nearby --n 5     # one nearby word (the skip-gram idea)
    python experiments/nplm.py --resume                   # continue runs/nplm from its last whole epoch

Default: gensim's enwiki sample (the embedded corpus without gensim), a 10,000-word vocabulary
(<unk> for the rest), e = 64, 128 tanh units, full softmax, Adam 1e-3, 3 epochs, the last 5% of
sentences held out for a validation perplexity. The embedding C is evaluated like
experiments/word2vec.py's vectors. Measured (2-core CPU, 2026-11-26): validation perplexity 621,
WordSim353 ρ 0.07, SimLex-999 ρ 0.02 after 3 epochs (~50 s each) — far weaker vectors than
word2vec's ρ 0.50 in 8 s: a full softmax costs v · h per example where negative sampling costs
6 · e, the reason word2vec simplified this model. Run folder: runs/nplm (see
`jaxseq.embedding_runs`), with checkpoint.msgpack after every epoch: `--resume` continues a stopped
run to the vectors the whole run would have given (another corpus or config is refused, naming what
differs; --out and --pictures may change).
"""
import dataclasses
import sys

from jaxseq import embedding_runs, experiment, nplm, word_corpora


@dataclasses.dataclass(frozen=True)
class Config(nplm.NPLMConfig):
    """NPLM word embeddings (see the module docstring)."""

    corpus: str = "enwiki-sample"  # a name (enwiki-sample, default, pydocs, wikitext-2, ...) or a text file, a sentence a line
    max_words: int = 0
    out: str = "runs/nplm"
    pictures: bool = True
    resume: bool = False  # continue the run in `out` from its last whole epoch


PRESETS = {
    "tiny": dict(corpus="default", max_words=20_000, dim=16, hidden=16, epochs=1, max_vocab=1000, min_count=2,
                 batch=256, pictures=False),
}


def train(config: Config, *, log=print):
    """Train, save and evaluate; returns (nplm.Result, summary)."""
    nplm.check_config(config)  # before the run folder is cleared
    source = word_corpora.open_sentences(config.corpus, max_words=config.max_words, fallback_to_embedded=True)
    sentences = source.sentences
    fields = {f.name for f in dataclasses.fields(nplm.NPLMConfig)}
    core = nplm.NPLMConfig(**{k: v for k, v in dataclasses.asdict(config).items() if k in fields})
    with embedding_runs.open_run(config, nplm.Checkpoint, {"params": dict, "opt_state": dict}, log) as (out, start, save):
        result = nplm.train(sentences, core, log=log, on_epoch=save, resume=start)
    result.vocab.save(out / "vocab.json")
    last = result.history[-1]
    summary = embedding_runs.finish_run(
        out, result.vectors, history=result.history, config=config, pictures=config.pictures, log=log,
        title=f"NPLM, context {config.context}",
        extra={"wall_s": result.wall_s, "final_loss": last["loss"], "valid_loss": last.get("valid_loss"),
               "valid_perplexity": last.get("valid_perplexity"), "corpus": source.name, "devices": result.devices,
               "resumed_after_epoch": start.epoch if start else 0})  # wall_s: this process's
    return result, summary


def main(argv=None):
    config = experiment.parse_config(Config, argv, presets=PRESETS, description=__doc__.split("\n\n")[0])
    _, summary = train(config)
    print(f"\nrun folder: {config.out}")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
