"""word2vec's negative-sampling step as a native CPU kernel (`word2vec_kernel.cc`), called through XLA's FFI.

The jitted step of `jaxseq.word2vec` gathers the rows of a batch, (b, 1 + K, e) of them, takes the
batched dots, and scatter-adds the row updates back: on a CPU those materialised gathers and
scatter-adds are most of a step. The kernel does the same update with the rows in place — for each
example i with input row h_i = W_in[x_i] and outputs o_i0 (the target) and o_i1..o_iK (negatives):

    s_ij = h_i · u_oij,    g_ij = (σ(s_ij) − [j = 0]) · w_ij
    W_out[o] −= lr · scale(k_o) · Σ_{ij: o_ij = o} g_ij h_i
    W_in[r]  −= lr · scale(k_r) · Σ_{i: x_i = r} xw_i Σ_j g_ij u_oij

from the values before the step, with k a row's summed weights in the step and scale(k) = 1/√k,
1/k or 1 (`row_scale`): `jaxseq.word2vec`'s batched SGD exactly, to rounding (tests/test_word2vec.py
compares the two). The weights w_ij and xw_i come from the jitted step (padding, a negative that is
the target: 0). Its three passes run on XLA's CPU threads; the result does not depend on their number.

The kernel is C++ compiled on first use for the machine it runs on (``$CXX`` or ``c++``, with
``-O3 -march=native``) against the FFI headers that jaxlib ships, and cached in
``$JAXSEQ_DATA/kernels`` (default ``~/.cache/jaxseq/kernels``) under a hash of the source, jaxlib's
version, the compiler and the CPU. Where it cannot be built (no compiler, an old jaxlib), `available`
says why and word2vec keeps its jitted step.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

SOURCE = Path(__file__).with_name("word2vec_kernel.cc")
TARGET = "jaxseq_sgns_step"
SCALES = {"sqrt": 0, "mean": 1, "sum": 2}  # row_scale → the kernel's code
MAX_OUTPUTS = 64  # 1 + K at most (the kernel's per-example buffers)

_lock = threading.Lock()
_state: dict = {}  # "ok": True, or "error": why not; set once per process


def _cpu_id() -> str:
    """What the compiled code depends on: the machine and, on Linux, the CPU's feature flags."""
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = line
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()} {flags}"


def _compile(cxx: str, include: str, out: Path) -> Optional[str]:
    """Compile SOURCE into `out` (atomically: a temporary file, then a rename); None, or the error."""
    base = [cxx, "-O3", "-std=c++17", "-shared", "-fPIC", "-w", f"-I{include}", str(SOURCE)]
    errors = []
    for arch in (["-march=native"], []):  # a compiler without -march=native still builds a portable kernel
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name + ".", suffix=".tmp")
        os.close(fd)
        try:
            proc = subprocess.run(base[:2] + arch + base[2:] + ["-o", tmp], capture_output=True, text=True,
                                  timeout=300)
            if proc.returncode == 0:
                os.replace(tmp, out)
                return None
            errors.append(proc.stderr.strip()[-2000:])
        except (OSError, subprocess.SubprocessError) as e:
            errors.append(str(e))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return f"{cxx} failed:\n" + "\n".join(errors)


def _load() -> None:
    if jax.default_backend() != "cpu":
        _state["error"] = f"the kernel is for the CPU backend; this one is {jax.default_backend()!r}"
        return
    if not hasattr(jax, "ffi") or not hasattr(jax.ffi, "include_dir"):
        _state["error"] = f"jax {jax.__version__} has no jax.ffi (jax >= 0.4.38 has)"
        return
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if not cxx:
        _state["error"] = "no C++ compiler found (set $CXX, or install g++ or clang++)"
        return
    include = jax.ffi.include_dir()
    import jaxlib

    key = hashlib.sha256("\0".join([SOURCE.read_text(), getattr(jaxlib, "__version__", jax.__version__), cxx,
                                    _cpu_id()]).encode()).hexdigest()[:16]
    folder = Path(os.environ.get("JAXSEQ_DATA") or "~/.cache/jaxseq").expanduser() / "kernels"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / f"jaxseq-kernels-{os.getuid() if hasattr(os, 'getuid') else 0}"
        folder.mkdir(parents=True, exist_ok=True)
    lib_path = folder / f"word2vec_kernel-{key}.so"
    if not lib_path.is_file():
        error = _compile(cxx, include, lib_path)
        if error is not None:
            _state["error"] = error
            return
    try:
        lib = ctypes.cdll.LoadLibrary(str(lib_path))
        jax.ffi.register_ffi_target(TARGET, jax.ffi.pycapsule(lib.JaxseqSgnsStep), platform="cpu")
    except (OSError, AttributeError, RuntimeError, ValueError) as e:
        _state["error"] = f"loading {lib_path} failed: {e}"
        return
    _state["lib"] = lib  # kept alive for the process
    _state["ok"] = True


def available() -> bool:
    """Whether the kernel runs here: built (once per machine) and registered (once per process)."""
    with _lock:
        if not _state:
            _load()
        return bool(_state.get("ok"))


def why_unavailable() -> str:
    """Why `available()` is False ("" when it is True)."""
    available()
    return _state.get("error", "")


def sgns_step(W_in, W_out, x, x_weight, outs, weight, lr, *, row_scale: str = "sqrt",
              output_row_scale: str = "sqrt"):
    """One step in place: W_in (v, e), W_out (v', e) float32 with e a multiple of 8; x (b,) int32 input
    rows (< 0: row 0 with weight 0); x_weight (b,); outs (b, k) int32 (the target, then the negatives),
    weight (b, k); lr (). Returns (W_in, W_out, loss = −Σ_ij w_ij log σ(±s_ij)). Call `available()` first."""
    call = jax.ffi.ffi_call(TARGET, (jax.ShapeDtypeStruct(W_in.shape, W_in.dtype),
                                     jax.ShapeDtypeStruct(W_out.shape, W_out.dtype),
                                     jax.ShapeDtypeStruct((), W_in.dtype)),
                            input_output_aliases={0: 0, 1: 1}, vmap_method="sequential")
    return call(W_in, W_out, x.astype(jnp.int32), x_weight.astype(W_in.dtype), outs.astype(jnp.int32),
                weight.astype(W_in.dtype), jnp.asarray(lr, W_in.dtype),
                in_scale=np.int32(SCALES[row_scale]), out_scale=np.int32(SCALES[output_row_scale]))
