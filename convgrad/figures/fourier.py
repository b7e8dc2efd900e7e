"""Figures of the Fourier chapter: wrap-around, and the operation counts of direct sum and FFT."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def draw_crossover(kernels: list[int], direct: list[float], fft_cost: list[float], penalty: float,
                   chosen: list[bool], title: str) -> plt.Figure:
    """Operation counts of the direct sum and of the FFT (times the penalty) against kernel size.

    Parameters
    ----------
    kernels : kernel sizes ``k`` (a ``k x k`` kernel)
    direct : operations of the direct sum per map
    fft_cost : operations of the FFT per map (transforms plus products), before the penalty
    penalty : the factor ``auto`` applies to the FFT's count
    chosen : whether ``auto`` takes the FFT at each size
    """
    fig, ax = plt.subplots(figsize=(8.5, 4.0))
    k = np.asarray(kernels)
    ax.semilogy(k, np.asarray(direct) / 1e9, "o-", label="direct sum: 2 N F (C/G) k² out", lw=2)
    ax.semilogy(k, np.asarray(fft_cost) / 1e9, "s--", label="FFT: transforms + spectral products")
    ax.semilogy(k, penalty * np.asarray(fft_cost) / 1e9, "s-", color="tab:orange",
                label=f"FFT x {penalty:g} (the rule of method='auto')")
    first = kernels[list(chosen).index(True)] if any(chosen) else None
    if first is not None:
        ax.axvline(first, color="gray", ls=":", lw=1.5)
        ax.text(first + 0.3, ax.get_ylim()[0] * 1.5, f"auto takes fft from k = {first}", fontsize=10)
    ax.set_xlabel("kernel size k (a k x k kernel, 'same' padding)")
    ax.set_ylabel("GFLOP per map (log scale)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=9)
    return fig
