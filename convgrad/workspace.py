"""Scratch memory that the ``direct`` method keeps between calls, one block per thread.

A call of the kernel-offset method (:mod:`convgrad.direct`) needs a few buffers of some MiB (see
:func:`convgrad.direct.workspace_bytes`). Allocated afresh on every call, memory that size comes
from the operating system as new pages: glibc serves it by ``mmap`` or by growing the heap and
gives it back on ``free``, and each 4 KiB page then costs a page fault on first touch. Measured
on the benchmark's layers (2 cores, float32), that was 2,100 to 4,900 faults per call and half
the time of a strided, 1-D or 3-D layer's forward or backward (backward with the faults and
without: strided 8.6 and 4.0 ms, 1-D 10.0 and 3.6 ms, 3-D 14.3 and 7.7 ms). So the block of
the last call is kept and reused by the next call that fits in it.

At most :data:`KEEP_BYTES` are kept per thread; a larger call allocates and frees its own.
:func:`release` frees the kept block (for example after training, before something else needs
the memory). A call nested in another (none is today) gets a block of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from math import prod

import numpy as np

#: Most bytes of scratch memory kept between calls, per thread (0 keeps nothing).
KEEP_BYTES = 64 * 2**20
#: Each buffer starts at a multiple of this many bytes (a cache line).
ALIGN = 64

_local = threading.local()


class Scratch:
    """Buffers cut one after the other from one block of bytes."""

    def __init__(self, memory: np.ndarray):
        self.memory, self.used, self._address = memory, 0, memory.ctypes.data

    def take(self, shape: tuple[int, ...], dtype, zero: bool = False) -> np.ndarray:
        """A C-ordered array of ``shape`` in the next free bytes, zeroed with ``zero``."""
        dtype = np.dtype(dtype)
        start = -(-(self._address + self.used) // ALIGN) * ALIGN - self._address
        stop = start + prod(shape) * dtype.itemsize
        if stop > self.memory.nbytes:
            raise ValueError(f"scratch of {self.memory.nbytes} bytes cannot hold {shape} {dtype} "
                             f"after {self.used} bytes: the caller's size was wrong")
        array = self.memory[start:stop].view(dtype).reshape(shape)
        self.used = stop
        if zero:
            array.fill(0)
        return array


def size(buffer_bytes) -> int:
    """Bytes of a block that holds buffers of these sizes, each aligned (wherever it starts)."""
    return ALIGN + sum(-(-b // ALIGN) * ALIGN for b in buffer_bytes)


@contextmanager
def scratch(nbytes: int) -> Iterator[Scratch]:
    """A :class:`Scratch` of at least ``nbytes``: the kept block if it is free and large
    enough, else a new one, which is kept afterwards if it is at most :data:`KEEP_BYTES`."""
    block = getattr(_local, "block", None)
    _local.block = None  # taken (a nested call cannot get the same memory), or too small: freed
    if block is None or block.nbytes < nbytes:
        block = None  # before the larger one exists, so that the two are never held together
        block = np.empty(max(nbytes, 1), np.uint8)
    try:
        yield Scratch(block)
    finally:
        kept = getattr(_local, "block", None)
        if block.nbytes <= KEEP_BYTES and (kept is None or kept.nbytes < block.nbytes):
            _local.block = block


def kept_bytes() -> int:
    """Bytes kept for the calling thread (0 when none)."""
    kept = getattr(_local, "block", None)
    return 0 if kept is None else kept.nbytes


def release() -> None:
    """Free the block kept for the calling thread."""
    _local.block = None
