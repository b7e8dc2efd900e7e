"""Grouped matrix products, the one arithmetic kernel of the fast methods.

Ignore space and a convolution over channels is a matrix product ``[rows, C] @ [C, F]``; with
``G`` groups it is ``G`` independent products ``[rows, C/G] @ [C/G, F/G]`` side by side. Its two
transposes are the two gradients: ``[rows, F] @ [F, C]`` for the input and ``[C, rows] @ [rows, F]``
for the weight. See the book's chapter on channels and batch.
"""

from __future__ import annotations

import numpy as np


def grouped_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``out[m, g, :] = a[m, g, :] @ b[g]`` for ``a (M, G, P)`` and ``b (G, P, Q)`` -> ``(M, G, Q)``."""
    if b.shape[0] == 1:
        return (a[:, 0, :] @ b[0])[:, None, :]
    return np.matmul(a.transpose(1, 0, 2), b).transpose(1, 0, 2)


def grouped_matmul_tn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``out[g] = a[:, g, :].T @ b[:, g, :]`` for ``a (M, G, P)`` and ``b (M, G, Q)`` -> ``(G, P, Q)``."""
    if a.shape[1] == 1:
        return (a[:, 0, :].T @ b[:, 0, :])[None]
    return np.matmul(a.transpose(1, 2, 0), b.transpose(1, 0, 2))
