"""Score sentences with a trained language model: "what was most likely said".

    python experiments/score.py runs/word_lm "the cat sat on the mat" "the cat sat on the hat"
    python experiments/score.py runs/char_lm "recognize speech" "wreck a nice beach"

Prints log P(sentence) in nats (total, per token) for each sentence and, for two or more, the most
likely one. The score includes the sentence's end (<eos>, or a newline at the character level), as
every line ended in training: a sentence cut short is scored as a whole sentence, not as a prefix.
"""
import argparse
import sys

import jax.numpy as jnp
import numpy as np

from jaxseq import scoring
from jaxseq.lm_train import encode_sentence, load_run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a run folder written by char_lm.py or word_lm.py")
    p.add_argument("sentences", nargs="+", help="sentences to score")
    args = p.parse_args(argv)
    config, vocab, params = load_run(args.run)
    scores = []
    for sentence in args.sentences:
        ids = encode_sentence(vocab, config.level, sentence)  # [start] + tokens + [end]
        s = scoring.log_likelihood(params, jnp.asarray(ids[1:]), int(ids[0]))
        scores.append(float(s.total))
        n = len(ids) - 1
        print(f"log P = {float(s.total):9.3f} nats  ({float(s.total) / n:7.3f} per token, {n} tokens)  {sentence!r}")
    if len(scores) > 1:
        print(f"most likely: {args.sentences[int(np.argmax(scores))]!r}")
    return scores


if __name__ == "__main__":
    main(sys.argv[1:])
