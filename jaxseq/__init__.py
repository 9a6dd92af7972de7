"""jaxseq: recurrent sequence models as pure JAX functions.

Cells (each with Params, init, init_carry, step): `rnn`, `gru`, `lstm`.
Unrolling and compositions: `unroll`, `bidirectional`, `stack`, `shapes`, `head`, `embedding`.
Training: `losses`, `bptt`. Interop with PyTorch and flax: `interop`; flax Modules: `jaxseq.flax_modules`.
Language models: `vocab`, `corpora` (`pydocs`: the embedded corpus), `batching`, `lm`, `lm_train`, `sampling`,
`scoring`, `diagnostics`.
Sequence to sequence and classification: `classifier`, `tagger`, `attention`, `seq2seq`, `bleu`, `ctc`,
`dates`, `supervised`.
Word embeddings: `word_vectors`, `word2vec` (`word2vec_pipeline`: examples built on the device), `glove`,
`nplm`, `evaluation`, `debias`, `word_plots`, `word_corpora`, `embedding_runs` (imported on use).
Speed and scale: `fused` (custom-VJP fast path, `unroll(impl=...)`), `tune`, `cudnn`, `parallel`.
"""
from jaxseq import (attention, bidirectional, bleu, bptt, cell, classifier, ctc, diagnostics, embedding, gru, head,
                    interop, losses, lstm, parallel, rnn, seq2seq, shapes, stack, tagger, tune)
from jaxseq.unroll import lengths_to_mask, unroll

__all__ = [
    "rnn", "gru", "lstm",
    "unroll", "lengths_to_mask",
    "bidirectional", "stack", "shapes", "head", "embedding",
    "cell", "losses", "bptt", "interop", "diagnostics",
    "classifier", "tagger", "attention", "seq2seq", "bleu", "ctc", "parallel", "tune",
]
__version__ = "0.1.0"
