"""Character-level language model — jaxseq's main job.

    python experiments/char_lm.py                        # embedded corpus, ~2-4 min on a 2-core CPU
    python experiments/char_lm.py --corpus tiny-shakespeare --steps 5000
    python experiments/char_lm.py --preset gpu           # a bigger model for an accelerator
    python experiments/char_lm.py --resume --steps 4000  # continue runs/char_lm to 4000 steps

Default: a one-layer LSTM (256 units) on the embedded "pydocs" corpus (English prose from the Python
standard library's docstrings), 2500 steps of 32 × 64 characters with Adam 3e-3 and clipping at 5.
Expected (Python 3.11, 2-core CPU, 2026-11-26): validation 1.92 bits per character against a unigram
baseline of 4.54, 23k-50k characters/s (by the load), samples that spell most common English words. Everything
lands in runs/char_lm (see `jaxseq.lm_train`).
"""
import dataclasses
import sys

from jaxseq import experiment, lm_train
from jaxseq.lm_train import LMConfig, train


@dataclasses.dataclass(frozen=True)
class Config(LMConfig):
    """Character-level LM on the embedded corpus (see the module docstring)."""

    level: str = "char"
    steps: int = 2500
    eval_every: int = 500
    ckpt_every: int = 500
    out: str = "runs/char_lm"


PRESETS = {
    # an accelerator: 2 × 512 LSTM, longer windows, more steps
    "gpu": dict(hidden=512, layers=2, embed=128, seq_len=128, batch=128, steps=5000, dropout=0.2, eval_every=500,
                ckpt_every=500, lr=2e-3),
    # seconds, for smoke tests and notebooks
    "tiny": dict(hidden=32, embed=16, seq_len=16, batch=8, steps=20, eval_every=10, ckpt_every=10,
                 max_eval_tokens=2000, sample_len=40, samples=2),
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
