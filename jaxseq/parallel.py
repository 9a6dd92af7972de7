"""Data-parallel training over the local devices with `jax.sharding`.

A one-axis `Mesh` over the devices; the batch axis of the data (and of the carry, which has the
batch shape) is split across it, the parameters and optimiser state are replicated. Under `jax.jit`
XLA (GSPMD) then runs each device on its slice of the batch and all-reduces the gradients, so a
sharded train step gives the parameters of the single-device step up to float rounding (the
gradient sums are taken in another order). Nothing else changes: the step function is the same.

    mesh = parallel.mesh()                                    # all local devices, axis "batch"
    train_step = parallel.data_parallel(train_step, batch_argnums=(1, 2, 3))
    state, carry, loss = train_step(state, carry, x, y, key)  # carry, x, y split over the batch

With one device `data_parallel` returns the step unchanged. The global batch must be a multiple
of the number of devices. Time-first data gives each batch argument its own axis:

    train_step = parallel.data_parallel(train_step, batch_argnums=(1, 2), batch_axis=(1, 0))
    state, loss = train_step(state, xs, lengths)              # xs (t, b, ...) split on b, lengths (b,)
"""
from __future__ import annotations

import warnings
from typing import Callable, Optional, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxseq.typing import PyTree

AXIS = "batch"


def mesh(devices: Optional[Sequence] = None, axis_name: str = AXIS) -> Mesh:
    """A one-axis mesh over ``devices`` (default: every local device)."""
    devs = list(jax.local_devices() if devices is None else devices)
    if not devs:
        raise ValueError("`devices` must name at least one device; got none")
    return Mesh(np.array(devs), (axis_name,))


def _default_mesh() -> Mesh:
    return mesh()



def replicate(tree: PyTree, mesh: Mesh) -> PyTree:
    """Every leaf copied to every device of ``mesh``."""
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def shard_batch(tree: PyTree, mesh: Mesh, axis: int = 0) -> PyTree:
    """Every leaf split along ``axis`` over the mesh's (single) axis."""
    name, n = mesh.axis_names[0], mesh.devices.size

    def put(x):
        shape = np.shape(x)
        if not -len(shape) <= axis < len(shape) or shape[axis] % n:
            raise ValueError(f"a batch leaf of shape {shape} cannot be split along axis {axis} over {n} devices: "
                             f"its size there must be a multiple of {n}")
        a = axis % len(shape)  # a negative axis counts from the end, as in NumPy
        return jax.device_put(x, NamedSharding(mesh, PartitionSpec(*([None] * a), name)))

    return jax.tree_util.tree_map(put, tree)


def devices_for_batch(batch_size: int, n_devices: int) -> int:
    """The most devices, at most ``n_devices``, that split ``batch_size`` evenly (64 on 6 GPUs: 4)."""
    return max(k for k in range(1, max(n_devices, 1) + 1) if batch_size % k == 0)


def data_parallel(fn: Callable, *, batch_argnums: Sequence[int], batch_axis: int | Sequence[int] = 0,
                  mesh: Optional[Mesh] = None, batch_size: Optional[int] = None) -> Callable:
    """``jax.jit(fn)`` run with arguments ``batch_argnums`` split along ``batch_axis``, the rest replicated.

    ``batch_axis`` is one axis for every batch argument or one per entry of ``batch_argnums`` (e.g.
    ``(1, 0)`` for time-first inputs (t, b, ...) and their lengths (b,)). ``fn`` may already be jitted
    (e.g. `lm_train.make_steps`' train step). With a one-device mesh, ``fn`` itself is returned.
    With ``batch_size`` (and no ``mesh``) the mesh takes the most local devices that split that batch
    evenly (`devices_for_batch`), with a warning when that leaves some out, so that any batch runs.
    """
    batch_argnums = tuple(batch_argnums)
    for i in batch_argnums:  # a negative or mistyped argnum matched no argument: silently replicated
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0:
            raise ValueError(f"`batch_argnums` must hold positional argument numbers >= 0; got {batch_argnums}")
    if isinstance(batch_axis, int):
        axes = {i: batch_axis for i in batch_argnums}
    else:
        batch_axis = tuple(batch_axis)
        if len(batch_axis) != len(batch_argnums):
            raise ValueError(f"`batch_axis` must be one int or one axis per entry of `batch_argnums` "
                             f"{batch_argnums}; got {batch_axis}")
        axes = dict(zip(batch_argnums, batch_axis))
    m = _default_mesh() if mesh is None else mesh
    if mesh is None and batch_size is not None and batch_size % m.devices.size:
        k = devices_for_batch(batch_size, m.devices.size)
        warnings.warn(f"data_parallel: a batch of {batch_size} does not split over {m.devices.size} devices; "
                      f"using {k} of them (pick a batch that is a multiple of {m.devices.size} to use all)",
                      stacklevel=2)
        m = Mesh(np.array(list(m.devices.flat)[:k]), m.axis_names)
    if m.devices.size == 1:
        return fn
    jitted = jax.jit(fn)

    def run(*args):
        if batch_argnums and max(batch_argnums) >= len(args):
            raise ValueError(f"`batch_argnums` {batch_argnums} names argument {max(batch_argnums)}, but the step got "
                             f"{len(args)} positional arguments")
        placed = [shard_batch(a, m, axes[i]) if i in axes else replicate(a, m) for i, a in enumerate(args)]
        return jitted(*placed)

    run.mesh = m
    run.__wrapped__ = fn
    return run


def device_count(step: Callable) -> int:
    """How many devices a step from `data_parallel` splits its batch over (1 for any other function)."""
    m = getattr(step, "mesh", None)
    return 1 if m is None else int(m.devices.size)
