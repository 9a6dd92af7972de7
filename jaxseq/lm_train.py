"""Training a recurrent language model: the loop shared by `experiments/char_lm.py` and `word_lm.py`.

The token stream is cut into (batch, time) windows (`jaxseq.batching`); windows are read in order and
the carry passes from each window to the next under `stop_gradient` (truncated BPTT, as in Zaremba
et al. 2014), reset to zero at the start of each epoch. One jitted train step; the optimiser is optax
with global-norm clipping. Every ``eval_every`` steps the model is scored on the validation split.

The run is a pure function of the config: window k of step s is ``s mod n_windows``, the dropout key
of step s is ``fold_in(key, s)``, and the checkpoint holds the train state and the carry — so
``--resume`` continues a run to the same numbers as an uninterrupted one.

Run folder: config.json, vocab.json, metrics.csv, loss.png, checkpoint.msgpack, samples.txt,
summary.json.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from jaxseq import _checks, batching, bptt, cell, checkpoint, corpora, experiment, lm, parallel, sampling
from jaxseq._files import write_text_atomic
from jaxseq.vocab import EOS, LEVELS, UNK, Vocab, detokenize, tokenize

CKPT = "checkpoint.msgpack"
LN2 = math.log(2.0)


@dataclasses.dataclass(frozen=True)
class LMConfig:
    """A recurrent language model trained with truncated BPTT."""

    corpus: str = "default"  # a corpus name (default = the embedded pydocs, tiny-shakespeare, ptb, wikitext-2, text8, ...) or a text file or folder of *.txt
    level: str = "char"  # "char" or "word" tokens
    cell: str = "lstm"  # "rnn", "gru", "gru-course", "gru-minimal" or "lstm"
    embed: int = 64  # the size of a token's embedding
    hidden: int = 256  # units per recurrent layer
    layers: int = 1  # recurrent layers stacked
    tie: bool = False  # the output layer shares the embedding matrix (needs hidden == embed)
    dropout: float = 0.0  # dropout rate between layers, in [0, 1)
    steps: int = 1000  # training steps (one window of batch × seq_len tokens each)
    epochs: int = 0  # > 0: steps = epochs × windows per epoch (overrides steps)
    seq_len: int = 64  # tokens per window: the truncated-BPTT length
    batch: int = 32  # rows of the token stream read side by side
    optimizer: str = "adam"  # "adam" or "sgd"
    lr: float = 3e-3  # the learning rate
    lr_decay: float = 1.0  # epoch E (from 1) runs at lr · lr_decay^max(0, E − decay_after)
    decay_after: int = 0  # the epochs before lr_decay starts
    clip: float = 5.0  # the largest global gradient norm (0: no clipping)
    seed: int = 0  # the same seed gives the same run (bit for bit on a CPU)
    min_count: int = 1  # tokens seen fewer times become <unk>
    max_vocab: int = 0  # keep at most this many tokens, the most frequent (0: no cap)
    eval_every: int = 250  # steps between evaluations on the validation split
    ckpt_every: int = 250  # steps between checkpoints
    max_eval_tokens: int = 200_000  # evaluate on at most this many tokens of the validation and test splits (0: all)
    samples: int = 3  # texts sampled at the end into samples.txt
    sample_len: int = 200  # tokens per sample
    temperature: float = 0.8  # of the samples (0: greedy)
    unroll: int = 1  # time steps per iteration of the compiled loop (a speed setting)
    out: str = "runs/lm"  # the run folder
    resume: bool = False  # continue the run in `out` from its checkpoint
    progress: bool = True  # show a progress bar


# --------------------------------------------------------------------------------------------------
# Data


@dataclasses.dataclass(frozen=True)
class Data:
    vocab: Vocab
    xs: np.ndarray  # (n_windows, b, t)
    ys: np.ndarray
    valid: np.ndarray  # 1-D id streams
    test: np.ndarray
    unigram_nats: float  # cross-entropy of the validation split under the training unigram distribution
    source: str


def prepare_data(config: LMConfig, *, fallback_to_embedded: bool = True) -> Data:
    """Corpus → vocabulary → id streams → windows; every check before anything is written."""
    experiment_checks(config)
    corpus = corpora.load_corpus(config.corpus, fallback_to_embedded=fallback_to_embedded and config.corpus == "default",
                                 progress=config.progress)
    train_tokens = tokenize(corpus.train, config.level)
    if not train_tokens:
        raise ValueError(f"corpus {config.corpus!r} has an empty training split: nothing to learn from")
    if 0 < config.max_vocab <= len((UNK, EOS)):
        raise ValueError(f"`max_vocab` must be 0 (no cap) or more than the {len((UNK, EOS))} special tokens "
                         f"{UNK}, {EOS}; got {config.max_vocab}")
    vocab = Vocab.build(train_tokens, min_count=config.min_count, max_size=config.max_vocab or None)
    distinct = len(set(train_tokens))
    if distinct < 2:
        raise ValueError(f"corpus {config.corpus!r} has {distinct} distinct {config.level} token(s) "
                         f"({sorted(set(train_tokens))!r}): a language model needs at least 2")
    train = vocab.encode(train_tokens)
    valid = vocab.encode(tokenize(corpus.valid, config.level)) if corpus.valid else np.zeros(0, np.int32)
    test = vocab.encode(tokenize(corpus.test, config.level)) if corpus.test else np.zeros(0, np.int32)
    if len(valid) < 2:
        raise ValueError(f"corpus {config.corpus!r} has a validation split of {len(valid)} tokens; need at least 2")
    xs, ys = batching.stream_batches(train, config.batch, config.seq_len)
    counts = np.bincount(train, minlength=len(vocab)) + 1.0  # add-one smoothing
    logp = np.log(counts / counts.sum())
    unigram = float(-logp[valid].mean())
    return Data(vocab, xs, ys, valid, test, unigram, corpus.source)


def experiment_checks(config: LMConfig) -> None:
    _checks.one_of("level", config.level, LEVELS)
    _checks.one_of("cell", config.cell, cell.KINDS)
    _checks.one_of("optimizer", config.optimizer, ("adam", "sgd"))
    for name in ("embed", "hidden", "layers", "seq_len", "batch", "eval_every", "ckpt_every", "unroll"):
        _checks.positive_int(name, getattr(config, name))
    if config.steps < 1 and config.epochs < 1:
        raise ValueError(f"`steps` must be a positive integer (or set `epochs`); got {config.steps}")
    if not 0.0 <= config.dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1); got {config.dropout}")
    _checks.positive_finite("lr", config.lr)
    _checks.nonnegative_finite("temperature", config.temperature)
    if not 0.0 < config.lr_decay <= 1.0:
        raise ValueError(f"`lr_decay` must be in (0, 1]; got {config.lr_decay}")
    if not config.clip >= 0:
        raise ValueError(f"`clip` must be >= 0 (0: no clipping); got {config.clip}")
    for name in ("epochs", "decay_after", "max_vocab", "max_eval_tokens", "samples"):
        _checks.nonnegative_int(name, getattr(config, name))
    _checks.positive_int("min_count", config.min_count)
    if config.samples > 0:
        _checks.positive_int("sample_len", config.sample_len)


# --------------------------------------------------------------------------------------------------
# Model, optimiser, steps


def total_steps(config: LMConfig, n_windows: int) -> int:
    return config.epochs * n_windows if config.epochs > 0 else config.steps


def make_optimizer(config: LMConfig, n_windows: int) -> optax.GradientTransformation:
    """Adam or SGD, clipped; with ``lr_decay`` the rate is held for ``decay_after`` epochs and then
    multiplied by ``lr_decay`` at the start of each later epoch (Zaremba et al.'s schedule: 4, 0.5 →
    epochs 1-4 at lr, epoch 5 at lr/2, epoch 6 at lr/4, ...)."""
    base, rate, after = config.lr, config.lr_decay, config.decay_after

    def decayed(count):  # count: updates so far; epoch E = count // n_windows + 1
        return base * rate ** jnp.maximum(0, count // n_windows + 1 - after)

    lr: Any = decayed if config.lr_decay != 1.0 else config.lr
    opt = optax.adam(lr) if config.optimizer == "adam" else optax.sgd(lr)
    return bptt.clipped(opt, config.clip) if config.clip > 0 else opt


def init_params(config: LMConfig, vocab_size: int) -> lm.Params:
    return lm.init(jax.random.PRNGKey(config.seed), vocab_size, cell_kind=config.cell, embed_dim=config.embed,
                   hidden_size=config.hidden, num_layers=config.layers, tie_weights=config.tie)


def make_steps(config: LMConfig, optimizer):
    def loss_fn(params, carry, x, y, key):
        # x, y: (b, t) batch-major windows → time-major for the scan
        return lm.loss(params, carry, x.T, y.T, dropout_rate=config.dropout, key=key, unroll=config.unroll)

    tbptt = bptt.make_tbptt_step(loss_fn, optimizer)

    @jax.jit
    def train_step(state, carry, x, y, key):
        return tbptt(state, carry, x, y, jax.random.fold_in(key, state.step))

    @jax.jit
    def eval_step(params, carry, x, y, mask):
        loss, carry = lm.loss(params, carry, x.T, y.T, mask=mask.T, reduction="sum", unroll=config.unroll)
        return loss, carry

    return train_step, eval_step


def evaluate(eval_step, params, ids: np.ndarray, config: LMConfig) -> float:
    """Mean next-token cross-entropy (nats) over an id stream in `batch` rows, carry passed between
    windows: every token is a target but the first of each row and the < batch past the last whole row
    (a last, shorter window of each row is padded and masked: one compiled shape)."""
    if config.max_eval_tokens:
        ids = ids[: config.max_eval_tokens + 1]
    batch = max(1, min(config.batch, (len(ids) - 1) // 2))
    seq_len = max(1, min(config.seq_len, (len(ids) // batch) - 1))
    xs, ys = batching.stream_batches(ids, batch, seq_len)
    windows = [(x, y, np.ones(x.shape, bool)) for x, y in zip(xs, ys)]
    tail = batching.stream_remainder(ids, batch, seq_len)
    if tail is not None:
        windows.append(tail)
    carry = lm.init_carry(params, (batch,))
    total, n = 0.0, 0
    for x, y, mask in windows:
        loss, carry = eval_step(params, carry, x, y, mask)
        total += float(loss)
        n += int(mask.sum())
    return total / n


# --------------------------------------------------------------------------------------------------
# The loop


def on_boundary(step: int, config: LMConfig) -> bool:
    """Whether ``step`` (steps done) ends an evaluation or checkpoint interval."""
    return step % config.eval_every == 0 or step % config.ckpt_every == 0


def train(config: LMConfig, *, log=print) -> tuple[bptt.TrainState, dict]:
    """Train, evaluate, checkpoint and sample as the config says; returns (final state, summary)."""
    data = prepare_data(config)  # all input errors surface here and in init_params, before the run folder is touched
    n_windows = data.xs.shape[0]
    steps = total_steps(config, n_windows)
    optimizer = make_optimizer(config, n_windows)
    params = init_params(config, len(data.vocab))  # refuses --tie with hidden != embed
    out = experiment.prepare_run_dir(config.out, resume=config.resume, checkpoint_name=CKPT)
    state = bptt.init_train_state(params, optimizer)
    carry = lm.init_carry(params, (config.batch,))
    rows: list[dict] = []
    wall_before = 0.0
    pending = (0.0, 0)  # (Σ, n) of the training losses since the last eval/checkpoint boundary
    if config.resume:
        may_change = ("steps", "epochs", "resume", "progress", "out")
        saved, now = json.loads((out / "config.json").read_text()), dataclasses.asdict(config)
        differ = [f"--{k.replace('_', '-')}: {saved.get(k)!r} then, {now.get(k)!r} now"
                  for k in sorted(set(saved) | set(now)) if k not in may_change and saved.get(k) != now.get(k)]
        if differ:
            raise ValueError(f"--resume: the config differs from the one saved in {out / 'config.json'} ("
                             + "; ".join(differ) + "); only --steps/--epochs may change")
        if Vocab.load(out / "vocab.json").tokens != data.vocab.tokens:
            raise ValueError(f"--resume: the vocabulary differs from {out / 'vocab.json'}")
        ckpt = _restore(out / CKPT, state, carry)
        state, carry, wall_before = ckpt["state"], ckpt["carry"], float(ckpt["wall_s"])
        pending = (float(ckpt["pending_sum"]), int(ckpt["pending_n"]))
        at = int(state.step)
        if steps < at:
            raise ValueError(f"--resume: the run in {out} is at step {at} already; --steps (or --epochs) must "
                             f"give at least that many; got {steps}")
        # the rows up to the checkpoint, less a last row that only marked where that run stopped
        # (kept when there is nothing left to train: it is the run's last row)
        rows = [r for r in experiment.Metrics.read(out / "metrics.csv")
                if r["step"] < at or (r["step"] == at and (on_boundary(at, config) or at >= steps))]
        log(f"resuming {out} at step {int(state.step)}")
    experiment.write_config(out, config)
    data.vocab.save(out / "vocab.json")
    metrics = experiment.Metrics(out / "metrics.csv", rows)

    train_step, eval_step = make_steps(config, optimizer)
    # over the local devices (as many as split the batch); no-op on one
    train_step = parallel.data_parallel(train_step, batch_argnums=(1, 2, 3), batch_size=config.batch)
    key = jax.random.PRNGKey(config.seed + 1)
    xs, ys = jnp.asarray(data.xs), jnp.asarray(data.ys)
    tokens_per_step = config.batch * config.seq_len
    log(f"corpus: {data.source}")
    log(f"{config.level}-level, vocabulary {len(data.vocab)}, {data.xs.size:,} training tokens in "
        f"{n_windows} windows of {config.batch}×{config.seq_len}; {steps} steps; "
        f"unigram baseline {unit_line(data.unigram_nats, config.level)}")

    start_step = int(state.step)
    recent: list[float] = []
    t0 = time.perf_counter()
    t_timed, n_timed, t_side = None, 0, 0.0  # t_side: time spent evaluating and checkpointing
    bar = tqdm(total=steps, initial=start_step, disable=not config.progress, unit="step", dynamic_ncols=True)
    for s in range(start_step, steps):
        w = s % n_windows
        if w == 0:
            carry = jax.tree_util.tree_map(jnp.zeros_like, carry)  # a new epoch starts from a<0> = 0
        state, carry, loss = train_step(state, carry, xs[w], ys[w], key)
        if s == start_step:
            loss.block_until_ready()
            t_timed = time.perf_counter()  # throughput excludes the first step's compilation
        else:
            n_timed += 1
        recent.append(loss)
        done = s + 1
        if done == steps or on_boundary(done, config):
            # the mean since the last boundary, over a resume too: a run that stopped off a boundary
            # carries its (Σ, n) in the checkpoint, so the next row is the uninterrupted run's
            # summed in float64 (exact for these float32 losses), so a split at a checkpoint changes nothing
            total = pending[0] + float(np.sum(np.asarray(jnp.stack(recent), np.float64)))
            n = pending[1] + len(recent)
            train_loss = total / n
            recent = []
            pending = (0.0, 0) if on_boundary(done, config) else (total, n)
            t_side_start = time.perf_counter()
            tps = n_timed * tokens_per_step / max(t_side_start - t_timed - t_side, 1e-9) if n_timed else float("nan")
            bar.set_postfix(loss=f"{train_loss:.3f}", tok_s=f"{tps:,.0f}")
            row: dict = {"step": done, "train_loss": train_loss, "tokens_per_s": round(tps, 1)}
            if done % config.eval_every == 0 or done == steps:
                v = evaluate(eval_step, state.params, data.valid, config)
                row.update(valid_loss=v, **{f"valid_{unit_name(config.level)}": to_unit(v, config.level)})
                bar.write(f"step {done}: train {unit_line(train_loss, config.level)}, valid {unit_line(v, config.level)}")
            metrics.append(**row)
            if done % config.ckpt_every == 0 or done == steps:
                wall = wall_before + time.perf_counter() - t0
                checkpoint.save(out / CKPT, {"state": state, "carry": carry, "wall_s": wall,
                                             "pending_sum": pending[0], "pending_n": pending[1]})
            t_side += time.perf_counter() - t_side_start
        bar.update(1)
    bar.close()
    wall_s = wall_before + time.perf_counter() - t0
    tps = n_timed * tokens_per_step / max(time.perf_counter() - t_timed - t_side, 1e-9) if n_timed else float("nan")

    experiment.plot_curves(out / "loss.png", metrics.rows, "step", ["train_loss", "valid_loss"],
                           title=f"{config.cell} {config.level}-level LM", ylabel="nats / token")
    last = metrics.rows[-1] if metrics.rows else {}
    valid_loss = last.get("valid_loss")
    if valid_loss is None:
        valid_loss = evaluate(eval_step, state.params, data.valid, config)
    unit = unit_name(config.level)
    summary = {
        "train_loss": last.get("train_loss"),
        "valid_loss": valid_loss,
        f"valid_{unit}": to_unit(valid_loss, config.level),
        f"unigram_{unit}": to_unit(data.unigram_nats, config.level),
        "tokens_per_s": tps,
        "steps": int(state.step),
        "wall_s": wall_s,
        "vocab_size": len(data.vocab),
        "corpus": data.source,
        "device": str(jax.devices()[0]),
        "devices": parallel.device_count(train_step),
        "config": dataclasses.asdict(config),
    }
    if len(data.test) > 2:
        test_loss = evaluate(eval_step, state.params, data.test, config)
        summary.update(test_loss=test_loss, **{f"test_{unit}": to_unit(test_loss, config.level)})
    if config.samples > 0:
        texts = sample_texts(state.params, data.vocab, config.level, "", n=config.samples, length=config.sample_len,
                             temperature=config.temperature, seed=config.seed)
        write_text_atomic(out / "samples.txt", "\n\n---\n\n".join(texts) + "\n")
        summary["samples"] = texts
    experiment.write_json(out / "summary.json", summary)
    return state, summary


# --------------------------------------------------------------------------------------------------
# Units, sampling and reloading


def unit_name(level: str) -> str:
    return "bpc" if level == "char" else "ppl"


def to_unit(nats: float, level: str) -> float:
    """Bits per character (char level) or perplexity (word level) from nats per token."""
    return nats / LN2 if level == "char" else math.exp(nats)


def unit_line(nats: float, level: str) -> str:
    return f"{to_unit(nats, level):.3f} bpc" if level == "char" else f"perplexity {to_unit(nats, level):.1f}"


def summary_line(summary: dict, level: str) -> str:
    """The run's result in one line: validation (and test) bpc or perplexity against the unigram baseline."""
    unit = unit_name(level)
    shown = (lambda x: f"{x:.3f} bpc") if level == "char" else (lambda x: f"perplexity {x:.1f}")
    line = f"validation {shown(summary['valid_' + unit])} (unigram baseline {shown(summary['unigram_' + unit])})"
    if f"test_{unit}" in summary:
        line += f", test {shown(summary['test_' + unit])}"
    return line + f"; {summary['tokens_per_s']:,.0f} tokens/s; {summary['wall_s']:.0f} s"


def start_id(vocab: Vocab, level: str) -> int:
    """The token a generation or a score starts from: a newline (char level) or <eos> (word level)."""
    if level == "char" and "\n" in vocab:
        return vocab.encode(["\n"])[0]
    return vocab.eos_id


def encode_prompt(vocab: Vocab, level: str, prompt: str, *, name: str = "prompt") -> np.ndarray:
    """[start] + the prompt's ids; characters outside a char vocabulary are an error (naming `name`)."""
    tokens = tokenize(prompt, level) if prompt else []
    if level == "word" and tokens and tokens[-1] == "<eos>" and not prompt.endswith("\n"):
        tokens = tokens[:-1]
    if level == "char":
        unknown = sorted({t for t in tokens if t not in vocab})
        if unknown:
            raise ValueError(f"`{name}` has characters outside the vocabulary: {unknown!r}")
    return np.concatenate([[start_id(vocab, level)], vocab.encode(tokens)]).astype(np.int32)


def encode_sentence(vocab: Vocab, level: str, sentence: str) -> np.ndarray:
    """[start] + the sentence's ids + its end — <eos> (word level) or a newline (char level, where the
    vocabulary has one) — so that log P(sentence) counts the model's belief that the sentence ends there,
    as in training, where every line ends so. One trailing newline of ``sentence`` is that end, not extra."""
    if not sentence.strip():
        raise ValueError(f"`sentence` must hold at least one token; got {sentence!r}")
    body = sentence[:-1] if sentence.endswith("\n") else sentence
    ids = encode_prompt(vocab, level, body, name="sentence")
    end = [vocab.eos_id] if level == "word" else ([start_id(vocab, level)] if "\n" in vocab else [])
    return np.concatenate([ids, np.asarray(end, np.int32)]).astype(np.int32)


def sample_texts(params, vocab: Vocab, level: str, prompt: str, *, n: int, length: int, temperature: float,
                 seed: int, top_k: Optional[int] = None, top_p: Optional[float] = None) -> list[str]:
    """``n`` continuations of ``prompt`` as text. A character model never draws its multi-character
    specials (<unk>, <eos>), so each sample is the prompt and ``length`` characters."""
    exclude = tuple(int(vocab.encode([s])[0]) for s in (UNK, EOS) if s in vocab) if level == "char" else ()
    ids = sampling.sample(params, jnp.asarray(encode_prompt(vocab, level, prompt)), length, key=jax.random.PRNGKey(seed),
                          temperature=temperature, top_k=top_k, top_p=top_p, num_samples=n, exclude=exclude)
    return [prompt + (" " if level == "word" and prompt else "") + detokenize(vocab.decode(row), level)
            for row in np.asarray(ids)]


def load_run(run_dir: str | Path) -> tuple[LMConfig, Vocab, lm.Params]:
    """The config, vocabulary and trained params of a finished (or checkpointed) run folder."""
    run_dir = Path(run_dir)
    for name in ("config.json", "vocab.json", CKPT):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"`run_dir` {run_dir} is not a language-model run folder: no {name}")
    fields = {f.name for f in dataclasses.fields(LMConfig)}
    saved = json.loads((run_dir / "config.json").read_text())
    if not isinstance(saved, dict) or not {"level", "seq_len", "tie", "layers"} <= set(saved):
        raise ValueError(f"`run_dir` {run_dir} is not a language-model run folder: its config.json is of another "
                         "experiment (an LM run's has level, seq_len, layers, tie, ...)")
    config = LMConfig(**{k: v for k, v in saved.items() if k in fields})
    vocab = Vocab.load(run_dir / "vocab.json")
    params = init_params(config, len(vocab))
    opt = make_optimizer(config, 1)
    return config, vocab, _restore(run_dir / CKPT, bptt.init_train_state(params, opt),
                                   lm.init_carry(params, (config.batch,)))["state"].params


def _restore(path: Path, state: bptt.TrainState, carry) -> dict:
    """The checkpoint `train` writes: {state, carry, wall_s, pending_sum, pending_n}."""
    pending = {"pending_sum": 0.0, "pending_n": 0}  # older checkpoints lack them
    return checkpoint.restore(path, {"state": state, "carry": carry, "wall_s": 0.0, **pending}, defaults=pending)
