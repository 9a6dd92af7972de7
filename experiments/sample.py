"""Sample novel text from a trained language model's run folder.

    python experiments/sample.py runs/char_lm --prompt "The " --n 3 --length 300 --temperature 0.7
    python experiments/sample.py runs/char_lm --top-k 5 --seed 1
    python experiments/sample.py runs/word_lm --top-p 0.9

Generation runs in one compiled scan (`jaxseq.sampling.sample`). The same seed gives the same text.
"""
import argparse
import sys

from jaxseq.lm_train import load_run, sample_texts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a run folder written by char_lm.py or word_lm.py")
    p.add_argument("--prompt", default="", help="text to continue")
    p.add_argument("--n", type=int, default=3, help="number of samples")
    p.add_argument("--length", type=int, default=200, help="tokens to generate per sample")
    p.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for flag, value in (("--n", args.n), ("--length", args.length)):
        if value < 1:
            p.error(f"{flag} must be a positive integer; got {value}")
    config, vocab, params = load_run(args.run)
    texts = sample_texts(params, vocab, config.level, args.prompt, n=args.n, length=args.length,
                         temperature=args.temperature, seed=args.seed, top_k=args.top_k, top_p=args.top_p)
    for text in texts:
        print("--- sample ---\n" + text + "\n")
    return texts


if __name__ == "__main__":
    main(sys.argv[1:])
