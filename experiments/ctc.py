"""CTC on a synthetic speech-like task: noisy frames of symbols with variable durations → the symbol
sequence, no alignment given.

    python experiments/ctc.py                    # ~25-30 s on a busy 2-core CPU
    python experiments/ctc.py --preset tiny      # seconds: a smoke test

The data: an utterance is 3-8 symbols drawn from 8 (repeats allowed). Each symbol has a random
prototype vector in 16 dimensions; it is "spoken" for 2-5 frames (its prototype under a random
loudness envelope, plus Gaussian noise), with 0-2 frames of silence (noise only) between symbols and
at the ends — at least one frame of silence between two copies of the same symbol, as a speaker
pauses between "a" and "a" (without it "aa" and a long "a" would be the same signal). The
network never sees where a symbol starts or ends: CTC sums over every alignment.

Model: a bidirectional LSTM (2 × 64) over the frames and a softmax over the 8 symbols and the blank
at every frame; `jaxseq.ctc.loss` (optax's CTC), Adam 3e-3, 1000 steps of 32 utterances.

Expected on 200 held-out utterances: label error rate (edit distance / reference length) ≤ 5% with
the greedy best-path decoder and the same or slightly better with prefix beam search (width 8);
measured 2.4% and 2.1%.
The run folder (runs/ctc) holds config.json, metrics.csv, loss.png, ler.png, examples.txt,
checkpoint.msgpack and summary.json with ``label_error_rate`` = {"greedy": ..., "prefix_beam": ...}.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxseq import bidirectional, bptt, cell, checkpoint, ctc, experiment, head, parallel, supervised
from jaxseq.typing import Array, PyTree

BLANK = 0


@dataclasses.dataclass(frozen=True)
class Config:
    """CTC on synthetic spoken symbols (see the module docstring)."""

    symbols: int = 8  # distinct labels (the blank is one more)
    features: int = 16  # features per frame
    min_labels: int = 3  # the fewest labels an utterance has
    max_labels: int = 8  # the most labels an utterance has
    min_duration: int = 2  # the fewest frames a label lasts
    max_duration: int = 5  # the most frames a label lasts
    max_gap: int = 2  # the most silent frames between labels
    noise: float = 0.7  # the standard deviation of the frames' noise
    n_train: int = 4000  # training utterances
    n_test: int = 200  # test utterances
    cell: str = "lstm"
    hidden: int = 64  # units per direction of the bidirectional encoder
    steps: int = 1000
    batch: int = 32
    lr: float = 3e-3
    clip: float = 5.0
    beam: int = 8  # the width of the prefix beam search
    eval_every: int = 200  # steps between evaluations
    seed: int = 0
    out: str = "runs/ctc"
    progress: bool = True


PRESETS = {
    "tiny": dict(n_train=64, n_test=8, cell="rnn", hidden=8, steps=4, batch=8, eval_every=2, beam=2, max_labels=4),
}


class Utterances(NamedTuple):
    frames: np.ndarray         # (t, n, features) float32, right-padded
    frame_lengths: np.ndarray  # (n,)
    labels: np.ndarray         # (u, n) int32 in 1..symbols, right-padded with the blank
    label_lengths: np.ndarray  # (n,)


def max_frames(config: Config) -> int:
    # a repeated symbol forces a gap of at least one frame, even with max_gap = 0
    return config.max_labels * (config.max_duration + max(config.max_gap, 1)) + config.max_gap


def prototypes(config: Config) -> np.ndarray:
    """One random unit-scale vector per symbol; row 0 (silence) is zero."""
    rng = np.random.default_rng([config.seed, 99])
    protos = rng.normal(size=(config.symbols + 1, config.features)).astype(np.float32)
    protos[0] = 0.0
    return protos


def make_utterances(n: int, config: Config, seed: int) -> Utterances:
    """``n`` utterances (module docstring), a pure function of (config, seed)."""
    rng = np.random.default_rng([seed, n])
    protos = prototypes(config)
    frames, labels = [], []
    for _ in range(n):
        y = rng.integers(1, config.symbols + 1, size=rng.integers(config.min_labels, config.max_labels + 1))
        segments = []
        for i, s in enumerate(y):
            gap = rng.integers(0, config.max_gap + 1)
            if i > 0 and s == y[i - 1]:
                gap = max(gap, 1)
            segments += [0] * gap
            d = rng.integers(config.min_duration, config.max_duration + 1)
            segments += [s] * d
        segments += [0] * rng.integers(0, config.max_gap + 1)
        seg = np.asarray(segments)
        loudness = rng.uniform(0.6, 1.2, size=(len(seg), 1)).astype(np.float32)
        x = protos[seg] * loudness + config.noise * rng.normal(size=(len(seg), config.features)).astype(np.float32)
        frames.append(x.astype(np.float32))
        labels.append(y.astype(np.int32))
    xs, x_len = supervised.pad(frames, length=max_frames(config))
    ys, y_len = supervised.pad(labels, pad_value=BLANK, length=config.max_labels)
    return Utterances(xs, x_len, ys, y_len)


class Params(NamedTuple):
    rnn: PyTree   # bidirectional.Params
    head: head.Params


def init(key, config: Config) -> Params:
    k_r, k_h = jax.random.split(key)
    init_cell = lambda k, i, h: cell.init(config.cell, k, i, h)
    return Params(bidirectional.init(k_r, init_cell, config.features, config.hidden),
                  head.init(k_h, 2 * config.hidden, config.symbols + 1))


def apply(params: Params, frames: Array, frame_lengths: Array) -> Array:
    """Per-frame logits (t, ..., symbols + 1) over [blank, symbols]."""
    carry = bidirectional.init_carry(cell.init_carry_for, params.rnn, frames.shape[1:-1])
    _, a = bidirectional.unroll(cell.step_for(params.rnn.fwd), params.rnn, carry, frames, lengths=frame_lengths)
    return head.apply(params.head, a)


def loss(params: Params, frames, frame_lengths, labels, label_lengths) -> Array:
    return ctc.loss(apply(params, frames, frame_lengths), frame_lengths, labels, label_lengths, blank_id=BLANK)


def check(config: Config) -> None:
    from jaxseq import _checks

    _checks.one_of("cell", config.cell, cell.KINDS)
    for name in ("symbols", "features", "min_labels", "max_labels", "min_duration", "max_duration", "n_train",
                 "n_test", "hidden", "steps", "batch", "beam", "eval_every"):
        _checks.positive_int(name, getattr(config, name))
    if config.min_labels > config.max_labels or config.min_duration > config.max_duration:
        raise ValueError("`min_labels` and `min_duration` must not exceed `max_labels` and `max_duration`; got "
                         f"{config.min_labels} > {config.max_labels} or {config.min_duration} > {config.max_duration}")
    if config.batch > config.n_train:
        raise ValueError(f"`batch` must be <= `n_train` = {config.n_train}; got {config.batch}")
    _checks.positive_finite("lr", config.lr)
    _checks.clip_norm("clip", config.clip)
    _checks.nonnegative_int("max_gap", config.max_gap)
    _checks.nonnegative_finite("noise", config.noise, " (a standard deviation)")  # NaN frames trained to NaN


def train(config: Config, *, log=print) -> tuple[bptt.TrainState, dict]:
    check(config)
    data = make_utterances(config.n_train, config, config.seed)
    test = make_utterances(config.n_test, config, config.seed + 1)
    ctc.check_targets(data.frame_lengths, data.labels, data.label_lengths, num_classes=config.symbols + 1)
    out = experiment.prepare_run_dir(config.out, resume=False)
    experiment.write_config(out, config)
    metrics = experiment.Metrics(out / "metrics.csv")
    log(f"{config.n_train} training and {config.n_test} held-out utterances; {data.frames.shape[0]} frames at most, "
        f"{config.min_labels}-{config.max_labels} symbols each")

    optimizer = bptt.clipped(optax.adam(config.lr), config.clip)
    train_step = parallel.data_parallel(jax.jit(bptt.make_train_step(loss, optimizer)),  # over the local devices
                                        batch_argnums=(1, 2, 3, 4), batch_axis=(1, 0, 1, 0),
                                        batch_size=config.batch)
    logits_fn = jax.jit(apply)
    order = supervised.Minibatches(config.n_train, config.batch, config.seed)

    def batch_at(step):
        idx = order.at(step)
        return (jnp.asarray(data.frames[:, idx]), jnp.asarray(data.frame_lengths[idx]),
                jnp.asarray(data.labels[:, idx]), jnp.asarray(data.label_lengths[idx]))

    refs = [data_row[: n].tolist() for data_row, n in zip(test.labels.T, test.label_lengths)]
    test_args = (jnp.asarray(test.frames), jnp.asarray(test.frame_lengths))

    def greedy_ler(params):
        logits = logits_fn(params, *test_args)
        hyps = ctc.to_lists(*ctc.greedy_decode(logits, test_args[1], blank_id=BLANK))
        return ctc.label_error_rate(hyps, refs), hyps, logits

    def evaluate(state):
        return {"ler_greedy": greedy_ler(state.params)[0]}

    t0 = time.perf_counter()
    params = init(jax.random.PRNGKey(config.seed), config)
    state, times = supervised.fit(train_step, bptt.init_train_state(params, optimizer), batch_at, steps=config.steps,
                                  eval_every=config.eval_every, evaluate=evaluate, metrics=metrics,
                                  progress=config.progress, desc="ctc", log=log)
    ler_greedy, greedy_hyps, logits = greedy_ler(state.params)
    t_beam = time.perf_counter()
    beam_hyps = ctc.prefix_beam_decode(logits, test.frame_lengths, beam_width=config.beam, blank_id=BLANK)
    beam_s = time.perf_counter() - t_beam
    ler_beam = ctc.label_error_rate(beam_hyps, refs)
    test_loss = float(jax.jit(loss)(state.params, *test_args, jnp.asarray(test.labels), jnp.asarray(test.label_lengths)))

    checkpoint.save(out / "checkpoint.msgpack", state.params)
    experiment.plot_curves(out / "loss.png", metrics.rows, "step", ["train_loss"], title="CTC loss",
                           ylabel="−log P(y | x) per utterance")
    experiment.plot_curves(out / "ler.png", metrics.rows, "step", ["ler_greedy"], title="held-out label error rate",
                           ylabel="edit distance / reference length")
    letters = lambda ids: "".join("abcdefghijklmnopqrstuvwxyz"[i - 1] if i <= 26 else f"<{i}>" for i in ids)
    lines = [f"ref {letters(r):12} greedy {letters(g):12} beam {letters(b):12}"
             f"{'' if g == r and b == r else '  ✗'}" for r, g, b in zip(refs, greedy_hyps, beam_hyps)]
    experiment.write_text(out / "examples.txt", "\n".join(lines) + "\n")
    summary = {
        "label_error_rate": {"greedy": ler_greedy, "prefix_beam": ler_beam},
        "test_loss": test_loss,
        "train_loss": metrics.rows[-1]["train_loss"],
        "train_s": times["train_s"],
        "prefix_beam_s": beam_s,
        "wall_s": time.perf_counter() - t0,
        "device": str(jax.devices()[0]),
        "devices": parallel.device_count(train_step),
        "config": dataclasses.asdict(config),
    }
    experiment.write_json(out / "summary.json", summary)
    return state, summary


def main(argv=None):
    config = experiment.parse_config(Config, argv, presets=PRESETS, description=__doc__.split("\n\n")[0])
    _, summary = train(config)
    ler = summary["label_error_rate"]
    print(f"label error rate: greedy {ler['greedy']:.4f}, prefix beam (width {config.beam}) {ler['prefix_beam']:.4f}; "
          f"{summary['wall_s']:.0f} s; run folder: {config.out}")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
