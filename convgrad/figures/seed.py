"""Figures of the seed example: a 10x10x3 image, five 3x3x3 kernels, an 8x8x5 output."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def draw_kernel_gradient_pairs(x: np.ndarray, dz: np.ndarray, dk: np.ndarray) -> plt.Figure:
    """The kernel gradient as a grid of its (kernel f, input channel c) slices.

    Parameters
    ----------
    x : array ``(H, W, C)``, the input
    dz : array ``(Ho, Wo, F)``, the output gradient
    dk : array ``(F, kh, kw, C)``, the kernel gradient; ``dk[f, :, :, c]`` is drawn in row ``f``,
        column ``c``, all on one colour scale
    """
    f_count, c_count = dk.shape[0], dk.shape[-1]
    fig, axes = plt.subplots(f_count, c_count, figsize=(1.9 * c_count + 1.2, 1.7 * f_count),
                             squeeze=False, layout="constrained")
    vmax = np.abs(dk).max()
    for f in range(f_count):
        for c in range(c_count):
            ax = axes[f, c]
            im = ax.imshow(dk[f, :, :, c], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            ax.set_xticks(range(dk.shape[2]))
            ax.set_yticks(range(dk.shape[1]))
            if f == f_count - 1:
                ax.set_xlabel(f"offset j\ninput channel c={c}")
            if c == 0:
                ax.set_ylabel(f"kernel f={f}\noffset i")
    fig.colorbar(im, ax=axes, shrink=0.6, label="dL/dK value")
    fig.suptitle(
        f"dL/dK[f, :, :, c] = x[:, :, c] ⋆ dZ[:, :, f]: {f_count} x {c_count} correlations of "
        f"{x.shape[0]}x{x.shape[1]} with {dz.shape[0]}x{dz.shape[1]}"
    )
    return fig
