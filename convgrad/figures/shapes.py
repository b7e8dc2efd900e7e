"""Figures of the forward map's geometry: which input cells each output cell reads."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple")


def draw_output_size(n_max: int, kernel: int, strides: tuple[int, ...], padding: int = 0,
                     dilation: int = 1) -> plt.Figure:
    """Output length against input length, one step curve per stride (from conv_output_shape)."""
    from ..geometry import conv_output_shape

    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    span = dilation * (kernel - 1) + 1
    ns = np.arange(max(1, span - 2 * padding), n_max + 1)
    for s in strides:
        outs = [conv_output_shape((1, 1, n), (1, 1, kernel), stride=s, padding=padding,
                                  dilation=dilation)[-1] for n in ns]
        ax.step(ns, outs, where="post", label=f"stride {s}")
    ax.set_xlabel("input length n")
    ax.set_ylabel("output length")
    ax.set_title(f"floor((n + 2p - d(k-1) - 1) / s) + 1 for k={kernel}, p={padding}, d={dilation}")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig
