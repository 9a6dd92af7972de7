"""word2vec's negative-sampling step as a native CPU kernel (`word2vec_kernel.cc`), called through XLA's FFI.

The jitted step of `jaxseq.word2vec` gathers the rows of a batch, (b, 1 + K, e) of them, takes the
batched dots, and scatter-adds the row updates back: on a CPU those materialised gathers and
scatter-adds are most of a step. The kernel does the same update with the rows in place — for each
example i with input row h_i = W_in[x_i] and outputs o_i0 (the target) and o_i1..o_iK (negatives):

    s_ij = h_i · u_oij,    g_ij = (σ(s_ij) − [j = 0]) · w_ij
    W_out[o] −= lr · scale(k_o) · Σ_{ij: o_ij = o} g_ij h_i
    W_in[r]  −= lr · scale(k_r) · Σ_{i: x_i = r} xw_i Σ_j g_ij u_oij

from the values before the step, with k a row's summed weights in the step and scale(k) = 1/√k,
1/k or 1 (`row_scale`): `jaxseq.word2vec`'s batched SGD exactly, to rounding
(tests/test_word2vec_kernel.py compares the two). The weights w_ij and xw_i come from the jitted step
(padding, a negative that is the target: 0). After checks and counts on one thread, its two passes
— the scores and gradients, then the row updates — run on XLA's CPU threads; the result does not
depend on their number. It covers skip-gram with negative sampling, ``neg_group=1`` and at most 63
negatives an example (`jaxseq.word2vec.resolve_kernel`).

The kernel is C++ compiled on first use for the machine it runs on (``$CXX`` or ``c++``, with
``-O3 -march=native``) against the FFI headers that jaxlib ships, and cached in
``$JAXSEQ_DATA/kernels`` (default ``~/.cache/jaxseq/kernels``) under a hash of the source, jaxlib's
version, the compiler and the CPU (a private temporary folder where that one cannot be written).
Where it cannot be built (no compiler; jax < 0.4.38, which has no ``jax.ffi``), `available` says why
and word2vec keeps its jitted step, with a warning.
"""
from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import platform
import shlex
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
_registered: list = []  # the loaded library, once registered with XLA


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


FLAGS = ["-O3", "-std=c++17", "-shared", "-fPIC", "-w"]
COMPILE_TIMEOUT_S = 300


def _compile(cxx: list, include: str, out: Path) -> Optional[str]:
    """Compile SOURCE into `out` (atomically: a temporary file, then a rename); None, or the error."""
    errors = []
    for arch in (["-march=native"], []):  # a compiler without -march=native still builds a portable kernel
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name + ".", suffix=".tmp")
            os.close(fd)
            proc = subprocess.run(cxx + FLAGS + arch + [f"-I{include}", str(SOURCE), "-o", tmp],
                                  capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
            if proc.returncode == 0:
                os.chmod(tmp, 0o755)  # mkstemp's 0600 would keep other users of a shared cache out
                os.replace(tmp, out)
                return None
            errors.append(proc.stderr.strip()[-2000:])
        except subprocess.TimeoutExpired:
            return f"{' '.join(cxx)} took over {COMPILE_TIMEOUT_S} s"
        except (OSError, subprocess.SubprocessError) as e:
            errors.append(str(e))
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
    return f"{' '.join(cxx)} failed:\n" + "\n".join(errors)


def _cache_folder() -> Path:
    """$JAXSEQ_DATA/kernels (default ~/.cache/jaxseq/kernels) if it can be written, else a fresh private
    folder for this process (never a shared one with a predictable name: another user could plant a
    library there)."""
    folder = Path(os.environ.get("JAXSEQ_DATA") or "~/.cache/jaxseq").expanduser() / "kernels"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK | os.X_OK):
            return folder
    except OSError:
        pass
    private = Path(tempfile.mkdtemp(prefix="jaxseq-kernels-"))
    atexit.register(shutil.rmtree, private, True)
    return private


def _compiler_id(cxx: list) -> str:
    try:
        return subprocess.run(cxx + ["--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _register(lib_path: Path) -> None:
    if _registered:  # once per process: XLA refuses a second handler under the same name
        return
    lib = ctypes.cdll.LoadLibrary(str(lib_path))
    jax.ffi.register_ffi_target(TARGET, jax.ffi.pycapsule(lib.JaxseqSgnsStep), platform="cpu")
    _registered.append(lib)  # kept alive for the process


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
    cxx = shlex.split(cxx)  # $CXX may hold a launcher or flags ("ccache g++")
    import jaxlib

    key = hashlib.sha256("\0".join([SOURCE.read_text(), getattr(jaxlib, "__version__", jax.__version__), *cxx,
                                    _compiler_id(cxx), *FLAGS, _cpu_id()]).encode()).hexdigest()[:16]
    try:
        lib_path = _cache_folder() / f"word2vec_kernel-{key}.so"
        for attempt in range(2):  # a cached library that does not load is built again, once
            if not lib_path.is_file():
                error = _compile(cxx, jax.ffi.include_dir(), lib_path)
                if error is not None:
                    _state["error"] = error
                    return
            try:
                _register(lib_path)
                break
            except (OSError, AttributeError):
                if attempt:
                    raise
                lib_path.unlink(missing_ok=True)
    except (OSError, AttributeError, RuntimeError, ValueError) as e:
        _state["error"] = f"loading the kernel failed: {e}"
        return
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
    rows (< 0: none, weight 0); x_weight (b,) ≥ 0; outs (b, k) int32 (the target, then the negatives),
    weight (b, k) ≥ 0; lr (). Returns (W_in, W_out, loss = −Σ_ij w_ij log σ(±s_ij)). An id out of range
    or a negative weight is an error when the step runs."""
    if not available():
        raise RuntimeError(f"the word2vec CPU kernel is not available here: {why_unavailable()}")
    x_weight = jnp.where(x >= 0, x_weight, 0)
    call = jax.ffi.ffi_call(TARGET, (jax.ShapeDtypeStruct(W_in.shape, W_in.dtype),
                                     jax.ShapeDtypeStruct(W_out.shape, W_out.dtype),
                                     jax.ShapeDtypeStruct((), W_in.dtype)),
                            input_output_aliases={0: 0, 1: 1}, vmap_method="sequential")
    return call(W_in, W_out, x.astype(jnp.int32), x_weight.astype(W_in.dtype), outs.astype(jnp.int32),
                weight.astype(W_in.dtype), jnp.asarray(lr, W_in.dtype),
                in_scale=np.int32(SCALES[row_scale]), out_scale=np.int32(SCALES[output_row_scale]))
