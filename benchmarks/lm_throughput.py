"""The char-level LM experiment's training throughput against the layer benchmark at the same shape.

    python benchmarks/lm_throughput.py                    # char_lm's defaults: 1 × 256 LSTM, 32 × 64 windows
    python benchmarks/lm_throughput.py --preset gpu       # char_lm's GPU preset: 2 × 512 LSTM, 128 × 128 windows
    python benchmarks/lm_throughput.py --json out/lm_throughput.json

Experiment: `jaxseq.lm_train.train` with experiments/char_lm.py's config (and preset) for `--steps`
steps on the embedded corpus, no evaluation, checkpoint or samples until the end; its
``tokens_per_s`` counts the timed training steps only (the first step, which compiles, is left out).
Everything a training step does is in it: embedding lookup, the recurrent stack, dropout, the
softmax head and its loss, clipping, the Adam update, host-side batching and dispatch.

Layer figure: the same recurrent stack alone — for each layer, forward + backward of one
`jaxseq.unroll` at T × B × I × H = seq_len × batch × (embed, then hidden) × hidden, as in
benchmarks/rnn_layers.py ("jaxseq fused", default matmul precision, as the experiment runs) — summed
over the layers and turned into tokens/s = batch · seq_len / seconds.

The ratio layer tokens/s ÷ experiment tokens/s says how much the rest of the training step and the
input pipeline cost; issue 6 asks for at most 1.5 on a GPU.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import statistics
import sys
import tempfile
from pathlib import Path

import jax.numpy as jnp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "experiments"))
import char_lm  # noqa: E402
import rnn_layers  # noqa: E402

from jaxseq import lm_train  # noqa: E402
from jaxseq._files import write_text_atomic  # noqa: E402

TARGET = 1.5


def experiment_config(preset: str, steps: int, out: str) -> char_lm.Config:
    overrides = dict(char_lm.PRESETS[preset]) if preset else {}
    overrides.update(steps=steps, eval_every=steps, ckpt_every=steps, samples=0, max_eval_tokens=2000,
                     out=out, progress=False, resume=False)
    return dataclasses.replace(char_lm.Config(), **overrides)


def layer_shapes(config) -> list[tuple[int, int, int, int]]:
    return [(config.seq_len, config.batch, config.embed if layer == 0 else config.hidden, config.hidden)
            for layer in range(config.layers)]


def layer_ms(config, runs: int, warmup: int) -> list[float]:
    """Median milliseconds of fwd + bwd of each layer of the experiment's stack."""
    if config.cell not in ("lstm", "gru"):
        raise ValueError(f"the layer benchmark times lstm and gru; the config's cell is {config.cell!r}")
    out = []
    for shape in layer_shapes(config):
        fn = rnn_layers.jaxseq_fn(config.cell, shape, jnp.float32, impl="auto")
        out.append(statistics.median(rnn_layers.timed(fn, warmup, runs)))
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="", choices=[""] + sorted(char_lm.PRESETS),
                    help="a preset of experiments/char_lm.py ('' = its defaults)")
    ap.add_argument("--steps", type=int, default=60, help="training steps of the experiment (the first compiles)")
    ap.add_argument("--runs", type=int, default=10, help="timed runs of each layer")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = ap.parse_args(argv)
    if args.steps < 3:
        ap.error(f"--steps must be at least 3 (the first step compiles); got {args.steps}")

    with tempfile.TemporaryDirectory() as tmp:
        config = experiment_config(args.preset, args.steps, str(Path(tmp) / "run"))
        _, summary = lm_train.train(config, log=lambda *a: None)
    exp_tps = float(summary["tokens_per_s"])
    print(f"  experiment: {exp_tps:,.0f} tokens/s ({args.steps - 1} timed steps)", flush=True)
    if args.json:  # written now and again at the end: a time limit during the layer timings keeps this
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.json, json.dumps({"preset": args.preset or "default", "steps": args.steps,
                                                 "experiment_tokens_per_s": exp_tps, "partial": True}, indent=1))
    ms = layer_ms(config, args.runs, args.warmup)
    tokens = config.batch * config.seq_len
    layer_tps = tokens / (sum(ms) / 1e3)
    ratio = layer_tps / exp_tps
    result = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "device": rnn_layers.device_info(), "versions": rnn_layers.versions(),
        "preset": args.preset or "default", "steps": args.steps, "cell": config.cell, "layers": config.layers,
        "shapes": ["x".join(map(str, s)) for s in layer_shapes(config)], "layer_ms": ms,
        "experiment_tokens_per_s": exp_tps, "layer_tokens_per_s": layer_tps, "ratio": ratio,
        "target": TARGET, "met": ratio <= TARGET,
    }
    print(f"# {result['date']}  device: {result['device']}")
    print(f"char_lm preset {result['preset']}: {config.layers} × {config.cell} {config.hidden}, "
          f"windows {config.batch} × {config.seq_len}, embed {config.embed}")
    print(f"  experiment: {exp_tps:,.0f} tokens/s ({args.steps - 1} timed steps)")
    print(f"  layers alone: {' + '.join(f'{m:.2f}' for m in ms)} ms per step = {layer_tps:,.0f} tokens/s")
    print(f"  layers / experiment = {ratio:.2f}× (target ≤ {TARGET}×: {'met' if result['met'] else 'missed'})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.json, json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
