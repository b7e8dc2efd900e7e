"""Figures of the Fourier chapter: wrap-around, and the operation counts of direct sum and FFT."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def draw_wraparound(valid: np.ndarray, circular_short: np.ndarray, short_length: int) -> plt.Figure:
    """The valid correlation against a circular one computed on too short a period.

    Parameters
    ----------
    valid : array ``(n_out,)``, the layer's (valid) correlation
    circular_short : array ``(short_length,)``, the circular correlation with period ``short_length``
    short_length : the period (shorter than the input)
    """
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    o = np.arange(valid.size)
    ax.plot(o, valid, "o-", color="tab:blue", label="valid correlation (the layer)", lw=2, ms=6)
    shown = min(valid.size, circular_short.size)
    wrong = ~np.isclose(circular_short[:shown], valid[:shown])
    ax.plot(o[:shown], circular_short[:shown], "x--", color="tab:orange", ms=8,
            label=f"circular correlation, period {short_length}")
    ax.plot(o[:shown][wrong], circular_short[:shown][wrong], "s", mfc="none", mec="tab:red", ms=14,
            mew=2, label="wrapped-around entries")
    ax.set_xlabel("output position o")
    ax.set_ylabel("y[o]")
    ax.set_title("Too short a period: the last outputs read the start of the signal")
    ax.legend(loc="best", fontsize=9)
    return fig


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
