"""Grouped matrix products, the arithmetic of the ``direct`` and ``im2col`` methods.

Ignore space and a convolution over channels is a matrix product ``[rows, C] @ [C, F]``; with
``G`` groups it is ``G`` independent products ``[rows, C/G] @ [C/G, F/G]`` side by side. Its two
transposes are the two gradients: ``[rows, F] @ [F, C]`` for the input and ``[C, rows] @ [rows, F]``
for the weight. See the book's chapter on channels and batch. The operands here are stacks
``(G, M, K)`` of such products, held in whichever memory order the caller's layout made cheap.
"""

from __future__ import annotations

import numpy as np


def matmul_into(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out[g] = a[g] @ b[g]`` for ``a (G, M, K)``, ``b (G, K, N)``, ``out (G, M, N)``.

    ``out`` may be a transposed view (memory ``(G, N, M)``): then ``out^T = b^T @ a^T`` is
    computed instead, because NumPy's BLAS path needs a C-ordered result.
    """
    if out.shape[-1] > 1 and out.strides[-1] != out.itemsize:
        a, b, out = b.swapaxes(-1, -2), a.swapaxes(-1, -2), out.swapaxes(-1, -2)
    if out.shape[0] == 1:
        np.matmul(a[0], b[0], out=out[0])
    else:
        np.matmul(a, b, out=out)


def matmul_tn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``out[g] = a[g].T @ b[g]`` for ``a (G, M, P)`` and ``b (G, M, Q)`` -> ``(G, P, Q)``."""
    if a.shape[0] == 1:
        return (a[0].T @ b[0])[None]
    return np.matmul(a.swapaxes(1, 2), b)
