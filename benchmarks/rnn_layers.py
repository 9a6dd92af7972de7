"""One recurrent layer, forward + backward of a sequence loss: jaxseq's paths against flax, torch and cuDNN.

    python benchmarks/rnn_layers.py --quick                  # CPU: a few minutes
    python benchmarks/rnn_layers.py --json out/rnn.json      # the three target shapes + a sweep, f32 and bf16
    python benchmarks/rnn_layers.py --memory                 # also: BPTT temp memory for T = 1k … 16k
    python benchmarks/rnn_layers.py --shapes 100x64x512x512 --cells lstm --precisions f32 --runs 20

Loss = mean of squared outputs; gradients with respect to the params and the inputs (jaxseq's
systems also give the gradient of the initial state a<0>, a (b, h) extra, as `tune` does). Times are the
median of ``--runs`` runs after ``--warmup`` runs, milliseconds, all systems in this one process;
the systems of one row are compiled and warmed up first, then timed in turns (one run each, repeated),
so that a change in the machine's load during a row affects every system alike.
f32 = float32 with TF32 off (``jax_default_matmul_precision="highest"``, torch ``allow_tf32=False``);
bf16 = bfloat16 inputs, weights and carries (and, for jaxseq only, also ``compute_dtype=bfloat16``
with float32 params and carries: the "fused bf16-compute" column).

Systems (a system that cannot run here is left out of the table, with the reason printed):
  jaxseq scan          unroll(impl="scan"): input projection hoisted, autodiff of lax.scan
  jaxseq fused         unroll(impl="fused"): custom VJP, weight gradients hoisted out of the loop
  jaxseq fused auto    the same with unroll="auto" (jaxseq.tune; the chosen factor is printed)
  jaxseq cudnn         unroll(impl="cudnn"), LSTM on an NVIDIA GPU, f32
  flax                 flax.linen.RNN(OptimizedLSTMCell | GRUCell), time-major
  torch                torch.nn.LSTM | torch.nn.GRU (cuDNN on a GPU), time-major
  jax.exp.rnn          jax.experimental.rnn.lstm (cuDNN), LSTM on an NVIDIA GPU, f32
Ratios are peer / jaxseq fused (> 1: jaxseq is faster).

``--memory``: temp bytes of the compiled BPTT (jit(grad).lower().compile().memory_analysis()), for
the LSTM at B×I×H = 32×256×256: scan without and with remat (with and without the hoisted input
projection, whose (t, b, 4h) product and its gradient are live at once), and the fused path.
Compile only, so T = 16k costs no memory.

``--single-thread`` (CPU): XLA and torch each on one thread. On a loaded machine torch's OpenMP
threads stall at every barrier (10-1000× slower small rows); one thread each is the steady comparison.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import jaxseq  # noqa: E402
from jaxseq import cudnn, gru, lstm, tune  # noqa: E402
from jaxseq._files import write_text_atomic  # noqa: E402

ANCHOR_SHAPES = ["100x64x512x512", "100x256x1024x1024", "512x32x256x256"]
SWEEP_SHAPES = ["50x16x128x128", "200x32x256x256", "100x128x256x256"]
QUICK_SHAPES = ["100x64x512x512", "50x16x128x128", "200x8x64x64"]
MEMORY_TS = [1000, 2000, 4000, 8000, 16000]
JAX_SYSTEMS = ["jaxseq scan", "jaxseq fused", "jaxseq fused auto", "jaxseq fused bf16-compute", "jaxseq cudnn",
               "flax", "jax.exp.rnn"]


def parse_shape(s: str) -> tuple[int, int, int, int]:
    parts = s.lower().replace("×", "x").split("x")
    if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"a shape is TxBxIxH, e.g. 100x64x512x512; got {s!r}")
    return tuple(int(p) for p in parts)


def versions() -> dict:
    out = {"python": platform.python_version(), "jax": jax.__version__, "numpy": np.__version__}
    try:
        import jaxlib
        out["jaxlib"] = jaxlib.__version__
    except Exception:  # pragma: no cover
        pass
    for name in ("flax", "torch"):
        try:
            out[name] = __import__(name).__version__
        except Exception:
            out[name] = None
    return out


def device_info() -> dict:
    d = jax.devices()[0]
    info = {"platform": d.platform, "device_kind": d.device_kind, "device_count": jax.device_count(),
            "cpu_count": os.cpu_count(), "machine": platform.machine(), "processor": platform.processor()}
    try:
        info["loadavg"] = os.getloadavg()
    except OSError:  # pragma: no cover
        pass
    return info


def timed(fn, warmup: int, runs: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(1e3 * (time.perf_counter() - t0))
    return out


def loss_of(ys):
    return jnp.mean(jnp.square(ys.astype(jnp.float32)))


# --------------------------------------------------------------------------------------------------
# JAX systems: each returns a zero-argument function that runs one fwd+bwd and blocks.


def jaxseq_fn(cell, shape, dtype, *, impl, unroll=1, compute_dtype=None, note=None):
    t, b, i, h = shape
    key = jax.random.PRNGKey(0)
    pdt = jnp.float32 if compute_dtype is not None else dtype
    # initialised in float32 (LAPACK's QR, used by the orthogonal init, has no bfloat16), then cast
    params = lstm.init(key, i, h) if cell == "lstm" else gru.init(key, i, h, form="cudnn")
    params = jax.tree_util.tree_map(lambda a: a.astype(pdt), params)
    step = lstm.step if cell == "lstm" else gru.step
    carry = (lstm if cell == "lstm" else gru).init_carry(params, (b,))
    xs = jax.random.normal(jax.random.PRNGKey(1), (t, b, i), pdt)
    if unroll == "auto":
        before = set(tune.timings())
        unroll = tune.best_unroll(step, params, carry, xs, impl=impl, compute_dtype=compute_dtype,
                                  candidates=TUNE_CANDIDATES)
        if note is not None:
            note["unroll"] = unroll
            # the tuner's one-off timing of each candidate (ms), for the unroll sweep in the report
            note["unroll_ms"] = {str(u): round(ms, 3) for k, v in tune.timings().items() if k not in before
                                 for u, ms in v.items()}

    # the tuner's program exactly (tune.best_unroll: same signature, arguments and gradients), so that
    # with a persistent compilation cache (gpu.sh sets one) the tuned factor's program is not compiled twice
    def loss(p, c, x, m=None):
        _, ys = jaxseq.unroll(step, p, c, x, mask=m, reverse=False, unroll=unroll, impl=impl,
                              compute_dtype=compute_dtype, hoist=None, remat=False)
        return jnp.mean(jnp.square(ys.astype(jnp.float32)))

    f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))  # d/d(params, a<0>, xs)
    return lambda: jax.block_until_ready(f(params, carry, xs))


def flax_fn(cell, shape, dtype):
    import flax.linen as nn

    t, b, i, h = shape
    mk = nn.OptimizedLSTMCell if cell == "lstm" else nn.GRUCell

    # only this initialiser computes in float32 (then casts): QR has no bfloat16, which jax 0.11 refuses
    # even when flax only traces it; the others draw in the model's dtype
    def orthogonal(key, shape, dtype):
        return nn.initializers.orthogonal()(key, shape, jnp.float32).astype(dtype)

    model = nn.RNN(mk(h, dtype=dtype, param_dtype=dtype, recurrent_kernel_init=orthogonal), time_major=True)
    xs = jax.random.normal(jax.random.PRNGKey(1), (t, b, i), dtype)
    variables = model.init(jax.random.PRNGKey(0), xs)

    def loss(v, x):
        return loss_of(model.apply(v, x))

    f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    return lambda: jax.block_until_ready(f(variables, xs))


def jax_rnn_fn(cell, shape, dtype):
    if cell != "lstm" or dtype != jnp.float32:
        raise RuntimeError("jax.experimental.rnn has an LSTM in float32 only")
    if not cudnn.available():
        raise RuntimeError("jax.experimental.rnn needs an NVIDIA GPU")
    from jax.experimental import rnn as jrnn

    t, b, i, h = shape
    w = jrnn.init_lstm_weight(jax.random.PRNGKey(0), i, h, 1, False)
    x = jax.random.normal(jax.random.PRNGKey(1), (b, t, i), dtype)
    h0 = c0 = jnp.zeros((1, b, h), dtype)
    seq = jnp.full((b,), t, jnp.int32)

    def loss(w, x):
        y, _, _ = jrnn.lstm(x, h0, c0, w, seq, input_size=i, hidden_size=h, num_layers=1, dropout=0.0,
                            bidirectional=False)
        return loss_of(y)

    f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    return lambda: jax.block_until_ready(f(w, x))


TORCH_THREADS = None  # --torch-threads
TUNE_CANDIDATES = tune.CANDIDATES  # --tune-candidates


def torch_fn(cell, shape, dtype):
    import torch

    t, b, i, h = shape
    dev = "cuda" if torch.cuda.is_available() and jax.devices()[0].platform == "gpu" else "cpu"
    tdt = torch.float32 if dtype == jnp.float32 else torch.bfloat16
    if dev == "cpu" and TORCH_THREADS:
        torch.set_num_threads(TORCH_THREADS)
    torch.manual_seed(0)
    mod = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(i, h).to(device=dev, dtype=tdt)
    x = torch.randn(t, b, i, device=dev, dtype=tdt, requires_grad=True)
    params = list(mod.parameters()) + [x]
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

    def run():
        y, _ = mod(x)
        loss = y.float().square().mean()
        torch.autograd.grad(loss, params)
        sync()

    return run


def make(system, cell, shape, dtype, note):
    if system == "jaxseq scan":
        return jaxseq_fn(cell, shape, dtype, impl="scan")
    if system == "jaxseq fused":
        return jaxseq_fn(cell, shape, dtype, impl="fused")
    if system == "jaxseq fused auto":
        return jaxseq_fn(cell, shape, dtype, impl="fused", unroll="auto", note=note)
    if system == "jaxseq fused bf16-compute":
        if dtype != jnp.bfloat16:
            raise RuntimeError("bf16 only")
        return jaxseq_fn(cell, shape, dtype, impl="fused", compute_dtype=jnp.bfloat16)
    if system == "jaxseq cudnn":
        if cell != "lstm" or dtype != jnp.float32 or not cudnn.available():
            raise RuntimeError("LSTM, float32, NVIDIA GPU only")
        return jaxseq_fn(cell, shape, dtype, impl="cudnn")
    if system == "flax":
        return flax_fn(cell, shape, dtype)
    if system == "jax.exp.rnn":
        return jax_rnn_fn(cell, shape, dtype)
    if system == "torch":
        fn = torch_fn(cell, shape, dtype)
        # torch's first few calls at a new shape can be 1000× slower than the rest (lazy kernel set-up
        # on CPU): warm up until a call is no slower than 1.2× the fastest so far (at most 10 calls)
        best = float("inf")
        for _ in range(10):
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            if best < float("inf") and dt <= 1.2 * best:
                break
            best = min(best, dt)
        return fn
    raise ValueError(system)


# --------------------------------------------------------------------------------------------------


def memory_table(ts, b=32, i=256, h=256, log=print, rows=None, on_row=None) -> list[dict]:
    """Temp bytes of jit(grad) of the LSTM's BPTT, by T and path (compile only); each row is appended
    to ``rows`` and ``on_row()`` called as soon as it is measured."""
    rows = [] if rows is None else rows
    params = lstm.init(jax.random.PRNGKey(0), i, h)
    carry = lstm.init_carry(params, (b,))
    variants = {"scan": dict(impl="scan"), "scan remat": dict(impl="scan", remat=True),
                "scan remat no-hoist": dict(impl="scan", remat=True, hoist=False), "fused": dict(impl="fused")}
    for t in ts:
        row = {"T": t, "B": b, "I": i, "H": h}
        for name, kw in variants.items():
            def loss(p, x, kw=kw):
                return loss_of(jaxseq.unroll(lstm.step, p, carry, x, **kw)[1])

            xs = jax.ShapeDtypeStruct((t, b, i), jnp.float32)
            stats = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(params, xs).compile().memory_analysis()
            row[name] = None if stats is None else int(stats.temp_size_in_bytes)
        rows.append(row)
        if on_row is not None:
            on_row()
        mib = lambda v: "n/a" if v is None else f"{v / 2**20:,.0f}"
        log(f"  T={t:>6}: " + ", ".join(f"{name} {mib(row[name])} MiB" for name in variants))
    return rows


def markdown_table(results, systems) -> str:
    shown = [s for s in systems if any(r["system"] == s and r.get("ms") is not None for r in results)]
    peers = [s for s in shown if not s.startswith("jaxseq")]
    # jaxseq's figure: the unroll factor tuned for the shape and device where that was run, else the default
    base_system = next((b for b in ("jaxseq fused auto", "jaxseq fused") if b in shown), None)
    label = {"jaxseq fused auto": "jaxseq auto", "jaxseq fused": "jaxseq"}.get(base_system, "jaxseq")
    head = ["cell", "precision", "T × B × I × H", *shown, *(f"{p} / {label}" for p in peers)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    keys = []
    for r in results:
        k = (r["cell"], r["precision"], r["shape"])
        if k not in keys:
            keys.append(k)
    for cell, prec, shape in keys:
        by = {r["system"]: r for r in results if (r["cell"], r["precision"], r["shape"]) == (cell, prec, shape)}
        cells = []
        for s in shown:
            r = by.get(s)
            if r is None or r.get("ms") is None:
                cells.append("—")
            else:
                extra = f" (u={r['unroll']})" if "unroll" in r else ""
                cells.append(f"{r['ms']:.2f}{extra}")
        base = by.get(base_system, {}).get("ms")
        for p in peers:
            r = by.get(p)
            cells.append("—" if r is None or r.get("ms") is None or not base else f"{r['ms'] / base:.2f}×")
        lines.append(f"| {cell} | {prec} | {' × '.join(map(str, shape))} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"shapes {QUICK_SHAPES}, f32 (+ bf16 on the small ones), "
                    "3 runs, no unroll tuning: a few minutes on a 2-core CPU")
    ap.add_argument("--shapes", type=parse_shape, nargs="+", help="TxBxIxH ... (default: the three target shapes + a sweep)")
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"], choices=["lstm", "gru"])
    ap.add_argument("--precisions", nargs="+", default=None, choices=["f32", "bf16"])
    ap.add_argument("--systems", nargs="+", default=None, choices=JAX_SYSTEMS + ["torch"])
    ap.add_argument("--runs", type=int, default=None, help="timed runs per system (default 20; --quick 3)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--torch-threads", type=int, default=None,
                    help="torch.set_num_threads on CPU (default: torch's own choice, one per core)")
    ap.add_argument("--tune-candidates", type=int, nargs="+", default=list(tune.CANDIDATES),
                    help="unroll factors that 'jaxseq fused auto' tries (each costs a compilation)")
    ap.add_argument("--single-thread", action="store_true",
                    help="CPU: XLA and torch on one thread each (steadier on a loaded machine)")
    ap.add_argument("--memory", action="store_true", help="also the BPTT memory table, T = 1k … 16k")
    ap.add_argument("--memory-only", action="store_true")
    ap.add_argument("--memory-ts", type=int, nargs="+", default=MEMORY_TS)
    ap.add_argument("--json", type=Path, default=None, help="write the results here (rewritten after each row)")
    ap.add_argument("--table", type=Path, default=None, help="write the markdown table here")
    args = ap.parse_args(argv)
    global TORCH_THREADS, TUNE_CANDIDATES
    TORCH_THREADS = args.torch_threads
    TUNE_CANDIDATES = tuple(args.tune_candidates)
    if args.single_thread:  # XLA reads its flags when the first computation starts the backend
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
        TORCH_THREADS = 1

    shapes = args.shapes or [parse_shape(s) for s in (QUICK_SHAPES if args.quick else ANCHOR_SHAPES + SWEEP_SHAPES)]
    precisions = args.precisions or ["f32", "bf16"]
    runs = args.runs or (3 if args.quick else 20)
    systems = args.systems or (JAX_SYSTEMS[:2] + JAX_SYSTEMS[3:] + ["torch"] if args.quick else JAX_SYSTEMS + ["torch"])
    try:
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    except ImportError:
        systems = [s for s in systems if s != "torch"]
        print("torch is not installed: skipped")

    report = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "device": device_info(),
              "versions": versions(), "argv": sys.argv[1:] if argv is None else list(argv), "runs": runs, "warmup": args.warmup, "results": [],
              "memory": None}
    print(f"# {report['date']}  device: {report['device']}\n# versions: {report['versions']}", flush=True)

    def save():
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(args.json, json.dumps(report, indent=1))  # a kill mid-write leaves the last whole one
        if args.table and report["results"]:
            args.table.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(args.table, markdown_table(report["results"], systems) + "\n")

    if not args.memory_only:
        for prec in precisions:
            dtype = jnp.float32 if prec == "f32" else jnp.bfloat16
            for shape in shapes:
                if args.quick and prec == "bf16" and shape[2] * shape[3] * shape[1] > 64 * 256 * 256:
                    continue  # --quick: bf16 only on the small shapes (bf16 matmuls are slow on CPUs)
                for cell in args.cells:
                    rows, fns = {}, {}
                    with jax.default_matmul_precision("highest" if prec == "f32" else "default"):
                        for system in systems:  # build, compile and warm up every system first ...
                            row = rows[system] = {"cell": cell, "precision": prec, "shape": list(shape),
                                                  "system": system}
                            try:
                                fns[system] = make(system, cell, shape, dtype, row)
                                timed(fns[system], args.warmup, 0)
                            except Exception as e:  # a system that cannot run here
                                row.update(ms=None, skipped=f"{type(e).__name__}: {e}".splitlines()[0][:300])
                                if not isinstance(e, RuntimeError):
                                    traceback.print_exc(limit=2)
                        times = {s: [] for s in fns}
                        for _ in range(runs):  # ... then time them in turns, so that drifts in load hit all alike
                            for system, fn in list(fns.items()):
                                try:
                                    times[system] += timed(fn, 0, 1)
                                except Exception as e:  # e.g. out of memory mid-run: drop this system only
                                    del fns[system], times[system]
                                    rows[system].update(ms=None, skipped=f"{type(e).__name__}: {e}".splitlines()[0][:300])
                    for system in systems:
                        row = rows[system]
                        if system in times:
                            ts = times[system]
                            row.update(ms=statistics.median(ts), ms_min=min(ts), ms_all=[round(x, 3) for x in ts])
                            msg = f"{row['ms']:10.2f} ms" + (f"  (unroll {row['unroll']})" if "unroll" in row else "")
                        else:
                            msg = f"skipped: {row['skipped']}"
                        print(f"{cell:4} {prec:4} {'x'.join(map(str, shape)):>18} {system:26} {msg}", flush=True)
                        report["results"].append(row)
                    fns.clear()
                    save()
        table = markdown_table(report["results"], systems)
        report["table"] = table
        print("\n" + table, flush=True)
    if args.memory or args.memory_only:
        print("\nBPTT temp memory, LSTM, B × I × H = 32 × 256 × 256, float32 (compiled memory analysis):", flush=True)
        report["memory"] = []
        memory_table(args.memory_ts, rows=report["memory"], on_row=save)  # saved after each T
        mib = lambda v: "n/a" if v is None else f"{v / 2**20:,.0f}"
        names = ["scan", "scan remat", "scan remat no-hoist", "fused"]
        lines = ["| T | " + " | ".join(f"{n} (MiB)" for n in names) + " |", "|---|" + "---|" * len(names)]
        lines += [f"| {r['T']:,} | " + " | ".join(mib(r[n]) for n in names) + " |" for r in report["memory"]]
        report["memory_table"] = "\n".join(lines)
        print("\n" + report["memory_table"], flush=True)
    save()
    return report


if __name__ == "__main__":
    main()
