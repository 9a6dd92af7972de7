"""jaxseq: recurrent sequence models as pure JAX functions.

Cells (each with Params, init, init_carry, step): `rnn`, `gru`, `lstm`.
Unrolling and compositions: `unroll`, `bidirectional`, `stack`, `shapes`, `head`, `embedding`.
Training: `losses`, `bptt`.
"""
from jaxseq import bidirectional, bptt, embedding, gru, head, losses, lstm, rnn, shapes, stack
from jaxseq.unroll import lengths_to_mask, unroll

__all__ = [
    "rnn", "gru", "lstm",
    "unroll", "lengths_to_mask",
    "bidirectional", "stack", "shapes", "head", "embedding",
    "losses", "bptt",
]
__version__ = "0.1.0"
