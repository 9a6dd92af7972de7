"""Word-level language model, reported in perplexity.

    python experiments/word_lm.py                          # embedded corpus, a few minutes on a CPU
    python experiments/word_lm.py --preset zaremba-small   # Zaremba et al. 2014's small PTB setup
    python experiments/word_lm.py --corpus wikitext-2 --hidden 650 --layers 2 --dropout 0.5

The zaremba-small preset: 2 × 200 LSTM, 20-step windows, batch 20, SGD lr 1 halved every epoch after
the 4th, 13 epochs, clipping at 5, no dropout, on the Penn Treebank (downloaded once, or placed by
hand where the error message says). Their test perplexity: 114.5. Expect several hours on a 2-core
CPU and minutes on a GPU.

Everything lands in runs/word_lm (see `jaxseq.lm_train`); `--resume` continues a run.
"""
import dataclasses
import sys

from jaxseq import experiment, lm_train
from jaxseq.lm_train import LMConfig, train


@dataclasses.dataclass(frozen=True)
class Config(LMConfig):
    """Word-level LM (see the module docstring)."""

    level: str = "word"
    embed: int = 128
    hidden: int = 256
    seq_len: int = 32
    batch: int = 32
    lr: float = 3e-3
    min_count: int = 2
    max_vocab: int = 10000
    steps: int = 1500
    sample_len: int = 40
    out: str = "runs/word_lm"


PRESETS = {
    "zaremba-small": dict(corpus="ptb", cell="lstm", embed=200, hidden=200, layers=2, seq_len=20, batch=20,
                          optimizer="sgd", lr=1.0, lr_decay=0.5, decay_after=4, epochs=13, clip=5.0, dropout=0.0,
                          min_count=1, max_vocab=0, eval_every=2000, ckpt_every=2000, max_eval_tokens=0),
    "tiny": dict(hidden=32, embed=16, seq_len=8, batch=8, steps=20, eval_every=10, ckpt_every=10,
                 max_eval_tokens=2000, sample_len=10, samples=2, max_vocab=500),
}


def main(argv=None):
    config = experiment.parse_config(Config, argv, presets=PRESETS, description=__doc__.split("\n\n")[0])
    _, summary = train(config)
    print("\n" + lm_train.summary_line(summary, config.level))
    for text in summary.get("samples", []):
        print("\n--- sample ---\n" + text)
    print(f"\nrun folder: {config.out}")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
