"""jaxseq: recurrent sequence models as pure JAX functions.

Cells (each with Params, init, init_carry, step): `rnn`, `gru`, `lstm`.
Unrolling and compositions: `unroll`, `bidirectional`, `stack`, `shapes`, `head`, `embedding`.
Training: `losses`, `bptt`. Interop with PyTorch and flax: `interop`; flax Modules: `jaxseq.flax_modules`.
Language models: `vocab`, `corpora`, `batching`, `lm`, `lm_train`, `sampling`, `scoring`.
"""
from jaxseq import bidirectional, bptt, cell, diagnostics, embedding, gru, head, interop, losses, lstm, rnn, shapes, stack
from jaxseq.unroll import lengths_to_mask, unroll

__all__ = [
    "rnn", "gru", "lstm",
    "unroll", "lengths_to_mask",
    "bidirectional", "stack", "shapes", "head", "embedding",
    "cell", "losses", "bptt", "interop", "diagnostics",
]
__version__ = "0.1.0"
